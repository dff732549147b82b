// The caching allocator behind both devices' arrays (cuda/memory.cu over
// cudaMalloc, cpu/memory.cpp over the C heap). Sizes round up to a size class
// (>= 512 bytes, four classes per power of two); freed blocks wait in a free
// list per class and are reused, so a training loop that allocates the same
// shapes every step gets the same blocks back: no cudaMalloc, and on the host
// no fresh pages (the C heap hands large blocks back to the kernel on free and
// faults them in again, zeroed, on the next step). Thread-safe.
//
// Source provides `static void* obtain(size_t bytes)` (nullptr when out of
// memory; other failures throw) and `static void give_back(void*)`.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace minigrad::ops {

inline size_t size_class(size_t bytes) {
  if (bytes <= 512) return 512;
  const int top = 63 - __builtin_clzll(static_cast<unsigned long long>(bytes - 1));  // 2^top <= bytes - 1
  const size_t step = (size_t{1} << top) / 4;
  return (bytes + step - 1) / step * step;
}

template <class Source>
class CachingAllocator {
 public:
  // At most max_cached bytes wait in the free lists; a block freed beyond
  // that goes back to the source.
  explicit CachingAllocator(size_t max_cached) : max_cached_(max_cached) {}

  // A block of at least `bytes` (> 0), or nullptr when the source is out of
  // memory even after the cache was handed back.
  void* allocate(size_t bytes) {
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    void* ptr = nullptr;
    if (auto it = free_.find(cls); it != free_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      cached_ -= cls;
    } else {
      ptr = Source::obtain(cls);
      if (ptr == nullptr) {  // give the cache back and try once more
        release_cached();
        ptr = Source::obtain(cls);
      }
      if (ptr == nullptr) return nullptr;
    }
    live_[ptr] = cls;
    allocated_ += cls;
    return ptr;
  }

  void free(void* ptr) noexcept {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) {
      std::fprintf(stderr, "minigrad: free of a pointer the caching allocator does not own\n");
      std::abort();
    }
    const size_t cls = it->second;
    live_.erase(it);
    allocated_ -= cls;
    if (cached_ + cls > max_cached_) {
      Source::give_back(ptr);
      return;
    }
    free_[cls].push_back(ptr);  // may allocate; a failure here terminates (noexcept), as it should
    cached_ += cls;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached();
  }

  size_t allocated() {
    std::lock_guard<std::mutex> lock(mu_);
    return allocated_;
  }
  size_t reserved() {  // obtained from the source and not given back
    std::lock_guard<std::mutex> lock(mu_);
    return allocated_ + cached_;
  }

 private:
  void release_cached() {
    for (auto& [cls, ptrs] : free_) {
      for (void* ptr : ptrs) Source::give_back(ptr);
      ptrs.clear();
    }
    cached_ = 0;
  }

  const size_t max_cached_;
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // size class -> waiting blocks
  std::unordered_map<void*, size_t> live_;               // block in use -> size class
  size_t allocated_ = 0, cached_ = 0;                    // bytes in use, bytes waiting
};

}  // namespace minigrad::ops
