#include "cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace minigrad::cpu {
namespace {
int default_threads() {
#ifdef _OPENMP
  return std::min(omp_get_max_threads(), kMaxThreads);
#else
  return 1;
#endif
}
std::atomic<int> g_threads{default_threads()};
}  // namespace

void set_num_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("set_num_threads: n must be in [1, " + std::to_string(kMaxThreads) + "], got " +
                                std::to_string(n));
  g_threads.store(n);
}

int num_threads() { return g_threads.load(); }

bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}
}  // namespace minigrad::cpu
