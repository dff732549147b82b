#include "reduce.h"

#include "common.cuh"

namespace minigrad::cuda {
namespace {
constexpr int kMaxThreads = 256;

template <typename T>
__device__ __forceinline__ bool is_nan(T v) {
  return v != v;  // never true for integers
}

// Whether (v, i) beats (w, j) for max (greater) or min (!greater): nan wins, then the
// extreme value, then the smaller index.
template <typename T>
__device__ __forceinline__ bool beats(bool greater, T v, int64_t i, T w, int64_t j) {
  if (j < 0) return i >= 0;  // j < 0: no candidate yet
  if (i < 0) return false;
  if (is_nan(v) || is_nan(w)) return is_nan(v) && (!is_nan(w) || i < j);
  if (v == w) return i < j;
  return greater ? v > w : v < w;
}

// One block per output (block-stride over outputs); threads stride over the
// reduced axis, then a shared-memory tree (blockDim.x is a power of two).
template <typename T>
__global__ void reduce_kernel(ReduceOp op, const T* __restrict__ x, T* __restrict__ values,
                              int64_t* __restrict__ indices, int64_t outer, int64_t len, int64_t inner) {
  MG_SHARED(T, shared_v, [kMaxThreads]);
  MG_SHARED(int64_t, shared_i, [kMaxThreads]);
  const bool is_sum = op == ReduceOp::sum;
  const bool greater = op == ReduceOp::max || op == ReduceOp::argmax;
  const unsigned t = threadIdx.x;
  for (int64_t out = blockIdx.x; out < outer * inner; out += gridDim.x) {
    const T* base = x + (out / inner) * len * inner + out % inner;
    T v = T(0);
    int64_t vi = -1;
    for (int64_t r = t; r < len; r += blockDim.x) {
      const T w = base[r * inner];
      if (is_sum) v += w;
      else if (beats(greater, w, r, v, vi)) v = w, vi = r;
    }
    shared_v[t] = v;
    shared_i[t] = vi;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
      if (t < half) {
        const T w = shared_v[t + half];
        const int64_t wi = shared_i[t + half];
        if (is_sum) shared_v[t] += w;
        else if (beats(greater, w, wi, shared_v[t], shared_i[t])) shared_v[t] = w, shared_i[t] = wi;
      }
      __syncthreads();
    }
    if (t == 0) {
      if (op == ReduceOp::argmax || op == ReduceOp::argmin) indices[out] = shared_i[0];
      else values[out] = shared_v[0];
    }
    __syncthreads();  // shared memory is reused by the next output
  }
}
}  // namespace

template <typename T>
void reduce(ReduceOp op, const T* x, T* values, int64_t* indices, int64_t outer, int64_t len, int64_t inner) {
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  int threads = 32;  // a power of two covering len, at most kMaxThreads
  while (threads < kMaxThreads && threads < len) threads *= 2;
  const int64_t cap = int64_t{64} * multiprocessor_count();
  const auto blocks = static_cast<unsigned>(outputs < cap ? outputs : cap);
  MG_LAUNCH(blocks, threads, 0, nullptr, reduce_kernel<T>)(op, x, values, indices, outer, len, inner);
  check_launch("reduce kernel");
}

template void reduce<float>(ReduceOp, const float*, float*, int64_t*, int64_t, int64_t, int64_t);
template void reduce<double>(ReduceOp, const double*, double*, int64_t*, int64_t, int64_t, int64_t);
template void reduce<int64_t>(ReduceOp, const int64_t*, int64_t*, int64_t*, int64_t, int64_t, int64_t);
}  // namespace minigrad::cuda
