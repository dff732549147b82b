#include "cpu/elementwise.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu/activation_math.h"
#include "cpu/cpu_features.h"
#include "cpu/parallel.h"
#include "ops/gelu.h"

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

template <typename T>
void hardtanh_forward(const T* x, T* y, int64_t n, T low, T high) {
  map_unary(x, y, n, [=](T v) { return v < low ? low : (v > high ? high : v); });  // NaN compares false: kept
}


template <typename T>
void hardtanh_backward(const T* dy, const T* x, T* dx, int64_t n, T low, T high) {
  map_binary(dy, x, dx, n, [=](T g, T v) { return v > low && v < high ? g : T(0); });
}

template <typename T>
void leaky_relu_forward(const T* x, T* y, int64_t n, T slope) {
  map_unary(x, y, n, [=](T v) { return v > T(0) ? v : v * slope; });
}

template <typename T>
void leaky_relu_backward(const T* dy, const T* x, T* dx, int64_t n, T slope) {
  map_binary(dy, x, dx, n, [=](T g, T v) { return v > T(0) ? g : g * slope; });
}

namespace {
using FloatLoop = void (*)(const float*, float*, int64_t);
enum class FloatActivation { sigmoid, tanh, erf, log1p, expm1 };

// The float loop for the best instruction set the CPU has: AVX-512 also where
// its FMAs run at AVX2's rate (Zen 4), as it takes half the instructions.
FloatLoop float_loop(FloatActivation activation) {
  namespace m = activation_math;
  // One row per instruction set, in FloatActivation's order.
  using Loops = std::array<FloatLoop, 5>;
#ifdef MINIGRAD_X86
  static constexpr Loops avx512 = {m::sigmoid_avx512, m::tanh_avx512, m::erf_avx512, m::log1p_avx512, m::expm1_avx512};
  static constexpr Loops avx2 = {m::sigmoid_avx2, m::tanh_avx2, m::erf_avx2, m::log1p_avx2, m::expm1_avx2};
  const CpuFeatures& features = cpu_features();
  if (features.avx512f) return avx512[static_cast<size_t>(activation)];
  if (features.avx2_fma) return avx2[static_cast<size_t>(activation)];
#endif
  static constexpr Loops baseline = {m::sigmoid_loop, m::tanh_loop, m::erf_loop, m::log1p_loop, m::expm1_loop};
  return baseline[static_cast<size_t>(activation)];
}

// The activations over one slice, on the calling thread: float through the
// instruction set's loop, double element by element through `scalar` (libm).
template <typename T, typename Scalar>
void activation_slice(FloatActivation activation, const T* x, T* y, int64_t n, Scalar scalar) {
  if constexpr (std::is_same_v<T, float>) {
    float_loop(activation)(x, y, n);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = scalar(x[i]);
  }
}

template <typename T>
void sigmoid_slice(const T* x, T* y, int64_t n) {
  // With e = exp(-|x|) <= 1 nothing overflows: 1 / (1 + e) for x >= 0, e / (1 + e) otherwise.
  activation_slice(FloatActivation::sigmoid, x, y, n, [](T v) {
    const T e = std::exp(-std::abs(v)), r = T(1) / (T(1) + e);
    return v >= T(0) ? r : e * r;
  });
}

template <typename T>
void tanh_slice(const T* x, T* y, int64_t n) {
  activation_slice(FloatActivation::tanh, x, y, n, [](T v) { return std::tanh(v); });
}

// An activation over [0, n), in slices over the threads (see activation_slice).
template <typename T, typename Scalar>
void map_activation(FloatActivation activation, const T* x, T* y, int64_t n, Scalar scalar) {
  for_each_slice(n, [=](int64_t begin, int64_t end) {
    activation_slice(activation, x + begin, y + begin, end - begin, scalar);
  });
}
}  // namespace

