#include "batch_norm.h"

#include <cmath>

#include "common.cuh"
#include "reduce.cuh"
#include "scratch.h"

namespace minigrad::cuda {
namespace {
constexpr int kThreads = 256;

// Element r of channel c, r in [0, N * inner).
__device__ __forceinline__ int64_t at(const BatchNormShape& s, int64_t c, int64_t r) {
  return ((r / s.inner) * s.C + c) * s.inner + r % s.inner;
}

// Training statistics, one block per channel (block-stride over channels): two
// passes (mean, then squared deviations) in double.
template <typename T>
__global__ void batch_stats_kernel(const T* __restrict__ x, T* __restrict__ running_mean, T* __restrict__ running_var,
                                   T* __restrict__ save_mean, T* __restrict__ save_invstd, BatchNormShape s,
                                   double momentum, double eps) {
  const int64_t m = s.N * s.inner;
  for (int64_t c = blockIdx.x; c < s.C; c += gridDim.x) {
    double sum = 0;
    for (int64_t r = threadIdx.x; r < m; r += blockDim.x) sum += static_cast<double>(x[at(s, c, r)]);
    const double mean = block_sum(sum) / static_cast<double>(m);
    double sq = 0;
    for (int64_t r = threadIdx.x; r < m; r += blockDim.x) {
      const double d = static_cast<double>(x[at(s, c, r)]) - mean;
      sq += d * d;
    }
    const double var_sum = block_sum(sq);
    if (threadIdx.x == 0) {
      save_mean[c] = static_cast<T>(mean);
      save_invstd[c] = static_cast<T>(1.0 / sqrt(var_sum / static_cast<double>(m) + eps));
      if (running_mean) {
        running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean);
        running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * var_sum / static_cast<double>(m - 1));
      }
    }
  }
}

template <typename T>
__global__ void running_stats_kernel(const T* __restrict__ running_mean, const T* __restrict__ running_var,
                                     T* __restrict__ save_mean, T* __restrict__ save_invstd, int64_t C, double eps) {
  for (int64_t c = global_thread(); c < C; c += grid_threads()) {
    save_mean[c] = running_mean[c];
    save_invstd[c] = static_cast<T>(1.0 / sqrt(static_cast<double>(running_var[c]) + eps));
  }
}

// y = (x - mean) * invstd * weight + bias, elementwise.
template <typename T>
__global__ void normalize_kernel(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
                                 const T* __restrict__ mean, const T* __restrict__ invstd, T* __restrict__ y,
                                 BatchNormShape s, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const int64_t c = (i / s.inner) % s.C;
    const T w = weight ? weight[c] : T(1), b = bias ? bias[c] : T(0);
    y[i] = (x[i] - mean[c]) * invstd[c] * w + b;
  }
}

// Per channel: sum of dy and of dy * xhat (double), kept for dx, and dweight/dbias.
template <typename T>
__global__ void grad_sums_kernel(const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ mean,
                                 const T* __restrict__ invstd, double* __restrict__ sum_dy,
                                 double* __restrict__ sum_dy_xhat, T* __restrict__ dweight, T* __restrict__ dbias,
                                 BatchNormShape s) {
  const int64_t m = s.N * s.inner;
  for (int64_t c = blockIdx.x; c < s.C; c += gridDim.x) {
    const double mu = static_cast<double>(mean[c]), is = static_cast<double>(invstd[c]);
    double a = 0, b = 0;
    for (int64_t r = threadIdx.x; r < m; r += blockDim.x) {
      const int64_t i = at(s, c, r);
      const double g = static_cast<double>(dy[i]);
      a += g;
      b += g * (static_cast<double>(x[i]) - mu) * is;
    }
    a = block_sum(a);
    b = block_sum(b);
    if (threadIdx.x == 0) {
      sum_dy[c] = a;
      sum_dy_xhat[c] = b;
      if (dweight) dweight[c] = static_cast<T>(b);
      if (dbias) dbias[c] = static_cast<T>(a);
    }
  }
}

