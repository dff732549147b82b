// Python bindings of the fused in-place optimizer updates for both devices:
// _C.<op> on numpy arrays (csrc/cpu/optim.h) and _C.cuda.<op> on DeviceArrays
// (cuda/optim.h). Every argument is checked once, over an ArrayView, then the
// kernel of the device runs with the GIL released.
#include <optional>

#include "../../cuda/optim.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/optim.h"

namespace minigrad::bindings {
namespace {

// The parameter (updated in place) and its read-only gradient.
struct ParamGrad {
  ArrayView param, grad;
};

template <Device D>
ParamGrad param_and_grad(const py::handle& param_obj, const py::handle& grad_obj, const char* op) {
  ArrayView param = float_arg<D>(param_obj, op, "param");
  require_writeable(param, op, "param");
  return {param, float_like<D>(grad_obj, param, op, "grad", "param")};
}

// An optimizer state buffer: like param, written in place.
template <Device D>
ArrayView state(const py::handle& obj, const ArrayView& param, const char* op, const char* name) {
  ArrayView a = float_like<D>(obj, param, op, name, "param");
  require_writeable(a, op, name);
  return a;
}

// A state buffer that may be None; `needed` (with `why`) makes None an error.
template <Device D>
std::optional<ArrayView> optional_state(const py::handle& obj, const ArrayView& param, const char* op,
                                        const char* name, bool needed, const char* why) {
  if (obj.is_none()) {
    if (needed) value_error(op, ": ", name, " is required ", why, ", got None");
    return std::nullopt;
  }
  return state<D>(obj, param, op, name);
}

void require_step(int64_t step, const char* op) {
  if (step < 1) value_error(op, ": step must be >= 1 (the count after this update), got ", step);
}

// Runs kernel(T{}) for param's dtype with the GIL released.
template <typename Kernel>
void run(const ParamGrad& pg, Kernel kernel) {
  dispatch(float_dtype(pg.param), [&](auto t) {
    py::gil_scoped_release release;
    kernel(t);
  });
}

template <Device D>
void sgd_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& momentum_buffer_obj,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize,
              bool first_step) {
  const char* op = "sgd_step";
  const ParamGrad pg = param_and_grad<D>(param_obj, grad_obj, op);
  const auto buf = optional_state<D>(momentum_buffer_obj, pg.param, op, "momentum_buffer", momentum != 0,
                                     "when momentum != 0");
  if (nesterov && (momentum <= 0 || dampening != 0))
    value_error(op, ": Nesterov momentum requires a momentum > 0 and zero dampening, got momentum=", momentum,
                ", dampening=", dampening);
  const ops::SgdOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step};
  const int64_t n = pg.param.size();
  run(pg, [&](auto t) {
    using T = decltype(t);
    if constexpr (D == Device::cpu)
      cpu::sgd_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr_or_null<T>(buf), n, o);
    else
      cuda::sgd_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr_or_null<T>(buf), n, o);
  });
}

template <Device D>
void adam_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& exp_avg_obj,
               const py::handle& exp_avg_sq_obj, int64_t step, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool decoupled_weight_decay, const py::handle& max_exp_avg_sq_obj,
               bool maximize) {
  const char* op = "adam_step";
  const ParamGrad pg = param_and_grad<D>(param_obj, grad_obj, op);
  const ArrayView exp_avg = state<D>(exp_avg_obj, pg.param, op, "exp_avg");
  const ArrayView exp_avg_sq = state<D>(exp_avg_sq_obj, pg.param, op, "exp_avg_sq");
  const auto max_exp_avg_sq = optional_state<D>(max_exp_avg_sq_obj, pg.param, op, "max_exp_avg_sq", false, "");
  require_step(step, op);
  const ops::AdamOptions o{lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize, step};
  const int64_t n = pg.param.size();
  run(pg, [&](auto t) {
    using T = decltype(t);
    if constexpr (D == Device::cpu)
      cpu::adam_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(exp_avg), ptr<T>(exp_avg_sq),
                     ptr_or_null<T>(max_exp_avg_sq), n, o);
    else
      cuda::adam_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(exp_avg), ptr<T>(exp_avg_sq),
                      ptr_or_null<T>(max_exp_avg_sq), n, o);
  });
}

