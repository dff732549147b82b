#include "runtime.h"

#include <cuda_runtime.h>

namespace minigrad::cuda {
namespace {
cudaError_t query_count(int* count) {
  *count = 0;
  cudaError_t err = cudaGetDeviceCount(count);
  if (err != cudaSuccess) {
    *count = 0;
    cudaGetLastError();  // clear the sticky error so later calls are not poisoned
  }
  return err;
}
}  // namespace

int device_count() {
  int count = 0;
  query_count(&count);
  return count;
}

std::string device_status() {
  int count = 0;
  cudaError_t err = query_count(&count);
  if (err != cudaSuccess) return cudaGetErrorString(err);
  return count == 0 ? "no CUDA device found" : "";
}

std::string runtime_version() {
  return std::to_string(CUDART_VERSION / 1000) + "." + std::to_string((CUDART_VERSION % 1000) / 10);
}
}  // namespace minigrad::cuda
