// _C.cuda pooling: the device twins of csrc/bindings/pool.cpp, same names,
// arguments, checks and returns, on DeviceArrays.
#include "../../cuda/pool.h"

#include <array>
#include <sstream>
#include <string>

#include "bindings/cuda_arrays.h"
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

template <typename T>
const T* cdata(const DeviceArray& a) {
  return static_cast<const T*>(a.data());
}
template <typename T>
T* data(const DeviceArray& a) {
  return static_cast<T*>(a.data());
}

// The (N, C, H, W) of a pooling input, after checking rank and emptiness.
Shape4 input_shape_of(const DeviceArray& x, const char* op, const char* name) {
  const auto& shape = x.shape();
  if (shape.size() != 4) value_error(op, ": ", name, " must have 4 dimensions, got shape ", shape_str(shape));
  for (int64_t d : shape)
    if (d == 0) value_error(op, ": ", name, " must not be empty, got shape ", shape_str(shape));
  return {shape[0], shape[1], shape[2], shape[3]};
}

// As pool.cpp's pool_shape: the hyper-parameters checked as PyTorch does
// (padding at most half the kernel, at least one window).
mc::Pool2dShape pool_shape(const char* op, const Shape4& in, const py::handle& kernel_size, const py::handle& stride,
                           const py::handle& padding, const Pair& dil, bool ceil_mode) {
  const Pair k = window_pair(kernel_size, op, "kernel_size", 1);
  const Pair st = stride.is_none() ? k : window_pair(stride, op, "stride", 1);
  const Pair pad = window_pair(padding, op, "padding", 0);
  if (pad.first > k.first / 2 || pad.second > k.second / 2)
    value_error(op, ": padding ", pair_str(pad), " must be at most half the kernel size ", pair_str(k));
  mc::Pool2dShape s{};
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
                             const py::handle& padding, const py::handle& dilation, bool ceil_mode) {
  constexpr const char* op = "max_pool2d_forward";
  const DeviceArray& x = float_device_array(x_obj, op, "x");
  const Shape4 in = input_shape_of(x, op, "x");
  const mc::Pool2dShape s =
      pool_shape(op, in, kernel_size, stride, padding, window_pair(dilation, op, "dilation", 1), ceil_mode);
  if (!cpu::every_window_hits_input(s))
    value_error(op, ": with input shape ", shape4_str(in), ", dilation ", pair_str({s.dilation_h, s.dilation_w}),
                " and padding ", pair_str({s.pad_h, s.pad_w}), " some window holds only padding");
  DeviceArray y({in[0], in[1], s.out_h, s.out_w}, x.dtype());
  DeviceArray indices({in[0], in[1], s.out_h, s.out_w}, mc::DType::i64);
  dispatch_float(x, [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    mc::max_pool2d_forward<T>(s, cdata<T>(x), data<T>(y), data<int64_t>(indices));
  });
  return py::make_tuple(y, indices);
}

DeviceArray max_pool2d_backward(const py::handle& dy_obj, const py::handle& indices_obj,
                                const py::handle& input_shape) {
  constexpr const char* op = "max_pool2d_backward";
  const DeviceArray& dy = float_device_array(dy_obj, op, "dy");
  const DeviceArray& indices = as_device_array(indices_obj, op, "indices");
  if (indices.dtype() != mc::DType::i64)
    type_error(op, ": indices must be int64, got ", std::string(py::str(numpy_dtype(indices.dtype()))));
  const Shape4 in = shape4(input_shape, op, "input_shape");
  const Shape4 out = input_shape_of(dy, op, "dy");
  if (indices.shape() != dy.shape())
    value_error(op, ": indices (dy's shape) must have shape ", shape_str(dy.shape()), ", got ",
                shape_str(indices.shape()));
  if (out[0] != in[0] || out[1] != in[1])
    value_error(op, ": dy shape ", shape_str(dy.shape()), " and input_shape ", shape4_str(in),
                " differ in batch or channels");
  const int64_t in_plane = in[2] * in[3], out_plane = out[2] * out[3];
  int64_t bad_value = 0, bad = -1;
  {
    py::gil_scoped_release release;
    bad = mc::first_index_out_of_range(cdata<int64_t>(indices), indices.size(), in_plane, &bad_value);
  }
  if (bad >= 0)
    value_error(op, ": indices must lie in [0, H * W = ", in_plane, ") for input_shape ", shape4_str(in), ", found ",
                bad_value, " at flat position ", bad);
  DeviceArray dx({in[0], in[1], in[2], in[3]}, dy.dtype());
  dispatch_float(dy, [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    mc::max_pool2d_backward<T>(in[0] * in[1], in_plane, out_plane, cdata<T>(dy), cdata<int64_t>(indices), data<T>(dx));
  });
  return dx;
}

