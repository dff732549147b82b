// Python bindings of layer normalisation over x's trailing `normalized_ndim`
// dimensions for both devices: _C.<op> on numpy arrays (csrc/cpu/layer_norm.h)
// and _C.cuda.<op> on DeviceArrays (cuda/layer_norm.h). Every argument is
// checked once, over an ArrayView, then the kernel of the device runs with the
// GIL released.
#include <optional>
#include <vector>

#include "../../cuda/layer_norm.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/layer_norm.h"

namespace minigrad::bindings {
namespace {

// x's leading dimensions (the rows; the statistics' shape) and its trailing
// normalized_ndim dimensions (a row; weight and bias's shape).
struct RowSplit {
  std::vector<int64_t> leading, normalized;
  ops::LayerNormShape shape;
};

RowSplit split_rows(const ArrayView& x, int64_t normalized_ndim, const char* op) {
  if (normalized_ndim < 1 || normalized_ndim > static_cast<int64_t>(x.ndim()))
    value_error(op, ": normalized_ndim must lie in [1, ", x.ndim(), "] for x of shape ", shape_str(x.shape), ", got ",
                normalized_ndim);
  const auto cut = x.shape.end() - normalized_ndim;
  RowSplit split{{x.shape.begin(), cut}, {cut, x.shape.end()}, {1, 1}};
  for (int64_t d : split.leading) split.shape.rows *= d;
  for (int64_t d : split.normalized) split.shape.cols *= d;
  return split;
}

template <Device D>
py::tuple layer_norm_forward(const py::handle& x_obj, const py::handle& weight_obj, const py::handle& bias_obj,
                             int64_t normalized_ndim, double eps) {
  const char* op = "layer_norm_forward";
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const RowSplit split = split_rows(x, normalized_ndim, op);
  const auto weight = optional_like<D>(weight_obj, x, split.normalized, op, "weight");
  const auto bias = optional_like<D>(bias_obj, x, split.normalized, op, "bias");
  const ArrayView y = empty_array<D>(x.shape, x.dtype);
  const ArrayView save_mean = empty_array<D>(split.leading, x.dtype);
  const ArrayView save_invstd = empty_array<D>(split.leading, x.dtype);
  dispatch(float_dtype(x), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::layer_norm_forward(cptr<T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias), ptr<T>(y), ptr<T>(save_mean),
                              ptr<T>(save_invstd), split.shape, eps);
    else
      cuda::layer_norm_forward(cptr<T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias), ptr<T>(y),
                               ptr<T>(save_mean), ptr<T>(save_invstd), split.shape, eps);
  });
  return py::make_tuple(y.object, save_mean.object, save_invstd.object);
}

template <Device D>
py::tuple layer_norm_backward(const py::handle& dy_obj, const py::handle& x_obj, const py::handle& weight_obj,
                              const py::handle& save_mean_obj, const py::handle& save_invstd_obj,
                              int64_t normalized_ndim, bool param_grads) {
  const char* op = "layer_norm_backward";
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const RowSplit split = split_rows(x, normalized_ndim, op);
  const ArrayView dy = float_like<D>(dy_obj, x, op, "dy", "x");
  const auto weight = optional_like<D>(weight_obj, x, split.normalized, op, "weight");
  if (save_mean_obj.is_none() || save_invstd_obj.is_none())
    type_error(op, ": save_mean and save_invstd must be ", D == Device::cpu ? "numpy" : "device",
               " arrays, got None");
  const ArrayView save_mean = *optional_like<D>(save_mean_obj, x, split.leading, op, "save_mean");
  const ArrayView save_invstd = *optional_like<D>(save_invstd_obj, x, split.leading, op, "save_invstd");
  const ArrayView dx = empty_array<D>(x.shape, x.dtype);
  std::optional<ArrayView> dweight, dbias;
  if (param_grads) {
    dweight = empty_array<D>(split.normalized, x.dtype);
    dbias = empty_array<D>(split.normalized, x.dtype);
  }
  dispatch(float_dtype(x), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::layer_norm_backward(cptr<T>(dy), cptr<T>(x), ptr_or_null<T>(weight), cptr<T>(save_mean),
                               cptr<T>(save_invstd), ptr<T>(dx), ptr_or_null<T>(dweight), ptr_or_null<T>(dbias),
                               split.shape);
    else
      cuda::layer_norm_backward(cptr<T>(dy), cptr<T>(x), ptr_or_null<T>(weight), cptr<T>(save_mean),
                                cptr<T>(save_invstd), ptr<T>(dx), ptr_or_null<T>(dweight), ptr_or_null<T>(dbias),
                                split.shape);
  });
  return py::make_tuple(dx.object, object_or_none(dweight), object_or_none(dbias));
}

template <Device D>
void def_layer_norm(py::module_& m) {
  m.def("layer_norm_forward", &layer_norm_forward<D>, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("normalized_ndim"), py::arg("eps") = 1e-5,
        "Layer norm of x over its trailing normalized_ndim dimensions -> (y, save_mean, save_invstd): "
        "y = (x - mean) / sqrt(var + eps) * weight + bias with the biased variance of each row; weight and bias "
        "have the normalised shape (None: 1 and 0); the statistics have x's leading shape.");
  m.def("layer_norm_backward", &layer_norm_backward<D>, py::arg("dy"), py::arg("x"), py::arg("weight"),
        py::arg("save_mean"), py::arg("save_invstd"), py::arg("normalized_ndim"), py::arg("param_grads") = true,
        "-> (dx, dweight, dbias): dweight and dbias (the sums over rows of dy * xhat and of dy) are None unless "
        "param_grads.");
}

}  // namespace

void bind_layer_norm(py::module_& m) { def_layer_norm<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_layer_norm(py::module_& cuda) { def_layer_norm<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
