// Float64 reference forward of every family (reference_model.hpp), written from Hugging Face's
// modeling_{bert,roberta,distilbert,albert,gpt2,llama,mistral,qwen2,mixtral,t5,bart,vit}.py.
// Names are the canonical ones of docs/NAMING.md.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "clear/util/error.hpp"
#include "engine/support/reference_ops.hpp"

namespace clear::reference {
namespace {

bool is_decoder_only(const ModelConfig& c) {
  return c.arch_type == ArchType::decoder_only || c.arch_type == ArchType::moe_decoder;
}

// The stack of a family's (self-attention) layers: decoder-only models use `decoder`.
const StackConfig& main_stack(const ModelConfig& c) { return is_decoder_only(c) ? c.decoder : c.encoder; }

// Keys and values already computed for one attention layer: per sequence, [len, Hkv·D].
struct LayerCache {
  std::vector<Vec> k, v;
  int64_t len = 0;
};

// Gathers rows table[ids] of `width`.
Vec gather_rows(const Vec& table, int64_t rows, int64_t width, const std::vector<int64_t>& ids, const char* what) {
  Vec y(ids.size() * width);
  for (size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] < 0 || ids[t] >= rows)
      throw Error(std::string("reference: ") + what + " index " + std::to_string(ids[t]) + " outside [0, " +
                  std::to_string(rows) + ")");
    std::copy_n(table.data() + ids[t] * width, width, y.data() + t * width);
  }
  return y;
}

// Copies token `t` of every sequence: x[B, S, W] -> [B, 1, W].
Vec take_token(const Vec& x, int64_t batch, int64_t seq, int64_t width, int64_t t) {
  Vec y(batch * width);
  for (int64_t b = 0; b < batch; ++b) std::copy_n(x.data() + (b * seq + t) * width, width, y.data() + b * width);
  return y;
}

struct Model {
  const ModelConfig& c;
  WeightTable w;
  int64_t B;
  Options opt;
  // Mixtral expert choices per MoE block and token row: recorded by one pass, replayed by another.
  std::map<std::string, std::vector<std::vector<int64_t>>>* routing_record = nullptr;
  const std::map<std::string, std::vector<std::vector<int64_t>>>* routing_replay = nullptr;

  // Every linear of the model (Options::bf16_linear_operands applies to all of them).
  Vec lin(const std::string& name, const Vec& x, int64_t rows, int64_t in, int64_t out, bool bias) const {
    return linear(w, name, x, rows, in, out, bias, opt.bf16_linear_operands);
  }
  Vec lin(const Vec& x, int64_t rows, int64_t in, const Vec& weight, const Vec* bias, int64_t out) const {
    return linear(x, rows, in, weight, bias, out, opt.bf16_linear_operands);
  }

