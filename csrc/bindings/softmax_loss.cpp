// Python bindings of softmax, log_softmax (last axis) and the fused
// cross-entropy for both devices: _C.<op> on numpy arrays
// (csrc/cpu/softmax_loss.h) and _C.cuda.<op> on DeviceArrays
// (cuda/softmax_loss.h). Every argument is checked once, over an ArrayView;
// device labels are small: they are copied to the host and checked there
// before any kernel reads them.
#include <cmath>
#include <string>
#include <vector>

#include "../../cuda/softmax_loss.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/softmax_loss.h"

namespace minigrad::bindings {
namespace {

struct Rows {
  int64_t rows, cols;
};

// x viewed as (rows, last axis); x needs at least one dimension.
Rows last_axis_rows(const ArrayView& x, const char* op, const char* name) {
  if (x.shape.empty()) value_error(op, ": ", name, " must have at least 1 dimension, got shape ", shape_str(x.shape));
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < x.shape.size(); ++i) rows *= x.shape[i];
  return {rows, x.shape.back()};
}

// The row-wise kernels of device D, by name, for the generic binding below.
enum class Rowwise { softmax, log_softmax };

template <Device D, Rowwise K, typename T>
void run_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  if constexpr (D == Device::cpu && K == Rowwise::softmax) cpu::softmax_forward(x, y, rows, cols);
  if constexpr (D == Device::cpu && K == Rowwise::log_softmax) cpu::log_softmax_forward(x, y, rows, cols);
  if constexpr (D == Device::cuda && K == Rowwise::softmax) cuda::softmax_forward(x, y, rows, cols);
  if constexpr (D == Device::cuda && K == Rowwise::log_softmax) cuda::log_softmax_forward(x, y, rows, cols);
}

template <Device D, Rowwise K, typename T>
void run_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols) {
  if constexpr (D == Device::cpu && K == Rowwise::softmax) cpu::softmax_backward(y, dy, dx, rows, cols);
  if constexpr (D == Device::cpu && K == Rowwise::log_softmax) cpu::log_softmax_backward(y, dy, dx, rows, cols);
  if constexpr (D == Device::cuda && K == Rowwise::softmax) cuda::softmax_backward(y, dy, dx, rows, cols);
  if constexpr (D == Device::cuda && K == Rowwise::log_softmax) cuda::log_softmax_backward(y, dy, dx, rows, cols);
}

template <Device D, Rowwise K>
py::object rowwise_forward(const char* op, const py::handle& x_obj) {
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const Rows r = last_axis_rows(x, op, "x");
  const ArrayView y = empty_array<D>(x.shape, x.dtype);
  dispatch(float_dtype(x), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    run_forward<D, K>(cptr<T>(x), ptr<T>(y), r.rows, r.cols);
  });
  return y.object;
}

template <Device D, Rowwise K>
py::object rowwise_backward(const char* op, const py::handle& y_obj, const py::handle& dy_obj) {
  const ArrayView y = float_arg<D>(y_obj, op, "y");
  const ArrayView dy = float_like<D>(dy_obj, y, op, "dy", "y");
  const Rows r = last_axis_rows(y, op, "y");
  const ArrayView dx = empty_array<D>(y.shape, y.dtype);
  dispatch(float_dtype(y), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    run_backward<D, K>(cptr<T>(y), cptr<T>(dy), ptr<T>(dx), r.rows, r.cols);
  });
  return dx.object;
}

ops::Reduction parse_reduction(const std::string& reduction, const char* op) {
  if (reduction == "mean") return ops::Reduction::mean;
  if (reduction == "sum") return ops::Reduction::sum;
  if (reduction == "none") return ops::Reduction::none;
  value_error(op, ": reduction must be 'mean', 'sum' or 'none', got '", reduction, "'");
}

// Checks shared by cross_entropy_forward/backward: `scores` (logits or log_probs) is (N, C) with C >= 1,
// target int64 (N,) with every label in [0, C) or equal to ignore_index.
template <Device D>
ops::CrossEntropyOptions check_cross_entropy(const char* op, const ArrayView& scores, const char* scores_name,
                                             const ArrayView& target, const std::string& reduction,
                                             double label_smoothing, int64_t ignore_index) {
  require_rank(scores, 2, op, scores_name);
  const int64_t N = scores.shape[0], C = scores.shape[1];
  if (C < 1) value_error(op, ": ", scores_name, " needs at least one class, got shape ", shape_str(scores.shape));
  require_dtype(target, py::dtype::of<int64_t>(), op, "target");
  require_shape(target, {N}, op, "target");
  require_contiguous(target, op, "target");
  const ops::Reduction red = parse_reduction(reduction, op);
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    value_error(op, ": label_smoothing must be in [0, 1], got ", label_smoothing);
  const int64_t* labels = cptr<int64_t>(target);
  std::vector<int64_t> host_labels;
  if constexpr (D == Device::cuda) {
    host_labels.resize(static_cast<size_t>(N));
    py::gil_scoped_release release;
    target.object.cast<const DeviceArray&>().copy_to_host(host_labels.data());
    labels = host_labels.data();
  }
  int64_t kept = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (labels[i] == ignore_index) continue;
    if (labels[i] < 0 || labels[i] >= C)
      value_error(op, ": target[", i, "] = ", labels[i], " is out of range for ", C,
                  " classes (expected 0 <= target < ", C, " or target == ignore_index = ", ignore_index, ")");
    ++kept;
  }
  return {red, label_smoothing, ignore_index, kept};
}

