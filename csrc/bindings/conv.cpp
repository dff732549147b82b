// Python bindings of the conv kernels (csrc/cpu/conv.h): every argument is
// checked, then the kernel runs with the GIL released.
#include "cpu/conv.h"

#include <optional>

#include "bindings/arrays.h"
#include "bindings/register.h"
#include "bindings/window_args.h"
#include "cpu/conv_geometry.h"

namespace minigrad::bindings {
namespace {

using OptionalArray = std::optional<py::array>;

template <typename T>
const T* input_or_null(const OptionalArray& a) {
  return a ? cptr<T>(*a) : nullptr;
}
template <typename T>
T* output_or_null(OptionalArray& a) {
  return a ? ptr<T>(*a) : nullptr;
}
py::object array_or_none(const OptionalArray& a) { return a ? py::object(*a) : py::object(py::none()); }

// The full geometry of a convolution of x by weight, after checking that they
// and the hyper-parameters agree.
cpu::Conv2dShape conv_shape(const char* op, const py::array& x, const py::array& weight, const py::handle& stride,
                            const py::handle& padding, const py::handle& dilation, int64_t groups) {
  require_same_dtype(weight, x, op, "weight", "x");
  require_rank(x, 4, op, "x");
  require_rank(weight, 4, op, "weight");
  require_nonempty(x, op, "x");
  require_nonempty(weight, op, "weight");
  const Pair st = window_pair(stride, op, "stride", 1);
  const Pair pad = window_pair(padding, op, "padding", 0);
  const Pair dil = window_pair(dilation, op, "dilation", 1);
  if (groups < 1) value_error(op, ": groups must be >= 1, got ", groups);
  const int64_t in_channels = x.shape(1), out_channels = weight.shape(0);
  if (in_channels % groups != 0)
    value_error(op, ": x has ", in_channels, " channels (shape ", shape_str(x), "), not divisible by groups=", groups);
  if (out_channels % groups != 0)
    value_error(op, ": weight has ", out_channels, " output channels (shape ", shape_str(weight),
                "), not divisible by groups=", groups);
  if (weight.shape(1) != in_channels / groups)
    value_error(op, ": weight shape ", shape_str(weight), " needs shape[1] == C_in / groups = ", in_channels / groups,
                " for x shape ", shape_str(x), " and groups=", groups);

  cpu::Conv2dShape s{};
  s.batch = x.shape(0);
  s.in_channels = in_channels;
  s.in_h = x.shape(2);
  s.in_w = x.shape(3);
  s.out_channels = out_channels;
  s.kernel_h = weight.shape(2);
  s.kernel_w = weight.shape(3);
  s.stride_h = st.first;
  s.stride_w = st.second;
  s.pad_h = pad.first;
  s.pad_w = pad.second;
  s.dilation_h = dil.first;
  s.dilation_w = dil.second;
  s.groups = groups;
  s.out_h = cpu::window_output_size(s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h, false);
  s.out_w = cpu::window_output_size(s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w, false);
  if (s.out_h < 1 || s.out_w < 1)
    value_error(op, ": the kernel does not fit: x shape ", shape_str(x), ", weight shape ", shape_str(weight),
                ", stride ", pair_str(st), ", padding ", pair_str(pad), ", dilation ", pair_str(dil),
                " give an output of ", s.out_h, " x ", s.out_w);
  return s;
}

py::array conv2d_forward(const py::handle& x_obj, const py::handle& weight_obj, const py::handle& bias_obj,
                         const py::handle& stride, const py::handle& padding, const py::handle& dilation,
                         int64_t groups) {
  constexpr const char* op = "conv2d_forward";
  const py::array x = float_input(x_obj, op, "x");
  const py::array weight = float_input(weight_obj, op, "weight");
  const cpu::Conv2dShape s = conv_shape(op, x, weight, stride, padding, dilation, groups);
  OptionalArray bias;
  if (!bias_obj.is_none()) {
    bias = float_input(bias_obj, op, "bias");
    require_same_dtype(*bias, x, op, "bias", "x");
    require_shape(*bias, {s.out_channels}, op, "bias");
  }
  py::array y = empty_like_dtype(x.dtype(), {s.batch, s.out_channels, s.out_h, s.out_w});
  dispatch(float_dtype(x, op, "x"), [&](auto zero) {
    using T = decltype(zero);
    const T* bias_data = input_or_null<T>(bias);
    const T *x_data = cptr<T>(x), *w_data = cptr<T>(weight);
    T* y_data = ptr<T>(y);
    py::gil_scoped_release release;
    cpu::conv2d_forward<T>(s, x_data, w_data, bias_data, y_data);
  });
  return y;
}

py::tuple conv2d_backward(const py::handle& dy_obj, const py::handle& x_obj, const py::handle& weight_obj,
                          const py::handle& stride, const py::handle& padding, const py::handle& dilation,
                          int64_t groups, bool need_input_grad, bool need_weight_grad, bool need_bias_grad) {
  constexpr const char* op = "conv2d_backward";
  const py::array dy = float_input(dy_obj, op, "dy");
  const py::array x = float_input(x_obj, op, "x");
  const py::array weight = float_input(weight_obj, op, "weight");
  require_same_dtype(dy, x, op, "dy", "x");
  const cpu::Conv2dShape s = conv_shape(op, x, weight, stride, padding, dilation, groups);
  require_shape(dy, {s.batch, s.out_channels, s.out_h, s.out_w}, op, "dy (the forward output's shape)");

  OptionalArray dx, dweight, dbias;
  if (need_input_grad) dx = empty_like_dtype(x.dtype(), {s.batch, s.in_channels, s.in_h, s.in_w});
  if (need_weight_grad)
    dweight = empty_like_dtype(x.dtype(), {s.out_channels, s.in_channels / s.groups, s.kernel_h, s.kernel_w});
  if (need_bias_grad) dbias = empty_like_dtype(x.dtype(), {s.out_channels});
  dispatch(float_dtype(x, op, "x"), [&](auto zero) {
    using T = decltype(zero);
    T *dx_data = output_or_null<T>(dx), *dw_data = output_or_null<T>(dweight), *db_data = output_or_null<T>(dbias);
    const T *dy_data = cptr<T>(dy), *x_data = cptr<T>(x), *w_data = cptr<T>(weight);
    py::gil_scoped_release release;
    cpu::conv2d_backward<T>(s, dy_data, x_data, w_data, dx_data, dw_data, db_data);
  });
  return py::make_tuple(array_or_none(dx), array_or_none(dweight), array_or_none(dbias));
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d_forward", &conv2d_forward, py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(),
        py::arg("stride") = 1, py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1,
        "2-D convolution (cross-correlation, as PyTorch): x (N, C_in, H, W), weight (C_out, C_in / groups, KH, KW), "
        "bias (C_out,) or None -> y (N, C_out, OH, OW). stride/padding/dilation: int or (h, w).");
  m.def("conv2d_backward", &conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("weight"), py::arg("stride") = 1,
        py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1, py::arg("need_input_grad") = true,
        py::arg("need_weight_grad") = true, py::arg("need_bias_grad") = true,
        "Gradients of conv2d_forward: (dx, dweight, dbias), None for those not asked.");
}

}  // namespace minigrad::bindings
