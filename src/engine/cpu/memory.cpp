// The engine's memory plan, estimated from the graph and workload before anything is allocated,
// so a model that cannot fit is refused up front with the bytes it needs.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "clear/engine/cpu_engine.hpp"

namespace clear {

int64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream fields(line.substr(13));
      int64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

MemoryEstimate estimate_cpu_memory(const ComponentGraph& graph, const Workload& workload, const EngineOptions& options) {
  const ModelConfig& cfg = graph.config;
  MemoryEstimate m;
  const int64_t f32 = 4;
  int64_t packed_bytes_per_value = options.dtype == DType::bf16 ? 2 : 4;

  // Weights: every fp32 tensor while packing, plus the packed copy of the largest linear at once
  // (each linear's fp32 source is released once packed), or afterwards packed linears plus the rest.
  int64_t all = 0;
  for (const auto& p : graph.parameters()) all += p.numel() * f32;
  std::set<std::string> seen;
  int64_t linear_fp32 = 0, packed = 0, largest = 0;
  for (int leaf : graph.leaves()) {
    const Component& c = graph.nodes[leaf];
    if (c.op != OpKind::linear && c.op != OpKind::router && c.op != OpKind::patch_embedding) continue;
    const Component& owner = graph.nodes[graph.param_owner(leaf)];
    if (!seen.insert(owner.name + "|" + c.name.substr(c.name.rfind('.') + 1)).second) continue;
    int64_t values = c.in_features * c.out_features;
    linear_fp32 += values * f32;
    packed += values * packed_bytes_per_value + (c.bias ? c.out_features * f32 : 0);
    largest = std::max(largest, values * packed_bytes_per_value);
  }
  m.weights = std::max(all + largest, packed + std::max<int64_t>(0, all - linear_fp32));

  int64_t B = workload.batch;
  int64_t H = cfg.hidden_size, E = std::max(cfg.embedding_size, H), V = cfg.vocab_size;
  const StackConfig& st = cfg.arch_type == ArchType::encoder_decoder || cfg.arch_type == ArchType::decoder_only ||
                                  cfg.arch_type == ArchType::moe_decoder
                              ? cfg.decoder
                              : cfg.encoder;
  int64_t heads = std::max(cfg.encoder.num_heads, cfg.decoder.num_heads);
  int64_t D = std::max(cfg.encoder.head_dim, cfg.decoder.head_dim);
  int64_t F = std::max(cfg.encoder.ffn_dim, cfg.decoder.ffn_dim);
  int64_t kvw = std::max(cfg.encoder.num_kv_heads, cfg.decoder.num_kv_heads) * D;
  int64_t qw = heads * D;
  int64_t k = std::max<int64_t>(cfg.experts_per_token, 1);
  int64_t per_row = 5 * H + 4 * E + 3 * qw + 2 * kvw + 3 * qw + 3 * F;
  if (cfg.num_experts > 0) per_row += k * (2 * H + 3 * F) + cfg.num_experts + 3 * k;
  int64_t head_row = V + (cfg.num_labels > 0 ? cfg.num_labels : 0);

  int64_t seq = workload.seq;
  int64_t enc_rows = 0, dec_rows = 0, kv_positions = 0, enc_len = 0;
  bool decode = workload.phase == Phase::decode;
  int64_t new_tokens = std::max<int64_t>(options.max_new_tokens, 1);
  switch (cfg.arch_type) {
    case ArchType::encoder_only: enc_len = seq; enc_rows = B * seq; break;
    case ArchType::vision_encoder: {
      int64_t image = workload.image_size > 0 ? workload.image_size : cfg.image_size;
      int64_t grid = cfg.patch_size > 0 ? image / cfg.patch_size : 0;
      enc_len = 1 + grid * grid;
      enc_rows = B * enc_len;
      per_row += cfg.num_channels * cfg.patch_size * cfg.patch_size;
      break;
    }
    case ArchType::decoder_only:
    case ArchType::moe_decoder:
      dec_rows = B * (decode ? std::max<int64_t>(workload.kv_len, 1) : seq);
      kv_positions = decode ? workload.kv_len + new_tokens : 0;
      break;
    case ArchType::encoder_decoder:
      enc_len = seq;
      enc_rows = B * seq;
      dec_rows = B * (decode ? std::max<int64_t>(workload.kv_len, 1) : (workload.target_seq > 0 ? workload.target_seq : seq));
      kv_positions = decode ? workload.kv_len + new_tokens : 0;
      break;
  }
  m.activations = f32 * (enc_rows + dec_rows) * (per_row + head_row);
  // T5 position bias and the fused attention's scratch: [heads, q, k] at most per stack.
  int64_t q_max = std::max(enc_len, dec_rows / std::max<int64_t>(B, 1));
  int64_t k_max = std::max({enc_len, q_max, kv_positions});
  m.activations += f32 * heads * q_max * k_max * (cfg.positions == PositionKind::relative_bias ? 2 : 1);
  m.kv_cache = f32 * st.num_layers * 2 * B * kv_positions * kvw;
  if (cfg.arch_type == ArchType::encoder_decoder) m.kv_cache += f32 * cfg.decoder.num_layers * 2 * B * enc_len * kvw;
  return m;
}

}  // namespace clear
