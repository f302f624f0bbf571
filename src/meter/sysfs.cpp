// Small sysfs files (energy counters, names, ranges), read whole with one open/read/close so a
// counter is never half-read. open() goes through a hook so tests can make a file fail with EACCES
// even when they run as root (root reads mode-000 files).
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <unistd.h>

#include "sensors.hpp"

namespace clear::meter {

namespace {
std::mutex& hook_mutex() {
  static std::mutex m;
  return m;
}
OpenHook& hook() {
  static OpenHook h;
  return h;
}
}  // namespace

void set_open_hook_for_tests(OpenHook h) {
  std::lock_guard<std::mutex> lock(hook_mutex());
  hook() = std::move(h);
}

int hooked_open(const char* path, int flags) {
  {
    std::lock_guard<std::mutex> lock(hook_mutex());
    if (hook()) return hook()(path, flags);
  }
  return ::open(path, flags);
}

bool read_small_file(const std::filesystem::path& path, std::string& text, SysfsError& error) {
  int fd = hooked_open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = {errno, path.string() + ": cannot open: " + std::strerror(errno)};
    return false;
  }
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  int err = errno;
  ::close(fd);
  if (n < 0) {
    error = {err, path.string() + ": cannot read: " + std::strerror(err)};
    return false;
  }
  text.assign(buf, size_t(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return true;
}

std::string read_small_file_or_throw(const std::filesystem::path& path) {
  std::string text;
  SysfsError error;
  if (!read_small_file(path, text, error)) throw MeterError(error.message);
  return text;
}

uint64_t parse_u64(const std::string& text, const std::filesystem::path& path) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || end == text.c_str() || *end != '\0' || errno != 0 || text[0] == '-')
    throw MeterError(path.string() + ": expected an unsigned integer, read '" + text + "'");
  return v;
}

std::string energy_permission_fix(const std::filesystem::path& file) {
  return "run as root, or: sudo chmod o+r " + file.string() +
         " (since 2020, CVE-2020-8694, energy_uj is readable by root only)";
}

std::filesystem::path root_or(const std::filesystem::path& given, const char* env, const char* fallback) {
  if (!given.empty()) return given;
  if (const char* e = std::getenv(env); e && *e) return e;
  return fallback;
}

}  // namespace clear::meter
