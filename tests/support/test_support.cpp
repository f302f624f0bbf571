#include "support/test_support.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include "clear/util/files.hpp"

#ifndef DISSECT_PATH
#define DISSECT_PATH "dissect"
#endif

namespace clear::testing {

uint64_t test_seed() {
  static const uint64_t seed = [] {
    if (const char* s = std::getenv("CLEAR_TEST_SEED")) return static_cast<uint64_t>(std::strtoull(s, nullptr, 0));
    return static_cast<uint64_t>(std::random_device{}()) << 32 ^ std::random_device{}();
  }();
  return seed;
}

std::string seed_note() { return "replay with CLEAR_TEST_SEED=" + std::to_string(test_seed()); }

std::mt19937_64& rng() {
  static std::mt19937_64 gen(test_seed());
  return gen;
}

std::vector<float> random_floats(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  bool nonzero = false;
  for (auto& x : v) {
    x = dist(rng());
    nonzero |= x != 0.0f;
  }
  if (n && !nonzero) v[0] = hi * 0.5f + lo * 0.5f + 0.25f;
  return v;
}

std::vector<double> random_doubles(size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  bool nonzero = false;
  for (auto& x : v) {
    x = dist(rng());
    nonzero |= x != 0.0;
  }
  if (n && !nonzero) v[0] = hi * 0.5 + lo * 0.5 + 0.25;
  return v;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "clear-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {
std::string slurp_fd_file(const std::filesystem::path& p) {
  try {
    return read_file(p);
  } catch (...) {
    return {};
  }
}
}  // namespace

CommandResult run_program(const std::string& program, const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  TempDir dir;
  auto out_path = dir / "stdout";
  auto err_path = dir / "stderr";
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(program.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp_fd_file(out_path);
  r.err = slurp_fd_file(err_path);
  return r;
}

CommandResult run_dissect(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  return run_program(DISSECT_PATH, args, env);
}

}  // namespace clear::testing