  // ---- attention -------------------------------------------------------------------------------
  // Self-attention of the block `p` (e.g. "layers.0.attention") over x[B, S, Hd] for tokens at
  // absolute positions q_pos0.., appending to `cache` when given (keys then span the cache).
  Vec self_attention(const std::string& p, const StackConfig& st, const Vec& x, int64_t S, int64_t q_pos0,
                     bool causal, LayerCache* cache, const std::vector<char>* key_keep, const Vec* bias) {
    const int64_t Hd = c.hidden_size, H = st.num_heads, Hkv = st.num_kv_heads, D = st.head_dim;
    const int64_t rows = B * S;
    Vec q, k, v;
    if (c.family == Family::gpt2) {
      // GPT-2's c_attn as one [3H, H] linear (rows: query, key, value), split like split(H, dim=2).
      Vec qkv = lin(p + ".qkv_proj", x, rows, Hd, 3 * H * D, c.qkv_bias);
      q.resize(rows * H * D);
      k.resize(rows * H * D);
      v.resize(rows * H * D);
      for (int64_t r = 0; r < rows; ++r) {
        std::copy_n(qkv.data() + r * 3 * H * D, H * D, q.data() + r * H * D);
        std::copy_n(qkv.data() + r * 3 * H * D + H * D, H * D, k.data() + r * H * D);
        std::copy_n(qkv.data() + r * 3 * H * D + 2 * H * D, H * D, v.data() + r * H * D);
      }
    } else {
      q = lin(p + ".q_proj", x, rows, Hd, H * D, c.qkv_bias);
      k = lin(p + ".k_proj", x, rows, Hd, Hkv * D, c.qkv_bias);
      v = lin(p + ".v_proj", x, rows, Hd, Hkv * D, c.qkv_bias);
    }
    if (c.positions == PositionKind::rope) {
      std::vector<int64_t> pos(rows);
      for (int64_t r = 0; r < rows; ++r) pos[r] = q_pos0 + r % S;
      const Vec inv = rope_inv_freq(c, D);
      apply_rope(q, rows, H, D, pos, inv);
      apply_rope(k, rows, Hkv, D, pos, inv);
    }
    int64_t K = S;
    if (cache) {
      cache->k.resize(B);
      cache->v.resize(B);
      for (int64_t b = 0; b < B; ++b) {
        cache->k[b].insert(cache->k[b].end(), k.begin() + b * S * Hkv * D, k.begin() + (b + 1) * S * Hkv * D);
        cache->v[b].insert(cache->v[b].end(), v.begin() + b * S * Hkv * D, v.begin() + (b + 1) * S * Hkv * D);
      }
      cache->len += S;
      K = cache->len;
      k.clear();
      v.clear();
      for (int64_t b = 0; b < B; ++b) {
        k.insert(k.end(), cache->k[b].begin(), cache->k[b].end());
        v.insert(v.end(), cache->v[b].begin(), cache->v[b].end());
      }
    }
    AttentionSpec spec;
    spec.heads = H;
    spec.kv_heads = Hkv;
    spec.head_dim = D;
    spec.scaled = c.attention_scaled;
    spec.causal = causal;
    spec.window = causal ? c.sliding_window : 0;
    spec.q_pos0 = q_pos0;
    spec.key_keep = key_keep;
    spec.bias = bias;
    Vec ctx = attend(q, k, v, B, S, K, spec);
    return lin(p + ".out_proj", ctx, rows, H * D, Hd, c.out_proj_bias);
  }

  // Cross-attention of decoder x[B, S, Hd] over the encoder output enc[B, Se, Hd].
  Vec cross_attention(const std::string& p, const StackConfig& st, const Vec& x, int64_t S, const Vec& enc,
                      int64_t Se, const std::vector<char>* enc_keep) {
    const int64_t Hd = c.hidden_size, H = st.num_heads, Hkv = st.num_kv_heads, D = st.head_dim;
    Vec q = lin(p + ".q_proj", x, B * S, Hd, H * D, c.qkv_bias);
    Vec k = lin(p + ".k_proj", enc, B * Se, Hd, Hkv * D, c.qkv_bias);
    Vec v = lin(p + ".v_proj", enc, B * Se, Hd, Hkv * D, c.qkv_bias);
    AttentionSpec spec;
    spec.heads = H;
    spec.kv_heads = Hkv;
    spec.head_dim = D;
    spec.scaled = c.attention_scaled;
    spec.key_keep = enc_keep;
    Vec ctx = attend(q, k, v, B, S, Se, spec);
    return lin(p + ".out_proj", ctx, B * S, H * D, Hd, c.out_proj_bias);
  }

  // ---- feed-forward ----------------------------------------------------------------------------
  // Plain: down(act(up(x))); gated: down(act(gate(x)) ⊙ up(x)).
  Vec mlp(const std::string& p, const Vec& x, int64_t rows, int64_t ffn, bool bias, bool gated) {
    const int64_t Hd = c.hidden_size;
    Vec up = lin(p + ".up_proj", x, rows, Hd, ffn, bias);
    if (gated) {
      Vec gate = lin(p + ".gate_proj", x, rows, Hd, ffn, bias);
      for (size_t i = 0; i < up.size(); ++i) up[i] *= activation(c.activation, gate[i]);
    } else {
      activate(c.activation, up);
    }
    return lin(p + ".down_proj", up, rows, ffn, Hd, bias);
  }

