// _C.cuda softmax family: the device twins of csrc/bindings/softmax_loss.cpp,
// same names, arguments, checks and returns, on DeviceArrays. Labels are small:
// they are copied to the host and checked there before any kernel reads them.
#include "../../cuda/softmax_loss.h"

#include <string>
#include <vector>

#include "bindings/cuda_arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
namespace {

struct Rows {
  int64_t rows, cols;
};

// x viewed as (rows, last axis); x needs at least one dimension.
Rows last_axis_rows(const DeviceArray& x, const char* op, const char* name) {
  const auto& shape = x.shape();
  if (shape.empty()) value_error(op, ": ", name, " must have at least 1 dimension, got shape ", shape_str(shape));
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  return {rows, shape.back()};
}

template <typename T>
const T* cdata(const DeviceArray& a) {
  return static_cast<const T*>(a.data());
}
template <typename T>
T* data(const DeviceArray& a) {
  return static_cast<T*>(a.data());
}

template <typename Kernel>
DeviceArray rowwise_forward(const char* op, const py::handle& x_obj, Kernel kernel) {
  const DeviceArray& x = float_device_array(x_obj, op, "x");
  const Rows r = last_axis_rows(x, op, "x");
  DeviceArray y(x.shape(), x.dtype());
  dispatch_float(x, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    kernel(cdata<T>(x), data<T>(y), r.rows, r.cols);
  });
  return y;
}

template <typename Kernel>
DeviceArray rowwise_backward(const char* op, const py::handle& y_obj, const py::handle& dy_obj, Kernel kernel) {
  const DeviceArray& y = float_device_array(y_obj, op, "y");
  const DeviceArray& dy = as_device_array(dy_obj, op, "dy");
  require_same(dy, y, op, "dy", "y");
  const Rows r = last_axis_rows(y, op, "y");
  DeviceArray dx(y.shape(), y.dtype());
  dispatch_float(y, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    kernel(cdata<T>(y), cdata<T>(dy), data<T>(dx), r.rows, r.cols);
  });
  return dx;
}

mc::Reduction parse_reduction(const std::string& reduction, const char* op) {
  if (reduction == "mean") return mc::Reduction::mean;
  if (reduction == "sum") return mc::Reduction::sum;
  if (reduction == "none") return mc::Reduction::none;
  value_error(op, ": reduction must be 'mean', 'sum' or 'none', got '", reduction, "'");
}

