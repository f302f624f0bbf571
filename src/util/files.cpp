#include "clear/util/files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "clear/util/error.hpp"

namespace clear {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open for reading: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path.string() + ": read failed");
  return ss.str();
}

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error(path.string() + ": cannot open for writing: " + std::strerror(errno));
    size_t written = std::fwrite(content.data(), 1, content.size(), f);
    bool ok = written == content.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
    int err = errno;
    std::fclose(f);
    if (!ok) {
      std::filesystem::remove(tmp);
      throw Error(path.string() + ": write failed: " + std::strerror(err));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw Error(path.string() + ": cannot replace: " + ec.message());
  }
}

std::filesystem::path cache_dir() {
  std::filesystem::path dir;
  if (const char* c = std::getenv("CLEAR_CACHE_DIR"); c && *c) {
    dir = c;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    dir = std::filesystem::path(x) / "clear";
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    dir = std::filesystem::path(h) / ".cache" / "clear";
  } else {
    dir = std::filesystem::temp_directory_path() / "clear-cache";
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create cache folder: " + ec.message());
  return dir;
}

}  // namespace clear
