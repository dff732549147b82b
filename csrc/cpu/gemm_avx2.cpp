// AVX2 + FMA instantiation of the blocked GEMM (compiled with -mavx2 -mfma;
// called only when cpu_features() reports AVX2 and FMA): the vector traits and
// tile of cpu/simd_avx2.h plus the cache blocks.
#include "cpu/gemm_kernels.h"
#include "cpu/simd_avx2.h"

namespace minigrad::cpu::gemm_detail {
namespace {
// Blocks for 32 KiB L1d / 512 KiB L2 per core: the KC x NR sliver of B (16 KiB)
// stays in L1, the MC x KC block of A (144 KiB floats) in L2. Slices of up to
// KC_MAX (an 18 KiB sliver) where that saves one: on Zen 3, 1 thread, the 3x3
// convolutions with K = 576 and 2304 (64 -> 128 stride 2 at 56x56, 256 -> 512
// stride 2 at 14x14, batch 8) ran 2-3% faster (11.4-12.0 -> 11.3-11.5 ms,
// 11.5-11.7 -> 11.1-11.4 ms).
struct Avx2Float : simd::Avx2Float {
  static constexpr int64_t MC = 144, KC = 256, KC_MAX = 288, NC = 4080, DR = 3, DC = 4;
};
struct Avx2Double : simd::Avx2Double {
  static constexpr int64_t MC = 72, KC = 256, KC_MAX = 288, NC = 2040, DR = 3, DC = 4;
};
}  // namespace

void gemm_avx2(const GemmArgs<float>& args) { Blocked<Avx2Float>::run(args); }
void gemm_avx2(const GemmArgs<double>& args) { Blocked<Avx2Double>::run(args); }
FmaRun register_fmas_avx2(int threads, int64_t rounds) { return register_fmas<Avx2Float>(threads, rounds); }
}  // namespace minigrad::cpu::gemm_detail