template <typename T>
void add_scaled(const T* a, const T* b, T alpha, T* out, int64_t n) {
  for_each_slice(n, [=](int64_t begin, int64_t end) {
    namespace m = activation_math;
#ifdef MINIGRAD_X86
    const CpuFeatures& features = cpu_features();
    if (features.avx512f) return m::add_scaled_avx512(a + begin, b + begin, alpha, out + begin, end - begin);
    if (features.avx2_fma) return m::add_scaled_avx2(a + begin, b + begin, alpha, out + begin, end - begin);
#endif
    m::add_scaled_loop(a + begin, b + begin, alpha, out + begin, end - begin);  // std::fma through libm
  });
}
template void add_scaled<float>(const float*, const float*, float, float*, int64_t);
template void add_scaled<double>(const double*, const double*, double, double*, int64_t);

void exp_shifted(const float* x, float m, float* y, int64_t n) {
  namespace a = activation_math;
#ifdef MINIGRAD_X86
  const CpuFeatures& features = cpu_features();
  if (features.avx512f) return a::exp_shifted_avx512(x, m, y, n);
  if (features.avx2_fma) return a::exp_shifted_avx2(x, m, y, n);
#endif
  a::exp_shifted_loop(x, m, y, n);
}

bool softmax_row_vectorised(const float* x, float* y, int64_t n, bool log) {
  namespace a = activation_math;
#ifdef MINIGRAD_X86
  const CpuFeatures& features = cpu_features();
  if (features.avx512f) return a::softmax_row_avx512(x, y, n, log);
  if (features.avx2_fma) return a::softmax_row_avx2(x, y, n, log);
#endif
  return a::softmax_row_loop<16>(x, y, n, log);
}

template <typename T>
void sigmoid_forward(const T* x, T* y, int64_t n) {
  for_each_slice(n, [=](int64_t begin, int64_t end) { sigmoid_slice(x + begin, y + begin, end - begin); });
}

template <typename T>
void sigmoid_backward(const T* dy, const T* y, T* dx, int64_t n) {
  map_binary(dy, y, dx, n, [](T g, T out) { return g * out * (T(1) - out); });
}

template <typename T>
void tanh_forward(const T* x, T* y, int64_t n) {
  for_each_slice(n, [=](int64_t begin, int64_t end) { tanh_slice(x + begin, y + begin, end - begin); });
}

template <typename T>
void tanh_backward(const T* dy, const T* y, T* dx, int64_t n) {
  map_binary(dy, y, dx, n, [](T g, T out) { return g * (T(1) - out * out); });
}

template <typename T>
void erf_forward(const T* x, T* y, int64_t n) {
  map_activation(FloatActivation::erf, x, y, n, [](T v) { return std::erf(v); });
}

template <typename T>
void log1p_forward(const T* x, T* y, int64_t n) {
  map_activation(FloatActivation::log1p, x, y, n, [](T v) { return std::log1p(v); });
}

template <typename T>
void expm1_forward(const T* x, T* y, int64_t n) {
  map_activation(FloatActivation::expm1, x, y, n, [](T v) { return std::expm1(v); });
}

namespace {
// The float GELU loops, forward and backward, for the best instruction set the CPU has.
struct GeluLoops {
  void (*forward)(const float*, float*, int64_t, bool);
  void (*backward)(const float*, const float*, float*, int64_t, bool);
};

GeluLoops gelu_float_loops() {
  namespace m = activation_math;
#ifdef MINIGRAD_X86
  const CpuFeatures& features = cpu_features();
  if (features.avx512f) return {m::gelu_avx512, m::gelu_backward_avx512};
  if (features.avx2_fma) return {m::gelu_avx2, m::gelu_backward_avx2};
#endif
  return {m::gelu_loop, m::gelu_backward_loop};
}
}  // namespace

template <typename T>
void gelu_forward(const T* x, T* y, int64_t n, bool tanh_form) {
  if constexpr (std::is_same_v<T, float>) {
    const auto loop = gelu_float_loops().forward;
    for_each_slice(n, [=](int64_t begin, int64_t end) { loop(x + begin, y + begin, end - begin, tanh_form); });
  } else {
    map_unary(x, y, n, [=](T v) { return gelu::value(v, tanh_form); });
  }
}

