// AVX2 + FMA vector traits shared by the kernels compiled for that instruction
// set (gemm_avx2.cpp, conv_avx2.cpp, built with -mavx2 -mfma and called only
// when cpu_features() reports AVX2 and FMA). The register tile MR x NV vectors:
// 6 x 16 floats / 6 x 8 doubles, 12 accumulators + 2 loaded vectors + 1
// broadcast of the 16 ymm registers. In an unnamed namespace, as every
// template instantiated on these types must stay private to its file (see
// gemm_kernels.h).
#pragma once

#ifndef __AVX2__
#error "simd_avx2.h is for files compiled with -mavx2 -mfma"
#endif

#include <immintrin.h>

#include <cstdint>

namespace minigrad::cpu::simd {
namespace {
struct Avx2Float {
  using T = float;
  using V = __m256;
  static constexpr int64_t W = 8, MR = 6, NV = 2;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
};

struct Avx2Double {
  using T = double;
  using V = __m256d;
  static constexpr int64_t W = 4, MR = 6, NV = 2;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
};
}  // namespace
}  // namespace minigrad::cpu::simd
