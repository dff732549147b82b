// Pooling kernels: one pass over each output, threads over the N * C planes.
#include "cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cpu/conv_geometry.h"
#include "cpu/elementwise.h"
#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

using ops::avg_divisor;
using ops::avg_window;
using ops::AvgWindow;

// Element visits worth waking one more thread for.
constexpr int64_t kMinWorkPerThread = int64_t{1} << 15;

// Work estimate for the thread count: planes * out_plane * kernel area, in
// double and saturated, as kernels up to 2**31 a side overflow int64.
int64_t window_work(const Pool2dShape& s) {
  const double work = static_cast<double>(s.planes) * static_cast<double>(s.out_h * s.out_w) *
                      static_cast<double>(s.kernel_h) * static_cast<double>(s.kernel_w);
  return work < 9e18 ? static_cast<int64_t>(work) : std::numeric_limits<int64_t>::max();
}

// The taps k in [first, last) of a dilated window starting at `start` that
// land inside an axis of length `in`.
Range taps_inside(int64_t start, int64_t kernel, int64_t dilation, int64_t in) {
  return inside_range(kernel, in, dilation, start);
}

// taps_inside for every window along one axis.
std::vector<Range> axis_taps(int64_t out, int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  std::vector<Range> taps(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) taps[static_cast<size_t>(o)] = taps_inside(o * stride - pad, kernel, dilation, in);
  return taps;
}

bool axis_windows_hit_input(int64_t out, int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  for (int64_t o = 0; o < out; ++o) {
    const Range taps = taps_inside(o * stride - pad, kernel, dilation, in);
    if (taps.first == taps.last) return false;
  }
  return true;
}

}  // namespace

bool every_window_hits_input(const Pool2dShape& s) {
  return axis_windows_hit_input(s.out_h, s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h) &&
         axis_windows_hit_input(s.out_w, s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w);
}

// The largest element of one window and its index in the plane; a NaN wins,
// the last one when there are several (PyTorch's rule).
template <typename T>
void max_window(const T* in, int64_t in_w, int64_t h0, Range kh, int64_t dilation_h, int64_t w0, Range kw,
                int64_t dilation_w, T* best_out, int64_t* index_out) {
  T best = -std::numeric_limits<T>::infinity();
  int64_t best_index = (h0 + kh.first * dilation_h) * in_w + w0 + kw.first * dilation_w;
  bool any_nan = false;
  // Branch-free (which tap wins is data-dependent and unpredictable):
  // `v > best ? v : best` is a maxss and the index a cmov; NaNs are only noted.
  for (int64_t i = kh.first; i < kh.last; ++i) {
    const int64_t row = (h0 + i * dilation_h) * in_w + w0;
    for (int64_t j = kw.first; j < kw.last; ++j) {
      const int64_t index = row + j * dilation_w;
      const T v = in[index];
      const bool greater = v > best;
      best_index = greater ? index : best_index;
      best = greater ? v : best;
      any_nan |= v != v;
    }
  }
  if (any_nan) {
    for (int64_t i = kh.first; i < kh.last; ++i)
      for (int64_t j = kw.first; j < kw.last; ++j) {
        const int64_t index = (h0 + i * dilation_h) * in_w + w0 + j * dilation_w;
        if (std::isnan(in[index])) best_index = index;
      }
    best = in[best_index];
  }
  *best_out = best;
  *index_out = best_index;
}

