#include "layer_norm.h"

#include <cmath>

#include "common.cuh"
#include "reduce.cuh"

namespace minigrad::cuda {
namespace {

// Forward, one block per row: the mean, then the squared deviations (two
// passes in double, as the CPU kernel), then y = (x - mean) * invstd * w + b.
template <typename T>
__global__ void layer_norm_kernel(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
                                  T* __restrict__ y, T* __restrict__ save_mean, T* __restrict__ save_invstd,
                                  LayerNormShape s, double eps) {
  const double cols = static_cast<double>(s.cols);
  for (int64_t r = blockIdx.x; r < s.rows; r += gridDim.x) {
    const T* xr = x + r * s.cols;
    T* yr = y + r * s.cols;
    double sum = 0;
    for (int64_t i = threadIdx.x; i < s.cols; i += blockDim.x) sum += static_cast<double>(xr[i]);
    const double mean = block_sum(sum) / cols;
    double squares = 0;
    for (int64_t i = threadIdx.x; i < s.cols; i += blockDim.x) {
      const double d = static_cast<double>(xr[i]) - mean;
      squares += d * d;
    }
    const double invstd = 1.0 / sqrt(block_sum(squares) / cols + eps);
    if (threadIdx.x == 0) {
      save_mean[r] = static_cast<T>(mean);
      save_invstd[r] = static_cast<T>(invstd);
    }
    const T m = static_cast<T>(mean), scale = static_cast<T>(invstd);
    for (int64_t i = threadIdx.x; i < s.cols; i += blockDim.x)
      yr[i] = (xr[i] - m) * scale * (weight ? weight[i] : T(1)) + (bias ? bias[i] : T(0));
  }
}

// dx, one block per row: invstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight.
template <typename T>
__global__ void input_grad_kernel(const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ weight,
                                  const T* __restrict__ save_mean, const T* __restrict__ save_invstd,
                                  T* __restrict__ dx, LayerNormShape s) {
  const double cols = static_cast<double>(s.cols);
  for (int64_t r = blockIdx.x; r < s.rows; r += gridDim.x) {
    const int64_t o = r * s.cols;
    const double mean = static_cast<double>(save_mean[r]), invstd = static_cast<double>(save_invstd[r]);
    double sum_g = 0, sum_g_centred = 0;
    for (int64_t i = threadIdx.x; i < s.cols; i += blockDim.x) {
      const double g = static_cast<double>(dy[o + i]) * (weight ? static_cast<double>(weight[i]) : 1.0);
      sum_g += g;
      sum_g_centred += g * (static_cast<double>(x[o + i]) - mean);
    }
    sum_g = block_sum(sum_g);
    sum_g_centred = block_sum(sum_g_centred);
    const T m = static_cast<T>(mean), scale = static_cast<T>(invstd);
    const T mean_g = static_cast<T>(sum_g / cols);
    const T centred_coef = static_cast<T>(sum_g_centred / cols * invstd * invstd);
    for (int64_t i = threadIdx.x; i < s.cols; i += blockDim.x)
      dx[o + i] = (dy[o + i] * (weight ? weight[i] : T(1)) - mean_g - (x[o + i] - m) * centred_coef) * scale;
  }
}

// dweight/dbias, the sums over rows of dy * xhat and dy: a block per tile of
// kColTile columns (blocks stepping over the tiles); its kRowGroups warps each
// sum every kRowGroups-th row of the tile (coalesced reads along the row), then
// the first warp adds the groups' sums in a fixed order.
constexpr int kColTile = 32, kRowGroups = 8;

template <typename T>
__global__ void param_grad_kernel(const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ save_mean,
                                  const T* __restrict__ save_invstd, T* __restrict__ dweight, T* __restrict__ dbias,
                                  LayerNormShape s) {
  MG_SHARED(double, group_w, [kRowGroups][kColTile]);
  MG_SHARED(double, group_b, [kRowGroups][kColTile]);
  const unsigned lane = threadIdx.x % kColTile, group = threadIdx.x / kColTile;
  for (int64_t tile = blockIdx.x; tile * kColTile < s.cols; tile += gridDim.x) {
    const int64_t i = tile * kColTile + lane;
    double w = 0, b = 0;
    if (i < s.cols) {
      for (int64_t r = group; r < s.rows; r += kRowGroups) {
        const double g = static_cast<double>(dy[r * s.cols + i]);
        w += g * (static_cast<double>(x[r * s.cols + i]) - static_cast<double>(save_mean[r])) *
             static_cast<double>(save_invstd[r]);
        b += g;
      }
    }
    group_w[group][lane] = w;
    group_b[group][lane] = b;
    __syncthreads();
    if (group == 0 && i < s.cols) {
      double total_w = 0, total_b = 0;
      for (int k = 0; k < kRowGroups; ++k) {
        total_w += group_w[k][lane];
        total_b += group_b[k][lane];
      }
      dweight[i] = static_cast<T>(total_w);
      dbias[i] = static_cast<T>(total_b);
    }
    __syncthreads();  // the group sums are rewritten for the next tile
  }
}

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* save_mean, T* save_invstd,
                        const LayerNormShape& shape, double eps) {
  launch_rows("layer_norm kernel", layer_norm_kernel<T>, shape.rows, shape.cols, x, weight, bias, y, save_mean,
              save_invstd, shape, eps);
}

template <typename T>
void layer_norm_backward(const T* dy, const T* x, const T* weight, const T* save_mean, const T* save_invstd, T* dx,
                         T* dweight, T* dbias, const LayerNormShape& shape) {
  launch_rows("layer_norm input gradient kernel", input_grad_kernel<T>, shape.rows, shape.cols, dy, x, weight,
              save_mean, save_invstd, dx, shape);
  if (!dweight || shape.cols == 0) return;
  constexpr int threads = kColTile * kRowGroups;
  MG_LAUNCH(blocks_for(shape.cols, kColTile), threads, 0, nullptr, param_grad_kernel<T>)(
      dy, x, save_mean, save_invstd, dweight, dbias, shape);
  check_launch("layer_norm parameter gradient kernel");
}

#define MG_INSTANTIATE(T)                                                                                         \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, const LayerNormShape&, double); \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,            \
                                       const LayerNormShape&);
MG_INSTANTIATE(float)
MG_INSTANTIATE(double)
#undef MG_INSTANTIATE
}  // namespace minigrad::cuda
