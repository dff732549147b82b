#include "cpu/softmax_loss.h"

#include <cmath>
#include <limits>
#include <vector>

#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

template <typename T>
T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// y = log_softmax(x) for one row; returns sum_j y[j] (used by label smoothing).
template <typename T>
double log_softmax_row(const T* x, T* y, int64_t n) {
  const T m = row_max(x, n);
  double sum_exp = 0;
  for (int64_t j = 0; j < n; ++j) sum_exp += std::exp(x[j] - m);
  // (x - m) - lse, not x - (m + lse): m + lse would round away lse next to a large m.
  const T lse = static_cast<T>(std::log(sum_exp));
  double sum_y = 0;
  for (int64_t j = 0; j < n; ++j) {
    y[j] = (x[j] - m) - lse;
    sum_y += y[j];
  }
  return sum_y;
}

[[maybe_unused]] bool parallel_rows(int64_t rows, int64_t cols) { return rows > 1 && rows * cols >= kMinParallelWork; }

}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    const T* xi = x + i * cols;
    T* yi = y + i * cols;
    const T m = row_max(xi, cols);
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) {
      yi[j] = std::exp(xi[j] - m);
      sum += yi[j];
    }
    const T inv = static_cast<T>(1.0 / sum);
    for (int64_t j = 0; j < cols; ++j) yi[j] *= inv;
  }
}

template <typename T>
void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for num_threads(num_threads()) if (parallel_rows(rows, cols))
  for (int64_t i = 0; i < rows; ++i) log_softmax_row(x + i * cols, y + i * cols, cols);
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
    double sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += dy[o + j];
    const T s = static_cast<T>(sum);
    for (int64_t j = 0; j < cols; ++j) dx[o + j] = dy[o + j] - std::exp(y[o + j]) * s;
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
    const double sum_lp = log_softmax_row(logits + i * C, lp, C);
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
    for (int64_t j = 0; j < C; ++j) dl[j] = (std::exp(lp[j]) - off_target) * scale;
    dl[t] = (std::exp(lp[t]) - on_target) * scale;
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
