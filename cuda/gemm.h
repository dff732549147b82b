// General matrix multiply on the device, row-major (C-contiguous) matrices:
//   C = alpha * op(A) * op(B) + beta * C (+ bias[j] on column j),   op(X) = X or X^T
// op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in
// elements (A is stored M x K, or K x M when trans_a), as cpu::gemm. beta == 0
// overwrites C without reading it; alpha == 0 or K == 0 reads neither A nor B.
// bias: N entries (every product of a batch adds the same), or null.
// Device pointers, default stream; M == 0 or N == 0 launches nothing.
// Plain C++ header (no CUDA types).
#pragma once

#include <cstdint>

#include "../csrc/ops/gemm.h"

namespace minigrad::cuda {

// `count` independent products in one launch (csrc/ops/gemm.h).
using ops::GemmBatch;

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const GemmBatch& batch = {},
          const T* bias = nullptr);

}  // namespace minigrad::cuda