template <Device D>
py::tuple cross_entropy_forward(const py::handle& logits_obj, const py::handle& target_obj,
                                const std::string& reduction, double label_smoothing, int64_t ignore_index) {
  const char* op = "cross_entropy_forward";
  const ArrayView logits = float_arg<D>(logits_obj, op, "logits");
  const ArrayView target = array_arg<D>(target_obj, op, "target");
  const auto options =
      check_cross_entropy<D>(op, logits, "logits", target, reduction, label_smoothing, ignore_index);
  const int64_t N = logits.shape[0], C = logits.shape[1];
  const ArrayView log_probs = empty_array<D>(logits.shape, logits.dtype);
  const ArrayView loss = empty_array<D>(
      options.reduction == ops::Reduction::none ? std::vector<int64_t>{N} : std::vector<int64_t>{}, logits.dtype);
  dispatch(float_dtype(logits), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::cross_entropy_forward(cptr<T>(logits), cptr<int64_t>(target), ptr<T>(log_probs), ptr<T>(loss), N, C,
                                 options);
    else
      cuda::cross_entropy_forward(cptr<T>(logits), cptr<int64_t>(target), ptr<T>(log_probs), ptr<T>(loss), N, C,
                                  options);
  });
  return py::make_tuple(loss.object, log_probs.object);
}

template <Device D>
py::object cross_entropy_backward(const py::handle& log_probs_obj, const py::handle& target_obj,
                                  const py::handle& grad_loss_obj, const std::string& reduction,
                                  double label_smoothing, int64_t ignore_index) {
  const char* op = "cross_entropy_backward";
  const ArrayView log_probs = float_arg<D>(log_probs_obj, op, "log_probs");
  const ArrayView target = array_arg<D>(target_obj, op, "target");
  const auto options =
      check_cross_entropy<D>(op, log_probs, "log_probs", target, reduction, label_smoothing, ignore_index);
  const int64_t N = log_probs.shape[0], C = log_probs.shape[1];
  const ArrayView grad_loss = array_arg<D>(grad_loss_obj, op, "grad_loss");
  require_same_dtype(grad_loss, log_probs, op, "grad_loss", "log_probs");
  if (options.reduction == ops::Reduction::none) {
    require_shape(grad_loss, {N}, op, "grad_loss (reduction='none')");
    require_contiguous(grad_loss, op, "grad_loss");
  } else {
    require_shape(grad_loss, {}, op, "grad_loss (reduction='mean'/'sum')");
  }
  const ArrayView dlogits = empty_array<D>(log_probs.shape, log_probs.dtype);
  dispatch(float_dtype(log_probs), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::cross_entropy_backward(cptr<T>(log_probs), cptr<int64_t>(target), cptr<T>(grad_loss), ptr<T>(dlogits),
                                  N, C, options);
    else
      cuda::cross_entropy_backward(cptr<T>(log_probs), cptr<int64_t>(target), cptr<T>(grad_loss), ptr<T>(dlogits),
                                   N, C, options);
  });
  return dlogits.object;
}

template <Device D>
void def_softmax_loss(py::module_& m) {
  m.def(
      "softmax", [](const py::handle& x) { return rowwise_forward<D, Rowwise::softmax>("softmax", x); },
      py::arg("x"), "softmax over the last axis (numerically stable).");
  m.def(
      "log_softmax", [](const py::handle& x) { return rowwise_forward<D, Rowwise::log_softmax>("log_softmax", x); },
      py::arg("x"), "log_softmax over the last axis (numerically stable).");
  m.def(
      "softmax_backward",
      [](const py::handle& y, const py::handle& dy) {
        return rowwise_backward<D, Rowwise::softmax>("softmax_backward", y, dy);
      },
      py::arg("y"), py::arg("dy"), "Gradient of softmax from its output y: y * (dy - sum(dy * y)).");
  m.def(
      "log_softmax_backward",
      [](const py::handle& y, const py::handle& dy) {
        return rowwise_backward<D, Rowwise::log_softmax>("log_softmax_backward", y, dy);
      },
      py::arg("y"), py::arg("dy"), "Gradient of log_softmax from its output y: dy - exp(y) * sum(dy).");
  m.def("cross_entropy_forward", &cross_entropy_forward<D>, py::arg("logits"), py::arg("target"),
        py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0, py::arg("ignore_index") = -100,
        "Fused log_softmax + NLL over (N, C) logits and int64 targets (N,), as torch.nn.functional.cross_entropy. "
        "Returns (loss, log_probs); loss is 0-d for 'mean'/'sum', (N,) for 'none'.");
  m.def("cross_entropy_backward", &cross_entropy_backward<D>, py::arg("log_probs"), py::arg("target"),
        py::arg("grad_loss"), py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0,
        py::arg("ignore_index") = -100,
        "d loss / d logits from the forward's log_probs; grad_loss is 0-d for 'mean'/'sum', (N,) for 'none'.");
}

}  // namespace

void bind_softmax_loss(py::module_& m) { def_softmax_loss<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_softmax_loss(py::module_& cuda) { def_softmax_loss<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
