#include "cpu/softmax_loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu/activation_math.h"
#include "cpu/elementwise.h"
#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

[[maybe_unused]] bool parallel_rows(int64_t rows, int64_t cols) { return rows > 1 && rows * cols >= kMinParallelWork; }

// out[j] = e^v[j] for v[j] <= 0 (log-probabilities): floats through the
// vectorised exp (libm's expf is a call per element: attention's softmax over
// rows of 64 scores took 4 ns per element), which does not keep nan, so rows
// with a nan take libm's, as double rows do.
template <typename T>
void exp_nonpositive_row(const T* v, T* out, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    int has_nan = 0;
    for (int64_t j = 0; j < n; ++j) has_nan |= v[j] != v[j];
    if (!has_nan) return exp_shifted(v, 0.0f, out, n);
  }
  for (int64_t j = 0; j < n; ++j) out[j] = std::exp(v[j]);
}

// y = softmax(x), or log_softmax(x) when `log`, for one row: float rows
// through the instruction set's loop, double rows (and float rows where x -
// max may be nan) through libm.
template <typename T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  if constexpr (std::is_same_v<T, float>) {
    if (softmax_row_vectorised(x, y, n, log)) return;
  }
  const T m = activation_math::max_or_nan<T, 16>(x, n);
  for (int64_t j = 0; j < n; ++j) y[j] = std::exp(x[j] - m);
  activation_math::finish_softmax_row(x, m, sum_as_double(y, n), y, n, log);
}
}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(rows, cols))
  for (int64_t i = 0; i < rows; ++i) softmax_row(x + i * cols, y + i * cols, cols, false);
}

template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(rows, cols))
  for (int64_t i = 0; i < rows; ++i) softmax_row(x + i * cols, y + i * cols, cols, true);
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
    softmax_row(logits + i * C, lp, C, true);
    const double sum_lp = ls != 0 ? sum_as_double(lp, C) : 0.0;
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
