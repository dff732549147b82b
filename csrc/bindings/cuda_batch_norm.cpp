// _C.cuda batch normalisation over axis 1 of (N, C, ...): the CPU bindings'
// signatures and checks (csrc/bindings/batch_norm.cpp) on DeviceArrays, then cuda/batch_norm.h.
#include <optional>

#include "../../cuda/batch_norm.h"
#include "bindings/cuda_arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
namespace {

// x as (N, C, inner); rank >= 2.
mc::BatchNormShape channel_shape(const DeviceArray& x, const char* op) {
  const auto& s = x.shape();
  if (s.size() < 2) value_error(op, ": x must have at least 2 dimensions (N, C, ...), got shape ", shape_str(s));
  int64_t inner = 1;
  for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
  return {s[0], s[1], inner};
}

// A per-channel (C,) array with x's dtype, or nothing for None.
std::optional<DeviceArray> channel_param(const py::handle& obj, const DeviceArray& x, int64_t C, const char* op,
                                         const char* name) {
  if (obj.is_none()) return std::nullopt;
  const DeviceArray& a = as_device_array(obj, op, name);
  if (a.dtype() != x.dtype())
    type_error(op, ": ", name, " has dtype ", std::string(py::str(numpy_dtype(a.dtype()))), " but x has dtype ",
               std::string(py::str(numpy_dtype(x.dtype()))));
  if (a.shape() != std::vector<int64_t>{C})
    value_error(op, ": ", name, " must have shape (", C, ",), got ", shape_str(a.shape()));
  return a;
}

template <typename T>
T* ptr_or_null(const std::optional<DeviceArray>& a) {
  return a ? static_cast<T*>(a->data()) : nullptr;
}
template <typename T>
T* ptr(const DeviceArray& a) {
  return static_cast<T*>(a.data());
}

py::tuple batch_norm_forward(const py::handle& x_obj, const py::handle& weight_obj, const py::handle& bias_obj,
                             const py::handle& running_mean_obj, const py::handle& running_var_obj, bool training,
                             double momentum, double eps) {
  const char* op = "batch_norm_forward";
  const DeviceArray& x = float_device_array(x_obj, op, "x");
  const mc::BatchNormShape s = channel_shape(x, op);
  auto weight = channel_param(weight_obj, x, s.C, op, "weight");
  auto bias = channel_param(bias_obj, x, s.C, op, "bias");
  auto running_mean = channel_param(running_mean_obj, x, s.C, op, "running_mean");
  auto running_var = channel_param(running_var_obj, x, s.C, op, "running_var");
  if (running_mean.has_value() != running_var.has_value())
    value_error(op, ": running_mean and running_var must both be arrays or both be None");
  if (!training && !running_mean) value_error(op, ": running_mean and running_var are required when not training");
  if (training && s.N * s.inner <= 1)
    value_error(op, ": Expected more than 1 value per channel when training, got input of shape ", shape_str(x.shape()));
  DeviceArray y(x.shape(), x.dtype()), save_mean({s.C}, x.dtype()), save_invstd({s.C}, x.dtype());
  {
    py::gil_scoped_release release;
    dispatch_float(x, [&](auto t) {
      using T = decltype(t);
      if (training)
        mc::batch_norm_forward_training(ptr<T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias),
                                        ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), ptr<T>(y),
                                        ptr<T>(save_mean), ptr<T>(save_invstd), s, momentum, eps);
      else
        mc::batch_norm_forward_eval(ptr<T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias), ptr<T>(*running_mean),
                                    ptr<T>(*running_var), ptr<T>(y), ptr<T>(save_mean), ptr<T>(save_invstd), s, eps);
    });
  }
  return py::make_tuple(y, save_mean, save_invstd);
}

py::tuple batch_norm_backward(const py::handle& dy_obj, const py::handle& x_obj, const py::handle& weight_obj,
                              const py::handle& save_mean_obj, const py::handle& save_invstd_obj, bool training) {
  const char* op = "batch_norm_backward";
  const DeviceArray& x = float_device_array(x_obj, op, "x");
  const mc::BatchNormShape s = channel_shape(x, op);
  const DeviceArray& dy = float_device_array(dy_obj, op, "dy");
  require_same(dy, x, op, "dy", "x");
  auto weight = channel_param(weight_obj, x, s.C, op, "weight");
  if (save_mean_obj.is_none() || save_invstd_obj.is_none())
    type_error(op, ": save_mean and save_invstd must be device arrays, got None");
  const DeviceArray save_mean = *channel_param(save_mean_obj, x, s.C, op, "save_mean");
  const DeviceArray save_invstd = *channel_param(save_invstd_obj, x, s.C, op, "save_invstd");
  DeviceArray dx(x.shape(), x.dtype());
  std::optional<DeviceArray> dweight, dbias;
  if (weight) dweight.emplace(std::vector<int64_t>{s.C}, x.dtype()), dbias.emplace(std::vector<int64_t>{s.C}, x.dtype());
  {
    py::gil_scoped_release release;
    dispatch_float(x, [&](auto t) {
      using T = decltype(t);
      mc::batch_norm_backward(ptr<T>(dy), ptr<T>(x), ptr_or_null<T>(weight), ptr<T>(save_mean), ptr<T>(save_invstd),
                              ptr<T>(dx), ptr_or_null<T>(dweight), ptr_or_null<T>(dbias), s, training);
    });
  }
  auto or_none = [](const std::optional<DeviceArray>& a) -> py::object { return a ? py::cast(*a) : py::none(); };
  return py::make_tuple(dx, or_none(dweight), or_none(dbias));
}

}  // namespace

void bind_cuda_batch_norm(py::module_& c) {
  c.def("batch_norm_forward", &batch_norm_forward, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("training"), py::arg("momentum") = 0.1,
        py::arg("eps") = 1e-5, "Batch norm over axis 1 on device arrays (as _C.batch_norm_forward).");
  c.def("batch_norm_backward", &batch_norm_backward, py::arg("dy"), py::arg("x"), py::arg("weight"),
        py::arg("save_mean"), py::arg("save_invstd"), py::arg("training") = true,
        "-> (dx, dweight, dbias) on device arrays (as _C.batch_norm_backward).");
}

}  // namespace minigrad::bindings
