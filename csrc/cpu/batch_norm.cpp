#include "cpu/batch_norm.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// Calls fn(offset) for the start of each of channel c's N planes of `inner` elements.
template <typename Fn>
void for_each_plane(const BatchNormShape& s, int64_t c, Fn fn) {
  for (int64_t n = 0; n < s.N; ++n) fn((n * s.C + c) * s.inner);
}

// Sums over channel c's elements i of term(i, sums) adding K values into
// sums[0..K) (in double), as kLanes interleaved partial sums added pairwise at
// the end: a fixed order (the same result every run, whatever the thread
// count), and kLanes independent chains the compiler turns into vector adds
// instead of one chain of dependent scalar adds, each waiting for the last
// (4 cycles an element: the CifarCNN's five BatchNorm layers spent 19 ms a
// training step in their forward pass).
constexpr int64_t kLanes = 8;

template <int K, typename Term>
std::array<double, K> channel_sums(const BatchNormShape& s, int64_t c, const Term& term) {
  double lanes[K][kLanes] = {};
  for_each_plane(s, c, [&](int64_t o) {
    int64_t i = 0;
    for (; i + kLanes <= s.inner; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) term(o + i + j, lanes, j);
    for (; i < s.inner; ++i) term(o + i, lanes, i % kLanes);
  });
  std::array<double, K> sums{};
  for (int k = 0; k < K; ++k) {
    for (int64_t width = kLanes / 2; width > 0; width /= 2)
      for (int64_t j = 0; j < width; ++j) lanes[k][j] += lanes[k][j + width];
    sums[k] = lanes[k][0];
  }
  return sums;
}

[[maybe_unused]] bool parallel_channels(const BatchNormShape& s) { return s.C > 1 && s.N * s.C * s.inner >= kMinParallelWork; }

// Writes channel c's statistics and y = (x - mean) * invstd * weight + bias.
// (x - mean) rather than x * scale + shift: no cancellation when |mean| >> std.
template <typename T>
void normalize_channel(const T* x, const T* weight, const T* bias, T* y, T* save_mean, T* save_invstd,
                       const BatchNormShape& shape, int64_t c, double mean, double invstd) {
  save_mean[c] = static_cast<T>(mean);
  save_invstd[c] = static_cast<T>(invstd);
  const T m = static_cast<T>(mean);
  const T scale = static_cast<T>((weight ? static_cast<double>(weight[c]) : 1.0) * invstd);
  const T shift = bias ? bias[c] : T(0);
  for_each_plane(shape, c, [&](int64_t o) {
    for (int64_t s = 0; s < shape.inner; ++s) y[o + s] = (x[o + s] - m) * scale + shift;
  });
}

}  // namespace

template <typename T>
void batch_norm_forward_training(const T* x, const T* weight, const T* bias, T* running_mean, T* running_var, T* y,
                                 T* save_mean, T* save_invstd, const BatchNormShape& shape, double momentum,
                                 double eps) {
  const double count = static_cast<double>(shape.N * shape.inner);
#pragma omp parallel for num_threads(num_threads()) if (parallel_channels(shape))
  for (int64_t c = 0; c < shape.C; ++c) {
    // One pass over values shifted by one of the channel's own (the shifted-data
    // algorithm): sum (x - k)^2 - (sum (x - k))^2 / count cancels at most the
    // digits that (mean - k)^2 / variance has, and k, one of the values, is at
    // most count variances from the mean: under 6 of double's 16 digits at
    // count 1e6. A second pass over centred values cost a third of the layer.
    const double shift = count > 0 ? x[c * shape.inner] : 0.0;
    const std::array<double, 2> sums =
        channel_sums<2>(shape, c, [&](int64_t i, double(&partial)[2][kLanes], int64_t j) {
          const double shifted = x[i] - shift;
          partial[0][j] += shifted;
          partial[1][j] += shifted * shifted;
        });
    const double mean = shift + sums[0] / count;
    // Rounding can leave the sum of squares a hair below 0; a NaN stays NaN
    // (std::max(0.0, NaN) is 0, which hid a NaN batch from running_var).
    const double centred = sums[1] - sums[0] * sums[0] / count;
    const double sq = centred < 0.0 ? 0.0 : centred;
    if (running_mean) {
      running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * sq / (count - 1));
    }
    normalize_channel(x, weight, bias, y, save_mean, save_invstd, shape, c, mean, 1.0 / std::sqrt(sq / count + eps));
  }
}

