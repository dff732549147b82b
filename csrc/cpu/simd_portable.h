// Portable vector traits on the compiler's generic 16-byte vectors (SSE2 on
// x86-64, NEON on ARM), for CPUs without AVX2 and for MINIGRAD_SIMD=generic:
// register tile 4 x 8 floats / 4 x 4 doubles, 8 accumulators. Same interface
// as simd_avx2.h; compiled for the baseline instruction set.
#pragma once

#include <cstdint>

namespace minigrad::cpu::simd {
namespace {
template <typename Scalar>
struct Portable {
  using T = Scalar;
  typedef T V __attribute__((vector_size(16)));
  static constexpr int64_t W = 16 / sizeof(T), MR = 4, NV = 2;
  static V zero() { return V{}; }
  static V set1(T x) { return V{} + x; }
  static V load(const T* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(T* p, V v) { __builtin_memcpy(p, &v, sizeof v); }
  static V bcast(const T* p) { return V{} + *p; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V mul(V a, V b) { return a * b; }
  static void store_first(T* p, V v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) p[i] = v[i];
  }
  static V load_first(const T* p, int64_t n) {
    V v{};
    for (int64_t i = 0; i < n; ++i) v[i] = p[i];
    return v;
  }
  static T reduce_add(V v) {
    T sum = 0;
    for (int64_t i = 0; i < W; ++i) sum += v[i];
    return sum;
  }
  static void transpose(V (&r)[W]) {
    V t[W];
    for (int64_t i = 0; i < W; ++i)
      for (int64_t j = 0; j < W; ++j) t[i][j] = r[j][i];
    for (int64_t i = 0; i < W; ++i) r[i] = t[i];
  }
};
}  // namespace
}  // namespace minigrad::cpu::simd