namespace {
// Whether the windows are 2 x 2 at stride 2, without padding or dilation and
// all inside the input: the common pooling layer (LeNet-5, VGG), which
// max_pool2x2 runs with every tap at a fixed place.
bool is_pool2x2(const Pool2dShape& s) {
  return s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0 &&
         s.dilation_h == 1 && s.dilation_w == 1 && 2 * s.out_h <= s.in_h && 2 * s.out_w <= s.in_w;
}

// The fused ReLU of max_pool2d_forward on one output row.
template <typename T>
void relu_row(T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = relu_value(out[i]);
}

#ifdef __SSE2__
// mask ? a : b, lane by lane (SSE2 has no blend).
inline __m128 select(__m128 mask, __m128 a, __m128 b) { return _mm_or_ps(_mm_and_ps(mask, a), _mm_andnot_ps(mask, b)); }
inline __m128i select(__m128i mask, __m128i a, __m128i b) {
  return _mm_or_si128(_mm_and_si128(mask, a), _mm_andnot_si128(mask, b));
}
#endif

// Float outputs [0, n) of max_row2x2 four at a time in SSE2, which the
// compiler leaves scalar: returns how many it did, and sets *nan when one of
// those windows holds a NaN. Step j reads r0[2 * j, 2 * j + 8) and the same of
// r1. The window offsets are formed in 32-bit lanes, so rows must be shorter
// than 2**30 elements.
inline int64_t max_row2x2_sse2(const float* __restrict r0, const float* __restrict r1, int64_t i0, int64_t in_w,
                               int64_t n, float* __restrict out, int64_t* __restrict arg, bool* nan) {
  int64_t j = 0;
#ifdef __SSE2__
  if (in_w >= (int64_t{1} << 30)) return 0;
  const __m128i one = _mm_set1_epi32(1), row = _mm_set1_epi32(static_cast<int>(in_w)), zero = _mm_setzero_si128();
  // Index of the first element of lane l's window, i0 + 2 * (j + l), as two int64 pairs.
  __m128i first01 = _mm_set_epi64x(i0 + 2, i0), first23 = _mm_set_epi64x(i0 + 6, i0 + 4);
  const __m128i step = _mm_set1_epi64x(8);
  __m128 unordered = _mm_setzero_ps();
  for (; j + 4 <= n; j += 4) {
    const __m128 top01 = _mm_loadu_ps(r0 + 2 * j), top23 = _mm_loadu_ps(r0 + 2 * j + 4);
    const __m128 bottom01 = _mm_loadu_ps(r1 + 2 * j), bottom23 = _mm_loadu_ps(r1 + 2 * j + 4);
    const __m128 a = _mm_shuffle_ps(top01, top23, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 b = _mm_shuffle_ps(top01, top23, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 c = _mm_shuffle_ps(bottom01, bottom23, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 d = _mm_shuffle_ps(bottom01, bottom23, _MM_SHUFFLE(3, 1, 3, 1));
    // Strict > in scan order (a, b, c, d): the first largest wins.
    const __m128 right_top = _mm_cmpgt_ps(b, a), right_bottom = _mm_cmpgt_ps(d, c);
    const __m128 top = select(right_top, b, a), bottom = select(right_bottom, d, c);
    const __m128 lower = _mm_cmpgt_ps(bottom, top);
    _mm_storeu_ps(out + j, select(lower, bottom, top));
    unordered = _mm_or_ps(unordered, _mm_or_ps(_mm_cmpunord_ps(a, b), _mm_cmpunord_ps(c, d)));
    // Offset in the window: lower ? in_w + right_bottom : right_top (the masks are -1 or 0).
    const __m128i offset = select(_mm_castps_si128(lower),
                                  _mm_add_epi32(row, _mm_and_si128(_mm_castps_si128(right_bottom), one)),
                                  _mm_and_si128(_mm_castps_si128(right_top), one));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(arg + j), _mm_add_epi64(first01, _mm_unpacklo_epi32(offset, zero)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(arg + j + 2), _mm_add_epi64(first23, _mm_unpackhi_epi32(offset, zero)));
    first01 = _mm_add_epi64(first01, step);
    first23 = _mm_add_epi64(first23, step);
  }
  *nan = _mm_movemask_ps(unordered) != 0;
#else
  (void)r0, (void)r1, (void)i0, (void)in_w, (void)n, (void)out, (void)arg, (void)nan;
#endif
  return j;
}

// One output row of 2x2 windows: out[j] and arg[j] for j < n, from input rows
// r0, r1 (r0 at plane index i0). Floats go four at a time through
// max_row2x2_sse2; the rest is written for the vectorizer: the best of each
// column pair, then of the two, as selects (first largest wins: scan order
// (r0, r0 + 1, r1, r1 + 1) with strict >), the winning tap as a code of the
// element width (0..3), turned into indices in a second loop. Returns whether
// the row holds a NaN (the caller then redoes it with max_window's NaN rule).
// Zen 4, 1 thread, LeNet-5's pools at batch 64 with indices: 6 x 28 x 28
// 177-180 -> 131-143 us, 16 x 10 x 10 92 -> 75 us. (Its backward as one pass
// writing every dx element, dy or 0 by the index, instead of zeroing and
// scattering, measured slower: 83 -> 105 us.)
template <typename T>
bool max_row2x2(const T* __restrict r0, const T* __restrict r1, int64_t i0, int64_t in_w, int64_t n,
                T* __restrict out, int64_t* __restrict arg) {
  using Code = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  constexpr int64_t kBlock = 64;
  bool vector_nan = false;
  int64_t start = 0;
  if constexpr (std::is_same_v<T, float>) start = max_row2x2_sse2(r0, r1, i0, in_w, n, out, arg, &vector_nan);
  Code nan = 0;
  for (int64_t j0 = start; j0 < n; j0 += kBlock) {
    const int64_t m = std::min(kBlock, n - j0);
    Code code[kBlock];
    for (int64_t j = 0; j < m; ++j) {
      const T a = r0[2 * (j0 + j)], b = r0[2 * (j0 + j) + 1], c = r1[2 * (j0 + j)], d = r1[2 * (j0 + j) + 1];
      const T top = b > a ? b : a, bottom = d > c ? d : c;
      out[j0 + j] = bottom > top ? bottom : top;
      const Code right_top = b > a, right_bottom = d > c, lower = bottom > top;
      code[j] = right_top + lower * (2 + right_bottom - right_top);
      nan |= static_cast<Code>(a != a) | static_cast<Code>(b != b) | static_cast<Code>(c != c) |
             static_cast<Code>(d != d);
    }
    for (int64_t j = 0; j < m; ++j)
      arg[j0 + j] = i0 + 2 * (j0 + j) + (code[j] & 1) + (code[j] >> 1) * in_w;
  }
  return vector_nan || nan != 0;
}

template <typename T>
void max_pool2x2(const Pool2dShape& s, const T* x, T* y, int64_t* indices, bool relu) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  [[maybe_unused]] const int threads = threads_for(s.planes * out_plane * 4, kMinWorkPerThread);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p)
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const int64_t top = 2 * oh * s.in_w;
      const T* in = x + p * in_plane;
      T* out = y + p * out_plane + oh * s.out_w;
      int64_t* arg = indices + p * out_plane + oh * s.out_w;
      if (max_row2x2(in + top, in + top + s.in_w, top, s.in_w, s.out_w, out, arg))  // rare: the NaN rule
        for (int64_t ow = 0; ow < s.out_w; ++ow)
          max_window(in, s.in_w, 2 * oh, Range{0, 2}, 1, 2 * ow, Range{0, 2}, 1, out + ow, arg + ow);
      if (relu) relu_row(out, s.out_w);
    }
}

// max_pool2x2 without indices (inference): the largest of each window, NaN
// propagating, with no winning tap to track, so the row loop is four loads and
// three selects per output.
template <typename T>
void max_pool2x2_values(const Pool2dShape& s, const T* x, T* y, bool relu) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  [[maybe_unused]] const int threads = threads_for(s.planes * out_plane * 4, kMinWorkPerThread);
  const auto larger = [](T a, T b) { return a > b || a != a ? a : b; };  // a NaN wins
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p)
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const T* __restrict r0 = x + p * in_plane + 2 * oh * s.in_w;
      const T* __restrict r1 = r0 + s.in_w;
      T* __restrict out = y + p * out_plane + oh * s.out_w;
      for (int64_t j = 0; j < s.out_w; ++j) {
        const T best = larger(larger(r0[2 * j], r0[2 * j + 1]), larger(r1[2 * j], r1[2 * j + 1]));
        out[j] = relu ? relu_value(best) : best;
      }
    }
}
}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* indices, bool relu) {
  if (is_pool2x2(s)) {
    if (indices == nullptr)
      max_pool2x2_values(s, x, y, relu);
    else
      max_pool2x2(s, x, y, indices, relu);
    return;
  }
  std::vector<int64_t> scratch(indices == nullptr ? static_cast<size_t>(s.planes * s.out_h * s.out_w) : 0);
  if (indices == nullptr) indices = scratch.data();  // the general windows track them anyway
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  // The taps inside the input of every window row and column, found once per
  // call: working them out per output cost two integer divisions each.
  const std::vector<Range> rows = axis_taps(s.out_h, s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h);
  const std::vector<Range> cols = axis_taps(s.out_w, s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w);
  // The window columns [inner.first, inner.last) that lie wholly inside the
  // input (a contiguous run, since window starts increase).
  Range inner{0, 0};
  for (int64_t ow = 0; ow < s.out_w; ++ow) {
    if (cols[ow].first != 0 || cols[ow].last != s.kernel_w) continue;
    if (inner.first == inner.last) inner.first = ow;
    inner.last = ow + 1;
  }
  [[maybe_unused]] const int threads = threads_for(window_work(s), kMinWorkPerThread);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* __restrict in = x + p * in_plane;
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const int64_t h0 = oh * s.stride_h - s.pad_h;
      const Range kh = rows[oh];
      T* out = y + p * out_plane + oh * s.out_w;
      int64_t* arg = indices + p * out_plane + oh * s.out_w;
      const auto window = [&](int64_t ow) {
        max_window(in, s.in_w, h0, kh, s.dilation_h, ow * s.stride_w - s.pad_w, cols[ow], s.dilation_w, out + ow,
                   arg + ow);
      };
      for (int64_t ow = 0; ow < inner.first; ++ow) window(ow);
      for (int64_t ow = inner.last; ow < s.out_w; ++ow) window(ow);
      // Inner windows tap by tap across the row: neighbouring windows are
      // independent, so their compares overlap instead of forming one long
      // dependency chain per window. Masks, not selects, for the index: GCC
      // turns `greater ? index : arg[ow]` into a mispredicted conditional store.
      bool any_nan = false;
      T* __restrict best = out;
      int64_t* __restrict best_index = arg;
      for (int64_t ow = inner.first; ow < inner.last; ++ow) {
        best[ow] = -std::numeric_limits<T>::infinity();
        best_index[ow] = (h0 + kh.first * s.dilation_h) * s.in_w + ow * s.stride_w - s.pad_w;
      }
      for (int64_t i = kh.first; i < kh.last; ++i) {
        const int64_t row = (h0 + i * s.dilation_h) * s.in_w - s.pad_w;
        for (int64_t j = 0; j < s.kernel_w; ++j) {
          const int64_t tap = row + j * s.dilation_w;
          for (int64_t ow = inner.first; ow < inner.last; ++ow) {
            const int64_t index = tap + ow * s.stride_w;
            const T v = in[index], b = best[ow];
            const int64_t take = -static_cast<int64_t>(v > b);
            best_index[ow] ^= (best_index[ow] ^ index) & take;
            best[ow] = v > b ? v : b;
            any_nan |= v != v;
          }
        }
      }
      if (any_nan)  // rare: redo the row's inner windows with the NaN rule
        for (int64_t ow = inner.first; ow < inner.last; ++ow) window(ow);
      if (relu) relu_row(out, s.out_w);
    }
  }
}

