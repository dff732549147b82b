// Warp and block sums for kernels (include after common.cuh). Correct for any
// block size, including ones that are not a multiple of 32: shuffles only ever
// read lanes that exist (the emulator checks this).
#pragma once

#include "common.cuh"

namespace minigrad::cuda {

// Sum of v over the `lanes` first lanes of the calling warp (all of them call
// it); the result is valid in lane 0.
template <typename T>
__device__ __forceinline__ T warp_sum(T v, unsigned lanes) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned mask = lanes >= 32 ? 0xffffffffu : (1u << lanes) - 1u;
  for (unsigned offset = 16; offset > 0; offset /= 2) {
    const bool has_partner = lane + offset < lanes;
    const T other = __shfl_sync(mask, v, static_cast<int>(has_partner ? lane + offset : lane));
    if (has_partner) v += other;
  }
  return v;
}

// Sum of v over the block (1-D blocks); every thread of the block must call
// it, and every thread gets the result. Uses 32 elements of shared memory.
template <typename T>
__device__ T block_sum(T v) {
  MG_SHARED(T, warp_sums, [32]);
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const unsigned warps = (blockDim.x + 31) / 32;
  const unsigned lanes = blockDim.x - warp * 32 < 32 ? blockDim.x - warp * 32 : 32;  // the last warp may be partial
  v = warp_sum(v, lanes);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  T total = T(0);
  for (unsigned w = lane; w < warps; w += lanes) total += warp_sums[w];
  total = warp_sum(total, lanes);
  total = __shfl_sync(lanes >= 32 ? 0xffffffffu : (1u << lanes) - 1u, total, 0);
  __syncthreads();  // warp_sums may be reused by the next call
  return total;
}

// Row kernels (one block per row, blocks stepping over the rows): threads per
// block, enough warps to cover a row of `cols`, at most kMaxRowThreads.
constexpr int kMaxRowThreads = 256;
inline int row_threads(int64_t cols) {
  const int64_t warps = (cols + 31) / 32;
  return static_cast<int>(warps * 32 < kMaxRowThreads ? warps * 32 : kMaxRowThreads);
}

// Launches kernel(args...) as a row kernel over rows x cols (nothing when empty).
template <typename Kernel, typename... Args>
void launch_rows(const char* name, Kernel kernel, int64_t rows, int64_t cols, Args... args) {
  if (rows == 0 || cols == 0) return;
  MG_LAUNCH(blocks_for(rows, 1), row_threads(cols), 0, nullptr, kernel)(args...);
  check_launch(name);
}

}  // namespace minigrad::cuda
