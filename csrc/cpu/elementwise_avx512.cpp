// The float sigmoid, tanh, erf, log1p, expm1, GELU, exp and softmax-row loops (cpu/activation_math.h) compiled with
// -mavx512f -mavx512dq -mavx512vl -mavx512bw -mfma -fno-trapping-math; called only when cpu_features() reports AVX-512.
#include "cpu/activation_math.h"

namespace minigrad::cpu::activation_math {
void sigmoid_avx512(const float* x, float* y, int64_t n) { sigmoid_loop(x, y, n); }
void tanh_avx512(const float* x, float* y, int64_t n) { tanh_loop(x, y, n); }
void erf_avx512(const float* x, float* y, int64_t n) { erf_loop(x, y, n); }
void log1p_avx512(const float* x, float* y, int64_t n) { log1p_loop(x, y, n); }
void expm1_avx512(const float* x, float* y, int64_t n) { expm1_loop(x, y, n); }
void gelu_avx512(const float* x, float* y, int64_t n, bool tanh_form) { gelu_loop(x, y, n, tanh_form); }
void gelu_backward_avx512(const float* dy, const float* x, float* dx, int64_t n, bool tanh_form) {
  gelu_backward_loop(dy, x, dx, n, tanh_form);
}
void exp_shifted_avx512(const float* x, float m, float* y, int64_t n) { exp_shifted_loop(x, m, y, n); }
void add_scaled_avx512(const float* a, const float* b, float alpha, float* out, int64_t n) {
  add_scaled_loop(a, b, alpha, out, n);
}
void add_scaled_avx512(const double* a, const double* b, double alpha, double* out, int64_t n) {
  add_scaled_loop(a, b, alpha, out, n);
}
// 32-byte vectors for the maxima and sums: with 64-byte ones rows of 1000
// floats took 12% longer (Zen 4), the exp loop runs 512-bit either way.
bool softmax_row_avx512(const float* x, float* y, int64_t n, bool log) { return softmax_row_loop<32>(x, y, n, log); }
}  // namespace minigrad::cpu::activation_math
