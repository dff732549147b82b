#include "common.cuh"

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

bool emulated() {
#if defined(__CUDACC__)
  return false;
#else
  return true;
#endif
}

std::string device_name() {
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  return prop.name;
}

int multiprocessor_count() {
  static const int count = [] {
    int n = 0;
    check(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, 0), "cudaDeviceGetAttribute");
    return n;
  }();
  return count;
}

void synchronize() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

void throw_cuda_error(cudaError_t err, const char* what) {
  cudaGetLastError();  // clear it, so the next check does not report it again
  std::string message = std::string(what) + ": " + cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")";
  if (err == cudaErrorMemoryAllocation) throw OutOfMemory(message);
  throw CudaError(message);
}
}  // namespace minigrad::cuda
