// The float activations' math as plain arithmetic, so that their loops
// vectorise at whatever instruction set the including file is compiled for:
// elementwise.cpp (the baseline), elementwise_avx2.cpp and
// elementwise_avx512.cpp, which the float activations dispatch to at run
// time (16K floats, 1 thread, Zen 4: sigmoid 37 / 11 / 7 us, tanh 24 / 7 / 5
// us). Those files are built with -fno-trapping-math: the selects become blends.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "ops/gelu.h"

namespace minigrad::cpu::activation_math {
// Everything up to the per-ISA entry points has internal linkage: each file
// that includes this compiles its own copy with its own instruction set. As
// shared inline functions and templates (weak symbols), the linker would keep
// one copy for all files: the AVX2 entry points could run an AVX-512 copy.
namespace {

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
#if defined(__SSE4_1__) || defined(__aarch64__)
  // One rounding instruction (roundps / vrndscaleps; frintm): 20% of the exp
  // loop's time against the truncation below (256K floats, AVX-512 on Zen 4:
  // 108 -> 87 us; AVX2 162 -> 131).
  const float n = __builtin_floorf(fx);
#else
  // SSE2 has no vector floor (floorf would be a call per element): floor(fx)
  // as the truncation of a positive number. Where fx + 128 rounds up to an
  // integer, |r| exceeds ln2 / 2 by at most 2^-16: the polynomial holds.
  const float n = static_cast<float>(static_cast<int32_t>(fx + 128.0f)) - 128.0f;
#endif
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

// log of a float u > 0, normal or infinite, as Cephes' logf (avx_mathfun's
// constants): u = m 2^e with m in [sqrt(1/2), sqrt(2)), a degree-8 polynomial
// in m - 1; within 2 ulp. Arithmetic and bit operations only, so the loop
// vectorises. The caller keeps 0, negatives, nan and subnormals away.
inline float log_positive(float u) {
  uint32_t bits;
  std::memcpy(&bits, &u, sizeof bits);
  float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - 126);  // u = m 2^e with m in [0.5, 1)
  bits = (bits & 0x007fffffu) | 0x3f000000u;
  float m;
  std::memcpy(&m, &bits, sizeof m);
  const bool low = m < 0.707106781186547524f;  // then 2m - 1 (and e - 1), else m - 1: |x| < 0.42
  e = low ? e - 1.0f : e;
  const float x = (low ? m + m : m) - 1.0f, z = x * x;
  float p = 7.0376836292e-2f;
  p = p * x - 1.1514610310e-1f;
  p = p * x + 1.1676998740e-1f;
  p = p * x - 1.2420140846e-1f;
  p = p * x + 1.4249322787e-1f;
  p = p * x - 1.6668057665e-1f;
  p = p * x + 2.0000714765e-1f;
  p = p * x - 2.4999993993e-1f;
  p = p * x + 3.3333331174e-1f;
  const float y = p * x * z + e * -2.12194440e-4f - 0.5f * z;
  return x + y + e * 0.693359375f;
}

// log(1 + v), exact for small v: with u = 1 + v rounded, log(u) v / (u - 1)
// (Goldberg's correction of u's rounding; v itself where u rounds to 1). -1
// gives -inf, below it nan, +inf and nan themselves. libm's log1pf is a call
// per element (256K floats, 1 thread: numpy 4.9 ms on AVX2).
inline float log1p_value(float v) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  const float u = 1.0f + v;
  const bool usable = (u > 0.0f) & (u < inf);  // false for nan (& : no branch, so the loop vectorises)
  const float l = log_positive(usable ? u : 1.0f);
  float y = usable ? (u == 1.0f ? v : l * (v / (u - 1.0f))) : v;  // v: nan stays nan
  y = u == 0.0f ? -inf : y;
  y = u == inf ? inf : y;
  return u < 0.0f ? std::numeric_limits<float>::quiet_NaN() : y;
}

