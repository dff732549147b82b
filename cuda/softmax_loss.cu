// Row-wise softmax family: one block per row (blocks step over the rows), the
// block's threads stride over the columns and combine with block reductions,
// so any row length works with any block size.
#include "softmax_loss.h"

#include <math.h>

#include "common.cuh"
#include "reduce.cuh"
#include "scratch.h"

namespace minigrad::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float exp_of(float x) { return expf(x); }
__device__ __forceinline__ double exp_of(double x) { return exp(x); }
__device__ __forceinline__ float log_of(float x) { return logf(x); }
__device__ __forceinline__ double log_of(double x) { return log(x); }

// Larger of the two, ignoring a NaN candidate (as cpu's row_max: x > m ? x : m).
template <typename T>
__device__ __forceinline__ T max_of(T m, T x) {
  return x > m ? x : m;
}

// Maximum over the `lanes` first lanes of the warp, valid in lane 0 (the pattern of reduce.cuh's warp_sum).
template <typename T>
__device__ __forceinline__ T warp_max(T v, unsigned lanes) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned mask = lanes >= 32 ? 0xffffffffu : (1u << lanes) - 1u;
  for (unsigned offset = 16; offset > 0; offset /= 2) {
    const bool has_partner = lane + offset < lanes;
    const T other = __shfl_sync(mask, v, static_cast<int>(has_partner ? lane + offset : lane));
    if (has_partner) v = max_of(v, other);
  }
  return v;
}

// Maximum over the block (1-D), returned to every thread; every thread must call it.
// (reduce.cuh has only sums; this mirrors its block_sum.)
template <typename T>
__device__ T block_max(T v) {
  MG_SHARED(T, warp_maxima, [32]);
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const unsigned warps = (blockDim.x + 31) / 32;
  const unsigned lanes = blockDim.x - warp * 32 < 32 ? blockDim.x - warp * 32 : 32;
  v = warp_max(v, lanes);
  if (lane == 0) warp_maxima[warp] = v;
  __syncthreads();
  T m = -INFINITY;
  for (unsigned w = lane; w < warps; w += lanes) m = max_of(m, warp_maxima[w]);
  m = warp_max(m, lanes);
  m = __shfl_sync(lanes >= 32 ? 0xffffffffu : (1u << lanes) - 1u, m, 0);
  __syncthreads();
  return m;
}

// The row's maximum and sum of exp(x - max), in every thread of the block.
template <typename T>
__device__ void row_max_and_sum(const T* x, int64_t cols, T& m, T& sum) {
  m = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = max_of(m, x[j]);
  m = block_max(m);
  T s = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += exp_of(x[j] - m);
  sum = block_sum(s);
}

// y = log_softmax(x) for one row; returns sum_j y[j] to every thread.
template <typename T>
__device__ T log_softmax_row(const T* x, T* y, int64_t cols) {
  T m, sum;
  row_max_and_sum(x, cols, m, sum);
  const T lse = log_of(sum);
  T sum_y = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    // (x - m) - lse, not x - (m + lse): m + lse would round away lse next to a large m.
    y[j] = (x[j] - m) - lse;
    sum_y += y[j];
  }
  return block_sum(sum_y);
}

template <typename T>
__global__ void softmax_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xi = x + r * cols;
    T* yi = y + r * cols;
    T m, sum;
    row_max_and_sum(xi, cols, m, sum);
    const T inv = T(1) / sum;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yi[j] = exp_of(xi[j] - m) * inv;
  }
}

template <typename T>
__global__ void log_softmax_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) log_softmax_row(x + r * cols, y + r * cols, cols);
}

template <typename T>
__global__ void softmax_backward_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                        int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t o = r * cols;
    T dot = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dot += dy[o + j] * y[o + j];
    dot = block_sum(dot);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

template <typename T>
__global__ void log_softmax_backward_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                            int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t o = r * cols;
    T sum = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += dy[o + j];
    sum = block_sum(sum);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dx[o + j] = dy[o + j] - exp_of(y[o + j]) * sum;
  }
}

// log_probs and each row's loss: (1 - ls) * -log_probs[t] + ls / C * sum_j -log_probs[j], 0 when ignored.
template <typename T>
__global__ void cross_entropy_rows_kernel(const T* __restrict__ logits, const int64_t* __restrict__ target,
                                          T* __restrict__ log_probs, T* __restrict__ row_loss, int64_t N, int64_t C,
                                          T label_smoothing, int64_t ignore_index) {
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    T* lp = log_probs + r * C;
    const T sum_lp = log_softmax_row(logits + r * C, lp, C);
    if (threadIdx.x == 0) {
      const int64_t t = target[r];
      row_loss[r] = t == ignore_index ? T(0)
                                      : -(T(1) - label_smoothing) * lp[t] - label_smoothing / T(C) * sum_lp;
    }
  }
}

