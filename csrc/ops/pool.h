// The pooling contract: the geometry that csrc/cpu/pool.h and cuda/pool.h both
// implement (2-D max and average pooling, NCHW, PyTorch's semantics), and the
// average-pooling window and divisor both devices compute with. The binding
// (csrc/bindings/pool.cpp) checks the arguments and fills them in; kernels
// trust them.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace minigrad::ops {

struct Pool2dShape {
  int64_t planes;  // N * C: every plane is pooled on its own
  int64_t in_h, in_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int64_t out_h, out_w;  // window_output_size(...), >= 1
};

// What average pooling divides each window's sum by.
struct AvgPool2dOptions {
  // Count the padding inside the window (but never the part of a ceil-mode
  // window beyond the right padding), else only the input elements.
  bool count_include_pad = true;
  // When not 0: the divisor of every window instead (PyTorch's divisor_override;
  // the binding refuses 0 and turns None into 0).
  int64_t divisor_override = 0;
};

// An average-pooling window along one axis: the input positions [first, last)
// it covers, and its length counting padding (PyTorch clips a ceil-mode window
// at the end of the right padding).
struct AvgWindow {
  int64_t first, last, padded_length;
};

// The window of output position o along an axis of length in.
MINIGRAD_HOST_DEVICE inline AvgWindow avg_window(int64_t o, int64_t in, int64_t kernel, int64_t stride,
                                                 int64_t pad) {
  const int64_t start = o * stride - pad;
  const int64_t end = start + kernel < in + pad ? start + kernel : in + pad;
  return {start > 0 ? start : 0, end < in ? end : in, end - start};
}

// The divisor of the window h x w. 0 only for a window without input elements
// (impossible with padding <= kernel / 2): its output is 0, as PyTorch's.
MINIGRAD_HOST_DEVICE inline int64_t avg_divisor(const AvgPool2dOptions& o, const AvgWindow& h, const AvgWindow& w) {
  if (o.divisor_override != 0) return o.divisor_override;
  return o.count_include_pad ? h.padded_length * w.padded_length : (h.last - h.first) * (w.last - w.first);
}

}  // namespace minigrad::ops