template <Device D>
void rmsprop_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& square_avg_obj,
                  double lr, double alpha, double eps, double weight_decay, double momentum,
                  const py::handle& momentum_buffer_obj, const py::handle& grad_avg_obj, bool maximize) {
  const char* op = "rmsprop_step";
  const ParamGrad pg = param_and_grad<D>(param_obj, grad_obj, op);
  const ArrayView square_avg = state<D>(square_avg_obj, pg.param, op, "square_avg");
  const auto buf = optional_state<D>(momentum_buffer_obj, pg.param, op, "momentum_buffer", momentum > 0,
                                     "when momentum > 0");
  const auto grad_avg = optional_state<D>(grad_avg_obj, pg.param, op, "grad_avg", false, "");
  const ops::RmspropOptions o{lr, alpha, eps, weight_decay, momentum, maximize};
  const int64_t n = pg.param.size();
  run(pg, [&](auto t) {
    using T = decltype(t);
    if constexpr (D == Device::cpu)
      cpu::rmsprop_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(square_avg), ptr_or_null<T>(buf),
                        ptr_or_null<T>(grad_avg), n, o);
    else
      cuda::rmsprop_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(square_avg), ptr_or_null<T>(buf),
                         ptr_or_null<T>(grad_avg), n, o);
  });
}

template <Device D>
void adagrad_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& state_sum_obj,
                  int64_t step, double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
  const char* op = "adagrad_step";
  const ParamGrad pg = param_and_grad<D>(param_obj, grad_obj, op);
  const ArrayView state_sum = state<D>(state_sum_obj, pg.param, op, "state_sum");
  require_step(step, op);
  const ops::AdagradOptions o{lr, lr_decay, weight_decay, eps, maximize, step};
  const int64_t n = pg.param.size();
  run(pg, [&](auto t) {
    using T = decltype(t);
    if constexpr (D == Device::cpu)
      cpu::adagrad_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(state_sum), n, o);
    else
      cuda::adagrad_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(state_sum), n, o);
  });
}

template <Device D>
void adadelta_step(const py::handle& param_obj, const py::handle& grad_obj, const py::handle& square_avg_obj,
                   const py::handle& acc_delta_obj, double lr, double rho, double eps, double weight_decay,
                   bool maximize) {
  const char* op = "adadelta_step";
  const ParamGrad pg = param_and_grad<D>(param_obj, grad_obj, op);
  const ArrayView square_avg = state<D>(square_avg_obj, pg.param, op, "square_avg");
  const ArrayView acc_delta = state<D>(acc_delta_obj, pg.param, op, "acc_delta");
  const ops::AdadeltaOptions o{lr, rho, eps, weight_decay, maximize};
  const int64_t n = pg.param.size();
  run(pg, [&](auto t) {
    using T = decltype(t);
    if constexpr (D == Device::cpu)
      cpu::adadelta_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(square_avg), ptr<T>(acc_delta), n, o);
    else
      cuda::adadelta_step(ptr<T>(pg.param), cptr<T>(pg.grad), ptr<T>(square_avg), ptr<T>(acc_delta), n, o);
  });
}

template <Device D>
void def_optim(py::module_& m) {
  m.def("sgd_step", &sgd_step<D>, py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"), py::arg("lr"),
        py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("nesterov") = false, py::arg("maximize") = false, py::arg("first_step") = false,
        "In-place SGD update as torch.optim.SGD. momentum_buffer (needed when momentum != 0) is set to the "
        "gradient when first_step, as PyTorch does on its first step.");
  m.def("adam_step", &adam_step<D>, py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"),
        py::arg("step"), py::arg("lr"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
        py::arg("weight_decay") = 0.0, py::arg("decoupled_weight_decay") = false,
        py::arg("max_exp_avg_sq") = py::none(), py::arg("maximize") = false,
        "In-place Adam update as torch.optim.Adam; decoupled_weight_decay=True is AdamW; AMSGrad when "
        "max_exp_avg_sq is given. step is the step count including this update (>= 1).");
  m.def("rmsprop_step", &rmsprop_step<D>, py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("lr"),
        py::arg("alpha") = 0.99, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0,
        py::arg("momentum_buffer") = py::none(), py::arg("grad_avg") = py::none(), py::arg("maximize") = false,
        "In-place RMSprop update as torch.optim.RMSprop; centered when grad_avg is given; momentum_buffer is "
        "needed when momentum > 0.");
  m.def("adagrad_step", &adagrad_step<D>, py::arg("param"), py::arg("grad"), py::arg("state_sum"), py::arg("step"),
        py::arg("lr"), py::arg("lr_decay") = 0.0, py::arg("weight_decay") = 0.0, py::arg("eps") = 1e-10,
        py::arg("maximize") = false,
        "In-place Adagrad update as torch.optim.Adagrad; step counts this update (>= 1).");
  m.def("adadelta_step", &adadelta_step<D>, py::arg("param"), py::arg("grad"), py::arg("square_avg"),
        py::arg("acc_delta"), py::arg("lr") = 1.0, py::arg("rho") = 0.9, py::arg("eps") = 1e-6,
        py::arg("weight_decay") = 0.0, py::arg("maximize") = false,
        "In-place Adadelta update as torch.optim.Adadelta.");
}

}  // namespace

void bind_optim(py::module_& m) { def_optim<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_optim(py::module_& cuda) { def_optim<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
