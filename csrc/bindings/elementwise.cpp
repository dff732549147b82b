// Python bindings of the elementwise family. For both devices, each checked
// once over an ArrayView: the activations relu, sigmoid, tanh, hardtanh,
// leaky_relu and GELU and their backward (_C: csrc/cpu/elementwise.h; _C.cuda:
// the kernels of cuda/elementwise.h). CPU only: bias_add and bias_grad (the
// CUDA backend composes them from add and sum), and erf, log1p and expm1
// (CUDA's are among its unary ops).
// CUDA only: numpy's array operations for DeviceArrays, which numpy itself
// gives the CPU backend: broadcasting binary ops, unary ops, comparisons,
// where, dtype casts, data movement (reshape as a view, permute/broadcast_to as
// strided copies) and reductions over axes, with numpy's names and semantics;
// each returns a new C-contiguous DeviceArray but reshape (a view sharing the
// buffer).
#include <cstdint>
#include <string>
#include <type_traits>

#include "../../cuda/elementwise.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/elementwise.h"
#ifdef MINIGRAD_WITH_CUDA
#include <pybind11/stl.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../../cuda/reduce.h"
#endif

namespace minigrad::bindings {
namespace {

enum class Activation { relu, sigmoid, tanh, erf, log1p, expm1 };  // the last three: forward only, bound for the CPU

// The CPU has a kernel per activation; CUDA runs its generic unary kernel
// (forward) and binary kernel (backward, on dy and y) with the activation's op.
template <Device D, typename T>
void forward_kernel(Activation a, const T* x, T* y, int64_t n) {
  if constexpr (D == Device::cuda) {
    const cuda::UnaryOp op = a == Activation::relu      ? cuda::UnaryOp::relu
                             : a == Activation::sigmoid ? cuda::UnaryOp::sigmoid
                             : a == Activation::tanh    ? cuda::UnaryOp::tanh
                             : a == Activation::erf     ? cuda::UnaryOp::erf
                             : a == Activation::log1p   ? cuda::UnaryOp::log1p
                                                        : cuda::UnaryOp::expm1;
    cuda::unary(op, x, y, n);
  } else if (a == Activation::relu) {
    cpu::relu_forward(x, y, n);
  } else if (a == Activation::sigmoid) {
    cpu::sigmoid_forward(x, y, n);
  } else if (a == Activation::tanh) {
    cpu::tanh_forward(x, y, n);
  } else if (a == Activation::erf) {
    cpu::erf_forward(x, y, n);
  } else if (a == Activation::log1p) {
    cpu::log1p_forward(x, y, n);
  } else {
    cpu::expm1_forward(x, y, n);
  }
}

template <Device D, typename T>
void backward_kernel(Activation a, const T* dy, const T* y, T* dx, int64_t n) {
  if constexpr (D == Device::cuda) {
    const cuda::BinaryOp op = a == Activation::relu      ? cuda::BinaryOp::relu_backward
                              : a == Activation::sigmoid ? cuda::BinaryOp::sigmoid_backward
                                                         : cuda::BinaryOp::tanh_backward;
    const int64_t contiguous[] = {1};
    const int64_t* strides[] = {contiguous, contiguous};
    cuda::binary(op, dy, y, dx, cuda::make_strided(1, &n, 2, strides), n);
  } else if (a == Activation::relu) {
    cpu::relu_backward(dy, y, dx, n);
  } else if (a == Activation::sigmoid) {
    cpu::sigmoid_backward(dy, y, dx, n);
  } else {
    cpu::tanh_backward(dy, y, dx, n);
  }
}

// y = kernel(x) over a float array x: kernel(x, y, n) with typed pointers,
// outside the GIL. Every forward binding of this family is one.
template <Device D, typename Kernel>
py::object forward_map(const char* op, const py::handle& x_obj, const Kernel& kernel) {
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const ArrayView y = empty_array<D>(x.shape, x.dtype);
  dispatch(float_dtype(x), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    kernel(cptr<T>(x), ptr<T>(y), x.size());
  });
  return y.object;
}

// dx = kernel(dy, saved, dx, n): the gradient from dy and the array the
// forward saved (its output y or its input x, `saved_name`), of dy's dtype and shape.
template <Device D, typename Kernel>
py::object backward_map(const char* op, const py::handle& dy_obj, const py::handle& saved_obj, const char* saved_name,
                        const Kernel& kernel) {
  const ArrayView dy = float_arg<D>(dy_obj, op, "dy");
  const ArrayView saved = float_like<D>(saved_obj, dy, op, saved_name, "dy");
  const ArrayView dx = empty_array<D>(dy.shape, dy.dtype);
  dispatch(float_dtype(dy), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    kernel(cptr<T>(dy), cptr<T>(saved), ptr<T>(dx), dy.size());
  });
  return dx.object;
}

// The scalar type T of a kernel lambda's output pointer T*.
template <typename Pointer>
using Element = std::remove_pointer_t<Pointer>;

template <Device D>
py::object activation_forward(Activation a, const char* op, const py::handle& x_obj) {
  return forward_map<D>(op, x_obj, [a](const auto* x, auto* y, int64_t n) {
    forward_kernel<D, Element<decltype(y)>>(a, x, y, n);
  });
}

// dx from dy and the forward output y.
template <Device D>
py::object activation_backward(Activation a, const char* op, const py::handle& dy_obj, const py::handle& y_obj) {
  return backward_map<D>(op, dy_obj, y_obj, "y", [a](const auto* dy, const auto* y, auto* dx, int64_t n) {
    backward_kernel<D, Element<decltype(dx)>>(a, dy, y, dx, n);
  });
}

