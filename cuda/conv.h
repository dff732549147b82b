// 2-D convolution (cross-correlation, as PyTorch) on the device, NCHW, forward
// and backward: the contract of csrc/ops/conv.h, x (N, C_in, H, W),
// weight (C_out, C_in / groups, KH, KW), y (N, C_out, OH, OW). im2col + the
// tiled GEMM (cuda/gemm.h), col2im for dx; a 1x1 / stride-1 / unpadded conv
// skips im2col. Every reduction (dx, dweight, dbias) runs in a fixed order:
// deterministic. Device pointers, default stream; shapes checked by the caller.
// Backward overwrites its outputs. Plain C++ header.
#pragma once

#include <cstdint>

#include "../csrc/ops/conv.h"

namespace minigrad::cuda {

using ops::Conv2dShape;

// y = conv(x, weight) + bias; bias may be null.
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y);

// Gradients of conv2d_forward given dy; a null dx / dweight / dbias is not computed.
template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* dy, const T* x, const T* weight, T* dx, T* dweight, T* dbias);

}  // namespace minigrad::cuda
