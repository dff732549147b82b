// AVX-512 vector operations shared by the kernels compiled for that
// instruction set (gemm_avx512.cpp, conv_avx512.cpp, built with
// -mavx512f/dq/vl/bw and called only when cpu_features() reports them). Each
// file adds its own register tile (MR rows x NV vectors) to these. In an
// unnamed namespace, as every template instantiated on these types must stay
// private to its file (see gemm_kernels.h).
#pragma once

#ifndef __AVX512F__
#error "simd_avx512.h is for files compiled with -mavx512f"
#endif

#include <immintrin.h>

#include <cstdint>

namespace minigrad::cpu::simd {
namespace {
struct Avx512FloatOps {
  using T = float;
  using V = __m512;
  static constexpr int64_t W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
};

struct Avx512DoubleOps {
  using T = double;
  using V = __m512d;
  static constexpr int64_t W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
};
}  // namespace
}  // namespace minigrad::cpu::simd
