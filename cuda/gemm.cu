// Tiled GEMM: each block computes a 64 x 64 tile of C from 16-deep slices of
// op(A) and op(B) staged in shared memory; each of its 256 threads keeps a 4 x 4
// block of C in registers. Tiles are loaded as runs of 4 consecutive elements
// along each matrix's contiguous axis (one 16-byte vector load when aligned),
// so both transposes read memory coalesced; out-of-range elements load as 0.
#include "gemm.h"

#include <cstdint>

#include "common.cuh"

namespace minigrad::cuda {
namespace {

constexpr int kTile = 64;                    // rows and columns of C per block
constexpr int kDepth = 16;                   // K per shared-memory slice
constexpr int kThreads = 256;                // 16 x 16 threads, 4 x 4 outputs each
constexpr int kPad = 4;                      // keeps rows 16-byte aligned, staggers banks
constexpr int kGridLimit = 65535;            // gridDim.y / gridDim.z limit
constexpr int kSide = kTile / 4;             // threads along each side of the tile

__device__ __forceinline__ void load4(const float* p, float (&v)[4]) {
  const float4 f = *reinterpret_cast<const float4*>(p);
  v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
}
__device__ __forceinline__ void load4(const double* p, double (&v)[4]) {
  const double2 a = reinterpret_cast<const double2*>(p)[0], b = reinterpret_cast<const double2*>(p)[1];
  v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
}

// v = S[row, col .. col + 3] of a rows x cols matrix with row stride ld, 0 outside it.
// `vec`: S and ld keep every run that starts at a multiple of 4 16-byte aligned.
template <typename T>
__device__ __forceinline__ void load_run(const T* S, int64_t ld, int64_t rows, int64_t cols, int64_t row,
                                         int64_t col, bool vec, T (&v)[4]) {
  if (vec && row < rows && col + 3 < cols) {
    load4(S + row * ld + col, v);
    return;
  }
  for (int q = 0; q < 4; ++q) v[q] = row < rows && col + q < cols ? S[row * ld + col + q] : T(0);
}

// tile[k][i] = op(S)[mn0 + i, k0 + k] for the kDepth x kTile slice (op(A) rows, or
// op(B) columns). S is stored with k contiguous (extent_mn x K) when k_contiguous,
// else K x extent_mn.
template <typename T>
__device__ __forceinline__ void load_tile(T (&tile)[kDepth][kTile + kPad], const T* S, int64_t ld,
                                          int64_t extent_mn, int64_t K, int64_t mn0, int64_t k0,
                                          bool k_contiguous, bool vec) {
  const int t = threadIdx.x;
  T v[4];
  if (k_contiguous) {
    const int i = t / (kDepth / 4), k = (t % (kDepth / 4)) * 4;
    load_run(S, ld, extent_mn, K, mn0 + i, k0 + k, vec, v);
    for (int q = 0; q < 4; ++q) tile[k + q][i] = v[q];
  } else {
    const int k = t / (kTile / 4), i = (t % (kTile / 4)) * 4;
    load_run(S, ld, K, extent_mn, k0 + k, mn0 + i, vec, v);
    for (int q = 0; q < 4; ++q) tile[k][i + q] = v[q];
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    gemm_kernel(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* __restrict__ A,
                int64_t lda, const T* __restrict__ B, int64_t ldb, T beta, T* __restrict__ C, int64_t ldc,
                GemmBatch batch, const T* __restrict__ bias, bool vec_a, bool vec_b) {
  static_assert(kThreads == kSide * kSide && kThreads * 4 == kTile * kDepth, "one 4-run per thread per slice");
  MG_SHARED(T, a_tile, [kDepth][kTile + kPad]);
  MG_SHARED(T, b_tile, [kDepth][kTile + kPad]);
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
  const int64_t n0 = int64_t{blockIdx.x} * kTile;
  const int64_t m_tiles = (M + kTile - 1) / kTile;
  // Loops (uniform per block) cover batches and row tiles beyond the grid limits.
  for (int64_t b = blockIdx.z; b < batch.count; b += gridDim.z) {
    const T* a = A + batch.offset_a(b);
    const T* bm = B + batch.offset_b(b);
    T* c = C + b * batch.stride_c;
    for (int64_t mt = blockIdx.y; mt < m_tiles; mt += gridDim.y) {
      const int64_t m0 = mt * kTile;
      T acc[4][4] = {};
      for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
        load_tile(a_tile, a, lda, M, K, m0, k0, !trans_a, vec_a);
        load_tile(b_tile, bm, ldb, N, K, n0, k0, trans_b, vec_b);
        __syncthreads();
        for (int k = 0; k < kDepth; ++k) {
          T av[4], bv[4];
          // Strided ownership (ty + 16 i): a warp reads 2 broadcast a-values and 16 consecutive b-values.
          for (int i = 0; i < 4; ++i) av[i] = a_tile[k][ty + kSide * i];
          for (int j = 0; j < 4; ++j) bv[j] = b_tile[k][tx + kSide * j];
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();
      }
      for (int i = 0; i < 4; ++i) {
        const int64_t m = m0 + ty + kSide * i;
        if (m >= M) break;
        for (int j = 0; j < 4; ++j) {
          const int64_t n = n0 + tx + kSide * j;
          if (n >= N) break;
          T* out = c + m * ldc + n;
          const T value = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *out;
          *out = bias != nullptr ? value + bias[n] : value;  // no zero added without a bias: -0 stays -0
        }
      }
    }
  }
}

// C = beta * C (0 when beta == 0, without reading C) + bias: the product when alpha == 0 or K == 0.
template <typename T>
__global__ void scale_kernel(int64_t M, int64_t N, T beta, T* __restrict__ C, int64_t ldc, GemmBatch batch,
                             const T* __restrict__ bias) {
  const int64_t per_batch = M * N;
  for (int64_t i = global_thread(); i < batch.count * per_batch; i += grid_threads()) {
    const int64_t b = i / per_batch, m = (i % per_batch) / N, n = i % N;
    T* out = C + b * batch.stride_c + m * ldc + n;
    const T scaled = beta == T(0) ? T(0) : beta * *out;
    *out = bias != nullptr ? scaled + bias[n] : scaled;
  }
}

template <typename T>
bool vector_loads_ok(const T* p, int64_t ld, int64_t stride, int64_t group_stride) {
  constexpr int64_t kVector = 16;
  const int64_t bytes = static_cast<int64_t>(sizeof(T));
  return reinterpret_cast<uintptr_t>(p) % kVector == 0 && (ld * bytes) % kVector == 0 &&
         (stride * bytes) % kVector == 0 && (group_stride * bytes) % kVector == 0;
}

unsigned grid_dim(int64_t n) { return static_cast<unsigned>(n < kGridLimit ? n : kGridLimit); }

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const GemmBatch& batch, const T* bias) {
  if (M == 0 || N == 0 || batch.count == 0) return;
  if (alpha == T(0) || K == 0) {
    constexpr int threads = 256;
    MG_LAUNCH(blocks_for(batch.count * M * N, threads), threads, 0, nullptr, scale_kernel<T>)(M, N, beta, C, ldc,
                                                                                               batch, bias);
    check_launch("gemm scale kernel");
    return;
  }
  const dim3 grid(static_cast<unsigned>((N + kTile - 1) / kTile), grid_dim((M + kTile - 1) / kTile),
                  grid_dim(batch.count));
  MG_LAUNCH(grid, kThreads, 0, nullptr, gemm_kernel<T>)(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C,
                                                        ldc, batch, bias,
                                                        vector_loads_ok(A, lda, batch.stride_a, batch.group_stride_a),
                                                        vector_loads_ok(B, ldb, batch.stride_b, batch.group_stride_b));
  check_launch("gemm kernel");
}

#define MG_INSTANTIATE(T)                                                                                  \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*, \
                        int64_t, const GemmBatch&, const T*);
MG_INSTANTIATE(float)
MG_INSTANTIATE(double)
#undef MG_INSTANTIATE

}  // namespace minigrad::cuda
