// The float activations' math as plain arithmetic, so that their loops
// vectorise at whatever instruction set the including file is compiled for:
// elementwise.cpp (the baseline), elementwise_avx2.cpp and
// elementwise_avx512.cpp, which the float sigmoid and tanh dispatch to at run
// time (16K floats, 1 thread, Zen 4: sigmoid 37 / 11 / 7 us, tanh 24 / 7 / 5
// us). Those files are built with -fno-trapping-math: the selects become blends.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace minigrad::cpu::activation_math {

// e^v of a float v <= 0 as Cephes' expf (avx_mathfun's constants): v = n ln 2 +
// r, a degree-7 polynomial in r, 2^n through the exponent bits; within 2 ulp.
// Arithmetic only, so the loop vectorises (libm's expf is a call per element;
// GCC 12 turned selects on the result, or on the truncation below, into
// branches, and the loop stayed scalar: 55 us for 16K floats, now 7-12).
// v is clamped at -88.3, where n = -127 makes the exponent bits, and so the
// result, 0: below about -87.7 it returns 0 (libm: subnormals down to -103.9);
// nan returns 0 (no nan reaches the integer conversions: the caller keeps it).
inline float exp_nonpositive(float v) {
  const float x = -88.3f < v ? v : -88.3f;
  const float fx = x * 1.44269504088896341f + 0.5f;  // in [-126.9, 0.5]
  // floor(fx) as the truncation of a positive number. Where fx + 128 rounds up
  // to an integer, |r| exceeds ln2 / 2 by at most 2^-16: the polynomial holds.
  const float n = static_cast<float>(static_cast<int32_t>(fx + 128.0f)) - 128.0f;
  const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;  // n in [-127, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// 1 / (1 + e^-v) without overflow: with e = exp(-|v|) <= 1, 1 / (1 + e) for
// v >= 0, e / (1 + e) otherwise.
inline float sigmoid_value(float v) {
  const float e = exp_nonpositive(-std::abs(v));
  const float r = 1.0f / (1.0f + e);
  return v >= 0.0f ? r : v < 0.0f ? e * r : v;  // nan stays nan
}

// tanh of a float as Eigen's rational approximation (generic_fast_tanh_float in
// Eigen/src/Core/MathFunctionsImpl.h: a few ulp; the input itself below 4e-4,
// where tanh(x) - x < x^3 / 3, so -0 stays -0). Arithmetic and selects only, so
// the loop vectorises: libm's tanhf is a call per element (4096 floats, 1
// thread: 42 us, numpy's vectorised tanh 2), an LSTM step's largest cost.
inline float tanh_value(float v) {
  constexpr float kBound = 7.90531110763549805f;  // the approximation reaches +-1 there
  const float x = v > kBound ? kBound : v < -kBound ? -kBound : v;  // nan stays nan
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return std::abs(v) < 0.0004f ? v : x * p / q;
}

// y[i] = f(x[i]) over [0, n): the loops each instruction set's file compiles.
inline void sigmoid_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_value(x[i]);
}
inline void tanh_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_value(x[i]);
}

// y[i] = exp_nonpositive(x[i] - m): softmax's exp(x - max), for rows whose
// x - m is never nan (the caller's concern).
inline void exp_shifted_loop(const float* __restrict x, float m, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_nonpositive(x[i] - m);
}

// The same loops compiled for AVX2 + FMA and for AVX-512 (x86 builds only).
void sigmoid_avx2(const float* x, float* y, int64_t n);
void tanh_avx2(const float* x, float* y, int64_t n);
void exp_shifted_avx2(const float* x, float m, float* y, int64_t n);
void sigmoid_avx512(const float* x, float* y, int64_t n);
void tanh_avx512(const float* x, float* y, int64_t n);
void exp_shifted_avx512(const float* x, float m, float* y, int64_t n);

}  // namespace minigrad::cpu::activation_math