template <typename T>
int64_t max_pool2d_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const T* dy, const int64_t* indices,
                            T* dx) {
  int64_t first_bad = planes * out_plane;
  [[maybe_unused]] const int threads = threads_for(planes * (in_plane + out_plane), kMinWorkPerThread);
#pragma omp parallel for num_threads(threads) schedule(static) reduction(min : first_bad)
  for (int64_t p = 0; p < planes; ++p) {
    T* grad = dx + p * in_plane;
    std::fill(grad, grad + in_plane, T(0));
    const T* g = dy + p * out_plane;
    const int64_t* arg = indices + p * out_plane;
    for (int64_t i = 0; i < out_plane; ++i) {
      if (static_cast<uint64_t>(arg[i]) >= static_cast<uint64_t>(in_plane)) {  // negative ones too
        first_bad = std::min(first_bad, p * out_plane + i);
        continue;
      }
      grad[arg[i]] += g[i];
    }
  }
  return first_bad < planes * out_plane ? first_bad : -1;
}

template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, const AvgPool2dOptions& o, const T* x, T* y) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  [[maybe_unused]] const int threads = threads_for(window_work(s), kMinWorkPerThread);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* in = x + p * in_plane;
    T* out = y + p * out_plane;
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const AvgWindow h = avg_window(oh, s.in_h, s.kernel_h, s.stride_h, s.pad_h);
      for (int64_t ow = 0; ow < s.out_w; ++ow) {
        const AvgWindow w = avg_window(ow, s.in_w, s.kernel_w, s.stride_w, s.pad_w);
        const int64_t divisor = avg_divisor(o, h, w);
        T sum = 0;
        for (int64_t ih = h.first; ih < h.last; ++ih)
          for (int64_t iw = w.first; iw < w.last; ++iw) sum += in[ih * s.in_w + iw];
        out[oh * s.out_w + ow] = divisor != 0 ? sum / static_cast<T>(divisor) : T(0);
      }
    }
  }
}

