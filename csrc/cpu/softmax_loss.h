// Softmax, log-softmax and the fused cross-entropy (log-softmax + NLL), over
// the last axis of row-major data viewed as (rows, cols). Numerically stable:
// every row is shifted by its maximum before exp. Backward kernels overwrite
// their output. Sums are accumulated in double.
#pragma once

#include <cstdint>

#include "ops/softmax_loss.h"

namespace minigrad::cpu {

// y = softmax(x) / log_softmax(x) along each row.
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

// Writes log_probs (N, C) and loss: N values for Reduction::none, else one.
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* target, T* log_probs, T* loss, int64_t N, int64_t C,
                           const CrossEntropyOptions& options);

// dlogits = (softmax - smoothed one-hot) * scale, with scale = grad_loss[0] (sum),
// grad_loss[0] / rows kept (mean) or grad_loss[i] (none); ignored rows get 0.
template <typename T>
void cross_entropy_backward(const T* log_probs, const int64_t* target, const T* grad_loss, T* dlogits, int64_t N,
                            int64_t C, const CrossEntropyOptions& options);

}  // namespace minigrad::cpu