// Eval needs no statistics, so y is written in memory order: by channel, each
// thread jumped between planes C * inner apart, and ran at half PyTorch's speed
// (64 x 96 x 32 x 32 floats: 2.96 ms against 1.40, 1 thread). Planes are
// normalised whole; with inner 1 ((N, C) input) a row's channels are one run.
template <typename T>
void batch_norm_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean, const T* running_var,
                             T* y, T* save_mean, T* save_invstd, const BatchNormShape& shape, double eps) {
  std::vector<T> scale(static_cast<size_t>(shape.C)), shift(static_cast<size_t>(shape.C));
  for (int64_t c = 0; c < shape.C; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    save_mean[c] = running_mean[c];
    save_invstd[c] = static_cast<T>(invstd);
    scale[c] = static_cast<T>((weight ? static_cast<double>(weight[c]) : 1.0) * invstd);
    shift[c] = bias ? bias[c] : T(0);
  }
  const int64_t C = shape.C, inner = shape.inner;
  const T *m = save_mean, *k = scale.data(), *b = shift.data();
  for_each_slice(shape.N * C * inner, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t c = (i / inner) % C;
      if (inner == 1) {  // channels c.. of one row
        const int64_t stop = std::min(end, i + C - c);
        for (int64_t j = 0; j < stop - i; ++j) y[i + j] = (x[i + j] - m[c + j]) * k[c + j] + b[c + j];
        i = stop;
      } else {  // the rest of channel c's plane
        const int64_t stop = std::min(end, (i / inner + 1) * inner);
        for (int64_t j = i; j < stop; ++j) y[j] = (x[j] - m[c]) * k[c] + b[c];
        i = stop;
      }
    }
  });
}

template <typename T>
void batch_norm_backward(const T* dy, const T* x, const T* weight, const T* save_mean, const T* save_invstd, T* dx,
                         T* dweight, T* dbias, const BatchNormShape& shape, bool training) {
  const double count = static_cast<double>(shape.N * shape.inner);
#pragma omp parallel for num_threads(num_threads()) if (parallel_channels(shape))
  for (int64_t c = 0; c < shape.C; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    const std::array<double, 2> sums =
        channel_sums<2>(shape, c, [&](int64_t i, double(&partial)[2][kLanes], int64_t j) {
          partial[0][j] += dy[i];
          partial[1][j] += dy[i] * (x[i] - mean);
        });
    const double sum_dy = sums[0], sum_dy_xhat = sums[1] * invstd;
    if (dweight) dweight[c] = static_cast<T>(sum_dy_xhat);
    if (dbias) dbias[c] = static_cast<T>(sum_dy);
    const double w_invstd = (weight ? static_cast<double>(weight[c]) : 1.0) * invstd;
    if (!training) {
      const T scale = static_cast<T>(w_invstd);
      for_each_plane(shape, c, [&](int64_t o) {
        for (int64_t s = 0; s < shape.inner; ++s) dx[o + s] = dy[o + s] * scale;
      });
      continue;
    }
    // dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - mean) * invstd.
    const T m = static_cast<T>(mean);
    const T mean_dy = static_cast<T>(sum_dy / count);
    const T xc_coef = static_cast<T>(sum_dy_xhat / count * invstd);
    const T scale = static_cast<T>(w_invstd);
    for_each_plane(shape, c, [&](int64_t o) {
      for (int64_t s = 0; s < shape.inner; ++s) dx[o + s] = (dy[o + s] - mean_dy - (x[o + s] - m) * xc_coef) * scale;
    });
  }
}

#define MINIGRAD_INSTANTIATE(T)                                                                          \
  template void batch_norm_forward_training<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*,         \
                                               const BatchNormShape&, double, double);                   \
  template void batch_norm_forward_eval<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, \
                                           const BatchNormShape&, double);                               \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,     \
                                       const BatchNormShape&, bool);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)
#undef MINIGRAD_INSTANTIATE

}  // namespace minigrad::cpu
