// Device memory: CUDA errors as exceptions, a caching allocator, and
// DeviceArray, a contiguous n-d array in device memory. Plain C++ (no CUDA
// types), so the bindings compile without CUDA headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace minigrad::cuda {

// A failed CUDA call; what() carries CUDA's message. Python sees RuntimeError.
class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Device memory exhausted even after the allocator's cache was released. Python sees MemoryError.
class OutOfMemory : public CudaError {
 public:
  using CudaError::CudaError;
};

// Caching allocator. Sizes round up to a size class (>= 512 bytes, four classes
// per power of two); freed blocks wait in a free list per class and are reused;
// empty_cache() hands the waiting blocks back to CUDA. Thread-safe.
void* device_malloc(size_t bytes);  // nullptr for 0 bytes
void device_free(void* ptr) noexcept;
size_t memory_allocated();  // bytes in blocks in use (rounded to their class)
size_t memory_reserved();   // bytes obtained from CUDA: in use + cached
void empty_cache();

enum class DType { f32, f64, i64, b8 };  // b8: numpy bool (one byte, 0 or 1)
size_t dtype_size(DType dtype);

// A C-contiguous array in device memory. Copies of a DeviceArray share the
// buffer (it is a handle); the buffer returns to the allocator with the last one.
class DeviceArray {
 public:
  DeviceArray(std::vector<int64_t> shape, DType dtype);  // uninitialised contents

  const std::vector<int64_t>& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  int64_t size() const { return size_; }
  size_t nbytes() const { return static_cast<size_t>(size_) * dtype_size(dtype_); }
  void* data() const { return buffer_.get(); }
  // A view with another shape of the same size sharing this buffer (metadata only).
  DeviceArray reshaped(std::vector<int64_t> shape) const;

  void copy_from_host(const void* src);  // nbytes() from host memory
  void copy_to_host(void* dst) const;    // nbytes() to host memory
  void copy_from(const DeviceArray& other);  // same nbytes(), device to device
  void zero();

 private:
  std::vector<int64_t> shape_;
  DType dtype_;
  int64_t size_;
  std::shared_ptr<void> buffer_;
};

}  // namespace minigrad::cuda
