// Convolution as GEMMs over the column matrix (minigrad::cpu::gemm). Per
// group g of one sample, with col the (C_in/groups * KH * KW, OH * OW) column
// matrix of x and W_g the (C_out/groups, C_in/groups * KH * KW) weights:
//   y_g = W_g col,   dW_g = sum over samples of dy_g col^T,   dx = col2im(W_g^T dy_g).
// The forward pass of a kernel with several taps never builds col: the GEMM
// packs it strip by strip straight from a zero-padded, stride-phase-split copy
// of the image (an implicit GEMM, see PhaseSplit and fill_columns), so every
// tap is a contiguous copy. The backward pass (and the forward of strided 1x1
// kernels) builds col (im2col) in blocks of whole output rows small enough to
// stay in L2 (RowBlock, l2_bytes), so each GEMM reads columns just written
// instead of a matrix of megabytes back from memory; its products split along
// the output pixels.
// A 1x1 convolution with stride 1 and no padding needs no im2col: x is col.
// Output planes under 128 pixels put several samples side by side in one GEMM
// (samples_per_gemm), whose columns would otherwise be too few per sample.
// Convolutions with few channels per group (on AVX2 also up to 128 with
// stride 1, 64 with a stride, when the zero-padded image fits in L2) skip the
// column matrix: the direct kernels of cpu/conv_direct.h read a zero-padded
// (for a stride, phase-split) copy of each image through tap offsets (see
// use_direct_taps_forward); with a stride, the input gradient runs a
// broadcast GEMM per stride phase (strided_direct_input_grad).
// Depthwise-like groups with other strides run a scalar direct forward kernel
// (see use_direct).
#include "cpu/conv.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cpu/conv_direct.h"
#include "cpu/conv_geometry.h"
#include "cpu/conv_winograd.h"
#include "cpu/cpu_features.h"
#include "cpu/elementwise.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "cpu/simd_portable.h"

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
  [[maybe_unused]] const int threads = threads_for_flops(static_cast<double>(s.batch) * flops);
  if (threads == 1) return {1, 1};
  const bool by_batch = s.batch > 1 && (s.batch >= threads || flops < kSmallSampleFlops);
  if (by_batch) return {std::min<int64_t>(s.batch, threads), 1};
  return {1, threads};
}

// First sample of slice c when the batch is cut into `chunks` slices (each
// non-empty because chunks <= batch).
int64_t chunk_begin(int64_t c, int64_t chunks, int64_t batch) { return c * batch / chunks; }

// body(c) for every slice c < chunks on `threads` threads, each taking the
// next slice when done with one (a thread delayed by other processes then
// holds up at most one slice); with one thread on the calling thread outside
// any parallel region, so the GEMM inside may thread. Results depend on the
// slicing only, never on which thread ran a slice. Bodies allocate scratch
// (their own buffers, the GEMM's workspace), so an exception is carried out
// of the region (RegionErrors) and rethrown here.
template <typename Body>
void for_each_chunk(int64_t chunks, int threads, const Body& body) {
  if (threads > 1) {
    RegionErrors errors;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; ++c) errors.run([&] { body(c); });
    errors.rethrow();
  } else {
    for (int64_t c = 0; c < chunks; ++c) body(c);
  }
}

// dweight += partial slices 1 .. chunks - 1 (of weight_size each), in slice order.
template <typename T>
void add_partials(T* dweight, const T* partial, int64_t chunks, int64_t weight_size) {
  if (chunks < 2) return;
  [[maybe_unused]] const int threads = threads_for(chunks * weight_size, kMinElementsPerThread);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < weight_size; ++i)
    for (int64_t c = 1; c < chunks; ++c) dweight[i] += partial[(c - 1) * weight_size + i];
}

// dst[j] = src[j] for j < len, for short runs: 16-byte moves (the last one
// ending at len, overlapping the one before), without the call to memmove
// that a loop or std::copy becomes. The packing's partial runs of 7 (3x3
// stride 2 at 14x14, 256 -> 512) spent 4% of the layer in memmove calls.
template <typename T>
void copy_short(int64_t len, const T* __restrict src, T* __restrict dst) {
  constexpr int64_t kMove = 16 / static_cast<int64_t>(sizeof(T));
  if (len < kMove) {
    switch (len) {  // not a loop, which GCC turns back into a memmove call
      case 3: dst[2] = src[2]; [[fallthrough]];
      case 2: dst[1] = src[1]; [[fallthrough]];
      case 1: dst[0] = src[0]; [[fallthrough]];
      default: return;
    }
  }
  int64_t j = 0;
  for (; j + kMove <= len; j += kMove) __builtin_memcpy(dst + j, src + j, 16);
  if (j < len) __builtin_memcpy(dst + len - kMove, src + len - kMove, 16);
}

// dst[j] = src[j * stride] for j < len: im2col's inner loop, on runs of one
// output row. Stride 1 is a copy; stride 2 (downsampling layers) takes every
// other element with SSE2 shuffles, which the compiler does not find itself,
// reading no further than src[(len - 1) * 2].
template <typename T>
void copy_strided(int64_t len, const T* __restrict src, int64_t stride, T* __restrict dst) {
  int64_t j = 0;
  if (stride == 1) {
    std::copy(src, src + len, dst);
    return;
  }
#ifdef __SSE2__
  if (stride == 2) {
    if constexpr (std::is_same_v<T, float>) {
      for (; j + 4 < len; j += 4)
        _mm_storeu_ps(dst + j, _mm_shuffle_ps(_mm_loadu_ps(src + 2 * j), _mm_loadu_ps(src + 2 * j + 4),
                                              _MM_SHUFFLE(2, 0, 2, 0)));
    } else {
      for (; j + 2 < len; j += 2)
        _mm_storeu_pd(dst + j, _mm_shuffle_pd(_mm_loadu_pd(src + 2 * j), _mm_loadu_pd(src + 2 * j + 2), 0));
    }
  }
#endif
  for (; j < len; ++j) dst[j] = src[j * stride];
}

// Asks for the cache lines of src[0, count) to be brought into L2 (not L1,
// which the running kernel needs), for data read a while later.
template <typename T>
void prefetch_for_read(const T* src, int64_t count) {
  constexpr int64_t kLine = 64 / sizeof(T);
  for (int64_t i = 0; i < count; i += kLine) __builtin_prefetch(src + i, 0, 2);
}

// even[m] = src[2 * m], odd[m] = src[2 * m + 1] for m < pairs: a row split
// into its two stride-2 phases in one pass, with SSE2 shuffles (the scalar
// loop was a sixth of a CIFAR ResNet's 32 -> 64 stride-2 forward).
template <typename T>
void split_pairs(int64_t pairs, const T* __restrict src, T* __restrict even, T* __restrict odd) {
  int64_t m = 0;
#ifdef __SSE2__
  if constexpr (std::is_same_v<T, float>) {
    for (; m + 4 <= pairs; m += 4) {
      const __m128 lo = _mm_loadu_ps(src + 2 * m), hi = _mm_loadu_ps(src + 2 * m + 4);
      _mm_storeu_ps(even + m, _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)));
      _mm_storeu_ps(odd + m, _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)));
    }
  } else {
    for (; m + 2 <= pairs; m += 2) {
      const __m128d lo = _mm_loadu_pd(src + 2 * m), hi = _mm_loadu_pd(src + 2 * m + 2);
      _mm_storeu_pd(even + m, _mm_unpacklo_pd(lo, hi));
      _mm_storeu_pd(odd + m, _mm_unpackhi_pd(lo, hi));
    }
  }
#endif
  for (; m < pairs; ++m) {
    even[m] = src[2 * m];
    odd[m] = src[2 * m + 1];
  }
}

// dst[2 * m] = even[m], dst[2 * m + 1] = odd[m] for m < pairs: split_pairs
// undone, with SSE2 unpacks.
template <typename T>
void merge_pairs(int64_t pairs, const T* __restrict even, const T* __restrict odd, T* __restrict dst) {
  int64_t m = 0;
#ifdef __SSE2__
  if constexpr (std::is_same_v<T, float>) {
    for (; m + 4 <= pairs; m += 4) {
      const __m128 e = _mm_loadu_ps(even + m), o = _mm_loadu_ps(odd + m);
      _mm_storeu_ps(dst + 2 * m, _mm_unpacklo_ps(e, o));
      _mm_storeu_ps(dst + 2 * m + 4, _mm_unpackhi_ps(e, o));
    }
  } else {
    for (; m + 2 <= pairs; m += 2) {
      const __m128d e = _mm_loadu_pd(even + m), o = _mm_loadu_pd(odd + m);
      _mm_storeu_pd(dst + 2 * m, _mm_unpacklo_pd(e, o));
      _mm_storeu_pd(dst + 2 * m + 2, _mm_unpackhi_pd(e, o));
    }
  }
#endif
  for (; m < pairs; ++m) {
    dst[2 * m] = even[m];
    dst[2 * m + 1] = odd[m];
  }
}

// dst[j * dst_stride] += a * src[j * src_stride] for j < len; unit strides
// have their own loop so that the compiler vectorizes it, and col2im's stride-2
// scatter (src_stride 1, dst_stride 2) SSE2 interleaves, touching no dst
// element past dst[(len - 1) * 2].
template <typename T>
void axpy_strided(int64_t len, T a, const T* __restrict src, int64_t src_stride, T* __restrict dst,
                  int64_t dst_stride) {
  if (src_stride == 1 && dst_stride == 1) {
    for (int64_t j = 0; j < len; ++j) dst[j] += a * src[j];
    return;
  }
  int64_t j = 0;
#ifdef __SSE2__
  if constexpr (std::is_same_v<T, float>) {
    if (src_stride == 1 && dst_stride == 2) {
      const __m128 va = _mm_set1_ps(a), keep = _mm_set1_ps(-0.0f);  // x + -0 == x, -0 included
      for (; j + 4 < len; j += 4) {
        const __m128 v = _mm_mul_ps(va, _mm_loadu_ps(src + j));
        _mm_storeu_ps(dst + 2 * j, _mm_add_ps(_mm_loadu_ps(dst + 2 * j), _mm_unpacklo_ps(v, keep)));
        _mm_storeu_ps(dst + 2 * j + 4, _mm_add_ps(_mm_loadu_ps(dst + 2 * j + 4), _mm_unpackhi_ps(v, keep)));
      }
    }
  }
#endif
  for (; j < len; ++j) dst[j * dst_stride] += a * src[j * src_stride];
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

// Output rows [first, last): a block of the column matrix, (last - first) * out_w columns.
struct RowBlock {
  int64_t first, last;
  int64_t cols(const Conv2dShape& s) const { return (last - first) * s.out_w; }
};

// Column blocks of about a core's L2 (read at run time) per thread working on
// one; large enough (>= ~100 columns for 64 channels x 3x3 taps) that the
// GEMM's per-call packing of the weights is a small part of the work.
// Measured on Zen 3 (512 KiB L2), 1 thread, 64 -> 64 channels, 3x3, 56x56:
// the forward ran at 61 GFLOP/s with the whole matrix, 70-71 with blocks of
// 128 KiB to 4 MiB (the GEMM alone on the whole matrix: 78). On Zen 4 (1 MiB
// L2): that layer and 128 -> 128 at 28x28 ran 2-7% faster with 512 KiB blocks
// than with 256 KiB, 10-17% slower with 128 KiB (they now run Winograd); the
// stride-2 layers left here ran as fast or faster with 1 MiB than with 512
// KiB (ResNet's 128 -> 256 at 28x28, forward and backward, batch 8: 32.9 ->
// 30.3 ms at 1 thread, 20.4 -> 17.7 at 2), also 2 and 4 MiB.
int64_t l2_bytes() { return cpu_features().l2_bytes; }

// Rows of the blocks: as many as fit l2_bytes(), then evened out over
// the blocks that makes (16 rows in blocks of at most 7: 6, 6, 4, not 7, 7, 2,
// whose last GEMM would be too narrow to run well).
// A 1x1 kernel takes one block (its column matrix is x, or x subsampled by
// the stride, no larger than x): with stride 2 (256 -> 128 channels, 56x56)
// blocks ran at 47% of the FMA peak against 66% for the whole matrix.
int64_t rows_per_block(const Conv2dShape& s, const Dims& d, std::size_t elem_size, int threads) {
  if (d.taps == 1) return s.out_h;
  const int64_t row_bytes = d.col_rows * s.out_w * static_cast<int64_t>(elem_size);
  const int64_t most = std::clamp<int64_t>(l2_bytes() * threads / std::max<int64_t>(row_bytes, 1), 1, s.out_h);
  const int64_t blocks = (s.out_h + most - 1) / most;
  return (s.out_h + blocks - 1) / blocks;
}

// dst (cols x rows) = src^T for src (rows x cols), through a square tile in
// L1 read and written a whole row at a time. Rows of a weight gradient lie a
// multiple of 2 KiB apart (512 floats, 4608), so a tile's rows share a few
// sets of the L1: transposed in place element by element, a 4608 x 512 weight
// gradient kept a layer's backward waiting on memory for a third of its time.
template <typename T>
void transpose(const T* src, int64_t rows, int64_t cols, T* dst) {
  constexpr int64_t kTile = 32;
  T tile[kTile][kTile];
  for (int64_t i0 = 0; i0 < rows; i0 += kTile)
    for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const int64_t m = std::min(kTile, rows - i0), n = std::min(kTile, cols - j0);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) tile[j][i] = src[(i0 + i) * cols + j0 + j];
      for (int64_t j = 0; j < n; ++j) std::copy(tile[j], tile[j] + m, dst + (j0 + j) * rows + i0);
    }
}

// dst[c * dst_row + r] = src[r * src_row + c] (+ add[c]) for r < rows, c <
// cols: the broadcast GEMM's (pixel, channel) products put back in planes with
// the bias, and dy's planes laid out as its (pixel, channel) operand. Floats
// go through SSE2 4 x 4 transposes; element by element this took 8% of a
// CIFAR ResNet's 32 -> 64 stride-2 forward. Without add the values are copied
// (adding 0 would turn -0 into +0).
template <typename T>
void transpose_rows(const T* src, int64_t src_row, int64_t rows, int64_t cols, T* dst, int64_t dst_row,
                    const T* add) {
  const auto added = [&](T v, int64_t c) { return add != nullptr ? v + add[c] : v; };
  int64_t c0 = 0;
#ifdef __SSE2__
  if constexpr (std::is_same_v<T, float>) {
    for (; c0 + 4 <= cols; c0 += 4) {
      __m128 a[4];
      for (int64_t j = 0; j < 4; ++j) a[j] = _mm_set1_ps(add != nullptr ? add[c0 + j] : 0.0f);
      const auto put = [&](T* out, __m128 v, int64_t j) { _mm_storeu_ps(out, add != nullptr ? _mm_add_ps(v, a[j]) : v); };
      int64_t r = 0;
      for (; r + 4 <= rows; r += 4) {
        const T* in = src + r * src_row + c0;
        __m128 r0 = _mm_loadu_ps(in), r1 = _mm_loadu_ps(in + src_row), r2 = _mm_loadu_ps(in + 2 * src_row),
               r3 = _mm_loadu_ps(in + 3 * src_row);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        T* out = dst + c0 * dst_row + r;
        put(out, r0, 0);
        put(out + dst_row, r1, 1);
        put(out + 2 * dst_row, r2, 2);
        put(out + 3 * dst_row, r3, 3);
      }
      for (; r < rows; ++r)
        for (int64_t j = 0; j < 4; ++j) dst[(c0 + j) * dst_row + r] = added(src[r * src_row + c0 + j], c0 + j);
    }
  }
#endif
  for (int64_t c = c0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) dst[c * dst_row + r] = added(src[r * src_row + c], c);
}

// dW_g (+)= dy_g[:, block] col^T over k pixels, into out: dW_g itself
// (group_out x col_rows) or, `transposed`, dW_g^T = col dy_g[:, block]^T
// (col_rows x group_out). The GEMM packs its A row by row but gathers a
// transposed B with a stride, so the larger of the two operands goes in as A,
// unless a slice has fewer pixels (its sum's depth) than output channels: then
// transposing dW_g^T back (col_rows x group_out elements) costs more than
// gathering col (col_rows x pixels).
// Measured on Zen 3, 1 thread: 3x3 convs with 32-64 channels (col 288-576
// rows) ran at 90 GFLOP/s transposed against 54-72 not; a 1x1 conv 64 -> 256
// lost 20% transposed. On Zen 4, 3x3 convs with 512 channels at 7x7, 1
// thread: batch 1 3.2 ms against 13.8 transposed; stride 2, batch 8 (128
// pixels): 7.7 against 11.4; stride 2, batch 32 (512 pixels): 39.4 against 33.7.
bool weight_gradient_transposed(const Dims& d, int64_t slice_pixels) {
  return d.col_rows >= d.group_out && slice_pixels >= d.group_out;
}

template <typename T>
void weight_gradient_gemm(const Dims& d, bool transposed, int64_t k, const T* dy, int64_t ld_dy, const T* col,
                          int64_t ld_col, T beta, T* out) {
  if (transposed)
    gemm(false, true, d.col_rows, d.group_out, k, T(1), col, ld_col, dy, ld_dy, beta, out, d.group_out);
  else
    gemm(false, true, d.group_out, d.col_rows, k, T(1), dy, ld_dy, col, ld_col, beta, out, d.col_rows);
}

// body(block) for the row blocks of `rows` rows covering the output, in order.
template <typename Body>
void for_each_row_block(const Conv2dShape& s, int64_t rows, const Body& body) {
  for (int64_t first = 0; first < s.out_h; first += rows) body(RowBlock{first, std::min(s.out_h, first + rows)});
}

