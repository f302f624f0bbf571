#pragma once
// Counts multiply batch, sequence, heads and widths: a huge workload could overflow 64 bits, which
// must be an error naming the cause, never a silent wrap.
#include <cstdint>
#include <initializer_list>

namespace clear::checked {

// Product / sum of non-negative counts; throws clear::Error when it does not fit in int64.
int64_t prod(std::initializer_list<int64_t> factors);
int64_t sum(std::initializer_list<int64_t> terms);

}  // namespace clear::checked
