// 2-D max and average pooling on the device, NCHW: the contract of
// csrc/ops/pool.h with the semantics of csrc/cpu/pool.h (PyTorch's window
// placement, ceil mode, argmax indices, divisors). Device pointers, default
// stream; shapes checked by the caller. Backward kernels overwrite dx. Plain
// C++ header.
#pragma once

#include <cstdint>

#include "../csrc/ops/pool.h"

namespace minigrad::cuda {

using ops::AvgPool2dOptions;
using ops::Pool2dShape;

// Every window must hold at least one input element (cpu::every_window_hits_input).
// With relu, y = max(y, 0) (NaN kept), as cpu::max_pool2d_forward; indices may be null.
template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* indices, bool relu = false);

// dx[p, indices[p, i]] = sum of dy[p, i] over i, every index in [0, in_plane).
// Windows that overlap send several dy to one dx element: those are summed with
// atomics, so their order (and the last bits of the sum) may vary from run to
// run; without overlap the result is exact.
template <typename T>
void max_pool2d_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const T* dy, const int64_t* indices,
                         T* dx);

// Position of the first of count device indices outside [0, limit), or -1; the
// offending value goes to *bad_value. Synchronises with the host.
int64_t first_index_out_of_range(const int64_t* indices, int64_t count, int64_t limit, int64_t* bad_value);

// dilation must be 1 (as cpu::avg_pool2d_*). The backward gathers, for each
// input element, the windows that hold it: deterministic.
template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, const AvgPool2dOptions& o, const T* x, T* y);
template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, const AvgPool2dOptions& o, const T* dy, T* dx);

}  // namespace minigrad::cuda
