// Python bindings of the pooling kernels for both devices: _C.<op> on numpy
// arrays (csrc/cpu/pool.h) and _C.cuda.<op> on DeviceArrays (cuda/pool.h).
// Every argument is checked once, over an ArrayView, then the kernel of the
// device runs with the GIL released.
#include <array>
#include <optional>
#include <sstream>
#include <string>

#include "../../cuda/pool.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "bindings/window_args.h"
#include "cpu/conv_geometry.h"
#include "cpu/pool.h"

namespace minigrad::bindings {
namespace {

using Shape4 = std::array<int64_t, 4>;

std::string shape4_str(const Shape4& s) {
  std::ostringstream out;
  out << '(' << s[0] << ", " << s[1] << ", " << s[2] << ", " << s[3] << ')';
  return out.str();
}

// The (N, C, H, W) of a pooling input, after checking rank and emptiness.
Shape4 input_shape_of(const ArrayView& x, const char* op, const char* name) {
  require_rank(x, 4, op, name);
  require_nonempty(x, op, name);
  return {x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
}

// The geometry of pooling an input of shape `in`, after checking the
// hyper-parameters as PyTorch does (padding at most half the kernel, at least
// one window).
ops::Pool2dShape pool_shape(const char* op, const Shape4& in, const py::handle& kernel_size,
                            const py::handle& stride, const py::handle& padding, const Pair& dil, bool ceil_mode) {
  const Pair k = window_pair(kernel_size, op, "kernel_size", 1);
  const Pair st = stride.is_none() ? k : window_pair(stride, op, "stride", 1);
  const Pair pad = window_pair(padding, op, "padding", 0);
  if (pad.first > k.first / 2 || pad.second > k.second / 2)
    value_error(op, ": padding ", pair_str(pad), " must be at most half the kernel size ", pair_str(k));
  ops::Pool2dShape s{};
  s.planes = in[0] * in[1];
  s.in_h = in[2];
  s.in_w = in[3];
  s.kernel_h = k.first;
  s.kernel_w = k.second;
  s.stride_h = st.first;
  s.stride_w = st.second;
  s.pad_h = pad.first;
  s.pad_w = pad.second;
  s.dilation_h = dil.first;
  s.dilation_w = dil.second;
  s.out_h = cpu::window_output_size(s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h, ceil_mode);
  s.out_w = cpu::window_output_size(s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w, ceil_mode);
  if (s.out_h < 1 || s.out_w < 1)
    value_error(op, ": the window does not fit: input shape ", shape4_str(in), ", kernel_size ", pair_str(k),
                ", stride ", pair_str(st), ", padding ", pair_str(pad), ", dilation ", pair_str(dil),
                ", ceil_mode=", ceil_mode ? "True" : "False", " give an output of ", s.out_h, " x ", s.out_w);
  return s;
}

// The average-pooling options: divisor_override None (0 in the struct: each
// window's own divisor) or a nonzero int, as PyTorch (which takes a negative one).
ops::AvgPool2dOptions avg_options(const char* op, bool count_include_pad, const py::handle& divisor_override) {
  ops::AvgPool2dOptions o;
  o.count_include_pad = count_include_pad;
  if (divisor_override.is_none()) return o;
  if (!py::isinstance<py::int_>(divisor_override) || py::isinstance<py::bool_>(divisor_override))
    type_error(op, ": divisor_override must be None or an int, got ", std::string(py::repr(divisor_override)));
  try {
    o.divisor_override = divisor_override.cast<int64_t>();
  } catch (const py::cast_error&) {
    value_error(op, ": divisor_override is out of range, got ", std::string(py::repr(divisor_override)));
  }
  if (o.divisor_override == 0) value_error(op, ": divisor_override must not be 0 (None: each window's own divisor)");
  return o;
}

template <Device D>
py::tuple max_pool2d_forward(const py::handle& x_obj, const py::handle& kernel_size, const py::handle& stride,
                             const py::handle& padding, const py::handle& dilation, bool ceil_mode, bool relu,
                             bool need_indices) {
  constexpr const char* op = "max_pool2d_forward";
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const Shape4 in = input_shape_of(x, op, "x");
  const ops::Pool2dShape s =
      pool_shape(op, in, kernel_size, stride, padding, window_pair(dilation, op, "dilation", 1), ceil_mode);
  if (!cpu::every_window_hits_input(s))
    value_error(op, ": with input shape ", shape4_str(in), ", dilation ", pair_str({s.dilation_h, s.dilation_w}),
                " and padding ", pair_str({s.pad_h, s.pad_w}), " some window holds only padding");
  const ArrayView y = empty_array<D>({in[0], in[1], s.out_h, s.out_w}, x.dtype);
  std::optional<ArrayView> indices;
  if (need_indices) indices = empty_array<D>({in[0], in[1], s.out_h, s.out_w}, py::dtype::of<int64_t>());
  int64_t* const index_data = indices ? ptr<int64_t>(*indices) : nullptr;
  dispatch(float_dtype(x), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::max_pool2d_forward<T>(s, cptr<T>(x), ptr<T>(y), index_data, relu);
    else
      cuda::max_pool2d_forward<T>(s, cptr<T>(x), ptr<T>(y), index_data, relu);
  });
  return py::make_tuple(y.object, indices ? indices->object : py::none());
}

template <Device D>
py::object max_pool2d_backward(const py::handle& dy_obj, const py::handle& indices_obj,
                               const py::handle& input_shape) {
  constexpr const char* op = "max_pool2d_backward";
  const ArrayView dy = float_arg<D>(dy_obj, op, "dy");
  const ArrayView indices = array_arg<D>(indices_obj, op, "indices");
  require_dtype(indices, py::dtype::of<int64_t>(), op, "indices");
  require_contiguous(indices, op, "indices");
  const Shape4 in = shape4(input_shape, op, "input_shape");
  const Shape4 out = input_shape_of(dy, op, "dy");
  require_shape(indices, dy.shape, op, "indices (dy's shape)");
  if (out[0] != in[0] || out[1] != in[1])
    value_error(op, ": dy shape ", shape_str(dy.shape), " and input_shape ", shape4_str(in),
                " differ in batch or channels");
  const int64_t in_plane = in[2] * in[3], out_plane = out[2] * out[3];
  const int64_t* index_data = cptr<int64_t>(indices);
  const auto out_of_range = [&](int64_t bad, int64_t bad_value) {
    value_error(op, ": indices must lie in [0, H * W = ", in_plane, ") for input_shape ", shape4_str(in),
                ", found ", bad_value, " at flat position ", bad);
  };
  if constexpr (D != Device::cpu) {  // checked before the kernel; the CPU kernel checks as it goes
    int64_t bad = -1, bad_value = 0;
    {
      py::gil_scoped_release release;
      bad = cuda::first_index_out_of_range(index_data, indices.size(), in_plane, &bad_value);
    }
    if (bad >= 0) out_of_range(bad, bad_value);
  }
  const ArrayView dx = empty_array<D>({in[0], in[1], in[2], in[3]}, dy.dtype);
  int64_t bad = -1;
  dispatch(float_dtype(dy), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      bad = cpu::max_pool2d_backward<T>(in[0] * in[1], in_plane, out_plane, cptr<T>(dy), index_data, ptr<T>(dx));
    else
      cuda::max_pool2d_backward<T>(in[0] * in[1], in_plane, out_plane, cptr<T>(dy), index_data, ptr<T>(dx));
  });
  if (bad >= 0) out_of_range(bad, index_data[bad]);
  return dx.object;
}

template <Device D>
py::object avg_pool2d_forward(const py::handle& x_obj, const py::handle& kernel_size, const py::handle& stride,
                              const py::handle& padding, bool ceil_mode, bool count_include_pad,
                              const py::handle& divisor_override) {
  constexpr const char* op = "avg_pool2d_forward";
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const Shape4 in = input_shape_of(x, op, "x");
  const ops::Pool2dShape s = pool_shape(op, in, kernel_size, stride, padding, {1, 1}, ceil_mode);
  const ops::AvgPool2dOptions o = avg_options(op, count_include_pad, divisor_override);
  const ArrayView y = empty_array<D>({in[0], in[1], s.out_h, s.out_w}, x.dtype);
  dispatch(float_dtype(x), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::avg_pool2d_forward<T>(s, o, cptr<T>(x), ptr<T>(y));
    else
      cuda::avg_pool2d_forward<T>(s, o, cptr<T>(x), ptr<T>(y));
  });
  return y.object;
}

