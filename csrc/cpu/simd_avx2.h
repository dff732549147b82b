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
  // p[0, n) = the first n lanes of v (n <= W).
  static __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static void store_first(T* p, V v, int64_t n) { _mm256_maskstore_ps(p, first_lanes(n), v); }
  // p[0, n) in the first n lanes, zero in the others; reads nothing past p[n - 1].
  static V load_first(const T* p, int64_t n) { return _mm256_maskload_ps(p, first_lanes(n)); }
  static T reduce_add(V v) {
    const __m128 pairs = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 two = _mm_add_ps(pairs, _mm_movehl_ps(pairs, pairs));
    return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
  }
  // r[i] lane j <- r[j] lane i: unpacks and shuffles within 128-bit lanes, then a lane exchange.
  static void transpose(V (&r)[W]) {
    V t[W];
    for (int i = 0; i < W; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    // r[4i + j], 128-bit lane l: element 4l + j of rows 4i .. 4i + 3.
    for (int i = 0; i < W; i += 4) {
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; ++j) {
      t[j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x20);
      t[4 + j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x31);
    }
    for (int i = 0; i < W; ++i) r[i] = t[i];
  }
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
  static __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static void store_first(T* p, V v, int64_t n) { _mm256_maskstore_pd(p, first_lanes(n), v); }
  static V load_first(const T* p, int64_t n) { return _mm256_maskload_pd(p, first_lanes(n)); }
  static T reduce_add(V v) {
    const __m128d pairs = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(pairs, _mm_unpackhi_pd(pairs, pairs)));
  }
  static void transpose(V (&r)[W]) {
    const V lo01 = _mm256_unpacklo_pd(r[0], r[1]), hi01 = _mm256_unpackhi_pd(r[0], r[1]);
    const V lo23 = _mm256_unpacklo_pd(r[2], r[3]), hi23 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(lo01, lo23, 0x20);
    r[1] = _mm256_permute2f128_pd(hi01, hi23, 0x20);
    r[2] = _mm256_permute2f128_pd(lo01, lo23, 0x31);
    r[3] = _mm256_permute2f128_pd(hi01, hi23, 0x31);
  }
};
}  // namespace
}  // namespace minigrad::cpu::simd
