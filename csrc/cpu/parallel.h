// CPU thread pool size (OpenMP). Kernels use `#pragma omp parallel` with
// num_threads(minigrad::cpu::num_threads()).
#pragma once

#include <algorithm>
#include <cstdint>

namespace minigrad::cpu {
// Element count below which a simple loop runs on the calling thread: waking
// the OpenMP team costs more than it saves (`#pragma omp parallel for if(n >= kMinParallelWork)`).
constexpr int64_t kMinParallelWork = 32768;
void set_num_threads(int n);  // n >= 1
int num_threads();
bool openmp_enabled();

// Threads worth waking for `work` units when each should get at least
// `min_work_per_thread` (waking a thread costs microseconds): 1..num_threads().
inline int threads_for(int64_t work, int64_t min_work_per_thread) {
  return static_cast<int>(std::clamp<int64_t>(work / min_work_per_thread, 1, num_threads()));
}
}  // namespace minigrad::cpu
