// AVX2 + FMA instantiation of the direct convolution kernels (compiled with
// -mavx2 -mfma; called only when cpu_features() reports AVX2 and FMA, also on
// AVX-512 CPUs, where these kernels are not the bottleneck of any layer they
// are chosen for).
#include "cpu/conv_direct.h"
#include "cpu/simd_avx2.h"

namespace minigrad::cpu::conv_detail {
static_assert(kAvx2Lanes<float> == simd::Avx2Float::W && kAvx2Lanes<double> == simd::Avx2Double::W);

void correlate_avx2(const Correlation<float>& c) { Direct<simd::Avx2Float>::correlate(c); }
void correlate_avx2(const Correlation<double>& c) { Direct<simd::Avx2Double>::correlate(c); }
void weight_gradient_avx2(const WeightGradient<float>& g) { Direct<simd::Avx2Float>::weight_gradient(g); }
void weight_gradient_avx2(const WeightGradient<double>& g) { Direct<simd::Avx2Double>::weight_gradient(g); }
void broadcast_gemm_avx2(const BroadcastGemm<float>& g) { Direct<simd::Avx2Float>::broadcast_gemm(g); }
void broadcast_gemm_avx2(const BroadcastGemm<double>& g) { Direct<simd::Avx2Double>::broadcast_gemm(g); }
void depthwise_avx2(const DepthwiseTaps<float>& a, const float* weight, float* out) {
  Direct<simd::Avx2Float>::depthwise(a, weight, out);
}
void depthwise_avx2(const DepthwiseTaps<double>& a, const double* weight, double* out) {
  Direct<simd::Avx2Double>::depthwise(a, weight, out);
}
void depthwise_weight_grad_avx2(const DepthwiseTaps<float>& a, const float* dy, float* weight) {
  Direct<simd::Avx2Float>::depthwise_weight_grad(a, dy, weight);
}
void depthwise_weight_grad_avx2(const DepthwiseTaps<double>& a, const double* dy, double* weight) {
  Direct<simd::Avx2Double>::depthwise_weight_grad(a, dy, weight);
}
namespace {
// rows[j] = column j of the 8 x 8 matrix whose row i is rows[i].
inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5, __m256& r6,
                       __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}
}  // namespace

void interleave_lanes_avx2(const float* src, int64_t src_stride, int64_t lanes, int64_t n, float* dst) {
  int64_t p = 0;
  if (lanes == 8)
    for (; p + 8 <= n; p += 8) {
      const float* s = src + p;
      __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + src_stride), r2 = _mm256_loadu_ps(s + 2 * src_stride),
             r3 = _mm256_loadu_ps(s + 3 * src_stride), r4 = _mm256_loadu_ps(s + 4 * src_stride),
             r5 = _mm256_loadu_ps(s + 5 * src_stride), r6 = _mm256_loadu_ps(s + 6 * src_stride),
             r7 = _mm256_loadu_ps(s + 7 * src_stride);
      transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
      float* d = dst + p * 8;
      _mm256_storeu_ps(d, r0);
      _mm256_storeu_ps(d + 8, r1);
      _mm256_storeu_ps(d + 16, r2);
      _mm256_storeu_ps(d + 24, r3);
      _mm256_storeu_ps(d + 32, r4);
      _mm256_storeu_ps(d + 40, r5);
      _mm256_storeu_ps(d + 48, r6);
      _mm256_storeu_ps(d + 56, r7);
    }
  for (; p < n; ++p)
    for (int64_t l = 0; l < 8; ++l) dst[p * 8 + l] = l < lanes ? src[l * src_stride + p] : 0.0f;
}

void deinterleave_lanes_avx2(const float* src, int64_t n, int64_t lanes, float* dst, int64_t dst_stride,
                             const float* add) {
  int64_t p = 0;
  if (lanes == 8)
    for (; p + 8 <= n; p += 8) {
      const float* s = src + p * 8;
      __m256 r[8] = {_mm256_loadu_ps(s),      _mm256_loadu_ps(s + 8),  _mm256_loadu_ps(s + 16),
                     _mm256_loadu_ps(s + 24), _mm256_loadu_ps(s + 32), _mm256_loadu_ps(s + 40),
                     _mm256_loadu_ps(s + 48), _mm256_loadu_ps(s + 56)};
      transpose8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
      for (int64_t l = 0; l < 8; ++l)  // without add the values are copied (adding 0 turns -0 into +0)
        _mm256_storeu_ps(dst + l * dst_stride + p, add != nullptr ? _mm256_add_ps(r[l], _mm256_set1_ps(add[l])) : r[l]);
    }
  for (; p < n; ++p)
    for (int64_t l = 0; l < lanes; ++l)
      dst[l * dst_stride + p] = add != nullptr ? src[p * 8 + l] + add[l] : src[p * 8 + l];
}

void depthwise_scatter_avx2(const DepthwiseTaps<float>& a, const float* weight, const float* dy, float* src) {
  Direct<simd::Avx2Float>::depthwise_scatter(a, weight, dy, src);
}
void depthwise_scatter_avx2(const DepthwiseTaps<double>& a, const double* weight, const double* dy, double* src) {
  Direct<simd::Avx2Double>::depthwise_scatter(a, weight, dy, src);
}
}  // namespace minigrad::cpu::conv_detail

#include "cpu/conv_winograd.h"

namespace minigrad::cpu::conv_detail {
void winograd_input_row_avx2(const float* rows, int64_t half, int64_t tiles, float* v, int64_t stride) {
  winograd_input_row(rows, half, tiles, v, stride);
}
void winograd_input_row_avx2(const double* rows, int64_t half, int64_t tiles, double* v, int64_t stride) {
  winograd_input_row(rows, half, tiles, v, stride);
}
void winograd_output_tiles_avx2(const float* m, int64_t stride, int64_t count, float* q, int64_t q_stride) {
  winograd_output_tiles(m, stride, count, q, q_stride);
}
void winograd_output_tiles_avx2(const double* m, int64_t stride, int64_t count, double* q, int64_t q_stride) {
  winograd_output_tiles(m, stride, count, q, q_stride);
}
void winograd_output_grad_row_avx2(const float* rows, int64_t half, int64_t tiles, float* y, int64_t stride) {
  winograd_output_grad_row(rows, half, tiles, y, stride);
}
void winograd_output_grad_row_avx2(const double* rows, int64_t half, int64_t tiles, double* y, int64_t stride) {
  winograd_output_grad_row(rows, half, tiles, y, stride);
}
}  // namespace minigrad::cpu::conv_detail
