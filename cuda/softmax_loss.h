// Softmax, log-softmax and the fused cross-entropy (log-softmax + NLL) on the
// device, over the last axis of row-major data viewed as (rows, cols), with the
// semantics of csrc/cpu/softmax_loss.h (numerically stable: each row is shifted
// by its maximum). Device pointers, default stream; rows, cols >= 1 (N may be 0
// for cross-entropy). Backward kernels overwrite their output. Plain C++ header.
#pragma once

#include <cstdint>

#include "../csrc/ops/softmax_loss.h"

namespace minigrad::cuda {

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
// From the forward output y: dx = y * (dy - sum(dy * y))  /  dx = dy - exp(y) * sum(dy).
template <typename T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols);
template <typename T>
void log_softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols);

using ops::CrossEntropyOptions;
using ops::Reduction;

// As cpu::cross_entropy_forward / backward, with the options of
// csrc/ops/softmax_loss.h; options.kept must be set. The targets are checked
// on the host before.
// Writes log_probs (N, C) and loss: N values for Reduction::none, else one
// (the sum is taken in a fixed order: deterministic).
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* target, T* log_probs, T* loss, int64_t N, int64_t C,
                           const CrossEntropyOptions& options);

// dlogits = (softmax - smoothed one-hot) * scale, scale = grad_loss[0] (sum),
// grad_loss[0] / kept (mean) or grad_loss[i] (none); ignored rows get 0.
template <typename T>
void cross_entropy_backward(const T* log_probs, const int64_t* target, const T* grad_loss, T* dlogits, int64_t N,
                            int64_t C, const CrossEntropyOptions& options);

}  // namespace minigrad::cuda
