#pragma once
// Helpers shared by every test program: fresh random data (never all zeros), scratch folders,
// and running the dissect binary.
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace clear::testing {

// A seed that differs on every run (printed by the test on failure via SCOPED_TRACE(seed_note())),
// overridable with CLEAR_TEST_SEED to replay a failure.
uint64_t test_seed();
std::string seed_note();
std::mt19937_64& rng();
// Uniform in [lo, hi), guaranteed not all zero.
std::vector<float> random_floats(size_t n, float lo = -1.0f, float hi = 1.0f);
std::vector<double> random_doubles(size_t n, double lo = -1.0, double hi = 1.0);

// A fresh empty folder under the system temp folder, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs `dissect` (the build's binary) with arguments; stdin is empty. Extra environment as "K=V".
CommandResult run_dissect(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
// Runs any program.
CommandResult run_program(const std::string& program, const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {});

}  // namespace clear::testing
