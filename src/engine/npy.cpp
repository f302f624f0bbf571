#include "clear/engine/npy.hpp"

#include <cstring>
#include <stdexcept>

#include "clear/util/files.hpp"

namespace clear {

std::string npy_bytes(const std::vector<int64_t>& shape, const float* data) {
  static_assert(sizeof(float) == 4, "npy <f4 needs 32-bit floats");
  uint32_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  if (first != 1) throw std::logic_error("npy: big-endian hosts are not supported");
  std::string dims;
  int64_t count = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    count *= d;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(2, 3)"; a 1-D shape keeps its comma: "(5,)"
  else if (shape.size() == 1) dims.resize(dims.size() - 1);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + header length (2) + header + '\n', padded with spaces to a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  uint16_t length = static_cast<uint16_t>(header.size());
  out += static_cast<char>(length & 0xff);
  out += static_cast<char>(length >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(count) * sizeof(float));
  return out;
}

void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape, const float* data) {
  write_file_atomic(path, npy_bytes(shape, data));
}

}  // namespace clear