template <Device D>
py::object avg_pool2d_backward(const py::handle& dy_obj, const py::handle& input_shape,
                               const py::handle& kernel_size, const py::handle& stride, const py::handle& padding,
                               bool ceil_mode, bool count_include_pad, const py::handle& divisor_override) {
  constexpr const char* op = "avg_pool2d_backward";
  const ArrayView dy = float_arg<D>(dy_obj, op, "dy");
  require_rank(dy, 4, op, "dy");
  const Shape4 in = shape4(input_shape, op, "input_shape");
  const ops::Pool2dShape s = pool_shape(op, in, kernel_size, stride, padding, {1, 1}, ceil_mode);
  require_shape(dy, {in[0], in[1], s.out_h, s.out_w}, op, "dy (the forward output's shape)");
  const ops::AvgPool2dOptions o = avg_options(op, count_include_pad, divisor_override);
  const ArrayView dx = empty_array<D>({in[0], in[1], in[2], in[3]}, dy.dtype);
  dispatch(float_dtype(dy), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::avg_pool2d_backward<T>(s, o, cptr<T>(dy), ptr<T>(dx));
    else
      cuda::avg_pool2d_backward<T>(s, o, cptr<T>(dy), ptr<T>(dx));
  });
  return dx.object;
}

// The pooling entries, the same on both devices.
template <Device D>
void def_pool(py::module_& m) {
  m.def("max_pool2d_forward", &max_pool2d_forward<D>, py::arg("x"), py::arg("kernel_size"),
        py::arg("stride") = py::none(), py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("ceil_mode") = false,
        py::arg("relu") = false, py::arg("need_indices") = true,
        "2-D max pooling of x (N, C, H, W) -> (y, indices); indices (int64) are flat positions in each input H * W "
        "plane, as PyTorch (None when need_indices is False: values only, for inference). stride None means "
        "kernel_size. relu=True pools relu(x) (y = max(y, 0), NaN kept), fused.");
  m.def("max_pool2d_backward", &max_pool2d_backward<D>, py::arg("dy"), py::arg("indices"), py::arg("input_shape"),
        "Gradient of max_pool2d_forward: dy routed to the input positions in indices -> dx of input_shape.");
  m.def("avg_pool2d_forward", &avg_pool2d_forward<D>, py::arg("x"), py::arg("kernel_size"),
        py::arg("stride") = py::none(), py::arg("padding") = 0, py::arg("ceil_mode") = false,
        py::arg("count_include_pad") = true, py::arg("divisor_override") = py::none(),
        "2-D average pooling of x (N, C, H, W), with PyTorch's divisors. stride None means kernel_size; "
        "divisor_override (a nonzero int) divides every window's sum instead.");
  m.def("avg_pool2d_backward", &avg_pool2d_backward<D>, py::arg("dy"), py::arg("input_shape"),
        py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("padding") = 0, py::arg("ceil_mode") = false,
        py::arg("count_include_pad") = true, py::arg("divisor_override") = py::none(),
        "Gradient of avg_pool2d_forward -> dx of input_shape.");
}

}  // namespace

void bind_pool(py::module_& m) { def_pool<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_pool(py::module_& cuda) { def_pool<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
