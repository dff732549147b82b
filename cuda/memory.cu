#include "memory.h"

#include <cstdint>
#include <string>

#include "common.cuh"
#include "../csrc/ops/caching_allocator.h"

namespace minigrad::cuda {
namespace {

// cudaMalloc and cudaFree for ops::CachingAllocator.
struct CudaSource {
  static void* obtain(size_t bytes) {
    void* ptr = nullptr;
    const cudaError_t err = cudaMalloc(&ptr, bytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it: the allocator hands its cache back and retries
      return nullptr;
    }
    check(err, "cudaMalloc");
    return ptr;
  }
  static void give_back(void* ptr) { check(cudaFree(ptr), "cudaFree"); }
};

using Allocator = ops::CachingAllocator<CudaSource>;

// Never destroyed: arrays freed during interpreter shutdown still find it, and
// no CUDA call runs after the runtime has been torn down. Every freed block is
// kept (device memory is the process's own; empty_cache hands it back).
Allocator& allocator() {
  static auto* a = new Allocator(SIZE_MAX);
  return *a;
}

}  // namespace

void* device_malloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  if (bytes > (size_t{1} << 62))
    throw OutOfMemory("CUDA out of memory: cannot allocate " + std::to_string(bytes) +
                      " bytes: the request is larger than any device");
  void* ptr = allocator().allocate(bytes);
  if (ptr == nullptr)
    throw OutOfMemory("CUDA out of memory: cannot allocate " + std::to_string(bytes) + " bytes (" +
                      std::to_string(allocator().allocated()) + " bytes in use, " +
                      std::to_string(allocator().reserved()) + " reserved by minigrad)");
  return ptr;
}
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
