// The batch-norm contract that csrc/cpu/batch_norm.h and cuda/batch_norm.h
// both implement: x viewed as (N, C, inner) over axis 1.
#pragma once

#include <cstdint>

namespace minigrad::ops {

// inner: the product of the sizes after axis 1 (1 for (N, C)).
struct BatchNormShape {
  int64_t N, C, inner;
};

}  // namespace minigrad::ops
