// The pooling contract: the geometry that csrc/cpu/pool.h and cuda/pool.h both
// implement (2-D max and average pooling, NCHW, PyTorch's semantics). The
// binding (csrc/bindings/pool.cpp) checks the arguments and fills it in;
// kernels trust it.
#pragma once

#include <cstdint>

namespace minigrad::ops {

struct Pool2dShape {
  int64_t planes;  // N * C: every plane is pooled on its own
  int64_t in_h, in_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int64_t out_h, out_w;  // window_output_size(...), >= 1
};

}  // namespace minigrad::ops