// hardtanh (relu6, clamp's gradient rule but strict): the CPU kernels, or on
// CUDA unary's clamp and hardtanh_backward. low/high in x's dtype.
template <Device D>
py::object hardtanh_forward(const py::handle& x_obj, double low, double high) {
  return forward_map<D>("hardtanh", x_obj, [=](const auto* x, auto* y, int64_t n) {
    using T = Element<decltype(y)>;
    if constexpr (D == Device::cpu)
      cpu::hardtanh_forward(x, y, n, T(low), T(high));
    else
      cuda::unary(cuda::UnaryOp::clamp, x, y, n, T(low), T(high));
  });
}

template <Device D>
py::object hardtanh_backward(const py::handle& dy_obj, const py::handle& x_obj, double low, double high) {
  return backward_map<D>("hardtanh_backward", dy_obj, x_obj, "x",
                         [=](const auto* dy, const auto* x, auto* dx, int64_t n) {
                           using T = Element<decltype(dx)>;
                           if constexpr (D == Device::cpu)
                             cpu::hardtanh_backward(dy, x, dx, n, T(low), T(high));
                           else
                             cuda::hardtanh_backward(dy, x, dx, n, T(low), T(high));
                         });
}

// leaky_relu: the kernels of both devices, the slope in x's dtype.
template <Device D>
py::object leaky_relu_forward(const py::handle& x_obj, double negative_slope) {
  return forward_map<D>("leaky_relu", x_obj, [=](const auto* x, auto* y, int64_t n) {
    using T = Element<decltype(y)>;
    if constexpr (D == Device::cpu)
      cpu::leaky_relu_forward(x, y, n, T(negative_slope));
    else
      cuda::leaky_relu_forward(x, y, n, T(negative_slope));
  });
}

template <Device D>
py::object leaky_relu_backward(const py::handle& dy_obj, const py::handle& x_obj, double negative_slope) {
  return backward_map<D>("leaky_relu_backward", dy_obj, x_obj, "x",
                         [=](const auto* dy, const auto* x, auto* dx, int64_t n) {
                           using T = Element<decltype(dx)>;
                           if constexpr (D == Device::cpu)
                             cpu::leaky_relu_backward(dy, x, dx, n, T(negative_slope));
                           else
                             cuda::leaky_relu_backward(dy, x, dx, n, T(negative_slope));
                         });
}

// GELU: approximate "none" (through erf) or "tanh", as PyTorch's argument.
bool gelu_tanh_form(const std::string& approximate, const char* op) {
  if (approximate != "none" && approximate != "tanh")
    value_error(op, ": approximate must be 'none' or 'tanh', got '", approximate, "'");
  return approximate == "tanh";
}

template <Device D>
py::object gelu_forward(const py::handle& x_obj, const std::string& approximate) {
  const bool tanh_form = gelu_tanh_form(approximate, "gelu");
  return forward_map<D>("gelu", x_obj, [=](const auto* x, auto* y, int64_t n) {
    if constexpr (D == Device::cpu)
      cpu::gelu_forward(x, y, n, tanh_form);
    else
      cuda::gelu_forward(x, y, n, tanh_form);
  });
}

// dx from dy and the forward input x.
template <Device D>
py::object gelu_backward(const py::handle& dy_obj, const py::handle& x_obj, const std::string& approximate) {
  const bool tanh_form = gelu_tanh_form(approximate, "gelu_backward");
  return backward_map<D>("gelu_backward", dy_obj, x_obj, "x",
                         [=](const auto* dy, const auto* x, auto* dx, int64_t n) {
                           if constexpr (D == Device::cpu)
                             cpu::gelu_backward(dy, x, dx, n, tanh_form);
                           else
                             cuda::gelu_backward(dy, x, dx, n, tanh_form);
                         });
}

// a + alpha * b of two arrays of one float dtype and shape, rounded once.
template <Device D>
py::object add_scaled(const py::handle& a_obj, const py::handle& b_obj, double alpha) {
  const char* op = "add_scaled";
  const ArrayView a = float_arg<D>(a_obj, op, "a");
  const ArrayView b = float_like<D>(b_obj, a, op, "b", "a");
  const ArrayView out = empty_array<D>(a.shape, a.dtype);
  dispatch(float_dtype(a), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::add_scaled(cptr<T>(a), cptr<T>(b), static_cast<T>(alpha), ptr<T>(out), a.size());
    else
      cuda::add_scaled(cptr<T>(a), cptr<T>(b), static_cast<T>(alpha), ptr<T>(out), a.size());
  });
  return out.object;
}

