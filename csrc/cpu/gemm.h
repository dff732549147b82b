// General matrix multiply on row-major (C-contiguous) matrices:
//   C = alpha * op(A) * op(B) + beta * C (+ bias[j] on column j),   op(X) = X or X^T
// op(A) is M x K, op(B) is K x N, C is M x N. lda/ldb/ldc are row strides in
// elements (A is stored M x K, or K x M when trans_a). beta == 0 overwrites C
// without reading it (NaNs already in C do not propagate). bias (N entries,
// or null: Linear's) is added as C is first written, not in a pass of its own.
// Threads over blocks with OpenMP; inside an enclosing parallel region it runs
// on the calling thread.
#pragma once

#include <cstdint>

#include "ops/gemm.h"

namespace minigrad::cpu {
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const T* bias = nullptr);

// batch.count such products (csrc/ops/gemm.h), each with the same bias: several
// per thread at once when there are enough of them (attention's per-head
// products are small), else one after another, each threaded.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const ops::GemmBatch& batch, const T* bias = nullptr);

// op(B) given by a function instead of a stored matrix: fill(context, k0, kc,
// j0, n, dst, ld) writes op(B)[k0 + k][j0 + j] to dst[k * ld + j] for k < kc,
// j < n. The GEMM calls it for the narrow strips it packs anyway, from several
// threads at once, so a convolution's column matrix is gathered straight from
// the image into the packed layout instead of being written out whole first.
template <typename T>
struct ImplicitB {
  void (*fill)(const void* context, int64_t k0, int64_t kc, int64_t j0, int64_t n, T* dst, int64_t ld);
  const void* context;
};

// C = A op(B) for A (M x K, row-major, row stride lda) and an implicit op(B) (K x N).
template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const ImplicitB<T>& B, T* C, int64_t ldc);

// float32 GFLOP/s of multiply-adds with operands in registers on `threads`
// threads, the best of three runs of about `seconds` each: the measured peak
// that GEMM speed is judged against.
double fma_peak_gflops(int threads, double seconds);

// Whether this CPU's 512-bit FMAs do twice the work per second of its 256-bit
// ones, measured once (about a millisecond) at the first call. False without
// AVX-512 (or under MINIGRAD_SIMD=avx2|generic), and on CPUs that run each
// 512-bit FMA as two 256-bit halves (AMD Zen 4) or have one 512-bit FMA unit:
// there, kernels written for AVX2 reach the same peak.
bool avx512_doubles_fma_rate();
}  // namespace minigrad::cpu
