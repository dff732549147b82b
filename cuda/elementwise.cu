#include "elementwise.h"

#include <cmath>
#include <type_traits>

#include "../csrc/ops/gelu.h"
#include "common.cuh"
#include "scratch.h"

namespace minigrad::cuda {
namespace {
constexpr int kThreads = 256;

template <int Operands>
struct Offsets {
  int64_t at[Operands];
};

// Element offsets of the operands for output element i (C order over s.shape).
template <int Operands>
__device__ __forceinline__ Offsets<Operands> offsets(const Strided& s, int64_t i) {
  Offsets<Operands> o{};
  for (int d = s.ndim - 1; d >= 0; --d) {
    const int64_t idx = i % s.shape[d];
    i /= s.shape[d];
    for (int k = 0; k < Operands; ++k) o.at[k] += idx * s.strides[k][d];
  }
  return o;
}

template <typename T>
__device__ __forceinline__ T apply_unary(UnaryOp op, T x, T low, T high) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return exp(x);
    case UnaryOp::log: return log(x);
    case UnaryOp::log1p: return log1p(x);
    case UnaryOp::sqrt: return sqrt(x);
    case UnaryOp::abs: return fabs(x);  // +0 for -0, as the CPU (x < 0 ? -x : x kept -0)
    case UnaryOp::sign: return x != x ? x : T((x > T(0)) - (x < T(0)));
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::sigmoid:  // stable for large |x|
      if (x >= T(0)) return T(1) / (T(1) + exp(-x));
      return exp(x) / (T(1) + exp(x));
    case UnaryOp::tanh: return tanh(x);
    case UnaryOp::clamp: return x != x ? x : (x < low ? low : (x > high ? high : x));
    case UnaryOp::sin: return sin(x);
    case UnaryOp::cos: return cos(x);
    case UnaryOp::tan: return tan(x);
    case UnaryOp::asin: return asin(x);
    case UnaryOp::acos: return acos(x);
    case UnaryOp::atan: return atan(x);
    case UnaryOp::sinh: return sinh(x);
    case UnaryOp::cosh: return cosh(x);
    case UnaryOp::expm1: return expm1(x);
    case UnaryOp::log2: return log2(x);
    case UnaryOp::log10: return log10(x);
    case UnaryOp::erf: return erf(x);
  }
  return x;
}

template <>
__device__ __forceinline__ int64_t apply_unary<int64_t>(UnaryOp op, int64_t x, int64_t, int64_t) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::abs: return x < 0 ? -x : x;
    case UnaryOp::sign: return (x > 0) - (x < 0);
    default: return x;  // the binding admits no other op for int64
  }
}

template <typename T>
__device__ __forceinline__ T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div:
      if constexpr (std::is_integral_v<T>) return b == 0 ? T(0) : a / b;  // never trap
      else return a / b;
    case BinaryOp::pow:
      if constexpr (std::is_integral_v<T>) return static_cast<T>(pow(double(a), double(b)));
      else return pow(a, b);
    case BinaryOp::maximum: return a != a ? a : (b != b ? b : (a > b ? a : b));  // nan propagates, as numpy
    case BinaryOp::minimum: return a != a ? a : (b != b ? b : (a < b ? a : b));
    case BinaryOp::relu_backward: return b <= T(0) ? T(0) : a;  // NaN passes, as the CPU kernel
    case BinaryOp::sigmoid_backward: return a * b * (T(1) - b);
    case BinaryOp::tanh_backward: return a * (T(1) - b * b);
  }
  return a;
}

template <typename T>
__device__ __forceinline__ bool apply_compare(CompareOp op, T a, T b) {
  switch (op) {
    case CompareOp::eq: return a == b;
    case CompareOp::ne: return a != b;
    case CompareOp::lt: return a < b;
    case CompareOp::le: return a <= b;
    case CompareOp::gt: return a > b;
    case CompareOp::ge: return a >= b;
  }
  return false;
}

template <typename T>
__global__ void fill_kernel(T* __restrict__ out, T value, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = value;
}

template <typename In, typename Out>
__global__ void strided_copy_kernel(const In* __restrict__ x, Out* __restrict__ out, Strided s, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = static_cast<Out>(x[offsets<1>(s, i).at[0]]);
}

template <typename T>
__global__ void unary_kernel(UnaryOp op, const T* __restrict__ x, T* __restrict__ out, int64_t n, T low, T high) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = apply_unary(op, x[i], low, high);
}

template <typename T>
__global__ void binary_kernel(BinaryOp op, const T* a, const T* __restrict__ b, T* out,  // out may be a
                              Strided s, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const auto o = offsets<2>(s, i);
    out[i] = apply_binary(op, a[o.at[0]], b[o.at[1]]);
  }
}

