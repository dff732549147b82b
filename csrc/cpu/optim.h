// Fused in-place optimizer updates: one pass over a parameter and its state
// buffers (all n elements, same layout), following the single-tensor update
// rules of torch/optim/<name>.py exactly. `grad` is read only. Buffers that a
// configuration does not use may be null. Hyper-parameters are plain doubles;
// per-step scalars (bias corrections, decayed lr) are formed in double, then
// the elementwise arithmetic runs in T, as PyTorch does for its tensors.
#pragma once

#include <cstdint>

#include "ops/optim.h"

namespace minigrad::cpu {

using ops::AdadeltaOptions;
using ops::AdagradOptions;
using ops::AdamOptions;
using ops::RmspropOptions;
using ops::SgdOptions;

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SgdOptions& o);

// AMSGrad when max_exp_avg_sq is not null.
template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const AdamOptions& o);

// Centered when grad_avg is not null; momentum_buffer is used when momentum > 0.
template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n,
                  const RmspropOptions& o);

template <typename T>
void adagrad_step(T* param, const T* grad, T* state_sum, int64_t n, const AdagradOptions& o);

template <typename T>
void adadelta_step(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n, const AdadeltaOptions& o);

}  // namespace minigrad::cpu
