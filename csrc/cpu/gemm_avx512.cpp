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
#include "cpu/gemm_kernels.h"
#include "cpu/simd_avx512.h"

namespace minigrad::cpu::gemm_detail {
namespace {
struct Avx512Float : simd::Avx512FloatOps {
  static constexpr int64_t MR = 12, NV = 2, MC = 144, KC = 384, KC_MAX = 384, NC = 3072, DR = 4, DC = 6;
};

struct Avx512Double : simd::Avx512DoubleOps {
  static constexpr int64_t MR = 12, NV = 2, MC = 72, KC = 384, KC_MAX = 384, NC = 2048, DR = 4, DC = 6;
};
}  // namespace

void gemm_avx512(const GemmArgs<float>& args) { Blocked<Avx512Float>::run(args); }
void gemm_avx512(const GemmArgs<double>& args) { Blocked<Avx512Double>::run(args); }
FmaRun register_fmas_avx512(int threads, int64_t rounds) { return register_fmas<Avx512Float>(threads, rounds); }
}  // namespace minigrad::cpu::gemm_detail
