// Python bindings of the conv kernels for both devices: _C.<op> on numpy arrays
// (csrc/cpu/conv.h) and _C.cuda.<op> on DeviceArrays (cuda/conv.h), with the
// geometry of csrc/ops/conv.h. Every argument is checked once, over an
// ArrayView, then the kernel of the device runs with the GIL released.
#include <optional>

#include "../../cuda/conv.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "bindings/window_args.h"
#include "cpu/conv.h"
#include "cpu/conv_geometry.h"

namespace minigrad::bindings {
namespace {

// The full geometry of a convolution of x by weight, after checking that they
// and the hyper-parameters agree.
ops::Conv2dShape conv_shape(const char* op, const ArrayView& x, const ArrayView& weight, const py::handle& stride,
                            const py::handle& padding, const py::handle& dilation, int64_t groups) {
  require_same_dtype(weight, x, op, "weight", "x");
  require_rank(x, 4, op, "x");
  require_rank(weight, 4, op, "weight");
  require_nonempty(x, op, "x");
  require_nonempty(weight, op, "weight");
  const Pair st = window_pair(stride, op, "stride", 1);
  const Pair pad = window_pair(padding, op, "padding", 0);
  const Pair dil = window_pair(dilation, op, "dilation", 1);
  if (weight.shape[2] > kMaxWindowParam || weight.shape[3] > kMaxWindowParam)
    value_error(op, ": the kernel of weight shape ", shape_str(weight.shape), " is larger than 2**31");
  if (groups < 1) value_error(op, ": groups must be >= 1, got ", groups);
  const int64_t in_channels = x.shape[1], out_channels = weight.shape[0];
  if (in_channels % groups != 0)
    value_error(op, ": x has ", in_channels, " channels (shape ", shape_str(x.shape), "), not divisible by groups=",
                groups);
  if (out_channels % groups != 0)
    value_error(op, ": weight has ", out_channels, " output channels (shape ", shape_str(weight.shape),
                "), not divisible by groups=", groups);
  if (weight.shape[1] != in_channels / groups)
    value_error(op, ": weight shape ", shape_str(weight.shape), " needs shape[1] == C_in / groups = ",
                in_channels / groups, " for x shape ", shape_str(x.shape), " and groups=", groups);

  ops::Conv2dShape s{};
  s.batch = x.shape[0];
  s.in_channels = in_channels;
  s.in_h = x.shape[2];
  s.in_w = x.shape[3];
  s.out_channels = out_channels;
  s.kernel_h = weight.shape[2];
  s.kernel_w = weight.shape[3];
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
    value_error(op, ": the kernel does not fit: x shape ", shape_str(x.shape), ", weight shape ",
                shape_str(weight.shape), ", stride ", pair_str(st), ", padding ", pair_str(pad), ", dilation ",
                pair_str(dil), " give an output of ", s.out_h, " x ", s.out_w);
  return s;
}

template <Device D>
py::object conv2d_forward(const py::handle& x_obj, const py::handle& weight_obj, const py::handle& bias_obj,
                          const py::handle& stride, const py::handle& padding, const py::handle& dilation,
                          int64_t groups) {
  constexpr const char* op = "conv2d_forward";
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const ArrayView weight = float_arg<D>(weight_obj, op, "weight");
  const ops::Conv2dShape s = conv_shape(op, x, weight, stride, padding, dilation, groups);
  std::optional<ArrayView> bias;
  if (!bias_obj.is_none()) {
    bias = float_arg<D>(bias_obj, op, "bias");
    require_same_dtype(*bias, x, op, "bias", "x");
    require_shape(*bias, {s.out_channels}, op, "bias");
  }
  const ArrayView y = empty_array<D>({s.batch, s.out_channels, s.out_h, s.out_w}, x.dtype);
  dispatch(float_dtype(x), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::conv2d_forward<T>(s, cptr<T>(x), cptr<T>(weight), ptr_or_null<T>(bias), ptr<T>(y));
    else
      cuda::conv2d_forward<T>(s, cptr<T>(x), cptr<T>(weight), ptr_or_null<T>(bias), ptr<T>(y));
  });
  return y.object;
}

template <Device D>
py::tuple conv2d_backward(const py::handle& dy_obj, const py::handle& x_obj, const py::handle& weight_obj,
                          const py::handle& stride, const py::handle& padding, const py::handle& dilation,
                          int64_t groups, bool need_input_grad, bool need_weight_grad, bool need_bias_grad) {
  constexpr const char* op = "conv2d_backward";
  const ArrayView dy = float_arg<D>(dy_obj, op, "dy");
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const ArrayView weight = float_arg<D>(weight_obj, op, "weight");
  require_same_dtype(dy, x, op, "dy", "x");
  const ops::Conv2dShape s = conv_shape(op, x, weight, stride, padding, dilation, groups);
  require_shape(dy, {s.batch, s.out_channels, s.out_h, s.out_w}, op, "dy (the forward output's shape)");

  std::optional<ArrayView> dx, dweight, dbias;
  if (need_input_grad) dx = empty_array<D>(x.shape, x.dtype);
  if (need_weight_grad) dweight = empty_array<D>(weight.shape, x.dtype);
  if (need_bias_grad) dbias = empty_array<D>({s.out_channels}, x.dtype);
  dispatch(float_dtype(x), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::conv2d_backward<T>(s, cptr<T>(dy), cptr<T>(x), cptr<T>(weight), ptr_or_null<T>(dx),
                              ptr_or_null<T>(dweight), ptr_or_null<T>(dbias));
    else
      cuda::conv2d_backward<T>(s, cptr<T>(dy), cptr<T>(x), cptr<T>(weight), ptr_or_null<T>(dx),
                               ptr_or_null<T>(dweight), ptr_or_null<T>(dbias));
  });
  return py::make_tuple(object_or_none(dx), object_or_none(dweight), object_or_none(dbias));
}

// The conv entries, the same on both devices.
template <Device D>
void def_conv(py::module_& m) {
  m.def("conv2d_forward", &conv2d_forward<D>, py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(),
        py::arg("stride") = 1, py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1,
        "2-D convolution (cross-correlation, as PyTorch): x (N, C_in, H, W), weight (C_out, C_in / groups, KH, KW), "
        "bias (C_out,) or None -> y (N, C_out, OH, OW). stride/padding/dilation: int or (h, w).");
  m.def("conv2d_backward", &conv2d_backward<D>, py::arg("dy"), py::arg("x"), py::arg("weight"),
        py::arg("stride") = 1, py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1,
        py::arg("need_input_grad") = true, py::arg("need_weight_grad") = true, py::arg("need_bias_grad") = true,
        "Gradients of conv2d_forward: (dx, dweight, dbias), None for those not asked.");
}

}  // namespace

void bind_conv(py::module_& m) { def_conv<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_conv(py::module_& cuda) { def_conv<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
