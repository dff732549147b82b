#include "cpu/layer_norm.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "cpu/parallel.h"
#include "cpu/simd_portable.h"

namespace minigrad::cpu {
namespace {

int row_threads(const LayerNormShape& s) { return threads_for(s.rows * s.cols, kMinParallelWork); }

// Sums over i in [0, n) of the K terms term(rows[i]...), in kChains chains of
// 16-byte vectors of T (the baseline's SSE2: 4 floats an add, where doubles
// take 2, and GCC kept a plain array of partial sums in memory, a store and a
// reload per add), added into double every kBlock elements, in a fixed order.
// term is generic: called with vectors, and with scalars for the tail.
template <typename T, int K, typename Term, typename... Rows>
std::array<double, K> row_sums(int64_t n, const Term& term, const Rows*... rows) {
  using S = simd::Portable<T>;
  using V = typename S::V;
  constexpr int64_t kChains = 4, kStep = S::W * kChains, kBlock = 64 * kStep;
  std::array<double, K> totals{};
  int64_t i = 0;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t end = std::min(n, start + kBlock);
    V chains[K][kChains] = {};
    for (i = start; i + kStep <= end; i += kStep)
      for (int64_t c = 0; c < kChains; ++c) {
        const std::array<V, K> terms = term(S::load(rows + i + c * S::W)...);
        for (int k = 0; k < K; ++k) chains[k][c] += terms[k];
      }
    for (int k = 0; k < K; ++k) {
      const V v = (chains[k][0] + chains[k][1]) + (chains[k][2] + chains[k][3]);
      for (int64_t w = 0; w < S::W; ++w) totals[k] += v[w];
    }
  }
  for (; i < n; ++i) {  // under kStep elements, all in the last block
    const std::array<T, K> terms = term(rows[i]...);
    for (int k = 0; k < K; ++k) totals[k] += terms[k];
  }
  return totals;
}

// One row: its mean and invstd (two passes: a row is in L1 after the first),
// then y = (x - mean) * invstd * weight + bias. (x - mean) rather than
// x * scale + shift: no cancellation when |mean| >> std.
template <typename T>
void normalize_row(const T* x, const T* weight, const T* bias, T* __restrict__ y, T& save_mean, T& save_invstd,
                   int64_t cols, double eps) {
  const double n = static_cast<double>(cols);
  const T mean = static_cast<T>(row_sums<T, 1>(cols, [](auto v) { return std::array{v}; }, x)[0] / n);
  const double squares = row_sums<T, 1>(cols, [&](auto v) { return std::array{(v - mean) * (v - mean)}; }, x)[0];
  save_mean = mean;
  save_invstd = static_cast<T>(1.0 / std::sqrt(squares / n + eps));
  const T scale = save_invstd;
  for (int64_t i = 0; i < cols; ++i)
    y[i] = (x[i] - mean) * scale * (weight ? weight[i] : T(1)) + (bias ? bias[i] : T(0));
}

// The rows are split into this many fixed slices for dweight and dbias: each
// slice sums its rows' terms in its own buffers and the buffers are added in
// order, so the sums depend on the shape only, never on the thread count.
// At most 64 slices, and 16 MiB of buffers.
int64_t param_slices(const LayerNormShape& s) {
  constexpr int64_t kMaxSlices = 64, kMaxBufferDoubles = int64_t{1} << 21;
  const int64_t by_memory = kMaxBufferDoubles / (3 * std::max<int64_t>(s.cols, 1));
  return std::clamp<int64_t>(std::min(kMaxSlices, by_memory), 1, std::max<int64_t>(s.rows, 1));
}

// A slice's rows add dy * xhat and dy into T partial sums (vector adds of
// T), which are added into its double sums every kFlushRows rows.
constexpr int64_t kFlushRows = 32;

// One row's dx = invstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight,
// xhat = (x - mean) * invstd; and, when partial_w is not null, its dy * xhat and
// dy added into partial_w and partial_b (in the same pass: dy and x read once).
template <typename T>
void row_backward(const T* dy, const T* x, const T* weight, T mean, T invstd, T* __restrict__ dx,
                  T* __restrict__ partial_w, T* __restrict__ partial_b, int64_t cols) {
  const auto terms = [&](auto g, auto v) { return std::array{g, g * (v - mean)}; };
  const auto [sum_g, sum_g_centred] =
      weight ? row_sums<T, 2>(cols, [&](auto d, auto v, auto w) { return terms(d * w, v); }, dy, x, weight)
             : row_sums<T, 2>(cols, terms, dy, x);
  const double n = static_cast<double>(cols);
  const T mean_g = static_cast<T>(sum_g / n);
  const T centred_coef = static_cast<T>(sum_g_centred / n * invstd * invstd);
  const auto dx_at = [&](int64_t i) {
    return (dy[i] * (weight ? weight[i] : T(1)) - mean_g - (x[i] - mean) * centred_coef) * invstd;
  };
  if (!partial_w) {
    for (int64_t i = 0; i < cols; ++i) dx[i] = dx_at(i);
    return;
  }
  for (int64_t i = 0; i < cols; ++i) {
    dx[i] = dx_at(i);
    partial_w[i] += dy[i] * ((x[i] - mean) * invstd);
    partial_b[i] += dy[i];
  }
}

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* save_mean, T* save_invstd,
                        const LayerNormShape& shape, double eps) {
  const int64_t cols = shape.cols;
  if (cols == 0) return;  // no statistics: as the CUDA kernel, save_mean/save_invstd are left unwritten
  parallel_for(shape.rows, row_threads(shape), [&](int64_t r) {
    normalize_row(x + r * cols, weight, bias, y + r * cols, save_mean[r], save_invstd[r], cols, eps);
  });
}