// e^v - 1, exact for small v: v = n ln 2 + r with |r| <= ln 2 / 2, e^r - 1 a
// Taylor series to r^9 (relative 3e-9), then 2^n (e^r - 1) + (2^n - 1). v is
// clamped to [-88, ln(FLT_MAX)]: -1 below (2^-127 is beyond the exponent bits,
// and 0 there), and n = 128 at the top taken as 2 (2^127 e^r). libm's expm1f
// is a call per element, as log1pf.
inline float expm1_value(float v) {
  constexpr float kTop = 88.7228394f;  // ln(FLT_MAX): inf above
  const float x = v > -88.0f ? (v < kTop ? v : kTop) : -88.0f;  // nan -> -88: no nan into the conversions
  const float fn = x * 1.44269504088896341f;
  const float n = static_cast<float>(static_cast<int32_t>(fn + (fn < 0.0f ? -0.5f : 0.5f)));  // nearest
  const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float p = 1.0f / 362880.0f;
  p = p * r + 1.0f / 40320.0f;
  p = p * r + 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  const float em = p * r * r + r;  // e^r - 1
  const float twice = n > 127.0f ? 2.0f : 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n > 127.0f ? 127.0f : n) + 127) << 23;
  float scale;  // 2^n (2^127 for n = 128, doubled below)
  std::memcpy(&scale, &bits, sizeof scale);
  const float scaled = (scale * em + (scale - 1.0f / twice)) * twice;
  const float result = n == 0.0f ? em : scaled;
  return v > kTop ? std::numeric_limits<float>::infinity() : v == 0.0f || v != v ? v : result;  // -0, nan kept
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

// erf of a float: below 0.5 in magnitude its Taylor series to x^15 (relative
// error under 1e-9, so tiny inputs and -0 keep their value), above it
// Abramowitz and Stegun's 7.1.26, 1 - t P(t) e^-v^2 with t = 1 / (1 + p |v|)
// (1.5e-7 absolute, the form PyTorch's vectorised float erf uses). Arithmetic
// and selects only, so the loop vectorises: libm's erff is a call per element
// (GELU of 256K floats, 1 thread: 3.0 ms, PyTorch 0.24).
inline float erf_value(float v) {
  const float a = std::abs(v), v2 = v * v;
  float s = -1.0f / 75600.0f;  // 2 / sqrt(pi) sum (-1)^k v^(2k+1) / (k! (2k+1)), k <= 7
  s = s * v2 + 1.0f / 9360.0f;
  s = s * v2 - 1.0f / 1320.0f;
  s = s * v2 + 1.0f / 216.0f;
  s = s * v2 - 1.0f / 42.0f;
  s = s * v2 + 1.0f / 10.0f;
  s = s * v2 - 1.0f / 3.0f;
  s = s * v2 + 1.0f;
  const float small = 1.12837916709551257f * v * s;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float large = 1.0f - p * t * exp_nonpositive(-(a < 10.0f ? v2 : 100.0f));  // no nan into the exp
  return a < 0.5f ? small : v > 0.0f ? large : v < 0.0f ? -large : v;  // nan stays nan
}

// GELU and its derivative (ops/gelu.h's formulas, PyTorch's) through the erf,
// exp and tanh above. GELU of 256K floats, 1 thread, Zen 3: 27.6 ms composed
// in numpy around libm's erf, 0.84 around erf_value.
inline float gelu_erf_cdf(float v) { return 0.5f * (1.0f + erf_value(v * float(gelu::kSqrtHalf))); }
inline float gelu_tanh_inner(float v) {
  return tanh_value(float(gelu::kTanhScale) * (v + float(gelu::kTanhCubic) * v * v * v));
}
inline float gelu_erf_value(float v) { return v * gelu_erf_cdf(v); }
inline float gelu_tanh_value(float v) { return 0.5f * v * (1.0f + gelu_tanh_inner(v)); }
inline float gelu_erf_derivative(float v) {
  return gelu_erf_cdf(v) + v * float(gelu::kInvSqrt2Pi) * exp_nonpositive(-0.5f * v * v);
}
inline float gelu_tanh_derivative(float v) {
  const float t = gelu_tanh_inner(v);
  const float inner_derivative = float(gelu::kTanhScale) * (1.0f + float(3 * gelu::kTanhCubic) * v * v);
  return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * inner_derivative;
}