// Columns [b.first * out_w, b.last * out_w) of the column matrix of one group
// of one sample (x points at the group's first channel), into col with rows
// ld apart: row (c, kh, kw), column (oh, ow) holds
// x[c, oh * stride_h - pad_h + kh * dilation_h, ow * stride_w - pad_w + kw * dilation_w], 0 in the padding.
template <typename T>
void im2col(const Conv2dShape& s, const Dims& d, const T* x, RowBlock b, T* col, int64_t ld,
            int threads) {
  parallel_for(d.col_rows, threads, [&](int64_t r) {
    const int64_t c = r / d.taps;
    const Tap tap = tap_at(s, r % d.taps / s.kernel_w, r % s.kernel_w);
    T* row = col + r * ld;
    for (int64_t oh = b.first; oh < b.last; ++oh, row += s.out_w) {
      const int64_t ih = oh * s.stride_h + tap.row_offset;
      if (ih < 0 || ih >= s.in_h || tap.len() == 0) {
        std::fill(row, row + s.out_w, T(0));
        continue;
      }
      std::fill(row, row + tap.cols.first, T(0));
      copy_strided(tap.len(), x + c * d.in_plane + ih * s.in_w + tap.first_col, s.stride_w, row + tap.cols.first);
      std::fill(row + tap.cols.last, row + s.out_w, T(0));
    }
  });
}

// The planes of `samples` samples (channels planes of size plane each, the
// samples `sample` elements apart from src) side by side: plane c of sample i
// at dst + c * samples * plane + i * plane. scatter_planes is its inverse,
// adding add[c] to plane c where add is given (the forward pass's bias).
template <typename T>
void gather_planes(const T* src, int64_t samples, int64_t channels, int64_t plane, int64_t sample, T* dst) {
  for (int64_t i = 0; i < samples; ++i)
    for (int64_t c = 0; c < channels; ++c)
      std::copy(src + i * sample + c * plane, src + i * sample + (c + 1) * plane, dst + (c * samples + i) * plane);
}

template <typename T>
void scatter_planes(const T* src, int64_t samples, int64_t channels, int64_t plane, int64_t sample, const T* add,
                    T* dst) {
  for (int64_t i = 0; i < samples; ++i)
    for (int64_t c = 0; c < channels; ++c) {
      const T* from = src + (c * samples + i) * plane;
      T* to = dst + i * sample + c * plane;
      if (add == nullptr) {  // a copy: adding 0 would turn -0 into +0
        std::copy(from, from + plane, to);
        continue;
      }
      for (int64_t p = 0; p < plane; ++p) to[p] = from[p] + add[c];
    }
}

// Elements a PhaseSplit plane may exceed 4 input planes by (a small image's
// padding) before the forward pass builds the column matrix instead.
constexpr int64_t kSplitSlack = int64_t{1} << 16;

// Scratch up to this size is kept per thread between calls (thread_workspace).
constexpr int64_t kKeptWorkspaceBytes = int64_t{8} << 20;

// Output pixels below which one GEMM takes several samples of a slice, their
// columns side by side, up to kFoldColumns: a GEMM per sample of ResNet's 7x7
// layers (49 columns, 16 after a stride) leaves the micro-kernel's tiles
// ragged and reads the weights again for every few columns. Measured on Zen 4,
// 1 thread, batch 8, ms per sample / folded: 3x3 stride 2, 256 channels at
// 14x14 (49 pixels out) 7.8 / 6.7 forward; 1x1 512 channels at 7x7 2.7 / 2.3
// forward, 5.0 / 4.5 backward; but 1x1 128 channels at 14x14 (196 pixels)
// 0.69 / 0.89 forward: the extra pass over the output costs more there.
constexpr int64_t kFoldBelow = 128;
constexpr int64_t kFoldColumns = 512;

// Samples per GEMM, at most `slice` (the samples of a slice): enough for
// kFoldColumns columns while the buffers they need, sample_bytes each, stay
// within `bytes`: the backward pass builds their column matrix and keeps it
// within twice the L2, or the GEMMs read it back from memory (3x3 stride 2, 256
// channels at 7x7, batch 32, 1 thread, backward 22 ms per sample, 28 folded
// into 4.5 MiB).
int64_t samples_per_gemm(const Dims& d, int64_t slice, int64_t sample_bytes, int64_t bytes) {
  if (d.out_plane >= kFoldBelow) return 1;
  const int64_t fit = bytes / std::max<int64_t>(sample_bytes, 1);
  return std::clamp<int64_t>(std::min(ceil_div(kFoldColumns, d.out_plane), fit), 1, slice);
}

// A buffer of at least `size` elements for the calling thread, kept for its
// later calls: freshly mapped pages cost 7-10% of a layer's time in page
// faults (Winograd). Callers keep it to a few MiB per thread.
template <typename T>
T* thread_workspace(int64_t size) {
  thread_local std::vector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < size) {
    buffer.clear();
    buffer.shrink_to_fit();
    buffer.resize(static_cast<size_t>(size));
  }
  return buffer.data();
}

// The input of one group of one sample laid out so that every tap of the
// kernel reads a contiguous run along an output row: zero-padded, and each
// padded row split into its stride_w phases (padded column q at phase
// q % stride_w, index q / stride_w). Tap (c, kh, kw) of output (oh, ow) then
// lies at offset(c, kh, kw) + oh * stride_h * row + ow, with no bounds to check.
struct PhaseSplit {
  int64_t phase_w;  // elements per phase: ceil(padded width / stride_w)
  int64_t row;      // stride_w * phase_w
  int64_t plane;    // padded height * row
  std::vector<int64_t> tap_offsets;  // offset(0, kh, kw) for each tap, in (kh, kw) order
  // The padded rows and the phases some tap reads (a 1x1 kernel with stride 2
  // reads every other row and one phase); only these are filled.
  std::vector<int64_t> rows_read;
  struct PhaseRead {
    int64_t phase;
    Range inside;  // its entries that lie inside the input row
  };
  std::vector<PhaseRead> phases_read;

  explicit PhaseSplit(const Conv2dShape& s) {
    phase_w = ceil_div(s.in_w + 2 * s.pad_w, s.stride_w);
    row = s.stride_w * phase_w;
    plane = (s.in_h + 2 * s.pad_h) * row;
    std::vector<bool> row_read(static_cast<size_t>(s.in_h + 2 * s.pad_h)), phase_read(static_cast<size_t>(s.stride_w));
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      for (int64_t oh = 0; oh < s.out_h; ++oh) row_read[static_cast<size_t>(oh * s.stride_h + kh * s.dilation_h)] = true;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t q = kw * s.dilation_w;
        tap_offsets.push_back(kh * s.dilation_h * row + q % s.stride_w * phase_w + q / s.stride_w);
        phase_read[static_cast<size_t>(q % s.stride_w)] = true;
      }
    }
    for (size_t r = 0; r < row_read.size(); ++r)
      if (row_read[r]) rows_read.push_back(static_cast<int64_t>(r));
    for (size_t ph = 0; ph < phase_read.size(); ++ph)
      if (phase_read[ph]) {
        // Entry i is padded column ph + i * stride_w, input column ph + i * stride_w - pad_w.
        const int64_t phase = static_cast<int64_t>(ph);
        phases_read.push_back({phase, inside_range(phase_w, s.in_w, s.stride_w, phase - s.pad_w)});
      }
  }

  // Writes the rows and phases read of the group_in channels of x (the
  // group's first channel of one sample) into dst, with their padding unless
  // dst already holds it (a buffer zeroed, or filled before by this split):
  // the zeros cost as much as the data on the narrow rows of small images
  // (GCC turns the short zeroing loops into memset calls).
  template <typename T>
  void fill(const Conv2dShape& s, const Dims& d, const T* x, T* dst, int threads, bool padding_written) const {
    // Stride 2 reading both phases (any kernel wider than 1) splits each row
    // in one pass of inline loops: per phase, the calls of the general path
    // cost more than the copy on the 16-32 wide rows of downsampling layers
    // (a fifth of a CIFAR ResNet's 32 -> 64 stride-2 forward).
    const bool both_of_two = s.stride_w == 2 && phases_read.size() == 2;
    parallel_for(d.group_in, threads, [&](int64_t c) {
      for (const int64_t r : rows_read) {
        const int64_t ih = r - s.pad_h;
        if (both_of_two) {
          T* out = dst + c * plane + r * row;
          if (ih < 0 || ih >= s.in_h) {
            if (!padding_written) std::fill(out, out + row, T(0));
            continue;
          }
          if (!padding_written)
            for (const PhaseRead& read : phases_read) {
              T* phase = out + read.phase * phase_w;
              std::fill(phase, phase + read.inside.first, T(0));
              std::fill(phase + read.inside.last, phase + phase_w, T(0));
            }
          // Input column iw is padded column iw + pad_w: phase (iw + pad_w) % 2, index (iw + pad_w) / 2.
          const T* in = x + c * d.in_plane + ih * s.in_w;
          T* even = out + s.pad_w % 2 * phase_w + s.pad_w / 2;
          T* odd = out + (s.pad_w + 1) % 2 * phase_w + (s.pad_w + 1) / 2;
          const int64_t pairs = s.in_w / 2;
          split_pairs(pairs, in, even, odd);
          if (s.in_w % 2 != 0) even[pairs] = in[s.in_w - 1];
          continue;
        }
        for (const PhaseRead& read : phases_read) {
          const int64_t ph = read.phase;
          T* out = dst + c * plane + r * row + ph * phase_w;
          const Range inside = ih < 0 || ih >= s.in_h ? Range{0, 0} : read.inside;
          if (!padding_written) {
            std::fill(out, out + inside.first, T(0));
            std::fill(out + inside.last, out + phase_w, T(0));
          }
          copy_strided(inside.last - inside.first, x + c * d.in_plane + ih * s.in_w + ph + inside.first * s.stride_w - s.pad_w,
                       s.stride_w, out + inside.first);
        }
      }
    });
  }
};

// The column matrices (see im2col) of one group of consecutive samples, side
// by side, as the GEMM's implicit B: each narrow strip of columns the GEMM
// packs is copied straight from a layout of the input in which every tap of
// an output row is one contiguous run (a PhaseSplit, or x itself for a
// pointwise kernel), so the matrix is never written out whole. Column j is
// pixel j % out_plane of sample j / out_plane; tap t of input channel c of its
// output (oh, ow) lies at
//   src + sample * image + c * plane + tap_offsets[t] + oh * row_step + ow.
template <typename T>
struct ColumnSource {
  const T* src;
  int64_t image, plane, row_step;
  const int64_t* tap_offsets;
  int64_t taps, out_w, out_plane;
  bool slack;  // src may be read kRunSlack elements past any run
};

// Elements a PhaseSplit buffer holds past its end, so that fill_columns may
// copy runs in whole chunks of kRunSlack + 1.
constexpr int64_t kRunSlack = 7;

// Rows [k0, k0 + kc) x columns [j0, j0 + n) of a ColumnSource's matrix into
// dst (row stride ld): the columns as runs within one output row, each tap's
// run one contiguous copy.
template <typename T>
void fill_columns(const void* context, int64_t k0, int64_t kc, int64_t j0, int64_t n, T* dst, int64_t ld) {
  const ColumnSource<T>& cs = *static_cast<const ColumnSource<T>*>(context);
  for (int64_t j = j0; j < j0 + n;) {
    const int64_t pixel = j % cs.out_plane, oh = pixel / cs.out_w, ow = pixel % cs.out_w;
    const int64_t len = std::min(cs.out_w - ow, j0 + n - j);
    const T* base = cs.src + j / cs.out_plane * cs.image + oh * cs.row_step + ow;
    // Each row of the strip: tap (c, t) of this run, copied by copy(from, to).
    const auto for_each_row = [&](const auto& copy) {
      T* run = dst + (j - j0);
      for (int64_t k = 0, c = k0 / cs.taps, t = k0 % cs.taps; k < kc; ++k, run += ld) {
        copy(base + c * cs.plane + cs.tap_offsets[t], run);
        if (++t == cs.taps) t = 0, ++c;
      }
    };
    // Short runs (small planes) in whole chunks, past the run's end where that
    // stays in this row of dst: later runs, or the packing's zero padding,
    // overwrite the excess. (3x3 stride 2 at 14x14, runs of 7: the fill took
    // 12% of the layer with a tail loop per run.)
    constexpr int64_t kChunk = kRunSlack + 1;
    const int64_t chunked = (len + kChunk - 1) / kChunk * kChunk;
    if (cs.slack && j - j0 + chunked <= ld) {
      for_each_row([chunked](const T* __restrict from, T* __restrict to) {
        for (int64_t i = 0; i < chunked; i += kChunk)
          for (int64_t q = 0; q < kChunk; ++q) to[i + q] = from[i + q];
      });
    } else {
      for_each_row([len](const T* __restrict from, T* __restrict to) { copy_short(len, from, to); });
    }
    j += len;
  }
}

// col2im for a 1x1 kernel with a stride or padding (not pointwise), which
// reaches each pixel of dx at most once: dx is written outright, zeros where
// no output reads (the rows and columns a stride skips, the padding's
// neighbours), so it needs no zero fill first. A fill and then an add into
// every other row took two passes over dx in memory (25 MB for ResNet's 256
// -> 128 stride-2 shortcut at 56x56, batch 8). rows_per_block gives a 1x1
// kernel whole planes, so one call writes all of each plane.
template <typename T>
void col2im_1x1(const Conv2dShape& s, const Dims& d, const T* col, int64_t ld, T* dx, int threads) {
  const Tap tap = tap_at(s, 0, 0);
  parallel_for(d.group_in, threads, [&](int64_t c) {
    for (int64_t ih = 0; ih < s.in_h; ++ih) {
      T* out = dx + c * d.in_plane + ih * s.in_w;
      std::fill(out, out + s.in_w, T(0));
      const int64_t from = ih - tap.row_offset, oh = from / s.stride_h;  // row_offset = -pad_h
      if (from % s.stride_h != 0 || oh >= s.out_h) continue;
      const T* run = col + c * ld + oh * s.out_w + tap.cols.first;
      for (int64_t j = 0; j < tap.len(); ++j) out[tap.first_col + j * s.stride_w] = run[j];
    }
  });
}

