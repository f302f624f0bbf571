#include "analysis/checked.hpp"

#include "clear/util/error.hpp"

namespace clear::checked {

namespace {
[[noreturn]] void overflow() {
  throw Error("analysis: a count overflows 64 bits; reduce --batch, --seq, --target-seq or --kv-len");
}
}  // namespace

int64_t prod(std::initializer_list<int64_t> factors) {
  int64_t out = 1;
  for (int64_t f : factors)
    if (__builtin_mul_overflow(out, f, &out)) overflow();
  return out;
}

int64_t sum(std::initializer_list<int64_t> terms) {
  int64_t out = 0;
  for (int64_t t : terms)
    if (__builtin_add_overflow(out, t, &out)) overflow();
  return out;
}

}  // namespace clear::checked
