// The convolution contract: the geometry that csrc/cpu/conv.h and cuda/conv.h
// both implement (2-D cross-correlation, as PyTorch, NCHW). The binding
// (csrc/bindings/conv.cpp) checks the arguments and fills it in; kernels trust it.
#pragma once

#include <cstdint>

namespace minigrad::ops {

// x (batch, in_channels, in_h, in_w), weight (out_channels, in_channels / groups,
// kernel_h, kernel_w), y (batch, out_channels, out_h, out_w).
struct Conv2dShape {
  int64_t batch, in_channels, in_h, in_w;
  int64_t out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int64_t groups;
  int64_t out_h, out_w;  // window_output_size(..., ceil_mode=false), >= 1
};

}  // namespace minigrad::ops