DeviceArray avg_pool2d_forward(const py::handle& x_obj, const py::handle& kernel_size, const py::handle& stride,
                               const py::handle& padding, bool ceil_mode, bool count_include_pad) {
  constexpr const char* op = "avg_pool2d_forward";
  const DeviceArray& x = float_device_array(x_obj, op, "x");
  const Shape4 in = input_shape_of(x, op, "x");
  const mc::Pool2dShape s = pool_shape(op, in, kernel_size, stride, padding, {1, 1}, ceil_mode);
  DeviceArray y({in[0], in[1], s.out_h, s.out_w}, x.dtype());
  dispatch_float(x, [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    mc::avg_pool2d_forward<T>(s, count_include_pad, cdata<T>(x), data<T>(y));
  });
  return y;
}

DeviceArray avg_pool2d_backward(const py::handle& dy_obj, const py::handle& input_shape,
                                const py::handle& kernel_size, const py::handle& stride, const py::handle& padding,
                                bool ceil_mode, bool count_include_pad) {
  constexpr const char* op = "avg_pool2d_backward";
  const DeviceArray& dy = float_device_array(dy_obj, op, "dy");
  if (dy.shape().size() != 4) value_error(op, ": dy must have 4 dimensions, got shape ", shape_str(dy.shape()));
  const Shape4 in = shape4(input_shape, op, "input_shape");
  const mc::Pool2dShape s = pool_shape(op, in, kernel_size, stride, padding, {1, 1}, ceil_mode);
  const std::vector<int64_t> want{in[0], in[1], s.out_h, s.out_w};
  if (dy.shape() != want)
    value_error(op, ": dy (the forward output's shape) must have shape ", shape_str(want), ", got ",
                shape_str(dy.shape()));
  DeviceArray dx({in[0], in[1], in[2], in[3]}, dy.dtype());
  dispatch_float(dy, [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    mc::avg_pool2d_backward<T>(s, count_include_pad, cdata<T>(dy), data<T>(dx));
  });
  return dx;
}

}  // namespace

void bind_cuda_pool(py::module_& cuda) {
  cuda.def("max_pool2d_forward", &max_pool2d_forward, py::arg("x"), py::arg("kernel_size"),
           py::arg("stride") = py::none(), py::arg("padding") = 0, py::arg("dilation") = 1,
           py::arg("ceil_mode") = false,
           "2-D max pooling of x (N, C, H, W) on the device -> (y, indices); indices (int64) are flat positions in "
           "each input H * W plane, as PyTorch. stride None means kernel_size.");
  cuda.def("max_pool2d_backward", &max_pool2d_backward, py::arg("dy"), py::arg("indices"), py::arg("input_shape"),
           "Gradient of max_pool2d_forward: dy routed to the input positions in indices -> dx of input_shape.");
  cuda.def("avg_pool2d_forward", &avg_pool2d_forward, py::arg("x"), py::arg("kernel_size"),
           py::arg("stride") = py::none(), py::arg("padding") = 0, py::arg("ceil_mode") = false,
           py::arg("count_include_pad") = true,
           "2-D average pooling of x (N, C, H, W) on the device, with PyTorch's divisors.");
  cuda.def("avg_pool2d_backward", &avg_pool2d_backward, py::arg("dy"), py::arg("input_shape"),
           py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("padding") = 0,
           py::arg("ceil_mode") = false, py::arg("count_include_pad") = true,
           "Gradient of avg_pool2d_forward -> dx of input_shape.");
}

}  // namespace minigrad::bindings
