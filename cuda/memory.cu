#include "memory.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common.cuh"

namespace minigrad::cuda {
namespace {

size_t size_class(size_t bytes) {
  if (bytes <= 512) return 512;
  int top = 63 - __builtin_clzll(static_cast<unsigned long long>(bytes - 1));  // 2^top <= bytes - 1
  size_t step = (size_t{1} << top) / 4;
  return (bytes + step - 1) / step * step;
}

class CachingAllocator {
 public:
  void* allocate(size_t bytes) {
    if (bytes == 0) return nullptr;
    if (bytes > (size_t{1} << 62)) throw_oom(bytes, "the request is larger than any device");
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    void* ptr = nullptr;
    if (auto& cached = free_[cls]; !cached.empty()) {
      ptr = cached.back();
      cached.pop_back();
    } else {
      cudaError_t err = cudaMalloc(&ptr, cls);
      if (err == cudaErrorMemoryAllocation) {  // give the cache back and try once more
        cudaGetLastError();
        release_cached();
        err = cudaMalloc(&ptr, cls);
      }
      if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        throw_oom(bytes, cudaGetErrorString(err));
      }
      check(err, "cudaMalloc");
      reserved_ += cls;
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
      std::fprintf(stderr, "minigrad: device_free of a pointer the allocator does not own\n");
      std::abort();
    }
    allocated_ -= it->second;
    free_[it->second].push_back(ptr);  // may allocate; a failure here terminates (noexcept), as it should
    live_.erase(it);
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached();
  }

  size_t allocated() {
    std::lock_guard<std::mutex> lock(mu_);
    return allocated_;
  }
  size_t reserved() {
    std::lock_guard<std::mutex> lock(mu_);
    return reserved_;
  }

 private:
  void release_cached() {
    for (auto& [cls, ptrs] : free_) {
      while (!ptrs.empty()) {
        check(cudaFree(ptrs.back()), "cudaFree");
        ptrs.pop_back();
        reserved_ -= cls;
      }
    }
  }

  [[noreturn]] void throw_oom(size_t bytes, const char* why) {
    throw OutOfMemory("CUDA out of memory: cannot allocate " + std::to_string(bytes) + " bytes (" +
                      std::to_string(allocated_) + " bytes in use, " + std::to_string(reserved_) +
                      " reserved by minigrad): " + why);
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // size class -> cached blocks
  std::unordered_map<void*, size_t> live_;               // block -> size class
  size_t allocated_ = 0, reserved_ = 0;
};

// Never destroyed: arrays freed during interpreter shutdown still find it, and
// no CUDA call runs after the runtime has been torn down.
CachingAllocator& allocator() {
  static auto* a = new CachingAllocator;
  return *a;
}

}  // namespace

void* device_malloc(size_t bytes) { return allocator().allocate(bytes); }
void device_free(void* ptr) noexcept { allocator().free(ptr); }
size_t memory_allocated() { return allocator().allocated(); }
size_t memory_reserved() { return allocator().reserved(); }
void empty_cache() { allocator().empty_cache(); }

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::b8: return 1;
    default: return 8;
  }
}

DeviceArray::DeviceArray(std::vector<int64_t> shape, DType dtype) : shape_(std::move(shape)), dtype_(dtype), size_(1) {
  for (int64_t d : shape_) size_ *= d;
  buffer_ = std::shared_ptr<void>(device_malloc(nbytes()), device_free);
}

DeviceArray DeviceArray::reshaped(std::vector<int64_t> shape) const {
  int64_t size = 1;
  for (int64_t d : shape) size *= d;
  if (size != size_) throw std::invalid_argument("DeviceArray::reshaped: sizes differ");
  DeviceArray view = *this;
  view.shape_ = std::move(shape);
  return view;
}

void DeviceArray::copy_from_host(const void* src) {
  check(cudaMemcpy(data(), src, nbytes(), cudaMemcpyHostToDevice), "cudaMemcpy host to device");
}
void DeviceArray::copy_to_host(void* dst) const {
  check(cudaMemcpy(dst, data(), nbytes(), cudaMemcpyDeviceToHost), "cudaMemcpy device to host");
}
void DeviceArray::copy_from(const DeviceArray& other) {
  if (other.nbytes() != nbytes()) throw std::invalid_argument("DeviceArray::copy_from: sizes differ");
  check(cudaMemcpy(data(), other.data(), nbytes(), cudaMemcpyDeviceToDevice), "cudaMemcpy device to device");
}
void DeviceArray::zero() { check(cudaMemset(data(), 0, nbytes()), "cudaMemset"); }

}  // namespace minigrad::cuda
