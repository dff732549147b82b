// Kernels that exercise the SIMT emulator itself (EMULATE build only, for
// tests/test_cuda_runtime.py): a correct reduction, and kernels that break the
// CUDA execution model on purpose and must raise minigrad::simt::KernelError.
#pragma once

#include <cstdint>
#include <string>

namespace minigrad::simt::selftest {
// Sum of n device values with block_sum (cuda/reduce.cuh): `blocks` blocks of `threads` threads.
template <typename T>
T block_sum(const T* x, int64_t n, int threads, int blocks);
// A shared-memory tree sum with or without its __syncthreads (without, it reads poisoned shared memory).
float shared_tree_sum(const float* x, int threads, bool with_barrier);
// Runs a broken kernel: "missing_barrier", "divergent_barrier", "shuffle_exited_lane",
// "shuffle_outside_mask", "shuffle_partial_warp" (needs threads % 32 != 0), "mask_without_self".
void run_broken(const std::string& name, int threads);
}  // namespace minigrad::simt::selftest
