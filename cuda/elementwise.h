// Elementwise CUDA kernels over n contiguous elements (device pointers, default
// stream; n == 0 launches nothing). Plain C++ header. Backward kernels
// overwrite their output, like the CPU ones.
#pragma once

#include <cstdint>

namespace minigrad::cuda {
template <typename T>
void fill(T* out, T value, int64_t n);  // float, double, int64_t
template <typename T>
void relu_forward(const T* x, T* y, int64_t n);  // y = max(x, 0)
template <typename T>
void relu_backward(const T* dy, const T* y, T* dx, int64_t n);  // dx = dy where y > 0, else 0
template <typename T>
void add(const T* a, const T* b, T* out, int64_t n);  // same shapes, no broadcasting
}  // namespace minigrad::cuda
