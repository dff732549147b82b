// softmax, log_softmax (last axis) and the fused cross-entropy: checks, then csrc/cpu/softmax_loss.h.
#include "cpu/softmax_loss.h"

#include <cmath>
#include <string>

#include "bindings/arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
namespace {

namespace cpu = minigrad::cpu;

struct Rows {
  int64_t rows, cols;
};

// x viewed as (rows, last axis); x needs at least one dimension.
Rows last_axis_rows(const py::array& x, const char* op, const char* name) {
  if (x.ndim() < 1) value_error(op, ": ", name, " must have at least 1 dimension, got shape ", shape_str(x));
  int64_t rows = 1;
  for (py::ssize_t i = 0; i + 1 < x.ndim(); ++i) rows *= x.shape(i);
  return {rows, x.shape(x.ndim() - 1)};
}

template <typename Kernel>
py::array rowwise_forward(const char* op, const py::handle& x_obj, Kernel kernel) {
  py::array x = float_input(x_obj, op, "x");
  const Rows r = last_axis_rows(x, op, "x");
  py::array y(x.dtype(), shape_of(x));
  dispatch(float_dtype(x, op, "x"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    kernel(cptr<T>(x), ptr<T>(y), r.rows, r.cols);
  });
  return y;
}

template <typename Kernel>
py::array rowwise_backward(const char* op, const py::handle& y_obj, const py::handle& dy_obj, Kernel kernel) {
  py::array y = float_input(y_obj, op, "y");
  py::array dy = float_like(dy_obj, y, op, "dy", "y");
  const Rows r = last_axis_rows(y, op, "y");
  py::array dx(y.dtype(), shape_of(y));
  dispatch(float_dtype(y, op, "y"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    kernel(cptr<T>(y), cptr<T>(dy), ptr<T>(dx), r.rows, r.cols);
  });
  return dx;
}

cpu::Reduction parse_reduction(const std::string& reduction, const char* op) {
  if (reduction == "mean") return cpu::Reduction::mean;
  if (reduction == "sum") return cpu::Reduction::sum;
  if (reduction == "none") return cpu::Reduction::none;
  value_error(op, ": reduction must be 'mean', 'sum' or 'none', got '", reduction, "'");
}

// Checks shared by cross_entropy_forward/backward: `scores` (logits or log_probs) is (N, C) with C >= 1,
// target int64 (N,) with every label in [0, C) or equal to ignore_index.
cpu::CrossEntropyOptions check_cross_entropy(const char* op, const py::array& scores, const char* scores_name,
                                             const py::array& target, const std::string& reduction,
                                             double label_smoothing, int64_t ignore_index) {
  require_rank(scores, 2, op, scores_name);
  const int64_t N = scores.shape(0), C = scores.shape(1);
  if (C < 1) value_error(op, ": ", scores_name, " needs at least one class, got shape ", shape_str(scores));
  require_dtype(target, py::dtype::of<int64_t>(), op, "target");
  require_shape(target, {N}, op, "target");
  require_contiguous(target, op, "target");
  const cpu::Reduction red = parse_reduction(reduction, op);
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    value_error(op, ": label_smoothing must be in [0, 1], got ", label_smoothing);
  const int64_t* labels = cptr<int64_t>(target);
  for (int64_t i = 0; i < N; ++i)
    if (labels[i] != ignore_index && (labels[i] < 0 || labels[i] >= C))
      value_error(op, ": target[", i, "] = ", labels[i], " is out of range for ", C,
                  " classes (expected 0 <= target < ", C, " or target == ignore_index = ", ignore_index, ")");
  return {red, label_smoothing, ignore_index};
}

py::tuple cross_entropy_forward(const py::handle& logits_obj, const py::handle& target_obj,
                                const std::string& reduction, double label_smoothing, int64_t ignore_index) {
  const char* op = "cross_entropy_forward";
  py::array logits = float_input(logits_obj, op, "logits");
  py::array target = as_array(target_obj, op, "target");
  const auto options = check_cross_entropy(op, logits, "logits", target, reduction, label_smoothing, ignore_index);
  const int64_t N = logits.shape(0), C = logits.shape(1);
  py::array log_probs(logits.dtype(), shape_of(logits));
  py::array loss(logits.dtype(), options.reduction == cpu::Reduction::none ? std::vector<py::ssize_t>{N}
                                                                              : std::vector<py::ssize_t>{});
  dispatch(float_dtype(logits, op, "logits"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    cpu::cross_entropy_forward(cptr<T>(logits), cptr<int64_t>(target), ptr<T>(log_probs), ptr<T>(loss), N, C,
                               options);
  });
  return py::make_tuple(loss, log_probs);
}

py::array cross_entropy_backward(const py::handle& log_probs_obj, const py::handle& target_obj,
                                 const py::handle& grad_loss_obj, const std::string& reduction,
                                 double label_smoothing, int64_t ignore_index) {
  const char* op = "cross_entropy_backward";
  py::array log_probs = float_input(log_probs_obj, op, "log_probs");
  py::array target = as_array(target_obj, op, "target");
  const auto options =
      check_cross_entropy(op, log_probs, "log_probs", target, reduction, label_smoothing, ignore_index);
  const int64_t N = log_probs.shape(0), C = log_probs.shape(1);
  py::array grad_loss = as_array(grad_loss_obj, op, "grad_loss");
  require_same_dtype(grad_loss, log_probs, op, "grad_loss", "log_probs");
  if (options.reduction == cpu::Reduction::none) {
    require_shape(grad_loss, {N}, op, "grad_loss (reduction='none')");
    require_contiguous(grad_loss, op, "grad_loss");
  } else {
    require_shape(grad_loss, {}, op, "grad_loss (reduction='mean'/'sum')");
  }
  py::array dlogits(log_probs.dtype(), shape_of(log_probs));
  dispatch(float_dtype(log_probs, op, "log_probs"), [&](auto t) {
    using T = decltype(t);
    py::gil_scoped_release release;
    cpu::cross_entropy_backward(cptr<T>(log_probs), cptr<int64_t>(target), cptr<T>(grad_loss), ptr<T>(dlogits), N,
                                C, options);
  });
  return dlogits;
}

}  // namespace