// loss[0] = sum of the N row losses (divided by `kept` for the mean), by one block in a fixed order.
template <typename T>
__global__ void sum_rows_kernel(const T* __restrict__ row_loss, T* __restrict__ loss, int64_t N, bool mean,
                                int64_t kept) {
  T s = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) s += row_loss[i];
  s = block_sum(s);
  if (threadIdx.x == 0) loss[0] = mean ? s / T(kept) : s;
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* __restrict__ log_probs, const int64_t* __restrict__ target,
                                              const T* __restrict__ grad_loss, T* __restrict__ dlogits, int64_t N,
                                              int64_t C, bool per_row, T mean_scale, T off_target, T on_target,
                                              int64_t ignore_index) {
  for (int64_t i = global_thread(); i < N * C; i += grid_threads()) {
    const int64_t r = i / C, j = i % C, t = target[r];
    if (t == ignore_index) {
      dlogits[i] = T(0);
      continue;
    }
    const T scale = per_row ? grad_loss[r] : grad_loss[0] * mean_scale;
    dlogits[i] = (exp_of(log_probs[i]) - (j == t ? on_target : off_target)) * scale;
  }
}

}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  launch_rows("softmax kernel", softmax_kernel<T>, rows, cols, x, y, rows, cols);
}

template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  launch_rows("log_softmax kernel", log_softmax_kernel<T>, rows, cols, x, y, rows, cols);
}

template <typename T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols) {
  launch_rows("softmax_backward kernel", softmax_backward_kernel<T>, rows, cols, y, dy, dx, rows, cols);
}

template <typename T>
void log_softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols) {
  launch_rows("log_softmax_backward kernel", log_softmax_backward_kernel<T>, rows, cols, y, dy, dx, rows, cols);
}

template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* target, T* log_probs, T* loss, int64_t N, int64_t C,
                           const CrossEntropyOptions& options) {
  const bool per_row = options.reduction == Reduction::none;
  DeviceArray row_losses = scratch<T>(per_row ? 0 : N);
  T* row_loss = per_row ? loss : static_cast<T*>(row_losses.data());
  launch_rows("cross_entropy_forward kernel", cross_entropy_rows_kernel<T>, N, C, logits, target, log_probs,
                 row_loss, N, C, static_cast<T>(options.label_smoothing), options.ignore_index);
  if (per_row) return;
  MG_LAUNCH(1, kThreads, 0, nullptr, sum_rows_kernel<T>)(row_loss, loss, N, options.reduction == Reduction::mean,
                                                         options.kept);
  check_launch("cross_entropy_forward sum kernel");
}

template <typename T>
void cross_entropy_backward(const T* log_probs, const int64_t* target, const T* grad_loss, T* dlogits, int64_t N,
                            int64_t C, const CrossEntropyOptions& options) {
  if (N == 0) return;
  const double mean_scale = options.reduction == Reduction::mean ? 1.0 / static_cast<double>(options.kept) : 1.0;
  const T off_target = static_cast<T>(options.label_smoothing / static_cast<double>(C));
  const T on_target = static_cast<T>(1 - options.label_smoothing) + off_target;
  MG_LAUNCH(blocks_for(N * C, kThreads), kThreads, 0, nullptr, cross_entropy_backward_kernel<T>)(
      log_probs, target, grad_loss, dlogits, N, C, options.reduction == Reduction::none,
      static_cast<T>(mean_scale), off_target, on_target, options.ignore_index);
  check_launch("cross_entropy_backward kernel");
}

#define MG_INSTANTIATE(T)                                                                           \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t);                                 \
  template void log_softmax_forward<T>(const T*, T*, int64_t, int64_t);                             \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);                      \
  template void log_softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);                  \
  template void cross_entropy_forward<T>(const T*, const int64_t*, T*, T*, int64_t, int64_t,        \
                                         const CrossEntropyOptions&);                               \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, T*, int64_t, int64_t, \
                                          const CrossEntropyOptions&);
MG_INSTANTIATE(float)
MG_INSTANTIATE(double)
#undef MG_INSTANTIATE

}  // namespace minigrad::cuda
