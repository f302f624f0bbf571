#pragma once
// NumPy .npy files (format version 1.0, little-endian float32 '<f4', C order), so any user can load
// the engine's outputs with numpy.load and compare with another framework.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace clear {

// The whole file's bytes: magic, version 1.0, header dict padded to a multiple of 64, then data.
std::string npy_bytes(const std::vector<int64_t>& shape, const float* data);
// Writes atomically (write_file_atomic). Throws clear::Error naming the path.
void write_npy(const std::filesystem::path& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace clear