  // Mixtral's sparse MoE block: softmax over the router's logits, top-k, renormalised weights,
  // weighted sum of the chosen experts' SwiGLU outputs.
  Vec moe(const std::string& p, const Vec& x, int64_t rows, int64_t ffn) {
    const int64_t Hd = c.hidden_size, E = c.num_experts, top_k = c.experts_per_token;
    Vec logits = lin(p + ".router", x, rows, Hd, E, false);
    Vec y(rows * Hd, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      Vec prob(logits.begin() + r * E, logits.begin() + (r + 1) * E);
      const double mx = *std::max_element(prob.begin(), prob.end());
      double sum = 0.0;
      for (double& v : prob) sum += (v = std::exp(v - mx));
      for (double& v : prob) v /= sum;
      std::vector<int64_t> order(E);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return prob[a] > prob[b]; });
      if (routing_replay) {  // the chosen experts come from another pass (Options::bf16_routing)
        const std::vector<int64_t>& chosen_there = routing_replay->at(p).at(r);
        std::copy(chosen_there.begin(), chosen_there.end(), order.begin());
      }
      if (routing_record) {
        auto& record = (*routing_record)[p];
        record.resize(rows);
        record[r].assign(order.begin(), order.begin() + top_k);
      }
      double chosen = 0.0;
      for (int64_t j = 0; j < top_k; ++j) chosen += prob[order[j]];
      Vec xr(x.begin() + r * Hd, x.begin() + (r + 1) * Hd);
      std::vector<double> gate(E, 0.0);
      for (int64_t j = 0; j < top_k; ++j) gate[order[j]] = prob[order[j]] / chosen;
      // Every expert runs on every token (gate 0 for the unchosen), so every expert's tensors are
      // read whatever the router says: make_weights lists them all.
      for (int64_t e = 0; e < E; ++e) {
        Vec out = mlp(p + ".experts." + std::to_string(e), xr, 1, ffn, false, true);
        for (int64_t i = 0; i < Hd; ++i) y[r * Hd + i] += gate[e] * out[i];
      }
    }
    return y;
  }

  Vec feed_forward(const std::string& layer, const StackConfig& st, const Vec& x, int64_t rows) {
    if (c.num_experts > 0) return moe(layer + ".moe", x, rows, st.ffn_dim);
    return mlp(layer + ".mlp", x, rows, st.ffn_dim, c.mlp_bias, c.gated_mlp);
  }

  // ---- one transformer layer -------------------------------------------------------------------
  struct LayerArgs {
    int64_t S = 0, q_pos0 = 0;
    bool causal = false;
    LayerCache* cache = nullptr;
    const std::vector<char>* key_keep = nullptr;
    const Vec* bias = nullptr;
    const Vec* enc = nullptr;  // encoder output: the layer has cross-attention
    int64_t Se = 0;
    const std::vector<char>* enc_keep = nullptr;
  };

  // Pre-norm: x += attn(norm1(x)); [x += cross(norm2(x))]; x += ffn(normN(x)).
  // Post-norm (BERT, BART): x = norm1(x + attn(x)); [x = norm2(x + cross(x))]; x = normN(x + ffn(x)).
  Vec layer(const std::string& p, const StackConfig& st, Vec x, const LayerArgs& a) {
    const int64_t Hd = c.hidden_size, rows = B * a.S;
    int next_norm = 1;
    auto sublayer = [&](auto&& f) {
      const std::string nname = p + ".norm" + std::to_string(next_norm++);
      if (c.pre_norm) {
        Vec h = x;
        norm(c, w, nname, h, rows, Hd);
        x = add(x, f(h));
      } else {
        x = add(x, f(x));
        norm(c, w, nname, x, rows, Hd);
      }
    };
    sublayer([&](const Vec& h) {
      return self_attention(p + ".attention", st, h, a.S, a.q_pos0, a.causal, a.cache, a.key_keep, a.bias);
    });
    if (a.enc)
      sublayer([&](const Vec& h) { return cross_attention(p + ".cross_attention", st, h, a.S, *a.enc, a.Se, a.enc_keep); });
    sublayer([&](const Vec& h) { return feed_forward(p, st, h, rows); });
    return x;
  }

  // ---- heads -----------------------------------------------------------------------------------
  // Pooler / classifier input: the first token of every sequence.
  Vec first_tokens(const Vec& x, int64_t S, int64_t width) { return take_token(x, B, S, width, 0); }

  // Pooler: dense (H -> pooler_size, H unless ViT's pooler_output_size says otherwise) and its
  // activation (tanh; ViT's pooler_act) on the first token.
  Output pooler(const Vec& hidden, int64_t S) {
    const int64_t out = c.pooler_size > 0 ? c.pooler_size : c.hidden_size;
    Vec y = lin("pooler.dense", first_tokens(hidden, S, c.hidden_size), B, c.hidden_size, out, true);
    activate(c.pooler_activation, y);
    return {"pooler_output", {B, out}, y};
  }

  // Masked-LM head: transform (H -> E), activation, norm, decoder (E -> V, tied weight, own bias).
  Output masked_lm(const Vec& hidden, int64_t S) {
    const int64_t E = c.embedding_size, V = c.vocab_size, rows = B * S;
    Vec t = lin("lm_head.transform", hidden, rows, c.hidden_size, E, true);
    // RobertaLMHead applies the exact GELU whatever hidden_act says; the others use hidden_act.
    activate(c.family == Family::roberta ? Activation::gelu_erf : c.activation, t);
    layer_norm(t, rows, E, w.get("lm_head.norm.weight", E), w.get("lm_head.norm.bias", E), c.norm_eps);
    const Vec& dec = c.tie_word_embeddings ? w.get("embeddings.word.weight", V * E) : w.get("lm_head.decoder.weight", V * E);
    return {"logits", {B, S, V}, lin(t, rows, E, dec, &w.get("lm_head.decoder.bias", V), V)};
  }

  // Causal / seq2seq LM head: tied to the word embedding or its own lm_head.weight (bias where stored).
  Output lm_head(const Vec& hidden, int64_t S) {
    const int64_t Hd = c.hidden_size, V = c.vocab_size, rows = B * S;
    const std::string owner = c.arch_type == ArchType::encoder_decoder ? "encoder.embeddings.word" : "embeddings.word";
    const Vec& weight = c.tie_word_embeddings ? w.get(owner + ".weight", V * Hd) : w.get("lm_head.weight", V * Hd);
    const Vec* bias = w.has("lm_head.bias") ? &w.get("lm_head.bias", V) : nullptr;
    Vec h = hidden;
    // T5 with tied embeddings rescales the decoder output by d_model^-0.5 before the tied projection.
    if (c.family == Family::t5 && c.tie_word_embeddings)
      for (double& v : h) v *= 1.0 / std::sqrt(static_cast<double>(Hd));
    return {"logits", {B, S, V}, lin(h, rows, Hd, weight, bias, V)};
  }

  // ---- families --------------------------------------------------------------------------------
  std::vector<char> key_keep(const ModelInputs& in, int64_t S) {
    std::vector<char> keep(B * S, 1);
    if (in.valid_lengths.empty()) return keep;
    if (static_cast<int64_t>(in.valid_lengths.size()) != B) throw Error("reference: valid_lengths needs one entry per sequence");
    for (int64_t b = 0; b < B; ++b) {
      if (in.valid_lengths[b] < 1 || in.valid_lengths[b] > S) throw Error("reference: valid_lengths entry outside [1, seq]");
      for (int64_t j = in.valid_lengths[b]; j < S; ++j) keep[b * S + j] = 0;
    }
    return keep;
  }

  // BERT, RoBERTa, DistilBERT, ALBERT: word + position (+ token type 0) -> norm (-> ALBERT projection)
  // -> post-norm layers.
  std::vector<Output> bert_like(const ModelInputs& in) {
    const int64_t S = static_cast<int64_t>(in.input_ids.size()) / B, E = c.embedding_size, Hd = c.hidden_size;
    const int64_t pos_rows = c.max_positions + c.position_offset;
    Vec x = gather_rows(w.get("embeddings.word.weight", c.vocab_size * E), c.vocab_size, E, in.input_ids, "token id");
    std::vector<int64_t> pos(B * S);
    for (int64_t b = 0; b < B; ++b) {
      int64_t seen = 0;
      for (int64_t s = 0; s < S; ++s) {
        if (c.family == Family::roberta) {
          // create_position_ids_from_input_ids: non-pad tokens count up from padding_idx + 1, pads get padding_idx.
          const bool real = in.input_ids[b * S + s] != c.pad_token_id;
          seen += real;
          pos[b * S + s] = real ? c.pad_token_id + seen : c.pad_token_id;
        } else {
          pos[b * S + s] = s + c.position_offset;
        }
      }
    }
    x = add(x, gather_rows(w.get("embeddings.position.weight", pos_rows * E), pos_rows, E, pos, "position"));
    if (c.type_vocab_size > 0) {
      const Vec& tt = w.get("embeddings.token_type.weight", c.type_vocab_size * E);
      for (int64_t r = 0; r < B * S; ++r)
        for (int64_t i = 0; i < E; ++i) x[r * E + i] += tt[i];  // token_type_ids default to 0
    }
    layer_norm(x, B * S, E, w.get("embeddings.norm.weight", E), w.get("embeddings.norm.bias", E), c.norm_eps);
    if (c.family == Family::albert) {
      if (c.albert_groups > 1 || c.albert_inner > 1) throw Error("reference: ALBERT with more than one group or inner layer");
      x = lin("embeddings.projection", x, B * S, E, Hd, true);
    }
    const std::vector<char> keep = key_keep(in, S);
    const StackConfig& st = main_stack(c);
    for (int64_t i = 0; i < st.num_layers; ++i) {
      LayerArgs a;
      a.S = S;
      a.key_keep = &keep;
      x = layer(c.family == Family::albert ? "layers.0" : "layers." + std::to_string(i), st, x, a);
    }
    std::vector<Output> out{{"last_hidden_state", {B, S, Hd}, x}};
    if (c.pooler) out.push_back(pooler(x, S));
    if (c.head == Head::masked_lm) out.push_back(masked_lm(x, S));
    return out;
  }

  // GPT-2, Llama, Mistral, Qwen2, Mixtral: `S` new tokens at positions q_pos0.. through every layer,
  // keys and values appended to `caches`. Returns the hidden state after the final norm.
  Vec decoder_only_step(const std::vector<int64_t>& ids, int64_t S, int64_t q_pos0, std::vector<LayerCache>& caches) {
    const int64_t Hd = c.hidden_size;
    Vec x = gather_rows(w.get("embeddings.word.weight", c.vocab_size * Hd), c.vocab_size, Hd, ids, "token id");
    if (c.positions == PositionKind::learned) {
      std::vector<int64_t> pos(B * S);
      for (int64_t r = 0; r < B * S; ++r) pos[r] = q_pos0 + r % S + c.position_offset;
      const int64_t rows = c.max_positions + c.position_offset;
      x = add(x, gather_rows(w.get("embeddings.position.weight", rows * Hd), rows, Hd, pos, "position"));
    }
    const StackConfig& st = main_stack(c);
    caches.resize(st.num_layers);
    for (int64_t i = 0; i < st.num_layers; ++i) {
      LayerArgs a;
      a.S = S;
      a.q_pos0 = q_pos0;
      a.causal = true;
      a.cache = &caches[i];
      x = layer("layers." + std::to_string(i), st, x, a);
    }
    norm(c, w, "final_norm", x, B * S, Hd);
    return x;
  }

  std::vector<Output> decoder_only_outputs(const Vec& hidden, int64_t S) {
    std::vector<Output> out{{"last_hidden_state", {B, S, c.hidden_size}, hidden}};
    if (c.head == Head::causal_lm) out.push_back(lm_head(hidden, S));
    return out;
  }

  // T5 relative position bias [H, S, K] for queries at q_pos0.. and keys 0..K-1.
  Vec t5_bias(const std::string& table_name, const StackConfig& st, bool bidirectional, int64_t S, int64_t K,
              int64_t q_pos0) {
    const int64_t H = st.num_heads, nb = c.relative_buckets;
    const Vec& table = w.get(table_name, nb * H);  // [buckets, heads]
    Vec bias(H * S * K);
    for (int64_t i = 0; i < S; ++i)
      for (int64_t j = 0; j < K; ++j) {
        const int64_t bucket = t5_bucket(j - (q_pos0 + i), bidirectional, nb, c.relative_max_distance);
        for (int64_t h = 0; h < H; ++h) bias[(h * S + i) * K + j] = table[bucket * H + h];
      }
    return bias;
  }

  // BART embeddings: word · embed_scale + position[p + 2] -> layernorm_embedding.
  Vec bart_embed(const std::string& stack, const std::vector<int64_t>& ids, int64_t S, int64_t q_pos0) {
    const int64_t Hd = c.hidden_size, rows = c.max_positions + c.position_offset;
    Vec x = gather_rows(w.get("encoder.embeddings.word.weight", c.vocab_size * Hd), c.vocab_size, Hd, ids, "token id");
    if (c.scale_embedding)
      for (double& v : x) v *= std::sqrt(static_cast<double>(Hd));
    std::vector<int64_t> pos(B * S);
    for (int64_t r = 0; r < B * S; ++r) pos[r] = q_pos0 + r % S + c.position_offset;
    x = add(x, gather_rows(w.get(stack + ".embeddings.position.weight", rows * Hd), rows, Hd, pos, "position"));
    norm(c, w, stack + ".embeddings.norm", x, B * S, Hd);
    return x;
  }

  // T5 / BART encoder.
  Vec encoder(const ModelInputs& in, int64_t S, const std::vector<char>& keep) {
    const int64_t Hd = c.hidden_size;
    const bool t5 = c.family == Family::t5;
    Vec x = t5 ? gather_rows(w.get("encoder.embeddings.word.weight", c.vocab_size * Hd), c.vocab_size, Hd, in.input_ids, "token id")
               : bart_embed("encoder", in.input_ids, S, 0);
    Vec bias;
    if (t5) bias = t5_bias("encoder.position_bias.weight", c.encoder, true, S, S, 0);
    for (int64_t i = 0; i < c.encoder.num_layers; ++i) {
      LayerArgs a;
      a.S = S;
      a.key_keep = &keep;
      a.bias = t5 ? &bias : nullptr;
      x = layer("encoder.layers." + std::to_string(i), c.encoder, x, a);
    }
    if (c.final_norm) norm(c, w, "encoder.final_norm", x, B * S, Hd);
    return x;
  }

  // T5 / BART decoder: `T` new tokens at positions q_pos0.. over the encoder output.
  Vec decoder_step(const std::vector<int64_t>& ids, int64_t T, int64_t q_pos0, std::vector<LayerCache>& caches,
                   const Vec& enc, int64_t Se, const std::vector<char>& enc_keep) {
    const int64_t Hd = c.hidden_size;
    const bool t5 = c.family == Family::t5;
    Vec x = t5 ? gather_rows(w.get("encoder.embeddings.word.weight", c.vocab_size * Hd), c.vocab_size, Hd, ids, "token id")
               : bart_embed("decoder", ids, T, q_pos0);
    Vec bias;
    if (t5) bias = t5_bias("decoder.position_bias.weight", c.decoder, false, T, q_pos0 + T, q_pos0);
    caches.resize(c.decoder.num_layers);
    for (int64_t i = 0; i < c.decoder.num_layers; ++i) {
      LayerArgs a;
      a.S = T;
      a.q_pos0 = q_pos0;
      a.causal = true;
      a.cache = &caches[i];
      a.bias = t5 ? &bias : nullptr;
      a.enc = &enc;
      a.Se = Se;
      a.enc_keep = &enc_keep;
      x = layer("decoder.layers." + std::to_string(i), c.decoder, x, a);
    }
    if (c.final_norm) norm(c, w, "decoder.final_norm", x, B * T, Hd);
    return x;
  }

  std::vector<Output> seq2seq_outputs(const Vec& dec, int64_t T, const Vec& enc, int64_t Se) {
    std::vector<Output> out{{"last_hidden_state", {B, T, c.hidden_size}, dec},
                            {"encoder_last_hidden_state", {B, Se, c.hidden_size}, enc}};
    if (c.head == Head::seq2seq_lm) out.push_back(lm_head(dec, T));
    return out;
  }

  // ViT: patch conv (kernel = stride = P) as a dot product per patch, CLS token first, positions,
  // pre-norm layers with no mask, final layernorm, classifier / pooler on the CLS token.
  std::vector<Output> vit(const ModelInputs& in) {
    const int64_t Hd = c.hidden_size, C = c.num_channels, P = c.patch_size;
    const int64_t img = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(in.pixel_values.size() / (B * C)))));
    if (B * C * img * img != static_cast<int64_t>(in.pixel_values.size()) || img % P != 0)
      throw Error("reference: pixel_values is not [batch, channels, image, image] with image divisible by the patch");
    const int64_t g = img / P, N = g * g, S = N + 1;
    const Vec& pw = w.get("embeddings.patch_embedding.weight", Hd * C * P * P);
    const Vec& pb = w.get("embeddings.patch_embedding.bias", Hd);
    const Vec& cls = w.get("embeddings.cls_token.weight", Hd);
    const Vec& pos = w.get("embeddings.position.weight", S * Hd);
    Vec x(B * S * Hd);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = 0; i < Hd; ++i) x[(b * S) * Hd + i] = cls[i] + pos[i];
      for (int64_t gy = 0; gy < g; ++gy)
        for (int64_t gx = 0; gx < g; ++gx) {
          const int64_t t = 1 + gy * g + gx;
          for (int64_t o = 0; o < Hd; ++o) {
            double acc = pb[o];
            for (int64_t ch = 0; ch < C; ++ch)
              for (int64_t py = 0; py < P; ++py)
                for (int64_t px = 0; px < P; ++px)
                  acc += pw[((o * C + ch) * P + py) * P + px] *
                         static_cast<double>(in.pixel_values[((b * C + ch) * img + gy * P + py) * img + gx * P + px]);
            x[(b * S + t) * Hd + o] = acc + pos[t * Hd + o];
          }
        }
    }
    for (int64_t i = 0; i < c.encoder.num_layers; ++i) {
      LayerArgs a;
      a.S = S;
      x = layer("layers." + std::to_string(i), c.encoder, x, a);
    }
    norm(c, w, "final_norm", x, B * S, Hd);
    std::vector<Output> out{{"last_hidden_state", {B, S, Hd}, x}};
    if (c.pooler) out.push_back(pooler(x, S));
    if (c.head == Head::image_classification)
      out.push_back({"logits", {B, c.num_labels}, lin("classifier", first_tokens(x, S, Hd), B, Hd, c.num_labels, true)});
    return out;
  }
};

