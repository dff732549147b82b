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