// The activation entries, the same on both devices.
template <Device D>
void def_activations(py::module_& m) {
  m.def("add_scaled", &add_scaled<D>, py::arg("a"), py::arg("b"), py::arg("alpha"),
        "a + alpha * b rounded once (a fused multiply-add), a and b of one float dtype and shape: PyTorch's "
        "add and sub with alpha.");
  m.def("hardtanh", &hardtanh_forward<D>, py::arg("x"), py::arg("low"), py::arg("high"),
        "x clamped to [low, high] (NaN stays NaN): hardtanh, relu6.");
  m.def("hardtanh_backward", &hardtanh_backward<D>, py::arg("dy"), py::arg("x"), py::arg("low"), py::arg("high"),
        "dy where low < x < high (x the forward input), else 0.");
  m.def("leaky_relu", &leaky_relu_forward<D>, py::arg("x"), py::arg("negative_slope"),
        "x where x > 0, else negative_slope * x (NaN stays NaN).");
  m.def("leaky_relu_backward", &leaky_relu_backward<D>, py::arg("dy"), py::arg("x"), py::arg("negative_slope"),
        "dy where x > 0 (x the forward input), else negative_slope * dy.");
  m.def("gelu", &gelu_forward<D>, py::arg("x"), py::arg("approximate") = "none",
        "x Phi(x), Phi the normal CDF (approximate='tanh': PyTorch's tanh form).");
  m.def("gelu_backward", &gelu_backward<D>, py::arg("dy"), py::arg("x"), py::arg("approximate") = "none",
        "dy * GELU'(x), x the forward input.");
  const struct {
    Activation activation;
    const char *name, *backward_name, *doc, *backward_doc;
  } activations[] = {
      {Activation::relu, "relu", "relu_backward", "max(x, 0) (NaN stays NaN).", "dy where the output y > 0, else 0."},
      {Activation::sigmoid, "sigmoid", "sigmoid_backward", "1 / (1 + exp(-x)), without overflow for large |x|.",
       "dy * y * (1 - y) from the output y."},
      {Activation::tanh, "tanh", "tanh_backward", "tanh(x).", "dy * (1 - y^2) from the output y."}};
  for (const auto& a : activations) {
    m.def(
        a.name, [a = a.activation, op = a.name](const py::handle& x) { return activation_forward<D>(a, op, x); },
        py::arg("x"), a.doc);
    m.def(
        a.backward_name,
        [a = a.activation, op = a.backward_name](const py::handle& dy, const py::handle& y) {
          return activation_backward<D>(a, op, dy, y);
        },
        py::arg("dy"), py::arg("y"), a.backward_doc);
  }
}

// The recurrent cells' arrays: (N, gates * H) pre-activations or activations
// (lstm_cell's 4 gates, gru_cell's 3) and (N, H) states.
struct CellShape {
  int64_t N, H;
};

// From an (N, gates * H) array named `name`.
CellShape cell_shape(const ArrayView& a, int64_t gates, const char* op, const char* name) {
  require_rank(a, 2, op, name);
  if (a.shape[1] % gates != 0)
    value_error(op, ": ", name, " must be (N, ", gates, " * hidden_size), got shape ", shape_str(a.shape));
  return {a.shape[0], a.shape[1] / gates};
}

// An (N, H) state array with the gates' dtype.
template <Device D>
ArrayView cell_state(const py::handle& obj, const ArrayView& gates, const char* gates_name, CellShape s,
                     const char* op, const char* name) {
  const ArrayView a = float_arg<D>(obj, op, name);
  require_same_dtype(a, gates, op, name, gates_name);
  require_shape(a, {s.N, s.H}, op, name);
  return a;
}

// lstm_cell: gates (N, 4H) and c (N, H) -> (h, c_next, acts, tanh_c); the
// backward takes dh, dc_next and those acts, c, tanh_c -> (dgates, dc).
template <Device D>
py::tuple lstm_cell(const py::handle& gates_obj, const py::handle& c_obj) {
  const char* op = "lstm_cell";
  const ArrayView gates = float_arg<D>(gates_obj, op, "gates");
  const CellShape s = cell_shape(gates, 4, op, "gates");
  const ArrayView c = cell_state<D>(c_obj, gates, "gates", s, op, "c");
  const ArrayView acts = empty_array<D>(gates.shape, gates.dtype);
  const ArrayView h = empty_array<D>(c.shape, c.dtype), c_next = empty_array<D>(c.shape, c.dtype),
                  tanh_c = empty_array<D>(c.shape, c.dtype);
  dispatch(float_dtype(gates), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cuda)
      cuda::lstm_cell_forward(cptr<T>(gates), cptr<T>(c), ptr<T>(acts), ptr<T>(c_next), ptr<T>(tanh_c), ptr<T>(h),
                              s.N, s.H);
    else
      cpu::lstm_cell_forward(cptr<T>(gates), cptr<T>(c), ptr<T>(acts), ptr<T>(c_next), ptr<T>(tanh_c), ptr<T>(h),
                             s.N, s.H);
  });
  return py::make_tuple(h.object, c_next.object, acts.object, tanh_c.object);
}

template <Device D>
py::tuple lstm_cell_backward(const py::handle& dh_obj, const py::handle& dc_next_obj, const py::handle& acts_obj,
                             const py::handle& c_obj, const py::handle& tanh_c_obj) {
  const char* op = "lstm_cell_backward";
  const ArrayView acts = float_arg<D>(acts_obj, op, "acts");
  const CellShape s = cell_shape(acts, 4, op, "acts");
  const ArrayView dh = cell_state<D>(dh_obj, acts, "acts", s, op, "dh");
  const ArrayView dc_next = cell_state<D>(dc_next_obj, acts, "acts", s, op, "dc_next");
  const ArrayView c = cell_state<D>(c_obj, acts, "acts", s, op, "c");
  const ArrayView tanh_c = cell_state<D>(tanh_c_obj, acts, "acts", s, op, "tanh_c");
  const ArrayView dgates = empty_array<D>(acts.shape, acts.dtype), dc = empty_array<D>(c.shape, c.dtype);
  dispatch(float_dtype(acts), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cuda)
      cuda::lstm_cell_backward(cptr<T>(dh), cptr<T>(dc_next), cptr<T>(acts), cptr<T>(c), cptr<T>(tanh_c),
                               ptr<T>(dgates), ptr<T>(dc), s.N, s.H);
    else
      cpu::lstm_cell_backward(cptr<T>(dh), cptr<T>(dc_next), cptr<T>(acts), cptr<T>(c), cptr<T>(tanh_c),
                              ptr<T>(dgates), ptr<T>(dc), s.N, s.H);
  });
  return py::make_tuple(dgates.object, dc.object);
}

