// Direct (implicit-GEMM) convolution kernels, written once over the SIMD
// traits of cpu/simd_avx2.h / cpu/simd_portable.h and instantiated per
// instruction set (conv.cpp: portable, conv_avx2.cpp, conv_avx512.cpp).
// Private to the conv family: conv.cpp prepares the operands (zero-padded
// copies, tap offsets, flipped weights) and calls these on one image and group
// (depthwise: block of channels) at a time.
//
// With the source zero-padded (and, for a stride, split into its phases: see
// PhaseSplit in conv.cpp), every kernel tap is a constant shift: tap k of
// output pixel (oh, ow) reads src[offsets[k] + oh * src_row + ow]. So no
// column matrix is built; the tap offsets index the source in place.
// Like gemm_kernels.h, every template depends on the traits type S, private to
// the including file, and nothing here calls the standard library (whose
// inline functions compiled with AVX2 flags could be picked by the linker for
// baseline code).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace minigrad::cpu::conv_detail {

// out[i][oh][ow] = bias[i] (0 without bias) + sum_k weight[i][k] * src[offsets[k] + oh * src_row + ow]
// for i < rows, oh < out_h, ow < out_w. Lanes past out_w are computed and
// dropped, so src must be readable kReadSlack elements past every tap's last
// valid pixel. Used for the forward pass, and for dx as the correlation of the
// padded dy with the flipped weights.
// The taps are ordered kernel row first, taps_per_kernel_row each, and only
// the source rows [data_first, data_last) hold data (the others padding): for
// output row oh, kernel row kh reads source row oh * stride_h + kh *
// dilation_h, and the kernel rows that read padding are skipped (for dx of
// LeNet-5's conv2, 2 taps in 7; the top row's taps of a stride-2 3x3 layer).
template <typename T>
struct Correlation {
  int64_t rows, taps;
  const T* weight;  // rows x taps, row-major
  const T* bias;    // rows, or null
  const int64_t* offsets;
  const T* src;
  int64_t src_row;
  int64_t out_h, out_w;
  T* out;  // rows x out_h x out_w, contiguous
  int64_t taps_per_kernel_row, dilation_h, data_first, data_last, stride_h;
};

// c[r][j] = (accumulate ? c[r][j] : 0) + sum_{k < depth} src[row_offsets[i] + depth_offsets[k]] * b[k][j]
// for i < rows, r = out_rows[i] (i when out_rows is null), j < cols (b and c
// row-major, cols a multiple of the vector width: kColMultiple for AVX2 and
// the portable traits, 16 for AVX-512's floats): the GEMM micro-kernel with an
// implicit A, vectors across output channels. The forward pass with pixels as
// rows and taps as depth (b: the transposed weights; out_rows places a subset
// of the pixels), and the weight gradient with taps as rows and pixels as
// depth (b: dy transposed), for layers with enough output channels to fill the
// vectors.
template <typename T>
struct BroadcastGemm {
  int64_t rows, depth, cols;
  const T* src;
  const int64_t* row_offsets;
  const int64_t* depth_offsets;
  const T* b;
  T* c;
  bool accumulate;
  const int64_t* out_rows = nullptr;
};

// dweight[i][k] += sum_{q < len} dy[i * len + q] * src[offsets[k] + q]: the
// weight gradient, with dy laid on the source's grid of rows (zero where the
// grid has no output) and len a multiple of kLenMultiple.
template <typename T>
struct WeightGradient {
  int64_t rows, taps;
  const T* dy;
  int64_t len;
  const int64_t* offsets;
  const T* src;
  T* dweight;  // rows x taps, row-major
};

// Depthwise layers (one input and one output channel per group), W channels
// at a time with the vector lanes across them: pixel p of a block of W planes
// lies at block[p * W + lane]. Output pixel (oh, ow) reads, through tap k, the
// source block's pixel oh * stride_h * src_row + ow * stride_w + offsets[k]
// (the source zero-padded, rows of src_row pixels); weights hold tap k's W
// lanes at weight[k * W].
//   depthwise:              out[p] = sum_k weight[k] * source pixel k of p
//   depthwise_weight_grad:  weight[k] += sum_p dy[p] * source pixel k of p
//   depthwise_scatter:      source pixel k of p += weight[k] * dy[p], for
//                           every p: dx on the padded grid (strided layers)
template <typename T>
struct DepthwiseTaps {
  int64_t taps;
  const int64_t* offsets;
  const T* src;
  int64_t src_row, stride_h, stride_w, out_h, out_w;
};

