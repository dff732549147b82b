// GEMM entry point: trivial cases, then the blocked kernel for the best
// instruction set the CPU has (csrc/cpu/gemm_kernels.h), with a portable
// instantiation for CPUs without AVX2 (and for MINIGRAD_SIMD=generic).
#include "cpu/gemm.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <new>

#include "cpu/cpu_features.h"
#include "cpu/gemm_kernels.h"
#include "cpu/parallel.h"
#include "cpu/simd_portable.h"

namespace minigrad::cpu {
namespace gemm_detail {
namespace {
// The portable traits (cpu/simd_portable.h) plus cache blocks.
template <typename Scalar>
struct PortableKernel : simd::Portable<Scalar> {
  static constexpr int64_t MC = 128, KC = 256, KC_MAX = 256, NC = 2048, DR = 2, DC = 4;
};
}  // namespace

void* workspace(std::size_t bytes) {
  struct Buffer {
    void* data = nullptr;
    std::size_t size = 0;
    ~Buffer() { ::operator delete(data, std::align_val_t(64)); }
  };
  thread_local Buffer buffer;
  if (buffer.size < bytes) {
    void* fresh = ::operator new(bytes, std::align_val_t(64));
    ::operator delete(buffer.data, std::align_val_t(64));
    buffer.data = fresh;
    buffer.size = bytes;
  }
  return buffer.data;
}
}  // namespace gemm_detail

namespace {
// The thread team: 1 inside an enclosing parallel region, and always 1 in a
// build without OpenMP, whatever set_num_threads asked for (Blocked::run
// splits C over the team and would compute only thread 0's part of it).
int gemm_threads() {
#ifdef _OPENMP
  if (!omp_in_parallel()) return num_threads();
#endif
  return 1;
}

// The blocked kernel for the best instruction set the CPU has.
template <typename T>
void run_blocked(const gemm_detail::GemmArgs<T>& args) {
#ifdef MINIGRAD_X86
  const CpuFeatures& features = cpu_features();
  if (features.avx512f) return gemm_detail::gemm_avx512(args);
  if (features.avx2_fma) return gemm_detail::gemm_avx2(args);
#endif
  gemm_detail::Blocked<gemm_detail::PortableKernel<T>>::run(args);
}
}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const T* bias) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {  // C = beta * C (+ bias); A and B are not read (as BLAS)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const T scaled = beta == T(0) ? T(0) : beta * C[i * ldc + j];
        C[i * ldc + j] = bias != nullptr ? scaled + bias[j] : scaled;
      }
    return;
  }
  run_blocked(gemm_detail::GemmArgs<T>{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                                       gemm_threads(), nullptr, bias});
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, const ops::GemmBatch& batch, const T* bias) {
  const auto product = [&](int64_t i) {
    gemm(trans_a, trans_b, M, N, K, alpha, A + batch.offset_a(i), lda, B + batch.offset_b(i), ldb, beta,
         C + i * batch.stride_c, ldc, bias);
  };
  const int threads = gemm_threads();
  // Products of fewer multiply-adds than a GEMM would thread go to the threads whole.
  if (threads > 1 && batch.count >= threads && M * N * K < gemm_detail::kMinMaddsPerThread * threads) {
    RegionErrors errors;  // a workspace allocation may throw
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < batch.count; ++i) errors.run([&] { product(i); });
    errors.rethrow();
    return;
  }
  for (int64_t i = 0; i < batch.count; ++i) product(i);
}

template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const ImplicitB<T>& B, T* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
    return;
  }
  run_blocked(gemm_detail::GemmArgs<T>{false, false, M, N, K, T(1), A, lda, nullptr, 0, T(0), C, ldc,
                                       gemm_threads(), &B, nullptr});
}

namespace {
struct Timed {
  double flops, seconds;
};

// One timed run(rounds) of a register FMA loop; its result is used, so that
// the work is not optimised out.
template <typename Run>
Timed timed(const Run& run, int64_t rounds) {
  static volatile float sink = 0;
  const auto start = std::chrono::steady_clock::now();
  const gemm_detail::FmaRun result = run(rounds);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sink = sink + result.sum;
  return {result.flops, elapsed};
}

// The best FLOP/s of `tries` runs: interruptions only slow a run.
template <typename Run>
double best_flops_per_second(const Run& run, int64_t rounds, int tries) {
  double best = 0;
  for (int i = 0; i < tries; ++i) {
    const Timed t = timed(run, rounds);
    best = std::max(best, t.flops / t.seconds);
  }
  return best;
}
}  // namespace

double fma_peak_gflops(int threads, double seconds) {
#ifndef _OPENMP
  threads = 1;  // as gemm: no team without OpenMP
#endif
  const auto run = [threads](int64_t rounds) {
#ifdef MINIGRAD_X86
    const CpuFeatures& features = cpu_features();
    if (features.avx512f) return gemm_detail::register_fmas_avx512(threads, rounds);
    if (features.avx2_fma) return gemm_detail::register_fmas_avx2(threads, rounds);
#endif
    return gemm_detail::register_fmas<gemm_detail::PortableKernel<float>>(threads, rounds);
  };
  // A short first run (it also wakes the threads) sizes the three that count.
  int64_t rounds = int64_t{1} << 16;
  rounds = std::max(rounds, int64_t(double(rounds) * seconds / timed(run, rounds).seconds));
  return best_flops_per_second(run, rounds, 3) / 1e9;
}

bool avx512_doubles_fma_rate() {
  static const bool doubles = [] {
#ifdef MINIGRAD_X86
    if (!cpu_features().avx512f) return false;
    // A few short single-thread runs of each; the two outcomes differ by 2x,
    // far beyond the noise of a shared machine.
    const auto rate = [](gemm_detail::FmaRun (*fmas)(int, int64_t)) {
      return best_flops_per_second([fmas](int64_t rounds) { return fmas(1, rounds); }, int64_t{1} << 15, 5);
    };
    return rate(gemm_detail::register_fmas_avx512) > 1.5 * rate(gemm_detail::register_fmas_avx2);
#else
    return false;
#endif
  }();
  return doubles;
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t, const float*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, const double*);
template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t, const ops::GemmBatch&, const float*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, const ops::GemmBatch&, const double*);
template void gemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, const ImplicitB<float>&, float*, int64_t);
template void gemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, const ImplicitB<double>&, double*,
                           int64_t);
}  // namespace minigrad::cpu
