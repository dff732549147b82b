#include "cpu/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// y[i] = f(x[i]), as a plain loop over restrict pointers that vectorises.
template <typename T, typename Fn>
void map_unary(const T* x, T* y, int64_t n, Fn f) {
  for_each_slice(n, [=](int64_t begin, int64_t end) {
    const T* __restrict in = x;
    T* __restrict out = y;
    for (int64_t i = begin; i < end; ++i) out[i] = f(in[i]);
  });
}

// dx[i] = f(dy[i], y[i]).
template <typename T, typename Fn>
void map_binary(const T* dy, const T* y, T* dx, int64_t n, Fn f) {
  for_each_slice(n, [=](int64_t begin, int64_t end) {
    const T* __restrict a = dy;
    const T* __restrict b = y;
    T* __restrict out = dx;
    for (int64_t i = begin; i < end; ++i) out[i] = f(a[i], b[i]);
  });
}

// The sum of v[0..n) in double, in a fixed order: kLanes interleaved partial
// sums (one running sum would be a chain of dependent adds, 4 cycles each).
template <typename T>
double sum_as_double(const T* v, int64_t n) {
  constexpr int64_t kLanes = 8;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) lanes[k] += static_cast<double>(v[i + k]);
  double sum = 0;
  for (; i < n; ++i) sum += static_cast<double>(v[i]);
  for (int64_t k = 0; k < kLanes; ++k) sum += lanes[k];
  return sum;
}

}  // namespace

template <typename T>
void relu_forward(const T* x, T* y, int64_t n) {
  map_unary(x, y, n, [](T v) { return relu_value(v); });
}

template <typename T>
void relu_backward(const T* dy, const T* y, T* dx, int64_t n) {
  // `out <= 0`, not `out > 0`: a NaN output passes the gradient on, as PyTorch's threshold_backward.
  map_binary(dy, y, dx, n, [](T g, T out) { return out <= T(0) ? T(0) : g; });
}

namespace {
// e^v of a float v <= 0 as Cephes' expf (avx_mathfun's constants): v = n ln 2 +
// r, a degree-7 polynomial in r, 2^n through the exponent bits; within 2 ulp.
// Arithmetic and selects only, so the loop vectorises (libm's expf is a call
// per element). Below -87.3 it returns 0 (libm: subnormals down to -103.9);
// nan returns nan.
float exp_nonpositive(float v) {
  const float x = v >= -87.3f ? v : -87.3f;  // nan too: no nan reaches the integer conversions
  const float fx = x * 1.44269504088896341f + 0.5f;
  float n = static_cast<float>(static_cast<int32_t>(fx));  // floor, as the truncation of a
  n = n > fx ? n - 1.0f : n;                                // negative number rounds it up
  const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;  // n in [-126, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return v >= -87.3f ? p * scale : v < -87.3f ? 0.0f : v;  // nan stays nan
}
double exp_nonpositive(double v) { return std::exp(v); }
}  // namespace

template <typename T>
void sigmoid_forward(const T* x, T* y, int64_t n) {
  // With e = exp(-|x|) <= 1 nothing overflows: sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) otherwise.
  map_unary(x, y, n, [](T v) {
    const T e = exp_nonpositive(-std::abs(v));
    const T r = T(1) / (T(1) + e);
    return v >= T(0) ? r : e * r;
  });
}

template <typename T>
void sigmoid_backward(const T* dy, const T* y, T* dx, int64_t n) {
  map_binary(dy, y, dx, n, [](T g, T out) { return g * out * (T(1) - out); });
}

