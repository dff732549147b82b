// CPU thread pool size (OpenMP). Kernels use `#pragma omp parallel` with
// num_threads(minigrad::cpu::num_threads()).
#pragma once

#include <cstdint>

namespace minigrad::cpu {
// Element count below which a simple loop runs on the calling thread: waking
// the OpenMP team costs more than it saves (`#pragma omp parallel for if(n >= kMinParallelWork)`).
constexpr int64_t kMinParallelWork = 32768;
void set_num_threads(int n);  // n >= 1
int num_threads();
bool openmp_enabled();
}  // namespace minigrad::cpu
