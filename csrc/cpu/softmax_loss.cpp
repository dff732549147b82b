#include "cpu/softmax_loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu/elementwise.h"
#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// The largest element (-inf for an empty row), nan if there is one: partial
// maxima and nan flags in kChains GCC vectors of 16 bytes (SSE2's, the build's
// baseline), independent chains of compares. GCC 12 kept the lanes of a plain
// array in scalar registers: 60% of a 1000-class cross-entropy's forward.
template <typename T>
struct Vector16;
template <>
struct Vector16<float> {
  typedef float type __attribute__((vector_size(16)));
};
template <>
struct Vector16<double> {
  typedef double type __attribute__((vector_size(16)));
};

template <typename T>
T row_max(const T* x, int64_t n) {
  using Vec = typename Vector16<T>::type;
  using Mask = decltype(Vec{} != Vec{});
  constexpr int64_t kWidth = 16 / sizeof(T), kChains = 4, kStep = kWidth * kChains;
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
  for (int64_t c = 0; c < kChains; ++c)
    for (int64_t k = 0; k < kWidth; ++k) {
      m = maxima[c][k] > m ? maxima[c][k] : m;
      has_nan |= nans[c][k] != 0;
    }
  for (; j < n; ++j) {
    m = x[j] > m ? x[j] : m;
    has_nan |= x[j] != x[j];
  }
  return has_nan ? std::numeric_limits<T>::quiet_NaN() : m;
}

[[maybe_unused]] bool parallel_rows(int64_t rows, int64_t cols) { return rows > 1 && rows * cols >= kMinParallelWork; }

// float rows take the vectorised exp (libm's expf is a call per element:
// attention's softmax over rows of 64 scores took 4 ns per element); it does
// not keep nan, so rows where x - max may be nan (a nan in the row, an
// infinite maximum) take libm's, as double rows do.

// out[j] = e^v[j] for v[j] <= 0 (log-probabilities).
template <typename T>
void exp_nonpositive_row(const T* v, T* out, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    int has_nan = 0;
    for (int64_t j = 0; j < n; ++j) has_nan |= v[j] != v[j];
    if (!has_nan) return exp_shifted(v, 0.0f, out, n);
  }
  for (int64_t j = 0; j < n; ++j) out[j] = std::exp(v[j]);
}

// y[j] = e^(x[j] - m), m the row's maximum; their sum.
template <typename T>
double exp_shifted_row(const T* x, T m, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (std::isfinite(m)) {
      exp_shifted(x, m, y, n);
      return sum_as_double(y, n);
    }
  }
  for (int64_t j = 0; j < n; ++j) y[j] = std::exp(x[j] - m);
  return sum_as_double(y, n);
}

// y = log_softmax(x) for one row; returns sum_j y[j] when `sum` (label
// smoothing reads it), else 0.
template <typename T>
double log_softmax_row(const T* x, T* y, int64_t n, bool sum) {
  const T m = row_max(x, n);
  const double sum_exp = exp_shifted_row(x, m, y, n);  // y holds the exps until overwritten below
  // (x - m) - lse, not x - (m + lse): m + lse would round away lse next to a large m.
  const T lse = static_cast<T>(std::log(sum_exp));
  for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - m) - lse;
  return sum ? sum_as_double(y, n) : 0.0;
}
}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    T* yi = y + i * cols;
    const double sum = exp_shifted_row(x + i * cols, row_max(x + i * cols, cols), yi, cols);
    const T inv = static_cast<T>(1.0 / sum);
    for (int64_t j = 0; j < cols; ++j) yi[j] *= inv;
  }
}

template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(rows, cols))
  for (int64_t i = 0; i < rows; ++i) log_softmax_row(x + i * cols, y + i * cols, cols, false);
}

template <typename T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t o = i * cols;
    double dot = 0;
    for (int64_t j = 0; j < cols; ++j) dot += static_cast<double>(dy[o + j]) * y[o + j];
    const T d = static_cast<T>(dot);
    for (int64_t j = 0; j < cols; ++j) dx[o + j] = y[o + j] * (dy[o + j] - d);
  }
}

template <typename T>
void log_softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t o = i * cols;
    const T s = static_cast<T>(sum_as_double(dy + o, cols));
    exp_nonpositive_row(y + o, dx + o, cols);
    for (int64_t j = 0; j < cols; ++j) dx[o + j] = dy[o + j] - dx[o + j] * s;
  }
}

template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* target, T* log_probs, T* loss, int64_t N, int64_t C,
                           const CrossEntropyOptions& options) {
  const double ls = options.label_smoothing;
  // Per-row losses first, then a sequential sum: the result does not depend on the thread count.
  std::vector<double> row_loss(static_cast<size_t>(N));
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(N, C))
  for (int64_t i = 0; i < N; ++i) {
    T* lp = log_probs + i * C;
    const double sum_lp = log_softmax_row(logits + i * C, lp, C, ls != 0);
    const int64_t t = target[i];
    row_loss[i] = t == options.ignore_index ? 0.0 : -(1 - ls) * lp[t] - ls / static_cast<double>(C) * sum_lp;
  }
  if (options.reduction == Reduction::none) {
    for (int64_t i = 0; i < N; ++i) loss[i] = static_cast<T>(row_loss[i]);
    return;
  }
  double total = 0;
  int64_t kept = 0;
  for (int64_t i = 0; i < N; ++i) {
    total += row_loss[i];
    kept += target[i] != options.ignore_index;
  }
  loss[0] = static_cast<T>(options.reduction == Reduction::mean ? total / static_cast<double>(kept) : total);
}

template <typename T>
void cross_entropy_backward(const T* log_probs, const int64_t* target, const T* grad_loss, T* dlogits, int64_t N,
                            int64_t C, const CrossEntropyOptions& options) {
  double mean_scale = 1;
  if (options.reduction == Reduction::mean) {
    int64_t kept = 0;
    for (int64_t i = 0; i < N; ++i) kept += target[i] != options.ignore_index;
    mean_scale = 1.0 / static_cast<double>(kept);
  }
  const T off_target = static_cast<T>(options.label_smoothing / static_cast<double>(C));
  const T on_target = static_cast<T>(1 - options.label_smoothing) + off_target;
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(N, C))
  for (int64_t i = 0; i < N; ++i) {
    const T* lp = log_probs + i * C;
    T* dl = dlogits + i * C;
    const int64_t t = target[i];
    if (t == options.ignore_index) {
      for (int64_t j = 0; j < C; ++j) dl[j] = 0;
      continue;
    }
    const T scale = options.reduction == Reduction::none ? grad_loss[i]
                                                         : static_cast<T>(grad_loss[0] * mean_scale);
    exp_nonpositive_row(lp, dl, C);
    const T p_target = dl[t];
    for (int64_t j = 0; j < C; ++j) dl[j] = (dl[j] - off_target) * scale;
    dl[t] = (p_target - on_target) * scale;
  }
}

#define MINIGRAD_INSTANTIATE(T)                                                                     \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t);                                 \
  template void log_softmax_forward<T>(const T*, T*, int64_t, int64_t);                             \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);                      \
  template void log_softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);                  \
  template void cross_entropy_forward<T>(const T*, const int64_t*, T*, T*, int64_t, int64_t,        \
                                         const CrossEntropyOptions&);                               \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, T*, int64_t, int64_t, \
                                          const CrossEntropyOptions&);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)
#undef MINIGRAD_INSTANTIATE

}  // namespace minigrad::cpu
