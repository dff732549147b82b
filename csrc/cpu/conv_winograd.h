// The transforms of Winograd's F(2x2, 3x3) convolution (conv.cpp), written as
// plain loops over tiles that the compiler vectorizes, instantiated for the
// baseline instruction set (conv.cpp) and for AVX2 (conv_avx2.cpp, with twice
// the lanes). In an unnamed namespace, so that each file keeps its own
// instantiation (the linker would otherwise pick one for both), and, like
// conv_direct.h, free of standard library calls.
//
// A zero-padded input plane is stored with its columns split: padded row r
// holds even[u] = padded[r][2 u] then odd[u] = padded[r][2 u + 1] (u < half,
// half = tiles + 1), so the columns 2 t .. 2 t + 3 of tile t are even[t],
// odd[t], even[t + 1], odd[t + 1]: every load is a whole vector of tiles.
#pragma once

#include <cstdint>

namespace minigrad::cpu::conv_detail {

void winograd_input_row_avx2(const float* rows, int64_t half, int64_t tiles, float* v, int64_t stride);
void winograd_input_row_avx2(const double* rows, int64_t half, int64_t tiles, double* v, int64_t stride);
void winograd_output_tiles_avx2(const float* m, int64_t stride, int64_t count, float* q, int64_t q_stride);
void winograd_output_tiles_avx2(const double* m, int64_t stride, int64_t count, double* q, int64_t q_stride);
void winograd_output_grad_row_avx2(const float* rows, int64_t half, int64_t tiles, float* y, int64_t stride);
void winograd_output_grad_row_avx2(const double* rows, int64_t half, int64_t tiles, double* y, int64_t stride);

namespace {
// V[e][t] = (B^T d B)[e] for the tiles t < tiles of one tile row, d the 4x4
// input tile (rows: the split padded row 2 ty, three more follow; v: V[0],
// the 16 element planes `stride` apart):
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
// d B along each row (d0 - d2, d1 + d2, d2 - d1, d1 - d3 of its columns
// d0..d3), then the same combination of the rows. ivdep: v never overlaps rows.
template <typename T>
void winograd_input_row(const T* rows, int64_t half, int64_t tiles, T* __restrict v, int64_t stride) {
  const T* __restrict e0 = rows;
  const T* __restrict o0 = e0 + half;
  const T* __restrict e1 = o0 + half;
  const T* __restrict o1 = e1 + half;
  const T* __restrict e2 = o1 + half;
  const T* __restrict o2 = e2 + half;
  const T* __restrict e3 = o2 + half;
  const T* __restrict o3 = e3 + half;
#pragma GCC ivdep
  for (int64_t t = 0; t < tiles; ++t) {
    const T a0 = e0[t] - e0[t + 1], a1 = o0[t] + e0[t + 1], a2 = e0[t + 1] - o0[t], a3 = o0[t] - o0[t + 1];
    const T b0 = e1[t] - e1[t + 1], b1 = o1[t] + e1[t + 1], b2 = e1[t + 1] - o1[t], b3 = o1[t] - o1[t + 1];
    const T c0 = e2[t] - e2[t + 1], c1 = o2[t] + e2[t + 1], c2 = e2[t + 1] - o2[t], c3 = o2[t] - o2[t + 1];
    const T d0 = e3[t] - e3[t + 1], d1 = o3[t] + e3[t + 1], d2 = e3[t + 1] - o3[t], d3 = o3[t] - o3[t + 1];
    v[t] = a0 - c0;
    v[stride + t] = a1 - c1;
    v[2 * stride + t] = a2 - c2;
    v[3 * stride + t] = a3 - c3;
    v[4 * stride + t] = b0 + c0;
    v[5 * stride + t] = b1 + c1;
    v[6 * stride + t] = b2 + c2;
    v[7 * stride + t] = b3 + c3;
    v[8 * stride + t] = c0 - b0;
    v[9 * stride + t] = c1 - b1;
    v[10 * stride + t] = c2 - b2;
    v[11 * stride + t] = c3 - b3;
    v[12 * stride + t] = b0 - d0;
    v[13 * stride + t] = b1 - d1;
    v[14 * stride + t] = b2 - d2;
    v[15 * stride + t] = b3 - d3;
  }
}

// A^T m A for the tiles t < count of one output plane (m: M[0], the 16
// element planes `stride` apart), into q[0..3][t] (q_stride apart): the
// tile's pixels (0, 0), (0, 1), (1, 0), (1, 1).
//   A^T = [1 1 1 0; 0 1 -1 -1]
// m A, row k: (m_k0 + m_k1 + m_k2, m_k1 - m_k2 - m_k3); then rows 0 + 1 + 2 and 1 - 2 - 3.
template <typename T>
void winograd_output_tiles(const T* __restrict m, int64_t stride, int64_t count, T* __restrict q, int64_t q_stride) {
#pragma GCC ivdep
  for (int64_t t = 0; t < count; ++t) {
    const T* mt = m + t;
    const T l0 = mt[0] + mt[stride] + mt[2 * stride], r0 = mt[stride] - mt[2 * stride] - mt[3 * stride];
    const T l1 = mt[4 * stride] + mt[5 * stride] + mt[6 * stride], r1 = mt[5 * stride] - mt[6 * stride] - mt[7 * stride];
    const T l2 = mt[8 * stride] + mt[9 * stride] + mt[10 * stride],
            r2 = mt[9 * stride] - mt[10 * stride] - mt[11 * stride];
    const T l3 = mt[12 * stride] + mt[13 * stride] + mt[14 * stride],
            r3 = mt[13 * stride] - mt[14 * stride] - mt[15 * stride];
    q[t] = l0 + l1 + l2;
    q[q_stride + t] = r0 + r1 + r2;
    q[2 * q_stride + t] = l1 - l2 - l3;
    q[3 * q_stride + t] = r1 - r2 - r3;
  }
}

// Y[e][t] = (A dy A^T)[e] for the tiles t < tiles of one tile row, dy the 2x2
// output-gradient tile (rows: the split row 2 ty, row 2 ty + 1 follows; y:
// Y[0], the 16 element planes `stride` apart): the adjoint of A^T m A, which
// the weight gradient multiplies with V. A dy, row by row: (p, q), (p + r, q + s),
// (p - r, q - s), (-r, -s) for dy = [p q; r s]; then each row (a, b) becomes
// (a, a + b, a - b, -b).
template <typename T>
void winograd_output_grad_row(const T* rows, int64_t half, int64_t tiles, T* __restrict y, int64_t stride) {
  const T* __restrict p = rows;
  const T* __restrict q = p + half;
  const T* __restrict r = q + half;
  const T* __restrict s = r + half;
#pragma GCC ivdep
  for (int64_t t = 0; t < tiles; ++t) {
    const T a[4] = {p[t], p[t] + r[t], p[t] - r[t], -r[t]};
    const T b[4] = {q[t], q[t] + s[t], q[t] - s[t], -s[t]};
    for (int k = 0; k < 4; ++k) {
      y[4 * k * stride + t] = a[k];
      y[(4 * k + 1) * stride + t] = a[k] + b[k];
      y[(4 * k + 2) * stride + t] = a[k] - b[k];
      y[(4 * k + 3) * stride + t] = -b[k];
    }
  }
}
}  // namespace
}  // namespace minigrad::cpu::conv_detail
