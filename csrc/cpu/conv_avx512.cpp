// AVX-512 instantiation of the direct convolution's broadcast GEMM, for float
// (compiled with -mavx512f/dq/vl/bw; called only when cpu_features() reports
// them and the columns fill whole 16-lane vectors, see wide_broadcast_tile in
// conv.cpp). Tiles of 9 rows x 3 vectors (48 channels): 27 accumulators + 3
// B vectors + 1 broadcast of 32 zmm registers. Per 16 output channels a tap
// loads a third of the B and broadcast operands AVX2's 6 x 16 tile does.
// Measured on a 2-core Zen 4 (AVX-512 at the 256-bit rate), 1 thread, ms
// forward, 3x3 stride 2, 32 -> 64 from 16x16, batch 128, with tiles 6 x 16
// (AVX2) / 12 x 32 / 6 x 64 / 8 x 48 / 9 x 48 / 14 x 32: 3.10 / 2.78 / 2.71 /
// 2.68 / 2.69 / 2.74; 48 -> 96 from 28x28, batch 32, through the GEMM path
// then: 5.96, 4.67 (6 x 64), 4.64 (8 x 48), 4.62 (9 x 48), 4.73 (14 x 32); the
// backward passes alike, 9 x 48 best or within 1%.
#include "cpu/conv_direct.h"
#include "cpu/simd_avx512.h"

namespace minigrad::cpu::conv_detail {
namespace {
struct BroadcastFloat : simd::Avx512FloatOps {
  static constexpr int64_t MR = 9, NV = 3;
};
}  // namespace

void broadcast_gemm_avx512(const BroadcastGemm<float>& g) { Direct<BroadcastFloat>::broadcast_gemm(g); }
}  // namespace minigrad::cpu::conv_detail
