// ViT (configuration_vit.py): pre-norm vision encoder over 16x16 (patch_size) patches plus a CLS token.
#include <fmt/format.h>

#include "model/families/families.hpp"

namespace clear::families {

using config_fields::kMaxDim;
using config_fields::kMaxLayers;

void parse_vit(const Fields& f, ModelConfig& c) {
  c.hidden_size = f.size("hidden_size");
  c.embedding_size = c.hidden_size;
  int64_t layers = f.size("num_hidden_layers", kMaxLayers);
  int64_t heads = f.size("num_attention_heads");
  int64_t ffn = f.size("intermediate_size");
  c.encoder = uniform_stack(f, c.hidden_size, layers, heads, "num_attention_heads", ffn);
  c.image_size = f.size_or("image_size", 224);
  c.patch_size = f.size_or("patch_size", 16);
  c.num_channels = f.size_or("num_channels", 3, 1024);
  if (c.image_size % c.patch_size != 0)
    f.fail("patch_size", fmt::format("{} does not divide image_size {}", c.patch_size, c.image_size));
  int64_t per_side = c.image_size / c.patch_size;
  if (per_side * per_side >= kMaxDim)
    f.fail("image_size", fmt::format("{} patches per side is too many", per_side));
  if (c.num_channels * c.patch_size * c.patch_size > kMaxDim)
    f.fail("patch_size", fmt::format("{} values per patch is too many", c.num_channels * c.patch_size * c.patch_size));
  learned_positions(c, per_side * per_side + 1, 0);  // one row per patch plus the CLS token
  c.activation = parse_activation(f, "hidden_act", "gelu");
  c.norm = NormKind::layer_norm;
  c.norm_eps = f.positive_or("layer_norm_eps", 1e-12);
  c.qkv_bias = f.flag_or("qkv_bias", true);
  c.pre_norm = true;
  c.final_norm = true;
  c.pooler_size = f.size_or("pooler_output_size", c.hidden_size);
  c.pooler_activation = parse_activation(f, "pooler_act", "tanh");
  // PretrainedConfig: num_labels, else the size of id2label, else 2.
  int64_t labels = 2;
  if (const nlohmann::json* id2label = f.find("id2label")) {
    if (!id2label->is_object() || id2label->empty()) f.fail_value("id2label", "a non-empty object");
    labels = int64_t(id2label->size());
    if (f.has("num_labels") && f.size("num_labels") != labels)
      f.fail("num_labels", fmt::format("{} contradicts id2label, which has {} labels", f.size("num_labels"), labels));
  } else {
    labels = f.size_or("num_labels", 2);
  }
  c.num_labels = labels;
  c.tie_word_embeddings = false;
}

}  // namespace clear::families
