// Batch normalisation on the device over axis 1 of x viewed as (N, C, inner):
// the CUDA twin of csrc/cpu/batch_norm.h (shape from csrc/ops/, same contract:
// training uses the batch statistics and updates running_mean/running_var when
// not null, unbiased variance; eval uses the running statistics; backward
// overwrites dx and, when not null, dweight/dbias). Statistics accumulate in
// double, one thread block per channel. Device pointers; weight/bias null mean 1/0.
#pragma once

#include <cstdint>

#include "../csrc/ops/batch_norm.h"

namespace minigrad::cuda {
using ops::BatchNormShape;

template <typename T>
void batch_norm_forward_training(const T* x, const T* weight, const T* bias, T* running_mean, T* running_var, T* y,
                                 T* save_mean, T* save_invstd, const BatchNormShape& shape, double momentum,
                                 double eps);
template <typename T>
void batch_norm_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean, const T* running_var,
                             T* y, T* save_mean, T* save_invstd, const BatchNormShape& shape, double eps);
template <typename T>
void batch_norm_backward(const T* dy, const T* x, const T* weight, const T* save_mean, const T* save_invstd, T* dx,
                         T* dweight, T* dbias, const BatchNormShape& shape, bool training);
}  // namespace minigrad::cuda
