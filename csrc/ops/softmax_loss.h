// The softmax-loss contract that csrc/cpu/softmax_loss.h and
// cuda/softmax_loss.h both implement: the cross-entropy's options.
#pragma once

#include <cstdint>

namespace minigrad::ops {

enum class Reduction { none, mean, sum };

// PyTorch's class-index cross-entropy with label smoothing ls over C classes:
//   row loss = (1 - ls) * -log_probs[t] + ls / C * sum_j -log_probs[j],
// 0 for rows whose target is ignore_index; mean divides the sum by the number
// of rows not ignored (0/0 = nan when all are). Every target must be
// ignore_index or in [0, C): the binding checks, and counts the rows kept.
struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;
  int64_t ignore_index = -100;
  // Targets that are not ignore_index: the divisor of Reduction::mean. The
  // CUDA kernels read it (counting on the device would cost a pass); the CPU
  // kernels count as they go.
  int64_t kept = 0;
};

}  // namespace minigrad::ops
