#include "cpu/reduce.h"

#include <algorithm>
#include <vector>

#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// Independent lanes: each lane's adds form one chain, so 32 of them keep the
// vector adders busy (4-cycle latency, 2 per cycle) and the compiler vectorises
// the lane loop without reordering any sum.
constexpr int64_t kLanes = 32;
// Elements per block summed in T (32 adds per lane), and rows per block of the
// down-the-rows case: the error of a float sum stays near that of 32 adds.
constexpr int64_t kBlock = 1024, kBlockRows = 32;

// Sum of x[0, n) with n <= kBlock, the lanes in T.
template <typename T>
double block_sum(const T* __restrict x, int64_t n) {
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += x[i + l];
  // The lanes pairwise (vectorised halves): added one by one into a double, their
  // chain of dependent adds took as long as the block's own.
  for (int64_t half = kLanes / 2; half > 0; half /= 2)
    for (int64_t l = 0; l < half; ++l) lanes[l] += lanes[l + half];
  double sum = static_cast<double>(lanes[0]);
  for (; i < n; ++i) sum += static_cast<double>(x[i]);
  return sum;
}

// Sum of a contiguous run, its blocks in order; blocks of a long run in parallel.
template <typename T>
T run_sum(const T* x, int64_t n, int threads) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  if (threads <= 1 || blocks < 2) {
    double sum = 0;
    for (int64_t b = 0; b < blocks; ++b) sum += block_sum(x + b * kBlock, std::min(kBlock, n - b * kBlock));
    return static_cast<T>(sum);
  }
  std::vector<double> sums(static_cast<size_t>(blocks));
  parallel_for(blocks, threads, [&](int64_t b) { sums[b] = block_sum(x + b * kBlock, std::min(kBlock, n - b * kBlock)); });
  double sum = 0;
  for (double s : sums) sum += s;
  return static_cast<T>(sum);
}

// out[i] = sum_r x[r * stride + i] for i < cols, r < len: rows added into a T
// row per block of kBlockRows rows (contiguous, vectorised), each block's row
// into a double row. Allocates (may throw std::bad_alloc).
template <typename T>
void column_sums(const T* __restrict x, T* __restrict out, int64_t len, int64_t stride, int64_t cols) {
  std::vector<double> total(static_cast<size_t>(cols), 0.0);
  std::vector<T> block(static_cast<size_t>(cols));
  T* __restrict b = block.data();
  for (int64_t r0 = 0; r0 < len; r0 += kBlockRows) {
    std::fill(block.begin(), block.end(), T(0));
    for (int64_t r = r0; r < std::min(len, r0 + kBlockRows); ++r)
      for (int64_t i = 0; i < cols; ++i) b[i] += x[r * stride + i];
    for (int64_t i = 0; i < cols; ++i) total[i] += static_cast<double>(b[i]);
  }
  for (int64_t i = 0; i < cols; ++i) out[i] = static_cast<T>(total[i]);
}

}  // namespace

template <typename T>
void sum(const T* x, T* out, int64_t outer, int64_t len, int64_t inner) {
  const int threads = threads_for(outer * len * inner, kMinParallelWork);
  if (inner == 1) {
    if (outer == 1) {
      out[0] = run_sum(x, len, threads);
    } else {
      parallel_for(outer, threads, [=](int64_t o) { out[o] = run_sum(x + o * len, len, 1); });
    }
  } else if (outer >= threads) {  // whole (len, inner) slabs per thread
    for_each_slice(outer, threads, [=](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) column_sums(x + o * len * inner, out + o * inner, len, inner, inner);
    });
  } else {  // few slabs: their columns split among the threads
    for (int64_t o = 0; o < outer; ++o)
      for_each_slice(inner, std::min<int64_t>(threads, inner), [=](int64_t i0, int64_t i1) {
        column_sums(x + o * len * inner + i0, out + o * inner + i0, len, inner, i1 - i0);
      });
  }
}

template void sum<float>(const float*, float*, int64_t, int64_t, int64_t);
template void sum<double>(const double*, double*, int64_t, int64_t, int64_t);

}  // namespace minigrad::cpu
