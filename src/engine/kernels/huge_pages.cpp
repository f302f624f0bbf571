#include "engine/kernels/huge_pages.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include "clear/util/error.hpp"

namespace clear::kernels {
namespace {
constexpr size_t kHugePage = size_t(2) << 20;

size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }
}  // namespace

void HugePageDeleter::operator()(void* p) const {
  if (p) ::munmap(p, bytes);
}

HugePageBuffer allocate_huge_page_buffer(size_t bytes, const char* what) {
  size_t page = size_t(::sysconf(_SC_PAGESIZE));
  size_t size = round_up(std::max<size_t>(bytes, 1), page);
  // Over-map by one huge page, then trim both ends so the mapping starts on a 2 MiB boundary.
  size_t reserve = size + kHugePage;
  void* raw = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    throw Error(std::string(what) + ": cannot map " + std::to_string(bytes) + " bytes for packed weights: " +
                std::strerror(errno));
  auto start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) ::munmap(raw, aligned - start);
  size_t tail = start + reserve - (aligned + size);
  if (tail) ::munmap(reinterpret_cast<void*>(aligned + size), tail);
  void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  ::madvise(p, size, MADV_HUGEPAGE);  // advice only: where THP is off this is plain 4 KiB memory
#endif
  return HugePageBuffer(p, HugePageDeleter{size});
}

}  // namespace clear::kernels