// The adjoint of im2col for one block (col's rows ld apart): every column
// entry is added to dx (the group's first channel of one sample) at the pixel
// it came from.
template <typename T>
void col2im(const Conv2dShape& s, const Dims& d, const T* col, int64_t ld, RowBlock b, T* dx,
            int threads) {
  parallel_for(d.group_in, threads, [&](int64_t c) {
    T* plane = dx + c * d.in_plane;
    for (int64_t t = 0; t < d.taps; ++t) {
      const Tap tap = tap_at(s, t / s.kernel_w, t % s.kernel_w);
      if (tap.len() == 0) continue;
      const T* row = col + (c * d.taps + t) * ld;
      for (int64_t oh = b.first; oh < b.last; ++oh) {
        const int64_t ih = oh * s.stride_h + tap.row_offset;
        if (ih < 0 || ih >= s.in_h) continue;
        axpy_strided(tap.len(), T(1), row + (oh - b.first) * s.out_w + tap.cols.first, 1,
                     plane + ih * s.in_w + tap.first_col, s.stride_w);
      }
    }
  });
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
  [[maybe_unused]] const int threads = threads_for_flops(static_cast<double>(s.batch) * sample_flops(s, d));
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

// ---------------------------------------------------------------- stride-1 direct kernels

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// Whether the broadcast GEMM over `cols` columns (channels) runs AVX-512's
// tile (conv_avx512.cpp): floats filling at least two 16-lane vectors
// (LeNet-5's 16 output channels ran 10-17% slower on it than on AVX2's).
bool wide_broadcast_tile([[maybe_unused]] int64_t cols, [[maybe_unused]] std::size_t elem_size) {
#ifdef MINIGRAD_X86
  return elem_size == sizeof(float) && cols >= 32 && cols % 16 == 0 && cpu_features().avx512f;
#else
  return false;
#endif
}

// Whether the forward pass and the weight gradient put the vector lanes across
// output channels (BroadcastGemm) rather than along output rows (Correlation,
// WeightGradient): whichever leaves fewer lanes idle, counted for 8-lane
// vectors and 16-wide row tiles (AVX2 floats). LeNet-5: conv1 (6 channels,
// rows of 28) along rows, conv2 (16 channels, rows of 10) across channels.
bool lanes_across_channels(const Conv2dShape& s, const Dims& d) {
  return static_cast<double>(d.group_out) / static_cast<double>(round_up(d.group_out, 8)) >
         static_cast<double>(s.out_w) / static_cast<double>(round_up(s.out_w, 16));
}

// Channels per group up to which the stride-1 direct kernels beat im2col +
// GEMM at any size (LeNet-5: 1 -> 6 and 6 -> 16). With more, the reduction is
// long enough for the blocked GEMM, whose cache blocking the direct kernels
// lack...
constexpr int64_t kDirectMaxChannels = 16;
// ...except, up to 128 channels per group on AVX2, where the direct kernel
// leaves no vector lane idle and each zero-padded image stays in L2 (the
// GEMM path writes and rereads its column matrix instead). Measured on a
// 2-core AMD EPYC (Zen, AVX2) with the benchmarks' CIFAR-sized 3x3 layers,
// batch 64, forward: 32 -> 32 at 32x32 0.6x -> 0.9-1.1x PyTorch, 32/64 -> 64
// at 16x16 0.8x -> 1.1-1.3x, 64 -> 128 at 8x8 (lanes across channels) 0.8x ->
// 0.9-1.0x; ResNet's 64 channels at 56x56 (an 841 KiB image) stayed faster on
// the GEMM path. The same on AVX-512 CPUs whose 512-bit FMAs add no throughput
// (measured on a 2-core AMD EPYC Zen 4: CIFAR 3x3 forward 0.7x -> 0.9-1.1x,
// the CIFAR CNN's training step 0.8-0.9x -> 1.0-1.1x). CPUs with full-rate
// AVX-512 keep the AVX-512 GEMM path, where the direct kernels (AVX2) would
// reach half the peak (not measured), and so do the portable builds.
// "Stays in L2": at most half the core's L2, read at run time (Zen 2's 512 KiB:
// 256 KiB, where the measurements above were made; Zen 4's 1 MiB: 512 KiB,
// which took 64 -> 64 at 32x32, a 296 KiB image, from the GEMM path's 30.5 ms
// to 24.5 ms at batch 32, forward, 1 thread, and its gradients 10-15%).
constexpr int64_t kWideDirectMaxChannels = 128;

// Whether the wide range applies: up to max_channels per group, and `planes`
// planes of `padded_plane` elements (the kernels' source) within
// source_bytes. The direct kernels thread over images only, so it also needs
// an image per thread the work deserves (the GEMM path threads inside the
// GEMM for a small batch).
bool wide_direct_fits(const Conv2dShape& s, const Dims& d, int64_t planes, int64_t padded_plane,
                      std::size_t elem_size, int64_t max_channels = kWideDirectMaxChannels,
                      int64_t source_bytes = l2_bytes() / 2) {
  return std::max(d.group_in, d.group_out) <= max_channels &&
         planes * padded_plane * static_cast<int64_t>(elem_size) <= source_bytes &&
         cpu_features().avx2_fma && !avx512_doubles_fma_rate() &&
         s.batch >= threads_for_flops(static_cast<double>(s.batch) * sample_flops(s, d));
}

int64_t padded_input_plane(const Conv2dShape& s) { return (s.in_h + 2 * s.pad_h) * (s.in_w + 2 * s.pad_w); }

bool few_channels(const Dims& d) { return d.group_in <= kDirectMaxChannels && d.group_out <= kDirectMaxChannels; }

bool stride1_with_taps(const Conv2dShape& s, const Dims& d) {
  return s.stride_h == 1 && s.stride_w == 1 && !d.pointwise;
}

// With a stride, the wide range of the direct forward kernels (on a phase-split
// source) ends at 64 channels per group. Measured on Zen 4, 3x3 stride 2, 1
// thread, ms GEMM path / direct: 16 -> 32 at 32x32, batch 128 4.5 / 3.8; 32 ->
// 64 at 32x32, batch 32 3.40 / 3.15, at 16x16, batch 128 4.05 / 3.78; 64 -> 64
// at 16x16, batch 32 1.97 / 1.92, at 28x28, batch 8 1.49 / 1.46, but at 32x32,
// batch 32 6.99 / 7.10; 128 -> 128 at 28x28 lost (5.5 / 6.8). Few channels
// gain most: 6 -> 16, 5x5 at 28x28, batch 64 1.05 / 0.69.
constexpr int64_t kStridedDirectMaxChannels = 64;

bool is_strided(const Conv2dShape& s) { return s.stride_h > 1 || s.stride_w > 1; }

// The PhaseSplit plane the strided direct kernels would read, or 0 where they
// do not apply: a 1x1 kernel, a depthwise layer (it keeps the scalar kernel,
// use_direct: a phase split per channel cost more, 144 channels at 56x56,
// stride 2: 2.2 -> 2.6 ms), or a split far larger than the input.
int64_t strided_direct_source_plane(const Conv2dShape& s, const Dims& d) {
  if (d.taps == 1 || use_direct(d)) return 0;
  const int64_t plane = PhaseSplit(s).plane;
  return plane <= 4 * d.in_plane + kSplitSlack ? plane : 0;
}

// The strided direct kernels' channel range: few channels, or at the AVX2
// rate up to kStridedDirectMaxChannels per group with every lane busy and
// `planes` planes of `plane` elements within half the L2; with AVX-512's
// broadcast tile across `lanes` channels (wide_broadcast_tile), any channels
// whose weights take at most `weight_bytes` (per group), and the planes
// within the whole L2. The tile streams the weights from L2 for every image:
// 3x3 stride 2, 256 -> 512 from 14x14 (4.5 MiB of weights), batch 8 took 16.1
// ms against the GEMM path's 9.1. The larger source took ResNet's layers from
// 56x56 (an 861 KiB padded image) off the GEMM path: batch 8, 1 thread, ms
// before / after: 64 -> 64 forward 4.98 / 4.18, dweight 5.55 / 4.46; 64 ->
// 128 forward 9.17 / 8.77, dweight 10.4 / 8.8 (dx unchanged).
bool strided_direct_range(const Conv2dShape& s, const Dims& d, bool lanes_full, int64_t lanes, int64_t planes,
                          int64_t plane, std::size_t elem_size, int64_t weight_bytes) {
  if (few_channels(d)) return true;
  if (!lanes_full) return false;
  if (wide_broadcast_tile(lanes, elem_size) &&
      d.group_out * d.col_rows * static_cast<int64_t>(elem_size) <= weight_bytes)
    return wide_direct_fits(s, d, planes, plane, elem_size, std::numeric_limits<int64_t>::max(), l2_bytes());
  return wide_direct_fits(s, d, planes, plane, elem_size, kStridedDirectMaxChannels);
}

// Forward: a correlation writing rows of out_w pixels in 16-wide tiles, or
// the broadcast GEMM with 8-lane vectors across output channels.
bool use_direct_taps_forward(const Conv2dShape& s, const Dims& d, std::size_t elem_size) {
  const bool across = lanes_across_channels(s, d);
  const bool lanes_full = across ? d.group_out % 8 == 0 : s.out_w % 16 == 0;
  if (is_strided(s)) {
    const int64_t source_plane = strided_direct_source_plane(s, d);
    return source_plane != 0 &&
           strided_direct_range(s, d, lanes_full, across ? d.group_out : 0, d.group_in, source_plane, elem_size,
                                l2_bytes());
  }
  if (!stride1_with_taps(s, d)) return false;
  if (few_channels(d)) return true;
  return lanes_full && wide_direct_fits(s, d, d.group_in, padded_input_plane(s), elem_size);
}

// The direct backward computes dx as a correlation of dy padded by dilation *
// (kernel - 1) - padding, which must be >= 0 on each side; a padding beyond
// the kernel's reach is left to the GEMM path.
bool stride1_backward_with_taps(const Conv2dShape& s, const Dims& d) {
  return stride1_with_taps(s, d) && s.pad_h <= s.dilation_h * (s.kernel_h - 1) &&
         s.pad_w <= s.dilation_w * (s.kernel_w - 1);
}

// Strided dx through the broadcast GEMM per stride phase
// (strided_direct_input_grad), lanes across input channels: where the strided
// forward runs direct, with the input channels filling 8 lanes, dilation 1.
// Zen 4, 1 thread, ms GEMM path (gemm + col2im) / direct, 3x3 stride 2: 32 ->
// 64 at 16x16, batch 128 4.64 / 3.63; 16 -> 32 at 32x32, batch 128 5.29 /
// 3.80; 64 -> 64 at 16x16, batch 64 4.55 / 3.49, at 8x8, batch 128 2.96 /
// 2.00, at 32x32, batch 32 7.84 / 7.11; 5x5 stride 2, 6 -> 16 at 28x28, batch
// 64 1.50 / 1.16.
bool use_strided_direct_input_grad(const Conv2dShape& s, const Dims& d, std::size_t elem_size) {
  if (!is_strided(s) || s.dilation_h != 1 || s.dilation_w != 1 || strided_direct_source_plane(s, d) == 0)
    return false;
  // Few channels need 3 lanes in 4 busy: 6 -> 16 above gained, 4 -> 12 4x4 at
  // 64x64, batch 16 lost (0.69 / 0.78), 3 -> 16 3x3 at 32x32, batch 64 lost
  // (0.39 / 0.64).
  if (4 * d.group_in < 3 * round_up(d.group_in, 8)) return false;
  const int64_t dy_plane = (s.out_h + ceil_div(s.kernel_h, s.stride_h)) * (s.out_w + ceil_div(s.kernel_w, s.stride_w));
  return strided_direct_range(s, d, d.group_in % 8 == 0, d.group_in, d.group_out, dy_plane, elem_size, l2_bytes());
}

// dx: a correlation writing rows of in_w pixels.
bool use_stride1_direct_input_grad(const Conv2dShape& s, const Dims& d, std::size_t elem_size) {
  if (!stride1_backward_with_taps(s, d)) return false;
  if (few_channels(d)) return true;
  const int64_t dy_plane = (s.out_h + 2 * (s.dilation_h * (s.kernel_h - 1) - s.pad_h)) *
                           (s.out_w + 2 * (s.dilation_w * (s.kernel_w - 1) - s.pad_w));
  return s.in_w % 16 == 0 && wide_direct_fits(s, d, d.group_out, dy_plane, elem_size);
}

// The direct weight gradient: for few channels, and in the wide range with
// output channels filling 8-lane vectors, there as the broadcast GEMM across
// output channels (the taps as rows, the pixels as depth; the kernel along rows
// lost to the GEMM path with 32-64 channels). Measured on a 2-core AMD EPYC
// Zen 4 (AVX2 kernels), CIFAR-sized 3x3 layers, batch 64-128: 1.05-1.33x the
// GEMM path's speed at 1 thread, 0.99-1.28x at 2.
// With a stride, the broadcast GEMM across channels on the forward pass's
// phase-split source, in the forward's range (use_direct_taps_forward) with
// the output channels filling 8 lanes: the GEMM path's im2col was a fifth of
// a CIFAR ResNet's stride-2 backward. Zen 4, 1 thread, ms GEMM path / direct:
// 3x3 stride 2, 32 -> 64 at 16x16, batch 128 4.75 / 3.41; 16 -> 32 at 32x32,
// batch 128 5.19 / 3.94; 64 -> 64 at 32x32, batch 32 7.75 / 6.80; 5x5 stride
// 2, 6 -> 16 at 28x28, batch 64 1.56 / 0.70. Past 64 channels (AVX-512's
// tile) only with weights within half the L2: each image adds its products to
// a slice's sums, the weights' size, read and written again. 2 threads, ms
// GEMM path / direct: 3x3 stride 2, 48 -> 96 from 28x28, batch 32 (162 KiB)
// 3.22 / 2.87; 64 -> 128 from 16x16, batch 128 (288 KiB) 7.64 / 6.79; but
// 128 -> 128 from 14x14, batch 32 (576 KiB) 3.12 / 3.62 and 96 -> 192, batch
// 32 (648 KiB) 3.24 / 3.86 (at 1 thread the direct kernel won all four).
bool use_direct_weight_grad(const Conv2dShape& s, const Dims& d, std::size_t elem_size) {
  if (is_strided(s)) {
    const int64_t source_plane = strided_direct_source_plane(s, d);
    return source_plane != 0 &&
           strided_direct_range(s, d, d.group_out % 8 == 0, d.group_out, d.group_in, source_plane, elem_size,
                                l2_bytes() / 2);
  }
  if (!stride1_backward_with_taps(s, d)) return false;
  if (few_channels(d)) return true;
  return d.group_out % 8 == 0 && wide_direct_fits(s, d, d.group_in, padded_input_plane(s), elem_size);
}

template <typename T>
void correlate(const conv_detail::Correlation<T>& c) {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::correlate_avx2(c);
#endif
  conv_detail::Direct<simd::Portable<T>>::correlate(c);
}

template <typename T>
void weight_gradient(const conv_detail::WeightGradient<T>& g) {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::weight_gradient_avx2(g);
#endif
  conv_detail::Direct<simd::Portable<T>>::weight_gradient(g);
}

template <typename T>
void broadcast_gemm(const conv_detail::BroadcastGemm<T>& g) {
#ifdef MINIGRAD_X86
  if constexpr (std::is_same_v<T, float>)
    if (wide_broadcast_tile(g.cols, sizeof(T))) return conv_detail::broadcast_gemm_avx512(g);
  if (cpu_features().avx2_fma) return conv_detail::broadcast_gemm_avx2(g);
#endif
  conv_detail::Direct<simd::Portable<T>>::broadcast_gemm(g);
}

// A 64-byte aligned array (a whole cache line per 16 floats), freed as allocated.
struct AlignedDelete {
  void operator()(void* p) const { ::operator delete(p, std::align_val_t(64)); }
};
template <typename T>
using AlignedArray = std::unique_ptr<T[], AlignedDelete>;

// A vector whose data start on a cache line: the broadcast GEMM's rows of b
// (a multiple of 64 bytes apart for 16k float columns) then never straddle two
// lines, which AVX-512 loads pay for twice. Zen 4, 1 thread, ms unaligned /
// aligned, 3x3 stride 2 forward: 48 -> 96 from 28x28, batch 32 4.82 / 4.65;
// 128 -> 128 from 28x28, batch 8 4.26 / 4.15; stride 1, 32 -> 64 at 16x16,
// batch 64, dweight 5.00 / 4.83.
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const CacheLineAllocator&) const { return true; }
  bool operator!=(const CacheLineAllocator&) const { return false; }
};
template <typename T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

// A source of the direct kernels: `planes` planes of h x w, zero-padded by
// (pad_h, pad_w) on every side into planes of hp x wp, and the offset of every
// tap of the convolution's kernel in it, ordered (kh, plane, kw) so that the
// taps of one kernel row are contiguous (Correlation skips rows of padding).
// `size` includes the elements the kernels read past the last plane (their
// vectors run past the row ends, see conv_direct.h).
struct PaddedSource {
  int64_t planes, h, w, pad_h, pad_w, hp, wp, size;
  std::vector<int64_t> offsets;
};

// Offset c * plane + tap_offset(kh, kw) of every tap of `planes` planes, in
// (kh, c, kw) order: the taps of one kernel row contiguous (see tap_index).
template <typename TapOffset>
std::vector<int64_t> kernel_row_major_offsets(const Conv2dShape& s, int64_t planes, int64_t plane,
                                              const TapOffset& tap_offset) {
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(planes * s.kernel_h * s.kernel_w));
  for (int64_t kh = 0; kh < s.kernel_h; ++kh)
    for (int64_t c = 0; c < planes; ++c)
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) offsets.push_back(c * plane + tap_offset(kh, kw));
  return offsets;
}

PaddedSource padded_source(const Conv2dShape& s, int64_t planes, int64_t h, int64_t w, int64_t pad_h,
                           int64_t pad_w) {
  PaddedSource p{planes, h, w, pad_h, pad_w, h + 2 * pad_h, w + 2 * pad_w, 0, {}};
  p.size = planes * p.hp * p.wp + (s.kernel_w - 1) * s.dilation_w + conv_detail::kReadSlack +
           conv_detail::kLenMultiple;
  p.offsets = kernel_row_major_offsets(s, planes, p.hp * p.wp,
                                       [&](int64_t kh, int64_t kw) { return kh * s.dilation_h * p.wp + kw * s.dilation_w; });
  return p;
}

// Index of tap (c, kh, kw) of a weight row in the (kh, c, kw) order of PaddedSource.
int64_t tap_index(const Conv2dShape& s, int64_t planes, int64_t c, int64_t kh, int64_t kw) {
  return (kh * planes + c) * s.kernel_w + kw;
}

// Copies planes of h x w from src into dst, plane i at dst + i * plane_stride,
// row r at row_offset + r * row_stride. What lies between (the padding) is
// never written, so a buffer zeroed once serves every image of a call.
template <typename T>
void copy_planes(const T* src, int64_t planes, int64_t h, int64_t w, T* dst, int64_t plane_stride,
                 int64_t row_stride, int64_t row_offset) {
  for (int64_t i = 0; i < planes; ++i)
    for (int64_t r = 0; r < h; ++r)
      std::copy(src + (i * h + r) * w, src + (i * h + r + 1) * w, dst + i * plane_stride + row_offset + r * row_stride);
}

template <typename T>
void fill_padded(const PaddedSource& p, const T* src, T* dst) {
  copy_planes(src, p.planes, p.h, p.w, dst, p.hp * p.wp, p.wp, p.pad_h * p.wp + p.pad_w);
}

template <typename T>
conv_detail::Correlation<T> correlation_of(const Conv2dShape& s, const PaddedSource& p, int64_t rows,
                                           const T* weight, const T* bias, const T* src, int64_t out_h,
                                           int64_t out_w, T* out) {
  return {rows,    p.planes * s.kernel_h * s.kernel_w, weight, bias, p.offsets.data(), src, p.wp, out_h, out_w, out,
          p.planes * s.kernel_w, s.dilation_h, p.pad_h, p.pad_h + p.h, 1};
}

// Offsets oh * row + ow of the output pixels in a source whose output rows lie row apart.
std::vector<int64_t> pixel_offsets(const Conv2dShape& s, int64_t row) {
  std::vector<int64_t> pixels;
  pixels.reserve(static_cast<size_t>(s.out_h * s.out_w));
  for (int64_t oh = 0; oh < s.out_h; ++oh)
    for (int64_t ow = 0; ow < s.out_w; ++ow) pixels.push_back(oh * row + ow);
  return pixels;
}

// Threads and batch slices for the direct kernels: several slices per thread,
// taken in turn (see for_each_chunk).
struct DirectPlan {
  int threads;
  int64_t chunks;
};
constexpr int64_t kChunksPerThread = 4;

DirectPlan direct_plan(const Conv2dShape& s, const Dims& d) {
  const int64_t wanted = threads_for_flops(static_cast<double>(s.batch) * sample_flops(s, d));
  const int threads = static_cast<int>(std::min(s.batch, wanted));
  return {threads, threads > 1 ? std::min(s.batch, threads * kChunksPerThread) : 1};
}

// One image's group zero-padded and split into its stride phases (PhaseSplit;
// stride 1 makes that the plain padded image), so that every tap is a
// constant offset: the source of the direct forward pass, and of the strided
// direct weight gradient.
struct SplitSource {
  PhaseSplit split;
  std::vector<int64_t> offsets;  // of the taps, in (kh, c, kw) order
  int64_t size;                  // elements, with the slack the kernels read past the last row
  int64_t out_row;               // distance between the sources of consecutive output rows
};

SplitSource split_source(const Conv2dShape& s, const Dims& d) {
  PhaseSplit split(s);
  std::vector<int64_t> offsets = kernel_row_major_offsets(s, d.group_in, split.plane, [&](int64_t kh, int64_t kw) {
    return split.tap_offsets[static_cast<size_t>(kh * s.kernel_w + kw)];
  });
  // Vectors run past the row ends (conv_direct.h) by less than a padded row plus the slack.
  const int64_t size = d.group_in * split.plane + split.row + conv_detail::kReadSlack;
  const int64_t out_row = s.stride_h * split.row;
  return {std::move(split), std::move(offsets), size, out_row};
}

