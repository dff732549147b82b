// Activations and the bias broadcast of Linear/conv layers. Elementwise loops
// are written for the compiler to vectorise; they thread only for large arrays.
// Backward kernels take the forward output y and overwrite dx.
#pragma once

#include <cstdint>

namespace minigrad::cpu {

// max(v, 0), keeping NaN as NaN as PyTorch does (compiles to maxps). Shared
// with the convolution's fused ReLU.
template <typename T>
inline T relu_value(T v) {
  return v < T(0) ? T(0) : v;
}

// The sum of v[0..n) in double, in a fixed order: kLanes interleaved partial
// sums (one running sum would be a chain of dependent adds, 4 cycles each).
template <typename T>
inline double sum_as_double(const T* v, int64_t n) {
  constexpr int64_t kLanes = 8;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) lanes[k] += static_cast<double>(v[i + k]);
  double sum = 0;
  for (; i < n; ++i) sum += static_cast<double>(v[i]);
  for (int64_t k = 0; k < kLanes; ++k) sum += lanes[k];
  return sum;
}

template <typename T>
void relu_forward(const T* x, T* y, int64_t n);
template <typename T>
void relu_backward(const T* dy, const T* y, T* dx, int64_t n);  // dx = dy where y > 0, else 0
// hardtanh (relu6 is low 0, high 6): y = x clamped to [low, high], NaN stays NaN;
// dx = dy where low < x < high, else 0 (0 for a NaN x, as PyTorch's vectorised loop).
template <typename T>
void hardtanh_forward(const T* x, T* y, int64_t n, T low, T high);
template <typename T>
void hardtanh_backward(const T* dy, const T* x, T* dx, int64_t n, T low, T high);
// leaky_relu: y = x where x > 0, else slope x (NaN stays NaN); dx = dy where
// x > 0, else slope dy (x the forward input), as PyTorch's.
template <typename T>
void leaky_relu_forward(const T* x, T* y, int64_t n, T slope);
template <typename T>
void leaky_relu_backward(const T* dy, const T* x, T* dx, int64_t n, T slope);
template <typename T>
void sigmoid_forward(const T* x, T* y, int64_t n);  // stable for large |x|
template <typename T>
void sigmoid_backward(const T* dy, const T* y, T* dx, int64_t n);  // dx = dy * y * (1 - y)
template <typename T>
void tanh_forward(const T* x, T* y, int64_t n);
template <typename T>
void tanh_backward(const T* dy, const T* y, T* dx, int64_t n);  // dx = dy * (1 - y^2)
// y = erf(x) (numpy has none; the CUDA twin is cuda::unary's erf): GELU's
// normal CDF and torch.erf. Floats vectorised (activation_math.h's erf_value,
// 1.5e-7 absolute, as PyTorch's), doubles libm's.
template <typename T>
void erf_forward(const T* x, T* y, int64_t n);
// y = log(1 + x) and y = e^x - 1, exact for small x (torch.log1p / expm1, and
// softplus, logsigmoid, ELU and the logits' binary cross-entropy; the CUDA
// twins are cuda::unary's): floats vectorised (activation_math.h, a few ulp),
// doubles libm's.
template <typename T>
void log1p_forward(const T* x, T* y, int64_t n);
template <typename T>
void expm1_forward(const T* x, T* y, int64_t n);
// GELU, y = x Phi(x) (Phi the normal CDF), exact or in PyTorch's tanh form
// (ops/gelu.h); its backward takes the forward input x: dx = dy GELU'(x).
// Floats vectorised (activation_math.h), doubles through libm.
template <typename T>
void gelu_forward(const T* x, T* y, int64_t n, bool tanh_form);
template <typename T>
void gelu_backward(const T* dy, const T* x, T* dx, int64_t n, bool tanh_form);

// y[i] = e^(x[i] - m) for x[i] - m <= 0, vectorised for the CPU's instruction
// set (Cephes' expf, within 2 ulp; 0 below about -87.7, and 0 for nan: the
// caller keeps nan away). Softmax's exp(x - max).
void exp_shifted(const float* x, float m, float* y, int64_t n);

// out = a + alpha * b elementwise, rounded once (a fused multiply-add), as
// PyTorch's add and sub with alpha (a - alpha * b is alpha negated).
template <typename T>
void add_scaled(const T* a, const T* b, T alpha, T* out, int64_t n);

// One row of softmax, or of log-softmax when `log`, of floats, vectorised for
// the CPU's instruction set. false, y untouched, where x - max may be nan (a
// nan in the row, an infinite maximum, an empty row), which the caller
// computes with libm.
bool softmax_row_vectorised(const float* x, float* y, int64_t n, bool log);

// One LSTM step after its matmuls, in PyTorch's gate order (i, f, g, o):
// gates (N, 4H) the pre-activations x W_ih^T + b_ih + h W_hh^T + b_hh, c (N, H)
// -> acts (N, 4H: sigmoid, sigmoid, tanh, sigmoid of the gates), c_next =
// f c + i g, tanh_c = tanh(c_next) and h = o tanh_c (each (N, H)).
template <typename T>
void lstm_cell_forward(const T* gates, const T* c, T* acts, T* c_next, T* tanh_c, T* h, int64_t N, int64_t H);
// From the gradients of h and c_next and the forward's acts, c and tanh_c:
// dgates (N, 4H) (the gradient of the pre-activations) and dc (N, H).
template <typename T>
void lstm_cell_backward(const T* dh, const T* dc_next, const T* acts, const T* c, const T* tanh_c, T* dgates,
                        T* dc, int64_t N, int64_t H);

// One GRU step after its matmuls, PyTorch's gate order (r, z, n): x_proj =
// x W_ih^T + b_ih and h_proj = h W_hh^T + b_hh (N, 3H), h (N, H) -> acts (N, 3H:
// r, z, n) and h_next = n + z (h - n), where r, z = sigmoid(x_proj + h_proj)
// and n = tanh(x_n + r h_n).
template <typename T>
void gru_cell_forward(const T* x_proj, const T* h_proj, const T* h, T* acts, T* h_next, int64_t N, int64_t H);
// From dh (the gradient of h_next) and the forward's acts, h_proj and h: the
// gradients of x_proj and h_proj (N, 3H) and dh_direct = dh z (N, H), h's
// gradient other than through h_proj.
template <typename T>
void gru_cell_backward(const T* dh, const T* acts, const T* h_proj, const T* h, T* dx_proj, T* dh_proj,
                       T* dh_direct, int64_t N, int64_t H);

// x, y viewed as (N, C, inner): y[n, c, s] = x[n, c, s] + bias[c].
template <typename T>
void bias_add(const T* x, const T* bias, T* y, int64_t N, int64_t C, int64_t inner);

// dbias[c] = sum over n and s of dy[n, c, s], summed in double in a fixed order
// (n, then s) whatever the thread count: the result is deterministic.
template <typename T>
void bias_grad(const T* dy, T* dbias, int64_t N, int64_t C, int64_t inner);

}  // namespace minigrad::cpu
