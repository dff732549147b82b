#include "optim.h"

#include <cmath>

#include "common.cuh"

namespace minigrad::cuda {
namespace {
constexpr int kThreads = 256;

// The gradient PyTorch works with: negated under maximize, plus weight_decay * param (L2 penalty).
template <typename T>
__device__ __forceinline__ T effective_grad(const T* grad, const T* param, int64_t i, T weight_decay, bool maximize) {
  const T g = maximize ? -grad[i] : grad[i];
  return weight_decay != T(0) ? g + weight_decay * param[i] : g;
}

// Each update is a functor over one element; one grid-stride kernel runs them all.
template <typename T>
struct Sgd {
  T *param, *buf;
  const T* grad;
  T lr, momentum, keep, weight_decay;
  bool maximize, use_momentum, nesterov, first;
  __device__ void operator()(int64_t i) const {
    T g = effective_grad(grad, param, i, weight_decay, maximize);
    if (use_momentum) {
      const T b = first ? g : buf[i] * momentum + g * keep;
      buf[i] = b;
      g = nesterov ? g + b * momentum : b;
    }
    param[i] -= lr * g;
  }
};

template <typename T>
struct Adam {
  T *param, *exp_avg, *exp_avg_sq, *max_exp_avg_sq;
  const T* grad;
  T weight_decay, decay, one_minus_beta1, beta2, one_minus_beta2, step_size, bias_correction2_sqrt, eps;
  bool maximize, decoupled;
  __device__ void operator()(int64_t i) const {
    const T g = effective_grad(grad, param, i, weight_decay, maximize);
    if (decoupled) param[i] *= decay;
    const T m = exp_avg[i] + one_minus_beta1 * (g - exp_avg[i]);  // lerp(exp_avg, g, 1 - beta1)
    const T v = exp_avg_sq[i] * beta2 + one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    T v_used = v;
    if (max_exp_avg_sq) {
      v_used = max_exp_avg_sq[i] > v ? max_exp_avg_sq[i] : v;
      max_exp_avg_sq[i] = v_used;
    }
    param[i] -= step_size * (m / (sqrt(v_used) / bias_correction2_sqrt + eps));
  }
};

template <typename T>
struct Rmsprop {
  T *param, *square_avg, *buf, *grad_avg;
  const T* grad;
  T weight_decay, lr, alpha, one_minus_alpha, eps, momentum;
  bool maximize, use_momentum;
  __device__ void operator()(int64_t i) const {
    const T g = effective_grad(grad, param, i, weight_decay, maximize);
    const T sq = square_avg[i] * alpha + one_minus_alpha * g * g;
    square_avg[i] = sq;
    T var = sq;
    if (grad_avg) {  // centered: subtract the squared running mean of the gradient
      const T ga = grad_avg[i] + one_minus_alpha * (g - grad_avg[i]);
      grad_avg[i] = ga;
      var = sq - ga * ga;
    }
    const T avg = sqrt(var) + eps;
    if (use_momentum) {
      const T b = buf[i] * momentum + g / avg;
      buf[i] = b;
      param[i] -= lr * b;
    } else {
      param[i] -= lr * (g / avg);
    }
  }
};

template <typename T>
struct Adagrad {
  T *param, *state_sum;
  const T* grad;
  T weight_decay, clr, eps;
  bool maximize;
  __device__ void operator()(int64_t i) const {
    const T g = effective_grad(grad, param, i, weight_decay, maximize);
    const T sum = state_sum[i] + g * g;
    state_sum[i] = sum;
    param[i] -= clr * (g / (sqrt(sum) + eps));
  }
};

template <typename T>
struct Adadelta {
  T *param, *square_avg, *acc_delta;
  const T* grad;
  T weight_decay, lr, rho, one_minus_rho, eps;
  bool maximize;
  __device__ void operator()(int64_t i) const {
    const T g = effective_grad(grad, param, i, weight_decay, maximize);
    const T sq = square_avg[i] * rho + one_minus_rho * g * g;
    square_avg[i] = sq;
    const T delta = sqrt(acc_delta[i] + eps) / sqrt(sq + eps) * g;
    acc_delta[i] = acc_delta[i] * rho + one_minus_rho * delta * delta;
    param[i] -= lr * delta;
  }
};

template <typename Update>
__global__ void update_kernel(Update update, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) update(i);
}

template <typename Update>
void run(const Update& update, int64_t n, const char* name) {
  if (n == 0) return;
  MG_LAUNCH(blocks_for(n, kThreads), kThreads, 0, nullptr, update_kernel<Update>)(update, n);
  check_launch(name);
}

template <typename T>
T as(double v) {
  return static_cast<T>(v);
}
}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SgdOptions& o) {
  const Sgd<T> u{param, momentum_buffer, grad, as<T>(o.lr), as<T>(o.momentum), as<T>(1 - o.dampening),
                 as<T>(o.weight_decay), o.maximize, o.momentum != 0, o.nesterov, o.first_step};
  run(u, n, "sgd_step kernel");
}

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const AdamOptions& o) {
  const bool decoupled = o.decoupled_weight_decay && o.weight_decay != 0;
  const double step = static_cast<double>(o.step);
  const Adam<T> u{param,
                  exp_avg,
                  exp_avg_sq,
                  max_exp_avg_sq,
                  grad,
                  decoupled ? T(0) : as<T>(o.weight_decay),
                  as<T>(1 - o.lr * o.weight_decay),
                  as<T>(1 - o.beta1),
                  as<T>(o.beta2),
                  as<T>(1 - o.beta2),
                  as<T>(o.lr / (1 - std::pow(o.beta1, step))),
                  as<T>(std::sqrt(1 - std::pow(o.beta2, step))),
                  as<T>(o.eps),
                  o.maximize,
                  decoupled};
  run(u, n, "adam_step kernel");
}

template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n,
                  const RmspropOptions& o) {
  const Rmsprop<T> u{param,          square_avg,          momentum_buffer,        grad_avg,
                     grad,           as<T>(o.weight_decay), as<T>(o.lr),          as<T>(o.alpha),
                     as<T>(1 - o.alpha), as<T>(o.eps),     as<T>(o.momentum),     o.maximize,
                     o.momentum > 0};
  run(u, n, "rmsprop_step kernel");
}

template <typename T>
void adagrad_step(T* param, const T* grad, T* state_sum, int64_t n, const AdagradOptions& o) {
  const Adagrad<T> u{param, state_sum, grad, as<T>(o.weight_decay),
                     as<T>(o.lr / (1 + static_cast<double>(o.step - 1) * o.lr_decay)), as<T>(o.eps), o.maximize};
  run(u, n, "adagrad_step kernel");
}

template <typename T>
void adadelta_step(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n, const AdadeltaOptions& o) {
  const Adadelta<T> u{param, square_avg, acc_delta, grad, as<T>(o.weight_decay), as<T>(o.lr), as<T>(o.rho),
                      as<T>(1 - o.rho), as<T>(o.eps), o.maximize};
  run(u, n, "adadelta_step kernel");
}

#define MG_INSTANTIATE(T)                                                                        \
  template void sgd_step<T>(T*, const T*, T*, int64_t, const SgdOptions&);                       \
  template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, const AdamOptions&);             \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, int64_t, const RmspropOptions&);       \
  template void adagrad_step<T>(T*, const T*, T*, int64_t, const AdagradOptions&);               \
  template void adadelta_step<T>(T*, const T*, T*, T*, int64_t, const AdadeltaOptions&);
MG_INSTANTIATE(float)
MG_INSTANTIATE(double)
#undef MG_INSTANTIATE
}  // namespace minigrad::cuda
