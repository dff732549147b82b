// Included by every cuda/*.cu file: the CUDA runtime (or, in the test-only
// MINIGRAD_CUDA=EMULATE build, the SIMT emulator in emulation/simt.h), the
// launch and shared-memory macros kernels must use so that both builds
// compile the same source, error checks, and grid-stride helpers.
#pragma once

#include <cstdint>

#include "memory.h"
#include "runtime.h"

#if defined(__CUDACC__)
#include <cuda_runtime.h>
// MG_LAUNCH(grid, block, smem_bytes, stream, kernel)(args...): the kernel comes
// last so template arguments with commas survive the macro.
#define MG_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<(grid), (block), (smem), (stream)>>>
// MG_SHARED(float, tile, [32][33]) declares `__shared__ float tile[32][33]`.
#define MG_SHARED(type, name, dims) __shared__ type name dims
// MG_DYNAMIC_SHARED(float, buf): buf points at the launch's dynamic shared memory (16-byte aligned).
#define MG_DYNAMIC_SHARED(type, name)                                   \
  extern __shared__ __align__(16) unsigned char mg_dynamic_shared_[]; \
  type* name = reinterpret_cast<type*>(mg_dynamic_shared_)
#else
#include "emulation/simt.h"
#define MG_LAUNCH(grid, block, smem, stream, ...) \
  ::minigrad::simt::make_launcher(#__VA_ARGS__, (grid), (block), (smem), (stream), __VA_ARGS__)
#define MG_SHARED(type, name, dims) \
  static char name##_mg_key_;       \
  type(&name) dims = *static_cast<type(*) dims>(::minigrad::simt::static_shared(&name##_mg_key_, sizeof(type dims)))
#define MG_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::minigrad::simt::dynamic_shared())
#endif

namespace minigrad::cuda {

// Throws CudaError (OutOfMemory for allocation failures) carrying CUDA's message.
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* what);
inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw_cuda_error(err, what);
}
// After a launch: a bad configuration shows now, a failing kernel at the next synchronising call.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

// Grid-stride loops: `for (int64_t i = global_thread(); i < n; i += grid_threads())`.
__device__ __forceinline__ int64_t global_thread() { return int64_t{blockIdx.x} * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_threads() { return int64_t{blockDim.x} * gridDim.x; }

// Blocks for a grid-stride loop over n >= 1 elements: enough to fill the device, no more.
inline unsigned blocks_for(int64_t n, int threads) {
  const int64_t wanted = (n + threads - 1) / threads;
  const int64_t cap = int64_t{32} * multiprocessor_count();
  return static_cast<unsigned>(wanted < cap ? wanted : cap);
}

}  // namespace minigrad::cuda