template <typename T>
__global__ void compare_kernel(CompareOp op, const T* __restrict__ a, const T* __restrict__ b, bool* __restrict__ out,
                               Strided s, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const auto o = offsets<2>(s, i);
    out[i] = apply_compare(op, a[o.at[0]], b[o.at[1]]);
  }
}

template <typename T>
__global__ void where_kernel(const bool* __restrict__ cond, const T* __restrict__ a, const T* __restrict__ b,
                             T* __restrict__ out, Strided s, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const auto o = offsets<3>(s, i);
    out[i] = cond[o.at[0]] ? a[o.at[1]] : b[o.at[2]];
  }
}

// Element e = (row, j) of the (N, H) state: the four gates of unit j lie H apart
// in the row's 4H.
template <typename T>
__global__ void hardtanh_backward_kernel(const T* __restrict__ dy, const T* __restrict__ x, T* __restrict__ dx, T low,
                                         T high, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) dx[i] = x[i] > low && x[i] < high ? dy[i] : T(0);
}

template <typename T>
__global__ void add_scaled_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, T alpha,
                                  int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = fma(alpha, b[i], a[i]);
}

template <typename T>
__global__ void leaky_relu_kernel(const T* __restrict__ x, T* __restrict__ y, T slope, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] = x[i] > T(0) ? x[i] : x[i] * slope;
}

template <typename T>
__global__ void leaky_relu_backward_kernel(const T* __restrict__ dy, const T* __restrict__ x, T* __restrict__ dx,
                                           T slope, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) dx[i] = x[i] > T(0) ? dy[i] : dy[i] * slope;
}

template <typename T>
__global__ void gelu_kernel(const T* __restrict__ x, T* __restrict__ y, bool tanh_form, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] = gelu::value(x[i], tanh_form);
}

template <typename T>
__global__ void gelu_backward_kernel(const T* __restrict__ dy, const T* __restrict__ x, T* __restrict__ dx,
                                     bool tanh_form, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) dx[i] = dy[i] * gelu::derivative(x[i], tanh_form);
}

template <typename T>
__global__ void lstm_cell_kernel(const T* __restrict__ gates, const T* __restrict__ c, T* __restrict__ acts,
                                 T* __restrict__ c_next, T* __restrict__ tanh_c, T* __restrict__ h, int64_t H,
                                 int64_t n) {
  for (int64_t e = global_thread(); e < n; e += grid_threads()) {
    const int64_t at = e / H * 4 * H + e % H;
    const T i = apply_unary(UnaryOp::sigmoid, gates[at], T(0), T(0));
    const T f = apply_unary(UnaryOp::sigmoid, gates[at + H], T(0), T(0));
    const T g = tanh(gates[at + 2 * H]);
    const T o = apply_unary(UnaryOp::sigmoid, gates[at + 3 * H], T(0), T(0));
    acts[at] = i;
    acts[at + H] = f;
    acts[at + 2 * H] = g;
    acts[at + 3 * H] = o;
    const T next = f * c[e] + i * g, t = tanh(next);
    c_next[e] = next;
    tanh_c[e] = t;
    h[e] = o * t;
  }
}

template <typename T>
__global__ void lstm_cell_backward_kernel(const T* __restrict__ dh, const T* __restrict__ dc_next,
                                          const T* __restrict__ acts, const T* __restrict__ c,
                                          const T* __restrict__ tanh_c, T* __restrict__ dgates, T* __restrict__ dc,
                                          int64_t H, int64_t n) {
  for (int64_t e = global_thread(); e < n; e += grid_threads()) {
    const int64_t at = e / H * 4 * H + e % H;
    const T i = acts[at], f = acts[at + H], g = acts[at + 2 * H], o = acts[at + 3 * H], t = tanh_c[e];
    const T dct = dc_next[e] + dh[e] * o * (T(1) - t * t);  // c_next's whole gradient
    dgates[at] = dct * g * i * (T(1) - i);
    dgates[at + H] = dct * c[e] * f * (T(1) - f);
    dgates[at + 2 * H] = dct * i * (T(1) - g * g);
    dgates[at + 3 * H] = dh[e] * t * o * (T(1) - o);
    dc[e] = dct * f;
  }
}

// Element e = (row, j) of the (N, H) state: gate k of unit j at (row, k * H + j).
template <typename T>
__global__ void gru_cell_kernel(const T* __restrict__ x_proj, const T* __restrict__ h_proj, const T* __restrict__ h,
                                T* __restrict__ acts, T* __restrict__ h_next, int64_t H, int64_t n) {
  for (int64_t e = global_thread(); e < n; e += grid_threads()) {
    const int64_t at = e / H * 3 * H + e % H;
    const T r = apply_unary(UnaryOp::sigmoid, x_proj[at] + h_proj[at], T(0), T(0));
    const T z = apply_unary(UnaryOp::sigmoid, x_proj[at + H] + h_proj[at + H], T(0), T(0));
    const T new_gate = tanh(x_proj[at + 2 * H] + r * h_proj[at + 2 * H]);
    acts[at] = r;
    acts[at + H] = z;
    acts[at + 2 * H] = new_gate;
    h_next[e] = new_gate + z * (h[e] - new_gate);
  }
}