template <typename T>
void gelu_backward(const T* dy, const T* x, T* dx, int64_t n, bool tanh_form) {
  if constexpr (std::is_same_v<T, float>) {
    const auto loop = gelu_float_loops().backward;
    for_each_slice(n, [=](int64_t begin, int64_t end) {
      loop(dy + begin, x + begin, dx + begin, end - begin, tanh_form);
    });
  } else {
    map_binary(dy, x, dx, n, [=](T g, T v) { return g * gelu::derivative(v, tanh_form); });
  }
}

// Row by row: each activation runs over a whole run of the row (the gates of
// one kind are H apart), so the vectorised loops above serve it.
template <typename T>
void lstm_cell_forward(const T* gates, const T* c, T* acts, T* c_next, T* tanh_c, T* h, int64_t N, int64_t H) {
  parallel_for(N, threads_for(N * 4 * H, kMinParallelWork), [=](int64_t n) {
    const T* a = gates + n * 4 * H;
    T* s = acts + n * 4 * H;
    sigmoid_slice(a, s, 2 * H);  // i and f
    tanh_slice(a + 2 * H, s + 2 * H, H);
    sigmoid_slice(a + 3 * H, s + 3 * H, H);
    const T* __restrict i = s;
    const T* __restrict f = s + H;
    const T* __restrict g = s + 2 * H;
    const T* __restrict o = s + 3 * H;
    const T* __restrict c_row = c + n * H;
    T* __restrict c_next_row = c_next + n * H;
    T* __restrict tanh_row = tanh_c + n * H;
    T* __restrict h_row = h + n * H;
    for (int64_t j = 0; j < H; ++j) c_next_row[j] = f[j] * c_row[j] + i[j] * g[j];
    tanh_slice(c_next_row, tanh_row, H);
    for (int64_t j = 0; j < H; ++j) h_row[j] = o[j] * tanh_row[j];
  });
}

template <typename T>
void lstm_cell_backward(const T* dh, const T* dc_next, const T* acts, const T* c, const T* tanh_c, T* dgates,
                        T* dc, int64_t N, int64_t H) {
  parallel_for(N, threads_for(N * 4 * H, kMinParallelWork), [=](int64_t n) {
    const T* __restrict s = acts + n * 4 * H;
    const T* __restrict dh_row = dh + n * H;
    const T* __restrict dc_next_row = dc_next + n * H;
    const T* __restrict c_row = c + n * H;
    const T* __restrict tanh_row = tanh_c + n * H;
    T* __restrict d = dgates + n * 4 * H;
    T* __restrict dc_row = dc + n * H;
    for (int64_t j = 0; j < H; ++j) {
      const T i = s[j], f = s[H + j], g = s[2 * H + j], o = s[3 * H + j], t = tanh_row[j];
      const T dct = dc_next_row[j] + dh_row[j] * o * (T(1) - t * t);  // c_next's whole gradient
      d[j] = dct * g * i * (T(1) - i);
      d[H + j] = dct * c_row[j] * f * (T(1) - f);
      d[2 * H + j] = dct * i * (T(1) - g * g);
      d[3 * H + j] = dh_row[j] * t * o * (T(1) - o);
      dc_row[j] = dct * f;
    }
  });
}

template <typename T>
void gru_cell_forward(const T* x_proj, const T* h_proj, const T* h, T* acts, T* h_next, int64_t N, int64_t H) {
  // The pre-activations of a row go to `pre` first, so that the activations run
  // as whole vectorised runs (r and z together). Left uninitialised: every
  // element is written before it is read (a vector zeroed it, a pass per step).
  const std::unique_ptr<T[]> pre(new T[static_cast<size_t>(N * 3 * H)]);
  parallel_for(N, threads_for(N * 3 * H, kMinParallelWork), [&](int64_t n) {
    const T* __restrict x = x_proj + n * 3 * H;
    const T* __restrict hp = h_proj + n * 3 * H;
    const T* __restrict h_row = h + n * H;
    T* __restrict p = pre.get() + n * 3 * H;
    T* __restrict s = acts + n * 3 * H;
    T* __restrict out = h_next + n * H;
    for (int64_t j = 0; j < 2 * H; ++j) p[j] = x[j] + hp[j];
    sigmoid_slice(p, s, 2 * H);  // r, z
    for (int64_t j = 0; j < H; ++j) p[2 * H + j] = x[2 * H + j] + s[j] * hp[2 * H + j];
    tanh_slice(p + 2 * H, s + 2 * H, H);  // n
    for (int64_t j = 0; j < H; ++j) out[j] = s[2 * H + j] + s[H + j] * (h_row[j] - s[2 * H + j]);
  });
}

