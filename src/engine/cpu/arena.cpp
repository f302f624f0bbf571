#include "engine/cpu/arena.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace clear::cpu {

void Arena::Free::operator()(void* p) const { std::free(p); }

void* Arena::get(const std::string& name, int64_t bytes) {
  if (bytes < 0) throw std::logic_error("arena: negative size for " + name);
  auto it = blocks_.find(name);
  if (it != blocks_.end()) {
    if (bytes > it->second.bytes) throw std::logic_error("arena: buffer " + name + " requested larger than first sized");
    return it->second.data.get();
  }
  // Rounded up to whole cache lines so aligned_alloc accepts it and vector loops may overrun by a line.
  size_t rounded = (static_cast<size_t>(bytes) + 127) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  Block block;
  block.data.reset(p);
  block.bytes = bytes;
  blocks_.emplace(name, std::move(block));
  bytes_ += static_cast<int64_t>(rounded);
  return p;
}

float* Arena::floats(const std::string& name, int64_t count) {
  return static_cast<float*>(get(name, count * static_cast<int64_t>(sizeof(float))));
}

int64_t* Arena::ints(const std::string& name, int64_t count) {
  return static_cast<int64_t*>(get(name, count * static_cast<int64_t>(sizeof(int64_t))));
}

}  // namespace clear::cpu
