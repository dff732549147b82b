// Layer normalisation of x viewed as (rows, cols): each row normalised over
// its own cols. A row's sums run in vectors of T added into double every 1024
// elements; threads take whole rows (and fixed slices of rows for the weight
// and bias gradients), so results do not depend on the thread count. Outputs
// are overwritten.
#pragma once

#include <cstdint>

#include "ops/layer_norm.h"

namespace minigrad::cpu {

using ops::LayerNormShape;

// y = (x - mean) * invstd * weight + bias per row, with the row's mean and
// invstd = 1/sqrt(biased var + eps) written to save_mean/save_invstd (rows,);
// weight/bias (cols,), null meaning 1/0.
template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* save_mean, T* save_invstd,
                        const LayerNormShape& shape, double eps);

// dx through the row statistics; dweight/dbias (cols,), written when not null
// (both or neither): the sums over rows of dy * xhat and of dy. weight null means 1.
template <typename T>
void layer_norm_backward(const T* dy, const T* x, const T* weight, const T* save_mean, const T* save_invstd, T* dx,
                         T* dweight, T* dbias, const LayerNormShape& shape);

}  // namespace minigrad::cpu
