// 2-D convolution (cross-correlation, as PyTorch), NCHW, forward and backward.
// x (N, C_in, H, W), weight (C_out, C_in / groups, KH, KW), y (N, C_out, OH, OW).
// Shapes are checked by the caller (the binding); kernels trust them.
// Backward overwrites its outputs (fresh gradients), never accumulates.
#pragma once

#include <cstdint>

#include "ops/conv.h"

namespace minigrad::cpu {

using ops::Conv2dShape;

// y = conv(x, weight) + bias; bias may be null.
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y);

// Gradients of conv2d_forward given dy; a null dx / dweight / dbias is not computed.
template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* dy, const T* x, const T* weight, T* dx, T* dweight, T* dbias);

}  // namespace minigrad::cpu
