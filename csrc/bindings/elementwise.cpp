// Activations and bias broadcast: checks, then csrc/cpu/elementwise.h.
#include "cpu/elementwise.h"

#include "bindings/arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
namespace {

namespace cpu = minigrad::cpu;

template <typename Kernel>
py::array unary(const char* op, const py::handle& x_obj, Kernel kernel) {
  py::array x = float_input(x_obj, op, "x");
  py::array y(x.dtype(), shape_of(x));
  dispatch(float_dtype(x, op, "x"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    kernel(cptr<T>(x), ptr<T>(y), static_cast<int64_t>(x.size()));
  });
  return y;
}

// dx from dy and the forward output y.
template <typename Kernel>
py::array unary_backward(const char* op, const py::handle& dy_obj, const py::handle& y_obj, Kernel kernel) {
  py::array dy = float_input(dy_obj, op, "dy");
  py::array y = float_like(y_obj, dy, op, "y", "dy");
  py::array dx(dy.dtype(), shape_of(dy));
  dispatch(float_dtype(dy, op, "dy"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    kernel(cptr<T>(dy), cptr<T>(y), ptr<T>(dx), static_cast<int64_t>(dy.size()));
  });
  return dx;
}

py::array bias_add(const py::handle& x_obj, const py::handle& bias_obj) {
  const char* op = "bias_add";
  py::array x = float_input(x_obj, op, "x");
  const ChannelView v = channel_view(x, op, "x");
  py::array bias = as_array(bias_obj, op, "bias");
  require_same_dtype(bias, x, op, "bias", "x");
  require_shape(bias, {v.C}, op, "bias");
  require_contiguous(bias, op, "bias");
  py::array y(x.dtype(), shape_of(x));
  dispatch(float_dtype(x, op, "x"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    cpu::bias_add(cptr<T>(x), cptr<T>(bias), ptr<T>(y), v.N, v.C, v.inner);
  });
  return y;
}

py::array bias_grad(const py::handle& dy_obj) {
  const char* op = "bias_grad";
  py::array dy = float_input(dy_obj, op, "dy");
  const ChannelView v = channel_view(dy, op, "dy");
  py::array db(dy.dtype(), std::vector<py::ssize_t>{v.C});
  dispatch(float_dtype(dy, op, "dy"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    cpu::bias_grad(cptr<T>(dy), ptr<T>(db), v.N, v.C, v.inner);
  });
  return db;
}

}  // namespace

void bind_elementwise(py::module_& m) {
  m.def(
      "relu", [](const py::handle& x) { return unary("relu", x, [](auto... a) { cpu::relu_forward(a...); }); },
      py::arg("x"), "max(x, 0) (NaN stays NaN).");
  m.def(
      "sigmoid",
      [](const py::handle& x) { return unary("sigmoid", x, [](auto... a) { cpu::sigmoid_forward(a...); }); },
      py::arg("x"), "1 / (1 + exp(-x)), without overflow for large |x|.");
  m.def(
      "tanh", [](const py::handle& x) { return unary("tanh", x, [](auto... a) { cpu::tanh_forward(a...); }); },
      py::arg("x"), "tanh(x).");
  m.def(
      "relu_backward",
      [](const py::handle& dy, const py::handle& y) {
        return unary_backward("relu_backward", dy, y, [](auto... a) { cpu::relu_backward(a...); });
      },
      py::arg("dy"), py::arg("y"), "dy where the output y > 0, else 0.");
  m.def(
      "sigmoid_backward",
      [](const py::handle& dy, const py::handle& y) {
        return unary_backward("sigmoid_backward", dy, y, [](auto... a) { cpu::sigmoid_backward(a...); });
      },
      py::arg("dy"), py::arg("y"), "dy * y * (1 - y) from the output y.");
  m.def(
      "tanh_backward",
      [](const py::handle& dy, const py::handle& y) {
        return unary_backward("tanh_backward", dy, y, [](auto... a) { cpu::tanh_backward(a...); });
      },
      py::arg("dy"), py::arg("y"), "dy * (1 - y^2) from the output y.");
  m.def("bias_add", &bias_add, py::arg("x"), py::arg("bias"),
        "x (N, C, ...) + bias (C,) broadcast on axis 1 (Linear and conv outputs).");
  m.def("bias_grad", &bias_grad, py::arg("dy"), "Sum of dy (N, C, ...) over every axis but 1 -> (C,).");
}

}  // namespace minigrad::bindings
