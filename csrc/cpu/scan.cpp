#include "cpu/scan.h"

#include <algorithm>

#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// Lines summed side by side: each line's sum is a chain of dependent adds (3-4
// cycles each), so one line at a time leaves the adder mostly idle. Along the
// last axis the lines are rows; otherwise they are neighbouring columns, whose
// adds vectorise (16 floats: one cache line of each row read).
constexpr int64_t kLines = 16;

// Lines [0, Count) from x and y, line_step apart, each n elements step apart.
template <int64_t Count, typename T>
void scan_lines(const T* __restrict x, T* __restrict y, int64_t line_step, int64_t n, int64_t step, bool reverse) {
  double sums[Count] = {};
  for (int64_t k = 0; k < n; ++k) {
    const int64_t at = (reverse ? n - 1 - k : k) * step;
    for (int64_t l = 0; l < Count; ++l) {
      sums[l] += static_cast<double>(x[at + l * line_step]);
      y[at + l * line_step] = static_cast<T>(sums[l]);
    }
  }
}

// `count` lines (at most kLines): kLines at once, or one by one for a remainder.
template <typename T>
void scan_group(const T* x, T* y, int64_t count, int64_t line_step, int64_t n, int64_t step, bool reverse) {
  if (count == kLines) return scan_lines<kLines>(x, y, line_step, n, step, reverse);
  for (int64_t l = 0; l < count; ++l) scan_lines<1>(x + l * line_step, y + l * line_step, 0, n, step, reverse);
}

}  // namespace

template <typename T>
void cumsum(const ops::ScanShape& s, const T* x, T* y, bool reverse) {
  // Along the last axis, groups of rows; otherwise groups of columns within each outer index.
  const bool rows = s.inner == 1;
  const int64_t column_groups = (s.inner + kLines - 1) / kLines;
  const int64_t groups = rows ? (s.outer + kLines - 1) / kLines : s.outer * column_groups;
  parallel_for(groups, threads_for(s.outer * s.n * s.inner, kMinParallelWork), [=](int64_t g) {
    if (rows) {
      const int64_t first = g * kLines;
      scan_group(x + first * s.n, y + first * s.n, std::min(kLines, s.outer - first), s.n, s.n, 1, reverse);
    } else {
      const int64_t first = g % column_groups * kLines, at = g / column_groups * s.n * s.inner + first;
      scan_group(x + at, y + at, std::min(kLines, s.inner - first), 1, s.n, s.inner, reverse);
    }
  });
}

template void cumsum<float>(const ops::ScanShape&, const float*, float*, bool);
template void cumsum<double>(const ops::ScanShape&, const double*, double*, bool);

}  // namespace minigrad::cpu
