// Convolution as im2col + GEMM (minigrad::cpu::gemm); backward as GEMM + col2im.
// Per group g of one sample, with col the (C_in/groups * KH * KW, OH * OW)
// column matrix of x and W_g the (C_out/groups, C_in/groups * KH * KW) weights:
//   y_g = W_g col,   dW_g = sum over samples of dy_g col^T,   dx = col2im(W_g^T dy_g).
// A 1x1 convolution with stride 1 and no padding needs no im2col: x is col.
// Depthwise-like groups (one input channel, at most two outputs) run a direct
// forward kernel instead (see use_direct).
#include "cpu/conv.h"

#include <algorithm>
#include <vector>

#include "cpu/conv_geometry.h"
#include "cpu/elementwise.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// Work worth waking one more thread for (flops; element visits outside GEMM).
constexpr int64_t kMinFlopsPerThread = int64_t{1} << 18;
constexpr int64_t kMinElementsPerThread = int64_t{1} << 15;
// Below this many flops per sample a threaded GEMM costs more in start-up than
// it gains, so samples run in parallel instead even when there are few.
constexpr double kSmallSampleFlops = 1 << 22;

// Sizes derived from a Conv2dShape.
struct Dims {
  int64_t in_plane, out_plane;  // H * W, OH * OW
  int64_t group_in, group_out;  // channels per group
  int64_t taps;                 // KH * KW
  int64_t col_rows;             // group_in * taps: the GEMM reduction length
  int64_t col_size;             // col_rows * out_plane
  bool pointwise;               // 1x1, stride 1, no padding: x is its own column matrix
};

Dims dims_of(const Conv2dShape& s) {
  Dims d;
  d.in_plane = s.in_h * s.in_w;
  d.out_plane = s.out_h * s.out_w;
  d.group_in = s.in_channels / s.groups;
  d.group_out = s.out_channels / s.groups;
  d.taps = s.kernel_h * s.kernel_w;
  d.col_rows = d.group_in * d.taps;
  d.col_size = d.col_rows * d.out_plane;
  d.pointwise = d.taps == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
  return d;
}

// How a call spreads over threads: `chunks` contiguous slices of the batch run
// in parallel, one thread each (GEMM inside an enclosing parallel region runs
// on the calling thread), or a single slice whose im2col/col2im and GEMM use
// `inner` threads (few samples, each big enough for a threaded GEMM).
struct Plan {
  int64_t chunks;
  int inner;
};

// Flops of the forward pass for one sample; a double, since only the scale
// matters and a product of sizes could overflow int64 on absurd shapes.
double sample_flops(const Conv2dShape& s, const Dims& d) {
  return 2.0 * static_cast<double>(s.out_channels) * static_cast<double>(d.col_rows) *
         static_cast<double>(d.out_plane);
}

int threads_for_flops(double flops) {
  return threads_for(static_cast<int64_t>(std::min(flops, 1e18)), kMinFlopsPerThread);
}

Plan plan_for(const Conv2dShape& s, const Dims& d) {
  const double flops = sample_flops(s, d);
  const int threads = threads_for_flops(static_cast<double>(s.batch) * flops);
  if (threads == 1) return {1, 1};
  const bool by_batch = s.batch > 1 && (s.batch >= threads || flops < kSmallSampleFlops);
  if (by_batch) return {std::min<int64_t>(s.batch, threads), 1};
  return {1, threads};
}

// First sample of slice c when the batch is cut into `chunks` slices (each
// non-empty because chunks <= batch).
int64_t chunk_begin(int64_t c, int64_t chunks, int64_t batch) { return c * batch / chunks; }

// body(c) for every slice c: in parallel when there are several, else on the
// calling thread outside any parallel region, so the GEMM inside may thread.
template <typename Body>
void for_each_chunk(int64_t chunks, const Body& body) {
  if (chunks > 1) {
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
    for (int64_t c = 0; c < chunks; ++c) body(c);
  } else {
    body(0);
  }
}

// dst[j] = src[j * stride] for j < len. Stride 1 has its own loop so that the
// compiler vectorizes it.
template <typename T>
void copy_strided(int64_t len, const T* __restrict src, int64_t stride, T* __restrict dst) {
  if (stride == 1) {
    std::copy(src, src + len, dst);
  } else {
    for (int64_t j = 0; j < len; ++j) dst[j] = src[j * stride];
  }
}

// dst[j * dst_stride] += a * src[j * src_stride] for j < len; unit strides
// have their own loop so that the compiler vectorizes it.
template <typename T>
void axpy_strided(int64_t len, T a, const T* __restrict src, int64_t src_stride, T* __restrict dst,
                  int64_t dst_stride) {
  if (src_stride == 1 && dst_stride == 1) {
    for (int64_t j = 0; j < len; ++j) dst[j] += a * src[j];
  } else {
    for (int64_t j = 0; j < len; ++j) dst[j * dst_stride] += a * src[j * src_stride];
  }
}

