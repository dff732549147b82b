// Running sums along one axis (torch.cumsum and its backward, the sum from
// the end): csrc/ops/scan.h's contract, float and double.
#pragma once

#include "ops/scan.h"

namespace minigrad::cpu {

template <typename T>
void cumsum(const ops::ScanShape& s, const T* x, T* y, bool reverse);

}  // namespace minigrad::cpu
