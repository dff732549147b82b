// CPU thread pool size (OpenMP). Kernels use `#pragma omp parallel` with
// num_threads(minigrad::cpu::num_threads()).
#pragma once

namespace minigrad::cpu {
void set_num_threads(int n);  // n >= 1
int num_threads();
bool openmp_enabled();
}  // namespace minigrad::cpu
