// _C.cuda fused optimizer updates: the CPU bindings' signatures and checks
// (csrc/bindings/optim.cpp) on DeviceArrays, then cuda/optim.h; in place.
#include <optional>

#include "../../cuda/optim.h"
#include "bindings/cuda_arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
namespace {

// The parameter (updated in place) and its read-only gradient, both float and of one shape and dtype.
struct ParamGrad {
  DeviceArray param, grad;
};

ParamGrad param_and_grad(const py::handle& param_obj, const py::handle& grad_obj, const char* op) {
  const DeviceArray& param = float_device_array(param_obj, op, "param");
  const DeviceArray& grad = float_device_array(grad_obj, op, "grad");
  require_same(grad, param, op, "grad", "param");
  return {param, grad};
}

DeviceArray state(const py::handle& obj, const DeviceArray& param, const char* op, const char* name) {
  const DeviceArray& a = float_device_array(obj, op, name);
  require_same(a, param, op, name, "param");
  return a;
}

// A state buffer that may be None; `needed` (with `why`) makes None an error.
std::optional<DeviceArray> optional_state(const py::handle& obj, const DeviceArray& param, const char* op,
                                          const char* name, bool needed, const char* why) {
  if (obj.is_none()) {
    if (needed) value_error(op, ": ", name, " is required ", why, ", got None");
    return std::nullopt;
  }
  return state(obj, param, op, name);
}

void require_step(int64_t step, const char* op) {
  if (step < 1) value_error(op, ": step must be >= 1 (the count after this update), got ", step);
}

template <typename T>
T* ptr(const DeviceArray& a) {
  return static_cast<T*>(a.data());
}
template <typename T>
T* ptr_or_null(const std::optional<DeviceArray>& a) {
  return a ? static_cast<T*>(a->data()) : nullptr;
}

// Runs kernel(T{}) for param's dtype with the GIL released.
template <typename Kernel>
void run(const ParamGrad& pg, Kernel kernel) {
  py::gil_scoped_release release;
  dispatch_float(pg.param, kernel);
}

void sgd_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& momentum_buffer_obj,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize,
              bool first_step) {
  const char* op = "sgd_step";
  const ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  auto buf = optional_state(momentum_buffer_obj, pg.param, op, "momentum_buffer", momentum != 0,
                            "when momentum != 0");
  if (nesterov && (momentum <= 0 || dampening != 0))
    value_error(op, ": Nesterov momentum requires a momentum > 0 and zero dampening, got momentum=", momentum,
                ", dampening=", dampening);
  const mc::SgdOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step};
  run(pg, [&](auto t) {
    using T = decltype(t);
    mc::sgd_step(ptr<T>(pg.param), ptr<T>(pg.grad), ptr_or_null<T>(buf), pg.param.size(), o);
  });
}

void adam_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& exp_avg_obj,
               const py::handle& exp_avg_sq_obj, int64_t step, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, const py::handle& max_exp_avg_sq_obj,
               bool maximize) {
  const char* op = "adam_step";
  const ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  const DeviceArray exp_avg = state(exp_avg_obj, pg.param, op, "exp_avg");
  const DeviceArray exp_avg_sq = state(exp_avg_sq_obj, pg.param, op, "exp_avg_sq");
  auto max_exp_avg_sq = optional_state(max_exp_avg_sq_obj, pg.param, op, "max_exp_avg_sq", false, "");
  require_step(step, op);
  const mc::AdamOptions o{lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize, step};
  run(pg, [&](auto t) {
    using T = decltype(t);
    mc::adam_step(ptr<T>(pg.param), ptr<T>(pg.grad), ptr<T>(exp_avg), ptr<T>(exp_avg_sq),
                  ptr_or_null<T>(max_exp_avg_sq), pg.param.size(), o);
  });
}