// gru_cell: x_proj, h_proj (N, 3H) and h (N, H) -> (h_next, acts); the backward
// takes dh and those acts, h_proj, h -> (dx_proj, dh_proj, dh_direct).
template <Device D>
py::tuple gru_cell(const py::handle& x_proj_obj, const py::handle& h_proj_obj, const py::handle& h_obj) {
  const char* op = "gru_cell";
  const ArrayView x_proj = float_arg<D>(x_proj_obj, op, "x_proj");
  const CellShape s = cell_shape(x_proj, 3, op, "x_proj");
  const ArrayView h_proj = float_like<D>(h_proj_obj, x_proj, op, "h_proj", "x_proj");
  const ArrayView h = cell_state<D>(h_obj, x_proj, "x_proj", s, op, "h");
  const ArrayView acts = empty_array<D>(x_proj.shape, x_proj.dtype), h_next = empty_array<D>(h.shape, h.dtype);
  dispatch(float_dtype(x_proj), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cuda)
      cuda::gru_cell_forward(cptr<T>(x_proj), cptr<T>(h_proj), cptr<T>(h), ptr<T>(acts), ptr<T>(h_next), s.N, s.H);
    else
      cpu::gru_cell_forward(cptr<T>(x_proj), cptr<T>(h_proj), cptr<T>(h), ptr<T>(acts), ptr<T>(h_next), s.N, s.H);
  });
  return py::make_tuple(h_next.object, acts.object);
}

template <Device D>
py::tuple gru_cell_backward(const py::handle& dh_obj, const py::handle& acts_obj, const py::handle& h_proj_obj,
                            const py::handle& h_obj) {
  const char* op = "gru_cell_backward";
  const ArrayView acts = float_arg<D>(acts_obj, op, "acts");
  const CellShape s = cell_shape(acts, 3, op, "acts");
  const ArrayView h_proj = float_like<D>(h_proj_obj, acts, op, "h_proj", "acts");
  const ArrayView dh = cell_state<D>(dh_obj, acts, "acts", s, op, "dh");
  const ArrayView h = cell_state<D>(h_obj, acts, "acts", s, op, "h");
  const ArrayView dx_proj = empty_array<D>(acts.shape, acts.dtype), dh_proj = empty_array<D>(acts.shape, acts.dtype),
                  dh_direct = empty_array<D>(h.shape, h.dtype);
  dispatch(float_dtype(acts), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cuda)
      cuda::gru_cell_backward(cptr<T>(dh), cptr<T>(acts), cptr<T>(h_proj), cptr<T>(h), ptr<T>(dx_proj),
                              ptr<T>(dh_proj), ptr<T>(dh_direct), s.N, s.H);
    else
      cpu::gru_cell_backward(cptr<T>(dh), cptr<T>(acts), cptr<T>(h_proj), cptr<T>(h), ptr<T>(dx_proj),
                             ptr<T>(dh_proj), ptr<T>(dh_direct), s.N, s.H);
  });
  return py::make_tuple(dx_proj.object, dh_proj.object, dh_direct.object);
}

template <Device D>
void def_lstm_cell(py::module_& m) {
  m.def("lstm_cell", &lstm_cell<D>, py::arg("gates"), py::arg("c"),
        "One LSTM step after its matmuls, PyTorch's gate order (i, f, g, o): gates (N, 4H) the\n"
        "pre-activations, c (N, H) -> (h, c_next, acts, tanh_c): acts (N, 4H) the gates after\n"
        "sigmoid / sigmoid / tanh / sigmoid, c_next = f c + i g, tanh_c = tanh(c_next), h = o tanh_c.");
  m.def("lstm_cell_backward", &lstm_cell_backward<D>, py::arg("dh"), py::arg("dc_next"), py::arg("acts"),
        py::arg("c"), py::arg("tanh_c"),
        "Gradients (dgates (N, 4H), dc (N, H)) of lstm_cell's pre-activations and c from those of h and\n"
        "c_next, given the forward's acts, c and tanh_c.");
  m.def("gru_cell", &gru_cell<D>, py::arg("x_proj"), py::arg("h_proj"), py::arg("h"),
        "One GRU step after its matmuls, PyTorch's gate order (r, z, n): x_proj = x W_ih^T + b_ih and\n"
        "h_proj = h W_hh^T + b_hh (N, 3H), h (N, H) -> (h_next, acts): acts (N, 3H) = r, z, n with\n"
        "r, z = sigmoid(x_proj + h_proj), n = tanh(x_n + r h_n); h_next = n + z (h - n).");
  m.def("gru_cell_backward", &gru_cell_backward<D>, py::arg("dh"), py::arg("acts"), py::arg("h_proj"), py::arg("h"),
        "From dh (N, H), the gradient of gru_cell's h_next, and its acts, h_proj and h: (dx_proj,\n"
        "dh_proj (N, 3H), dh_direct (N, H)), dh_direct = dh z the gradient of h other than through h_proj.");
}

// An (N, C, ...) array seen as (N, C, inner), inner = product of the trailing sizes.
struct ChannelView {
  int64_t N, C, inner;
};

// Needs at least 2 dimensions.
ChannelView channel_view(const ArrayView& a, const char* op, const char* name) {
  if (a.ndim() < 2)
    value_error(op, ": ", name, " must have at least 2 dimensions (N, C, ...), got shape ", shape_str(a.shape));
  int64_t inner = 1;
  for (size_t d = 2; d < a.ndim(); ++d) inner *= a.shape[d];
  return {a.shape[0], a.shape[1], inner};
}

py::object bias_add(const py::handle& x_obj, const py::handle& bias_obj) {
  const char* op = "bias_add";
  const ArrayView x = float_arg<Device::cpu>(x_obj, op, "x");
  const ChannelView v = channel_view(x, op, "x");
  const ArrayView bias = array_arg<Device::cpu>(bias_obj, op, "bias");
  require_same_dtype(bias, x, op, "bias", "x");
  require_shape(bias, {v.C}, op, "bias");
  require_contiguous(bias, op, "bias");
  const ArrayView y = empty_array<Device::cpu>(x.shape, x.dtype);
  dispatch(float_dtype(x), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    cpu::bias_add(cptr<T>(x), cptr<T>(bias), ptr<T>(y), v.N, v.C, v.inner);
  });
  return y.object;
}

