// Fused in-place optimizer updates: checks, then csrc/cpu/optim.h.
#include "cpu/optim.h"

#include <optional>

#include "bindings/arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
namespace {

namespace cpu = minigrad::cpu;

// The parameter (updated in place) and its read-only gradient.
struct ParamGrad {
  py::array param, grad;
};

ParamGrad param_and_grad(const py::handle& param_obj, const py::handle& grad_obj, const char* op) {
  py::array param = float_input(param_obj, op, "param");
  require_writeable(param, op, "param");
  return {param, float_like(grad_obj, param, op, "grad", "param")};
}

// An optimizer state buffer: like param, written in place.
py::array state(const py::handle& obj, const py::array& param, const char* op, const char* name) {
  py::array a = float_like(obj, param, op, name, "param");
  require_writeable(a, op, name);
  return a;
}

// A state buffer that may be None; `needed` (with `why`) makes None an error.
std::optional<py::array> optional_state(const py::handle& obj, const py::array& param, const char* op,
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

// Runs kernel(T{}) for param's dtype with the GIL released.
template <typename Kernel>
void run(const ParamGrad& pg, const char* op, Kernel kernel) {
  dispatch(float_dtype(pg.param, op, "param"), [&](auto t) {
    py::gil_scoped_release release;
    kernel(t);
  });
}

void sgd_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& momentum_buffer_obj,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize,
              bool first_step) {
  const char* op = "sgd_step";
  ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  auto buf = optional_state(momentum_buffer_obj, pg.param, op, "momentum_buffer", momentum != 0,
                            "when momentum != 0");
  if (nesterov && (momentum <= 0 || dampening != 0))
    value_error(op, ": Nesterov momentum requires a momentum > 0 and zero dampening, got momentum=", momentum,
                ", dampening=", dampening);
  const cpu::SgdOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step};
  const int64_t n = pg.param.size();
  run(pg, op, [&](auto t) {
    using T = decltype(t);
    cpu::sgd_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr_or_null<T>(buf), n, o);
  });
}

void adam_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& exp_avg_obj,
               const py::handle& exp_avg_sq_obj, int64_t step, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, const py::handle& max_exp_avg_sq_obj,
               bool maximize) {
  const char* op = "adam_step";
  ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  py::array exp_avg = state(exp_avg_obj, pg.param, op, "exp_avg");
  py::array exp_avg_sq = state(exp_avg_sq_obj, pg.param, op, "exp_avg_sq");
  auto max_exp_avg_sq = optional_state(max_exp_avg_sq_obj, pg.param, op, "max_exp_avg_sq", false, "");
  require_step(step, op);
  const cpu::AdamOptions o{lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize, step};
  const int64_t n = pg.param.size();
  run(pg, op, [&](auto t) {
    using T = decltype(t);
    cpu::adam_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(exp_avg), ptr<T>(exp_avg_sq),
                   ptr_or_null<T>(max_exp_avg_sq), n, o);
  });
}

void rmsprop_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& square_avg_obj,
                  double lr, double alpha, double eps, double weight_decay, double momentum,
                  const py::handle& momentum_buffer_obj, const py::handle& grad_avg_obj, bool maximize) {
  const char* op = "rmsprop_step";
  ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  py::array square_avg = state(square_avg_obj, pg.param, op, "square_avg");
  auto buf = optional_state(momentum_buffer_obj, pg.param, op, "momentum_buffer", momentum > 0,
                            "when momentum > 0");
  auto grad_avg = optional_state(grad_avg_obj, pg.param, op, "grad_avg", false, "");
  const cpu::RmspropOptions o{lr, alpha, eps, weight_decay, momentum, maximize};
  const int64_t n = pg.param.size();
  run(pg, op, [&](auto t) {
    using T = decltype(t);
    cpu::rmsprop_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(square_avg), ptr_or_null<T>(buf),
                      ptr_or_null<T>(grad_avg), n, o);
  });
}

void adagrad_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& state_sum_obj,
                  int64_t step, double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
  const char* op = "adagrad_step";
  ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  py::array state_sum = state(state_sum_obj, pg.param, op, "state_sum");
  require_step(step, op);
  const cpu::AdagradOptions o{lr, lr_decay, weight_decay, eps, maximize, step};
  const int64_t n = pg.param.size();
  run(pg, op, [&](auto t) {
    using T = decltype(t);
    cpu::adagrad_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(state_sum), n, o);
  });
}

void adadelta_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& square_avg_obj,
                   const py::handle& acc_delta_obj, double lr, double rho, double eps, double weight_decay,
                   bool maximize) {
  const char* op = "adadelta_step";
  ParamGrad pg = param_and_grad(param_obj, grad_obj, op);
  py::array square_avg = state(square_avg_obj, pg.param, op, "square_avg");
  py::array acc_delta = state(acc_delta_obj, pg.param, op, "acc_delta");
  const cpu::AdadeltaOptions o{lr, rho, eps, weight_decay, maximize};
  const int64_t n = pg.param.size();
  run(pg, op, [&](auto t) {
    using T = decltype(t);
    cpu::adadelta_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(square_avg), ptr<T>(acc_delta), n, o);
  });
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("sgd_step", &sgd_step, py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"), py::arg("lr"),
        py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("nesterov") = false, py::arg("maximize") = false, py::arg("first_step") = false,
        "In-place SGD update as torch.optim.SGD. momentum_buffer (needed when momentum != 0) is set to the "
        "gradient when first_step, as PyTorch does on its first step.");
  m.def("adam_step", &adam_step, py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"),
        py::arg("step"), py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
        py::arg("weight_decay") = 0.0, py::arg("decoupled_weight_decay") = false,
        py::arg("max_exp_avg_sq") = py::none(), py::arg("maximize") = false,
        "In-place Adam update as torch.optim.Adam; decoupled_weight_decay=True is AdamW; AMSGrad when "
        "max_exp_avg_sq is given. step is the step count including this update (>= 1).");
  m.def("rmsprop_step", &rmsprop_step, py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("lr"),
        py::arg("alpha") = 0.99, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0,
        py::arg("momentum_buffer") = py::none(), py::arg("grad_avg") = py::none(), py::arg("maximize") = false,
        "In-place RMSprop update as torch.optim.RMSprop; centered when grad_avg is given; momentum_buffer is "
        "needed when momentum > 0.");
  m.def("adagrad_step", &adagrad_step, py::arg("param"), py::arg("grad"), py::arg("state_sum"), py::arg("step"),
        py::arg("lr"), py::arg("lr_decay") = 0.0, py::arg("weight_decay") = 0.0, py::arg("eps") = 1e-10,
        py::arg("maximize") = false,
        "In-place Adagrad update as torch.optim.Adagrad; step counts this update (>= 1).");
  m.def("adadelta_step", &adadelta_step, py::arg("param"), py::arg("grad"), py::arg("square_avg"),
        py::arg("acc_delta"), py::arg("lr") = 1.0, py::arg("rho") = 0.9, py::arg("eps") = 1e-6,
        py::arg("weight_decay") = 0.0, py::arg("maximize") = false,
        "In-place Adadelta update as torch.optim.Adadelta.");
}

}  // namespace minigrad::bindings
