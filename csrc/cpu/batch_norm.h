// Batch normalisation over axis 1 of x viewed as (N, C, inner), inner being
// the product of the spatial sizes (1 for (N, C)). Statistics are computed in
// double, one channel per loop iteration (threads over channels), so results
// do not depend on the thread count. Backward overwrites its outputs.
#pragma once

#include <cstdint>

#include "ops/batch_norm.h"

namespace minigrad::cpu {

using ops::BatchNormShape;

// Training: save_mean/save_invstd = batch mean and 1/sqrt(biased var + eps);
// when running_mean/running_var are not null (both or neither) they become
// (1 - momentum) * running + momentum * batch (unbiased var). Needs N * inner >= 2.
// y = (x - mean) * invstd * weight + bias; weight/bias null mean 1/0.
template <typename T>
void batch_norm_forward_training(const T* x, const T* weight, const T* bias, T* running_mean, T* running_var, T* y,
                                 T* save_mean, T* save_invstd, const BatchNormShape& shape, double momentum,
                                 double eps);

// Eval: normalises with the running statistics and writes their mean and
// 1/sqrt(var + eps) to save_mean/save_invstd.
template <typename T>
void batch_norm_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean, const T* running_var,
                             T* y, T* save_mean, T* save_invstd, const BatchNormShape& shape, double eps);

// training: the full gradient through the batch statistics; otherwise the
// affine map's gradient dx = dy * weight * save_invstd. dweight/dbias are
// written when not null (sum of dy * xhat and of dy per channel); weight null means 1.
template <typename T>
void batch_norm_backward(const T* dy, const T* x, const T* weight, const T* save_mean, const T* save_invstd, T* dx,
                         T* dweight, T* dbias, const BatchNormShape& shape, bool training);

}  // namespace minigrad::cpu
