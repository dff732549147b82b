// AVX-512 instantiation of the blocked GEMM (compiled with -mavx512f/dq/vl/bw;
// called only when cpu_features() reports them). Only these traits are
// AVX-512-specific; every line of blocking, packing and edge handling is the
// template the AVX2 and portable paths run. Tiles 12 x 32 floats / 12 x 16
// doubles: 24 accumulators + 2 B vectors + 1 broadcast of 32 zmm registers.
// KC 384 (was 192): on a 2-core Zen 4, 1 thread, float32 square GEMMs at
// N = 1024 / 2048 / 4096 ran 4-6% faster (96 -> 100, 95 -> 102, 93 -> 98
// GFLOP/s; 2 threads +4-6% too), N <= 512 alike; float64 +5% at N >= 1024.
// The fewer K slices halve the passes over C. The B sliver (48 KiB) then
// exceeds L1, which costs nothing while A is packed (see kInPlaceKC).
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace minigrad::cpu::gemm_detail {
namespace {
struct Avx512Float {
  using T = float;
  using V = __m512;
  static constexpr int64_t W = 16, MR = 12, NV = 2, MC = 144, KC = 384, NC = 3072;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
};

struct Avx512Double {
  using T = double;
  using V = __m512d;
  static constexpr int64_t W = 8, MR = 12, NV = 2, MC = 72, KC = 384, NC = 2048;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
};
}  // namespace

void gemm_avx512(const GemmArgs<float>& args) { Blocked<Avx512Float>::run(args); }
void gemm_avx512(const GemmArgs<double>& args) { Blocked<Avx512Double>::run(args); }
FmaRun register_fmas_avx512(int threads, int64_t rounds) { return register_fmas<Avx512Float>(threads, rounds); }
}  // namespace minigrad::cpu::gemm_detail