int64_t checked_len(size_t n, int64_t batch, const char* what) {
  if (batch < 1 || n == 0 || n % batch != 0)
    throw Error(std::string("reference: ") + what + " is not [batch, seq] with batch " + std::to_string(batch));
  return static_cast<int64_t>(n) / batch;
}

// Columns [t0, t0 + n) of ids[B, S].
std::vector<int64_t> slice_ids(const std::vector<int64_t>& ids, int64_t B, int64_t S, int64_t t0, int64_t n) {
  std::vector<int64_t> out;
  for (int64_t b = 0; b < B; ++b) out.insert(out.end(), ids.begin() + b * S + t0, ids.begin() + b * S + t0 + n);
  return out;
}

std::vector<Output> run_forward(const ModelConfig& config, const WeightTable& table, const ModelInputs& inputs,
                                int64_t batch, const Options& options,
                                std::map<std::string, std::vector<std::vector<int64_t>>>* routing_record = nullptr,
                                const std::map<std::string, std::vector<std::vector<int64_t>>>* routing_replay = nullptr) {
  Model m{config, table, batch, options, routing_record, routing_replay};
  switch (config.family) {
    case Family::bert:
    case Family::roberta:
    case Family::distilbert:
    case Family::albert:
      checked_len(inputs.input_ids.size(), batch, "input_ids");
      return m.bert_like(inputs);
    case Family::gpt2:
    case Family::llama:
    case Family::mistral:
    case Family::qwen2:
    case Family::mixtral: {
      const int64_t S = checked_len(inputs.input_ids.size(), batch, "input_ids");
      std::vector<LayerCache> caches;
      return m.decoder_only_outputs(m.decoder_only_step(inputs.input_ids, S, 0, caches), S);
    }
    case Family::t5:
    case Family::bart: {
      const int64_t S = checked_len(inputs.input_ids.size(), batch, "input_ids");
      const int64_t T = checked_len(inputs.decoder_input_ids.size(), batch, "decoder_input_ids");
      const std::vector<char> keep = m.key_keep(inputs, S);
      Vec enc = m.encoder(inputs, S, keep);
      std::vector<LayerCache> caches;
      return m.seq2seq_outputs(m.decoder_step(inputs.decoder_input_ids, T, 0, caches, enc, S, keep), T, enc, S);
    }
    case Family::vit:
      return m.vit(inputs);
  }
  throw Error("reference: unknown family");
}

}  // namespace