// Covers the widest register tile (16 floats with AVX2) and any vector width.
constexpr int64_t kReadSlack = 64;
constexpr int64_t kLenMultiple = 16;
constexpr int64_t kColMultiple = 8;

void correlate_avx2(const Correlation<float>& c);
void correlate_avx2(const Correlation<double>& c);
void weight_gradient_avx2(const WeightGradient<float>& g);
void weight_gradient_avx2(const WeightGradient<double>& g);
void broadcast_gemm_avx2(const BroadcastGemm<float>& g);
void broadcast_gemm_avx2(const BroadcastGemm<double>& g);
void broadcast_gemm_avx512(const BroadcastGemm<float>& g);  // cols a multiple of 16
// Depthwise kernels with AVX2's lanes: blocks of kAvx2Lanes<T> channels.
template <typename T>
constexpr int64_t kAvx2Lanes = 32 / static_cast<int64_t>(sizeof(T));
void depthwise_avx2(const DepthwiseTaps<float>& a, const float* weight, float* out);
void depthwise_avx2(const DepthwiseTaps<double>& a, const double* weight, double* out);
void depthwise_weight_grad_avx2(const DepthwiseTaps<float>& a, const float* dy, float* weight);
void depthwise_weight_grad_avx2(const DepthwiseTaps<double>& a, const double* dy, double* weight);
// Float planes in and out of 8 lanes with 8 x 8 transposes, the last n % 8
// pixels one by one:
//   interleave_lanes_avx2:   dst[p * 8 + l] = src[l * src_stride + p]
//   deinterleave_lanes_avx2: dst[l * dst_stride + p] = src[p * 8 + l] (+ add[l])
// for p < n, l < lanes (<= 8); interleave writes zeros in lanes past `lanes`.
void interleave_lanes_avx2(const float* src, int64_t src_stride, int64_t lanes, int64_t n, float* dst);
void deinterleave_lanes_avx2(const float* src, int64_t n, int64_t lanes, float* dst, int64_t dst_stride,
                             const float* add);
void depthwise_scatter_avx2(const DepthwiseTaps<float>& a, const float* weight, const float* dy, float* src);
void depthwise_scatter_avx2(const DepthwiseTaps<double>& a, const double* weight, const double* dy, double* src);

template <class S>
struct Direct {
  using T = typename S::T;
  using V = typename S::V;
  static constexpr int64_t W = S::W, MR = S::MR, NV = S::NV, NR = S::NV * S::W;

  // Rows x NR outputs of channels [i0, i0 + Rows) at pixel (oh, ow0), n of
  // them inside the row. Each tap loads NV source vectors and broadcasts one
  // weight per row: the GEMM micro-kernel with the column matrix implicit.
  // The fields are read into locals first: through `c` GCC kept the
  // accumulators in memory.
  template <int64_t Rows>
  static void correlation_tile(const Correlation<T>& c, int64_t k0, int64_t k1, int64_t i0, int64_t oh, int64_t ow0,
                               int64_t n) {
    const int64_t taps = c.taps;
    const int64_t* __restrict offsets = c.offsets;
    const T* __restrict src = c.src + oh * c.src_row + ow0;
    const T* __restrict w = c.weight + i0 * taps;
    V acc[Rows][NV];
#pragma GCC unroll 16
    for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 4
      for (int64_t v = 0; v < NV; ++v) acc[i][v] = c.bias != nullptr ? S::set1(c.bias[i0 + i]) : S::zero();
    for (int64_t k = k0; k < k1; ++k) {
      const T* s = src + offsets[k];
      V b[NV];
#pragma GCC unroll 4
      for (int64_t v = 0; v < NV; ++v) b[v] = S::load(s + v * W);
#pragma GCC unroll 16
      for (int64_t i = 0; i < Rows; ++i) {
        const V a = S::bcast(w + i * taps + k);
#pragma GCC unroll 4
        for (int64_t v = 0; v < NV; ++v) acc[i][v] = S::fma(a, b[v], acc[i][v]);
      }
    }
    const int64_t plane = c.out_h * c.out_w;
    T* out = c.out + i0 * plane + oh * c.out_w + ow0;
    if (n == NR) {
#pragma GCC unroll 16
      for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 4
        for (int64_t v = 0; v < NV; ++v) S::store(out + i * plane + v * W, acc[i][v]);
      return;
    }
    T rows[Rows][NR];
#pragma GCC unroll 16
    for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 4
      for (int64_t v = 0; v < NV; ++v) S::store(rows[i] + v * W, acc[i][v]);
    for (int64_t i = 0; i < Rows; ++i)
      for (int64_t j = 0; j < n; ++j) out[i * plane + j] = rows[i][j];
  }

