// Fused in-place optimizer updates on the device: the CUDA twins of
// csrc/cpu/optim.h, with the option structs of csrc/ops/optim.h and the same
// update rules (csrc/ops/optim_rules.h: PyTorch's single-tensor rules; per-step
// scalars formed in double on the host, elementwise arithmetic in T). Device pointers, n elements each; null
// for unused buffers as on the CPU. One kernel launch per call.
#pragma once

#include <cstdint>

#include "../csrc/ops/optim.h"

namespace minigrad::cuda {
using ops::AdadeltaOptions;
using ops::AdagradOptions;
using ops::AdamOptions;
using ops::RmspropOptions;
using ops::SgdOptions;

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SgdOptions& o);
template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const AdamOptions& o);
template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n,
                  const RmspropOptions& o);
template <typename T>
void adagrad_step(T* param, const T* grad, T* state_sum, int64_t n, const AdagradOptions& o);
template <typename T>
void adadelta_step(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n, const AdadeltaOptions& o);
}  // namespace minigrad::cuda
