// Seeded random weights with Hugging Face's initialisation: linear, embedding, patch-conv and
// position tensors normal(0, 0.02), norm weights 1, biases 0 (spreads adjustable for tests).
// Values come from a counter-based generator: value k of tensor `name` is a pure function of
// (seed, name, k), so a tensor is the same whatever else the model holds, whatever the thread
// count, and is generated in parallel.
#include <cmath>
#include <cstdio>

#include "engine/kernels/parallel.hpp"
#include "engine/weights/weight_store_impl.hpp"

namespace clear {
namespace {

// SplitMix64 finaliser: a bijective 64-bit mix, the standard counter-based stream.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// FNV-1a over the tensor name.
uint64_t hash_name(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Uniform in (0, 1]: never 0, so log() below is finite.
double uniform(uint64_t key, uint64_t counter) {
  return (static_cast<double>(mix64(key ^ mix64(counter)) >> 11) + 1.0) * 0x1p-53;
}

// values[k] = mean + stddev * z_k with z standard normal (Box-Muller over counter pairs).
void fill_normal(uint64_t key, double mean, double stddev, float* values, int64_t n) {
  const int64_t pairs = (n + 1) / 2;
  kernels::parallel_for(pairs, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const double radius = std::sqrt(-2.0 * std::log(uniform(key, 2 * p)));
      const double angle = 2.0 * M_PI * uniform(key, 2 * p + 1);
      values[2 * p] = static_cast<float>(mean + stddev * radius * std::cos(angle));
      if (2 * p + 1 < n) values[2 * p + 1] = static_cast<float>(mean + stddev * radius * std::sin(angle));
    }
  });
}

std::string spread(double stddev) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", stddev);
  return buf;
}

}  // namespace

WeightStore random_weights(const ComponentGraph& graph, uint64_t seed) {
  return random_weights(graph, seed, RandomWeightsOptions{});
}

WeightStore random_weights(const ComponentGraph& graph, uint64_t seed, const RandomWeightsOptions& options) {
  auto impl = std::make_unique<WeightStore::Impl>();
  impl->random = true;
  char seed_hex[32];
  std::snprintf(seed_hex, sizeof seed_hex, "0x%llx", static_cast<unsigned long long>(seed));
  impl->description = std::string("random weights (seed ") + seed_hex + ", normal(0, " + spread(options.stddev) + ")";
  if (options.norm_stddev != 0.0) impl->description += ", norm weights 1 + normal(0, " + spread(options.norm_stddev) + ")";
  if (options.bias_stddev != 0.0) impl->description += ", biases normal(0, " + spread(options.bias_stddev) + ")";
  impl->description += ")";

  for (const auto& p : graph.parameters()) {
    const size_t dot = p.name.rfind('.');
    const std::string component = p.name.substr(0, dot), role = p.name.substr(dot + 1);
    const int node = graph.find(component);
    const bool is_norm = node >= 0 && graph.nodes[node].op == OpKind::norm;
    double mean = 0.0, stddev = options.stddev;
    if (role == "bias") {
      stddev = options.bias_stddev;
    } else if (is_norm) {
      mean = 1.0;
      stddev = options.norm_stddev;
    }
    std::vector<float> values(static_cast<size_t>(p.numel()));
    if (stddev == 0.0) std::fill(values.begin(), values.end(), static_cast<float>(mean));
    else fill_normal(mix64(seed) ^ hash_name(p.name), mean, stddev, values.data(), p.numel());
    impl->add_owned(p.name, p.shape, std::move(values));
  }
  return WeightStore(std::move(impl));
}

}  // namespace clear