// training: dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)); eval: dx = dy * w * invstd.
template <typename T>
__global__ void input_grad_kernel(const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ weight,
                                  const T* __restrict__ mean, const T* __restrict__ invstd,
                                  const double* __restrict__ sum_dy, const double* __restrict__ sum_dy_xhat,
                                  T* __restrict__ dx, BatchNormShape s, bool training, int64_t n) {
  const double m = static_cast<double>(s.N * s.inner);
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const int64_t c = (i / s.inner) % s.C;
    const double scale = (weight ? static_cast<double>(weight[c]) : 1.0) * static_cast<double>(invstd[c]);
    double g = static_cast<double>(dy[i]);
    if (training) {
      const double xhat = (static_cast<double>(x[i]) - static_cast<double>(mean[c])) * static_cast<double>(invstd[c]);
      g -= sum_dy[c] / m + xhat * sum_dy_xhat[c] / m;
    }
    dx[i] = static_cast<T>(scale * g);
  }
}

unsigned channel_blocks(int64_t C) {
  const int64_t cap = int64_t{64} * multiprocessor_count();
  return static_cast<unsigned>(C < cap ? C : cap);
}

}  // namespace

template <typename T>
void batch_norm_forward_training(const T* x, const T* weight, const T* bias, T* running_mean, T* running_var, T* y,
                                 T* save_mean, T* save_invstd, const BatchNormShape& shape, double momentum,
                                 double eps) {
  const int64_t n = shape.N * shape.C * shape.inner;
  if (n == 0) return;
  MG_LAUNCH(channel_blocks(shape.C), kThreads, 0, nullptr, batch_stats_kernel<T>)(
      x, running_mean, running_var, save_mean, save_invstd, shape, momentum, eps);
  check_launch("batch_norm statistics kernel");
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, normalize_kernel<T>)(x, weight, bias, save_mean,
                                                                                 save_invstd, y, shape, n);
  check_launch("batch_norm normalize kernel");
}

template <typename T>
void batch_norm_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean, const T* running_var,
                             T* y, T* save_mean, T* save_invstd, const BatchNormShape& shape, double eps) {
  const int64_t n = shape.N * shape.C * shape.inner;
  if (shape.C == 0) return;
  MG_LAUNCH(blocks_for(shape.C, kThreads), kThreads, 0, nullptr, running_stats_kernel<T>)(
      running_mean, running_var, save_mean, save_invstd, shape.C, eps);
  check_launch("batch_norm running statistics kernel");
  if (n == 0) return;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, normalize_kernel<T>)(x, weight, bias, save_mean,
                                                                                 save_invstd, y, shape, n);
  check_launch("batch_norm normalize kernel");
}

template <typename T>
void batch_norm_backward(const T* dy, const T* x, const T* weight, const T* save_mean, const T* save_invstd, T* dx,
                         T* dweight, T* dbias, const BatchNormShape& shape, bool training) {
  const int64_t n = shape.N * shape.C * shape.inner;
  if (shape.C == 0) return;
  const DeviceArray sums = scratch<double>(2 * shape.C);
  double* sum_dy = static_cast<double*>(sums.data());
  double* sum_dy_xhat = sum_dy + shape.C;
  MG_LAUNCH(channel_blocks(shape.C), kThreads, 0, nullptr, grad_sums_kernel<T>)(
      dy, x, save_mean, save_invstd, sum_dy, sum_dy_xhat, dweight, dbias, shape);
  check_launch("batch_norm gradient sums kernel");
  if (n > 0) {
    MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, input_grad_kernel<T>)(
        dy, x, weight, save_mean, save_invstd, sum_dy, sum_dy_xhat, dx, shape, training, n);
    check_launch("batch_norm input gradient kernel");
  }
}

#define MG_INSTANTIATE(T)                                                                                        \
  template void batch_norm_forward_training<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*,                 \
                                               const BatchNormShape&, double, double);                           \
  template void batch_norm_forward_eval<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,         \
                                           const BatchNormShape&, double);                                       \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,            \
                                       const BatchNormShape&, bool);
MG_INSTANTIATE(float)
MG_INSTANTIATE(double)
#undef MG_INSTANTIATE
}  // namespace minigrad::cuda
