// Checks of the float64 reference itself, before anything is compared against it: known values of
// its pieces, and pairs of routes through it that must agree (decode with a KV cache against the
// full recompute, a padded batch against each sequence alone, GQA against MHA with repeated heads,
// Mixtral with identical experts against a dense MLP, RoPE's relative-position property).
// Configs are built by hand here so these checks do not depend on the config parser.
#include <gtest/gtest.h>

#include <cmath>

#include "clear/util/error.hpp"
#include "engine/support/reference_model.hpp"
#include "engine/support/reference_ops.hpp"
#include "support/test_support.hpp"

namespace clear::reference {
namespace {

using clear::testing::random_doubles;
using clear::testing::rng;

StackConfig stack(int64_t layers, int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t ffn) {
  StackConfig s;
  s.num_layers = layers;
  s.num_heads = heads;
  s.num_kv_heads = kv_heads;
  s.head_dim = head_dim;
  s.ffn_dim = ffn;
  return s;
}

ModelConfig tiny(Family family) {
  ModelConfig c;
  c.family = family;
  c.vocab_size = 37;
  c.hidden_size = 24;
  c.embedding_size = 24;
  c.max_positions = 16;
  switch (family) {
    case Family::bert:
    case Family::roberta:
    case Family::distilbert:
    case Family::albert:
      c.arch_type = ArchType::encoder_only;
      c.encoder = stack(2, 4, 4, 6, 40);
      c.pre_norm = false;
      c.embedding_norm = true;
      c.norm_eps = 1e-12;
      c.type_vocab_size = family == Family::distilbert ? 0 : 2;
      c.pooler = family != Family::distilbert;
      c.head = Head::masked_lm;
      c.tie_word_embeddings = true;
      if (family == Family::roberta) {
        c.position_offset = 2;
        c.pad_token_id = 1;
      }
      if (family == Family::albert) {
        c.embedding_size = 10;
        c.albert_groups = 1;
        c.albert_inner = 1;
        c.activation = Activation::gelu_tanh;
      }
      break;
    case Family::gpt2:
      c.arch_type = ArchType::decoder_only;
      c.decoder = stack(2, 4, 4, 6, 40);
      c.activation = Activation::gelu_tanh;
      c.final_norm = true;
      c.head = Head::causal_lm;
      c.tie_word_embeddings = true;
      break;
    case Family::llama:
    case Family::mistral:
    case Family::qwen2:
    case Family::mixtral:
      c.arch_type = family == Family::mixtral ? ArchType::moe_decoder : ArchType::decoder_only;
      c.decoder = stack(2, 4, 2, 8, 36);
      c.hidden_size = c.embedding_size = 28;  // head_dim 8 · 4 heads = 32 != hidden: o_proj is not square
      c.positions = PositionKind::rope;
      c.rope_theta = 5000.0;
      c.norm = NormKind::rms_norm;
      c.norm_eps = 1e-6;
      c.final_norm = true;
      c.activation = Activation::silu;
      c.gated_mlp = true;
      c.qkv_bias = family == Family::qwen2;
      c.out_proj_bias = c.mlp_bias = false;
      c.head = Head::causal_lm;
      if (family == Family::mistral) c.sliding_window = 3;
      if (family == Family::mixtral) {
        c.num_experts = 4;
        c.experts_per_token = 2;
      }
      break;
    case Family::t5:
      c.arch_type = ArchType::encoder_decoder;
      c.encoder = c.decoder = stack(2, 4, 4, 5, 40);  // inner dim 20 != d_model 24, as T5 allows
      c.positions = PositionKind::relative_bias;
      c.relative_buckets = 8;
      c.relative_max_distance = 12;
      c.norm = NormKind::rms_norm;
      c.norm_eps = 1e-6;
      c.final_norm = true;
      c.activation = Activation::relu;
      c.qkv_bias = c.out_proj_bias = c.mlp_bias = false;
      c.attention_scaled = false;
      c.head = Head::seq2seq_lm;
      c.tie_word_embeddings = true;
      break;
    case Family::bart:
      c.arch_type = ArchType::encoder_decoder;
      c.encoder = c.decoder = stack(2, 4, 4, 6, 40);
      c.position_offset = 2;
      c.pre_norm = false;
      c.embedding_norm = true;
      c.head = Head::seq2seq_lm;
      c.tie_word_embeddings = true;
      break;
    case Family::vit:
      c.arch_type = ArchType::vision_encoder;
      c.encoder = stack(2, 4, 4, 6, 40);
      c.norm_eps = 1e-12;
      c.final_norm = true;
      c.image_size = 8;
      c.patch_size = 4;
      c.num_channels = 3;
      c.num_labels = 5;
      c.head = Head::image_classification;
      c.pooler = true;
      break;
  }
  return c;
}

// Norm weights around 1, everything else uniform(-0.5, 0.5).
std::vector<double> generate(const std::string& name, int64_t numel) {
  const bool norm_weight = name.find("norm") != std::string::npos && name.ends_with(".weight");
  return norm_weight ? random_doubles(numel, 0.5, 1.5) : random_doubles(numel, -0.5, 0.5);
}

std::vector<int64_t> random_ids(int64_t n, int64_t vocab, int64_t avoid = -1) {
  std::uniform_int_distribution<int64_t> dist(0, vocab - 1);
  std::vector<int64_t> ids(n);
  for (auto& id : ids)
    do id = dist(rng());
    while (id == avoid);
  return ids;
}

ModelInputs random_inputs(const ModelConfig& c, int64_t batch, int64_t seq, int64_t target) {
  ModelInputs in;
  if (c.family == Family::vit) {
    for (double v : random_doubles(batch * c.num_channels * c.image_size * c.image_size)) in.pixel_values.push_back(static_cast<float>(v));
    return in;
  }
  in.input_ids = random_ids(batch * seq, c.vocab_size, c.pad_token_id);
  if (c.arch_type == ArchType::encoder_decoder) in.decoder_input_ids = random_ids(batch * target, c.vocab_size);
  return in;
}

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// max |a - b| / max |b|.
double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d / std::max(max_abs(b), 1e-300);
}

TEST(ReferencePieces, ActivationsAtKnownValues) {
  EXPECT_NEAR(activation(Activation::gelu_erf, 1.0), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(activation(Activation::gelu_erf, -2.0), -0.04550026389635842, 1e-15);
  EXPECT_NEAR(activation(Activation::gelu_tanh, 1.0), 0.8411919906082768, 1e-15);
  EXPECT_NEAR(activation(Activation::silu, 1.0), 0.7310585786300049, 1e-15);
  EXPECT_EQ(activation(Activation::relu, -0.3), 0.0);
  EXPECT_NEAR(activation(Activation::tanh, 0.5), 0.46211715726000974, 1e-15);
}

TEST(ReferencePieces, Bf16RoundingIsNearestTiesToEven) {
  EXPECT_EQ(round_to_bf16(1.0), 1.0);
  EXPECT_EQ(round_to_bf16(1.00390625), 1.0);          // 1 + 2^-8: halfway, mantissa 0 is even
  EXPECT_EQ(round_to_bf16(1.01171875), 1.015625);     // 1 + 3·2^-8: halfway, rounds to mantissa 2
  EXPECT_EQ(round_to_bf16(1.0040), 1.0078125);        // just above halfway
  EXPECT_EQ(round_to_bf16(-3.14159), -3.140625);
}

TEST(ReferencePieces, T5BucketsMatchHandComputedValues) {
  // t5-small: 32 buckets, max distance 128, encoder (bidirectional): 16 per direction, 8 exact.
  EXPECT_EQ(t5_bucket(0, true, 32, 128), 0);
  EXPECT_EQ(t5_bucket(-1, true, 32, 128), 1);
  EXPECT_EQ(t5_bucket(1, true, 32, 128), 17);
  EXPECT_EQ(t5_bucket(-7, true, 32, 128), 7);
  EXPECT_EQ(t5_bucket(-8, true, 32, 128), 8);     // 8 + floor(log(1)/log(16)·8)
  EXPECT_EQ(t5_bucket(-16, true, 32, 128), 10);   // 8 + floor(log(2)/log(16)·8) = 8 + 2
  EXPECT_EQ(t5_bucket(-127, true, 32, 128), 15);  // 8 + floor(7.98)
  EXPECT_EQ(t5_bucket(500, true, 32, 128), 31);   // capped
  // Decoder (unidirectional): keys after the query share bucket 0; 32 buckets, 16 exact.
  EXPECT_EQ(t5_bucket(5, false, 32, 128), 0);
  EXPECT_EQ(t5_bucket(-5, false, 32, 128), 5);
  EXPECT_EQ(t5_bucket(-20, false, 32, 128), 17);  // 16 + floor(log(1.25)/log(8)·16) = 16 + 1
  EXPECT_EQ(t5_bucket(-1000, false, 32, 128), 31);
}

TEST(ReferencePieces, Llama3RopeScalingKeepsHighAndScalesLowFrequencies) {
  ModelConfig c = tiny(Family::llama);
  c.rope_theta = 500000.0;
  const std::vector<double> plain = rope_inv_freq(c, 64);
  c.rope_scaling = {"llama3", 32.0, 1.0, 4.0, 8192};
  const std::vector<double> scaled = rope_inv_freq(c, 64);
  ASSERT_EQ(scaled.size(), 32u);
  EXPECT_DOUBLE_EQ(scaled[0], 1.0);                   // wavelength 2π < 8192/4: unchanged
  EXPECT_DOUBLE_EQ(scaled[31], plain[31] / 32.0);      // wavelength > 8192: divided by the factor
  int medium = 0;
  for (int i = 0; i < 32; ++i) {
    EXPECT_LE(scaled[i], plain[i]);
    EXPECT_GE(scaled[i], plain[i] / 32.0 * (1 - 1e-12));
    medium += scaled[i] < plain[i] && scaled[i] > plain[i] / 32.0;
  }
  EXPECT_GT(medium, 0);  // some frequencies are interpolated
  c.rope_scaling = {"linear", 4.0, 1.0, 1.0, 0};
  EXPECT_DOUBLE_EQ(rope_inv_freq(c, 64)[5], plain[5] / 4.0);
}

TEST(ReferencePieces, RopeScoresDependOnlyOnRelativePosition) {
  ModelConfig c = tiny(Family::llama);
  c.rope_scaling = {"linear", 2.0, 1.0, 1.0, 0};
  const int64_t D = 8;
  const Vec inv = rope_inv_freq(c, D);
  const Vec q0 = random_doubles(D), k0 = random_doubles(D);
  auto score = [&](int64_t qpos, int64_t kpos) {
    Vec q = q0, k = k0;
    apply_rope(q, 1, 1, D, {qpos}, inv);
    apply_rope(k, 1, 1, D, {kpos}, inv);
    double s = 0.0;
    for (int64_t d = 0; d < D; ++d) s += q[d] * k[d];
    return s;
  };
  EXPECT_NEAR(score(3, 1), score(10, 8), 1e-12);
  EXPECT_NEAR(score(0, 0), score(7, 7), 1e-12);
  EXPECT_GT(std::abs(score(3, 1) - score(3, 2)), 1e-6);  // and it does depend on the distance
}

class ReferenceDecode : public ::testing::TestWithParam<Family> {};

// One token at a time with a KV cache equals the last position of the full forward pass.
TEST_P(ReferenceDecode, CachedStepsEqualFullRecompute) {
  SCOPED_TRACE(clear::testing::seed_note());
  for (bool gated : {false, true}) {
    ModelConfig c = tiny(GetParam());
    if (gated && c.family != Family::t5) continue;
    if (gated) {
      c.gated_mlp = true;
      c.activation = Activation::gelu_tanh;
    }
    const ModelInputs in = random_inputs(c, 2, 6, 7);
    const Tensors w = make_weights(c, in, 2, generate);
    const auto full = forward(c, w, in, 2);
    const auto step = forward_incremental(c, w, in, 2);
    for (const char* name : {"last_hidden_state", "logits"}) {
      const Output want = last_position(find_output(full, name));
      const Output& got = find_output(step, name);
      EXPECT_EQ(got.shape, want.shape) << name;
      EXPECT_LT(rel_error(got.data, want.data), 1e-12) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, ReferenceDecode,
                         ::testing::Values(Family::gpt2, Family::llama, Family::mistral, Family::qwen2,
                                           Family::mixtral, Family::t5, Family::bart));

class ReferencePadding : public ::testing::TestWithParam<Family> {};

// Valid rows of a padded batch equal each sequence run alone, unpadded.
TEST_P(ReferencePadding, PaddedBatchEqualsSequencesAlone) {
  SCOPED_TRACE(clear::testing::seed_note());
  ModelConfig c = tiny(GetParam());
  const int64_t S = 7, T = 5;
  ModelInputs in = random_inputs(c, 2, S, T);
  in.valid_lengths = {S, 4};
  if (c.pad_token_id >= 0)
    for (int64_t j = 4; j < S; ++j) in.input_ids[S + j] = c.pad_token_id;
  const Tensors w = make_weights(c, in, 2, generate);
  const auto batched = forward(c, w, in, 2);
  const bool seq2seq = c.arch_type == ArchType::encoder_decoder;
  for (int64_t b = 0; b < 2; ++b) {
    const int64_t len = in.valid_lengths[b];
    ModelInputs one;
    one.input_ids.assign(in.input_ids.begin() + b * S, in.input_ids.begin() + b * S + len);
    if (seq2seq) one.decoder_input_ids.assign(in.decoder_input_ids.begin() + b * T, in.decoder_input_ids.begin() + (b + 1) * T);
    const auto alone = forward(c, w, one, 1);
    const Output& enc_b = find_output(batched, seq2seq ? "encoder_last_hidden_state" : "last_hidden_state");
    const Output& enc_1 = find_output(alone, seq2seq ? "encoder_last_hidden_state" : "last_hidden_state");
    const int64_t H = c.hidden_size;
    std::vector<double> rows(enc_b.data.begin() + b * S * H, enc_b.data.begin() + (b * S + len) * H);
    EXPECT_LT(rel_error(rows, enc_1.data), 1e-12) << "sequence " << b;
    if (seq2seq) {
      const Output& dec_b = find_output(batched, "logits");
      const Output& dec_1 = find_output(alone, "logits");
      const int64_t n = T * c.vocab_size;
      std::vector<double> part(dec_b.data.begin() + b * n, dec_b.data.begin() + (b + 1) * n);
      EXPECT_LT(rel_error(part, dec_1.data), 1e-12) << "decoder of sequence " << b;
    }
    if (c.pooler) {
      const Output& p_b = find_output(batched, "pooler_output");
      std::vector<double> part(p_b.data.begin() + b * H, p_b.data.begin() + (b + 1) * H);
      EXPECT_LT(rel_error(part, find_output(alone, "pooler_output").data), 1e-12);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, ReferencePadding,
                         ::testing::Values(Family::bert, Family::roberta, Family::distilbert, Family::albert,
                                           Family::t5, Family::bart));

// Grouped-query attention equals multi-head attention whose K/V projections repeat each kv head
// for the query heads that read it (head h reads kv head h / (H / Hkv)).
TEST(ReferenceRoutes, GqaEqualsMhaWithRepeatedKvHeads) {
  SCOPED_TRACE(clear::testing::seed_note());
  const ModelConfig gqa = tiny(Family::llama);
  ModelConfig mha = gqa;
  mha.decoder.num_kv_heads = mha.decoder.num_heads;
  const ModelInputs in = random_inputs(gqa, 1, 6, 0);
  const Tensors wg = make_weights(gqa, in, 1, generate);
  Tensors wm = wg;
  const int64_t D = gqa.decoder.head_dim, H = gqa.decoder.num_heads, Hkv = gqa.decoder.num_kv_heads;
  const int64_t Hd = gqa.hidden_size;
  for (int64_t l = 0; l < gqa.decoder.num_layers; ++l)
    for (const char* proj : {"k_proj", "v_proj"}) {
      const std::string name = "layers." + std::to_string(l) + ".attention." + proj + ".weight";
      const Vec& small = wg.at(name);
      Vec big(H * D * Hd);
      for (int64_t h = 0; h < H; ++h)
        std::copy_n(small.data() + (h / (H / Hkv)) * D * Hd, D * Hd, big.data() + h * D * Hd);
      wm[name] = big;
    }
  EXPECT_LT(rel_error(find_output(forward(gqa, wg, in, 1), "logits").data,
                      find_output(forward(mha, wm, in, 1), "logits").data), 1e-12);
}

// With every expert the same, the renormalised top-k weights sum to 1 and Mixtral equals a dense
// SwiGLU model with that expert as its MLP, whatever the router says.
TEST(ReferenceRoutes, MixtralWithIdenticalExpertsEqualsDenseMlp) {
  SCOPED_TRACE(clear::testing::seed_note());
  const ModelConfig moe = tiny(Family::mixtral);
  const ModelConfig dense = tiny(Family::llama);
  const ModelInputs in = random_inputs(dense, 2, 5, 0);
  const Tensors wd = make_weights(dense, in, 2, generate);
  Tensors wm = wd;
  for (int64_t l = 0; l < moe.decoder.num_layers; ++l) {
    const std::string p = "layers." + std::to_string(l);
    for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
      for (int64_t e = 0; e < moe.num_experts; ++e)
        wm[p + ".moe.experts." + std::to_string(e) + "." + proj + ".weight"] = wd.at(p + ".mlp." + proj + ".weight");
      wm.erase(p + ".mlp." + proj + ".weight");
    }
    wm[p + ".moe.router.weight"] = random_doubles(moe.num_experts * moe.hidden_size, -0.5, 0.5);
  }
  EXPECT_LT(rel_error(find_output(forward(moe, wm, in, 2), "logits").data,
                      find_output(forward(dense, wd, in, 2), "logits").data), 1e-12);
}

// A sliding window at least as long as the sequence changes nothing; a shorter one does.
TEST(ReferenceRoutes, SlidingWindowMasksOnlyWhenShorterThanTheSequence) {
  SCOPED_TRACE(clear::testing::seed_note());
  ModelConfig full = tiny(Family::llama);
  const ModelInputs in = random_inputs(full, 1, 6, 0);
  const Tensors w = make_weights(full, in, 1, generate);
  const auto base = find_output(forward(full, w, in, 1), "logits").data;
  ModelConfig wide = full;
  wide.sliding_window = 6;
  EXPECT_EQ(find_output(forward(wide, w, in, 1), "logits").data, base);
  ModelConfig narrow = full;
  narrow.sliding_window = 5;
  const auto masked = find_output(forward(narrow, w, in, 1), "logits").data;
  // Only the last position (position 5) loses a key (position 0) under a window of 5.
  const int64_t V = full.vocab_size;
  EXPECT_EQ(std::vector<double>(masked.begin(), masked.begin() + 5 * V), std::vector<double>(base.begin(), base.begin() + 5 * V));
  EXPECT_GT(rel_error(std::vector<double>(masked.begin() + 5 * V, masked.end()),
                      std::vector<double>(base.begin() + 5 * V, base.end())), 1e-6);
}

// ViT's patch convolution: moving the pixels of one patch to another patch's place swaps the two
// tokens' patch embeddings (positions aside), checked through the first layer-free model.
TEST(ReferenceRoutes, VitPatchesFollowTheirPixels) {
  SCOPED_TRACE(clear::testing::seed_note());
  ModelConfig c = tiny(Family::vit);
  c.encoder.num_layers = 0;
  c.final_norm = true;
  ModelInputs in = random_inputs(c, 1, 0, 0);
  Tensors w = make_weights(c, in, 1, generate);
  w["embeddings.position.weight"].assign(w["embeddings.position.weight"].size(), 0.0);
  ModelInputs swapped = in;
  const int64_t img = c.image_size, P = c.patch_size;
  for (int64_t ch = 0; ch < c.num_channels; ++ch)
    for (int64_t y = 0; y < P; ++y)
      for (int64_t x = 0; x < P; ++x)  // patch (0,0) <-> patch (1,1)
        std::swap(swapped.pixel_values[(ch * img + y) * img + x], swapped.pixel_values[(ch * img + y + P) * img + x + P]);
  const Output a = find_output(forward(c, w, in, 1), "last_hidden_state");
  const Output b = find_output(forward(c, w, swapped, 1), "last_hidden_state");
  const int64_t H = c.hidden_size;  // tokens: 0 CLS, 1 = patch (0,0), 4 = patch (1,1)
  EXPECT_EQ(std::vector<double>(a.data.begin() + H, a.data.begin() + 2 * H), std::vector<double>(b.data.begin() + 4 * H, b.data.begin() + 5 * H));
  EXPECT_EQ(std::vector<double>(a.data.begin() + 2 * H, a.data.begin() + 3 * H), std::vector<double>(b.data.begin() + 2 * H, b.data.begin() + 3 * H));
  EXPECT_GT(rel_error(std::vector<double>(a.data.begin() + H, a.data.begin() + 2 * H), std::vector<double>(b.data.begin() + H, b.data.begin() + 2 * H)), 1e-6);
}

TEST(ReferenceRoutes, MissingTensorIsNamed) {
  const ModelConfig c = tiny(Family::gpt2);
  const ModelInputs in = random_inputs(c, 1, 3, 0);
  Tensors w = make_weights(c, in, 1, generate);
  EXPECT_TRUE(w.count("layers.1.attention.qkv_proj.weight"));
  EXPECT_EQ(w.at("layers.1.attention.qkv_proj.weight").size(), size_t(3 * 24 * 24));
  w.erase("layers.1.mlp.down_proj.bias");
  try {
    forward(c, w, in, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers.1.mlp.down_proj.bias"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace clear::reference