// Output pixels whose taps that read the input (not its padding) are the same
// kernel rows [kh.first, kh.last) x columns [kw.first, kw.last): all taps in
// the interior, fewer at the borders of a padded layer. The broadcast GEMM
// across output channels runs each region over its own taps, reading x in
// place: no zero-padded copy of the image, and no multiply-adds with its
// padding (8% of a 3x3 padding-1 layer's at 8x8 outputs).
struct PixelRegion {
  std::vector<int64_t> sources;  // the source offset of each pixel's first tap
  std::vector<int64_t> outputs;  // its index oh * out_w + ow
  std::vector<int64_t> taps;     // the region's taps, as indices in the (kh, c, kw) order of the weights
  std::vector<int64_t> offsets;  // of each tap in the source, from the first
};

// The output positions along one axis grouped by the kernel positions whose
// taps land inside the input: ranges[i], for the positions with of[o] == i.
struct AxisClasses {
  std::vector<Range> ranges;
  std::vector<size_t> of;
};

AxisClasses axis_classes(int64_t out, int64_t kernel, int64_t in, int64_t stride, int64_t pad, int64_t dilation) {
  AxisClasses axis;
  for (int64_t o = 0; o < out; ++o) {
    const Range r = inside_range(kernel, in, dilation, o * stride - pad);
    size_t i = 0;
    while (i < axis.ranges.size() && (axis.ranges[i].first != r.first || axis.ranges[i].last != r.last)) ++i;
    if (i == axis.ranges.size()) axis.ranges.push_back(r);
    axis.of.push_back(i);
  }
  return axis;
}

// Regions pay where few and the interior holds most pixels: at most one
// border row or column of pixels on each side, at least half the pixels with
// every tap. Zen 4, 1 thread, ms padded copy / in place: 3x3 stride 2, 32 ->
// 64 from 16x16, batch 128 3.24 / 2.99 (4 regions, 49 of 64 pixels inside);
// 3x3 16 -> 32 at 8x8, batch 64 0.42 / 0.34 (9, 36 of 64); LeNet-5's conv2
// (no padding: one region) 0.333 / 0.286. Smaller tiles of many regions lost:
// 5x5 padding 2 at 12x12 9.1 / 10.5 (25 regions), 3x3 stride 2 from 7x7 to
// 4x4 0.50 / 0.65 (9, 4 of 16 pixels inside).
constexpr size_t kMaxRegions = 9;

// The regions of x read in place (offsets from tap (kh.first, kw.first) of
// channel 0), or none where they do not pay.
std::vector<PixelRegion> pixel_regions(const Conv2dShape& s, const Dims& d) {
  const AxisClasses rows = axis_classes(s.out_h, s.kernel_h, s.in_h, s.stride_h, s.pad_h, s.dilation_h);
  const AxisClasses cols = axis_classes(s.out_w, s.kernel_w, s.in_w, s.stride_w, s.pad_w, s.dilation_w);
  const auto inside = [](const AxisClasses& axis, int64_t kernel) {
    return std::count_if(axis.of.begin(), axis.of.end(), [&](size_t i) {
      return axis.ranges[i].first == 0 && axis.ranges[i].last == kernel;
    });
  };
  if (rows.ranges.size() * cols.ranges.size() > kMaxRegions ||
      2 * inside(rows, s.kernel_h) * inside(cols, s.kernel_w) < d.out_plane)
    return {};
  std::vector<PixelRegion> regions(rows.ranges.size() * cols.ranges.size());
  for (int64_t oh = 0; oh < s.out_h; ++oh)
    for (int64_t ow = 0; ow < s.out_w; ++ow) {
      const size_t r = rows.of[static_cast<size_t>(oh)], c = cols.of[static_cast<size_t>(ow)];
      const Range kh = rows.ranges[r], kw = cols.ranges[c];
      PixelRegion& region = regions[r * cols.ranges.size() + c];
      // A pixel with no tap inside is the bias alone: its region reads nothing.
      const bool some = kh.first < kh.last && kw.first < kw.last;
      region.sources.push_back(some ? (oh * s.stride_h - s.pad_h + kh.first * s.dilation_h) * s.in_w +
                                          ow * s.stride_w - s.pad_w + kw.first * s.dilation_w
                                    : 0);
      region.outputs.push_back(oh * s.out_w + ow);
    }
  for (size_t r = 0; r < rows.ranges.size(); ++r)
    for (size_t c = 0; c < cols.ranges.size(); ++c) {
      const Range kh = rows.ranges[r], kw = cols.ranges[c];
      PixelRegion& region = regions[r * cols.ranges.size() + c];
      for (int64_t i = kh.first; i < kh.last; ++i)
        for (int64_t ch = 0; ch < d.group_in; ++ch)
          for (int64_t j = kw.first; j < kw.last; ++j) {
            region.taps.push_back(tap_index(s, d.group_in, ch, i, j));
            region.offsets.push_back(ch * d.in_plane + (i - kh.first) * s.dilation_h * s.in_w +
                                     (j - kw.first) * s.dilation_w);
          }
    }
  return regions;
}

// All pixels as one region of the zero-padded, phase-split source (SplitSource).
PixelRegion padded_region(const Conv2dShape& s, const Dims& d, const SplitSource& src) {
  PixelRegion all{pixel_offsets(s, src.out_row), std::vector<int64_t>(static_cast<size_t>(d.out_plane)),
                  std::vector<int64_t>(static_cast<size_t>(d.col_rows)), src.offsets};
  std::iota(all.outputs.begin(), all.outputs.end(), int64_t{0});
  std::iota(all.taps.begin(), all.taps.end(), int64_t{0});
  return all;
}

// A region's rows of the transposed weights (`rows` per group, `cols` wide):
// a run of them when its taps are one (whole kernel rows: the interior, the
// top and bottom borders), else gathered.
template <typename T>
struct RegionWeights {
  const T* first;
  int64_t group_stride;  // between the weights of consecutive groups
  AlignedVector<T> gathered;

  RegionWeights(const std::vector<int64_t>& taps, const AlignedVector<T>& w, int64_t groups, int64_t rows, int64_t cols) {
    const int64_t n = static_cast<int64_t>(taps.size());
    if (n == 0 || taps.back() - taps.front() == n - 1) {
      first = w.data() + (n == 0 ? 0 : taps.front()) * cols;
      group_stride = rows * cols;
      return;
    }
    gathered.resize(static_cast<size_t>(groups * n * cols));
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t i = 0; i < n; ++i) {
        const T* from = w.data() + (g * rows + taps[static_cast<size_t>(i)]) * cols;
        std::copy(from, from + cols, gathered.begin() + (g * n + i) * cols);
      }
    first = gathered.data();
    group_stride = n * cols;
  }
};

// The forward pass through the direct kernels, for any stride: across
// channels on x in place by pixel regions where they pay, else on the
// zero-padded, phase-split copy of each image.
template <typename T>
void direct_taps_forward(const Conv2dShape& s, const Dims& d, const T* x, const T* weight, const T* bias, T* y) {
  const bool across = lanes_across_channels(s, d);
  // Correlation: weight rows with taps in the source's order; BroadcastGemm:
  // their transpose, taps x cols, zero in the padding columns, written in
  // order (output channels innermost): written d.col_rows apart, a 96 -> 192
  // channel stride-2 forward at batch 8 took 1.28 ms, now 1.20.
  const int64_t cols = round_up(d.group_out, conv_detail::kColMultiple);
  AlignedVector<T> w(static_cast<size_t>(s.groups * (across ? cols : d.group_out) * d.col_rows));
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t c = 0; c < d.group_in; ++c)
      for (int64_t kh = 0; kh < s.kernel_h; ++kh)
        for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
          const int64_t t = tap_index(s, d.group_in, c, kh, kw);
          const T* from = weight + ((g * d.group_out * d.group_in + c) * s.kernel_h + kh) * s.kernel_w + kw;
          for (int64_t co = 0; co < d.group_out; ++co)
            w[static_cast<size_t>(across ? (g * d.col_rows + t) * cols + co : (g * d.group_out + co) * d.col_rows + t)] =
                from[co * d.col_rows];
        }
  std::vector<PixelRegion> regions = across ? pixel_regions(s, d) : std::vector<PixelRegion>{};
  const bool in_place = !regions.empty();
  // The zero-padded, phase-split copy of each image, unless x is read in place.
  const std::optional<SplitSource> src = in_place ? std::nullopt : std::optional<SplitSource>(split_source(s, d));
  if (across && !in_place) regions = {padded_region(s, d, *src)};
  std::vector<RegionWeights<T>> region_weights;
  region_weights.reserve(regions.size());  // they point into their own vectors
  for (const PixelRegion& region : regions) region_weights.emplace_back(region.taps, w, s.groups, d.col_rows, cols);
  const DirectPlan plan = direct_plan(s, d);
  const int64_t chunks = plan.chunks;
  for_each_chunk(chunks, plan.threads, [&](int64_t c) {
    // The padded source, zeroed: the correlation's excess lanes read it.
    std::vector<T> source(in_place ? 0 : static_cast<size_t>(src->size));
    std::vector<T> transposed(across ? static_cast<size_t>(d.out_plane * cols) : 0);  // (pixel, channel)
    const int64_t first = chunk_begin(c, chunks, s.batch), end = chunk_begin(c + 1, chunks, s.batch);
    for (int64_t n = first; n < end; ++n)
      for (int64_t g = 0; g < s.groups; ++g) {
        const T* x_g = x + (n * s.in_channels + g * d.group_in) * d.in_plane;
        if (!in_place) src->split.fill(s, d, x_g, source.data(), 1, true);
        // The next group's input comes into L2 while this one computes: read
        // on demand from L3 or memory, the copy waited on its loads (in a
        // profile of a CIFAR ResNet's 32 -> 64 stride-2 forward the copy took
        // 13% of the time, 10.5% with this).
        if (n + 1 < end || g + 1 < s.groups) prefetch_for_read(x_g + d.group_in * d.in_plane, d.group_in * d.in_plane);
        T* y_g = y + (n * s.out_channels + g * d.group_out) * d.out_plane;
        const T* bias_g = bias != nullptr ? bias + g * d.group_out : nullptr;
        if (!across) {
          correlate(conv_detail::Correlation<T>{d.group_out, d.col_rows, w.data() + g * d.group_out * d.col_rows,
                                                bias_g, src->offsets.data(), source.data(), src->out_row, s.out_h,
                                                s.out_w, y_g,
                                                d.group_in * s.kernel_w, s.dilation_h, s.pad_h, s.pad_h + s.in_h,
                                                s.stride_h});
          continue;
        }
        for (size_t r = 0; r < regions.size(); ++r) {
          const PixelRegion& region = regions[r];
          const RegionWeights<T>& weights = region_weights[r];
          broadcast_gemm(conv_detail::BroadcastGemm<T>{
              static_cast<int64_t>(region.sources.size()), static_cast<int64_t>(region.taps.size()), cols,
              in_place ? x_g : source.data(),
              region.sources.data(), region.offsets.data(), weights.first + g * weights.group_stride,
              transposed.data(), false, region.outputs.data()});
        }
        transpose_rows(transposed.data(), cols, d.out_plane, d.group_out, y_g, d.out_plane, bias_g);
      }
  });
}

// Pixels per batch slice of the direct backward with a weight gradient (see
// direct_backward). Measured on Zen 4, 2 threads, 3x3 stride 2, ms dweight
// with 4 slices per thread / this: 32 -> 64 from 16x16 (64 pixels out), batch
// 8 0.216 / 0.137, batch 16 0.322 / 0.239; 64 -> 128, batch 8 0.83 / 0.49;
// 16 -> 32 from 32x32, batch 8 0.143 / 0.125.
constexpr int64_t kMinDirectSlicePixels = 512;

// Backward through the direct kernels. dweight: along rows, dy laid on the
// padded input's grid (rows of wp, zero past out_w) against the padded input
// (WeightGradient); across channels, the padded input's taps against dy
// transposed (BroadcastGemm). Both in the source's tap order, put back in
// weight order per slice. dx: the correlation of dy, padded by dilation *
// (kernel - 1) - padding, with the weights flipped in both axes and in/out
// channels swapped. With a stride, only dweight (dx is null), across
// channels, on the forward pass's phase-split source.
template <typename T>
void direct_backward(const Conv2dShape& s, const Dims& d, const T* dy, const T* x, const T* weight, T* dx,
                     T* dweight) {
  const bool strided = is_strided(s);
  const PaddedSource xsrc = padded_source(s, d.group_in, s.in_h, s.in_w, s.pad_h, s.pad_w);
  const std::optional<SplitSource> split = strided ? std::optional(split_source(s, d)) : std::nullopt;
  const int64_t* x_offsets = strided ? split->offsets.data() : xsrc.offsets.data();
  const PaddedSource dysrc = padded_source(s, d.group_out, s.out_h, s.out_w, s.dilation_h * (s.kernel_h - 1) - s.pad_h,
                                           s.dilation_w * (s.kernel_w - 1) - s.pad_w);
  const bool across = strided || lanes_across_channels(s, d) || !few_channels(d);  // dweight's layout (see above)
  const int64_t grid = round_up(s.out_h * xsrc.wp, conv_detail::kLenMultiple);
  const int64_t cols = round_up(d.group_out, conv_detail::kColMultiple);
  const std::vector<int64_t> pixels =
      across ? pixel_offsets(s, strided ? split->out_row : xsrc.wp) : std::vector<int64_t>{};
  const int64_t weight_size = s.out_channels * d.col_rows;
  // flipped[g][c][t] for t = tap (co, KH - 1 - kh, KW - 1 - kw) of dysrc: weight[g * group_out + co][c][kh][kw].
  const int64_t flipped_taps = d.group_out * d.taps;
  std::vector<T> flipped(dx != nullptr ? static_cast<size_t>(s.in_channels * flipped_taps) : 0);
  if (dx != nullptr)
    for (int64_t g = 0; g < s.groups; ++g)
      for (int64_t co = 0; co < d.group_out; ++co)
        for (int64_t c = 0; c < d.group_in; ++c)
          for (int64_t kh = 0; kh < s.kernel_h; ++kh)
            for (int64_t kw = 0; kw < s.kernel_w; ++kw)
              flipped[static_cast<size_t>((g * d.group_in + c) * flipped_taps +
                                          tap_index(s, d.group_out, co, s.kernel_h - 1 - kh, s.kernel_w - 1 - kw))] =
                  weight[(((g * d.group_out + co) * d.group_in + c) * s.kernel_h + kh) * s.kernel_w + kw];

  const DirectPlan plan = direct_plan(s, d);
  // As in the GEMM path: slice 0 sums into dweight, slice c > 0 into partial c - 1, added in slice order.
  // Each slice passes over its sums three times (zeroed, put in weight order, added), so a slice
  // takes at least kMinDirectSlicePixels pixels, with one slice per thread at least.
  const int64_t chunks =
      dweight != nullptr
          ? std::clamp<int64_t>(s.batch * d.out_plane / kMinDirectSlicePixels, plan.threads, plan.chunks)
          : plan.chunks;
  std::vector<T> partial(dweight != nullptr ? static_cast<size_t>((chunks - 1) * weight_size) : 0);
  for_each_chunk(chunks, plan.threads, [&](int64_t c) {
    // dw_taps: per group, (channel, tap) along rows, (tap, col) across channels.
    const int64_t group_dw = across ? d.col_rows * cols : d.group_out * d.col_rows;
    std::vector<T> xpad, dw_taps, dypad;
    AlignedVector<T> dy_layout;  // the broadcast GEMM's b across channels
    if (dweight != nullptr) {
      xpad.resize(static_cast<size_t>(strided ? split->size : xsrc.size));
      dy_layout.resize(static_cast<size_t>(across ? d.out_plane * cols : d.group_out * grid));
      dw_taps.resize(static_cast<size_t>(s.groups * group_dw));
    }
    if (dx != nullptr) dypad.resize(static_cast<size_t>(dysrc.size));
    for (int64_t n = chunk_begin(c, chunks, s.batch); n < chunk_begin(c + 1, chunks, s.batch); ++n)
      for (int64_t g = 0; g < s.groups; ++g) {
        const T* dy_g = dy + (n * s.out_channels + g * d.group_out) * d.out_plane;
        if (dweight != nullptr) {
          const T* x_g = x + (n * s.in_channels + g * d.group_in) * d.in_plane;
          if (strided)
            split->split.fill(s, d, x_g, xpad.data(), 1, true);
          else
            fill_padded(xsrc, x_g, xpad.data());
          T* dw_g = dw_taps.data() + g * group_dw;
          if (across) {
            transpose_rows(dy_g, d.out_plane, d.group_out, d.out_plane, dy_layout.data(), cols,
                           static_cast<const T*>(nullptr));
            broadcast_gemm(conv_detail::BroadcastGemm<T>{d.col_rows, d.out_plane, cols, xpad.data(), x_offsets,
                                                         pixels.data(), dy_layout.data(), dw_g, true});
          } else {
            copy_planes(dy_g, d.group_out, s.out_h, s.out_w, dy_layout.data(), grid, xsrc.wp, 0);
            weight_gradient(conv_detail::WeightGradient<T>{d.group_out, d.col_rows, dy_layout.data(), grid,
                                                           x_offsets, xpad.data(), dw_g});
          }
        }
        if (dx != nullptr) {
          fill_padded(dysrc, dy_g, dypad.data());
          correlate(correlation_of(s, dysrc, d.group_in, flipped.data() + g * d.group_in * flipped_taps,
                                   static_cast<const T*>(nullptr), dypad.data(), s.in_h, s.in_w,
                                   dx + (n * s.in_channels + g * d.group_in) * d.in_plane));
        }
      }
    if (dweight == nullptr) return;
    T* dw = c == 0 ? dweight : partial.data() + (c - 1) * weight_size;
    for (int64_t g = 0; g < s.groups; ++g)
      for (int64_t co = 0; co < d.group_out; ++co)
        for (int64_t ci = 0; ci < d.group_in; ++ci)
          for (int64_t kh = 0; kh < s.kernel_h; ++kh)
            for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
              const int64_t t = tap_index(s, d.group_in, ci, kh, kw);
              dw[(((g * d.group_out + co) * d.group_in + ci) * s.kernel_h + kh) * s.kernel_w + kw] =
                  dw_taps[static_cast<size_t>(g * group_dw + (across ? t * cols + co : co * d.col_rows + t))];
            }
  });
  if (dweight != nullptr) add_partials(dweight, partial.data(), chunks, weight_size);
}

