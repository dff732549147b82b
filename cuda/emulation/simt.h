// SIMT emulator (test-only): lets the cuda/*.cu sources compile with the host
// C++20 compiler and run on the CPU, so GPU code is tested where there is no
// GPU (CMake MINIGRAD_CUDA=EMULATE). Included through cuda/common.cuh, never
// directly by kernels.
//
// Model: each thread block runs on one worker OS thread; each CUDA thread of
// the block is a fiber (user-space stack switch) scheduled by a per-block state
// machine, so __syncthreads and warp collectives are real rendezvous points.
// The scheduler raises minigrad::simt::KernelError for deadlocks (a barrier
// some threads never reach), divergent barriers, and shuffles that read exited
// or non-participating lanes. MINIGRAD_SIMT_THREADS=1 runs every CUDA thread
// on its own OS thread instead (the default under ThreadSanitizer), so missing
// barriers show up as data races. Device and shared memory start out poisoned
// with 0xFF bytes (NaN for floats, -1 for integers).
//
// Environment: MINIGRAD_SIMT_WORKERS (worker threads, default: cores),
// MINIGRAD_SIMT_THREADS=1, MINIGRAD_SIMT_DEVICES=0 (pretend there is no device),
// MINIGRAD_SIMT_MEMORY_MB (device memory size, default 8192).
#pragma once

#include <atomic>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <stdexcept>
#include <tuple>
#include <type_traits>

// ---- CUDA keywords ------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Shared memory must be declared through MG_SHARED / MG_DYNAMIC_SHARED (cuda/common.cuh),
// so the emulator can give each block its own poisoned copy.
#define __shared__ static_assert(false, "declare shared memory with MG_SHARED(type, name, dims) (cuda/common.cuh)");

#define CUDART_VERSION 13000

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;

// Set by the emulator before it runs each CUDA thread.
inline thread_local dim3 threadIdx;
inline thread_local dim3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;
constexpr int warpSize = 32;

// ---- vector types and intrinsics used by kernels --------------------------
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) double2 { double x, y; };
struct alignas(8) int2 { int x, y; };
struct alignas(16) int4 { int x, y, z, w; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }

template <typename T>
inline T __ldg(const T* p) { return *p; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

// ---- atomics: std::atomic_ref on the (suitably aligned) device word ---------
template <typename T>
concept AtomicAddable = std::same_as<T, int> || std::same_as<T, unsigned> || std::same_as<T, unsigned long long> ||
                        std::same_as<T, float> || std::same_as<T, double>;
template <typename T>
concept AtomicInteger = std::same_as<T, int> || std::same_as<T, unsigned> || std::same_as<T, unsigned long long> ||
                        std::same_as<T, long long>;

template <AtomicAddable T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
template <AtomicAddable T>
T atomicSub(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_sub(value);
}
template <AtomicInteger T>
T atomicMax(T* address, T value) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (old < value && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <AtomicInteger T>
T atomicMin(T* address, T value) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (value < old && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <AtomicInteger T>
T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
  return compare;  // the old value, whether or not it was swapped
}
template <typename T>
  requires AtomicInteger<T> || std::same_as<T, float>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value);
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// ---- the runtime API subset minigrad uses ---------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
};

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int multiProcessorCount;
  int major;
  int minor;
};

struct CUstream_st;
using cudaStream_t = CUstream_st*;
struct CUevent_st;
using cudaEvent_t = CUevent_st*;

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);