template <typename T>
__global__ void gru_cell_backward_kernel(const T* __restrict__ dh, const T* __restrict__ acts,
                                         const T* __restrict__ h_proj, const T* __restrict__ h,
                                         T* __restrict__ dx_proj, T* __restrict__ dh_proj, T* __restrict__ dh_direct,
                                         int64_t H, int64_t n) {
  for (int64_t e = global_thread(); e < n; e += grid_threads()) {
    const int64_t at = e / H * 3 * H + e % H;
    const T r = acts[at], z = acts[at + H], new_gate = acts[at + 2 * H], g = dh[e];
    const T d_new = (g - g * z) * (T(1) - new_gate * new_gate);  // through tanh
    const T d_r = d_new * h_proj[at + 2 * H] * r * (T(1) - r);
    const T d_z = g * (h[e] - new_gate) * z * (T(1) - z);
    dx_proj[at] = dh_proj[at] = d_r;
    dx_proj[at + H] = dh_proj[at + H] = d_z;
    dx_proj[at + 2 * H] = d_new;
    dh_proj[at + 2 * H] = d_new * r;
    dh_direct[e] = g * z;
  }
}

// Sets *flag to 1 when some element is inf or nan (flag starts at 0).
template <typename T>
__global__ void nonfinite_kernel(const T* __restrict__ x, int64_t n, float* flag) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    if (!(x[i] - x[i] == T(0))) atomicExch(flag, 1.0f);  // inf - inf and nan - nan are nan
}
}  // namespace

Strided make_strided(int ndim, const int64_t* shape, int operands, const int64_t* const* strides) {
  Strided s;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;  // a length-1 axis moves no operand
    const int last = s.ndim - 1;
    bool merge = last >= 0;
    for (int k = 0; k < operands && merge; ++k) merge = s.strides[k][last] == strides[k][d] * shape[d];
    if (merge) {
      s.shape[last] *= shape[d];
      for (int k = 0; k < operands; ++k) s.strides[k][last] = strides[k][d];
      continue;
    }
    s.shape[s.ndim] = shape[d];
    for (int k = 0; k < operands; ++k) s.strides[k][s.ndim] = strides[k][d];
    ++s.ndim;
  }
  return s;
}

// One launch over n output elements (kernel takes n last); nothing for n == 0.
template <typename... Params, typename... Args>
void launch(const char* name, int64_t n, void (*kernel)(Params...), Args... args) {
  if (n == 0) return;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, kernel)(args..., n);
  check_launch(name);
}

template <typename T>
void fill(T* out, T value, int64_t n) {
  launch("fill kernel", n, fill_kernel<T>, out, value);
}
template <typename In, typename Out>
void strided_copy(const In* x, Out* out, const Strided& s, int64_t n) {
  launch("strided_copy kernel", n, strided_copy_kernel<In, Out>, x, out, s);
}
template <typename T>
void unary(UnaryOp op, const T* x, T* out, int64_t n, T low, T high) {
  if (n == 0) return;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, unary_kernel<T>)(op, x, out, n, low, high);
  check_launch("unary kernel");
}
template <typename T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const Strided& s, int64_t n) {
  launch("binary kernel", n, binary_kernel<T>, op, a, b, out, s);
}
template <typename T>
void compare(CompareOp op, const T* a, const T* b, bool* out, const Strided& s, int64_t n) {
  launch("compare kernel", n, compare_kernel<T>, op, a, b, out, s);
}
template <typename T>
void where(const bool* cond, const T* a, const T* b, T* out, const Strided& s, int64_t n) {
  launch("where kernel", n, where_kernel<T>, cond, a, b, out, s);
}

