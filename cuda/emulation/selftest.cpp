#include "selftest.h"

#include <stdexcept>

#include "../common.cuh"
#include "../reduce.cuh"

namespace minigrad::simt::selftest {
namespace {
using cuda::check;
using cuda::check_launch;

template <typename T>
__global__ void block_sum_kernel(const T* x, T* out, int64_t n) {
  T v = T(0);
  for (int64_t i = cuda::global_thread(); i < n; i += cuda::grid_threads()) v += x[i];
  v = cuda::block_sum(v);
  if (threadIdx.x == 0) atomicAdd(out, v);
}

__global__ void shared_tree_sum_kernel(const float* x, float* out, bool with_barrier) {
  MG_SHARED(float, s, [1024]);
  s[threadIdx.x] = x[threadIdx.x];
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {  // blockDim.x a power of two
    if (with_barrier) __syncthreads();
    if (threadIdx.x < stride) s[threadIdx.x] += s[threadIdx.x + stride];
  }
  if (threadIdx.x == 0) *out = s[0];
}

__global__ void missing_barrier_kernel(float* out) {
  if (threadIdx.x == 0) return;  // thread 0 never reaches the barrier
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

__global__ void divergent_barrier_kernel(float* out) {
  if (threadIdx.x % 2 == 0) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1.0f;
}

__global__ void shuffle_exited_lane_kernel(float* out) {
  if (threadIdx.x % 32 == 5) return;
  out[threadIdx.x] = __shfl_sync(0xffffffffu, 1.0f, 5);
}

__global__ void shuffle_outside_mask_kernel(float* out) {
  if (threadIdx.x % 32 == 5) {  // alive, but not taking part in the shuffle
    __syncwarp(1u << 5);
    return;
  }
  out[threadIdx.x] = __shfl_sync(~(1u << 5), 1.0f, 5);
}

// The classic full-warp reduction: wrong when the block size is not a multiple of 32.
__global__ void shuffle_partial_warp_kernel(float* out) {
  float v = 1.0f;
  for (unsigned offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  out[threadIdx.x] = v;
}

__global__ void mask_without_self_kernel(float* out) {
  out[threadIdx.x] = __ballot_sync(1u, 1) ? 1.0f : 0.0f;  // lanes other than 0 are not in their mask
}

struct DeviceScratch {  // a few device floats for the broken kernels to write
  explicit DeviceScratch(size_t n) { check(cudaMalloc(&ptr, n * sizeof(float)), "cudaMalloc"); }
  ~DeviceScratch() { cudaFree(ptr); }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  float* ptr = nullptr;
};
}  // namespace

template <typename T>
T block_sum(const T* x, int64_t n, int threads, int blocks) {
  T* out = static_cast<T*>(cuda::device_malloc(sizeof(T)));
  T result{};
  try {
    check(cudaMemset(out, 0, sizeof(T)), "cudaMemset");
    MG_LAUNCH(blocks, threads, 0, nullptr, block_sum_kernel<T>)(x, out, n);
    check_launch("block_sum_kernel");
    check(cudaMemcpy(&result, out, sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy");
  } catch (...) {
    cuda::device_free(out);
    throw;
  }
  cuda::device_free(out);
  return result;
}
template float block_sum<float>(const float*, int64_t, int, int);
template double block_sum<double>(const double*, int64_t, int, int);

float shared_tree_sum(const float* x, int threads, bool with_barrier) {
  DeviceScratch out(1);
  MG_LAUNCH(1, threads, 0, nullptr, shared_tree_sum_kernel)(x, out.ptr, with_barrier);
  check_launch("shared_tree_sum_kernel");
  float result = 0;
  check(cudaMemcpy(&result, out.ptr, sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
  return result;
}

void run_broken(const std::string& name, int threads) {
  DeviceScratch out(static_cast<size_t>(threads));
  if (name == "missing_barrier") {
    MG_LAUNCH(1, threads, 0, nullptr, missing_barrier_kernel)(out.ptr);
  } else if (name == "divergent_barrier") {
    MG_LAUNCH(1, threads, 0, nullptr, divergent_barrier_kernel)(out.ptr);
  } else if (name == "shuffle_exited_lane") {
    MG_LAUNCH(1, threads, 0, nullptr, shuffle_exited_lane_kernel)(out.ptr);
  } else if (name == "shuffle_outside_mask") {
    MG_LAUNCH(1, threads, 0, nullptr, shuffle_outside_mask_kernel)(out.ptr);
  } else if (name == "shuffle_partial_warp") {
    MG_LAUNCH(1, threads, 0, nullptr, shuffle_partial_warp_kernel)(out.ptr);
  } else if (name == "mask_without_self") {
    MG_LAUNCH(1, threads, 0, nullptr, mask_without_self_kernel)(out.ptr);
  } else {
    throw std::invalid_argument("unknown broken kernel '" + name + "'");
  }
  check_launch(name.c_str());
}
}  // namespace minigrad::simt::selftest
