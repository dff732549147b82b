// Convolution as batched GEMMs over chunks of images. For a chunk of nb images,
// col (nb, C_in * KH * KW, OH * OW) holds the input patches (im2col); group g's
// rows are one contiguous block of it, so every product is a GemmBatch over the
// images of the chunk:
//   forward  y_g  = W_g @ col_g                 (K = C_in/groups * KH * KW)
//   dx       dcol_g = W_g^T @ dy_g, then col2im  (a gather: one thread per input element)
//   dweight  per image W'_g = dy_g @ col_g^T, then summed over images in order
//   dbias    one block per output channel.
#include "conv.h"

#include <algorithm>

#include "common.cuh"
#include "gemm.h"
#include "reduce.cuh"
#include "scratch.h"

namespace minigrad::cuda {
namespace {

constexpr int kThreads = 256;
// Bytes of im2col columns per chunk of images (at least one image per chunk).
constexpr int64_t kColumnBudget = int64_t{16} << 20;

struct Dims {
  int64_t in_plane, out_plane;  // H * W, OH * OW
  int64_t window;               // KH * KW
  int64_t group_in, group_out;  // C_in / groups, C_out / groups
  int64_t group_k;              // group_in * window: the GEMM depth of a group
  int64_t col_image;            // C_in * window * out_plane: one image's columns
  bool pointwise;               // 1x1, stride 1, no padding: col is x itself
};

Dims dims_of(const Conv2dShape& s) {
  Dims d{};
  d.in_plane = s.in_h * s.in_w;
  d.out_plane = s.out_h * s.out_w;
  d.window = s.kernel_h * s.kernel_w;
  d.group_in = s.in_channels / s.groups;
  d.group_out = s.out_channels / s.groups;
  d.group_k = d.group_in * d.window;
  d.col_image = s.in_channels * d.window * d.out_plane;
  d.pointwise = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
                s.pad_w == 0;
  return d;
}

// col[n, (c * KH + kh) * KW + kw, oh * OW + ow] = x[n, c, oh * sh - ph + kh * dh, ow * sw - pw + kw * dw], 0 in the padding.
template <typename T>
__global__ void im2col_kernel(Conv2dShape s, int64_t images, const T* __restrict__ x, T* __restrict__ col) {
  const int64_t out_plane = s.out_h * s.out_w, window = s.kernel_h * s.kernel_w;
  const int64_t count = images * s.in_channels * window * out_plane;
  for (int64_t i = global_thread(); i < count; i += grid_threads()) {
    const int64_t p = i % out_plane, row = i / out_plane;
    const int64_t k = row % window, nc = row / window;  // nc = n * C_in + c
    const int64_t h = (p / s.out_w) * s.stride_h - s.pad_h + (k / s.kernel_w) * s.dilation_h;
    const int64_t w = (p % s.out_w) * s.stride_w - s.pad_w + (k % s.kernel_w) * s.dilation_w;
    col[i] = h >= 0 && h < s.in_h && w >= 0 && w < s.in_w ? x[(nc * s.in_h + h) * s.in_w + w] : T(0);
  }
}

// dx[n, c, h, w] = the sum of the col entries that im2col took from (h, w), in a fixed order.
template <typename T>
__global__ void col2im_kernel(Conv2dShape s, int64_t images, const T* __restrict__ col, T* __restrict__ dx) {
  const int64_t out_plane = s.out_h * s.out_w, window = s.kernel_h * s.kernel_w;
  const int64_t count = images * s.in_channels * s.in_h * s.in_w;
  for (int64_t i = global_thread(); i < count; i += grid_threads()) {
    const int64_t w = i % s.in_w, h = (i / s.in_w) % s.in_h, nc = i / (s.in_w * s.in_h);
    const T* rows = col + nc * window * out_plane;
    T sum = 0;
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      const int64_t th = h + s.pad_h - kh * s.dilation_h;  // oh * stride_h when this tap hits (h, w)
      if (th < 0) break;
      if (th % s.stride_h != 0 || th / s.stride_h >= s.out_h) continue;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t tw = w + s.pad_w - kw * s.dilation_w;
        if (tw < 0) break;
        if (tw % s.stride_w != 0 || tw / s.stride_w >= s.out_w) continue;
        sum += rows[(kh * s.kernel_w + kw) * out_plane + (th / s.stride_h) * s.out_w + tw / s.stride_w];
      }
    }
    dx[i] = sum;
  }
}

// y[n, c, p] = bias[c]: the starting value the forward GEMM accumulates onto.
template <typename T>
__global__ void broadcast_bias_kernel(int64_t count, int64_t channels, int64_t plane, const T* __restrict__ bias,
                                      T* __restrict__ y) {
  for (int64_t i = global_thread(); i < count; i += grid_threads()) y[i] = bias[(i / plane) % channels];
}

// dweight (+)= the sum over `images` per-image gradients, each `size` long, in image order.
template <typename T>
__global__ void sum_images_kernel(int64_t images, int64_t size, const T* __restrict__ partial, T* __restrict__ dweight,
                                  bool accumulate) {
  for (int64_t i = global_thread(); i < size; i += grid_threads()) {
    T sum = accumulate ? dweight[i] : T(0);
    for (int64_t n = 0; n < images; ++n) sum += partial[n * size + i];
    dweight[i] = sum;
  }
}

// dbias[c] = sum over n and p of dy[n, c, p]: one block per channel, a fixed order.
template <typename T>
__global__ void bias_grad_kernel(int64_t batch, int64_t channels, int64_t plane, const T* __restrict__ dy,
                                 T* __restrict__ dbias) {
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    T sum = 0;
    for (int64_t i = threadIdx.x; i < batch * plane; i += blockDim.x)
      sum += dy[((i / plane) * channels + c) * plane + i % plane];
    sum = block_sum(sum);
    if (threadIdx.x == 0) dbias[c] = sum;
  }
}

