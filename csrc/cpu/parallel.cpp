#include "cpu/parallel.h"

#include <atomic>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace minigrad::cpu {
namespace {
int default_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
std::atomic<int> g_threads{default_threads()};
}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
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
