// Python bindings of batch normalisation over axis 1 of (N, C, ...) for both
// devices: _C.<op> on numpy arrays (csrc/cpu/batch_norm.h) and _C.cuda.<op> on
// DeviceArrays (cuda/batch_norm.h). Every argument is checked once, over an
// ArrayView, then the kernel of the device runs with the GIL released.
#include <optional>

#include "../../cuda/batch_norm.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/batch_norm.h"

namespace minigrad::bindings {
namespace {

// x as (N, C, inner); rank >= 2.
ops::BatchNormShape channel_shape(const ArrayView& x, const char* op) {
  if (x.ndim() < 2)
    value_error(op, ": x must have at least 2 dimensions (N, C, ...), got shape ", shape_str(x.shape));
  int64_t inner = 1;
  for (size_t d = 2; d < x.ndim(); ++d) inner *= x.shape[d];
  return {x.shape[0], x.shape[1], inner};
}

// A per-channel (C,) array with x's dtype, or nothing for None.
template <Device D>
std::optional<ArrayView> channel_param(const py::handle& obj, const ArrayView& x, int64_t C, const char* op,
                                       const char* name, bool writeable) {
  std::optional<ArrayView> a = optional_like<D>(obj, x, {C}, op, name);
  if (a && writeable) require_writeable(*a, op, name);
  return a;
}

template <Device D>
py::tuple batch_norm_forward(const py::handle& x_obj, const py::handle& weight_obj, const py::handle& bias_obj,
                             const py::handle& running_mean_obj, const py::handle& running_var_obj, bool training,
                             double momentum, double eps) {
  const char* op = "batch_norm_forward";
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const ops::BatchNormShape s = channel_shape(x, op);
  const auto weight = channel_param<D>(weight_obj, x, s.C, op, "weight", false);
  const auto bias = channel_param<D>(bias_obj, x, s.C, op, "bias", false);
  const auto running_mean = channel_param<D>(running_mean_obj, x, s.C, op, "running_mean", training);
  const auto running_var = channel_param<D>(running_var_obj, x, s.C, op, "running_var", training);
  if (running_mean.has_value() != running_var.has_value())
    value_error(op, ": running_mean and running_var must both be arrays or both be None");
  if (!training && !running_mean) value_error(op, ": running_mean and running_var are required when not training");
  if (training && s.N * s.inner <= 1)
    value_error(op, ": Expected more than 1 value per channel when training, got input of shape ", shape_str(x.shape));
  const ArrayView y = empty_array<D>(x.shape, x.dtype);
  const ArrayView save_mean = empty_array<D>({s.C}, x.dtype);
  const ArrayView save_invstd = empty_array<D>({s.C}, x.dtype);
  dispatch(float_dtype(x), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    if (training) {
      if constexpr (D == Device::cpu)
        cpu::batch_norm_forward_training(cptr<T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias),
                                         ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), ptr<T>(y),
                                         ptr<T>(save_mean), ptr<T>(save_invstd), s, momentum, eps);
      else
        cuda::batch_norm_forward_training(cptr<T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias),
                                          ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), ptr<T>(y),
                                          ptr<T>(save_mean), ptr<T>(save_invstd), s, momentum, eps);
    } else {
      if constexpr (D == Device::cpu)
        cpu::batch_norm_forward_eval(cptr<T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias),
                                     cptr<T>(*running_mean), cptr<T>(*running_var), ptr<T>(y), ptr<T>(save_mean),
                                     ptr<T>(save_invstd), s, eps);
      else
        cuda::batch_norm_forward_eval(cptr<T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias),
                                      cptr<T>(*running_mean), cptr<T>(*running_var), ptr<T>(y), ptr<T>(save_mean),
                                      ptr<T>(save_invstd), s, eps);
    }
  });
  return py::make_tuple(y.object, save_mean.object, save_invstd.object);
}

template <Device D>
py::tuple batch_norm_backward(const py::handle& dy_obj, const py::handle& x_obj, const py::handle& weight_obj,
                              const py::handle& save_mean_obj, const py::handle& save_invstd_obj, bool training) {
  const char* op = "batch_norm_backward";
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const ops::BatchNormShape s = channel_shape(x, op);
  const ArrayView dy = float_like<D>(dy_obj, x, op, "dy", "x");
  const auto weight = channel_param<D>(weight_obj, x, s.C, op, "weight", false);
  if (save_mean_obj.is_none() || save_invstd_obj.is_none())
    type_error(op, ": save_mean and save_invstd must be ", D == Device::cpu ? "numpy" : "device",
               " arrays, got None");
  const ArrayView save_mean = *channel_param<D>(save_mean_obj, x, s.C, op, "save_mean", false);
  const ArrayView save_invstd = *channel_param<D>(save_invstd_obj, x, s.C, op, "save_invstd", false);
  const ArrayView dx = empty_array<D>(x.shape, x.dtype);
  std::optional<ArrayView> dweight, dbias;
  if (weight) {
    dweight = empty_array<D>({s.C}, x.dtype);
    dbias = empty_array<D>({s.C}, x.dtype);
  }
  dispatch(float_dtype(x), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::batch_norm_backward(cptr<T>(dy), cptr<T>(x), ptr_or_null<T>(weight), cptr<T>(save_mean),
                               cptr<T>(save_invstd), ptr<T>(dx), ptr_or_null<T>(dweight), ptr_or_null<T>(dbias), s,
                               training);
    else
      cuda::batch_norm_backward(cptr<T>(dy), cptr<T>(x), ptr_or_null<T>(weight), cptr<T>(save_mean),
                                cptr<T>(save_invstd), ptr<T>(dx), ptr_or_null<T>(dweight), ptr_or_null<T>(dbias), s,
                                training);
  });
  return py::make_tuple(dx.object, object_or_none(dweight), object_or_none(dbias));
}

template <Device D>
void def_batch_norm(py::module_& m) {
  m.def("batch_norm_forward", &batch_norm_forward<D>, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("training"), py::arg("momentum") = 0.1,
        py::arg("eps") = 1e-5,
        "Batch norm over axis 1 of x (N, C, ...) -> (y, save_mean, save_invstd). Training normalises with the "
        "batch statistics and updates running_mean/running_var in place when given (unbiased variance); eval "
        "uses the running statistics and returns their mean and 1/sqrt(var + eps).");
  m.def("batch_norm_backward", &batch_norm_backward<D>, py::arg("dy"), py::arg("x"), py::arg("weight"),
        py::arg("save_mean"), py::arg("save_invstd"), py::arg("training") = true,
        "-> (dx, dweight, dbias); dweight and dbias are None when weight is None. training=True differentiates "
        "through the batch statistics, training=False only through the affine map (running statistics).");
}

}  // namespace

void bind_batch_norm(py::module_& m) { def_batch_norm<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_batch_norm(py::module_& cuda) { def_batch_norm<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
