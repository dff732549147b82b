// Sums over one axis of a C-contiguous array viewed as (outer, len, inner):
// out[o, i] = sum_r x[o, r, i] (several adjacent axes reduce as one). The CPU
// twin of cuda/reduce.h's sum, float and double. numpy's float32 sum, pairwise
// in scalar order, ran at a third of PyTorch's speed along the last axis.
#pragma once

#include <cstdint>

namespace minigrad::cpu {

// Blocks of 1024 elements (down the rows: of 32 rows) are summed in T across
// many lanes, and the block sums added in order into a double: the result does
// not depend on the thread count, and the error in T is that of about 32 adds
// whatever len is.
template <typename T>
void sum(const T* x, T* out, int64_t outer, int64_t len, int64_t inner);

}  // namespace minigrad::cpu
