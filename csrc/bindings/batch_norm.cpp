// Batch normalisation over axis 1 of (N, C, ...): checks, then csrc/cpu/batch_norm.h.
#include "cpu/batch_norm.h"

#include <optional>

#include "bindings/arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
namespace {

namespace cpu = minigrad::cpu;

// A per-channel (C,) array with x's dtype, or nothing for None.
std::optional<py::array> channel_param(const py::handle& obj, const py::array& x, int64_t C, const char* op,
                                       const char* name, bool writeable) {
  if (obj.is_none()) return std::nullopt;
  py::array a = as_array(obj, op, name);
  require_same_dtype(a, x, op, name, "x");
  require_shape(a, {C}, op, name);
  require_contiguous(a, op, name);
  if (writeable) require_writeable(a, op, name);
  return a;
}

py::tuple batch_norm_forward(const py::handle& x_obj, const py::handle& weight_obj, const py::handle& bias_obj,
                             const py::handle& running_mean_obj, const py::handle& running_var_obj, bool training,
                             double momentum, double eps) {
  const char* op = "batch_norm_forward";
  py::array x = float_input(x_obj, op, "x");
  const ChannelView v = channel_view(x, op, "x");
  auto weight = channel_param(weight_obj, x, v.C, op, "weight", false);
  auto bias = channel_param(bias_obj, x, v.C, op, "bias", false);
  auto running_mean = channel_param(running_mean_obj, x, v.C, op, "running_mean", training);
  auto running_var = channel_param(running_var_obj, x, v.C, op, "running_var", training);
  if (running_mean.has_value() != running_var.has_value())
    value_error(op, ": running_mean and running_var must both be arrays or both be None");
  if (!training && !running_mean) value_error(op, ": running_mean and running_var are required when not training");
  if (training && v.N * v.inner <= 1)
    value_error(op, ": Expected more than 1 value per channel when training, got input of shape ", shape_str(x));
  py::array y(x.dtype(), shape_of(x));
  py::array save_mean(x.dtype(), std::vector<py::ssize_t>{v.C});
  py::array save_invstd(x.dtype(), std::vector<py::ssize_t>{v.C});
  dispatch(float_dtype(x, op, "x"), [&](auto t) {
    using T = decltype(t);
    const cpu::BatchNormShape shape{v.N, v.C, v.inner};
    if (training) {
      py::gil_scoped_release release;
      cpu::batch_norm_forward_training(cptr<T>(x), cptr_or_null<T>(weight), cptr_or_null<T>(bias),
                                       ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), ptr<T>(y),
                                       ptr<T>(save_mean), ptr<T>(save_invstd), shape, momentum, eps);
    } else {
      py::gil_scoped_release release;
      cpu::batch_norm_forward_eval(cptr<T>(x), cptr_or_null<T>(weight), cptr_or_null<T>(bias),
                                   cptr<T>(*running_mean), cptr<T>(*running_var), ptr<T>(y), ptr<T>(save_mean),
                                   ptr<T>(save_invstd), shape, eps);
    }
  });
  return py::make_tuple(y, save_mean, save_invstd);
}

py::tuple batch_norm_backward(const py::handle& dy_obj, const py::handle& x_obj, const py::handle& weight_obj,
                              const py::handle& save_mean_obj, const py::handle& save_invstd_obj, bool training) {
  const char* op = "batch_norm_backward";
  py::array x = float_input(x_obj, op, "x");
  const ChannelView v = channel_view(x, op, "x");
  py::array dy = float_like(dy_obj, x, op, "dy", "x");
  auto weight = channel_param(weight_obj, x, v.C, op, "weight", false);
  if (save_mean_obj.is_none() || save_invstd_obj.is_none())
    type_error(op, ": save_mean and save_invstd must be numpy arrays, got None");
  const py::array save_mean = *channel_param(save_mean_obj, x, v.C, op, "save_mean", false);
  const py::array save_invstd = *channel_param(save_invstd_obj, x, v.C, op, "save_invstd", false);
  py::array dx(x.dtype(), shape_of(x));
  std::optional<py::array> dweight, dbias;
  if (weight) {
    dweight = py::array(x.dtype(), std::vector<py::ssize_t>{v.C});
    dbias = py::array(x.dtype(), std::vector<py::ssize_t>{v.C});
  }
  dispatch(float_dtype(x, op, "x"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    cpu::batch_norm_backward(cptr<T>(dy), cptr<T>(x), cptr_or_null<T>(weight), cptr<T>(save_mean),
                             cptr<T>(save_invstd), ptr<T>(dx), ptr_or_null<T>(dweight), ptr_or_null<T>(dbias),
                             cpu::BatchNormShape{v.N, v.C, v.inner}, training);
  });
  auto or_none = [](const std::optional<py::array>& a) -> py::object { return a ? py::object(*a) : py::none(); };
  return py::make_tuple(dx, or_none(dweight), or_none(dbias));
}

}  // namespace

void bind_batch_norm(py::module_& m) {
  m.def("batch_norm_forward", &batch_norm_forward, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("training"), py::arg("momentum") = 0.1,
        py::arg("eps") = 1e-5,
        "Batch norm over axis 1 of x (N, C, ...) -> (y, save_mean, save_invstd). Training normalises with the "
        "batch statistics and updates running_mean/running_var in place when given (unbiased variance); eval "
        "uses the running statistics and returns their mean and 1/sqrt(var + eps).");
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("dy"), py::arg("x"), py::arg("weight"),
        py::arg("save_mean"), py::arg("save_invstd"), py::arg("training") = true,
        "-> (dx, dweight, dbias); dweight and dbias are None when weight is None. training=True differentiates "
        "through the batch statistics, training=False only through the affine map (running statistics).");
}

}  // namespace minigrad::bindings
