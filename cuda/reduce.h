// Reductions over one axis of a C-contiguous array viewed as (outer, len, inner):
// out[o, i] = reduce_r x[o, r, i]. Several axes reduce as one once the caller
// has made them adjacent (a permuted copy). Plain C++ header; device pointers.
#pragma once

#include <cstdint>

namespace minigrad::cuda {

enum class ReduceOp { sum, max, min, argmax, argmin };

// sum/max/min write values (outer * inner of them); argmax/argmin write indices
// in [0, len) (first occurrence; nan counts as the extreme, as numpy). len >= 1
// except for sum (an empty sum is 0). float, double, int64_t.
template <typename T>
void reduce(ReduceOp op, const T* x, T* values, int64_t* indices, int64_t outer, int64_t len, int64_t inner);

}  // namespace minigrad::cuda
