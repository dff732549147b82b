// Running sums on the device: the CUDA twin of csrc/cpu/scan.h, the same
// contract (csrc/ops/scan.h), so both devices give the same sums bit for bit.
// Device pointers; float and double.
#pragma once

#include "../csrc/ops/scan.h"

namespace minigrad::cuda {

template <typename T>
void cumsum(const ops::ScanShape& s, const T* x, T* y, bool reverse);

}  // namespace minigrad::cuda
