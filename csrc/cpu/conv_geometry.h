// Sliding-window arithmetic shared by conv and pool (kernels and bindings).
#pragma once

#include <algorithm>
#include <cstdint>

namespace minigrad::cpu {

// a / b rounded toward negative infinity (b > 0).
inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// a / b rounded toward positive infinity (b > 0).
inline int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// Number of window positions along one axis, exactly as PyTorch computes it
// (pooling_output_shape; conv is the floor-mode case). In ceil mode the last
// window must start inside the input or its left padding. The result is <= 0
// when not even one window fits.
inline int64_t window_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding,
                                  int64_t dilation, bool ceil_mode) {
  const int64_t span = input + 2 * padding - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = floor_div(span, stride) + 1;
  if (ceil_mode && out > 0 && (out - 1) * stride >= input + padding) --out;
  return out;
}

// The output positions o in [0, out_size) whose tap o * stride + offset lands
// inside [0, in_size): [first, last) (empty when first == last).
struct Range {
  int64_t first, last;
};
inline Range inside_range(int64_t out_size, int64_t in_size, int64_t stride, int64_t offset) {
  const int64_t first = std::min(out_size, offset >= 0 ? int64_t{0} : ceil_div(-offset, stride));
  const int64_t last = std::min(out_size, std::max(int64_t{0}, ceil_div(in_size - offset, stride)));
  return {first, std::max(first, last)};
}

}  // namespace minigrad::cpu
