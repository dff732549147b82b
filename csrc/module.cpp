// The extension module minigrad._C: build/runtime queries, threads, and every
// op family's bindings (csrc/bindings/<family>.cpp).
#include <pybind11/pybind11.h>

#include <string>

#include "../cuda/runtime.h"
#include "bindings/register.h"
#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/memory.h"
#include "cpu/parallel.h"

namespace py = pybind11;

namespace {
bool cuda_compiled() {
#ifdef MINIGRAD_WITH_CUDA
  return true;
#else
  return false;
#endif
}
}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "minigrad's compiled kernels (C++ CPU, optional CUDA)";

  m.def(
      "build_info",
      [] {
        py::dict info;
        info["cuda"] = cuda_compiled();
#ifdef MINIGRAD_WITH_CUDA
        info["cuda_runtime"] = minigrad::cuda::runtime_version();
        info["cuda_emulated"] = minigrad::cuda::emulated();
#else
        info["cuda_runtime"] = py::none();
        info["cuda_emulated"] = false;
#endif
        info["openmp"] = minigrad::cpu::openmp_enabled();
        info["simd"] = minigrad::cpu::simd_level();
        info["avx512_full_rate"] = minigrad::cpu::avx512_doubles_fma_rate();
#if defined(__clang__)
        info["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
        info["compiler"] = std::string("gcc ") + __VERSION__;
#else
        info["compiler"] = "unknown";
#endif
        return info;
      },
      "How this module was built: CUDA compiled in (or emulated), CUDA runtime version, OpenMP, SIMD level in use, "
      "and whether 512-bit FMAs run at twice the 256-bit rate here (measured once; it picks conv kernels).");

  m.def(
      "cuda_device_count",
      [] {
#ifdef MINIGRAD_WITH_CUDA
        py::gil_scoped_release release;
        return minigrad::cuda::device_count();
#else
        return 0;
#endif
      },
      "Number of usable CUDA devices: 0 without a driver, a device, or a CUDA build.");

  m.def(
      "cuda_status",
      []() -> std::string {
#ifdef MINIGRAD_WITH_CUDA
        return minigrad::cuda::device_status();
#else
        return "minigrad was built without CUDA";
#endif
      },
      "Why no CUDA device is usable, or '' when one is.");

  m.def("set_num_threads", &minigrad::cpu::set_num_threads, py::arg("n"), "Threads used by CPU kernels (>= 1).");
  m.def("get_num_threads", &minigrad::cpu::num_threads, "Threads used by CPU kernels.");

  py::module_ cpu = m.def_submodule("cpu", "Host memory of the arrays the kernels return (cpu/memory.h).");
  cpu.def("memory_allocated", &minigrad::cpu::memory_allocated,
          "Bytes of host memory in arrays from the caching allocator (size-class rounded).");
  cpu.def("memory_reserved", &minigrad::cpu::memory_reserved,
          "Bytes of host memory held by the caching allocator (in use + cached).");
  cpu.def("empty_cache", &minigrad::cpu::empty_cache, "Return cached, unused host memory to the C heap.");
  cpu.def("cache_limit", &minigrad::cpu::cache_limit,
          "Most idle bytes the cache keeps (MINIGRAD_CPU_CACHE_MB; 0 in sanitizer builds).");

  minigrad::bindings::bind_gemm(m);
  minigrad::bindings::bind_conv(m);
  minigrad::bindings::bind_pool(m);
  minigrad::bindings::bind_softmax_loss(m);
  minigrad::bindings::bind_elementwise(m);
  minigrad::bindings::bind_batch_norm(m);
  minigrad::bindings::bind_layer_norm(m);
  minigrad::bindings::bind_optim(m);
  minigrad::bindings::bind_rnn(m);
  minigrad::bindings::bind_scan(m);
  minigrad::bindings::bind_reduce(m);
#ifdef MINIGRAD_WITH_CUDA
  minigrad::bindings::bind_cuda(m);
#endif
}