// Checks shared by cross_entropy_forward/backward, as the CPU binding: `scores` is (N, C) with C >= 1,
// target int64 (N,) with every label in [0, C) or equal to ignore_index (checked on a host copy).
mc::CrossEntropyOptions check_cross_entropy(const char* op, const DeviceArray& scores, const char* scores_name,
                                            const py::handle& target_obj, const std::string& reduction,
                                            double label_smoothing, int64_t ignore_index) {
  if (scores.shape().size() != 2)
    value_error(op, ": ", scores_name, " must have 2 dimensions, got shape ", shape_str(scores.shape()));
  const int64_t N = scores.shape()[0], C = scores.shape()[1];
  if (C < 1) value_error(op, ": ", scores_name, " needs at least one class, got shape ", shape_str(scores.shape()));
  const DeviceArray& target = as_device_array(target_obj, op, "target");
  if (target.dtype() != mc::DType::i64)
    type_error(op, ": target must be int64, got ", std::string(py::str(numpy_dtype(target.dtype()))));
  if (target.shape() != std::vector<int64_t>{N})
    value_error(op, ": target must have shape ", shape_str({N}), ", got ", shape_str(target.shape()));
  const mc::Reduction red = parse_reduction(reduction, op);
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    value_error(op, ": label_smoothing must be in [0, 1], got ", label_smoothing);
  std::vector<int64_t> labels(static_cast<size_t>(N));
  {
    py::gil_scoped_release release;
    target.copy_to_host(labels.data());
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

py::tuple cross_entropy_forward(const py::handle& logits_obj, const py::handle& target_obj,
                                const std::string& reduction, double label_smoothing, int64_t ignore_index) {
  const char* op = "cross_entropy_forward";
  const DeviceArray& logits = float_device_array(logits_obj, op, "logits");
  const auto options = check_cross_entropy(op, logits, "logits", target_obj, reduction, label_smoothing, ignore_index);
  const DeviceArray& target = target_obj.cast<const DeviceArray&>();
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  DeviceArray log_probs(logits.shape(), logits.dtype());
  DeviceArray loss(options.reduction == mc::Reduction::none ? std::vector<int64_t>{N} : std::vector<int64_t>{},
                   logits.dtype());
  dispatch_float(logits, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    mc::cross_entropy_forward(cdata<T>(logits), cdata<int64_t>(target), data<T>(log_probs), data<T>(loss), N, C,
                              options);
  });
  return py::make_tuple(loss, log_probs);
}

DeviceArray cross_entropy_backward(const py::handle& log_probs_obj, const py::handle& target_obj,
                                   const py::handle& grad_loss_obj, const std::string& reduction,
                                   double label_smoothing, int64_t ignore_index) {
  const char* op = "cross_entropy_backward";
  const DeviceArray& log_probs = float_device_array(log_probs_obj, op, "log_probs");
  const auto options =
      check_cross_entropy(op, log_probs, "log_probs", target_obj, reduction, label_smoothing, ignore_index);
  const DeviceArray& target = target_obj.cast<const DeviceArray&>();
  const int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
  const DeviceArray& grad_loss = as_device_array(grad_loss_obj, op, "grad_loss");
  if (grad_loss.dtype() != log_probs.dtype()) require_same(grad_loss, log_probs, op, "grad_loss", "log_probs");
  const bool per_row = options.reduction == mc::Reduction::none;
  const std::vector<int64_t> want = per_row ? std::vector<int64_t>{N} : std::vector<int64_t>{};
  if (grad_loss.shape() != want)
    value_error(op, ": grad_loss ", per_row ? "(reduction='none')" : "(reduction='mean'/'sum')",
                " must have shape ", shape_str(want), ", got ", shape_str(grad_loss.shape()));
  DeviceArray dlogits(log_probs.shape(), log_probs.dtype());
  dispatch_float(log_probs, [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    mc::cross_entropy_backward(cdata<T>(log_probs), cdata<int64_t>(target), cdata<T>(grad_loss), data<T>(dlogits), N,
                               C, options);
  });
  return dlogits;
}

}  // namespace

void bind_cuda_softmax_loss(py::module_& cuda) {
  cuda.def(
      "softmax",
      [](const py::handle& x) {
        return rowwise_forward("softmax", x, [](auto... a) { mc::softmax_forward(a...); });
      },
      py::arg("x"), "softmax over the last axis (numerically stable), on the device.");
  cuda.def(
      "log_softmax",
      [](const py::handle& x) {
        return rowwise_forward("log_softmax", x, [](auto... a) { mc::log_softmax_forward(a...); });
      },
      py::arg("x"), "log_softmax over the last axis (numerically stable), on the device.");
  cuda.def(
      "softmax_backward",
      [](const py::handle& y, const py::handle& dy) {
        return rowwise_backward("softmax_backward", y, dy, [](auto... a) { mc::softmax_backward(a...); });
      },
      py::arg("y"), py::arg("dy"), "Gradient of softmax from its output y: y * (dy - sum(dy * y)).");
  cuda.def(
      "log_softmax_backward",
      [](const py::handle& y, const py::handle& dy) {
        return rowwise_backward("log_softmax_backward", y, dy, [](auto... a) { mc::log_softmax_backward(a...); });
      },
      py::arg("y"), py::arg("dy"), "Gradient of log_softmax from its output y: dy - exp(y) * sum(dy).");
  cuda.def("cross_entropy_forward", &cross_entropy_forward, py::arg("logits"), py::arg("target"),
           py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0, py::arg("ignore_index") = -100,
           "Fused log_softmax + NLL over (N, C) logits and int64 targets (N,) on the device, as _C.cross_entropy_forward. "
           "Returns (loss, log_probs); loss is 0-d for 'mean'/'sum', (N,) for 'none'.");
  cuda.def("cross_entropy_backward", &cross_entropy_backward, py::arg("log_probs"), py::arg("target"),
           py::arg("grad_loss"), py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0,
           py::arg("ignore_index") = -100,
           "d loss / d logits from the forward's log_probs; grad_loss is 0-d for 'mean'/'sum', (N,) for 'none'.");
}

}  // namespace minigrad::bindings
