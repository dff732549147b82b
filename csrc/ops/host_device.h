// MINIGRAD_HOST_DEVICE marks the inline helpers of csrc/ops/ that both the CPU
// kernels and the CUDA kernels call: __host__ __device__ under nvcc, nothing
// for the host compiler (and the SIMT emulator, which runs them on the host).
#pragma once

#if defined(__CUDACC__)
#define MINIGRAD_HOST_DEVICE __host__ __device__
#else
#define MINIGRAD_HOST_DEVICE
#endif