py::object bias_grad(const py::handle& dy_obj) {
  const char* op = "bias_grad";
  const ArrayView dy = float_arg<Device::cpu>(dy_obj, op, "dy");
  const ChannelView v = channel_view(dy, op, "dy");
  const ArrayView db = empty_array<Device::cpu>({v.C}, dy.dtype);
  dispatch(float_dtype(dy), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    cpu::bias_grad(cptr<T>(dy), ptr<T>(db), v.N, v.C, v.inner);
  });
  return db.object;
}

#ifdef MINIGRAD_WITH_CUDA
// numpy's array operations for DeviceArrays. Their own namespace: its helpers
// (ptr, require_same_dtype, unary, ...) take DeviceArrays and must not hide
// array_view.h's for the code above.
namespace array_ops {

using Shape = std::vector<int64_t>;

template <typename Fn>
decltype(auto) dispatch_any(mc::DType dt, Fn&& fn) {
  switch (dt) {
    case mc::DType::f32: return fn(float{});
    case mc::DType::f64: return fn(double{});
    case mc::DType::i64: return fn(int64_t{});
    case mc::DType::b8: break;
  }
  return fn(bool{});
}

template <typename Fn>
decltype(auto) dispatch_numeric(const DeviceArray& a, const char* op, Fn&& fn) {
  switch (a.dtype()) {
    case mc::DType::f32: return fn(float{});
    case mc::DType::f64: return fn(double{});
    case mc::DType::i64: return fn(int64_t{});
    case mc::DType::b8: break;
  }
  type_error(op, ": bool arrays are not supported; cast first");
}

template <typename T>
T* ptr(const DeviceArray& a) {
  return static_cast<T*>(a.data());
}

std::string dtype_str(mc::DType dt) { return std::string(py::str(numpy_dtype(dt))); }

void require_same_dtype(const DeviceArray& a, const DeviceArray& b, const char* op) {
  if (a.dtype() != b.dtype())
    type_error(op, ": dtypes differ (", dtype_str(a.dtype()), " and ", dtype_str(b.dtype()), "); cast first");
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) strides[d] = s, s *= shape[d];
  return strides;
}

// Strides of a (C-contiguous) read at the coordinates of out_shape: right-aligned, 0 where broadcast.
Shape broadcast_strides(const Shape& shape, const Shape& out_shape) {
  const Shape own = contiguous_strides(shape);
  Shape strides(out_shape.size(), 0);
  const size_t lead = out_shape.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) strides[lead + d] = shape[d] == 1 ? 0 : own[d];
  return strides;
}

Shape broadcast_shape(const std::vector<const Shape*>& shapes, const char* op) {
  size_t ndim = 0;
  for (auto* a : shapes) ndim = std::max(ndim, a->size());
  Shape out(ndim, 1);
  for (auto* a : shapes) {
    const size_t lead = ndim - a->size();
    for (size_t d = 0; d < a->size(); ++d) {
      const int64_t n = (*a)[d];
      if (n == out[lead + d] || n == 1) continue;
      if (out[lead + d] != 1) {
        std::string text;
        for (auto* b : shapes) text += (text.empty() ? "" : " and ") + shape_str(*b);
        value_error(op, ": shapes ", text, " cannot be broadcast together");
      }
      out[lead + d] = n;
    }
  }
  if (ndim > static_cast<size_t>(mc::kMaxDims)) value_error(op, ": at most ", mc::kMaxDims, " dimensions are supported");
  return out;
}

mc::Strided strided(const Shape& out_shape, const std::vector<Shape>& strides) {
  const int64_t* s[3] = {};
  for (size_t k = 0; k < strides.size(); ++k) s[k] = strides[k].data();
  return mc::make_strided(static_cast<int>(out_shape.size()), out_shape.data(), static_cast<int>(strides.size()), s);
}

template <typename Out>
void copy_into(const DeviceArray& x, DeviceArray& out, const mc::Strided& s) {
  dispatch_any(x.dtype(), [&](auto in) {
    using In = decltype(in);
    mc::strided_copy(ptr<In>(x), ptr<Out>(out), s, out.size());
  });
}

// x read through s (strides of x over out's shape) into a new array of dtype dt.
DeviceArray strided_copy(const DeviceArray& x, Shape out_shape, const Shape& x_strides, mc::DType dt) {
  DeviceArray out(std::move(out_shape), dt);
  const mc::Strided s = strided(out.shape(), {x_strides});
  py::gil_scoped_release release;
  dispatch_any(dt, [&](auto o) { copy_into<decltype(o)>(x, out, s); });
  return out;
}

DeviceArray binary(mc::BinaryOp op, const char* name, const py::handle& a_obj, const py::handle& b_obj) {
  const DeviceArray& a = as_device_array(a_obj, name, "a");
  const DeviceArray& b = as_device_array(b_obj, name, "b");
  require_same_dtype(a, b, name);
  const Shape shape = broadcast_shape({&a.shape(), &b.shape()}, name);
  DeviceArray out(shape, a.dtype());
  const mc::Strided s = strided(shape, {broadcast_strides(a.shape(), shape), broadcast_strides(b.shape(), shape)});
  py::gil_scoped_release release;
  dispatch_numeric(a, name, [&](auto t) {
    using T = decltype(t);
    mc::binary(op, ptr<T>(a), ptr<T>(b), ptr<T>(out), s, out.size());
  });
  return out;
}

