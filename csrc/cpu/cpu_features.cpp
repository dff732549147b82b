#include "cpu/cpu_features.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace minigrad::cpu {
namespace {
CpuFeatures detect() {
  CpuFeatures f;
#if defined(MINIGRAD_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512f = f.avx2_fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#endif
#ifdef _SC_LEVEL2_CACHE_SIZE  // glibc
  if (const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE); l2 > 0) f.l2_bytes = l2;
#endif
  // MINIGRAD_SIMD=avx2|generic caps the level, to test the other paths on one machine.
  if (const char* cap = std::getenv("MINIGRAD_SIMD")) {
    if (std::strcmp(cap, "avx2") == 0) f.avx512f = false;
    if (std::strcmp(cap, "generic") == 0) f.avx2_fma = f.avx512f = false;
  }
  return f;
}
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

const char* simd_level() {
  const auto& f = cpu_features();
  return f.avx512f ? "avx512" : f.avx2_fma ? "avx2" : "generic";
}
}  // namespace minigrad::cpu