cudaError_t cudaMalloc(void** ptr, size_t bytes);
template <typename T>
cudaError_t cudaMalloc(T** ptr, size_t bytes) {  // as cuda_runtime.h's C++ overload
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

namespace minigrad::simt {

// A kernel broke the CUDA execution model (deadlock, divergent barrier, bad shuffle, ...).
class KernelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Whether CUDA threads run on one OS thread each (MINIGRAD_SIMT_THREADS=1) instead of fibers.
bool thread_per_cuda_thread();
int worker_count();

// Runs body(ctx) once per CUDA thread of the grid. Invalid configurations set
// cudaGetLastError() as CUDA does; broken kernels throw KernelError.
void launch(const char* kernel_name, dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t stream,
            void (*body)(void*), void* ctx);

// MG_LAUNCH(...)(args...): converts args to the kernel's parameter types (as a
// real launch does) and runs the kernel on the emulator.
template <typename... Params>
class Launcher {
 public:
  Launcher(const char* name, dim3 grid, dim3 block, size_t smem, cudaStream_t stream, void (*kernel)(Params...))
      : name_(name), grid_(grid), block_(block), smem_(smem), stream_(stream), kernel_(kernel) {}

  template <typename... Args>
  void operator()(Args&&... args) const {
    static_assert(sizeof...(Args) == sizeof...(Params), "kernel launched with the wrong number of arguments");
    struct Call {
      void (*kernel)(Params...);
      std::tuple<std::decay_t<Params>...> args;
    } call{kernel_, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...)};
    launch(name_, grid_, block_, smem_, stream_,
           [](void* ctx) {
             auto* c = static_cast<Call*>(ctx);
             std::apply(c->kernel, c->args);  // each CUDA thread gets the same (copied) arguments
           },
           &call);
  }

 private:
  const char* name_;
  dim3 grid_, block_;
  size_t smem_;
  cudaStream_t stream_;
  void (*kernel_)(Params...);
};

template <typename... Params>
Launcher<Params...> make_launcher(const char* name, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                                  void (*kernel)(Params...)) {
  return Launcher<Params...>(name, grid, block, smem, stream, kernel);
}

// Block-shared memory: one poisoned copy per block, found by a per-declaration key.
void* static_shared(const void* key, size_t bytes);
void* dynamic_shared();

// Collective operations (the scheduler's rendezvous points).
enum class WarpOp : uint8_t { shfl, shfl_up, shfl_down, shfl_xor, ballot, syncwarp };
unsigned block_barrier(const char* op, int predicate, int* participants, const std::source_location& where);
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int lane_arg, int width, unsigned* arrived,
                         const std::source_location& where);
unsigned active_mask();

template <typename T>
uint64_t to_bits(T value) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move values of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  return bits;
}
template <typename T>
T from_bits(uint64_t bits) {
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}
}  // namespace minigrad::simt

// ---- barriers and warp intrinsics ------------------------------------------
inline void __syncthreads(const std::source_location& where = std::source_location::current()) {
  minigrad::simt::block_barrier("__syncthreads", 0, nullptr, where);
}
inline int __syncthreads_count(int predicate, const std::source_location& where = std::source_location::current()) {
  return static_cast<int>(minigrad::simt::block_barrier("__syncthreads_count", predicate, nullptr, where));
}
inline int __syncthreads_and(int predicate, const std::source_location& where = std::source_location::current()) {
  int participants = 0;
  return minigrad::simt::block_barrier("__syncthreads_and", predicate, &participants, where) == static_cast<unsigned>(participants);
}
inline int __syncthreads_or(int predicate, const std::source_location& where = std::source_location::current()) {
  return minigrad::simt::block_barrier("__syncthreads_or", predicate, nullptr, where) != 0;
}

inline void __syncwarp(unsigned mask = 0xffffffffu, const std::source_location& where = std::source_location::current()) {
  minigrad::simt::warp_collective(minigrad::simt::WarpOp::syncwarp, mask, 0, 0, warpSize, nullptr, where);
}
inline unsigned __ballot_sync(unsigned mask, int predicate,
                              const std::source_location& where = std::source_location::current()) {
  return static_cast<unsigned>(
      minigrad::simt::warp_collective(minigrad::simt::WarpOp::ballot, mask, predicate != 0, 0, warpSize, nullptr, where));
}
inline int __any_sync(unsigned mask, int predicate, const std::source_location& where = std::source_location::current()) {
  return __ballot_sync(mask, predicate, where) != 0;
}
inline int __all_sync(unsigned mask, int predicate, const std::source_location& where = std::source_location::current()) {
  unsigned arrived = 0;
  auto votes = minigrad::simt::warp_collective(minigrad::simt::WarpOp::ballot, mask, predicate != 0, 0, warpSize,
                                               &arrived, where);
  return votes == arrived;
}
inline unsigned __activemask() { return minigrad::simt::active_mask(); }

template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,
              const std::source_location& where = std::source_location::current()) {
  using namespace minigrad::simt;
  return from_bits<T>(warp_collective(WarpOp::shfl, mask, to_bits(var), src_lane, width, nullptr, where));
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                 const std::source_location& where = std::source_location::current()) {
  using namespace minigrad::simt;
  return from_bits<T>(
      warp_collective(WarpOp::shfl_up, mask, to_bits(var), static_cast<int>(delta), width, nullptr, where));
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                   const std::source_location& where = std::source_location::current()) {
  using namespace minigrad::simt;
  return from_bits<T>(
      warp_collective(WarpOp::shfl_down, mask, to_bits(var), static_cast<int>(delta), width, nullptr, where));
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,
                  const std::source_location& where = std::source_location::current()) {
  using namespace minigrad::simt;
  return from_bits<T>(warp_collective(WarpOp::shfl_xor, mask, to_bits(var), lane_mask, width, nullptr, where));
}