template <typename T>
void hardtanh_backward(const T* dy, const T* x, T* dx, int64_t n, T low, T high) {
  launch("hardtanh_backward kernel", n, hardtanh_backward_kernel<T>, dy, x, dx, low, high);
}
template <typename T>
void add_scaled(const T* a, const T* b, T alpha, T* out, int64_t n) {
  launch("add_scaled kernel", n, add_scaled_kernel<T>, a, b, out, alpha);
}
template <typename T>
void leaky_relu_forward(const T* x, T* y, int64_t n, T slope) {
  launch("leaky_relu kernel", n, leaky_relu_kernel<T>, x, y, slope);
}
template <typename T>
void leaky_relu_backward(const T* dy, const T* x, T* dx, int64_t n, T slope) {
  launch("leaky_relu_backward kernel", n, leaky_relu_backward_kernel<T>, dy, x, dx, slope);
}
template <typename T>
void gelu_forward(const T* x, T* y, int64_t n, bool tanh_form) {
  launch("gelu kernel", n, gelu_kernel<T>, x, y, tanh_form);
}
template <typename T>
void gelu_backward(const T* dy, const T* x, T* dx, int64_t n, bool tanh_form) {
  launch("gelu_backward kernel", n, gelu_backward_kernel<T>, dy, x, dx, tanh_form);
}
template <typename T>
void lstm_cell_forward(const T* gates, const T* c, T* acts, T* c_next, T* tanh_c, T* h, int64_t N, int64_t H) {
  launch("lstm_cell kernel", N * H, lstm_cell_kernel<T>, gates, c, acts, c_next, tanh_c, h, H);
}
template <typename T>
void lstm_cell_backward(const T* dh, const T* dc_next, const T* acts, const T* c, const T* tanh_c, T* dgates,
                        T* dc, int64_t N, int64_t H) {
  launch("lstm_cell_backward kernel", N * H, lstm_cell_backward_kernel<T>, dh, dc_next, acts, c, tanh_c, dgates, dc, H);
}

template <typename T>
void gru_cell_forward(const T* x_proj, const T* h_proj, const T* h, T* acts, T* h_next, int64_t N, int64_t H) {
  launch("gru_cell kernel", N * H, gru_cell_kernel<T>, x_proj, h_proj, h, acts, h_next, H);
}
template <typename T>
void gru_cell_backward(const T* dh, const T* acts, const T* h_proj, const T* h, T* dx_proj, T* dh_proj,
                       T* dh_direct, int64_t N, int64_t H) {
  launch("gru_cell_backward kernel", N * H, gru_cell_backward_kernel<T>, dh, acts, h_proj, h, dx_proj, dh_proj,
         dh_direct, H);
}

template <typename T>
bool all_finite(const T* x, int64_t n) {
  if (n == 0) return true;
  DeviceArray flag = scratch<float>(1);
  flag.zero();
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, nonfinite_kernel<T>)(x, n, static_cast<float*>(flag.data()));
  check_launch("all_finite kernel");
  float host = 0;
  flag.copy_to_host(&host);
  return host == 0;
}

#define MG_COPY(In)                                                                    \
  template void strided_copy<In, float>(const In*, float*, const Strided&, int64_t);   \
  template void strided_copy<In, double>(const In*, double*, const Strided&, int64_t); \
  template void strided_copy<In, int64_t>(const In*, int64_t*, const Strided&, int64_t); \
  template void strided_copy<In, bool>(const In*, bool*, const Strided&, int64_t);
MG_COPY(float)
MG_COPY(double)
MG_COPY(int64_t)
MG_COPY(bool)
#undef MG_COPY

#define MG_ANY(T)                                                                              \
  template void fill<T>(T*, T, int64_t);                                                       \
  template void compare<T>(CompareOp, const T*, const T*, bool*, const Strided&, int64_t);     \
  template void where<T>(const bool*, const T*, const T*, T*, const Strided&, int64_t);
MG_ANY(float)
MG_ANY(double)
MG_ANY(int64_t)
MG_ANY(bool)
#undef MG_ANY

#define MG_NUMERIC(T)                                                                           \
  template void unary<T>(UnaryOp, const T*, T*, int64_t, T, T);                                 \
  template void binary<T>(BinaryOp, const T*, const T*, T*, const Strided&, int64_t);
MG_NUMERIC(float)
MG_NUMERIC(double)
MG_NUMERIC(int64_t)
#undef MG_NUMERIC

#define MG_FLOAT(T)                                                                                       \
  template void hardtanh_backward<T>(const T*, const T*, T*, int64_t, T, T);                              \
  template void gelu_forward<T>(const T*, T*, int64_t, bool);                                             \
  template void add_scaled<T>(const T*, const T*, T, T*, int64_t);                                        \
  template void leaky_relu_forward<T>(const T*, T*, int64_t, T);                                          \
  template void leaky_relu_backward<T>(const T*, const T*, T*, int64_t, T);                               \
  template void gelu_backward<T>(const T*, const T*, T*, int64_t, bool);                                  \
  template void lstm_cell_forward<T>(const T*, const T*, T*, T*, T*, T*, int64_t, int64_t);               \
  template void lstm_cell_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, int64_t, \
                                      int64_t);                                                           \
  template void gru_cell_forward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t);                \
  template void gru_cell_backward<T>(const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t);
MG_FLOAT(float)
MG_FLOAT(double)
#undef MG_FLOAT

template bool all_finite<float>(const float*, int64_t);
template bool all_finite<double>(const double*, int64_t);
}  // namespace minigrad::cuda
