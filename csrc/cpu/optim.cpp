#include "cpu/optim.h"

#include <cmath>

#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// fn(i) for every element; each thread gets at least kMinParallelWork
// elements (as for_each_slice), so LeNet-5's largest parameter (48,000
// elements) updates on one thread: waking a second one for it cost more than
// the update, and on a busy machine milliseconds.
template <typename Fn>
void for_each_element(int64_t n, Fn fn) {
  const int threads = threads_for(n, kMinParallelWork);
#pragma omp parallel for simd num_threads(threads) if (threads > 1)
  for (int64_t i = 0; i < n; ++i) fn(i);
}

// The gradient PyTorch works with: negated under maximize, plus weight_decay * param (L2 penalty).
template <typename T>
struct EffectiveGrad {
  const T* grad;
  const T* param;
  T weight_decay;
  bool maximize;
  T operator()(int64_t i) const {
    const T g = maximize ? -grad[i] : grad[i];
    return weight_decay != T(0) ? g + weight_decay * param[i] : g;
  }
};

}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SgdOptions& o) {
  const EffectiveGrad<T> effective{grad, param, static_cast<T>(o.weight_decay), o.maximize};
  const T lr = static_cast<T>(o.lr), momentum = static_cast<T>(o.momentum);
  const T keep = static_cast<T>(1 - o.dampening);
  const bool use_momentum = o.momentum != 0, nesterov = o.nesterov, first = o.first_step;
  for_each_element(n, [=](int64_t i) {
    T g = effective(i);
    if (use_momentum) {
      const T buf = first ? g : momentum_buffer[i] * momentum + g * keep;
      momentum_buffer[i] = buf;
      g = nesterov ? g + buf * momentum : buf;
    }
    param[i] -= lr * g;
  });
}

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const AdamOptions& o) {
  const bool decoupled = o.decoupled_weight_decay && o.weight_decay != 0;
  const EffectiveGrad<T> effective{grad, param, decoupled ? T(0) : static_cast<T>(o.weight_decay), o.maximize};
  const T decay = static_cast<T>(1 - o.lr * o.weight_decay);
  const T one_minus_beta1 = static_cast<T>(1 - o.beta1), beta2 = static_cast<T>(o.beta2);
  const T one_minus_beta2 = static_cast<T>(1 - o.beta2);
  const double step = static_cast<double>(o.step);
  const T step_size = static_cast<T>(o.lr / (1 - std::pow(o.beta1, step)));
  const T bias_correction2_sqrt = static_cast<T>(std::sqrt(1 - std::pow(o.beta2, step)));
  const T eps = static_cast<T>(o.eps);
  for_each_element(n, [=](int64_t i) {
    const T g = effective(i);
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
    param[i] -= step_size * (m / (std::sqrt(v_used) / bias_correction2_sqrt + eps));
  });
}

template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n,
                  const RmspropOptions& o) {
  const EffectiveGrad<T> effective{grad, param, static_cast<T>(o.weight_decay), o.maximize};
  const T lr = static_cast<T>(o.lr), alpha = static_cast<T>(o.alpha), one_minus_alpha = static_cast<T>(1 - o.alpha);
  const T eps = static_cast<T>(o.eps), momentum = static_cast<T>(o.momentum);
  const bool use_momentum = o.momentum > 0;
  for_each_element(n, [=](int64_t i) {
    const T g = effective(i);
    const T sq = square_avg[i] * alpha + one_minus_alpha * g * g;
    square_avg[i] = sq;
    T var = sq;
    if (grad_avg) {  // centered: subtract the squared running mean of the gradient
      const T ga = grad_avg[i] + one_minus_alpha * (g - grad_avg[i]);
      grad_avg[i] = ga;
      var = sq - ga * ga;
    }
    const T avg = std::sqrt(var) + eps;
    if (use_momentum) {
      const T buf = momentum_buffer[i] * momentum + g / avg;
      momentum_buffer[i] = buf;
      param[i] -= lr * buf;
    } else {
      param[i] -= lr * (g / avg);
    }
  });
}

template <typename T>
void adagrad_step(T* param, const T* grad, T* state_sum, int64_t n, const AdagradOptions& o) {
  const EffectiveGrad<T> effective{grad, param, static_cast<T>(o.weight_decay), o.maximize};
  const T clr = static_cast<T>(o.lr / (1 + static_cast<double>(o.step - 1) * o.lr_decay));
  const T eps = static_cast<T>(o.eps);
  for_each_element(n, [=](int64_t i) {
    const T g = effective(i);
    const T sum = state_sum[i] + g * g;
    state_sum[i] = sum;
    param[i] -= clr * (g / (std::sqrt(sum) + eps));
  });
}

template <typename T>
void adadelta_step(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n, const AdadeltaOptions& o) {
  const EffectiveGrad<T> effective{grad, param, static_cast<T>(o.weight_decay), o.maximize};
  const T lr = static_cast<T>(o.lr), rho = static_cast<T>(o.rho), one_minus_rho = static_cast<T>(1 - o.rho);
  const T eps = static_cast<T>(o.eps);
  for_each_element(n, [=](int64_t i) {
    const T g = effective(i);
    const T sq = square_avg[i] * rho + one_minus_rho * g * g;
    square_avg[i] = sq;
    const T delta = std::sqrt(acc_delta[i] + eps) / std::sqrt(sq + eps) * g;
    acc_delta[i] = acc_delta[i] * rho + one_minus_rho * delta * delta;
    param[i] -= lr * delta;
  });
}

#define MINIGRAD_INSTANTIATE(T)                                                            \
  template void sgd_step<T>(T*, const T*, T*, int64_t, const SgdOptions&);                 \
  template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, const AdamOptions&);       \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, int64_t, const RmspropOptions&); \
  template void adagrad_step<T>(T*, const T*, T*, int64_t, const AdagradOptions&);         \
  template void adadelta_step<T>(T*, const T*, T*, T*, int64_t, const AdadeltaOptions&);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)
#undef MINIGRAD_INSTANTIATE

}  // namespace minigrad::cpu
