// The batched GEMM contract both devices implement (csrc/cpu/gemm.h,
// cuda/gemm.h): `count` independent products, product i on A + offset_a(i),
// B + offset_b(i) and C + i * stride_c (a stride of 0 shares A or B; never C).
#pragma once

#include <cstdint>

#include "host_device.h"

namespace minigrad::ops {
struct GemmBatch {
  int64_t count = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  // Two batch axes (operands viewed as (B1, B2, rows, cols), whose axes need
  // not merge: attention's permuted (N, heads, L, d) heads): products come in
  // groups of `group` (B2), and A / B move by group_stride_a / _b from one
  // group to the next, by stride_a / _b within one. 0: one batch axis.
  int64_t group = 0, group_stride_a = 0, group_stride_b = 0;

  MINIGRAD_HOST_DEVICE int64_t offset_a(int64_t i) const {
    return group ? i / group * group_stride_a + i % group * stride_a : i * stride_a;
  }
  MINIGRAD_HOST_DEVICE int64_t offset_b(int64_t i) const {
    return group ? i / group * group_stride_b + i % group * stride_b : i * stride_b;
  }
};
}  // namespace minigrad::ops
