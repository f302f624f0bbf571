#include "model/support/reference_count.hpp"

#include <stdexcept>

namespace clear::testing {

namespace {

int64_t get(const nlohmann::json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? fallback : it->get<int64_t>();
}
bool flag(const nlohmann::json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? fallback : it->get<bool>();
}
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// nn.Linear(in, out) with bias; LayerNorm(n) = 2n.
int64_t lin(int64_t in, int64_t out, bool bias = true) { return in * out + (bias ? out : 0); }
int64_t ln(int64_t n) { return 2 * n; }

// BertLayer / AlbertLayer / TransformerBlock (DistilBERT): q,k,v,o + LN + FFN + LN.
int64_t post_norm_layer(int64_t h, int64_t f) { return 4 * lin(h, h) + ln(h) + lin(h, f) + lin(f, h) + ln(h); }

int64_t masked_lm_head(int64_t h, int64_t e, int64_t v, bool tied) {
  // transform dense (h -> e), LayerNorm(e), decoder bias [v] (+ weight when untied).
  return lin(h, e) + ln(e) + v + (tied ? 0 : v * e);
}

}  // namespace

int64_t reference_param_count(const nlohmann::json& j, const std::string& cls) {
  std::string type = j.at("model_type").get<std::string>();
  if (type == "bert" || type == "roberta") {
    int64_t v = get(j, "vocab_size", 0), h = get(j, "hidden_size", 0), l = get(j, "num_hidden_layers", 0);
    int64_t f = get(j, "intermediate_size", 0), p = get(j, "max_position_embeddings", 512);
    int64_t t = get(j, "type_vocab_size", 2);
    int64_t n = v * h + p * h + t * h + ln(h) + l * post_norm_layer(h, f);
    if (ends_with(cls, "ForMaskedLM")) return n + masked_lm_head(h, h, v, flag(j, "tie_word_embeddings", true));
    return n + lin(h, h);  // pooler
  }
  if (type == "distilbert") {
    int64_t v = get(j, "vocab_size", 0), d = get(j, "dim", 0), l = get(j, "n_layers", 0);
    int64_t f = get(j, "hidden_dim", 0), p = get(j, "max_position_embeddings", 512);
    int64_t n = v * d + p * d + ln(d) + l * post_norm_layer(d, f);
    if (ends_with(cls, "ForMaskedLM")) return n + masked_lm_head(d, d, v, flag(j, "tie_word_embeddings", true));
    return n;
  }
  if (type == "albert") {
    int64_t v = get(j, "vocab_size", 0), e = get(j, "embedding_size", 128), h = get(j, "hidden_size", 0);
    int64_t f = get(j, "intermediate_size", 0), p = get(j, "max_position_embeddings", 512);
    int64_t t = get(j, "type_vocab_size", 2), groups = get(j, "num_hidden_groups", 1);
    int64_t n = v * e + p * e + t * e + ln(e) + lin(e, h) + groups * post_norm_layer(h, f);
    if (ends_with(cls, "ForMaskedLM")) return n + masked_lm_head(h, e, v, flag(j, "tie_word_embeddings", true));
    return n + lin(h, h);
  }
  if (type == "gpt2") {
    int64_t v = get(j, "vocab_size", 0), h = get(j, "n_embd", 0), l = get(j, "n_layer", 0);
    int64_t p = get(j, "n_positions", 1024), f = get(j, "n_inner", 4 * h);
    int64_t layer = ln(h) + lin(h, 3 * h) + lin(h, h) + ln(h) + lin(h, f) + lin(f, h);
    int64_t n = v * h + p * h + l * layer + ln(h);
    if (cls == "GPT2LMHeadModel" && !flag(j, "tie_word_embeddings", true)) n += v * h;
    return n;
  }
  if (type == "llama" || type == "mistral" || type == "qwen2" || type == "mixtral") {
    int64_t v = get(j, "vocab_size", 0), h = get(j, "hidden_size", 0), l = get(j, "num_hidden_layers", 0);
    int64_t f = get(j, "intermediate_size", 0), heads = get(j, "num_attention_heads", 0);
    int64_t kv = get(j, "num_key_value_heads", heads), hd = get(j, "head_dim", h / heads);
    bool attention_bias = type == "llama" && flag(j, "attention_bias", false);
    bool mlp_bias = type == "llama" && flag(j, "mlp_bias", false);
    int64_t attention = h * heads * hd + 2 * h * kv * hd + heads * hd * h;
    if (attention_bias) attention += heads * hd + 2 * kv * hd + h;
    if (type == "qwen2") attention += heads * hd + 2 * kv * hd;
    int64_t mlp = 3 * h * f + (mlp_bias ? 2 * f + h : 0);
    if (type == "mixtral") mlp = get(j, "num_local_experts", 8) * 3 * h * f + h * get(j, "num_local_experts", 8);
    int64_t n = v * h + l * (attention + mlp + 2 * h) + h;
    if (ends_with(cls, "ForCausalLM") && !flag(j, "tie_word_embeddings", false)) n += v * h;
    return n;
  }
  if (type == "t5") {
    int64_t v = get(j, "vocab_size", 0), d = get(j, "d_model", 0), kvd = get(j, "d_kv", 0);
    int64_t ff = get(j, "d_ff", 0), heads = get(j, "num_heads", 0), l = get(j, "num_layers", 0);
    int64_t ld = get(j, "num_decoder_layers", l), buckets = get(j, "relative_attention_num_buckets", 32);
    std::string proj = j.value("feed_forward_proj", "relu");
    int64_t ffn = (proj.rfind("gated-", 0) == 0 ? 3 : 2) * d * ff;
    int64_t inner = heads * kvd;
    int64_t attention = 4 * d * inner;
    int64_t encoder = l * (d + attention + d + ffn) + buckets * heads + d;
    int64_t decoder = ld * (d + attention + d + attention + d + ffn) + buckets * heads + d;
    int64_t n = v * d + encoder + decoder;
    if (cls == "T5ForConditionalGeneration" && !flag(j, "tie_word_embeddings", true)) n += v * d;
    return n;
  }
  if (type == "bart") {
    int64_t v = get(j, "vocab_size", 0), d = get(j, "d_model", 0), p = get(j, "max_position_embeddings", 1024);
    int64_t le = get(j, "encoder_layers", 0), ld = get(j, "decoder_layers", 0);
    int64_t fe = get(j, "encoder_ffn_dim", 0), fd = get(j, "decoder_ffn_dim", 0);
    int64_t attention = 4 * lin(d, d);
    int64_t encoder = (p + 2) * d + ln(d) + le * (attention + ln(d) + lin(d, fe) + lin(fe, d) + ln(d));
    int64_t decoder =
        (p + 2) * d + ln(d) + ld * (attention + ln(d) + attention + ln(d) + lin(d, fd) + lin(fd, d) + ln(d));
    int64_t n = v * d + encoder + decoder;
    if (cls == "BartForConditionalGeneration" && !flag(j, "tie_word_embeddings", true)) n += v * d;
    return n;
  }
  if (type == "vit") {
    int64_t h = get(j, "hidden_size", 0), l = get(j, "num_hidden_layers", 0), f = get(j, "intermediate_size", 0);
    int64_t image = get(j, "image_size", 224), patch = get(j, "patch_size", 16), c = get(j, "num_channels", 3);
    bool qkv_bias = flag(j, "qkv_bias", true);
    int64_t patches = (image / patch) * (image / patch);
    int64_t layer = ln(h) + 3 * lin(h, h, qkv_bias) + lin(h, h) + ln(h) + lin(h, f) + lin(f, h);
    int64_t n = h + (patches + 1) * h + (h * c * patch * patch + h) + l * layer + ln(h);
    if (cls == "ViTForImageClassification") {
      int64_t labels = j.contains("id2label") ? int64_t(j["id2label"].size()) : get(j, "num_labels", 2);
      return n + lin(h, labels);
    }
    return n + lin(h, get(j, "pooler_output_size", h));
  }
  throw std::runtime_error("reference_param_count: no formula for model_type " + type);
}

}  // namespace clear::testing
