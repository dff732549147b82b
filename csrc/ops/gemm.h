// The batched GEMM contract both devices implement (csrc/cpu/gemm.h,
// cuda/gemm.h): `count` independent products, product i on A + i * stride_a,
// B + i * stride_b and C + i * stride_c (a stride of 0 shares A or B; never C).
#pragma once

#include <cstdint>

namespace minigrad::ops {
struct GemmBatch {
  int64_t count = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
};
}  // namespace minigrad::ops
