#pragma once
// A test-side safetensors writer, written independently of the reader: tensors given as fp32
// values are stored as F32, F16 or BF16 (round to nearest even), and raw headers/data can be
// assembled by hand to make broken files.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace clear::testing {

enum class StoreAs { F32, F16, BF16 };
const char* store_name(StoreAs);

// fp32 -> half / bfloat16 bits, round to nearest even (arithmetic, not bit tricks, for F16).
uint16_t to_f16_bits(float x);
uint16_t to_bf16_bits(float x);
// The exact value of stored bits, computed with ldexp.
double f16_value(uint16_t bits);
double bf16_value(uint16_t bits);
// What the reader must return for `x` stored as `as` (exact).
double stored_value(float x, StoreAs as);

struct StoredTensor {
  std::string name;
  std::string dtype;            // as written in the header ("F32", "I64", "Q4", ...)
  std::vector<int64_t> shape;
  std::string bytes;            // little-endian data
};

StoredTensor make_tensor(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values,
                         StoreAs as);

// The whole file: u64 header length, JSON header (padded with spaces to a multiple of 8, as the
// reference writer does), data in the order given.
std::string safetensors_bytes(const std::vector<StoredTensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {});
void write_safetensors(const std::filesystem::path& path, const std::vector<StoredTensor>& tensors);
// Sharded: shard k is written as model-0000{k+1}-of-0000{n}.safetensors plus
// model.safetensors.index.json mapping every tensor to its shard.
void write_sharded(const std::filesystem::path& dir, const std::vector<std::vector<StoredTensor>>& shards);
// A file from a hand-written header and data bytes (header length = header.size()).
std::string raw_safetensors(const std::string& header, const std::string& data);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace clear::testing
