#pragma once
// File helpers that never leave a half-written file behind and name the file in every error.
#include <filesystem>
#include <string>

namespace clear {

// Whole file as bytes; throws clear::Error naming the path.
std::string read_file(const std::filesystem::path& path);
// Writes to a temporary file beside `path`, flushes, then renames over it: readers see the old
// content or the new, never a part. Throws clear::Error naming the path.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);
// Per-user cache folder for characterisation and machine ceilings: $CLEAR_CACHE_DIR, else
// $XDG_CACHE_HOME/clear, else ~/.cache/clear (created on demand).
std::filesystem::path cache_dir();

}  // namespace clear