DeviceArray unary(mc::UnaryOp op, const char* name, const py::handle& x_obj, double low = 0, double high = 0) {
  const bool int_ok = op == mc::UnaryOp::neg || op == mc::UnaryOp::abs || op == mc::UnaryOp::sign;
  const DeviceArray& x = int_ok ? as_device_array(x_obj, name, "x") : float_device_array(x_obj, name, "x");
  DeviceArray out(x.shape(), x.dtype());
  py::gil_scoped_release release;
  dispatch_numeric(x, name, [&](auto t) {
    using T = decltype(t);
    mc::unary(op, ptr<T>(x), ptr<T>(out), x.size(), static_cast<T>(low), static_cast<T>(high));
  });
  return out;
}

DeviceArray reduce(mc::ReduceOp op, const char* name, const py::handle& x_obj, const py::handle& axis, bool keepdims) {
  const DeviceArray& x0 = as_device_array(x_obj, name, "x");
  if (x0.dtype() == mc::DType::b8) type_error(name, ": bool arrays are not supported; cast first");
  const Shape& shape = x0.shape();
  const std::vector<int> axes = parse_axes(axis, shape.size(), name);
  const bool is_arg = op == mc::ReduceOp::argmax || op == mc::ReduceOp::argmin;
  if (is_arg && !axis.is_none() && axes.size() > 1) value_error(name, ": axis must be None or one int");
  std::vector<bool> reduced(shape.size(), false);
  for (int a : axes) reduced[a] = true;
  Shape out_shape, kept_axes;
  int64_t len = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) {
      len *= shape[d];
      if (keepdims) out_shape.push_back(1);
    } else {
      out_shape.push_back(shape[d]);
      kept_axes.push_back(static_cast<int64_t>(d));
    }
  }
  if (len == 0 && op != mc::ReduceOp::sum) value_error(name, ": reducing an empty axis of shape ", shape_str(shape));
  // (outer, len, inner): direct when the reduced axes are adjacent, else after moving them last.
  DeviceArray x = x0;
  int64_t outer = 1, inner = 1;
  const bool adjacent = axes.empty() || axes.back() - axes.front() + 1 == static_cast<int>(axes.size());
  if (adjacent) {  // includes axis=None: argmax/argmin then give the flat index, as numpy
    const int first = axes.empty() ? static_cast<int>(shape.size()) : axes.front();
    for (int d = 0; d < first; ++d) outer *= shape[d];
    for (size_t d = first + axes.size(); d < shape.size(); ++d) inner *= shape[d];
  } else {
    Shape order = kept_axes;
    for (int a : axes) order.push_back(a);
    const Shape own = contiguous_strides(shape);
    Shape permuted_shape, permuted_strides;
    for (int64_t d : order) permuted_shape.push_back(shape[d]), permuted_strides.push_back(own[d]);
    x = strided_copy(x0, permuted_shape, permuted_strides, x0.dtype());
    for (int64_t d : kept_axes) outer *= shape[d];
  }
  DeviceArray out(out_shape, is_arg ? mc::DType::i64 : x.dtype());
  py::gil_scoped_release release;
  dispatch_numeric(x, name, [&](auto t) {
    using T = decltype(t);
    mc::reduce(op, ptr<T>(x), is_arg ? nullptr : ptr<T>(out), is_arg ? ptr<int64_t>(out) : nullptr, outer, len, inner);
  });
  return out;
}

const std::map<std::string, mc::CompareOp> kCompareOps = {
    {"eq", mc::CompareOp::eq}, {"ne", mc::CompareOp::ne}, {"lt", mc::CompareOp::lt},
    {"le", mc::CompareOp::le}, {"gt", mc::CompareOp::gt}, {"ge", mc::CompareOp::ge}};