// The input gradient of a strided layer through the broadcast GEMM, without
// col2im: dx splits into the stride's phases, and phase (a, b) (the pixels
// with ih + pad_h = a + stride_h * i, iw + pad_w = b + stride_w * j) takes
// only the taps kh = a + stride_h * u, kw = b + stride_w * v, which read dy at
// (i - u, j - v): per phase a stride-1 correlation of the zero-padded dy with
// that part of the kernel, summed over the output channels, its lanes across
// input channels. The (pixel, channel) products go back to planes per phase,
// which are then interleaved into dx. Dilation 1 only.
struct StridePhase {
  int64_t first, count;  // the phase's indices i: [first, first + count)
  int64_t taps;          // kernel positions a + stride * u within the kernel
};

std::vector<StridePhase> stride_phases(int64_t stride, int64_t pad, int64_t in, int64_t kernel) {
  std::vector<StridePhase> phases;
  for (int64_t a = 0; a < stride; ++a) {
    // Entry i of phase a is padded position a + stride * i, input position a + stride * i - pad.
    const Range inside = inside_range(ceil_div(in + 2 * pad, stride), in, stride, a - pad);
    phases.push_back({inside.first, inside.last - inside.first, std::max<int64_t>(ceil_div(kernel - a, stride), 0)});
  }
  return phases;
}

template <typename T>
void strided_direct_input_grad(const Conv2dShape& s, const Dims& d, const T* dy, const T* weight, T* dx) {
  const std::vector<StridePhase> rows = stride_phases(s.stride_h, s.pad_h, s.in_h, s.kernel_h);
  const std::vector<StridePhase> cols_of = stride_phases(s.stride_w, s.pad_w, s.in_w, s.kernel_w);
  // dy padded so that every (i - u, j - v) lies inside: taps - 1 before, up to the last phase index after.
  const auto padded_extent = [](const std::vector<StridePhase>& phases, int64_t out) {
    int64_t end = out, taps = 1;
    for (const StridePhase& p : phases) {
      end = std::max(end, p.first + p.count);
      taps = std::max(taps, p.taps);
    }
    return std::pair<int64_t, int64_t>{taps - 1, taps - 1 + end};
  };
  const auto [pad_top, hp] = padded_extent(rows, s.out_h);
  const auto [pad_left, wp] = padded_extent(cols_of, s.out_w);
  const int64_t plane = hp * wp;
  const int64_t cols = round_up(d.group_in, conv_detail::kColMultiple);
  // Per phase: the pixels' and taps' offsets into the padded dy, and per group
  // the weights of its taps, (co, u, v) x cols, zero in the padding columns.
  struct PhaseGemm {
    int64_t a, b;
    std::vector<int64_t> pixels, taps;
    AlignedVector<T> weights;
  };
  std::vector<PhaseGemm> gemms;
  int64_t most_pixels = 0;
  for (int64_t a = 0; a < s.stride_h; ++a)
    for (int64_t b = 0; b < s.stride_w; ++b) {
      const StridePhase& r = rows[static_cast<size_t>(a)];
      const StridePhase& c = cols_of[static_cast<size_t>(b)];
      PhaseGemm g{a, b, {}, {}, {}};
      for (int64_t i = r.first; i < r.first + r.count; ++i)
        for (int64_t j = c.first; j < c.first + c.count; ++j) g.pixels.push_back((i + pad_top) * wp + j + pad_left);
      for (int64_t co = 0; co < d.group_out; ++co)
        for (int64_t u = 0; u < r.taps; ++u)
          for (int64_t v = 0; v < c.taps; ++v) g.taps.push_back(co * plane - u * wp - v);
      const int64_t depth = static_cast<int64_t>(g.taps.size());
      g.weights.assign(static_cast<size_t>(s.groups * depth * cols), T(0));
      for (int64_t grp = 0; grp < s.groups; ++grp)
        for (int64_t co = 0; co < d.group_out; ++co)
          for (int64_t u = 0; u < r.taps; ++u)
            for (int64_t v = 0; v < c.taps; ++v)
              for (int64_t ci = 0; ci < d.group_in; ++ci)
                g.weights[static_cast<size_t>((grp * depth + (co * r.taps + u) * c.taps + v) * cols + ci)] =
                    weight[(((grp * d.group_out + co) * d.group_in + ci) * s.kernel_h + a + s.stride_h * u) *
                               s.kernel_w +
                           b + s.stride_w * v];
      most_pixels = std::max(most_pixels, static_cast<int64_t>(g.pixels.size()));
      gemms.push_back(std::move(g));
    }
  // The phases' products as planes, phase after phase: [c][i][j] each.
  std::vector<int64_t> phase_at;
  int64_t phases_size = 0;
  for (const PhaseGemm& g : gemms) {
    phase_at.push_back(phases_size);
    phases_size += d.group_in * static_cast<int64_t>(g.pixels.size());
  }
  const DirectPlan plan = direct_plan(s, d);
  for_each_chunk(plan.chunks, plan.threads, [&](int64_t chunk) {
    // Zeroed: dy's padding, and the phases no kernel position reaches, stay so.
    std::vector<T> dypad(static_cast<size_t>(d.group_out * plane)), phase_planes(static_cast<size_t>(phases_size));
    std::vector<T> products(static_cast<size_t>(most_pixels * cols));  // (pixel, channel)
    for (int64_t n = chunk_begin(chunk, plan.chunks, s.batch); n < chunk_begin(chunk + 1, plan.chunks, s.batch); ++n)
      for (int64_t grp = 0; grp < s.groups; ++grp) {
        copy_planes(dy + (n * s.out_channels + grp * d.group_out) * d.out_plane, d.group_out, s.out_h, s.out_w,
                    dypad.data(), plane, wp, pad_top * wp + pad_left);
        for (size_t k = 0; k < gemms.size(); ++k) {
          const PhaseGemm& g = gemms[k];
          const int64_t depth = static_cast<int64_t>(g.taps.size()), pixels = static_cast<int64_t>(g.pixels.size());
          if (depth == 0) continue;
          broadcast_gemm(conv_detail::BroadcastGemm<T>{pixels, depth, cols, dypad.data(), g.pixels.data(),
                                                       g.taps.data(), g.weights.data() + grp * depth * cols,
                                                       products.data(), false});
          transpose_rows(products.data(), cols, pixels, d.group_in, phase_planes.data() + phase_at[k], pixels,
                         static_cast<const T*>(nullptr));
        }
        // dx row ih is row (ih + pad_h) / stride_h - first of phase a = (ih + pad_h) % stride_h; its
        // column iw entry (iw + pad_w) / stride_w - first of phase b = (iw + pad_w) % stride_w.
        T* dx_g = dx + (n * s.in_channels + grp * d.group_in) * d.in_plane;
        for (int64_t ci = 0; ci < d.group_in; ++ci)
          for (int64_t ih = 0; ih < s.in_h; ++ih) {
            const int64_t a = (ih + s.pad_h) % s.stride_h;
            const int64_t i = (ih + s.pad_h) / s.stride_h - rows[static_cast<size_t>(a)].first;
            const auto phase_row = [&](int64_t b) {
              const int64_t k = a * s.stride_w + b;
              return phase_planes.data() + phase_at[static_cast<size_t>(k)] +
                     (ci * rows[static_cast<size_t>(a)].count + i) * cols_of[static_cast<size_t>(b)].count;
            };
            T* out = dx_g + ci * d.in_plane + ih * s.in_w;
            if (s.stride_w == 2) {  // columns 0 and 1 are entry 0 of phases pad_w % 2 and the other
              const T* even = phase_row(s.pad_w % 2);
              merge_pairs(s.in_w / 2, even, phase_row((s.pad_w + 1) % 2), out);
              if (s.in_w % 2 != 0) out[s.in_w - 1] = even[s.in_w / 2];
              continue;
            }
            for (int64_t iw = 0; iw < s.in_w; ++iw) {
              const int64_t b = (iw + s.pad_w) % s.stride_w;
              out[iw] = phase_row(b)[(iw + s.pad_w) / s.stride_w - cols_of[static_cast<size_t>(b)].first];
            }
          }
      }
  });
}

// ---------------------------------------------------------------- depthwise

// Depthwise layers (one input and one output channel per group: MobileNet's
// 3x3 and 5x5 layers) run W channels at a time, the vector lanes across
// channels (Direct::depthwise in cpu/conv_direct.h), whatever the planes'
// size. Along rows (Correlation) a 7x7 plane left 9 lanes of 16 idle, and each
// channel cost a kernel call and a copy: 960 channels at 7x7, batch 8, 1
// thread, forward 3.5 ms, PyTorch 0.3. A padding beyond the kernel's reach
// stays on the general paths (the padded blocks would grow with it).
bool use_depthwise(const Conv2dShape& s, const Dims& d) {
  return d.group_in == 1 && d.group_out == 1 && s.pad_h <= s.dilation_h * (s.kernel_h - 1) &&
         s.pad_w <= s.dilation_w * (s.kernel_w - 1);
}

// Channels per block: the lanes of the kernel depthwise_kernel runs.
template <typename T>
int64_t depthwise_lanes() {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::kAvx2Lanes<T>;
#endif
  return simd::Portable<T>::W;
}

template <typename T>
void depthwise_kernel(const conv_detail::DepthwiseTaps<T>& a, const T* weight, T* out) {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::depthwise_avx2(a, weight, out);
#endif
  conv_detail::Direct<simd::Portable<T>>::depthwise(a, weight, out);
}

template <typename T>
void depthwise_weight_grad_kernel(const conv_detail::DepthwiseTaps<T>& a, const T* dy, T* weight) {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::depthwise_weight_grad_avx2(a, dy, weight);
#endif
  conv_detail::Direct<simd::Portable<T>>::depthwise_weight_grad(a, dy, weight);
}

template <typename T>
void depthwise_scatter_kernel(const conv_detail::DepthwiseTaps<T>& a, const T* weight, const T* dy, T* grid) {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::depthwise_scatter_avx2(a, weight, dy, grid);
#endif
  conv_detail::Direct<simd::Portable<T>>::depthwise_scatter(a, weight, dy, grid);
}

// dst[p * W + l] = src[l * src_stride + p] for p < n, l < lanes (<= W): into
// a block's lanes.
template <typename T>
void to_lanes(const T* src, int64_t src_stride, int64_t lanes, int64_t n, int64_t W, T* dst) {
#ifdef MINIGRAD_X86
  if constexpr (std::is_same_v<T, float>)
    if (W == conv_detail::kAvx2Lanes<float> && cpu_features().avx2_fma)
      return conv_detail::interleave_lanes_avx2(src, src_stride, lanes, n, dst);
#endif
  transpose_rows(src, src_stride, lanes, n, dst, W, static_cast<const T*>(nullptr));
}

// dst[l * dst_stride + p] = src[p * W + l] (+ add[l]) for p < n, l < lanes: out
// of a block's lanes.
template <typename T>
void from_lanes(const T* src, int64_t W, int64_t n, int64_t lanes, T* dst, int64_t dst_stride, const T* add) {
#ifdef MINIGRAD_X86
  if constexpr (std::is_same_v<T, float>)
    if (W == conv_detail::kAvx2Lanes<float> && cpu_features().avx2_fma)
      return conv_detail::deinterleave_lanes_avx2(src, n, lanes, dst, dst_stride, add);
#endif
  transpose_rows(src, W, n, lanes, dst, dst_stride, add);
}

// Planes of h x w in blocks of `lanes` channels, inside a zero border of
// (pad_h, pad_w): block rows of w + 2 * pad_w pixels.
struct DepthwiseBlock {
  int64_t lanes, h, w, pad_h, pad_w;
  int64_t row() const { return w + 2 * pad_w; }
  int64_t size() const { return (h + 2 * pad_h) * row() * lanes; }

  // Channels [0, channels) (channels <= lanes) of `planes` (plane-major) into
  // `block`, whose border the caller zeroed. AVX2's transposes take 8 pixels at
  // a time (the rest one by one): rows of a multiple of 8 go straight in; other
  // planes with a border go whole into `dense` (h * w * lanes elements; unused
  // otherwise) first, then row by row inside the border. 1 thread, batch 8, ms
  // forward row by row / through dense: 960 channels at 7x7 0.50 / 0.25, 384
  // at 14x14 0.56 / 0.40; but 144 at 56x56 2.57 / 2.95.
  template <typename T>
  void fill(const T* planes, int64_t channels, T* block, T* dense) const {
    const int64_t plane = h * w;
    if (pad_h == 0 && pad_w == 0) return to_lanes(planes, plane, channels, plane, lanes, block);
    if (w % 8 == 0) {
      for (int64_t r = 0; r < h; ++r)
        to_lanes(planes + r * w, plane, channels, w, lanes, block + ((r + pad_h) * row() + pad_w) * lanes);
      return;
    }
    to_lanes(planes, plane, channels, plane, lanes, dense);
    for (int64_t r = 0; r < h; ++r)
      std::copy(dense + r * w * lanes, dense + (r + 1) * w * lanes, block + ((r + pad_h) * row() + pad_w) * lanes);
  }
};

// Tap offsets, in pixels of `block`, for the kernel of s.
std::vector<int64_t> depthwise_offsets(const Conv2dShape& s, const DepthwiseBlock& block) {
  std::vector<int64_t> offsets;
  for (int64_t kh = 0; kh < s.kernel_h; ++kh)
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) offsets.push_back(kh * s.dilation_h * block.row() + kw * s.dilation_w);
  return offsets;
}

// Tap k of channel c at [(c / W * taps + k) * W + c % W] (flipped: tap
// taps - 1 - k), zero in the lanes past the channels.
template <typename T>
std::vector<T> depthwise_weights(const Conv2dShape& s, const T* weight, int64_t W, bool flipped) {
  const int64_t channels = s.in_channels, taps = s.kernel_h * s.kernel_w;
  std::vector<T> blocked(static_cast<size_t>(ceil_div(channels, W) * taps * W), T(0));
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t k = 0; k < taps; ++k)
      blocked[static_cast<size_t>((c / W * taps + k) * W + c % W)] = weight[c * taps + (flipped ? taps - 1 - k : k)];
  return blocked;
}

// Threads and slices of `items` depthwise work items (images x blocks of
// channels, or blocks), several slices per thread as the direct kernels' (an
// exact split per thread left a 2-thread MobileNet-style inference 30% slower
// in some runs: one thread delayed holds up the other).
DirectPlan depthwise_plan(int64_t items, double flops) {
  const int threads = static_cast<int>(std::min<int64_t>(items, threads_for_flops(flops)));
  return {threads, threads > 1 ? std::min(items, threads * kChunksPerThread) : 1};
}

// out = the depthwise correlation of src (planes of block.h x block.w) for the
// forward pass (src x, out y, bias added) and the stride-1 input gradient (src
// dy padded by dilation * (kernel - 1) - padding, the taps flipped, out dx):
// threads over (image, block of channels).
template <typename T>
void depthwise_correlation(const Conv2dShape& s, const DepthwiseBlock& block, const T* src, const T* weight,
                           const T* bias, bool flipped, int64_t stride_h, int64_t stride_w, int64_t out_h,
                           int64_t out_w, T* out) {
  const int64_t W = block.lanes, channels = s.in_channels, taps = s.kernel_h * s.kernel_w;
  const int64_t blocks = ceil_div(channels, W), items = s.batch * blocks;
  const int64_t src_plane = block.h * block.w, out_plane = out_h * out_w;
  const std::vector<int64_t> offsets = depthwise_offsets(s, block);
  const std::vector<T> wb = depthwise_weights(s, weight, W, flipped);
  const DirectPlan plan = depthwise_plan(items, 2.0 * static_cast<double>(items * W * taps * out_plane));
  for_each_chunk(plan.chunks, plan.threads, [&](int64_t chunk) {
    std::vector<T> source(static_cast<size_t>(block.size())), result(static_cast<size_t>(out_plane * W)),
        dense(static_cast<size_t>(src_plane * W));
    const conv_detail::DepthwiseTaps<T> a{taps, offsets.data(), source.data(), block.row(), stride_h, stride_w,
                                          out_h, out_w};
    for (int64_t item = chunk_begin(chunk, plan.chunks, items); item < chunk_begin(chunk + 1, plan.chunks, items);
         ++item) {
      const int64_t n = item / blocks, c0 = item % blocks * W, lanes = std::min(W, channels - c0);
      block.fill(src + (n * channels + c0) * src_plane, lanes, source.data(), dense.data());
      // the next item's planes follow this one's (see direct_taps_forward)
      if (item + 1 < items) prefetch_for_read(src + (n * channels + c0 + lanes) * src_plane, W * src_plane);
      depthwise_kernel(a, wb.data() + c0 * taps, result.data());
      from_lanes(result.data(), W, out_plane, lanes, out + (n * channels + c0) * out_plane, out_plane,
                 bias != nullptr ? bias + c0 : nullptr);
    }
  });
}

template <typename T>
void depthwise_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  const DepthwiseBlock block{depthwise_lanes<T>(), s.in_h, s.in_w, s.pad_h, s.pad_w};
  depthwise_correlation(s, block, x, weight, bias, false, s.stride_h, s.stride_w, s.out_h, s.out_w, y);
}

