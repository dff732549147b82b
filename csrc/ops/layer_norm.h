// The layer-norm contract that csrc/cpu/layer_norm.h and cuda/layer_norm.h
// both implement: x viewed as (rows, cols), each row normalised over its cols
// (the product of the normalised trailing dimensions).
#pragma once

#include <cstdint>

namespace minigrad::ops {

struct LayerNormShape {
  int64_t rows, cols;
};

}  // namespace minigrad::ops
