// libFuzzer target: arbitrary bytes as a safetensors file. The parser must either accept the
// file (and then every tensor's data lies inside the buffer: converting it reads only those
// bytes, which AddressSanitizer checks) or throw clear::Error; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "clear/engine/safetensors.hpp"
#include "clear/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace st = clear::safetensors;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  try {
    const st::Header header = st::parse_header({bytes, size}, "fuzz.safetensors");
    std::vector<float> values;
    for (const auto& t : header.tensors) {
      if (!st::is_weight_dtype(t.dtype)) continue;
      values.resize(static_cast<size_t>(t.numel()));
      st::convert_to_f32(t.dtype, bytes + header.data_start + t.begin, t.numel(), values.data());
    }
  } catch (const clear::Error&) {
  }
  return 0;
}
