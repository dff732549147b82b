// Layer normalisation on the device of x viewed as (rows, cols): the CUDA twin
// of csrc/cpu/layer_norm.h (shape from csrc/ops/, same contract: each row
// normalised over its cols with the biased variance; backward overwrites dx
// and, when not null, dweight/dbias). Statistics accumulate in double, one
// thread block per row. Device pointers; weight/bias null mean 1/0.
#pragma once

#include <cstdint>

#include "../csrc/ops/layer_norm.h"

namespace minigrad::cuda {
using ops::LayerNormShape;

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* save_mean, T* save_invstd,
                        const LayerNormShape& shape, double eps);
template <typename T>
void layer_norm_backward(const T* dy, const T* x, const T* weight, const T* save_mean, const T* save_invstd, T* dx,
                         T* dweight, T* dbias, const LayerNormShape& shape);
}  // namespace minigrad::cuda