template <typename T>
void depthwise_input_grad(const Conv2dShape& s, const T* dy, const T* weight, T* dx) {
  const DepthwiseBlock block{depthwise_lanes<T>(), s.out_h, s.out_w,
                             s.dilation_h * (s.kernel_h - 1) - s.pad_h, s.dilation_w * (s.kernel_w - 1) - s.pad_w};
  depthwise_correlation(s, block, dy, weight, static_cast<const T*>(nullptr), true, 1, 1, s.in_h, s.in_w, dx);
}

// dx of a strided layer: every dy pixel's taps added onto the padded grid of
// x (depthwise_scatter), whose interior then goes back in planes. (As the
// correlation of dy dilated by the stride, 3 taps in 4 of a stride-2 layer
// would multiply zeros.)
template <typename T>
void depthwise_scattered_input_grad(const Conv2dShape& s, const T* dy, const T* weight, T* dx) {
  const DepthwiseBlock grid_block{depthwise_lanes<T>(), s.in_h, s.in_w, s.pad_h, s.pad_w};
  const DepthwiseBlock dy_block{grid_block.lanes, s.out_h, s.out_w, 0, 0};
  const int64_t W = grid_block.lanes, channels = s.in_channels, taps = s.kernel_h * s.kernel_w;
  const int64_t blocks = ceil_div(channels, W), items = s.batch * blocks;
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  const std::vector<int64_t> offsets = depthwise_offsets(s, grid_block);
  const std::vector<T> wb = depthwise_weights(s, weight, W, false);
  const DirectPlan plan = depthwise_plan(items, 2.0 * static_cast<double>(items * W * taps * out_plane));
  for_each_chunk(plan.chunks, plan.threads, [&](int64_t chunk) {
    std::vector<T> grid(static_cast<size_t>(grid_block.size())), dy_lanes(static_cast<size_t>(dy_block.size()));
    const conv_detail::DepthwiseTaps<T> a{taps, offsets.data(), grid.data(), grid_block.row(), s.stride_h, s.stride_w,
                                          s.out_h, s.out_w};
    for (int64_t item = chunk_begin(chunk, plan.chunks, items); item < chunk_begin(chunk + 1, plan.chunks, items);
         ++item) {
      const int64_t n = item / blocks, c0 = item % blocks * W, lanes = std::min(W, channels - c0);
      std::fill(grid.begin(), grid.end(), T(0));
      dy_block.fill(dy + (n * channels + c0) * out_plane, lanes, dy_lanes.data(), static_cast<T*>(nullptr));
      if (item + 1 < items) prefetch_for_read(dy + (n * channels + c0 + lanes) * out_plane, W * out_plane);
      depthwise_scatter_kernel(a, wb.data() + c0 * taps, dy_lanes.data(), grid.data());
      for (int64_t r = 0; r < s.in_h; ++r)
        from_lanes(grid.data() + ((r + s.pad_h) * grid_block.row() + s.pad_w) * W, W, s.in_w, lanes,
                   dx + (n * channels + c0) * in_plane + r * s.in_w, in_plane, static_cast<const T*>(nullptr));
    }
  });
}

// dweight, threads over blocks of channels, each summing over the batch (so
// the sums do not depend on the slicing).
template <typename T>
void depthwise_weight_grad(const Conv2dShape& s, const T* dy, const T* x, T* dweight) {
  const DepthwiseBlock block{depthwise_lanes<T>(), s.in_h, s.in_w, s.pad_h, s.pad_w};
  const DepthwiseBlock dy_block{block.lanes, s.out_h, s.out_w, 0, 0};
  const int64_t W = block.lanes, channels = s.in_channels, taps = s.kernel_h * s.kernel_w;
  const int64_t blocks = ceil_div(channels, W), in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  const std::vector<int64_t> offsets = depthwise_offsets(s, block);
  const DirectPlan plan = depthwise_plan(blocks, 2.0 * static_cast<double>(s.batch * blocks * W * taps * out_plane));
  for_each_chunk(plan.chunks, plan.threads, [&](int64_t chunk) {
    std::vector<T> source(static_cast<size_t>(block.size())), dy_lanes(static_cast<size_t>(dy_block.size())),
        dense(static_cast<size_t>(in_plane * W)),
        sums(static_cast<size_t>(taps * W));
    const conv_detail::DepthwiseTaps<T> a{taps, offsets.data(), source.data(), block.row(), s.stride_h, s.stride_w,
                                          s.out_h, s.out_w};
    for (int64_t b = chunk_begin(chunk, plan.chunks, blocks); b < chunk_begin(chunk + 1, plan.chunks, blocks); ++b) {
      const int64_t c0 = b * W, lanes = std::min(W, channels - c0);
      std::fill(sums.begin(), sums.end(), T(0));
      for (int64_t n = 0; n < s.batch; ++n) {
        block.fill(x + (n * channels + c0) * in_plane, lanes, source.data(), dense.data());
        dy_block.fill(dy + (n * channels + c0) * out_plane, lanes, dy_lanes.data(), static_cast<T*>(nullptr));
        if (n + 1 < s.batch) {
          prefetch_for_read(x + ((n + 1) * channels + c0) * in_plane, lanes * in_plane);
          prefetch_for_read(dy + ((n + 1) * channels + c0) * out_plane, lanes * out_plane);
        }
        depthwise_weight_grad_kernel(a, dy_lanes.data(), sums.data());
      }
      for (int64_t l = 0; l < lanes; ++l)
        for (int64_t k = 0; k < taps; ++k) dweight[(c0 + l) * taps + k] = sums[static_cast<size_t>(k * W + l)];
    }
  });
}

// ---------------------------------------------------------------- Winograd F(2x2, 3x3)
// A 3x3 stride-1 correlation computed per 2x2 output tile from the 4x4 input
// tile d under it as y = A^T [(G g G^T) . (B^T d B)] A (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): 16 multiplies per
// tile, input and output channel instead of 36, 2.25x fewer multiply-adds.
// Summed over input channels, the element-wise products are 16 GEMMs, one per
// tile element e: M[e] (out x tiles) = U[e] (out x in) V[e] (in x tiles), U
// the transformed filters, V the transformed input tiles (conv_winograd.h has
// B and A). The weight gradient is the adjoint: dU[e] = sum over tiles of
// (A dy A^T)[e] V[e]^T, then dg = G^T dU G. The transforms add and subtract
// (G's halves are exact), so float64 stays exact to rounding and float32 stays
// within the tests' tolerance of the direct sum.
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
// Work is done in blocks of tile rows running across a slice's images (an 8x8
// image has 4 tile rows of 4 tiles; the GEMMs want more).
constexpr int64_t kWinogradElements = 16;

// The correlation of `in` planes of h x w per image, zero-padded by (pad_h,
// pad_w), by 3x3 filters into `out` planes of out_h x out_w (= h + 2 pad_h -
// 2, w + 2 pad_w - 2). The forward pass, and dx as the correlation of dy padded
// by 2 - padding with the flipped weights, channels swapped.
struct WinogradShape {
  int64_t batch, in, out, h, w, pad_h, pad_w, out_h, out_w;
  int64_t tiles_h() const { return (out_h + 1) / 2; }
  int64_t tiles_w() const { return (out_w + 1) / 2; }
};

// U[e][o][i] = (G g G^T)[e] for the 3x3 filters g[r][c] = filter(o, i, r, c).
// Filters go kFilterBlock at a time along i, gathered tap by tap, so that the
// arithmetic and the stores run across them in vectors; threads over o. (One
// at a time in scalar code, 512 -> 512 channels took 8 ms per call, more than
// the layer's GEMMs for 8 images of 7x7.)

// dst[0, n) = src[0, n) for n <= N, with stores that bypass the cache (no
// read of the lines written) when `stream` and dst is 16-byte aligned. A
// whole row of N is a copy of fixed size, which the compiler inlines (a
// std::copy of n elements was a call to memmove per 16 filters: a quarter of
// a 256-channel layer).
template <int64_t N, typename T>
void store_row(const T* src, int64_t n, T* dst, [[maybe_unused]] bool stream) {
  if (n < N) {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
    return;
  }
#ifdef __SSE2__
  if (stream && reinterpret_cast<uintptr_t>(dst) % 16 == 0 && N * sizeof(T) % 16 == 0) {
    for (int64_t j = 0; j < N; j += 16 / int64_t(sizeof(T))) {
      if constexpr (std::is_same_v<T, float>)
        _mm_stream_ps(dst + j, _mm_loadu_ps(src + j));
      else
        _mm_stream_pd(dst + j, _mm_loadu_pd(src + j));
    }
    return;
  }
#endif
  for (int64_t j = 0; j < N; ++j) dst[j] = src[j];
}

constexpr size_t kStreamedFilterBytes = size_t{8} << 20;

template <typename T, typename Filter>
AlignedArray<T> winograd_filters(int64_t out, int64_t in, const Filter& filter, [[maybe_unused]] int threads) {
  constexpr int64_t kFilterBlock = 16;
  // Every element is written below: no zeroing pass (4% of a 512-channel layer).
  AlignedArray<T> u(static_cast<T*>(
      ::operator new(sizeof(T) * static_cast<size_t>(kWinogradElements * out * in), std::align_val_t(64))));
  T* const u0 = u.get();
  // A U too large to stay in cache until the GEMMs read it is written with
  // stores that bypass the cache: 512 -> 512 channels (16 MB), batch 8 at 7x7,
  // forward, 2 threads, 10.3 -> 7.4 ms (the writes, each reading its line
  // first, were a quarter of the layer); 256 channels (4 MB), batch 4 at
  // 14x14, 1 thread, 5.3 -> 5.7 ms streamed (the GEMMs then read U from memory).
  const bool stream = sizeof(T) * static_cast<size_t>(kWinogradElements * out * in) > kStreamedFilterBytes;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
#pragma omp for schedule(static) nowait
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i0 = 0; i0 < in; i0 += kFilterBlock) {
        const int64_t n = std::min(kFilterBlock, in - i0);
        T g[3][3][kFilterBlock], gg[4][3][kFilterBlock];  // g, then G g
        for (int64_t r = 0; r < 3; ++r)
          for (int64_t c = 0; c < 3; ++c)
            for (int64_t j = 0; j < n; ++j) g[r][c][j] = filter(o, i0 + j, r, c);
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t j = 0; j < n; ++j) {
            gg[0][c][j] = g[0][c][j];
            gg[1][c][j] = (g[0][c][j] + g[1][c][j] + g[2][c][j]) / 2;
            gg[2][c][j] = (g[0][c][j] - g[1][c][j] + g[2][c][j]) / 2;
            gg[3][c][j] = g[2][c][j];
          }
        for (int64_t r = 0; r < 4; ++r) {
          T rows[4][kFilterBlock];  // U[r * 4 + c], c < 4
          for (int64_t j = 0; j < n; ++j) {
            rows[0][j] = gg[r][0][j];
            rows[1][j] = (gg[r][0][j] + gg[r][1][j] + gg[r][2][j]) / 2;
            rows[2][j] = (gg[r][0][j] - gg[r][1][j] + gg[r][2][j]) / 2;
            rows[3][j] = gg[r][2][j];
          }
          for (int64_t c = 0; c < 4; ++c)
            store_row<kFilterBlock>(rows[c], n, u0 + ((r * 4 + c) * out + o) * in + i0, stream);
        }
      }
#ifdef __SSE2__
    // each thread's streamed stores are globally visible before the region's
    // closing barrier, and so before the GEMMs read U
    if (stream) _mm_sfence();
#endif
  }
  return u;
}

// dg = G^T dU[.][o][i] G for every filter, into dweight (out x in x 3 x 3).
// Filters go kFilterBlock at a time along i, as in winograd_filters, so that
// the arithmetic runs across them in vectors; threads over o. (One at a time,
// 512 -> 512 channels took 3.3 ms per call, a fifth of the layer's weight
// gradient at batch 8, and ran on one thread of two.)
template <typename T>
void winograd_filter_grads(int64_t out, int64_t in, const T* du, T* dweight, [[maybe_unused]] int threads) {
  constexpr int64_t kFilterBlock = 16;
  const int64_t plane = out * in;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i0 = 0; i0 < in; i0 += kFilterBlock) {
      const int64_t n = std::min(kFilterBlock, in - i0);
      T z[3][4][kFilterBlock];  // G^T dU: rows u0 + (u1 + u2) / 2, (u1 - u2) / 2, (u1 + u2) / 2 + u3
      for (int64_t c = 0; c < 4; ++c) {
        const T* u = du + c * plane + o * in + i0;
        for (int64_t j = 0; j < n; ++j) {
          const T u0 = u[j], u1 = u[4 * plane + j], u2 = u[8 * plane + j], u3 = u[12 * plane + j];
          z[0][c][j] = u0 + (u1 + u2) / 2;
          z[1][c][j] = (u1 - u2) / 2;
          z[2][c][j] = (u1 + u2) / 2 + u3;
        }
      }
      T dg[kFilterBlock][3][3];  // the same along the rows
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t j = 0; j < n; ++j) {
          dg[j][r][0] = z[r][0][j] + (z[r][1][j] + z[r][2][j]) / 2;
          dg[j][r][1] = (z[r][1][j] - z[r][2][j]) / 2;
          dg[j][r][2] = (z[r][1][j] + z[r][2][j]) / 2 + z[r][3][j];
        }
      std::copy(&dg[0][0][0], &dg[0][0][0] + n * 9, dweight + (o * in + i0) * 9);
    }
}

// A plane zero-padded, its padded columns split into even and odd (see
// conv_winograd.h): rows of 2 half elements, half = tiles_w + 1.
template <typename T>
struct SplitPlane {
  int64_t half;
  T* data;
  T* row(int64_t r) const { return data + 2 * r * half; }
};

// Split planes of one geometry, `size` elements apart: one per part of a
// loop over channels run in parallel (for_each_channel).
template <typename T>
struct SplitPlanes {
  int64_t half, size;
  T* data;
  SplitPlane<T> at(int part) const { return {half, data + part * size}; }
};

// body(channel, part) for the channels [0, channels), cut into `parts`
// contiguous parts that run in parallel (each with its own scratch).
template <typename Body>
void for_each_channel(int64_t channels, int parts, const Body& body) {
  if (parts == 1) {  // no region at all (an inactive nested one still costs a call into OpenMP)
    for (int64_t ch = 0; ch < channels; ++ch) body(ch, 0);
    return;
  }
#pragma omp parallel for num_threads(parts) schedule(static)
  for (int t = 0; t < parts; ++t)
    for (int64_t ch = channels * t / parts; ch < channels * (t + 1) / parts; ++ch) body(ch, t);
}

// gemm_for(e) for the 16 tile elements, on `threads` threads: each GEMM on
// one thread, reading its own filters U[e] once, instead of every thread
// reading all of U for its share of every GEMM (16 MB with 512 channels: 2
// threads, 512 -> 512 at 7x7, batch 8, forward 12.5 ms against 7.3 for
// PyTorch when the memory was busy). The GEMMs allocate scratch: an exception
// is carried out of the region.
template <typename GemmFor>
void for_each_tile_element(int threads, const GemmFor& gemm_for) {
  if (threads == 1) {
    for (int64_t e = 0; e < kWinogradElements; ++e) gemm_for(e);
    return;
  }
  RegionErrors errors;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t e = 0; e < kWinogradElements; ++e) errors.run([&] { gemm_for(e); });
  errors.rethrow();
}

// Padded rows [first, last) of the plane src (h x w, padded by pad_h, pad_w)
// into p. Padding is never written: a buffer zeroed once serves every plane
// of one geometry, and rows outside [first, last) are not read before they
// are written again.
template <typename T>
void split_rows(const T* src, int64_t h, int64_t w, int64_t pad_h, int64_t pad_w, int64_t first, int64_t last,
                const SplitPlane<T>& p) {
  // Source column j is padded column j + pad_w, in phase (j + pad_w) % 2 at
  // (j + pad_w) / 2; the tiles read padded columns < 2 half. Each row is read
  // once, its column pairs split in one pass.
  const int64_t columns = std::min(w, 2 * p.half - pad_w);
  const auto phase_at = [&](int64_t j) { return (j + pad_w) % 2 * p.half + (j + pad_w) / 2; };
  for (int64_t r = std::max(first, pad_h); r < std::min(last, pad_h + h); ++r) {
    const T* row = src + (r - pad_h) * w;
    T* out = p.row(r);
    split_pairs(columns / 2, row, out + phase_at(0), out + phase_at(1));
    if (columns % 2) out[phase_at(columns - 1)] = row[columns - 1];
  }
}

template <typename T>
void winograd_input_row(const T* rows, int64_t half, int64_t tiles, T* v, int64_t stride) {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::winograd_input_row_avx2(rows, half, tiles, v, stride);
#endif
  conv_detail::winograd_input_row(rows, half, tiles, v, stride);
}

template <typename T>
void winograd_output_tiles(const T* m, int64_t stride, int64_t count, T* q, int64_t q_stride) {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::winograd_output_tiles_avx2(m, stride, count, q, q_stride);
#endif
  conv_detail::winograd_output_tiles(m, stride, count, q, q_stride);
}

template <typename T>
void winograd_output_grad_row(const T* rows, int64_t half, int64_t tiles, T* y, int64_t stride) {
#ifdef MINIGRAD_X86
  if (cpu_features().avx2_fma) return conv_detail::winograd_output_grad_row_avx2(rows, half, tiles, y, stride);
#endif
  conv_detail::winograd_output_grad_row(rows, half, tiles, y, stride);
}

// Tile rows [row0, row1) of a slice's images (numbered across them, from its
// first image): `tiles` tiles, the GEMMs' N. The slice's first block has row0
// 0. Its transformed operands are planes of `tiles` per channel, 16 of them
// (one per tile element) v_plane and m_plane apart; the output pixels 4 planes
// q_plane apart.
struct WinogradBlock {
  int64_t first_image, row0, row1, tiles;
  int64_t v_plane, m_plane, q_plane;
};

