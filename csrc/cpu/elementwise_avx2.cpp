// The float sigmoid, tanh, erf, log1p, expm1, GELU, exp and softmax-row loops (cpu/activation_math.h) compiled with
// -mavx2 -mfma -fno-trapping-math; called only when cpu_features() reports AVX2 and FMA.
#include "cpu/activation_math.h"

namespace minigrad::cpu::activation_math {
void sigmoid_avx2(const float* x, float* y, int64_t n) { sigmoid_loop(x, y, n); }
void tanh_avx2(const float* x, float* y, int64_t n) { tanh_loop(x, y, n); }
void erf_avx2(const float* x, float* y, int64_t n) { erf_loop(x, y, n); }
void log1p_avx2(const float* x, float* y, int64_t n) { log1p_loop(x, y, n); }
void expm1_avx2(const float* x, float* y, int64_t n) { expm1_loop(x, y, n); }
void gelu_avx2(const float* x, float* y, int64_t n, bool tanh_form) { gelu_loop(x, y, n, tanh_form); }
void gelu_backward_avx2(const float* dy, const float* x, float* dx, int64_t n, bool tanh_form) {
  gelu_backward_loop(dy, x, dx, n, tanh_form);
}
void exp_shifted_avx2(const float* x, float m, float* y, int64_t n) { exp_shifted_loop(x, m, y, n); }
void add_scaled_avx2(const float* a, const float* b, float alpha, float* out, int64_t n) {
  add_scaled_loop(a, b, alpha, out, n);
}
void add_scaled_avx2(const double* a, const double* b, double alpha, double* out, int64_t n) {
  add_scaled_loop(a, b, alpha, out, n);
}
bool softmax_row_avx2(const float* x, float* y, int64_t n, bool log) { return softmax_row_loop<32>(x, y, n, log); }
}  // namespace minigrad::cpu::activation_math