void bind_softmax_loss(py::module_& m) {
  m.def(
      "softmax",
      [](const py::handle& x) {
        return rowwise_forward("softmax", x, [](auto... a) { cpu::softmax_forward(a...); });
      },
      py::arg("x"), "softmax over the last axis (numerically stable).");
  m.def(
      "log_softmax",
      [](const py::handle& x) {
        return rowwise_forward("log_softmax", x, [](auto... a) { cpu::log_softmax_forward(a...); });
      },
      py::arg("x"), "log_softmax over the last axis (numerically stable).");
  m.def(
      "softmax_backward",
      [](const py::handle& y, const py::handle& dy) {
        return rowwise_backward("softmax_backward", y, dy, [](auto... a) { cpu::softmax_backward(a...); });
      },
      py::arg("y"), py::arg("dy"), "Gradient of softmax from its output y: y * (dy - sum(dy * y)).");
  m.def(
      "log_softmax_backward",
      [](const py::handle& y, const py::handle& dy) {
        return rowwise_backward("log_softmax_backward", y, dy,
                                [](auto... a) { cpu::log_softmax_backward(a...); });
      },
      py::arg("y"), py::arg("dy"), "Gradient of log_softmax from its output y: dy - exp(y) * sum(dy).");
  m.def("cross_entropy_forward", &cross_entropy_forward, py::arg("logits"), py::arg("target"),
        py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0, py::arg("ignore_index") = -100,
        "Fused log_softmax + NLL over (N, C) logits and int64 targets (N,), as torch.nn.functional.cross_entropy. "
        "Returns (loss, log_probs); loss is 0-d for 'mean'/'sum', (N,) for 'none'.");
  m.def("cross_entropy_backward", &cross_entropy_backward, py::arg("log_probs"), py::arg("target"),
        py::arg("grad_loss"), py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0,
        py::arg("ignore_index") = -100,
        "d loss / d logits from the forward's log_probs; grad_loss is 0-d for 'mean'/'sum', (N,) for 'none'.");
}

}  // namespace minigrad::bindings