// Elements added between the planes that one transform reads or writes 16 of
// at a time: with the tiles a multiple of 32, planes a multiple of 4 KiB apart
// would share one set of the L1 (8-way) and evict each other.
constexpr int64_t kWinogradPlaneSkew = 16;

// body(n, ty, at) for the block's tile rows, n the image, ty the tile row in
// it, at its first tile's column in the block; split(n, ty0, ty1) before the
// rows [ty0, ty1) of each image.
template <typename Split, typename Body>
void for_each_tile_row(const WinogradShape& c, const WinogradBlock& b, const Split& split, const Body& body) {
  const int64_t tiles_h = c.tiles_h();
  for (int64_t row = b.row0; row < b.row1;) {
    const int64_t n = b.first_image + row / tiles_h, ty0 = row % tiles_h;
    const int64_t ty1 = std::min(tiles_h, ty0 + b.row1 - row);
    split(n, ty0, ty1);
    for (int64_t ty = ty0; ty < ty1; ++ty, ++row) body(n, ty, (row - b.row0) * c.tiles_w());
  }
}

// V[e][i][t] = (B^T d B)[e] for the block's tiles of every input plane i of
// src (images src_image apart); planes of `tiles`.
template <typename T>
void winograd_transform_input(const WinogradShape& c, const WinogradBlock& b, const T* src, int64_t src_image,
                              int parts, const SplitPlanes<T>& planes, T* v) {
  for_each_channel(c.in, parts, [&](int64_t i, int part) {
    const SplitPlane<T> plane = planes.at(part);
    for_each_tile_row(
        c, b,
        [&](int64_t n, int64_t ty0, int64_t ty1) {
          split_rows(src + n * src_image + i * c.h * c.w, c.h, c.w, c.pad_h, c.pad_w, 2 * ty0, 2 * ty1 + 2, plane);
        },
        [&](int64_t, int64_t ty, int64_t at) {
          winograd_input_row(plane.row(2 * ty), plane.half, c.tiles_w(), v + i * b.tiles + at, b.v_plane);
        });
  });
}

// Tile rows per block: the block's two transformed operands (16 x (in + out)
// x tiles) in the core's L2, but at least kWinogradMinTiles tiles, whole tile
// rows making a multiple of 32 tiles where that fits: the widest GEMM register
// tile (32 floats with AVX-512), so that no GEMM ends in a narrow edge tile.
// The floor is for many channels: 512 -> 512 at 7x7, batch 32, forward, 1
// thread on Zen 4, ran at 71 GFLOP/s (as direct multiply-adds) with blocks of
// 16 tiles (L2-sized; GEMMs of 16 columns), 106-117 with 64-512.
constexpr int64_t kWinogradMinTiles = 128;
int64_t winograd_rows_per_block(const WinogradShape& c, std::size_t elem_size) {
  const int64_t tiles_w = c.tiles_w();
  const int64_t row_bytes = kWinogradElements * (c.in + c.out) * tiles_w * static_cast<int64_t>(elem_size);
  const int64_t rows = std::max<int64_t>(ceil_div(kWinogradMinTiles, tiles_w), l2_bytes() / row_bytes);
  const int64_t step = 32 / std::gcd(int64_t{32}, tiles_w);
  return rows >= step ? rows / step * step : rows;
}

// A slice's scratch: v and m the block's 16 x in and 16 x out planes of
// tiles; per part of the transforms' channel loops (for_each_channel), q (4
// planes of tiles: the output pixels, 4 q_plane apart) and split planes for
// the input and for dy, zeroed at the start of each slice; du (the weight
// gradient's 16 x out x in sums, when asked for).
template <typename T>
struct WinogradBuffers {
  int parts;
  T* v;
  T* m;
  T* q;
  SplitPlanes<T> input, output;
  T* du;
};

// body(block, buffers) for the blocks of every slice of the batch, the slices
// on `threads` threads (for_each_chunk); a single slice runs outside any
// parallel region, its transforms and GEMMs then on `threads` too.
// finish(slice, buffers) after a slice's blocks.
template <typename T, typename Body, typename Finish>
void for_each_winograd_block(const WinogradShape& c, int threads, int64_t chunks, bool with_du, const Body& body,
                             const Finish& finish) {
  const int64_t tiles_h = c.tiles_h(), tiles_w = c.tiles_w();
  const int64_t rows = winograd_rows_per_block(c, sizeof(T));
  for_each_chunk(chunks, chunks == 1 ? 1 : threads, [&](int64_t chunk) {
    const int64_t first_image = chunk_begin(chunk, chunks, c.batch);
    const int64_t all_rows = (chunk_begin(chunk + 1, chunks, c.batch) - first_image) * tiles_h;
    const int64_t block_tiles = std::min(rows, all_rows) * tiles_w;
    const int64_t v_plane = c.in * block_tiles + kWinogradPlaneSkew, m_plane = c.out * block_tiles + kWinogradPlaneSkew;
    const int64_t q_plane = block_tiles + kWinogradPlaneSkew;
    const int64_t v_size = kWinogradElements * v_plane, m_size = kWinogradElements * m_plane;
    const int64_t split_size = (2 * tiles_h + 2) * 2 * (tiles_w + 1);
    const int64_t du_size = with_du ? kWinogradElements * c.out * c.in : 0;
    const int parts = chunks == 1 ? threads : 1;
    const int64_t q_size = parts * 4 * q_plane, splits_size = parts * split_size;
    T* const v = thread_workspace<T>(v_size + m_size + q_size + 2 * splits_size + du_size);
    T* const split = v + v_size + m_size + q_size;
    std::fill(split, split + 2 * splits_size, T(0));
    const WinogradBuffers<T> buffers{parts,
                                     v,
                                     v + v_size,
                                     v + v_size + m_size,
                                     {tiles_w + 1, split_size, split},
                                     {tiles_w + 1, split_size, split + splits_size},
                                     split + 2 * splits_size};
    for (int64_t row0 = 0; row0 < all_rows; row0 += rows) {
      const int64_t row1 = std::min(all_rows, row0 + rows);
      body(WinogradBlock{first_image, row0, row1, (row1 - row0) * tiles_w, v_plane, m_plane, q_plane}, buffers);
    }
    finish(chunk, buffers);
  });
}

// dst = the correlation of src with the filters U (16 x out x in) plus bias.
template <typename T>
void winograd_correlate(const WinogradShape& c, const T* src, int64_t src_image, const T* filters, const T* bias,
                        T* dst, int64_t dst_image, int threads, int64_t chunks) {
  const int64_t tiles_w = c.tiles_w(), pairs = c.out_w / 2;
  for_each_winograd_block<T>(
      c, threads, chunks, false,
      [&](const WinogradBlock& b, const WinogradBuffers<T>& buf) {
        T* const v = buf.v;
        T* const m = buf.m;
        winograd_transform_input(c, b, src, src_image, buf.parts, buf.input, v);
        for_each_tile_element(buf.parts, [&](int64_t e) {
          gemm(false, false, c.out, b.tiles, c.in, T(1), filters + e * c.out * c.in, c.in, v + e * b.v_plane,
               b.tiles, T(0), m + e * b.m_plane, b.tiles);
        });
        // A^T M A per output plane into the 2x2 pixels of its tiles (q), then
        // into the output rows; the last tile of an odd out_w has only its left column.
        for_each_channel(c.out, buf.parts, [&](int64_t o, int part) {
          T* const q = buf.q + part * 4 * b.q_plane;
          winograd_output_tiles(m + o * b.tiles, b.m_plane, b.tiles, q, b.q_plane);
          const T add = bias != nullptr ? bias[o] : T(0);
          for_each_tile_row(
              c, b, [](int64_t, int64_t, int64_t) {},
              [&](int64_t n, int64_t ty, int64_t at) {
                for (int64_t r = 0; r < 2 && 2 * ty + r < c.out_h; ++r) {
                  const T* left = q + 2 * r * b.q_plane + at;
                  const T* right = left + b.q_plane;
                  T* y = dst + n * dst_image + (o * c.out_h + 2 * ty + r) * c.out_w;
                  for (int64_t t = 0; t < pairs; ++t) {
                    y[2 * t] = left[t] + add;
                    y[2 * t + 1] = right[t] + add;
                  }
                  if (pairs < tiles_w) y[2 * pairs] = left[pairs] + add;
                }
              });
        });
      },
      [](int64_t, const WinogradBuffers<T>&) {});
}

// dU (16 x out x in) of one slice: the sum over its tiles of (A dy A^T)[e]
// V[e]^T, A dy A^T from dy's 2x2 tiles (zero past out_h, out_w); then
// finish(slice, dU) with that slice's dU.
template <typename T, typename Finish>
void winograd_filter_gradient(const WinogradShape& c, const T* x, int64_t x_image, const T* dy, int64_t dy_image,
                              int threads, int64_t chunks, const Finish& finish) {
  for_each_winograd_block<T>(
      c, threads, chunks, true,
      [&](const WinogradBlock& b, const WinogradBuffers<T>& buf) {
        winograd_transform_input(c, b, x, x_image, buf.parts, buf.input, buf.v);
        for_each_channel(c.out, buf.parts, [&](int64_t o, int part) {
          const SplitPlane<T> plane = buf.output.at(part);
          for_each_tile_row(
              c, b,
              [&](int64_t n, int64_t ty0, int64_t ty1) {
                split_rows(dy + n * dy_image + o * c.out_h * c.out_w, c.out_h, c.out_w, 0, 0, 2 * ty0, 2 * ty1, plane);
              },
              [&](int64_t, int64_t ty, int64_t at) {
                winograd_output_grad_row(plane.row(2 * ty), plane.half, c.tiles_w(), buf.m + o * b.tiles + at,
                                         b.m_plane);
              });
        });
        for_each_tile_element(buf.parts, [&](int64_t e) {
          gemm(false, true, c.out, c.in, b.tiles, T(1), buf.m + e * b.m_plane, b.tiles, buf.v + e * b.v_plane,
               b.tiles, b.row0 == 0 ? T(0) : T(1), buf.du + e * c.out * c.in, c.in);
        });
      },
      [&](int64_t chunk, const WinogradBuffers<T>& buf) { finish(chunk, buf.du); });
}

// Channels per group, in and out, from which Winograd beats the direct
// kernels and im2col + GEMM; its weight gradient also needs one side of 64
// (with 32 x 32 its dU GEMMs are too small to pay for the transforms).
// Measured on a 2-core AMD EPYC Zen 4, float32, batch 64, 1 thread, ms for
// forward / dx / dweight, other paths -> Winograd: 16 -> 16 at 32x32 4.5 / 4.3
// / 7.8 -> 5.6 / 5.4 / 9.2; 32 -> 32 at 32x32 15.2 / 13.0 / 14.3 -> 11.0 /
// 10.5 / 16.0; 32 -> 64 at 16x16 7.6 / 8.7 / 9.2 -> 5.8 / 6.0 / 6.8; 64 -> 64
// at 16x16 11.3 / 11.5 / 12.7 -> 7.9 / 8.1 / 9.3; 64 -> 128 at 8x8 6.1 / 6.6
// / 6.7 -> 3.9 / 4.2 / 4.3; 8 x 64 -> 64 at 56x56 23.3 / 21.1 / 21.7 -> 12.4
// / 12.4 / 14.0. The same order at 2 threads.
constexpr int64_t kWinogradMinChannels = 32;
constexpr int64_t kWinogradWeightGradWideSide = 64;

// Whether no element is inf or NaN (x - x is 0 for finite x, NaN otherwise).
template <typename T>
bool all_finite(const T* p, int64_t n) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += p[i] - p[i];
  return sum == 0;
}

// 3x3, stride 1, no dilation, enough channels. The operands must also be
// finite (all_finite, checked once each per call): with an inf in a tile, the
// transforms' sums of terms that cancel in exact arithmetic give inf - inf =
// NaN at outputs where the direct sum gives inf, so such calls take the other
// paths and keep IEEE results. (A NaN stays where it would be: every output of
// F(2x2, 3x3) combines only the inputs under its own window; the scans cost
// about 1% of the layer.)
// The call also needs enough output tiles for what it saves on them to pay for
// transforming every filter (a pass over 16 x in x out elements, bound by
// memory): one per kWinogradFiltersPerTile filters (in x out). Measured on
// Zen 4, 1 thread, 3x3 at 7x7 (16 tiles per image), forward, Winograd against
// the GEMM path: 512 -> 512 channels, batch 1 / 2 / 4 / 8 (16-128 tiles, 128
// needed): 6.2 / 7.3 / 10.7 / 16.5 ms against 3.2 / 5.3 / 9.9 / 18.9; 256 ->
// 256 (32 needed), batch 1 / 2 / 4: 1.27 / 1.29 / 2.1 against 0.75 / 1.38 /
// 2.56; at 14x14 (49 tiles), batch 1: 256 channels 2.44 / 2.38, 128 channels
// 0.72 / 0.78.
constexpr int64_t kWinogradFiltersPerTile = 2048;

// Output tiles of a call (2x2 each, over the batch).
int64_t winograd_tiles(const Conv2dShape& s) { return s.batch * ceil_div(s.out_h, 2) * ceil_div(s.out_w, 2); }

bool winograd_geometry(const Conv2dShape& s, const Dims& d) {
  const double tiles = static_cast<double>(winograd_tiles(s));
  const double filters = static_cast<double>(d.group_in) * static_cast<double>(d.group_out);
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 &&
         s.dilation_w == 1 && std::min(d.group_in, d.group_out) >= kWinogradMinChannels &&
         tiles * kWinogradFiltersPerTile >= filters;
}

// Threads and batch slices of the forward pass and dx: direct_plan's four
// slices per thread, but at most one per kWinogradMinTiles output tiles (four
// slices per thread of 8 images of 7x7, 16 tiles each, made GEMMs of 16
// columns), rounded down to whole rounds of the threads (3 slices on 2
// threads left one idle a third of the time: 256 channels at 14x14, batch 8,
// 1.2x the 1-thread speed). Fewer tiles than a slice per thread: one slice,
// its transforms and GEMMs threaded inside.
DirectPlan winograd_plan(const Conv2dShape& s, const Dims& d) {
  const int threads = threads_for_flops(static_cast<double>(s.batch) * sample_flops(s, d));
  if (threads == 1) return {1, 1};
  const int64_t fit = std::min({winograd_tiles(s) / kWinogradMinTiles, s.batch, threads * kChunksPerThread});
  return {threads, fit >= threads ? fit - fit % threads : 1};
}

WinogradShape winograd_forward_shape(const Conv2dShape& s, const Dims& d) {
  return {s.batch, d.group_in, d.group_out, s.in_h, s.in_w, s.pad_h, s.pad_w, s.out_h, s.out_w};
}

template <typename T>
void winograd_forward(const Conv2dShape& s, const Dims& d, const T* x, const T* weight, const T* bias, T* y) {
  const DirectPlan plan = winograd_plan(s, d);
  for (int64_t g = 0; g < s.groups; ++g) {
    const T* w_g = weight + g * d.group_out * d.col_rows;
    const AlignedArray<T> u = winograd_filters<T>(d.group_out, d.group_in, [&](int64_t o, int64_t i, int64_t r, int64_t c) {
      return w_g[(o * d.group_in + i) * 9 + r * 3 + c];
    }, plan.threads);
    winograd_correlate(winograd_forward_shape(s, d), x + g * d.group_in * d.in_plane, s.in_channels * d.in_plane,
                       u.get(), bias != nullptr ? bias + g * d.group_out : nullptr, y + g * d.group_out * d.out_plane,
                       s.out_channels * d.out_plane, plan.threads, plan.chunks);
  }
}

// dx: dy padded by 2 - padding, correlated with the weights flipped in both
// axes, input and output channels swapped.
template <typename T>
void winograd_input_grad(const Conv2dShape& s, const Dims& d, const T* dy, const T* weight, T* dx) {
  const DirectPlan plan = winograd_plan(s, d);
  const WinogradShape c{s.batch, d.group_out, d.group_in, s.out_h, s.out_w, 2 - s.pad_h, 2 - s.pad_w, s.in_h, s.in_w};
  for (int64_t g = 0; g < s.groups; ++g) {
    const T* w_g = weight + g * d.group_out * d.col_rows;
    const AlignedArray<T> u = winograd_filters<T>(d.group_in, d.group_out, [&](int64_t i, int64_t o, int64_t r, int64_t k) {
      return w_g[(o * d.group_in + i) * 9 + (2 - r) * 3 + (2 - k)];
    }, plan.threads);
    winograd_correlate(c, dy + g * d.group_out * d.out_plane, s.out_channels * d.out_plane, u.get(),
                       static_cast<const T*>(nullptr), dx + g * d.group_in * d.in_plane, s.in_channels * d.in_plane,
                       plan.threads, plan.chunks);
  }
}