// Where the kernel tap (kh, kw) reads: output row oh reads input row
// oh * stride_h + row_offset (padding when outside [0, H)); along a row, the
// outputs [cols.first, cols.last) read inside the input, from input column
// first_col on in steps of stride_w.
struct Tap {
  int64_t row_offset;
  Range cols;
  int64_t first_col;
  int64_t len() const { return cols.last - cols.first; }
};

Tap tap_at(const Conv2dShape& s, int64_t kh, int64_t kw) {
  const int64_t col_offset = kw * s.dilation_w - s.pad_w;
  const Range cols = inside_range(s.out_w, s.in_w, s.stride_w, col_offset);
  return {kh * s.dilation_h - s.pad_h, cols, cols.first * s.stride_w + col_offset};
}

// Column matrix of one group of one sample (x points at the group's first
// channel): row (c, kh, kw), column (oh, ow) holds
// x[c, oh * stride_h - pad_h + kh * dilation_h, ow * stride_w - pad_w + kw * dilation_w], 0 in the padding.
template <typename T>
void im2col(const Conv2dShape& s, const Dims& d, const T* x, T* col, int threads) {
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
  for (int64_t r = 0; r < d.col_rows; ++r) {
    const int64_t c = r / d.taps;
    const Tap tap = tap_at(s, r % d.taps / s.kernel_w, r % s.kernel_w);
    T* row = col + r * d.out_plane;
    for (int64_t oh = 0; oh < s.out_h; ++oh, row += s.out_w) {
      const int64_t ih = oh * s.stride_h + tap.row_offset;
      if (ih < 0 || ih >= s.in_h || tap.len() == 0) {
        std::fill(row, row + s.out_w, T(0));
        continue;
      }
      std::fill(row, row + tap.cols.first, T(0));
      copy_strided(tap.len(), x + c * d.in_plane + ih * s.in_w + tap.first_col, s.stride_w, row + tap.cols.first);
      std::fill(row + tap.cols.last, row + s.out_w, T(0));
    }
  }
}

// The adjoint of im2col: dx (the group's first channel of one sample) is
// overwritten with the sum of every column entry over the pixel it came from.
template <typename T>
void col2im(const Conv2dShape& s, const Dims& d, const T* col, T* dx, int threads) {
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
  for (int64_t c = 0; c < d.group_in; ++c) {
    T* plane = dx + c * d.in_plane;
    std::fill(plane, plane + d.in_plane, T(0));
    for (int64_t t = 0; t < d.taps; ++t) {
      const Tap tap = tap_at(s, t / s.kernel_w, t % s.kernel_w);
      if (tap.len() == 0) continue;
      const T* row = col + (c * d.taps + t) * d.out_plane;
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        const int64_t ih = oh * s.stride_h + tap.row_offset;
        if (ih < 0 || ih >= s.in_h) continue;
        axpy_strided(tap.len(), T(1), row + oh * s.out_w + tap.cols.first, 1, plane + ih * s.in_w + tap.first_col,
                     s.stride_w);
      }
    }
  }
}

// Whether the direct kernel beats im2col + GEMM (measured): one input and at
// most two output channels per group (depthwise), where per-group GEMMs are
// tiny. With more output channels per group (LeNet-5's first layer: 1 -> 6)
// the GEMM reuses each column for all of them and wins.
bool use_direct(const Dims& d) { return d.group_in == 1 && d.group_out <= 2; }