// The CUDA-only entries; DeviceArray methods go on the class c.DeviceArray.
void def_array_ops(py::module_& c) {
  // a += b in place (the autograd accumulates leaf gradients so); b broadcasts to a's shape.
  py::object cls = c.attr("DeviceArray");
  cls.attr("__iadd__") = py::cpp_function(
      [](py::object self, const py::handle& b_obj) {
        DeviceArray& a = self.cast<DeviceArray&>();
        const DeviceArray& b = as_device_array(b_obj, "__iadd__", "other");
        require_same_dtype(a, b, "__iadd__");
        if (broadcast_shape({&a.shape(), &b.shape()}, "__iadd__") != a.shape())
          value_error("__iadd__: shape ", shape_str(b.shape()), " does not broadcast to ", shape_str(a.shape()));
        const mc::Strided s = strided(a.shape(), {contiguous_strides(a.shape()), broadcast_strides(b.shape(), a.shape())});
        {
          py::gil_scoped_release release;
          dispatch_numeric(a, "__iadd__", [&](auto t) {
            using T = decltype(t);
            mc::binary(mc::BinaryOp::add, ptr<T>(a), ptr<T>(b), ptr<T>(a), s, a.size());  // same index in and out
          });
        }
        return self;
      },
      py::is_method(cls), py::arg("other"));
  // a.all() / a.any() as numpy (the functional layer validates inputs so): min/max of a != 0.
  for (const auto& [name, op] : {std::pair{"all", mc::ReduceOp::min}, std::pair{"any", mc::ReduceOp::max}})
    cls.attr(name) = py::cpp_function(
        [op = op](const DeviceArray& a) {
          if (a.size() == 0) return op == mc::ReduceOp::min;
          const DeviceArray truth = strided_copy(a, {a.size()}, {1}, mc::DType::b8);  // 0.5 is true
          const DeviceArray as_int = strided_copy(truth, {a.size()}, {1}, mc::DType::i64);
          const DeviceArray result({}, mc::DType::i64);
          int64_t host = 0;
          {
            py::gil_scoped_release release;
            mc::reduce(op, ptr<int64_t>(as_int), ptr<int64_t>(result), nullptr, 1, a.size(), 1);
            result.copy_to_host(&host);
          }
          return host != 0;
        },
        py::is_method(cls));
  // a + b (the autograd sums gradients of one tensor so), as _C.cuda.add.
  cls.attr("__add__") = py::cpp_function(
      [](const py::handle& a, const py::handle& b) { return binary(mc::BinaryOp::add, "add", a, b); },
      py::is_method(cls), py::arg("other"));

  const std::pair<const char*, mc::BinaryOp> binaries[] = {
      {"add", mc::BinaryOp::add},         {"sub", mc::BinaryOp::sub},         {"mul", mc::BinaryOp::mul},
      {"div", mc::BinaryOp::div},         {"pow", mc::BinaryOp::pow},         {"maximum", mc::BinaryOp::maximum},
      {"minimum", mc::BinaryOp::minimum}};
  for (const auto& [name, op] : binaries)
    c.def(
        name, [name = name, op = op](const py::handle& a, const py::handle& b) { return binary(op, name, a, b); },
        py::arg("a"), py::arg("b"), "Elementwise, numpy broadcasting; both operands of one dtype (not bool).");

  const std::pair<const char*, mc::UnaryOp> unaries[] = {
      {"neg", mc::UnaryOp::neg},     {"exp", mc::UnaryOp::exp},   {"log", mc::UnaryOp::log},
      {"log1p", mc::UnaryOp::log1p}, {"sqrt", mc::UnaryOp::sqrt}, {"abs", mc::UnaryOp::abs},
      {"sign", mc::UnaryOp::sign},   {"sin", mc::UnaryOp::sin},   {"cos", mc::UnaryOp::cos},
      {"tan", mc::UnaryOp::tan},     {"asin", mc::UnaryOp::asin}, {"acos", mc::UnaryOp::acos},
      {"atan", mc::UnaryOp::atan},   {"sinh", mc::UnaryOp::sinh}, {"cosh", mc::UnaryOp::cosh},
      {"expm1", mc::UnaryOp::expm1}, {"log2", mc::UnaryOp::log2}, {"log10", mc::UnaryOp::log10},
      {"erf", mc::UnaryOp::erf}};
  for (const auto& [name, op] : unaries)
    c.def(
        name, [name = name, op = op](const py::handle& x) { return unary(op, name, x); }, py::arg("x"),
        "Elementwise on a float array (neg, abs, sign also int64).");
  c.def(
      "clamp",
      [](const py::handle& x, std::optional<double> low, std::optional<double> high) {
        const double inf = std::numeric_limits<double>::infinity();
        return unary(mc::UnaryOp::clamp, "clamp", x, low.value_or(-inf), high.value_or(inf));
      },
      py::arg("x"), py::arg("low") = py::none(), py::arg("high") = py::none(), "min(max(x, low), high); nan stays.");

  c.def(
      "compare",
      [](const std::string& op, const py::handle& a_obj, const py::handle& b_obj) {
        const auto it = kCompareOps.find(op);
        if (it == kCompareOps.end()) value_error("compare: op must be eq, ne, lt, le, gt or ge, got '", op, "'");
        const DeviceArray& a = as_device_array(a_obj, "compare", "a");
        const DeviceArray& b = as_device_array(b_obj, "compare", "b");
        require_same_dtype(a, b, "compare");
        const Shape shape = broadcast_shape({&a.shape(), &b.shape()}, "compare");
        DeviceArray out(shape, mc::DType::b8);
        const mc::Strided s = strided(shape, {broadcast_strides(a.shape(), shape), broadcast_strides(b.shape(), shape)});
        py::gil_scoped_release release;
        dispatch_any(a.dtype(), [&](auto t) {
          using T = decltype(t);
          mc::compare(it->second, ptr<T>(a), ptr<T>(b), ptr<bool>(out), s, out.size());
        });
        return out;
      },
      py::arg("op"), py::arg("a"), py::arg("b"), "Bool array of a <op> b (numpy broadcasting).");
  c.def(
      "where",
      [](const py::handle& c_obj, const py::handle& a_obj, const py::handle& b_obj) {
        const DeviceArray& cond = as_device_array(c_obj, "where", "cond");
        if (cond.dtype() != mc::DType::b8) type_error("where: cond must be bool, got ", dtype_str(cond.dtype()));
        const DeviceArray& a = as_device_array(a_obj, "where", "a");
        const DeviceArray& b = as_device_array(b_obj, "where", "b");
        require_same_dtype(a, b, "where");
        const Shape shape = broadcast_shape({&cond.shape(), &a.shape(), &b.shape()}, "where");
        DeviceArray out(shape, a.dtype());
        const mc::Strided s = strided(shape, {broadcast_strides(cond.shape(), shape),
                                              broadcast_strides(a.shape(), shape), broadcast_strides(b.shape(), shape)});
        py::gil_scoped_release release;
        dispatch_any(a.dtype(), [&](auto t) {
          using T = decltype(t);
          mc::where(ptr<bool>(cond), ptr<T>(a), ptr<T>(b), ptr<T>(out), s, out.size());
        });
        return out;
      },
      py::arg("cond"), py::arg("a"), py::arg("b"), "a where cond else b (numpy broadcasting).");
  c.def(
      "all_finite",
      [](const py::handle& x_obj) {
        const DeviceArray& x = as_device_array(x_obj, "all_finite", "x");
        if (x.dtype() != mc::DType::f32 && x.dtype() != mc::DType::f64) return true;
        py::gil_scoped_release release;
        return dispatch_float(x, [&](auto t) { return mc::all_finite(ptr<decltype(t)>(x), x.size()); });
      },
      py::arg("x"), "Whether no element is inf or nan.");

  c.def(
      "astype",
      [](const py::handle& x_obj, const py::handle& dtype) {
        const DeviceArray& x = as_device_array(x_obj, "astype", "x");
        const mc::DType dt = device_dtype(py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype)), "astype");
        return strided_copy(x, x.shape(), contiguous_strides(x.shape()), dt);
      },
      py::arg("x"), py::arg("dtype"), "A new array converted to dtype (as numpy's astype).");
  c.def(
      "reshape",
      [](const py::handle& x_obj, const py::handle& shape) {
        const DeviceArray& x = as_device_array(x_obj, "reshape", "x");
        Shape s = parse_shape(shape, x.dtype(), "reshape");
        int64_t size = 1;
        for (int64_t d : s) size *= d;
        if (size != x.size())
          value_error("reshape: cannot reshape an array of shape ", shape_str(x.shape()), " into shape ", shape_str(s));
        return x.reshaped(std::move(s));
      },
      py::arg("x"), py::arg("shape"), "A view of x with another shape of the same size (shares the buffer).");
  c.def(
      "permute",
      [](const py::handle& x_obj, const std::vector<int64_t>& axes) {
        const DeviceArray& x = as_device_array(x_obj, "permute", "x");
        const size_t ndim = x.shape().size();
        std::vector<bool> seen(ndim, false);
        if (axes.size() != ndim) value_error("permute: ", axes.size(), " axes given for shape ", shape_str(x.shape()));
        if (ndim > static_cast<size_t>(mc::kMaxDims)) value_error("permute: at most ", mc::kMaxDims, " dimensions");
        const Shape own = contiguous_strides(x.shape());
        Shape shape, strides;
        for (int64_t a : axes) {
          const int64_t d = a < 0 ? a + static_cast<int64_t>(ndim) : a;
          if (d < 0 || d >= static_cast<int64_t>(ndim) || seen[d])
            value_error("permute: axes must be a permutation of the ", ndim, " axes of shape ", shape_str(x.shape()));
          seen[d] = true;
          shape.push_back(x.shape()[d]);
          strides.push_back(own[d]);
        }
        return strided_copy(x, shape, strides, x.dtype());
      },
      py::arg("x"), py::arg("axes"), "x's axes reordered (a new C-contiguous array, as numpy.transpose + copy).");
  c.def(
      "broadcast_to",
      [](const py::handle& x_obj, const py::handle& shape_obj) {
        const DeviceArray& x = as_device_array(x_obj, "broadcast_to", "x");
        const Shape target = parse_shape(shape_obj, x.dtype(), "broadcast_to");
        const Shape shape = broadcast_shape({&x.shape(), &target}, "broadcast_to");
        if (shape != target)
          value_error("broadcast_to: shape ", shape_str(x.shape()), " cannot be broadcast to ", shape_str(target));
        return strided_copy(x, shape, broadcast_strides(x.shape(), shape), x.dtype());
      },
      py::arg("x"), py::arg("shape"), "x broadcast to shape (a new C-contiguous array).");

  const std::pair<const char*, mc::ReduceOp> reductions[] = {
      {"sum", mc::ReduceOp::sum}, {"max", mc::ReduceOp::max}, {"min", mc::ReduceOp::min}};
  for (const auto& [name, op] : reductions)
    c.def(
        name,
        [name = name, op = op](const py::handle& x, const py::handle& axis, bool keepdims) {
          return reduce(op, name, x, axis, keepdims);
        },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
        "Reduction over axis (None, an int or a tuple), as numpy.");
  const std::pair<const char*, mc::ReduceOp> arg_reductions[] = {{"argmax", mc::ReduceOp::argmax},
                                                                 {"argmin", mc::ReduceOp::argmin}};
  for (const auto& [name, op] : arg_reductions)
    c.def(
        name,
        [name = name, op = op](const py::handle& x, const py::handle& axis, bool keepdims) {
          return reduce(op, name, x, axis, keepdims);
        },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
        "int64 index of the first extreme along axis (None: into the flattened array), as numpy.");
}

}  // namespace array_ops
#endif

}  // namespace

