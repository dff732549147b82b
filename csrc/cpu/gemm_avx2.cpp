// AVX2 + FMA instantiation of the blocked GEMM (compiled with -mavx2 -mfma;
// called only when cpu_features() reports AVX2 and FMA). Tiles 6 x 16 floats /
// 6 x 8 doubles: 12 accumulators + 2 B vectors + 1 broadcast of 16 ymm registers.
// Blocks for 32 KiB L1d / 512 KiB L2 per core: the KC x NR sliver of B (16 KiB)
// stays in L1, the MC x KC block of A (144 KiB floats) in L2.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace minigrad::cpu::gemm_detail {
namespace {
struct Avx2Float {
  using T = float;
  using V = __m256;
  static constexpr int64_t W = 8, MR = 6, NV = 2, MC = 144, KC = 256, NC = 4080;
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
  static constexpr int64_t W = 4, MR = 6, NV = 2, MC = 72, KC = 256, NC = 2040;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
};
}  // namespace

void gemm_avx2(const GemmArgs<float>& args) { Blocked<Avx2Float>::run(args); }
void gemm_avx2(const GemmArgs<double>& args) { Blocked<Avx2Double>::run(args); }
}  // namespace minigrad::cpu::gemm_detail