std::vector<Output> forward(const ModelConfig& config, const Tensors& weights, const ModelInputs& inputs, int64_t batch,
                            const Options& options) {
  if (!options.bf16_routing || config.num_experts == 0) return run_forward(config, WeightTable(weights), inputs, batch, options);
  // Choose the experts in a pass that rounds every linear's operands to bf16, then compute exactly
  // with those choices.
  std::map<std::string, std::vector<std::vector<int64_t>>> routing;
  Options rounded = options;
  rounded.bf16_linear_operands = true;
  rounded.bf16_routing = false;
  run_forward(config, WeightTable(weights), inputs, batch, rounded, &routing, nullptr);
  Options exact = options;
  exact.bf16_routing = false;
  return run_forward(config, WeightTable(weights), inputs, batch, exact, nullptr, &routing);
}

Tensors make_weights(const ModelConfig& config, const ModelInputs& inputs, int64_t batch,
                     const WeightGenerator& generator) {
  const Tensors none;
  Tensors made;
  run_forward(config, WeightTable(none, &made, generator), inputs, batch, Options{});
  return made;
}

std::vector<Output> forward_incremental(const ModelConfig& config, const Tensors& weights, const ModelInputs& inputs,
                                        int64_t batch) {
  Model m{config, WeightTable(weights), batch, Options{}};
  std::vector<LayerCache> caches;
  Vec last;
  if (is_decoder_only(config)) {
    const int64_t S = checked_len(inputs.input_ids.size(), batch, "input_ids");
    for (int64_t t = 0; t < S; ++t) last = m.decoder_only_step(slice_ids(inputs.input_ids, batch, S, t, 1), 1, t, caches);
    return m.decoder_only_outputs(last, 1);
  }
  if (config.arch_type == ArchType::encoder_decoder) {
    const int64_t S = checked_len(inputs.input_ids.size(), batch, "input_ids");
    const int64_t T = checked_len(inputs.decoder_input_ids.size(), batch, "decoder_input_ids");
    const std::vector<char> keep = m.key_keep(inputs, S);
    Vec enc = m.encoder(inputs, S, keep);
    for (int64_t t = 0; t < T; ++t)
      last = m.decoder_step(slice_ids(inputs.decoder_input_ids, batch, T, t, 1), 1, t, caches, enc, S, keep);
    return m.seq2seq_outputs(last, 1, enc, S);
  }
  throw Error("reference: forward_incremental needs a model with a decoder");
}

const Output& find_output(const std::vector<Output>& outputs, const std::string& name) {
  std::string names;
  for (const Output& o : outputs) {
    if (o.name == name) return o;
    names += " " + o.name;
  }
  throw Error("reference: no output '" + name + "' (have:" + names + ")");
}

Output last_position(const Output& o) {
  if (o.shape.size() != 3) throw Error("reference: last_position needs a [batch, seq, width] output, got " + o.name);
  const int64_t B = o.shape[0], S = o.shape[1], W = o.shape[2];
  return {o.name, {B, 1, W}, take_token(o.data, B, S, W, S - 1)};
}

}  // namespace clear::reference
