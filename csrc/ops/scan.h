// The running sum's contract, shared by the CPU kernel (csrc/cpu/scan.cpp) and
// its CUDA twin (cuda/scan.cu): x and y viewed as (outer, n, inner), the
// scanned axis in the middle; y[o, j, i] = x[o, 0, i] + ... + x[o, j, i]
// (reverse: x[o, j, i] + ... + x[o, n - 1, i]), added in that order into a
// double, as PyTorch's CPU cumsum accumulates floats, so that float32 sums
// are PyTorch's bit for bit and the two devices agree exactly.
#pragma once

#include <cstdint>

namespace minigrad::ops {

struct ScanShape {
  int64_t outer, n, inner;
};

}  // namespace minigrad::ops