void rmsprop_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& square_avg_obj,
                  double lr, double alpha, double eps, double weight_decay, double momentum,
                  const py::handle& momentum_buffer_obj, const py::handle& grad_avg_obj, bool maximize) {
  const char* op = "rmsprop_step";
  const ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  const DeviceArray square_avg = state(square_avg_obj, pg.param, op, "square_avg");
  auto buf = optional_state(momentum_buffer_obj, pg.param, op, "momentum_buffer", momentum > 0,
                            "when momentum > 0");
  auto grad_avg = optional_state(grad_avg_obj, pg.param, op, "grad_avg", false, "");
  const mc::RmspropOptions o{lr, alpha, eps, weight_decay, momentum, maximize};
  run(pg, [&](auto t) {
    using T = decltype(t);
    mc::rmsprop_step(ptr<T>(pg.param), ptr<T>(pg.grad), ptr<T>(square_avg), ptr_or_null<T>(buf),
                     ptr_or_null<T>(grad_avg), pg.param.size(), o);
  });
}

void adagrad_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& state_sum_obj,
                  int64_t step, double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
  const char* op = "adagrad_step";
  const ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  const DeviceArray state_sum = state(state_sum_obj, pg.param, op, "state_sum");
  require_step(step, op);
  const mc::AdagradOptions o{lr, lr_decay, weight_decay, eps, maximize, step};
  run(pg, [&](auto t) {
    using T = decltype(t);
    mc::adagrad_step(ptr<T>(pg.param), ptr<T>(pg.grad), ptr<T>(state_sum), pg.param.size(), o);
  });
}

void adadelta_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& square_avg_obj,
                   const py::handle& acc_delta_obj, double lr, double rho, double eps, double weight_decay,
                   bool maximize) {
  const char* op = "adadelta_step";
  const ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  const DeviceArray square_avg = state(square_avg_obj, pg.param, op, "square_avg");
  const DeviceArray acc_delta = state(acc_delta_obj, pg.param, op, "acc_delta");
  const mc::AdadeltaOptions o{lr, rho, eps, weight_decay, maximize};
  run(pg, [&](auto t) {
    using T = decltype(t);
    mc::adadelta_step(ptr<T>(pg.param), ptr<T>(pg.grad), ptr<T>(square_avg), ptr<T>(acc_delta), pg.param.size(),
                      o);
  });
}

}  // namespace

void bind_cuda_optim(py::module_& c) {
  c.def("sgd_step", &sgd_step, py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"), py::arg("lr"),
        py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("nesterov") = false, py::arg("maximize") = false, py::arg("first_step") = false,
        "SGD update in place on device arrays (as _C.sgd_step).");
  c.def("adam_step", &adam_step, py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"),
        py::arg("step"), py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
        py::arg("weight_decay") = 0.0, py::arg("decoupled_weight_decay") = false,
        py::arg("max_exp_avg_sq") = py::none(), py::arg("maximize") = false,
        "Adam/AdamW (AMSGrad with max_exp_avg_sq) update in place on device arrays (as _C.adam_step).");
  c.def("rmsprop_step", &rmsprop_step, py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("lr"),
        py::arg("alpha") = 0.99, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0,
        py::arg("momentum_buffer") = py::none(), py::arg("grad_avg") = py::none(), py::arg("maximize") = false,
        "RMSprop update in place on device arrays (as _C.rmsprop_step).");
  c.def("adagrad_step", &adagrad_step, py::arg("param"), py::arg("grad"), py::arg("state_sum"), py::arg("step"),
        py::arg("lr"), py::arg("lr_decay") = 0.0, py::arg("weight_decay") = 0.0, py::arg("eps") = 1e-10,
        py::arg("maximize") = false, "Adagrad update in place on device arrays (as _C.adagrad_step).");
  c.def("adadelta_step", &adadelta_step, py::arg("param"), py::arg("grad"), py::arg("square_avg"),
        py::arg("acc_delta"), py::arg("lr") = 1.0, py::arg("rho") = 0.9, py::arg("eps") = 1e-6,
        py::arg("weight_decay") = 0.0, py::arg("maximize") = false,
        "Adadelta update in place on device arrays (as _C.adadelta_step).");
}

}  // namespace minigrad::bindings