void bind_elementwise(py::module_& m) {
  def_activations<Device::cpu>(m);
  def_lstm_cell<Device::cpu>(m);
  m.def("bias_add", &bias_add, py::arg("x"), py::arg("bias"),
        "x (N, C, ...) + bias (C,) broadcast on axis 1 (Linear and conv outputs).");
  m.def("bias_grad", &bias_grad, py::arg("dy"), "Sum of dy (N, C, ...) over every axis but 1 -> (C,).");
  // numpy's own, libm's per element, are slow (log1p, expm1) or missing (erf); CUDA's are among its unary ops.
  const struct {
    Activation activation;
    const char *name, *doc;
  } math_functions[] = {
      {Activation::erf, "erf", "erf(x): floats vectorised (1.5e-7 absolute, as PyTorch's), doubles libm's."},
      {Activation::log1p, "log1p", "log(1 + x), exact for small x: floats vectorised (2 ulp), doubles libm's."},
      {Activation::expm1, "expm1", "exp(x) - 1, exact for small x: floats vectorised (2 ulp), doubles libm's."}};
  for (const auto& f : math_functions)
    m.def(
        f.name,
        [a = f.activation, op = f.name](const py::handle& x) { return activation_forward<Device::cpu>(a, op, x); },
        py::arg("x"), f.doc);
}

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_elementwise(py::module_& cuda) {
  def_activations<Device::cuda>(cuda);
  def_lstm_cell<Device::cuda>(cuda);
  array_ops::def_array_ops(cuda);
}
#endif

}  // namespace minigrad::bindings