template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, const AvgPool2dOptions& o, const T* dy, T* dx) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  [[maybe_unused]] const int threads = threads_for(std::max(window_work(s), s.planes * in_plane), kMinWorkPerThread);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < s.planes; ++p) {
    T* grad = dx + p * in_plane;
    std::fill(grad, grad + in_plane, T(0));
    const T* g = dy + p * out_plane;
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const AvgWindow h = avg_window(oh, s.in_h, s.kernel_h, s.stride_h, s.pad_h);
      for (int64_t ow = 0; ow < s.out_w; ++ow) {
        const AvgWindow w = avg_window(ow, s.in_w, s.kernel_w, s.stride_w, s.pad_w);
        const int64_t divisor = avg_divisor(o, h, w);
        if (divisor == 0) continue;
        const T share = g[oh * s.out_w + ow] / static_cast<T>(divisor);
        for (int64_t ih = h.first; ih < h.last; ++ih)
          for (int64_t iw = w.first; iw < w.last; ++iw) grad[ih * s.in_w + iw] += share;
      }
    }
  }
}

template void max_pool2d_forward<float>(const Pool2dShape&, const float*, float*, int64_t*, bool);
template void max_pool2d_forward<double>(const Pool2dShape&, const double*, double*, int64_t*, bool);
template int64_t max_pool2d_backward<float>(int64_t, int64_t, int64_t, const float*, const int64_t*, float*);
template int64_t max_pool2d_backward<double>(int64_t, int64_t, int64_t, const double*, const int64_t*, double*);
template void avg_pool2d_forward<float>(const Pool2dShape&, const AvgPool2dOptions&, const float*, float*);
template void avg_pool2d_forward<double>(const Pool2dShape&, const AvgPool2dOptions&, const double*, double*);
template void avg_pool2d_backward<float>(const Pool2dShape&, const AvgPool2dOptions&, const float*, float*);
template void avg_pool2d_backward<double>(const Pool2dShape&, const AvgPool2dOptions&, const double*, double*);

}  // namespace minigrad::cpu