// y[i] = f(x[i]) over [0, n): the loops each instruction set's file compiles.
inline void sigmoid_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_value(x[i]);
}
inline void tanh_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_value(x[i]);
}
inline void erf_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = erf_value(x[i]);
}
inline void log1p_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = log1p_value(x[i]);
}
inline void expm1_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = expm1_value(x[i]);
}

// y = GELU(x) and dx = dy GELU'(x), the form chosen outside the loops.
inline void gelu_loop(const float* __restrict x, float* __restrict y, int64_t n, bool tanh_form) {
  if (tanh_form) {
    for (int64_t i = 0; i < n; ++i) y[i] = gelu_tanh_value(x[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = gelu_erf_value(x[i]);
  }
}
inline void gelu_backward_loop(const float* __restrict dy, const float* __restrict x, float* __restrict dx,
                               int64_t n, bool tanh_form) {
  if (tanh_form) {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * gelu_tanh_derivative(x[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * gelu_erf_derivative(x[i]);
  }
}

// out[i] = a[i] + alpha * b[i] rounded once (a fused multiply-add), as PyTorch's
// add and sub with alpha: std::fma, one instruction where FMA is compiled in.
template <typename T>
inline void add_scaled_loop(const T* __restrict a, const T* __restrict b, T alpha, T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::fma(alpha, b[i], a[i]);
}

// y[i] = exp_nonpositive(x[i] - m): softmax's exp(x - max), for rows whose
// x - m is never nan (the caller's concern).
inline void exp_shifted_loop(const float* __restrict x, float m, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_nonpositive(x[i] - m);
}

// A GCC vector of Bytes / sizeof(T) lanes of T.
template <typename T, int Bytes>
struct VectorOf {
  typedef T type __attribute__((vector_size(Bytes)));
};

// The largest of x[0, n) (-inf for an empty row), nan if there is one:
// partial maxima and nan flags in kChains GCC vectors of Bytes bytes,
// independent chains of compares, folded into one vector before its lanes.
// GCC 12 kept the lanes of a plain array in scalar registers: 60% of a
// 1000-class cross-entropy's forward.
template <typename T, int Bytes>
T max_or_nan(const T* x, int64_t n) {
  using Vec = typename VectorOf<T, Bytes>::type;
  using Mask = decltype(Vec{} != Vec{});
  constexpr int64_t kWidth = Bytes / int64_t(sizeof(T)), kChains = 4, kStep = kWidth * kChains;
  constexpr T lowest = -std::numeric_limits<T>::infinity();
  Vec maxima[kChains];
  Mask nans[kChains] = {};
  for (Vec& v : maxima) v = Vec{} + lowest;
  int64_t j = 0;
  for (; j + kStep <= n; j += kStep)
    for (int64_t c = 0; c < kChains; ++c) {
      Vec v;
      std::memcpy(&v, x + j + c * kWidth, sizeof v);
      maxima[c] = v > maxima[c] ? v : maxima[c];
      nans[c] |= v != v;
    }
  T m = lowest;
  bool has_nan = false;
  if (j > 0) {  // short rows (10 classes) skip the vectors' lanes
    for (int64_t c = 1; c < kChains; ++c) {
      maxima[0] = maxima[c] > maxima[0] ? maxima[c] : maxima[0];
      nans[0] |= nans[c];
    }
    for (int64_t k = 0; k < kWidth; ++k) {
      m = maxima[0][k] > m ? maxima[0][k] : m;
      has_nan |= nans[0][k] != 0;
    }
  }
  for (; j < n; ++j) {
    m = x[j] > m ? x[j] : m;
    has_nan |= x[j] != x[j];
  }
  return has_nan ? std::numeric_limits<T>::quiet_NaN() : m;
}

// exp_shifted_loop, and the sum of y in double: blocks of kBlock elements
// summed in kChains float vectors of Bytes bytes while they are in L1, each
// block's sum added in double (at most kBlock / (kChains * lanes) float adds
// per lane), in a fixed order. With the floor above, this took the forward of
// a 256 x 1000 cross-entropy from 187 to 152 us (1 thread, Zen 4; PyTorch
// 146-150), against a pass of double adds over y.
template <int Bytes>
double exp_shifted_sum_loop(const float* __restrict x, float m, float* __restrict y, int64_t n) {
  using Vec = typename VectorOf<float, Bytes>::type;
  constexpr int64_t kWidth = Bytes / int64_t(sizeof(float)), kChains = 4, kStep = kWidth * kChains;
  constexpr int64_t kBlock = 1024;
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t len = n - b < kBlock ? n - b : kBlock;
    exp_shifted_loop(x + b, m, y + b, len);
    Vec sums[kChains] = {};
    int64_t j = 0;
    for (; j + kStep <= len; j += kStep)
      for (int64_t c = 0; c < kChains; ++c) {
        Vec v;
        std::memcpy(&v, y + b + j + c * kWidth, sizeof v);
        sums[c] += v;
      }
    double block = 0;
    if (j > 0) {
      for (int64_t c = 1; c < kChains; ++c) sums[0] += sums[c];
      for (int64_t k = 0; k < kWidth; ++k) block += static_cast<double>(sums[0][k]);
    }
    for (; j < len; ++j) block += static_cast<double>(y[b + j]);
    total += block;
  }
  return total;
}

// A softmax row's last pass, y holding e^(x - m) and sum their sum: y = (x -
// m) - log(sum) for log-softmax, else y / sum.
template <typename T>
void finish_softmax_row(const T* __restrict x, T m, double sum, T* __restrict y, int64_t n, bool log) {
  if (log) {
    // (x - m) - lse, not x - (m + lse): m + lse would round away lse next to a large m.
    const T lse = static_cast<T>(std::log(sum));
    for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - m) - lse;
  } else {
    const T inv = static_cast<T>(1.0 / sum);
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
}

// One row of softmax (y = e^(x - max) / sum) or log-softmax (y = (x - max) -
// log(sum)) of floats. false, y untouched, where x - max may be nan (a nan in
// the row, an infinite maximum, an empty row): the caller's libm path.
template <int Bytes>
bool softmax_row_loop(const float* __restrict x, float* __restrict y, int64_t n, bool log) {
  const float m = max_or_nan<float, Bytes>(x, n);
  if (!std::isfinite(m)) return false;
  finish_softmax_row(x, m, exp_shifted_sum_loop<Bytes>(x, m, y, n), y, n, log);
  return true;
}

}  // namespace

// The same loops compiled for AVX2 + FMA and for AVX-512 (x86 builds only).
void sigmoid_avx2(const float* x, float* y, int64_t n);
void tanh_avx2(const float* x, float* y, int64_t n);
void erf_avx2(const float* x, float* y, int64_t n);
void log1p_avx2(const float* x, float* y, int64_t n);
void expm1_avx2(const float* x, float* y, int64_t n);
void gelu_avx2(const float* x, float* y, int64_t n, bool tanh_form);
void gelu_backward_avx2(const float* dy, const float* x, float* dx, int64_t n, bool tanh_form);
void exp_shifted_avx2(const float* x, float m, float* y, int64_t n);
void add_scaled_avx2(const float* a, const float* b, float alpha, float* out, int64_t n);
void add_scaled_avx2(const double* a, const double* b, double alpha, double* out, int64_t n);
bool softmax_row_avx2(const float* x, float* y, int64_t n, bool log);
void sigmoid_avx512(const float* x, float* y, int64_t n);
void tanh_avx512(const float* x, float* y, int64_t n);
void erf_avx512(const float* x, float* y, int64_t n);
void log1p_avx512(const float* x, float* y, int64_t n);
void expm1_avx512(const float* x, float* y, int64_t n);
void gelu_avx512(const float* x, float* y, int64_t n, bool tanh_form);
void gelu_backward_avx512(const float* dy, const float* x, float* dx, int64_t n, bool tanh_form);
void exp_shifted_avx512(const float* x, float m, float* y, int64_t n);
void add_scaled_avx512(const float* a, const float* b, float alpha, float* out, int64_t n);
void add_scaled_avx512(const double* a, const double* b, double alpha, double* out, int64_t n);
bool softmax_row_avx512(const float* x, float* y, int64_t n, bool log);

}  // namespace minigrad::cpu::activation_math
