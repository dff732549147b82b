#include "optim.h"

#include "../csrc/ops/optim_rules.h"
#include "common.cuh"

namespace minigrad::cuda {
namespace {
constexpr int kThreads = 256;

// One grid-stride kernel runs every update rule (csrc/ops/optim_rules.h), each a
// functor over one element.
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
}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SgdOptions& o) {
  run(optim_rules::Sgd<T>::make(param, grad, momentum_buffer, o), n, "sgd_step kernel");
}

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const AdamOptions& o) {
  run(optim_rules::Adam<T>::make(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o), n, "adam_step kernel");
}

template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n,
                  const RmspropOptions& o) {
  run(optim_rules::Rmsprop<T>::make(param, grad, square_avg, momentum_buffer, grad_avg, o), n,
      "rmsprop_step kernel");
}

template <typename T>
void adagrad_step(T* param, const T* grad, T* state_sum, int64_t n, const AdagradOptions& o) {
  run(optim_rules::Adagrad<T>::make(param, grad, state_sum, o), n, "adagrad_step kernel");
}

template <typename T>
void adadelta_step(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n, const AdadeltaOptions& o) {
  run(optim_rules::Adadelta<T>::make(param, grad, square_avg, acc_delta, o), n, "adadelta_step kernel");
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
