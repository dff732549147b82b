// Python bindings of the pooling kernels (csrc/cpu/pool.h): every argument is
// checked, then the kernel runs with the GIL released.
#include "cpu/pool.h"

#include <array>
#include <sstream>
#include <string>

#include "bindings/arrays.h"
#include "bindings/register.h"
#include "bindings/window_args.h"
#include "cpu/conv_geometry.h"

namespace minigrad::bindings {
namespace {

using Shape4 = std::array<int64_t, 4>;

std::string shape4_str(const Shape4& s) {
  std::ostringstream out;
  out << '(' << s[0] << ", " << s[1] << ", " << s[2] << ", " << s[3] << ')';
  return out.str();
}

// The (N, C, H, W) of a pooling input, after checking rank and emptiness.
Shape4 input_shape_of(const py::array& x, const char* op, const char* name) {
  require_rank(x, 4, op, name);
  require_nonempty(x, op, name);
  return {x.shape(0), x.shape(1), x.shape(2), x.shape(3)};
}

// The geometry of pooling an input of shape `in`, after checking the
// hyper-parameters as PyTorch does (padding at most half the kernel, at least
// one window).
cpu::Pool2dShape pool_shape(const char* op, const Shape4& in, const py::handle& kernel_size,
                            const py::handle& stride, const py::handle& padding, const Pair& dil, bool ceil_mode) {
  const Pair k = window_pair(kernel_size, op, "kernel_size", 1);
  const Pair st = stride.is_none() ? k : window_pair(stride, op, "stride", 1);
  const Pair pad = window_pair(padding, op, "padding", 0);
  if (pad.first > k.first / 2 || pad.second > k.second / 2)
    value_error(op, ": padding ", pair_str(pad), " must be at most half the kernel size ", pair_str(k));
  cpu::Pool2dShape s{};
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

py::tuple max_pool2d_forward(const py::handle& x_obj, const py::handle& kernel_size, const py::handle& stride,
                             const py::handle& padding, const py::handle& dilation, bool ceil_mode, bool relu) {
  constexpr const char* op = "max_pool2d_forward";
  const py::array x = float_input(x_obj, op, "x");
  const Shape4 in = input_shape_of(x, op, "x");
  const cpu::Pool2dShape s =
      pool_shape(op, in, kernel_size, stride, padding, window_pair(dilation, op, "dilation", 1), ceil_mode);
  if (!cpu::every_window_hits_input(s))
    value_error(op, ": with input shape ", shape4_str(in), ", dilation ", pair_str({s.dilation_h, s.dilation_w}),
                " and padding ", pair_str({s.pad_h, s.pad_w}), " some window holds only padding");
  py::array y = empty_like_dtype(x.dtype(), {in[0], in[1], s.out_h, s.out_w});
  py::array indices = empty_like_dtype(py::dtype::of<int64_t>(), {in[0], in[1], s.out_h, s.out_w});
  dispatch(float_dtype(x, op, "x"), [&](auto zero) {
    using T = decltype(zero);
    const T* x_data = cptr<T>(x);
    T* y_data = ptr<T>(y);
    int64_t* index_data = ptr<int64_t>(indices);
    py::gil_scoped_release release;
    cpu::max_pool2d_forward<T>(s, x_data, y_data, index_data, relu);
  });
  return py::make_tuple(y, indices);
}

py::array max_pool2d_backward(const py::handle& dy_obj, const py::handle& indices_obj,
                              const py::handle& input_shape) {
  constexpr const char* op = "max_pool2d_backward";
  const py::array dy = float_input(dy_obj, op, "dy");
  const py::array indices = as_array(indices_obj, op, "indices");
  require_dtype(indices, py::dtype::of<int64_t>(), op, "indices");
  require_contiguous(indices, op, "indices");
  const Shape4 in = shape4(input_shape, op, "input_shape");
  const Shape4 out = input_shape_of(dy, op, "dy");
  require_shape(indices, {out[0], out[1], out[2], out[3]}, op, "indices (dy's shape)");
  if (out[0] != in[0] || out[1] != in[1])
    value_error(op, ": dy shape ", shape_str(dy), " and input_shape ", shape4_str(in),
                " differ in batch or channels");
  const int64_t in_plane = in[2] * in[3], out_plane = out[2] * out[3];
  const int64_t* index_data = cptr<int64_t>(indices);
  const int64_t bad = cpu::first_index_out_of_range(index_data, out[0] * out[1] * out_plane, in_plane);
  if (bad >= 0)
    value_error(op, ": indices must lie in [0, H * W = ", in_plane, ") for input_shape ", shape4_str(in),
                ", found ", index_data[bad], " at flat position ", bad);
  py::array dx = empty_like_dtype(dy.dtype(), {in[0], in[1], in[2], in[3]});
  dispatch(float_dtype(dy, op, "dy"), [&](auto zero) {
    using T = decltype(zero);
    const T* dy_data = cptr<T>(dy);
    T* dx_data = ptr<T>(dx);
    py::gil_scoped_release release;
    cpu::max_pool2d_backward<T>(in[0] * in[1], in_plane, out_plane, dy_data, index_data, dx_data);
  });
  return dx;
}

py::array avg_pool2d_forward(const py::handle& x_obj, const py::handle& kernel_size, const py::handle& stride,
                             const py::handle& padding, bool ceil_mode, bool count_include_pad) {
  constexpr const char* op = "avg_pool2d_forward";
  const py::array x = float_input(x_obj, op, "x");
  const Shape4 in = input_shape_of(x, op, "x");
  const cpu::Pool2dShape s = pool_shape(op, in, kernel_size, stride, padding, {1, 1}, ceil_mode);
  py::array y = empty_like_dtype(x.dtype(), {in[0], in[1], s.out_h, s.out_w});
  dispatch(float_dtype(x, op, "x"), [&](auto zero) {
    using T = decltype(zero);
    const T* x_data = cptr<T>(x);
    T* y_data = ptr<T>(y);
    py::gil_scoped_release release;
    cpu::avg_pool2d_forward<T>(s, count_include_pad, x_data, y_data);
  });
  return y;
}

py::array avg_pool2d_backward(const py::handle& dy_obj, const py::handle& input_shape,
                              const py::handle& kernel_size, const py::handle& stride, const py::handle& padding,
                              bool ceil_mode, bool count_include_pad) {
  constexpr const char* op = "avg_pool2d_backward";
  const py::array dy = float_input(dy_obj, op, "dy");
  require_rank(dy, 4, op, "dy");
  const Shape4 in = shape4(input_shape, op, "input_shape");
  const cpu::Pool2dShape s = pool_shape(op, in, kernel_size, stride, padding, {1, 1}, ceil_mode);
  require_shape(dy, {in[0], in[1], s.out_h, s.out_w}, op, "dy (the forward output's shape)");
  py::array dx = empty_like_dtype(dy.dtype(), {in[0], in[1], in[2], in[3]});
  dispatch(float_dtype(dy, op, "dy"), [&](auto zero) {
    using T = decltype(zero);
    const T* dy_data = cptr<T>(dy);
    T* dx_data = ptr<T>(dx);
    py::gil_scoped_release release;
    cpu::avg_pool2d_backward<T>(s, count_include_pad, dy_data, dx_data);
  });
  return dx;
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def("max_pool2d_forward", &max_pool2d_forward, py::arg("x"), py::arg("kernel_size"),
        py::arg("stride") = py::none(), py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("ceil_mode") = false,
        py::arg("relu") = false,
        "2-D max pooling of x (N, C, H, W) -> (y, indices); indices (int64) are flat positions in each input H * W "
        "plane, as PyTorch. stride None means kernel_size. relu=True pools relu(x) (y = max(y, 0), NaN kept), "
        "fused.");
  m.def("max_pool2d_backward", &max_pool2d_backward, py::arg("dy"), py::arg("indices"), py::arg("input_shape"),
        "Gradient of max_pool2d_forward: dy routed to the input positions in indices -> dx of input_shape.");
  m.def("avg_pool2d_forward", &avg_pool2d_forward, py::arg("x"), py::arg("kernel_size"),
        py::arg("stride") = py::none(), py::arg("padding") = 0, py::arg("ceil_mode") = false,
        py::arg("count_include_pad") = true,
        "2-D average pooling of x (N, C, H, W), with PyTorch's divisors. stride None means kernel_size.");
  m.def("avg_pool2d_backward", &avg_pool2d_backward, py::arg("dy"), py::arg("input_shape"), py::arg("kernel_size"),
        py::arg("stride") = py::none(), py::arg("padding") = 0, py::arg("ceil_mode") = false,
        py::arg("count_include_pad") = true, "Gradient of avg_pool2d_forward -> dx of input_shape.");
}

}  // namespace minigrad::bindings
