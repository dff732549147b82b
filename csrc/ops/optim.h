// The optimizer contract that csrc/cpu/optim.h and cuda/optim.h both
// implement: one option struct per optimizer (hyper-parameters as plain
// doubles), read by the shared update rules of csrc/ops/optim_rules.h.
#pragma once

#include <cstdint>

namespace minigrad::ops {

struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
  bool first_step;  // momentum buffer := gradient (PyTorch's first step with momentum)
};

struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;  // AdamW: param *= 1 - lr * weight_decay
  bool maximize;
  int64_t step;  // already incremented, >= 1
};

struct RmspropOptions {
  double lr, alpha, eps, weight_decay, momentum;
  bool maximize;
};

struct AdagradOptions {
  double lr, lr_decay, weight_decay, eps;
  bool maximize;
  int64_t step;  // already incremented, >= 1
};

struct AdadeltaOptions {
  double lr, rho, eps, weight_decay;
  bool maximize;
};

}  // namespace minigrad::ops