// Direct convolution, threads over the N * C_out output planes: every tap adds
// weight * (the input row it reads) to each output row.
template <typename T>
void direct_forward(const Conv2dShape& s, const Dims& d, const T* x, const T* weight, const T* bias, T* y) {
  const int64_t planes = s.batch * s.out_channels;
  const int threads = threads_for_flops(static_cast<double>(s.batch) * sample_flops(s, d));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t n = p / s.out_channels, co = p % s.out_channels;
    const T* x_g = x + (n * s.in_channels + co / d.group_out * d.group_in) * d.in_plane;
    T* out = y + p * d.out_plane;
    std::fill(out, out + d.out_plane, bias != nullptr ? bias[co] : T(0));
    for (int64_t r = 0; r < d.col_rows; ++r) {
      const int64_t c = r / d.taps;
      const Tap tap = tap_at(s, r % d.taps / s.kernel_w, r % s.kernel_w);
      if (tap.len() == 0) continue;
      const T w = weight[co * d.col_rows + r];
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        const int64_t ih = oh * s.stride_h + tap.row_offset;
        if (ih < 0 || ih >= s.in_h) continue;
        axpy_strided(tap.len(), w, x_g + c * d.in_plane + ih * s.in_w + tap.first_col, s.stride_w,
                     out + oh * s.out_w + tap.cols.first, 1);
      }
    }
  }
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  const Dims d = dims_of(s);
  if (use_direct(d)) {
    direct_forward(s, d, x, weight, bias, y);
    return;
  }
  const Plan plan = plan_for(s, d);
  std::vector<T> cols(d.pointwise ? 0 : plan.chunks * d.col_size);  // one column matrix per slice
  for_each_chunk(plan.chunks, [&](int64_t c) {
    T* col = d.pointwise ? nullptr : cols.data() + c * d.col_size;
    for (int64_t n = chunk_begin(c, plan.chunks, s.batch); n < chunk_begin(c + 1, plan.chunks, s.batch); ++n) {
      for (int64_t g = 0; g < s.groups; ++g) {
        const T* x_g = x + (n * s.in_channels + g * d.group_in) * d.in_plane;
        const T* w_g = weight + g * d.group_out * d.col_rows;
        T* y_g = y + (n * s.out_channels + g * d.group_out) * d.out_plane;
        if (!d.pointwise) im2col(s, d, x_g, col, plan.inner);
        gemm(false, false, d.group_out, d.out_plane, d.col_rows, T(1), w_g, d.col_rows, d.pointwise ? x_g : col,
             d.out_plane, T(0), y_g, d.out_plane);
      }
      if (bias == nullptr) continue;
      for (int64_t co = 0; co < s.out_channels; ++co) {
        T* plane = y + (n * s.out_channels + co) * d.out_plane;
        for (int64_t i = 0; i < d.out_plane; ++i) plane[i] += bias[co];
      }
    }
  });
}

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* dy, const T* x, const T* weight, T* dx, T* dweight,
                     T* dbias) {
  const Dims d = dims_of(s);
  if (dbias != nullptr) bias_grad(dy, dbias, s.batch, s.out_channels, d.out_plane);
  if (dx == nullptr && dweight == nullptr) return;

  const Plan plan = plan_for(s, d);
  const int64_t weight_size = s.out_channels * d.col_rows;
  std::vector<T> cols(d.pointwise ? 0 : plan.chunks * d.col_size);
  // Slice 0 sums its weight gradient into dweight, slice c > 0 into partial
  // c - 1; the partials are then added in slice order, so the result does not
  // depend on how threads were scheduled.
  std::vector<T> partial(dweight != nullptr ? (plan.chunks - 1) * weight_size : 0);
  for_each_chunk(plan.chunks, [&](int64_t c) {
    T* col = d.pointwise ? nullptr : cols.data() + c * d.col_size;
    T* dw = c == 0 ? dweight : partial.data() + (c - 1) * weight_size;
    const int64_t begin = chunk_begin(c, plan.chunks, s.batch), end = chunk_begin(c + 1, plan.chunks, s.batch);
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t g = 0; g < s.groups; ++g) {
        const T* x_g = x + (n * s.in_channels + g * d.group_in) * d.in_plane;
        const T* w_g = weight + g * d.group_out * d.col_rows;
        const T* dy_g = dy + (n * s.out_channels + g * d.group_out) * d.out_plane;
        if (dweight != nullptr) {
          if (!d.pointwise) im2col(s, d, x_g, col, plan.inner);
          gemm(false, true, d.group_out, d.col_rows, d.out_plane, T(1), dy_g, d.out_plane, d.pointwise ? x_g : col,
               d.out_plane, n == begin ? T(0) : T(1), dw + g * d.group_out * d.col_rows, d.col_rows);
        }
        if (dx != nullptr) {
          T* dx_g = dx + (n * s.in_channels + g * d.group_in) * d.in_plane;
          // Pointwise: col2im is the identity, so the GEMM writes dx directly.
          gemm(true, false, d.col_rows, d.out_plane, d.group_out, T(1), w_g, d.col_rows, dy_g, d.out_plane, T(0),
               d.pointwise ? dx_g : col, d.out_plane);
          if (!d.pointwise) col2im(s, d, col, dx_g, plan.inner);
        }
      }
    }
  });
  if (dweight != nullptr && plan.chunks > 1) {
    const int threads = threads_for(plan.chunks * weight_size, kMinElementsPerThread);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < weight_size; ++i)
      for (int64_t c = 1; c < plan.chunks; ++c) dweight[i] += partial[(c - 1) * weight_size + i];
  }
}

template void conv2d_forward<float>(const Conv2dShape&, const float*, const float*, const float*, float*);
template void conv2d_forward<double>(const Conv2dShape&, const double*, const double*, const double*, double*);
template void conv2d_backward<float>(const Conv2dShape&, const float*, const float*, const float*, float*, float*,
                                     float*);
template void conv2d_backward<double>(const Conv2dShape&, const double*, const double*, const double*, double*,
                                      double*, double*);

}  // namespace minigrad::cpu
