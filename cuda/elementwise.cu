#include "elementwise.h"

#include "common.cuh"

namespace minigrad::cuda {
namespace {
constexpr int kThreads = 256;

template <typename T>
__global__ void fill_kernel(T* __restrict__ out, T value, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = value;
}

template <typename T>
__global__ void relu_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <typename T>
__global__ void relu_backward_kernel(const T* __restrict__ dy, const T* __restrict__ y, T* __restrict__ dx,
                                     int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template <typename T>
__global__ void add_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = a[i] + b[i];
}
}  // namespace

template <typename T>
void fill(T* out, T value, int64_t n) {
  if (n == 0) return;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, fill_kernel<T>)(out, value, n);
  check_launch("fill kernel");
}

template <typename T>
void relu_forward(const T* x, T* y, int64_t n) {
  if (n == 0) return;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, relu_forward_kernel<T>)(x, y, n);
  check_launch("relu_forward kernel");
}

template <typename T>
void relu_backward(const T* dy, const T* y, T* dx, int64_t n) {
  if (n == 0) return;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, relu_backward_kernel<T>)(dy, y, dx, n);
  check_launch("relu_backward kernel");
}

template <typename T>
void add(const T* a, const T* b, T* out, int64_t n) {
  if (n == 0) return;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, add_kernel<T>)(a, b, out, n);
  check_launch("add kernel");
}

template void fill<float>(float*, float, int64_t);
template void fill<double>(double*, double, int64_t);
template void fill<int64_t>(int64_t*, int64_t, int64_t);
#define MG_INSTANTIATE(T)                                          \
  template void relu_forward<T>(const T*, T*, int64_t);            \
  template void relu_backward<T>(const T*, const T*, T*, int64_t); \
  template void add<T>(const T*, const T*, T*, int64_t);
MG_INSTANTIATE(float)
MG_INSTANTIATE(double)
#undef MG_INSTANTIATE
}  // namespace minigrad::cuda
