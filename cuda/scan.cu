#include "scan.h"

#include "common.cuh"

namespace minigrad::cuda {
namespace {
constexpr int kThreads = 256;

// One thread per line (o, i), its n elements in order into a double: the CPU
// kernel's order and precision. Neighbouring threads read neighbouring
// columns, coalesced, where inner > 1.
template <typename T>
__global__ void cumsum_kernel(const T* __restrict__ x, T* __restrict__ y, ops::ScanShape s, bool reverse) {
  const int64_t lines = s.outer * s.inner;
  for (int64_t line = global_thread(); line < lines; line += grid_threads()) {
    const int64_t first = line / s.inner * s.n * s.inner + line % s.inner;
    double sum = 0;
    for (int64_t k = 0; k < s.n; ++k) {
      const int64_t at = first + (reverse ? s.n - 1 - k : k) * s.inner;
      sum += static_cast<double>(x[at]);
      y[at] = static_cast<T>(sum);
    }
  }
}
}  // namespace

template <typename T>
void cumsum(const ops::ScanShape& s, const T* x, T* y, bool reverse) {
  const int64_t lines = s.outer * s.inner;
  if (lines == 0 || s.n == 0) return;
  MG_LAUNCH(blocks_for(lines, kThreads), kThreads, 0, nullptr, cumsum_kernel<T>)(x, y, s, reverse);
  check_launch("cumsum kernel");
}

template void cumsum<float>(const ops::ScanShape&, const float*, float*, bool);
template void cumsum<double>(const ops::ScanShape&, const double*, double*, bool);

}  // namespace minigrad::cuda
