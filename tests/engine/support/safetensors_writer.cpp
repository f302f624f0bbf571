#include "safetensors_writer.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace clear::testing {

const char* store_name(StoreAs as) {
  switch (as) {
    case StoreAs::F32: return "F32";
    case StoreAs::F16: return "F16";
    case StoreAs::BF16: return "BF16";
  }
  return "?";
}

uint16_t to_f16_bits(float x) {
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  double a = std::fabs(double(x));
  if (std::isnan(x)) return 0x7e00;
  if (a >= 65520.0) return sign | 0x7c00;  // rounds to infinity
  if (a < std::ldexp(1.0, -14)) {          // subnormal: multiples of 2^-24
    const double m = std::nearbyint(a * std::ldexp(1.0, 24));
    return sign | uint16_t(m);             // m == 1024 lands on the smallest normal, correctly
  }
  int e;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  e -= 1;             // a = 1.xxx * 2^e
  double m = std::nearbyint((a / std::ldexp(1.0, e) - 1.0) * 1024.0);
  if (m == 1024.0) {
    m = 0;
    ++e;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | uint16_t((e + 15) << 10) | uint16_t(m);
}

uint16_t to_bf16_bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if (std::isnan(x)) return uint16_t((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

double f16_value(uint16_t bits) {
  const double sign = (bits & 0x8000) ? -1.0 : 1.0;
  const int e = (bits >> 10) & 0x1f;
  const int m = bits & 0x3ff;
  if (e == 0) return sign * std::ldexp(double(m), -24);
  if (e == 31) return m ? NAN : sign * INFINITY;
  return sign * std::ldexp(1.0 + m / 1024.0, e - 15);
}

double bf16_value(uint16_t bits) {
  const double sign = (bits & 0x8000) ? -1.0 : 1.0;
  const int e = (bits >> 7) & 0xff;
  const int m = bits & 0x7f;
  if (e == 0) return sign * std::ldexp(double(m), -133);
  if (e == 255) return m ? NAN : sign * INFINITY;
  return sign * std::ldexp(1.0 + m / 128.0, e - 127);
}

double stored_value(float x, StoreAs as) {
  switch (as) {
    case StoreAs::F32: return x;
    case StoreAs::F16: return f16_value(to_f16_bits(x));
    case StoreAs::BF16: return bf16_value(to_bf16_bits(x));
  }
  return x;
}

StoredTensor make_tensor(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values,
                         StoreAs as) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != int64_t(values.size())) throw std::runtime_error("make_tensor: shape does not match values for " + name);
  StoredTensor t{name, store_name(as), std::move(shape), {}};
  for (float v : values) {
    if (as == StoreAs::F32) {
      t.bytes.append(reinterpret_cast<const char*>(&v), 4);
    } else {
      const uint16_t h = as == StoreAs::F16 ? to_f16_bits(v) : to_bf16_bits(v);
      t.bytes.push_back(char(h & 0xff));
      t.bytes.push_back(char(h >> 8));
    }
  }
  return t;
}

std::string raw_safetensors(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string safetensors_bytes(const std::vector<StoredTensor>& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string data;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  return raw_safetensors(text, data);
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_safetensors(const std::filesystem::path& path, const std::vector<StoredTensor>& tensors) {
  write_bytes(path, safetensors_bytes(tensors, {{"format", "pt"}}));
}

void write_sharded(const std::filesystem::path& dir, const std::vector<std::vector<StoredTensor>>& shards) {
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  const size_t n = shards.size();
  for (size_t k = 0; k < n; ++k) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", k + 1, n);
    write_safetensors(dir / name, shards[k]);
    for (const auto& t : shards[k]) index["weight_map"][t.name] = name;
  }
  write_bytes(dir / "model.safetensors.index.json", index.dump(2));
}

}  // namespace clear::testing
