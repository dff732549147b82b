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
// Shuffles and extracts go through their masked forms with every lane set:
// GCC 12's plain forms pass _mm512_undefined_*(), which it reports as used
// uninitialised at -O1 (the sanitizer builds). The same instructions result.
struct Avx512FloatOps {
  using T = float;
  static constexpr __mmask16 kAll = 0xFFFF;
  using V = __m512;
  static constexpr int64_t W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  // p[0, n) = the first n lanes of v (n <= W).
  static void store_first(T* p, V v, int64_t n) { _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), v); }
  // p[0, n) in the first n lanes, zero in the others; reads nothing past p[n - 1].
  static V load_first(const T* p, int64_t n) { return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p); }
  static T reduce_add(V v) {
    const __m256 half = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, v, 0),  //
                                      _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
    const __m128 quarter = _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
    const __m128 two = _mm_add_ps(quarter, _mm_movehl_ps(quarter, quarter));
    return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
  }
  // r[i] lane j <- r[j] lane i: unpacks within 128-bit lanes, then two rounds of lane shuffles.
  static void transpose(V (&r)[W]) {
    V t[W];
    for (int i = 0; i < W; i += 2) {
      t[i] = _mm512_mask_unpacklo_ps(r[i], kAll, r[i], r[i + 1]);
      t[i + 1] = _mm512_mask_unpackhi_ps(r[i], kAll, r[i], r[i + 1]);
    }
    // r[4i + j], 128-bit lane l: element 4l + j of rows 4i .. 4i + 3.
    for (int i = 0; i < W; i += 4) {
      r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; ++j) {
      const V even_lo = _mm512_mask_shuffle_f32x4(r[j], kAll, r[j], r[4 + j], 0x88);
      const V odd_lo = _mm512_mask_shuffle_f32x4(r[j], kAll, r[j], r[4 + j], 0xDD);
      const V even_hi = _mm512_mask_shuffle_f32x4(r[8 + j], kAll, r[8 + j], r[12 + j], 0x88);
      const V odd_hi = _mm512_mask_shuffle_f32x4(r[8 + j], kAll, r[8 + j], r[12 + j], 0xDD);
      t[j] = _mm512_mask_shuffle_f32x4(even_lo, kAll, even_lo, even_hi, 0x88);
      t[8 + j] = _mm512_mask_shuffle_f32x4(even_lo, kAll, even_lo, even_hi, 0xDD);
      t[4 + j] = _mm512_mask_shuffle_f32x4(odd_lo, kAll, odd_lo, odd_hi, 0x88);
      t[12 + j] = _mm512_mask_shuffle_f32x4(odd_lo, kAll, odd_lo, odd_hi, 0xDD);
    }
    for (int i = 0; i < W; ++i) r[i] = t[i];
  }
};

struct Avx512DoubleOps {
  using T = double;
  static constexpr __mmask8 kAll = 0xFF;
  using V = __m512d;
  static constexpr int64_t W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static void store_first(T* p, V v, int64_t n) { _mm512_mask_storeu_pd(p, __mmask8((1u << n) - 1), v); }
  static V load_first(const T* p, int64_t n) { return _mm512_maskz_loadu_pd(__mmask8((1u << n) - 1), p); }
  static T reduce_add(V v) {
    const __m256d half = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, v, 0),  //
                                       _mm512_maskz_extractf64x4_pd(0xF, v, 1));
    const __m128d quarter = _mm_add_pd(_mm256_castpd256_pd128(half), _mm256_extractf128_pd(half, 1));
    return _mm_cvtsd_f64(_mm_add_sd(quarter, _mm_unpackhi_pd(quarter, quarter)));
  }
  static void transpose(V (&r)[W]) {
    V t[W];
    // t[2i + p], 128-bit lane l: element 2l + p of rows 2i, 2i + 1.
    for (int i = 0; i < W; i += 2) {
      t[i] = _mm512_mask_unpacklo_pd(r[i], kAll, r[i], r[i + 1]);
      t[i + 1] = _mm512_mask_unpackhi_pd(r[i], kAll, r[i], r[i + 1]);
    }
    for (int p = 0; p < 2; ++p) {
      const V even_lo = _mm512_mask_shuffle_f64x2(t[p], kAll, t[p], t[2 + p], 0x88);
      const V odd_lo = _mm512_mask_shuffle_f64x2(t[p], kAll, t[p], t[2 + p], 0xDD);
      const V even_hi = _mm512_mask_shuffle_f64x2(t[4 + p], kAll, t[4 + p], t[6 + p], 0x88);
      const V odd_hi = _mm512_mask_shuffle_f64x2(t[4 + p], kAll, t[4 + p], t[6 + p], 0xDD);
      r[p] = _mm512_mask_shuffle_f64x2(even_lo, kAll, even_lo, even_hi, 0x88);
      r[4 + p] = _mm512_mask_shuffle_f64x2(even_lo, kAll, even_lo, even_hi, 0xDD);
      r[2 + p] = _mm512_mask_shuffle_f64x2(odd_lo, kAll, odd_lo, odd_hi, 0x88);
      r[6 + p] = _mm512_mask_shuffle_f64x2(odd_lo, kAll, odd_lo, odd_hi, 0xDD);
    }
  }
};
}  // namespace
}  // namespace minigrad::cpu::simd
