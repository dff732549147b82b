// What the running CPU supports, read once at run time (never assumed at build time).
#pragma once

#include <cstdint>

namespace minigrad::cpu {
struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA3
  bool avx512f = false;   // AVX-512 Foundation (+ DQ/VL/BW, which the AVX-512 kernels also use)
  // One core's L2 (the OS's figure; 512 KiB where it gives none): sizes the
  // blocks that must stay in L2.
  int64_t l2_bytes = 512 * 1024;
};
const CpuFeatures& cpu_features();
// "avx512", "avx2" or "generic": the SIMD level the kernels use on this CPU.
const char* simd_level();
}  // namespace minigrad::cpu
