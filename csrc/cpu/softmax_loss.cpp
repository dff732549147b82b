#include "cpu/softmax_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/elementwise.h"
#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// The largest non-nan element (-inf when there is none), over kLanes partial
// maxima: one running maximum is a chain of dependent compares.
template <typename T>
T row_max(const T* x, int64_t n) {
  constexpr int64_t kLanes = 8;
  T lanes[kLanes];
  std::fill(lanes, lanes + kLanes, -std::numeric_limits<T>::infinity());
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) lanes[k] = x[j + k] > lanes[k] ? x[j + k] : lanes[k];
  T m = -std::numeric_limits<T>::infinity();
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  for (int64_t k = 0; k < kLanes; ++k) m = lanes[k] > m ? lanes[k] : m;
  return m;
}

[[maybe_unused]] bool parallel_rows(int64_t rows, int64_t cols) { return rows > 1 && rows * cols >= kMinParallelWork; }

// out[j] = e^v[j] for v[j] <= 0 (shifted logits, log-probabilities). float:
// the vectorised exp (libm's expf is a call per element: attention's softmax
// over rows of 64 scores took 4 ns per element), or libm's where the row holds
// a nan, whose exp the vectorised one does not keep. out may be v.
void exp_nonpositive_row(const float* v, float* out, int64_t n) {
  bool has_nan = false;
  for (int64_t j = 0; j < n; ++j) {
    out[j] = v[j];
    has_nan |= v[j] != v[j];
  }
  if (has_nan) {
    for (int64_t j = 0; j < n; ++j) out[j] = std::exp(out[j]);
    return;
  }
  exp_nonpositive_inplace(out, n);
}

void exp_nonpositive_row(const double* v, double* out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = std::exp(v[j]);
}

// e^(x - max) of one row into y; their sum.
template <typename T>
double exp_shifted_row(const T* x, T m, T* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] - m;
  exp_nonpositive_row(y, y, n);
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