template <typename T>
void im2col(const Conv2dShape& s, int64_t images, const T* x, T* col) {
  const int64_t count = images * dims_of(s).col_image;
  MG_LAUNCH(blocks_for(count, kThreads), kThreads, 0, nullptr, im2col_kernel<T>)(s, images, x, col);
  check_launch("conv2d im2col kernel");
}

// Images per chunk so that one chunk's columns stay within kColumnBudget.
template <typename T>
int64_t chunk_images(const Conv2dShape& s, const Dims& d) {
  const int64_t per_image = d.col_image * static_cast<int64_t>(sizeof(T));
  return std::clamp<int64_t>(kColumnBudget / per_image, 1, s.batch);
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  const Dims d = dims_of(s);
  const int64_t y_image = s.out_channels * d.out_plane;
  if (bias) {
    const int64_t count = s.batch * y_image;
    MG_LAUNCH(blocks_for(count, kThreads), kThreads, 0, nullptr, broadcast_bias_kernel<T>)(count, s.out_channels,
                                                                                            d.out_plane, bias, y);
    check_launch("conv2d bias kernel");
  }
  const int64_t chunk = chunk_images<T>(s, d);
  DeviceArray columns = scratch<T>(d.pointwise ? 0 : chunk * d.col_image);
  for (int64_t n0 = 0; n0 < s.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.batch - n0);
    const T* col = x + n0 * s.in_channels * d.in_plane;
    if (!d.pointwise) {
      im2col(s, nb, col, static_cast<T*>(columns.data()));
      col = static_cast<const T*>(columns.data());
    }
    for (int64_t g = 0; g < s.groups; ++g)
      gemm<T>(false, false, d.group_out, d.out_plane, d.group_k, T(1), weight + g * d.group_out * d.group_k,
              d.group_k, col + g * d.group_k * d.out_plane, d.out_plane, bias ? T(1) : T(0),
              y + n0 * y_image + g * d.group_out * d.out_plane, d.out_plane, {nb, 0, d.col_image, y_image});
  }
}

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* dy, const T* x, const T* weight, T* dx, T* dweight, T* dbias) {
  const Dims d = dims_of(s);
  const int64_t y_image = s.out_channels * d.out_plane, x_image = s.in_channels * d.in_plane;
  if (dbias) {
    MG_LAUNCH(blocks_for(s.out_channels, 1), kThreads, 0, nullptr, bias_grad_kernel<T>)(s.batch, s.out_channels,
                                                                                         d.out_plane, dy, dbias);
    check_launch("conv2d bias gradient kernel");
  }
  if (!dx && !dweight) return;
  const int64_t chunk = chunk_images<T>(s, d);
  const bool need_columns = dweight && !d.pointwise, need_dcol = dx && !d.pointwise;
  DeviceArray columns = scratch<T>(need_columns ? chunk * d.col_image : 0);
  DeviceArray dcolumns = scratch<T>(need_dcol ? chunk * d.col_image : 0);
  const int64_t weight_size = s.out_channels * d.group_k;
  DeviceArray partial = scratch<T>(dweight ? chunk * weight_size : 0);
  for (int64_t n0 = 0; n0 < s.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.batch - n0);
    const T* dy_chunk = dy + n0 * y_image;
    if (dx) {
      T* dcol = need_dcol ? static_cast<T*>(dcolumns.data()) : dx + n0 * x_image;
      for (int64_t g = 0; g < s.groups; ++g)
        gemm<T>(true, false, d.group_k, d.out_plane, d.group_out, T(1), weight + g * d.group_out * d.group_k,
                d.group_k, dy_chunk + g * d.group_out * d.out_plane, d.out_plane, T(0),
                dcol + g * d.group_k * d.out_plane, d.out_plane, {nb, 0, y_image, d.col_image});
      if (need_dcol) {
        const int64_t count = nb * x_image;
        MG_LAUNCH(blocks_for(count, kThreads), kThreads, 0, nullptr, col2im_kernel<T>)(s, nb, dcol, dx + n0 * x_image);
        check_launch("conv2d col2im kernel");
      }
    }
    if (dweight) {
      const T* col = x + n0 * x_image;
      if (need_columns) {
        im2col(s, nb, col, static_cast<T*>(columns.data()));
        col = static_cast<const T*>(columns.data());
      }
      T* per_image = static_cast<T*>(partial.data());
      for (int64_t g = 0; g < s.groups; ++g)
        gemm<T>(false, true, d.group_out, d.group_k, d.out_plane, T(1), dy_chunk + g * d.group_out * d.out_plane,
                d.out_plane, col + g * d.group_k * d.out_plane, d.out_plane, T(0),
                per_image + g * d.group_out * d.group_k, d.group_k, {nb, y_image, d.col_image, weight_size});
      MG_LAUNCH(blocks_for(weight_size, kThreads), kThreads, 0, nullptr, sum_images_kernel<T>)(
          nb, weight_size, per_image, dweight, n0 > 0);
      check_launch("conv2d weight gradient sum kernel");
    }
  }
}

#define MG_INSTANTIATE(T)                                                                      \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward<T>(const Conv2dShape&, const T*, const T*, const T*, T*, T*, T*);
MG_INSTANTIATE(float)
MG_INSTANTIATE(double)
#undef MG_INSTANTIATE

}  // namespace minigrad::cuda
