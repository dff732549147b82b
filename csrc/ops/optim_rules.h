// The optimizer update rules, one functor per optimizer updating element i,
// shared by the CPU loops (csrc/cpu/optim.cpp) and the CUDA kernel
// (cuda/optim.cu), so that the two backends run the same arithmetic. make()
// forms the per-step scalars from the options on the host, in double, then
// casts them to T (see optim.h).
#pragma once

#include <cmath>
#include <cstdint>

#include "host_device.h"
#include "optim.h"

namespace minigrad::optim_rules {

template <typename T>
MINIGRAD_HOST_DEVICE inline T square_root(T x) {
#if defined(__CUDA_ARCH__)
  return sqrt(x);  // CUDA's device overloads for float and double
#else
  return std::sqrt(x);
#endif
}

// The gradient PyTorch works with: negated under maximize, plus weight_decay * param (L2 penalty).
template <typename T>
MINIGRAD_HOST_DEVICE inline T effective_grad(const T* grad, const T* param, int64_t i, T weight_decay,
                                             bool maximize) {
  const T g = maximize ? -grad[i] : grad[i];
  return weight_decay != T(0) ? g + weight_decay * param[i] : g;
}

template <typename T>
struct Sgd {
  T *param, *buf;
  const T* grad;
  T lr, momentum, keep, weight_decay;
  bool maximize, use_momentum, nesterov, first;

  static Sgd make(T* param, const T* grad, T* momentum_buffer, const ops::SgdOptions& o) {
    return {param, momentum_buffer, grad, T(o.lr), T(o.momentum), T(1 - o.dampening), T(o.weight_decay),
            o.maximize, o.momentum != 0, o.nesterov, o.first_step};
  }
  MINIGRAD_HOST_DEVICE void operator()(int64_t i) const { update(i, use_momentum, first, nesterov); }
  // The flags as arguments: the CPU passes constants (cpu/optim.cpp, run_with_flags).
  MINIGRAD_HOST_DEVICE void update(int64_t i, bool with_momentum, bool first_step, bool with_nesterov) const {
    T g = effective_grad(grad, param, i, weight_decay, maximize);
    if (with_momentum) {
      const T b = first_step ? g : buf[i] * momentum + g * keep;
      buf[i] = b;
      g = with_nesterov ? g + b * momentum : b;
    }
    param[i] -= lr * g;
  }
};

// AMSGrad when max_exp_avg_sq is not null; AdamW's decoupled decay when `decoupled`.
template <typename T>
struct Adam {
  T *param, *exp_avg, *exp_avg_sq, *max_exp_avg_sq;
  const T* grad;
  T weight_decay, decay, one_minus_beta1, beta2, one_minus_beta2, step_size, bias_correction2_sqrt, eps;
  bool maximize, decoupled;

  static Adam make(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
                   const ops::AdamOptions& o) {
    const bool decoupled = o.decoupled_weight_decay && o.weight_decay != 0;
    const double step = static_cast<double>(o.step);
    return {param,
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq,
            grad,
            decoupled ? T(0) : T(o.weight_decay),
            T(1 - o.lr * o.weight_decay),
            T(1 - o.beta1),
            T(o.beta2),
            T(1 - o.beta2),
            T(o.lr / (1 - std::pow(o.beta1, step))),
            T(std::sqrt(1 - std::pow(o.beta2, step))),
            T(o.eps),
            o.maximize,
            decoupled};
  }
  MINIGRAD_HOST_DEVICE void operator()(int64_t i) const {
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
    param[i] -= step_size * (m / (square_root(v_used) / bias_correction2_sqrt + eps));
  }
};

// Centered when grad_avg is not null; momentum_buffer is used when momentum > 0.
template <typename T>
struct Rmsprop {
  T *param, *square_avg, *buf, *grad_avg;
  const T* grad;
  T weight_decay, lr, alpha, one_minus_alpha, eps, momentum;
  bool maximize, use_momentum;

  static Rmsprop make(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg,
                      const ops::RmspropOptions& o) {
    return {param,     square_avg,        momentum_buffer, grad_avg,        grad,       T(o.weight_decay), T(o.lr),
            T(o.alpha), T(1 - o.alpha), T(o.eps),        T(o.momentum), o.maximize, o.momentum > 0};
  }
  MINIGRAD_HOST_DEVICE void operator()(int64_t i) const { update(i, grad_avg != nullptr, use_momentum); }
  // The flags as arguments: the CPU passes constants (cpu/optim.cpp, run_with_flags).
  MINIGRAD_HOST_DEVICE void update(int64_t i, bool centered, bool with_momentum) const {
    const T g = effective_grad(grad, param, i, weight_decay, maximize);
    const T sq = square_avg[i] * alpha + one_minus_alpha * g * g;
    square_avg[i] = sq;
    T var = sq;
    if (centered) {  // subtract the squared running mean of the gradient
      const T ga = grad_avg[i] + one_minus_alpha * (g - grad_avg[i]);
      grad_avg[i] = ga;
      var = sq - ga * ga;
    }
    const T avg = square_root(var) + eps;
    if (with_momentum) {
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

  static Adagrad make(T* param, const T* grad, T* state_sum, const ops::AdagradOptions& o) {
    return {param, state_sum, grad, T(o.weight_decay),
            T(o.lr / (1 + static_cast<double>(o.step - 1) * o.lr_decay)), T(o.eps), o.maximize};
  }
  MINIGRAD_HOST_DEVICE void operator()(int64_t i) const {
    const T g = effective_grad(grad, param, i, weight_decay, maximize);
    const T sum = state_sum[i] + g * g;
    state_sum[i] = sum;
    param[i] -= clr * (g / (square_root(sum) + eps));
  }
};

template <typename T>
struct Adadelta {
  T *param, *square_avg, *acc_delta;
  const T* grad;
  T weight_decay, lr, rho, one_minus_rho, eps;
  bool maximize;

  static Adadelta make(T* param, const T* grad, T* square_avg, T* acc_delta, const ops::AdadeltaOptions& o) {
    return {param, square_avg, acc_delta, grad, T(o.weight_decay), T(o.lr), T(o.rho), T(1 - o.rho), T(o.eps),
            o.maximize};
  }
  MINIGRAD_HOST_DEVICE void operator()(int64_t i) const {
    const T g = effective_grad(grad, param, i, weight_decay, maximize);
    const T sq = square_avg[i] * rho + one_minus_rho * g * g;
    square_avg[i] = sq;
    const T delta = square_root(acc_delta[i] + eps) / square_root(sq + eps) * g;
    acc_delta[i] = acc_delta[i] * rho + one_minus_rho * delta * delta;
    param[i] -= lr * delta;
  }
};

}  // namespace minigrad::optim_rules
