// Elementwise CUDA kernels (device pointers, default stream; n == 0 launches
// nothing). Plain C++ header. Inputs are read through element strides over the
// output's shape (stride 0 along a broadcast axis), so one kernel serves
// broadcasting, permuted copies and dtype casts; the output is C-contiguous.
// Backward kernels overwrite their output, like the CPU ones.
#pragma once

#include <cstdint>

namespace minigrad::cuda {

constexpr int kMaxDims = 8;

// The output's shape and each operand's element strides over it. make_strided
// merges axes that are contiguous for every operand (fewer index divisions).
struct Strided {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[3][kMaxDims] = {};  // up to three operands
};
Strided make_strided(int ndim, const int64_t* shape, int operands, const int64_t* const* strides);

enum class UnaryOp {
  neg, exp, log, log1p, sqrt, abs, sign, relu, sigmoid, tanh, clamp,
  // the math functions (minigrad.sin, ...): no kernels of their own on the CPU, where numpy runs them
  sin, cos, tan, asin, acos, atan, sinh, cosh, expm1, log2, log10, erf
};
// relu/sigmoid/tanh backward: a = dy, b = the forward output y.
enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum, relu_backward, sigmoid_backward, tanh_backward };
enum class CompareOp { eq, ne, lt, le, gt, ge };

template <typename T>
void fill(T* out, T value, int64_t n);  // float, double, int64_t, bool
// out[i] = Out(x[strided i]): copies, permutes, broadcasts and converts (float, double, int64_t, bool).
template <typename In, typename Out>
void strided_copy(const In* x, Out* out, const Strided& s, int64_t n);
// Contiguous x -> out; clamp uses low/high (either may be +-inf). float, double (int64_t: neg, abs, sign).
template <typename T>
void unary(UnaryOp op, const T* x, T* out, int64_t n, T low = T(0), T high = T(0));
template <typename T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const Strided& s, int64_t n);  // float, double, int64_t; out may be a
template <typename T>
void compare(CompareOp op, const T* a, const T* b, bool* out, const Strided& s, int64_t n);  // + bool
template <typename T>
void where(const bool* cond, const T* a, const T* b, T* out, const Strided& s, int64_t n);  // + bool
// hardtanh's backward (its forward is unary's clamp): csrc/cpu/elementwise.h's
// hardtanh_backward, dx = dy where low < x < high, else 0.
template <typename T>
void hardtanh_backward(const T* dy, const T* x, T* dx, int64_t n, T low, T high);
// out = a + alpha * b rounded once (fma): csrc/cpu/elementwise.h's add_scaled.
template <typename T>
void add_scaled(const T* a, const T* b, T alpha, T* out, int64_t n);
// leaky_relu and its backward from the forward input x: csrc/cpu/elementwise.h's.
template <typename T>
void leaky_relu_forward(const T* x, T* y, int64_t n, T slope);
template <typename T>
void leaky_relu_backward(const T* dy, const T* x, T* dx, int64_t n, T slope);
// GELU and its backward from the forward input x: csrc/cpu/elementwise.h's
// gelu_forward / gelu_backward, the same formulas (csrc/ops/gelu.h).
template <typename T>
void gelu_forward(const T* x, T* y, int64_t n, bool tanh_form);
template <typename T>
void gelu_backward(const T* dy, const T* x, T* dx, int64_t n, bool tanh_form);
// One LSTM step after its matmuls and its backward: csrc/cpu/elementwise.h's
// lstm_cell_forward / lstm_cell_backward, one thread per hidden unit of a row.
template <typename T>
void lstm_cell_forward(const T* gates, const T* c, T* acts, T* c_next, T* tanh_c, T* h, int64_t N, int64_t H);
template <typename T>
void lstm_cell_backward(const T* dh, const T* dc_next, const T* acts, const T* c, const T* tanh_c, T* dgates,
                        T* dc, int64_t N, int64_t H);
// One GRU step after its matmuls and its backward: csrc/cpu/elementwise.h's
// gru_cell_forward / gru_cell_backward, one thread per hidden unit of a row.
template <typename T>
void gru_cell_forward(const T* x_proj, const T* h_proj, const T* h, T* acts, T* h_next, int64_t N, int64_t H);
template <typename T>
void gru_cell_backward(const T* dh, const T* acts, const T* h_proj, const T* h, T* dx_proj, T* dh_proj,
                       T* dh_direct, int64_t N, int64_t H);
// Whether every element is finite (no inf, no nan).
template <typename T>
bool all_finite(const T* x, int64_t n);

}  // namespace minigrad::cuda
