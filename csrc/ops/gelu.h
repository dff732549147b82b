// GELU, x Phi(x) with Phi the standard normal CDF, in PyTorch's two forms (the
// exact one through erf, and approximate="tanh"), and its derivative Phi(x) +
// x phi(x), written as PyTorch's kernels write them. Shared by the CPU's
// double loops (csrc/cpu/elementwise.cpp; its float loops are the vectorised
// twins in cpu/activation_math.h) and the CUDA kernels (cuda/elementwise.cu).
#pragma once

#include <cmath>

#include "host_device.h"

namespace minigrad::gelu {

constexpr double kSqrtHalf = 0.70710678118654752440;    // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // phi's factor, 1 / sqrt(2 pi)
constexpr double kTanhScale = 0.79788456080286535588;   // sqrt(2 / pi)
constexpr double kTanhCubic = 0.044715;

// libm's functions on the host (and the SIMT emulator), CUDA's on the device.
template <typename T>
MINIGRAD_HOST_DEVICE inline T erf_of(T x) {
#if defined(__CUDA_ARCH__)
  return erf(x);
#else
  return std::erf(x);
#endif
}
template <typename T>
MINIGRAD_HOST_DEVICE inline T exp_of(T x) {
#if defined(__CUDA_ARCH__)
  return exp(x);
#else
  return std::exp(x);
#endif
}
template <typename T>
MINIGRAD_HOST_DEVICE inline T tanh_of(T x) {
#if defined(__CUDA_ARCH__)
  return tanh(x);
#else
  return std::tanh(x);
#endif
}

// tanh(sqrt(2 / pi) (x + 0.044715 x^3)): the tanh form's stand-in for 2 Phi(x) - 1.
template <typename T>
MINIGRAD_HOST_DEVICE inline T tanh_inner(T x) {
  return tanh_of(T(kTanhScale) * (x + T(kTanhCubic) * x * x * x));
}

template <typename T>
MINIGRAD_HOST_DEVICE inline T value(T x, bool tanh_form) {
  if (tanh_form) return T(0.5) * x * (T(1) + tanh_inner(x));
  return x * T(0.5) * (T(1) + erf_of(x * T(kSqrtHalf)));
}

// d value / dx.
template <typename T>
MINIGRAD_HOST_DEVICE inline T derivative(T x, bool tanh_form) {
  if (tanh_form) {
    const T t = tanh_inner(x);
    const T inner_derivative = T(kTanhScale) * (T(1) + T(3 * kTanhCubic) * x * x);
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * inner_derivative;
  }
  const T cdf = T(0.5) * (T(1) + erf_of(x * T(kSqrtHalf)));
  return cdf + x * T(kInvSqrt2Pi) * exp_of(T(-0.5) * x * x);
}

}  // namespace minigrad::gelu