// dweight: slice 0 writes it, slice c > 0 its partial c - 1, added in slice
// order (as the other paths). One slice per thread, not direct_plan's four:
// each slice sums its own dU over fewer, longer GEMMs and leaves one partial
// (2 threads, batch 64, 64 -> 128 at 8x8: 4.3 -> 3.6 ms; 64 -> 64 at 16x16:
// 6.0 -> 5.7 ms).
template <typename T>
void winograd_weight_grad(const Conv2dShape& s, const Dims& d, const T* dy, const T* x, T* dweight) {
  // One slice per thread, but at most one per kWinogradMinTiles tiles: a
  // single slice threads inside its GEMMs and sums one dU (16 x out x in)
  // instead of one per thread (2 threads, 512 channels at 7x7, batch 8: 13.7
  // -> 12.6 ms; 256 channels: 4.5 -> 3.8 ms); its transforms and the final
  // G^T dU G thread too (512 channels at 7x7, batch 8: 11.9 -> 8.4-8.9 ms;
  // 256 at 14x14, batch 4: 4.7-4.9 -> 3.6).
  const int threads = winograd_plan(s, d).threads;
  const int64_t tiles = winograd_tiles(s);
  const int64_t slices = std::clamp<int64_t>(tiles / kWinogradMinTiles, 1, std::min<int64_t>(threads, s.batch));
  const DirectPlan plan{threads, slices};
  const int64_t weight_size = s.out_channels * d.col_rows;
  std::vector<T> partial(static_cast<size_t>((plan.chunks - 1) * weight_size));
  for (int64_t g = 0; g < s.groups; ++g)
    winograd_filter_gradient(winograd_forward_shape(s, d), x + g * d.group_in * d.in_plane, s.in_channels * d.in_plane,
                             dy + g * d.group_out * d.out_plane, s.out_channels * d.out_plane, plan.threads,
                             plan.chunks, [&](int64_t chunk, const T* du) {
                               T* dw = (chunk == 0 ? dweight : partial.data() + (chunk - 1) * weight_size) +
                                       g * d.group_out * d.col_rows;
                               // a single slice runs outside any parallel region
                               winograd_filter_grads(d.group_out, d.group_in, du, dw, plan.chunks == 1 ? threads : 1);
                             });
  add_partials(dweight, partial.data(), plan.chunks, weight_size);
}
}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  const Dims d = dims_of(s);
  if (use_depthwise(s, d)) {
    depthwise_forward(s, x, weight, bias, y);
    return;
  }
  if (winograd_geometry(s, d) && all_finite(x, s.batch * s.in_channels * d.in_plane) &&
      all_finite(weight, s.out_channels * d.col_rows)) {
    winograd_forward(s, d, x, weight, bias, y);
    return;
  }
  if (use_direct_taps_forward(s, d, sizeof(T))) {
    direct_taps_forward(s, d, x, weight, bias, y);
    return;
  }
  if (use_direct(d)) {
    direct_forward(s, d, x, weight, bias, y);
    return;
  }
  const Plan plan = plan_for(s, d);
  const PhaseSplit split(s);
  // The implicit GEMM pays where taps overlap, or where it takes several
  // samples at once. A 1x1 kernel with a stride on a large plane builds its
  // (subsampled) column matrix instead: 256 -> 128 channels at 56x56, stride
  // 2, batch 8, caches flushed between calls: 6.6 ms against 8.3 at 1 thread,
  // 3.3 against 4.1 at 2 (3x3 stride 2, 64 -> 128 at 56x56: 11.6 ms implicit
  // against 12.7). So does a padding far beyond the image with a large
  // stride, whose PhaseSplit copy would be many times x (most of it never read).
  const bool split_fits = split.plane <= 4 * d.in_plane + kSplitSlack;
  // Folded samples keep their products and PhaseSplit copies within 4 L2s.
  // Measured on Zen 4 (1 MiB L2), 1 thread, caches flushed between calls, ms
  // with 1 / 4 / 8 MiB: 3x3 stride 2, 256 -> 512 at 14x14, batch 8 10.7 / 9.9
  // / 10.0; 128 -> 128 at 14x14, batch 32 6.7 / 6.2 / 6.5; 256 -> 256 at
  // 7x7, batch 32 9.0 / 9.7 / 9.5.
  const int64_t fold_sample_bytes =
      static_cast<int64_t>(sizeof(T)) * (d.group_out * d.out_plane + (d.pointwise ? 0 : d.group_in * split.plane));
  const int64_t fold =
      d.pointwise || split_fits ? samples_per_gemm(d, ceil_div(s.batch, plan.chunks), fold_sample_bytes, 4 * l2_bytes()) : 1;
  const bool implicit = !d.pointwise && split_fits && (d.taps > 1 || fold > 1);
  const int64_t split_size = implicit ? fold * d.group_in * split.plane + kRunSlack : 0;
  const int64_t rows = rows_per_block(s, d, sizeof(T), plan.inner);
  // The column block of the explicit path, or the folded samples' product.
  const int64_t block_size = fold > 1 ? d.group_out * fold * d.out_plane
                             : d.pointwise || implicit ? 0
                                                        : d.col_rows * rows * s.out_w;
  static constexpr int64_t kNoTapOffset = 0;
  for_each_chunk(plan.chunks, static_cast<int>(plan.chunks), [&](int64_t c) {
    // Kept per thread when small; a huge image gets its own buffer.
    std::vector<T> own;
    T* scratch = nullptr;
    if ((split_size + block_size) * static_cast<int64_t>(sizeof(T)) <= kKeptWorkspaceBytes) {
      scratch = thread_workspace<T>(split_size + block_size);
    } else {
      own.resize(static_cast<size_t>(split_size + block_size));
      scratch = own.data();
    }
    T* const block = scratch + split_size;
    bool split_padded = false;  // the first iteration fills the most samples' slots
    const int64_t end = chunk_begin(c + 1, plan.chunks, s.batch);
    for (int64_t n0 = chunk_begin(c, plan.chunks, s.batch); n0 < end; n0 += fold) {
      const int64_t samples = std::min(fold, end - n0), cols = samples * d.out_plane;
      for (int64_t g = 0; g < s.groups; ++g) {
        const T* x_g = x + (n0 * s.in_channels + g * d.group_in) * d.in_plane;
        const T* w_g = weight + g * d.group_out * d.col_rows;
        T* y_g = y + (n0 * s.out_channels + g * d.group_out) * d.out_plane;
        // Folded samples' products go to the block, then to y with the bias.
        T* const out = fold > 1 ? block : y_g;
        if (d.pointwise && samples == 1) {
          gemm(false, false, d.group_out, d.out_plane, d.col_rows, T(1), w_g, d.col_rows, x_g, d.out_plane, T(0), out,
               cols);
        } else if (d.pointwise) {
          const ColumnSource<T> columns{
              x_g, s.in_channels * d.in_plane, d.in_plane, s.in_w, &kNoTapOffset, 1, s.out_w, d.out_plane, false};
          gemm(d.group_out, cols, d.col_rows, w_g, d.col_rows, ImplicitB<T>{&fill_columns<T>, &columns}, out, cols);
        } else if (implicit) {
          for (int64_t i = 0; i < samples; ++i)
            split.fill(s, d, x_g + i * s.in_channels * d.in_plane, scratch + i * d.group_in * split.plane, plan.inner,
                       split_padded);
          split_padded = true;
          std::fill(scratch + samples * d.group_in * split.plane,
                    scratch + samples * d.group_in * split.plane + kRunSlack, T(0));
          const ColumnSource<T> columns{scratch, d.group_in * split.plane, split.plane, s.stride_h * split.row,
                                        split.tap_offsets.data(), d.taps, s.out_w, d.out_plane, true};
          gemm(d.group_out, cols, d.col_rows, w_g, d.col_rows, ImplicitB<T>{&fill_columns<T>, &columns}, out, cols);
        } else {
          for_each_row_block(s, rows, [&](RowBlock b) {
            im2col(s, d, x_g, b, block, b.cols(s), plan.inner);
            gemm(false, false, d.group_out, b.cols(s), d.col_rows, T(1), w_g, d.col_rows, block, b.cols(s), T(0),
                 y_g + b.first * s.out_w, d.out_plane);
          });
        }
        if (fold > 1)
          scatter_planes(block, samples, d.group_out, d.out_plane, s.out_channels * d.out_plane,
                         bias != nullptr ? bias + g * d.group_out : nullptr, y_g);
      }
      if (bias == nullptr || fold > 1) continue;
      for (int64_t co = 0; co < s.out_channels; ++co) {
        T* plane = y + (n0 * s.out_channels + co) * d.out_plane;
        for (int64_t i = 0; i < d.out_plane; ++i) plane[i] += bias[co];
      }
    }
  });
}

// Pixels per batch slice below which a backward pass with a weight gradient
// beyond L2 runs as one slice (see conv2d_backward). Measured on Zen 4, 2
// threads, 3x3 stride 2 from 7x7 to 4x4, 512 channels, batch 8 / 32: 18.2 ->
// 10.8 ms, 75 -> 47 ms; 256 channels within 5% either way.
constexpr int64_t kMinSlicePixels = 512;

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* dy, const T* x, const T* weight, T* dx, T* dweight,
                     T* dbias) {
  const Dims d = dims_of(s);
  if (dbias != nullptr) bias_grad(dy, dbias, s.batch, s.out_channels, d.out_plane);
  // dx as a correlation of dy padded by 2 - padding needs padding <= 2.
  const bool winograd_dx = dx != nullptr && s.pad_h <= 2 && s.pad_w <= 2;
  const bool winograd_dweight = dweight != nullptr && std::max(d.group_in, d.group_out) >= kWinogradWeightGradWideSide;
  const bool winograd = (winograd_dx || winograd_dweight) && winograd_geometry(s, d) &&
                        all_finite(dy, s.batch * s.out_channels * d.out_plane);
  if (winograd && winograd_dx && all_finite(weight, s.out_channels * d.col_rows)) {
    winograd_input_grad(s, d, dy, weight, dx);
    dx = nullptr;
  }
  if (winograd && winograd_dweight && all_finite(x, s.batch * s.in_channels * d.in_plane)) {
    winograd_weight_grad(s, d, dy, x, dweight);
    dweight = nullptr;
  }
  if (use_depthwise(s, d)) {
    if (dweight != nullptr) depthwise_weight_grad(s, dy, x, dweight);
    dweight = nullptr;
    if (dx != nullptr && is_strided(s)) depthwise_scattered_input_grad(s, dy, weight, dx);
    if (dx != nullptr && !is_strided(s)) depthwise_input_grad(s, dy, weight, dx);
    dx = nullptr;
  }
  // Each gradient the direct kernels take is done there; the GEMM path below does the rest.
  if (dx != nullptr && use_strided_direct_input_grad(s, d, sizeof(T))) {
    strided_direct_input_grad(s, d, dy, weight, dx);
    dx = nullptr;
  }
  T* const direct_dx = dx != nullptr && use_stride1_direct_input_grad(s, d, sizeof(T)) ? dx : nullptr;
  T* const direct_dweight = dweight != nullptr && use_direct_weight_grad(s, d, sizeof(T)) ? dweight : nullptr;
  if (direct_dx != nullptr || direct_dweight != nullptr) {
    direct_backward(s, d, dy, x, weight, direct_dx, direct_dweight);
    if (direct_dx != nullptr) dx = nullptr;
    if (direct_dweight != nullptr) dweight = nullptr;
  }
  if (dx == nullptr && dweight == nullptr) return;

  // Batch slices each sum their own weight gradient and add them up after; a
  // weight gradient beyond L2 over a slice of few pixels makes that traffic
  // the larger part, so such a call threads inside its GEMMs instead.
  Plan plan = plan_for(s, d);
  const int64_t weight_bytes = s.out_channels * d.col_rows * static_cast<int64_t>(sizeof(T));
  if (dweight != nullptr && plan.chunks > 1 && ceil_div(s.batch, plan.chunks) * d.out_plane < kMinSlicePixels &&
      weight_bytes > l2_bytes())
    plan = Plan{1, static_cast<int>(plan.chunks)};
  const int64_t weight_size = s.out_channels * d.col_rows;
  // The folded samples' column matrix may take twice the L2: col2im reads
  // some of it back from L3, which costs less than a GEMM over few columns,
  // whose last vector is mostly idle lanes. 3x3 stride 2, 256 -> 512 at
  // 14x14, batch 8 (49 pixels a sample; 451 KiB of columns each), Zen 4
  // (1 MiB L2): 4 samples (196 columns) instead of 2 (98) took the backward
  // from 21.1 to 20.0 ms at 1 thread (dx 10.4 -> 9.8, dweight 9.5 -> 9.9),
  // 11.3 -> 10.7 at 2; 7x7 and 8x8 layers with 128-512 channels were unchanged.
  const int64_t fold =
      samples_per_gemm(d, ceil_div(s.batch, plan.chunks), static_cast<int64_t>(sizeof(T)) * d.col_rows * d.out_plane,
                       d.pointwise ? kKeptWorkspaceBytes : 2 * l2_bytes());
  const int64_t rows = fold > 1 ? s.out_h : rows_per_block(s, d, sizeof(T), plan.inner);
  // Per slice: the column block (for a pointwise kernel with folded samples,
  // their x and then their dx), and the folded samples' dy side by side.
  const int64_t fold_cols = fold * d.out_plane;
  const int64_t col_size = d.pointwise && fold == 1 ? 0 : d.col_rows * (fold > 1 ? fold_cols : rows * s.out_w);
  const int64_t dy_size = fold > 1 ? d.group_out * fold_cols : 0;
  std::vector<T> scratch(static_cast<size_t>(plan.chunks * (col_size + dy_size)));
  // Slice 0 sums its weight gradient into dweight, slice c > 0 into partial
  // c - 1; the partials are then added in slice order, so the result does not
  // depend on how threads were scheduled.
  std::vector<T> partial(dweight != nullptr ? (plan.chunks - 1) * weight_size : 0);
  // Where the weight gradient is summed transposed (weight_gradient_gemm),
  // each slice sums into its own scratch, put back in weight order at its end.
  const bool transposed =
      dweight != nullptr && weight_gradient_transposed(d, ceil_div(s.batch, plan.chunks) * d.out_plane);
  std::vector<T> transposed_sums(transposed ? plan.chunks * weight_size : 0);
  for_each_chunk(plan.chunks, static_cast<int>(plan.chunks), [&](int64_t c) {
    T* col = scratch.data() + c * (col_size + dy_size);
    T* dy_block = col + col_size;
    T* dw = c == 0 ? dweight : partial.data() + (c - 1) * weight_size;
    T* sums = transposed ? transposed_sums.data() + c * weight_size : dw;
    const int64_t begin = chunk_begin(c, plan.chunks, s.batch), end = chunk_begin(c + 1, plan.chunks, s.batch);
    for (int64_t n0 = begin; n0 < end; n0 += fold) {
      const int64_t samples = std::min(fold, end - n0), cols = samples * d.out_plane;
      for (int64_t g = 0; g < s.groups; ++g) {
        const T* x_g = x + (n0 * s.in_channels + g * d.group_in) * d.in_plane;
        const T* w_g = weight + g * d.group_out * d.col_rows;
        const T* dy_g = dy + (n0 * s.out_channels + g * d.group_out) * d.out_plane;
        T* dw_g = dweight != nullptr ? sums + g * d.col_rows * d.group_out : nullptr;
        T* dx_g = dx != nullptr ? dx + (n0 * s.in_channels + g * d.group_in) * d.in_plane : nullptr;
        // Folded samples: their planes side by side, rows `cols` apart.
        if (fold > 1) {
          gather_planes(dy_g, samples, d.group_out, d.out_plane, s.out_channels * d.out_plane, dy_block);
          dy_g = dy_block;
        }
        if (d.pointwise) {  // x is the column matrix and col2im the identity: the GEMMs read x and write dx
          const T* x_cols = x_g;
          if (fold > 1 && dw_g != nullptr) {
            gather_planes(x_g, samples, d.group_in, d.in_plane, s.in_channels * d.in_plane, col);
            x_cols = col;
          }
          if (dw_g != nullptr) weight_gradient_gemm(d, transposed, cols, dy_g, cols, x_cols, cols, n0 == begin ? T(0) : T(1), dw_g);
          if (dx_g != nullptr) {
            gemm(true, false, d.col_rows, cols, d.group_out, T(1), w_g, d.col_rows, dy_g, cols, T(0),
                 fold > 1 ? col : dx_g, cols);
            if (fold > 1)
              scatter_planes(col, samples, d.group_in, d.in_plane, s.in_channels * d.in_plane,
                             static_cast<const T*>(nullptr), dx_g);
          }
          continue;
        }
        // col2im adds block by block, but a 1x1 kernel's writes each pixel once (col2im_1x1)
        for (int64_t i = 0; i < samples && dx_g != nullptr && d.taps > 1; ++i) {
          T* dx_i = dx_g + i * s.in_channels * d.in_plane;
          std::fill(dx_i, dx_i + d.group_in * d.in_plane, T(0));
        }
        for_each_row_block(s, rows, [&](RowBlock b) {
          // With folded samples b is their whole planes, each sample's columns out_plane apart.
          const int64_t block_cols = fold > 1 ? cols : b.cols(s), ld_dy = fold > 1 ? cols : d.out_plane;
          // dW_g sums over the sample's pixels block by block, from zero at the slice's first sample.
          if (dw_g != nullptr) {
            for (int64_t i = 0; i < samples; ++i)
              im2col(s, d, x_g + i * s.in_channels * d.in_plane, b, col + i * d.out_plane, block_cols, plan.inner);
            weight_gradient_gemm(d, transposed, block_cols, dy_g + b.first * s.out_w, ld_dy, col, block_cols,
                                 n0 == begin && b.first == 0 ? T(0) : T(1), dw_g);
          }
          if (dx_g != nullptr) {
            gemm(true, false, d.col_rows, block_cols, d.group_out, T(1), w_g, d.col_rows, dy_g + b.first * s.out_w,
                 ld_dy, T(0), col, block_cols);
            for (int64_t i = 0; i < samples; ++i) {
              T* dx_i = dx_g + i * s.in_channels * d.in_plane;
              if (d.taps == 1) col2im_1x1(s, d, col + i * d.out_plane, block_cols, dx_i, plan.inner);
              else col2im(s, d, col + i * d.out_plane, block_cols, b, dx_i, plan.inner);
            }
          }
        });
      }
    }
    if (!transposed) return;
    for (int64_t g = 0; g < s.groups; ++g)
      transpose(sums + g * d.col_rows * d.group_out, d.col_rows, d.group_out, dw + g * d.group_out * d.col_rows);
  });
  if (dweight != nullptr) add_partials(dweight, partial.data(), plan.chunks, weight_size);
}

template void conv2d_forward<float>(const Conv2dShape&, const float*, const float*, const float*, float*);
template void conv2d_forward<double>(const Conv2dShape&, const double*, const double*, const double*, double*);
template void conv2d_backward<float>(const Conv2dShape&, const float*, const float*, const float*, float*, float*,
                                     float*);
template void conv2d_backward<double>(const Conv2dShape&, const double*, const double*, const double*, double*,
                                      double*, double*);

}  // namespace minigrad::cpu
