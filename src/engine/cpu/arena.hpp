#pragma once
// Every activation buffer of an engine, allocated once when the engine is built (64-byte aligned,
// zero-filled) and looked up by name while the execution plans are assembled, so the same buffer
// serves every plan (setup prefill, measured forward, leaf-by-leaf capture) and no forward allocates.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace clear::cpu {

class Arena {
 public:
  // A buffer of at least `count` elements; the first request fixes its size (later requests for
  // the same name must not ask for more).
  float* floats(const std::string& name, int64_t count);
  int64_t* ints(const std::string& name, int64_t count);
  int64_t bytes() const { return bytes_; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  void* get(const std::string& name, int64_t bytes);
  struct Block {
    std::unique_ptr<void, Free> data;
    int64_t bytes = 0;
  };
  std::map<std::string, Block> blocks_;
  int64_t bytes_ = 0;
};

}  // namespace clear::cpu
