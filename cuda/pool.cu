// Pooling kernels: one thread per output (forward), one per input element
// (average backward), one per output with atomics (max backward, whose indices
// come without the window geometry).
#include "pool.h"

#include <math.h>

#include "common.cuh"
#include "scratch.h"

namespace minigrad::cuda {
namespace {

using ops::avg_divisor;
using ops::avg_window;
using ops::AvgWindow;

constexpr int kThreads = 256;

// a / b rounded up, b > 0.
__device__ __forceinline__ int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
// a / b rounded down, b > 0.
__device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) { return -ceil_div(-a, b); }
__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// The taps k in [first, last) of a dilated window starting at `start` that land inside [0, in).
struct Taps {
  int64_t first, last;
};
__device__ __forceinline__ Taps taps_inside(int64_t start, int64_t kernel, int64_t dilation, int64_t in) {
  const int64_t first = min64(kernel, start >= 0 ? 0 : ceil_div(-start, dilation));
  const int64_t last = min64(kernel, max64(0, ceil_div(in - start, dilation)));
  return {first, max64(first, last)};
}

template <typename T>
__global__ void max_pool_forward_kernel(Pool2dShape s, bool relu, const T* __restrict__ x, T* __restrict__ y,
                                        int64_t* __restrict__ indices) {
  const int64_t out_plane = s.out_h * s.out_w, in_plane = s.in_h * s.in_w;
  for (int64_t i = global_thread(); i < s.planes * out_plane; i += grid_threads()) {
    const int64_t p = i / out_plane, oh = (i % out_plane) / s.out_w, ow = i % s.out_w;
    const T* in = x + p * in_plane;
    const int64_t h0 = oh * s.stride_h - s.pad_h, w0 = ow * s.stride_w - s.pad_w;
    const Taps kh = taps_inside(h0, s.kernel_h, s.dilation_h, s.in_h);
    const Taps kw = taps_inside(w0, s.kernel_w, s.dilation_w, s.in_w);
    T best = -INFINITY;
    int64_t best_index = (h0 + kh.first * s.dilation_h) * s.in_w + w0 + kw.first * s.dilation_w;
    for (int64_t a = kh.first; a < kh.last; ++a) {
      const int64_t row = (h0 + a * s.dilation_h) * s.in_w;
      for (int64_t b = kw.first; b < kw.last; ++b) {
        const int64_t index = row + w0 + b * s.dilation_w;
        const T v = in[index];
        if (v > best || v != v) {  // the first largest wins; a NaN wins (as PyTorch)
          best = v;
          best_index = index;
        }
      }
    }
    y[i] = relu && best < T(0) ? T(0) : best;  // the fused ReLU keeps NaN (cpu::relu_value)
    if (indices != nullptr) indices[i] = best_index;
  }
}

template <typename T>
__global__ void max_pool_backward_kernel(int64_t in_plane, int64_t out_plane, int64_t count, const T* __restrict__ dy,
                                         const int64_t* __restrict__ indices, T* __restrict__ dx) {
  for (int64_t i = global_thread(); i < count; i += grid_threads())
    atomicAdd(dx + (i / out_plane) * in_plane + indices[i], dy[i]);
}

__global__ void first_bad_index_kernel(const int64_t* __restrict__ indices, int64_t count, int64_t limit,
                                       unsigned long long* __restrict__ first_bad) {
  for (int64_t i = global_thread(); i < count; i += grid_threads())
    if (indices[i] < 0 || indices[i] >= limit) atomicMin(first_bad, static_cast<unsigned long long>(i));
}

template <typename T>
__global__ void avg_pool_forward_kernel(Pool2dShape s, AvgPool2dOptions o, const T* __restrict__ x,
                                        T* __restrict__ y) {
  const int64_t out_plane = s.out_h * s.out_w, in_plane = s.in_h * s.in_w;
  for (int64_t i = global_thread(); i < s.planes * out_plane; i += grid_threads()) {
    const int64_t p = i / out_plane, oh = (i % out_plane) / s.out_w, ow = i % s.out_w;
    const T* in = x + p * in_plane;
    const AvgWindow h = avg_window(oh, s.in_h, s.kernel_h, s.stride_h, s.pad_h);
    const AvgWindow w = avg_window(ow, s.in_w, s.kernel_w, s.stride_w, s.pad_w);
    const int64_t divisor = avg_divisor(o, h, w);
    T sum = 0;
    for (int64_t ih = h.first; ih < h.last; ++ih)
      for (int64_t iw = w.first; iw < w.last; ++iw) sum += in[ih * s.in_w + iw];
    y[i] = divisor != 0 ? sum / static_cast<T>(divisor) : T(0);
  }
}

// One thread per input element: the windows (oh, ow) holding (ih, iw) are those with
// oh * stride - pad <= ih < oh * stride - pad + kernel.
template <typename T>
__global__ void avg_pool_backward_kernel(Pool2dShape s, AvgPool2dOptions o, const T* __restrict__ dy,
                                         T* __restrict__ dx) {
  const int64_t out_plane = s.out_h * s.out_w, in_plane = s.in_h * s.in_w;
  for (int64_t i = global_thread(); i < s.planes * in_plane; i += grid_threads()) {
    const int64_t p = i / in_plane, ih = (i % in_plane) / s.in_w, iw = i % s.in_w;
    const T* g = dy + p * out_plane;
    const int64_t oh_first = max64(0, floor_div(ih + s.pad_h - s.kernel_h, s.stride_h) + 1);
    const int64_t oh_last = min64(s.out_h, floor_div(ih + s.pad_h, s.stride_h) + 1);
    const int64_t ow_first = max64(0, floor_div(iw + s.pad_w - s.kernel_w, s.stride_w) + 1);
    const int64_t ow_last = min64(s.out_w, floor_div(iw + s.pad_w, s.stride_w) + 1);
    T sum = 0;
    for (int64_t oh = oh_first; oh < oh_last; ++oh) {
      const AvgWindow h = avg_window(oh, s.in_h, s.kernel_h, s.stride_h, s.pad_h);
      for (int64_t ow = ow_first; ow < ow_last; ++ow) {
        const AvgWindow w = avg_window(ow, s.in_w, s.kernel_w, s.stride_w, s.pad_w);
        const int64_t divisor = avg_divisor(o, h, w);
        if (divisor != 0) sum += g[oh * s.out_w + ow] / static_cast<T>(divisor);
      }
    }
    dx[i] = sum;
  }
}

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* indices, bool relu) {
  const int64_t n = s.planes * s.out_h * s.out_w;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, max_pool_forward_kernel<T>)(s, relu, x, y, indices);
  check_launch("max_pool2d_forward kernel");
}

