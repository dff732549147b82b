// _C.cuda conv2d_forward / conv2d_backward: the device twins of
// csrc/bindings/conv.cpp, same names, arguments, checks and returns, on DeviceArrays.
#include "../../cuda/conv.h"

#include <optional>
#include <vector>

#include "bindings/cuda_arrays.h"
#include "bindings/register.h"
#include "bindings/window_args.h"
#include "cpu/conv_geometry.h"

namespace minigrad::bindings {
namespace {

using OptionalArray = std::optional<DeviceArray>;

template <typename T>
const T* input_or_null(const DeviceArray* a) {
  return a ? static_cast<const T*>(a->data()) : nullptr;
}
template <typename T>
T* output_or_null(OptionalArray& a) {
  return a ? static_cast<T*>(a->data()) : nullptr;
}
py::object array_or_none(const OptionalArray& a) { return a ? py::cast(*a) : py::object(py::none()); }

void require_rank4_nonempty(const DeviceArray& a, const char* op, const char* name) {
  if (a.shape().size() != 4) value_error(op, ": ", name, " must have 4 dimensions, got shape ", shape_str(a.shape()));
  for (int64_t d : a.shape())
    if (d == 0) value_error(op, ": ", name, " must not be empty, got shape ", shape_str(a.shape()));
}

// As conv.cpp's conv_shape: the full geometry after checking that x, weight and
// the hyper-parameters agree.
mc::Conv2dShape conv_shape(const char* op, const DeviceArray& x, const DeviceArray& weight, const py::handle& stride,
                           const py::handle& padding, const py::handle& dilation, int64_t groups) {
  if (weight.dtype() != x.dtype()) require_same(weight, x, op, "weight", "x");
  require_rank4_nonempty(x, op, "x");
  require_rank4_nonempty(weight, op, "weight");
  const auto &xs = x.shape(), &ws = weight.shape();
  const Pair st = window_pair(stride, op, "stride", 1);
  const Pair pad = window_pair(padding, op, "padding", 0);
  const Pair dil = window_pair(dilation, op, "dilation", 1);
  if (ws[2] > kMaxWindowParam || ws[3] > kMaxWindowParam)
    value_error(op, ": the kernel of weight shape ", shape_str(ws), " is larger than 2**31");
  if (groups < 1) value_error(op, ": groups must be >= 1, got ", groups);
  const int64_t in_channels = xs[1], out_channels = ws[0];
  if (in_channels % groups != 0)
    value_error(op, ": x has ", in_channels, " channels (shape ", shape_str(xs), "), not divisible by groups=", groups);
  if (out_channels % groups != 0)
    value_error(op, ": weight has ", out_channels, " output channels (shape ", shape_str(ws),
                "), not divisible by groups=", groups);
  if (ws[1] != in_channels / groups)
    value_error(op, ": weight shape ", shape_str(ws), " needs shape[1] == C_in / groups = ", in_channels / groups,
                " for x shape ", shape_str(xs), " and groups=", groups);
  mc::Conv2dShape s{};
  s.batch = xs[0];
  s.in_channels = in_channels;
  s.in_h = xs[2];
  s.in_w = xs[3];
  s.out_channels = out_channels;
  s.kernel_h = ws[2];
  s.kernel_w = ws[3];
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
    value_error(op, ": the kernel does not fit: x shape ", shape_str(xs), ", weight shape ", shape_str(ws),
                ", stride ", pair_str(st), ", padding ", pair_str(pad), ", dilation ", pair_str(dil),
                " give an output of ", s.out_h, " x ", s.out_w);
  return s;
}

DeviceArray conv2d_forward(const py::handle& x_obj, const py::handle& weight_obj, const py::handle& bias_obj,
                           const py::handle& stride, const py::handle& padding, const py::handle& dilation,
                           int64_t groups) {
  constexpr const char* op = "conv2d_forward";
  const DeviceArray& x = float_device_array(x_obj, op, "x");
  const DeviceArray& weight = float_device_array(weight_obj, op, "weight");
  const mc::Conv2dShape s = conv_shape(op, x, weight, stride, padding, dilation, groups);
  const DeviceArray* bias = nullptr;
  if (!bias_obj.is_none()) {
    bias = &float_device_array(bias_obj, op, "bias");
    if (bias->dtype() != x.dtype()) require_same(*bias, x, op, "bias", "x");
    if (bias->shape() != std::vector<int64_t>{s.out_channels})
      value_error(op, ": bias must have shape ", shape_str({s.out_channels}), ", got ", shape_str(bias->shape()));
  }
  DeviceArray y({s.batch, s.out_channels, s.out_h, s.out_w}, x.dtype());
  dispatch_float(x, [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    mc::conv2d_forward<T>(s, static_cast<const T*>(x.data()), static_cast<const T*>(weight.data()),
                          input_or_null<T>(bias), static_cast<T*>(y.data()));
  });
  return y;
}

py::tuple conv2d_backward(const py::handle& dy_obj, const py::handle& x_obj, const py::handle& weight_obj,
                          const py::handle& stride, const py::handle& padding, const py::handle& dilation,
                          int64_t groups, bool need_input_grad, bool need_weight_grad, bool need_bias_grad) {
  constexpr const char* op = "conv2d_backward";
  const DeviceArray& dy = float_device_array(dy_obj, op, "dy");
  const DeviceArray& x = float_device_array(x_obj, op, "x");
  const DeviceArray& weight = float_device_array(weight_obj, op, "weight");
  if (dy.dtype() != x.dtype()) require_same(dy, x, op, "dy", "x");
  const mc::Conv2dShape s = conv_shape(op, x, weight, stride, padding, dilation, groups);
  const std::vector<int64_t> y_shape{s.batch, s.out_channels, s.out_h, s.out_w};
  if (dy.shape() != y_shape)
    value_error(op, ": dy (the forward output's shape) must have shape ", shape_str(y_shape), ", got ",
                shape_str(dy.shape()));
  OptionalArray dx, dweight, dbias;
  if (need_input_grad) dx.emplace(x.shape(), x.dtype());
  if (need_weight_grad) dweight.emplace(weight.shape(), x.dtype());
  if (need_bias_grad) dbias.emplace(std::vector<int64_t>{s.out_channels}, x.dtype());
  dispatch_float(x, [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    mc::conv2d_backward<T>(s, static_cast<const T*>(dy.data()), static_cast<const T*>(x.data()),
                           static_cast<const T*>(weight.data()), output_or_null<T>(dx), output_or_null<T>(dweight),
                           output_or_null<T>(dbias));
  });
  return py::make_tuple(array_or_none(dx), array_or_none(dweight), array_or_none(dbias));
}

}  // namespace

void bind_cuda_conv(py::module_& cuda) {
  cuda.def("conv2d_forward", &conv2d_forward, py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(),
           py::arg("stride") = 1, py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1,
           "2-D convolution on the device (cross-correlation, as PyTorch): x (N, C_in, H, W), weight "
           "(C_out, C_in / groups, KH, KW), bias (C_out,) or None -> y (N, C_out, OH, OW).");
  cuda.def("conv2d_backward", &conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("weight"), py::arg("stride") = 1,
           py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1, py::arg("need_input_grad") = true,
           py::arg("need_weight_grad") = true, py::arg("need_bias_grad") = true,
           "Gradients of conv2d_forward on the device: (dx, dweight, dbias), None for those not asked.");
}

}  // namespace minigrad::bindings