template <typename T>
void layer_norm_backward(const T* dy, const T* x, const T* weight, const T* save_mean, const T* save_invstd, T* dx,
                         T* dweight, T* dbias, const LayerNormShape& shape) {
  const int64_t rows = shape.rows, cols = shape.cols;
  const int64_t slices = dweight ? param_slices(shape) : rows;
  // per slice: the double sums of dy * xhat and dy, then their T partial sums
  const size_t buffer = dweight ? static_cast<size_t>(2 * slices * cols) : 0;
  std::vector<double> sums(buffer);
  std::vector<T> partials(buffer);
  parallel_for(slices, std::min<int64_t>(row_threads(shape), slices), [&](int64_t k) {
    double* sum = dweight ? sums.data() + 2 * k * cols : nullptr;
    T* partial = dweight ? partials.data() + 2 * k * cols : nullptr;
    const int64_t begin = rows * k / slices, end = rows * (k + 1) / slices;
    for (int64_t r = begin; r < end; ++r) {
      row_backward(dy + r * cols, x + r * cols, weight, save_mean[r], save_invstd[r], dx + r * cols, partial,
                   partial ? partial + cols : nullptr, cols);
      if (partial && ((r - begin + 1) % kFlushRows == 0 || r + 1 == end))
        for (int64_t i = 0; i < 2 * cols; ++i) {
          sum[i] += partial[i];
          partial[i] = T(0);
        }
    }
  });
  if (!dweight) return;
  parallel_for(cols, threads_for(slices * cols, kMinParallelWork), [&](int64_t i) {
    double w = 0, b = 0;
    for (int64_t k = 0; k < slices; ++k) {
      w += sums[2 * k * cols + i];
      b += sums[(2 * k + 1) * cols + i];
    }
    dweight[i] = static_cast<T>(w);
    dbias[i] = static_cast<T>(b);
  });
}

#define MINIGRAD_INSTANTIATE(T)                                                                                \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, const LayerNormShape&, double); \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,           \
                                       const LayerNormShape&);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)
#undef MINIGRAD_INSTANTIATE

}  // namespace minigrad::cpu