template <typename T>
void max_pool2d_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const T* dy, const int64_t* indices,
                         T* dx) {
  check(cudaMemsetAsync(dx, 0, static_cast<size_t>(planes * in_plane) * sizeof(T), nullptr),
        "max_pool2d_backward memset");
  const int64_t n = planes * out_plane;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, max_pool_backward_kernel<T>)(in_plane, out_plane, n, dy,
                                                                                         indices, dx);
  check_launch("max_pool2d_backward kernel");
}

int64_t first_index_out_of_range(const int64_t* indices, int64_t count, int64_t limit, int64_t* bad_value) {
  if (count == 0) return -1;
  DeviceArray first_bad_holder = scratch<int64_t>(1);
  auto* first_bad = static_cast<unsigned long long*>(first_bad_holder.data());
  check(cudaMemsetAsync(first_bad, 0xFF, sizeof(unsigned long long), nullptr), "first_index_out_of_range memset");
  MG_LAUNCH(blocks_for(count, kThreads), kThreads, 0, nullptr, first_bad_index_kernel)(indices, count, limit,
                                                                                        first_bad);
  check_launch("first_index_out_of_range kernel");
  unsigned long long position = 0;
  check(cudaMemcpy(&position, first_bad, sizeof position, cudaMemcpyDeviceToHost), "first_index_out_of_range copy");
  if (position == ~0ull) return -1;
  check(cudaMemcpy(bad_value, indices + position, sizeof(int64_t), cudaMemcpyDeviceToHost),
        "first_index_out_of_range copy");
  return static_cast<int64_t>(position);
}

template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, const AvgPool2dOptions& o, const T* x, T* y) {
  const int64_t n = s.planes * s.out_h * s.out_w;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, avg_pool_forward_kernel<T>)(s, o, x, y);
  check_launch("avg_pool2d_forward kernel");
}

template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, const AvgPool2dOptions& o, const T* dy, T* dx) {
  const int64_t n = s.planes * s.in_h * s.in_w;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, avg_pool_backward_kernel<T>)(s, o, dy,
                                                                                         dx);
  check_launch("avg_pool2d_backward kernel");
}

#define MG_INSTANTIATE(T)                                                                                     \
  template void max_pool2d_forward<T>(const Pool2dShape&, const T*, T*, int64_t*, bool);                      \
  template void max_pool2d_backward<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);              \
  template void avg_pool2d_forward<T>(const Pool2dShape&, const AvgPool2dOptions&, const T*, T*);             \
  template void avg_pool2d_backward<T>(const Pool2dShape&, const AvgPool2dOptions&, const T*, T*);
MG_INSTANTIATE(float)
MG_INSTANTIATE(double)
#undef MG_INSTANTIATE

}  // namespace minigrad::cuda
