#include "cpu/optim.h"

#include "ops/optim_rules.h"
#include "cpu/parallel.h"

namespace minigrad::cpu {
namespace {

// update(i) for every element; each thread gets at least kMinParallelWork
// elements (as for_each_slice), so LeNet-5's largest parameter (48,000
// elements) updates on one thread: waking a second one for it cost more than
// the update, and on a busy machine milliseconds.
// The loop runs on a local copy of the rule, outside any OpenMP region when
// one thread does it all: through a reference (as an outlined region sees
// it), a store to param might alias the rule's own fields, so GCC reloaded
// them every element and kept the loop scalar. Zen 4, 48,000 floats: SGD 53
// -> 7 us, with momentum 66 -> 29, Adam 161 -> 40 (with -fno-math-errno,
// see CMakeLists.txt); 2 threads, 2**20 floats: SGD with momentum 740 -> 316,
// Adam 1806-1863 -> 446-470. Same results to the bit.
template <typename Update>
void for_each_element(int64_t n, const Update& update) {
  [[maybe_unused]] const int threads = threads_for(n, kMinParallelWork);
  if (threads == 1) {
    const Update rule = update;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) rule(i);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const Update rule = update;
#pragma omp for simd
    for (int64_t i = 0; i < n; ++i) rule(i);
  }
}

// A rule's update with its flags fixed at compile time. Read per element, the
// flags made the loads and stores of the momentum / centred buffers
// conditional, and GCC kept those loops scalar (the baseline ISA, SSE2, has
// no masked store). Zen 3, 1 thread, 401,408 floats, us: SGD with momentum
// 302 -> 105 (PyTorch 177), RMSprop 1125 -> 269 (PyTorch 462).
template <typename Rule, bool... Flags>
struct FixedFlags {
  Rule rule;
  void operator()(int64_t i) const { rule.update(i, Flags...); }
};

// for_each_element over rule.update(i, flags...), one loop per combination.
template <bool... Known, typename Rule>
void run_with_flags(int64_t n, const Rule& rule) {
  for_each_element(n, FixedFlags<Rule, Known...>{rule});
}
template <bool... Known, typename Rule, typename... Rest>
void run_with_flags(int64_t n, const Rule& rule, bool flag, Rest... rest) {
  if (flag) run_with_flags<Known..., true>(n, rule, rest...);
  else run_with_flags<Known..., false>(n, rule, rest...);
}

}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const SgdOptions& o) {
  const auto rule = optim_rules::Sgd<T>::make(param, grad, momentum_buffer, o);
  run_with_flags(n, rule, rule.use_momentum, rule.first, rule.nesterov);
}

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const AdamOptions& o) {
  for_each_element(n, optim_rules::Adam<T>::make(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, o));
}

template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n,
                  const RmspropOptions& o) {
  const auto rule = optim_rules::Rmsprop<T>::make(param, grad, square_avg, momentum_buffer, grad_avg, o);
  run_with_flags(n, rule, grad_avg != nullptr, rule.use_momentum);
}

template <typename T>
void adagrad_step(T* param, const T* grad, T* state_sum, int64_t n, const AdagradOptions& o) {
  for_each_element(n, optim_rules::Adagrad<T>::make(param, grad, state_sum, o));
}

template <typename T>
void adadelta_step(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n, const AdadeltaOptions& o) {
  for_each_element(n, optim_rules::Adadelta<T>::make(param, grad, square_avg, acc_delta, o));
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
