// CPU thread pool size (OpenMP). Kernels use `#pragma omp parallel` with
// num_threads(minigrad::cpu::num_threads()).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

namespace minigrad::cpu {
// Element count below which a simple loop runs on the calling thread: waking
// the OpenMP team costs more than it saves (`#pragma omp parallel for if(n >= kMinParallelWork)`).
constexpr int64_t kMinParallelWork = 32768;
// Most threads a team may have: OpenMP aborts the process when it cannot
// create a team, so requests are bounded.
constexpr int kMaxThreads = 1024;
void set_num_threads(int n);  // n >= 1
int num_threads();
bool openmp_enabled();

// An exception must not leave an OpenMP region: the runtime then calls
// std::terminate and Python dies (a failed allocation, a bad_alloc from a
// scratch buffer, would abort the process instead of raising MemoryError).
// Code that can throw inside a region runs through `run`, which keeps the
// first exception and turns the rest of the region's work into no-ops;
// `rethrow` after the region throws it on the calling thread.
class RegionErrors {
 public:
  template <typename F>
  void run(const F& f) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!first_) first_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  void rethrow() const {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr first_;
};

// Threads worth waking for `work` units when each should get at least
// `min_work_per_thread` (waking a thread costs microseconds): 1..num_threads().
inline int threads_for(int64_t work, int64_t min_work_per_thread) {
  return static_cast<int>(std::clamp<int64_t>(work / min_work_per_thread, 1, num_threads()));
}

// body(i) for i in [0, n), split statically over `threads` threads; with one
// thread a plain loop on the calling thread. Even a one-thread OpenMP region
// costs a futex wake-up (~0.3 us with libgomp): entered per channel, such
// regions were most of a depthwise layer's forward (960 channels at 7x7,
// batch 8). The body must not throw (see RegionErrors).
template <typename Body>
void parallel_for(int64_t n, [[maybe_unused]] int threads, const Body& body) {
  if (threads <= 1) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// body(begin, end) over `threads` contiguous slices covering [0, n) (threads
// <= n), each on its own thread; one slice runs on the calling thread without
// entering an OpenMP region. body may throw (RegionErrors carries it out).
template <typename Body>
void for_each_slice(int64_t n, int threads, const Body& body) {
  if (threads <= 1) {
    body(int64_t{0}, n);
    return;
  }
  RegionErrors errors;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) errors.run([&] { body(n * t / threads, n * (t + 1) / threads); });
  errors.rethrow();
}

// body(begin, end) over contiguous slices covering [0, n), one slice per
// thread, each of at least kMinParallelWork elements; a single slice runs on
// the calling thread without entering an OpenMP region. Elementwise kernels
// put their loop in `body` so that it is a plain loop the compiler vectorises
// (an index lambda called per element inside `omp parallel for simd` was not).
template <typename Body>
void for_each_slice(int64_t n, const Body& body) {
  for_each_slice(n, threads_for(n, kMinParallelWork), body);
}
}  // namespace minigrad::cpu