namespace {
// tanh of a float as Eigen's rational approximation (generic_fast_tanh_float in
// Eigen/src/Core/MathFunctionsImpl.h: a few ulp; the input itself below 4e-4,
// where tanh(x) - x < x^3 / 3, so -0 stays -0). Arithmetic and selects only, so
// the loop vectorises: libm's tanhf is a call per element (4096 floats, 1
// thread: 42 us, numpy's vectorised tanh 2), an LSTM step's largest cost.
float tanh_value(float v) {
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
double tanh_value(double v) { return std::tanh(v); }
}  // namespace

template <typename T>
void tanh_forward(const T* x, T* y, int64_t n) {
  map_unary(x, y, n, [](T v) { return tanh_value(v); });
}

template <typename T>
void tanh_backward(const T* dy, const T* y, T* dx, int64_t n) {
  map_binary(dy, y, dx, n, [](T g, T out) { return g * (T(1) - out * out); });
}

template <typename T>
void bias_add(const T* x, const T* bias, T* y, int64_t N, int64_t C, int64_t inner) {
  [[maybe_unused]] const bool parallel = N * C * inner >= kMinParallelWork;
  if (inner == 1) {  // (N, C), e.g. Linear: add the bias row by row, contiguous in c.
#pragma omp parallel for num_threads(num_threads()) if (parallel && N > 1)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) y[n * C + c] = x[n * C + c] + bias[c];
    return;
  }
  const int64_t planes = N * C;
#pragma omp parallel for num_threads(num_threads()) if (parallel && planes > 1)
  for (int64_t p = 0; p < planes; ++p) {
    const T b = bias[p % C];
    const T* xp = x + p * inner;
    T* yp = y + p * inner;
    for (int64_t s = 0; s < inner; ++s) yp[s] = xp[s] + b;
  }
}

template <typename T>
void bias_grad(const T* dy, T* dbias, int64_t N, int64_t C, int64_t inner) {
  if (inner == 1) {
    // (N, C), e.g. Linear: each thread adds its columns of every row, in row
    // order, into double sums, a row's columns at a time (the loop vectorises).
    // Per element (blocks of 16 channels, as below), a 2048 x 256 gradient
    // took 630 us at 1 thread.
    const int threads = threads_for(N * C, kMinParallelWork);
    std::vector<double> sums(static_cast<size_t>(C), 0.0);
    double* const acc = sums.data();
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int t = 0; t < threads; ++t) {
      const int64_t c0 = C * t / threads, c1 = C * (t + 1) / threads;
      for (int64_t n = 0; n < N; ++n) {
        const T* __restrict row = dy + n * C;
        for (int64_t c = c0; c < c1; ++c) acc[c] += static_cast<double>(row[c]);
      }
    }
    for (int64_t c = 0; c < C; ++c) dbias[c] = static_cast<T>(acc[c]);
    return;
  }
  // Threads own blocks of channels; within a block the loop runs n-major.
  constexpr int64_t kBlock = 16;
  const int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(num_threads()) if (blocks > 1 && N * C * inner >= kMinParallelWork)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kBlock, c1 = std::min(C, c0 + kBlock);
    double acc[kBlock] = {};
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) {
        acc[c - c0] += sum_as_double(dy + (n * C + c) * inner, inner);
      }
    for (int64_t c = c0; c < c1; ++c) dbias[c] = static_cast<T>(acc[c - c0]);
  }
}

#define MINIGRAD_INSTANTIATE(T)                                                 \
  template void relu_forward<T>(const T*, T*, int64_t);                         \
  template void relu_backward<T>(const T*, const T*, T*, int64_t);              \
  template void sigmoid_forward<T>(const T*, T*, int64_t);                      \
  template void sigmoid_backward<T>(const T*, const T*, T*, int64_t);           \
  template void tanh_forward<T>(const T*, T*, int64_t);                         \
  template void tanh_backward<T>(const T*, const T*, T*, int64_t);              \
  template void bias_add<T>(const T*, const T*, T*, int64_t, int64_t, int64_t); \
  template void bias_grad<T>(const T*, T*, int64_t, int64_t, int64_t);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)
#undef MINIGRAD_INSTANTIATE

}  // namespace minigrad::cpu