  using TileFn = void (*)(const Correlation<T>&, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
  template <std::size_t... I>
  static const TileFn* correlation_tiles(std::index_sequence<I...>) {
    static const TileFn table[] = {&correlation_tile<int64_t(I) + 1>...};
    return table;
  }

  // ceil(a / b) for b > 0, clamped to [0, hi].
  static int64_t clamped_ceil_div(int64_t a, int64_t b, int64_t hi) {
    const int64_t q = a <= 0 ? -(-a / b) : (a + b - 1) / b;
    return q < 0 ? 0 : q > hi ? hi : q;
  }

  static void correlate(const Correlation<T>& c) {
    const TileFn* tiles = correlation_tiles(std::make_index_sequence<std::size_t(MR)>{});
    const int64_t kernel_h = c.taps / c.taps_per_kernel_row;
    for (int64_t oh = 0; oh < c.out_h; ++oh) {
      // Kernel rows kh with data_first <= oh * stride_h + kh * dilation_h < data_last.
      const int64_t kh0 = clamped_ceil_div(c.data_first - oh * c.stride_h, c.dilation_h, kernel_h);
      const int64_t kh1 = clamped_ceil_div(c.data_last - oh * c.stride_h, c.dilation_h, kernel_h);
      const int64_t k0 = kh0 * c.taps_per_kernel_row, k1 = (kh1 > kh0 ? kh1 : kh0) * c.taps_per_kernel_row;
      for (int64_t ow0 = 0; ow0 < c.out_w; ow0 += NR) {
        const int64_t n = c.out_w - ow0 < NR ? c.out_w - ow0 : NR;
        for (int64_t i0 = 0; i0 < c.rows; i0 += MR) {
          const int64_t rows = c.rows - i0 < MR ? c.rows - i0 : MR;
          if (rows == MR) correlation_tile<MR>(c, k0, k1, i0, oh, ow0, n);
          else tiles[rows - 1](c, k0, k1, i0, oh, ow0, n);
        }
      }
    }
  }

  // Rows x Vecs vectors of c at (i0, j0).
  template <int64_t Rows, int64_t Vecs>
  static void broadcast_tile(const BroadcastGemm<T>& g, int64_t i0, int64_t j0) {
    const int64_t depth = g.depth, cols = g.cols;
    const int64_t* __restrict depth_offsets = g.depth_offsets;
    const T* __restrict b = g.b + j0;
    const T* a[Rows];
#pragma GCC unroll 16
    for (int64_t i = 0; i < Rows; ++i) a[i] = g.src + g.row_offsets[i0 + i];
    // The output rows, computed at the loads and stores only, not held
    // across the depth loop beside a.
    const auto out = [&g, i0, j0, cols](int64_t i) {
      return g.c + (g.out_rows != nullptr ? g.out_rows[i0 + i] : i0 + i) * cols + j0;
    };
    V acc[Rows][Vecs];
#pragma GCC unroll 16
    for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 4
      for (int64_t v = 0; v < Vecs; ++v) acc[i][v] = g.accumulate ? S::load(out(i) + v * W) : S::zero();
    for (int64_t k = 0; k < depth; ++k) {
      const int64_t d = depth_offsets[k];
      V bv[Vecs];
#pragma GCC unroll 4
      for (int64_t v = 0; v < Vecs; ++v) bv[v] = S::load(b + k * cols + v * W);
#pragma GCC unroll 16
      for (int64_t i = 0; i < Rows; ++i) {
        const V ai = S::bcast(a[i] + d);
#pragma GCC unroll 4
        for (int64_t v = 0; v < Vecs; ++v) acc[i][v] = S::fma(ai, bv[v], acc[i][v]);
      }
    }
#pragma GCC unroll 16
    for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 4
      for (int64_t v = 0; v < Vecs; ++v) S::store(out(i) + v * W, acc[i][v]);
  }

  // Tiles indexed by (rows - 1) * NV + (vectors - 1).
  using BroadcastFn = void (*)(const BroadcastGemm<T>&, int64_t, int64_t);
  template <std::size_t... I>
  static const BroadcastFn* broadcast_tiles(std::index_sequence<I...>) {
    static const BroadcastFn table[] = {&broadcast_tile<int64_t(I) / NV + 1, int64_t(I) % NV + 1>...};
    return table;
  }

  // The rows go in as few tiles as MR allows, of sizes differing by at most
  // one: a remainder of one or two rows would leave a tile too few independent
  // accumulators to hide the FMA latency.
  static void broadcast_gemm(const BroadcastGemm<T>& g) {
    const BroadcastFn* tiles = broadcast_tiles(std::make_index_sequence<std::size_t(MR * NV)>{});
    const int64_t row_tiles = (g.rows + MR - 1) / MR;
    for (int64_t j0 = 0; j0 < g.cols; j0 += NR) {
      const int64_t vecs = (g.cols - j0 < NR ? g.cols - j0 : NR) / W;
      for (int64_t t = 0; t < row_tiles; ++t) {
        const int64_t i0 = t * g.rows / row_tiles, rows = (t + 1) * g.rows / row_tiles - i0;
        if (rows == MR && vecs == NV) broadcast_tile<MR, NV>(g, i0, j0);
        else tiles[(rows - 1) * NV + vecs - 1](g, i0, j0);
      }
    }
  }

  // Tiles of kGradRows x kGradTaps gradient entries, each a dot product over
  // the grid kept in one vector: every step loads 3 dy and 4 source vectors
  // for 12 FMAs, each source vector into a register used by the 3 rows (loaded
  // all 4 up front, they did not fit beside the 15 others in AVX2's 16, and
  // GCC folded them into every FMA: 15 loads a step; LeNet-5's conv1 weight
  // gradient at batch 64 took 390-415 us on Zen 4, now 265-280). Ragged edge
  // tiles repeat the last row / tap and drop it.
  static constexpr int64_t kGradRows = 3, kGradTaps = 4;

  static void weight_gradient(const WeightGradient<T>& g) {
    for (int64_t i0 = 0; i0 < g.rows; i0 += kGradRows) {
      const T* d[kGradRows];
      for (int64_t a = 0; a < kGradRows; ++a) d[a] = g.dy + (i0 + a < g.rows ? i0 + a : g.rows - 1) * g.len;
      for (int64_t k0 = 0; k0 < g.taps; k0 += kGradTaps) {
        const T* s[kGradTaps];
        for (int64_t b = 0; b < kGradTaps; ++b) s[b] = g.src + g.offsets[k0 + b < g.taps ? k0 + b : g.taps - 1];
        V acc[kGradRows][kGradTaps];
#pragma GCC unroll 4
        for (int64_t a = 0; a < kGradRows; ++a)
#pragma GCC unroll 4
          for (int64_t b = 0; b < kGradTaps; ++b) acc[a][b] = S::zero();
        for (int64_t q = 0; q < g.len; q += W) {
          V dv[kGradRows];
#pragma GCC unroll 4
          for (int64_t a = 0; a < kGradRows; ++a) dv[a] = S::load(d[a] + q);
#pragma GCC unroll 4
          for (int64_t b = 0; b < kGradTaps; ++b) {
            const V sv = S::load(s[b] + q);
#pragma GCC unroll 4
            for (int64_t a = 0; a < kGradRows; ++a) acc[a][b] = S::fma(dv[a], sv, acc[a][b]);
          }
        }
        for (int64_t a = 0; a < kGradRows && i0 + a < g.rows; ++a)
          for (int64_t b = 0; b < kGradTaps && k0 + b < g.taps; ++b) {
            T lanes[W];
            S::store(lanes, acc[a][b]);
            T sum = 0;
            for (int64_t l = 0; l < W; ++l) sum += lanes[l];
            g.dweight[(i0 + a) * g.taps + k0 + b] += sum;
          }
      }
    }
  }

  // Output pixels per depthwise step: independent accumulators enough to
  // hide the FMA latency. Pixels run through the block in order across its
  // rows, so rows of 7 or 14 pixels fill the steps as well as long ones.
  static constexpr int64_t kDepthwisePixels = 8;

  // Pixels outputs from their source pixels src[i] (tap offsets still to add).
  template <int64_t Pixels>
  static void depthwise_step(const DepthwiseTaps<T>& a, const T* weight, const T* const* src, T* out) {
    V acc[Pixels];
#pragma GCC unroll 8
    for (int64_t i = 0; i < Pixels; ++i) acc[i] = S::zero();
    for (int64_t k = 0; k < a.taps; ++k) {
      const V w = S::load(weight + k * W);
      const int64_t offset = a.offsets[k] * W;
#pragma GCC unroll 8
      for (int64_t i = 0; i < Pixels; ++i) acc[i] = S::fma(w, S::load(src[i] + offset), acc[i]);
    }
#pragma GCC unroll 8
    for (int64_t i = 0; i < Pixels; ++i) S::store(out + i * W, acc[i]);
  }

  using DepthwiseStepFn = void (*)(const DepthwiseTaps<T>&, const T*, const T* const*, T*);
  template <std::size_t... I>
  static DepthwiseStepFn depthwise_step_for(int64_t pixels, std::index_sequence<I...>) {
    static const DepthwiseStepFn table[] = {&depthwise_step<int64_t(I) + 1>...};
    return table[pixels - 1];
  }

  static void depthwise(const DepthwiseTaps<T>& a, const T* weight, T* out) {
    const int64_t pixels = a.out_h * a.out_w;
    int64_t oh = 0, ow = 0;  // of the next pixel (no division per pixel)
    for (int64_t p0 = 0; p0 < pixels; p0 += kDepthwisePixels) {
      const int64_t n = pixels - p0 < kDepthwisePixels ? pixels - p0 : kDepthwisePixels;
      const T* src[kDepthwisePixels];
      for (int64_t i = 0; i < n; ++i) {
        src[i] = a.src + (oh * a.stride_h * a.src_row + ow * a.stride_w) * W;
        if (++ow == a.out_w) {
          ow = 0;
          ++oh;
        }
      }
      if (n == kDepthwisePixels)
        depthwise_step<kDepthwisePixels>(a, weight, src, out + p0 * W);
      else
        depthwise_step_for(n, std::make_index_sequence<kDepthwisePixels - 1>{})(a, weight, src, out + p0 * W);
    }
  }

  // The adjoint of depthwise: `src` (a.src, written) += each tap's
  // contribution, pixel by pixel (a stride makes neighbours overlap in part).
  static void depthwise_scatter(const DepthwiseTaps<T>& a, const T* weight, const T* dy, T* src) {
    for (int64_t oh = 0; oh < a.out_h; ++oh)
      for (int64_t ow = 0; ow < a.out_w; ++ow) {
        T* base = src + (oh * a.stride_h * a.src_row + ow * a.stride_w) * W;
        const V d = S::load(dy + (oh * a.out_w + ow) * W);
        for (int64_t k = 0; k < a.taps; ++k) {
          T* at = base + a.offsets[k] * W;
          S::store(at, S::fma(S::load(weight + k * W), d, S::load(at)));
        }
      }
  }

  // Taps per pass of the depthwise weight gradient over the pixels, one
  // accumulator each: a 3x3 kernel in one pass.
  static constexpr int64_t kDepthwiseGradTaps = 9;

  template <int64_t Taps>
  static void depthwise_grad_pass(const DepthwiseTaps<T>& a, int64_t k0, const T* dy, T* weight) {
    int64_t offset[Taps];
    V acc[Taps];
#pragma GCC unroll 9
    for (int64_t t = 0; t < Taps; ++t) {
      offset[t] = a.offsets[k0 + t] * W;
      acc[t] = S::zero();
    }
    for (int64_t oh = 0; oh < a.out_h; ++oh)
      for (int64_t ow = 0; ow < a.out_w; ++ow) {
        const T* src = a.src + (oh * a.stride_h * a.src_row + ow * a.stride_w) * W;
        const V d = S::load(dy + (oh * a.out_w + ow) * W);
#pragma GCC unroll 9
        for (int64_t t = 0; t < Taps; ++t) acc[t] = S::fma(d, S::load(src + offset[t]), acc[t]);
      }
#pragma GCC unroll 9
    for (int64_t t = 0; t < Taps; ++t) {
      T* w = weight + (k0 + t) * W;
      S::store(w, S::fma(acc[t], S::set1(T(1)), S::load(w)));
    }
  }

  using DepthwiseGradFn = void (*)(const DepthwiseTaps<T>&, int64_t, const T*, T*);
  template <std::size_t... I>
  static DepthwiseGradFn depthwise_grad_pass_for(int64_t taps, std::index_sequence<I...>) {
    static const DepthwiseGradFn table[] = {&depthwise_grad_pass<int64_t(I) + 1>...};
    return table[taps - 1];
  }

  static void depthwise_weight_grad(const DepthwiseTaps<T>& a, const T* dy, T* weight) {
    for (int64_t k0 = 0; k0 < a.taps; k0 += kDepthwiseGradTaps) {
      const int64_t n = a.taps - k0 < kDepthwiseGradTaps ? a.taps - k0 : kDepthwiseGradTaps;
      depthwise_grad_pass_for(n, std::make_index_sequence<kDepthwiseGradTaps>{})(a, k0, dy, weight);
    }
  }
};

}  // namespace minigrad::cpu::conv_detail