template <typename T>
void gru_cell_backward(const T* dh, const T* acts, const T* h_proj, const T* h, T* dx_proj, T* dh_proj,
                       T* dh_direct, int64_t N, int64_t H) {
  parallel_for(N, threads_for(N * 3 * H, kMinParallelWork), [=](int64_t n) {
    const T* __restrict s = acts + n * 3 * H;
    const T* __restrict hp = h_proj + n * 3 * H;
    const T* __restrict dh_row = dh + n * H;
    const T* __restrict h_row = h + n * H;
    T* __restrict dx = dx_proj + n * 3 * H;
    T* __restrict dhp = dh_proj + n * 3 * H;
    T* __restrict direct = dh_direct + n * H;
    for (int64_t j = 0; j < H; ++j) {
      const T r = s[j], z = s[H + j], new_gate = s[2 * H + j], g = dh_row[j];
      const T d_new = (g - g * z) * (T(1) - new_gate * new_gate);  // through tanh
      const T d_r = d_new * hp[2 * H + j] * r * (T(1) - r);
      const T d_z = g * (h_row[j] - new_gate) * z * (T(1) - z);
      dx[j] = dhp[j] = d_r;
      dx[H + j] = dhp[H + j] = d_z;
      dx[2 * H + j] = d_new;
      dhp[2 * H + j] = d_new * r;
      direct[j] = g * z;
    }
  });
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

#define MINIGRAD_INSTANTIATE(T)                                                                                    \
  template void relu_forward<T>(const T*, T*, int64_t);                                                            \
  template void relu_backward<T>(const T*, const T*, T*, int64_t);                                                 \
  template void hardtanh_forward<T>(const T*, T*, int64_t, T, T);                                                  \
  template void hardtanh_backward<T>(const T*, const T*, T*, int64_t, T, T);                                       \
  template void leaky_relu_forward<T>(const T*, T*, int64_t, T);                                                   \
  template void leaky_relu_backward<T>(const T*, const T*, T*, int64_t, T);                                        \
  template void sigmoid_forward<T>(const T*, T*, int64_t);                                                         \
  template void sigmoid_backward<T>(const T*, const T*, T*, int64_t);                                              \
  template void tanh_forward<T>(const T*, T*, int64_t);                                                            \
  template void tanh_backward<T>(const T*, const T*, T*, int64_t);                                                 \
  template void erf_forward<T>(const T*, T*, int64_t);                                                             \
  template void log1p_forward<T>(const T*, T*, int64_t);                                                           \
  template void expm1_forward<T>(const T*, T*, int64_t);                                                           \
  template void gelu_forward<T>(const T*, T*, int64_t, bool);                                                      \
  template void gelu_backward<T>(const T*, const T*, T*, int64_t, bool);                                           \
  template void lstm_cell_forward<T>(const T*, const T*, T*, T*, T*, T*, int64_t, int64_t);                        \
  template void lstm_cell_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t); \
  template void gru_cell_forward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t);                       \
  template void gru_cell_backward<T>(const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t);        \
  template void bias_add<T>(const T*, const T*, T*, int64_t, int64_t, int64_t);                                    \
  template void bias_grad<T>(const T*, T*, int64_t, int64_t, int64_t);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)
#undef MINIGRAD_INSTANTIATE

}  // namespace minigrad::cpu
