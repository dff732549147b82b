// 2-D max and average pooling, NCHW, forward and backward, with PyTorch's
// semantics (window placement, ceil mode, argmax indices, divisors).
// Shapes are checked by the caller (the binding); kernels trust them.
// Backward overwrites dx (a fresh gradient), never accumulates.
#pragma once

#include <cstdint>

#include "ops/pool.h"

namespace minigrad::cpu {

using ops::AvgPool2dOptions;
using ops::Pool2dShape;

// Whether every window holds at least one input element. When one does not
// (dilated windows can fall between the pixels), PyTorch's max pooling gives
// -inf and an index outside the plane.
bool every_window_hits_input(const Pool2dShape& s);

// y = the largest element of each window; indices = its position in the input
// plane (h * W + w). The first largest wins; NaN propagates, as in PyTorch.
// With relu, y = max(y, 0) (NaN kept): max pooling of relu(x), which has the
// same values, and the same gradients through these indices, as the fused
// ReLU costs nothing here while a separate one passes over all of x.
// indices may be null (inference: values only, faster for 2x2 windows).
template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* indices, bool relu = false);

// dx[p, indices[p, i]] = sum of dy[p, i] over i. Returns -1, or the flat
// position in indices of the first index outside [0, in_plane) (which is
// skipped: dx is then incomplete, for the caller to discard). Checked in the
// same pass: a separate pass over the indices took a fifth of LeNet-5's pool1
// backward.
template <typename T>
int64_t max_pool2d_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const T* dy, const int64_t* indices,
                            T* dx);

// Mean of each window (dilation must be 1), divided by ops::avg_divisor.
template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, const AvgPool2dOptions& o, const T* x, T* y);

template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, const AvgPool2dOptions& o, const T* dy, T* dx);

}  // namespace minigrad::cpu
