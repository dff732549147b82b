// The blocked GEMM, written once over a SIMD-traits struct and instantiated per
// instruction set (gemm.cpp: portable, gemm_avx2.cpp, gemm_avx512.cpp). Private
// to the gemm family: only gemm.cpp and the per-ISA files include it.
//
// Loop nest (Goto/BLIS): for each NC-wide column panel of C and KC-deep slice of
// K, B's KC x NC panel is packed, then for each MC-row block of C the MC x KC
// block of A; the macro-kernel runs the MR x NR register-blocked micro-kernel
// over every tile. Packing also removes the transposes, so the micro-kernel
// sees one layout.
//
// Threads split C by columns where each block stays wide (or all rows fit one
// block of A, M <= MC): a block packs its own part of B and, for all rows, its
// own A, so no thread reads data another wrote and nobody waits at a barrier.
// Otherwise (few columns, many rows) they share one packed copy of B: for each
// panel of B's columns (all of K, at most kSharedPanelBytes) the team packs it
// together, then takes row blocks of C, each computed over all of K with the
// thread's own packed A. Either way blocks come from a shared counter, so a
// thread delayed by other processes on a shared machine leaves its work to the
// others instead of stalling them at the end.
//
// Operands that little reuses are read in place instead (B when few rows of A
// use it, A when few columns of B do); their ragged edge panels are packed with
// zero padding so full tiles never read out of bounds. Ragged tiles of C run a
// kernel sized to them (rows x vectors) into a scratch tile, then merge.
// An implicit B (ImplicitB, gemm.h) is always packed, through its fill function.
//
// Every template here depends on the traits type S, which each ISA file
// defines in an unnamed namespace: the instantiations are private to that file,
// so code compiled with AVX2/AVX-512 flags can never be picked by the linker for
// the portable path. For the same reason the ISA files use no std:: containers.
//
// S provides: T (float/double), V (vector type), W (lanes), MR (rows per tile),
// NV (vectors per row, NR = NV * W), MC/KC/NC (cache blocks; MC a multiple of
// MR, NC of NR; K slices up to KC_MAX >= KC where that saves one), and zero,
// set1, load, store (unaligned), bcast (from memory),
// fma(a, b, c) = a * b + c, mul, reduce_add (the sum of the lanes),
// load_first / store_first (the first n lanes), transpose (of W vectors, a
// W x W block, in place); DR x DC, the tile of the dot-product path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "cpu/gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace minigrad::cpu::gemm_detail {

template <typename T>
struct GemmArgs {
  bool trans_a, trans_b;
  int64_t M, N, K;
  T alpha;
  const T* A;
  int64_t lda;
  const T* B;
  int64_t ldb;
  T beta;
  T* C;
  int64_t ldc;
  int max_threads;  // 1 inside an enclosing parallel region
  const ImplicitB<T>* implicit_b;  // op(B) when B is null (never transposed)
  const T* bias;  // bias[j] added to column j of C, or null
};

// Entry points per instruction set; M, N, K >= 1 and alpha != 0 (gemm.cpp handles the rest).
void gemm_avx2(const GemmArgs<float>& args);
void gemm_avx2(const GemmArgs<double>& args);
void gemm_avx512(const GemmArgs<float>& args);
void gemm_avx512(const GemmArgs<double>& args);
// register_fmas below: the FLOPs done and a sum of the results, which the
// caller must use so that the work is not optimised out.
struct FmaRun {
  double flops;
  float sum;
};
FmaRun register_fmas_avx2(int threads, int64_t rounds);
FmaRun register_fmas_avx512(int threads, int64_t rounds);

// 64-byte aligned scratch owned by the calling thread, valid until its next call
// (gemm.cpp; compiled for the baseline ISA). Throws std::bad_alloc.
void* workspace(std::size_t bytes);

// Problems below this many multiply-adds per thread (~10 us) run on fewer
// threads: waking a sleeping thread costs microseconds on an idle machine and
// milliseconds on a busy one. Zen 4, 2 threads, float32, us: an LSTM step's
// 32 x 512 x 128 38 -> 25 and a LeNet FC layer's 64 x 120 x 400 65 -> 40 from
// 2^21 (one thread for both); 2^18 gained nothing more.
constexpr int64_t kMinMaddsPerThread = int64_t{1} << 19;

// A B^T with both operands' rows contiguous along K runs the dot-product path
// (Blocked::run_dot) instead of packing B for up to max(4, min(48, K / 16))
// rows of A: packing costs about N * K / 2 cycles, whatever M, while each dot
// product pays a lane sum (~8 cycles) on top of its K / 16 multiply-adds.
// Zen 4, 1 thread, float32, x W^T for W 512 x K, us packed / dot: K = 784,
// M = 8 80 / 67, M = 32 294 / 258; K = 512, M = 32 197 / 180; K = 128, M = 16
// 34 / 35, M = 32 46 / 71; K = 64, M = 8 7 / 13.
constexpr int64_t kDotMaxRows = 48, kDotMinRowsAlways = 4, kDotDepthPerRow = 16;

// Bound on the packed B panel the team shares. It need not fit in cache: each
// block of C streams it once, at MC / 2 multiply-adds per byte.
constexpr int64_t kSharedPanelBytes = int64_t{16} << 20;

// Blocks of C handed out per thread and panel when the team shares B: enough
// that a thread that falls behind holds up the team by a small part of the work.
constexpr int64_t kBlocksPerThread = 4;
// Fewer when the threads split the columns, where each block packs all of A:
// with 2 a delayed thread still hands work over, for twice 1's packing of A.
// Zen 3, 2 threads, LeNet's fc1 dX, GFLOP/s: 1 150-153, 2 141-147, 4 141-143.
constexpr int64_t kColumnBlocksPerThread = 2;
// Narrowest column block of that split for M > MC, where each block packs A
// (M x K) again for its own columns: below this the copies cost more than the
// team's shared B, which has the threads read each other's packing (from
// another core's cache, or across the host's L3 slices on a VM) and wait at
// its barriers. Zen 3, 2 threads, float32, median ratio to OpenBLAS over
// paired blocks, team / split: 256^3 0.97 / 1.13-1.16, 512^3 0.91-0.96 /
// 0.97-1.02, 1024^3 0.89-0.94 / 0.98-1.04, 2048^3 0.85-0.91 / 0.96-0.97,
// 4096^3 0.84-0.88 / 0.97 (split with 2 blocks of 128 columns at 256).
constexpr int64_t kMinSplitColumns = 128;

// Multiply-adds with every operand in registers: the ceiling the GEMM's
// micro-kernel is measured against (_C.fma_peak_gflops). Each round is one FMA
// on each of kPeakChains independent accumulators, more than FMA latency x
// FMA pipes on current x86 cores, so the pipes never wait.
constexpr int64_t kPeakChains = 12;

template <class S>
FmaRun register_fmas(int threads, int64_t rounds) {
  using T = typename S::T;
  T sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
  {
    typename S::V acc[kPeakChains];
    for (int64_t i = 0; i < kPeakChains; ++i) acc[i] = S::set1(T(i) * T(1e-3));
    const auto scale = S::set1(T(0.999999)), shift = S::set1(T(1e-7));
    for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
      for (int64_t i = 0; i < kPeakChains; ++i) acc[i] = S::fma(acc[i], scale, shift);
    }
    alignas(64) T lanes[S::W];
    for (int64_t i = 0; i < kPeakChains; ++i) {
      S::store(lanes, acc[i]);
      sum += lanes[0];
    }
  }
  return FmaRun{2.0 * double(S::W * kPeakChains) * double(rounds) * threads, float(sum)};
}

template <class S>
struct Blocked {
  using T = typename S::T;
  using V = typename S::V;
  static constexpr int64_t W = S::W, MR = S::MR, NV = S::NV, NR = S::NV * S::W;
  static constexpr int64_t MC = S::MC, KC = S::KC, KC_MAX = S::KC_MAX, NC = S::NC;
  static_assert(KC_MAX >= KC, "KC_MAX bounds the deepest K slice");
  static_assert(MC % MR == 0 && NC % NR == 0, "cache blocks must hold whole tiles");

  // A block of op(A) or op(B): element (r, c) at p[r * rs + c * cs].
  struct View {
    const T* p;
    int64_t rs, cs;
    const T* at(int64_t r, int64_t c) const { return p + r * rs + c * cs; }
  };

  // Micro-kernel: c[0:Rows, 0:Vecs*W] = alpha * sum_k a(i, k) b(k, j) + beta * c
  // (+ bias[j] where bias is given), for a(i, k) = a[i * rs_a + k * cs_a] and
  // b(k, j) = b[k * rs_b + j]. Packed operands have compile-time strides (A: 1,
  // MR; B: NR). beta == 0 never reads c. Full tiles use Rows = MR, Vecs = NV;
  // smaller ones cover ragged edges.
  template <int64_t Rows, int64_t Vecs, bool PackedA, bool PackedB>
  static void micro_kernel(int64_t kc, const T* a, int64_t rs_a_in, int64_t cs_a_in, const T* b, int64_t rs_b_in,
                           T alpha, T beta, T* c, int64_t ldc, const T* bias) {
    const int64_t rs_a = PackedA ? 1 : rs_a_in;
    const int64_t cs_a = PackedA ? MR : cs_a_in;
    const int64_t rs_b = PackedB ? NR : rs_b_in;
    for (int64_t i = 0; i < Rows; ++i) __builtin_prefetch(c + i * ldc, 1);
    V acc[Rows][Vecs];
#pragma GCC unroll 16
    for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 4
      for (int64_t v = 0; v < Vecs; ++v) acc[i][v] = S::zero();
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; ++k) {
      V bv[Vecs];
#pragma GCC unroll 4
      for (int64_t v = 0; v < Vecs; ++v) bv[v] = S::load(b + v * W);
#pragma GCC unroll 16
      for (int64_t i = 0; i < Rows; ++i) {
        const V ai = S::bcast(a + i * rs_a);
#pragma GCC unroll 4
        for (int64_t v = 0; v < Vecs; ++v) acc[i][v] = S::fma(ai, bv[v], acc[i][v]);
      }
      a += cs_a;
      b += rs_b;
    }
    const V va = S::set1(alpha), vb = S::set1(beta);
    V add[Vecs];
#pragma GCC unroll 4
    for (int64_t v = 0; v < Vecs; ++v) add[v] = bias != nullptr ? S::load(bias + v * W) : S::zero();
    // Every load of C before the first store: a store to C keeps the compiler
    // from hoisting the next row's load above it, and C's lines, prefetched
    // ~1500 cycles ago, often come from L2 again (rows a multiple of 4 KiB
    // apart share an L1 set with B's sliver), so one at a time they stall.
#pragma GCC unroll 16
    for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 4
      for (int64_t v = 0; v < Vecs; ++v)
        acc[i][v] = scaled_sum(c + i * ldc + v * W, acc[i][v], va, beta, vb, bias != nullptr, add[v]);
#pragma GCC unroll 16
    for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 4
      for (int64_t v = 0; v < Vecs; ++v) S::store(c + i * ldc + v * W, acc[i][v]);
  }

  // alpha * sum, plus beta * *c where beta != 0 and the bias (add) where
  // given; no term is added where neither is, so a -0 product stays -0.
  static V scaled_sum(const T* c, V sum, V va, T beta, V vb, bool has_bias, V add) {
    if (beta != T(0)) return S::fma(va, sum, has_bias ? S::fma(vb, S::load(c), add) : S::mul(vb, S::load(c)));
    return has_bias ? S::fma(va, sum, add) : S::mul(va, sum);
  }

  using KernelFn = void (*)(int64_t, const T*, int64_t, int64_t, const T*, int64_t, T, T, T*, int64_t, const T*);

  // Kernels for tiles of fewer than MR rows (the last rows of C: M is rarely a
  // multiple of MR) but all NR columns, on packed operands, indexed by rows - 1:
  // straight into C, at the full tiles' speed per row.
  template <std::size_t... I>
  static const KernelFn* row_edge_kernels(std::index_sequence<I...>) {
    static const KernelFn table[] = {&micro_kernel<int64_t(I) + 1, NV, true, true>...};
    return table;
  }

  // Kernels for the other ragged edge tiles, indexed by (rows - 1) * NV +
  // (vectors - 1); all strides at run time.
  template <std::size_t... I>
  static const KernelFn* edge_kernels(std::index_sequence<I...>) {
    static const KernelFn table[] = {
        &micro_kernel<int64_t(I) / NV + 1, int64_t(I) % NV + 1, false, false>...};
    return table;
  }

  // Packs `rows` (<= R) lines of length kc side by side: dst[k*R + r] = src(r, k),
  // zero for r >= rows. One of src's strides is 1 (so are all views here).
  template <int64_t R>
  static void pack_panel(int64_t rows, int64_t kc, View src, T* __restrict dst) {
    if (src.cs == 1) {  // each line is contiguous: transposed W values of k at a time
      // The W x R block of dst being written stays in L1; whole lines at once
      // wrote kc x R elements (48 KiB for AVX-512's KC) a column at a time.
      // W x W blocks transposed in registers: element by element, packing
      // Linear's transposed weights cost 1.2-1.6x the multiply itself at
      // batch 32 (Zen 4, 1 thread, 32 x 128 x 512: 58 us, 46 now, 39 with the
      // weights stored transposed).
      int64_t k0 = 0;
      for (; k0 + W <= kc; k0 += W)
        for (int64_t r0 = 0; r0 < R; r0 += W) {
          V block[W];
          for (int64_t i = 0; i < W; ++i)
            block[i] = r0 + i < rows ? S::load(src.p + (r0 + i) * src.rs + k0) : S::zero();
          S::transpose(block);
          const int64_t lanes = R - r0 < W ? R - r0 : W;
          for (int64_t k = 0; k < W; ++k) {
            // Panels narrower than a vector (AVX2's 6 rows of 8 lanes) store
            // whole vectors where they can: the lanes past R land on the next
            // k's entries, which later stores overwrite. Masked stores are
            // slow on AMD: packing A took 4% of a 1024^3 GEMM on Zen 3.
            T* out = dst + (k0 + k) * R + r0;
            if (lanes == W || (R < W && (k0 + k) * R + W <= kc * R)) S::store(out, block[k]);
            else S::store_first(out, block[k], lanes);
          }
        }
      for (; k0 < kc; k0 += W) {
        const int64_t kn = kc - k0 < W ? kc - k0 : W;
        for (int64_t r = 0; r < rows; ++r) {
          const T* line = src.p + r * src.rs + k0;
          for (int64_t k = 0; k < kn; ++k) dst[(k0 + k) * R + r] = line[k];
        }
      }
    } else {  // each k is a contiguous run across the lines
      for (int64_t k = 0; k < kc; ++k) {
        const T* run = src.p + k * src.cs;
        if (rows == R) {
          if constexpr (R % W == 0) {
            for (int64_t v = 0; v < R; v += W) S::store(dst + k * R + v, S::load(run + v));
          } else {
            for (int64_t r = 0; r < R; ++r) dst[k * R + r] = run[r];
          }
        } else {
          for (int64_t r = 0; r < rows; ++r) dst[k * R + r] = run[r];
        }
      }
    }
    for (int64_t r = rows; r < R; ++r)
      for (int64_t k = 0; k < kc; ++k) dst[k * R + r] = T(0);
  }

  // Packs rows [0, m) x cols [0, kc) of `a` as MR-row panels: panel p holds
  // element (p*MR + i, k) at dst[p*MR*kc + k*MR + i]; rows past m are zero.
  static void pack_a(int64_t m, int64_t kc, View a, T* dst) {
    for (int64_t i0 = 0; i0 < m; i0 += MR, dst += MR * kc)
      pack_panel<MR>(m - i0 < MR ? m - i0 : MR, kc, View{a.at(i0, 0), a.rs, a.cs}, dst);
  }

  // Packs rows [0, kc) x cols [0, n) of `b` as NR-wide slivers: sliver s holds
  // element (k, s*NR + j) at dst[s*NR*kc + k*NR + j]; columns past n are zero.
  static void pack_b(int64_t n, int64_t kc, View b, T* __restrict dst) {
    const int64_t full = n / NR * NR;
    if (b.cs == 1 && full > 0) {  // rows of b contiguous: read each once, front to back
      for (int64_t k = 0; k < kc; ++k) {
        const T* row = b.p + k * b.rs;
        for (int64_t j = 0; j < full; j += NR)
          for (int64_t v = 0; v < NR; v += W) S::store(dst + j * kc + k * NR + v, S::load(row + j + v));
      }
    } else {
      for (int64_t j = 0; j < full; j += NR) pack_panel<NR>(NR, kc, View{b.at(0, j), b.cs, b.rs}, dst + j * kc);
    }
    if (full < n) pack_panel<NR>(n - full, kc, View{b.at(0, full), b.cs, b.rs}, dst + full * kc);
  }

  // Rows [pc, pc + kc) x columns [j0, j0 + n) of op(B) in pack_b's layout,
  // from the stored matrix or through the implicit source's fill.
  static void pack_b_block(const GemmArgs<T>& g, View b, int64_t pc, int64_t j0, int64_t n, int64_t kc, T* dst) {
    if (g.implicit_b == nullptr) return pack_b(n, kc, View{b.at(pc, j0), b.rs, b.cs}, dst);
    for (int64_t j = 0; j < n; j += NR, dst += NR * kc) {
      const int64_t cols = n - j < NR ? n - j : NR;
      g.implicit_b->fill(g.implicit_b->context, pc, kc, j0 + j, cols, dst, NR);
      for (int64_t k = 0; k < kc && cols < NR; ++k)
        for (int64_t c = cols; c < NR; ++c) dst[k * NR + c] = T(0);
    }
  }

  // Per-thread scratch, in elements.
  static constexpr int64_t kTile = MR * NR;
  // K slices this shallow take C's tiles row panel by row panel (see sub_gemm).
  // Zen 3, 1 thread, float32, M x K x N, us, sliver order / row order: 784 x 1
  // x 512 110 / 77, 784 x 2 x 512 117 / 79, 128 x 8 x 512 36 / 33, 784 x 16 x
  // 512 202 / 189, 784 x 24 x 512 271 / 260; K = 64: 616 / 616.
  static constexpr int64_t kShallowKC = 24;
  // With A read in place (its MR rows far apart in memory, not one packed
  // stream) the K slices are cut so that B's kc x NR sliver stays within
  // 24 KiB, most of a 32 KiB L1d: AVX-512's KC of 384 (a 48 KiB sliver) took
  // an FC layer's 64 x 2048 x 256 (A in place) from 77 to 67 GFLOP/s on Zen 4;
  // 192 (24 KiB) kept it at 78, 128 and 256 ran at 72-74.
  static constexpr int64_t kInPlaceKC =
      KC < 24 * 1024 / int64_t(NR * sizeof(T)) ? KC : 24 * 1024 / int64_t(NR * sizeof(T));
  static constexpr int64_t kEdgeA = MR * KC_MAX;
  static constexpr int64_t kEdgeB = KC_MAX * NR;
  static constexpr int64_t round64(int64_t elems) {
    return (elems * int64_t(sizeof(T)) + 63) / 64 * 64 / int64_t(sizeof(T));
  }

  struct Plan {
    bool pack_a, pack_b;
    bool team_b;  // B packed by several threads into one shared panel (else each packs its own)
    int threads;
    int64_t nc;  // widest panel of B: NC, or fewer columns (see kAliasPanelBytes)
    int64_t kc;  // depth of the K slices: KC, or kInPlaceKC when A is read in place
    // Several threads: B's columns go in panels of panel_cols (packed once for
    // the team when team_b), each split into row_blocks x col_blocks blocks of C
    // (see block_edge).
    int64_t panel_cols, row_blocks, col_blocks;
    int64_t shared_b;    // elements of the team's packed B panel (0 unless team_b)
    int64_t panel_b;     // packed-B elements per thread (pack_b but not team_b, else 0)
    int64_t block_a;     // packed-A elements per thread (0 when A is read in place)
    int64_t per_thread;  // scratch elements per thread, those two included
  };

  static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

  // Whether A, read in place, would have more rows in one L1 set than an
  // 8-way L1 holds: its rows a multiple of 4 KiB apart (K a multiple of 1024
  // floats; 4 KiB per way on current x86) put the MR rows a micro-kernel
  // broadcasts from all in one set, and AVX-512's 12 then evict each other.
  // Packed, A costs one copy per GEMM. Zen 4, 1 thread, float32, AVX-512:
  // 512 x 384 x K, K = 1024 / 2048 / 4096 ran at 101 / 99 / 99 GFLOP/s in
  // place, 108 / 106 / 105 packed (111 / 110 / 108 in place with K 16
  // larger); 48 x 512 x 2048 1.04 -> 0.91 ms. AVX2's 6 rows fit: packing
  // 256 x 256 x 1024 there was 4% slower.
  static bool rows_share_l1_set(const GemmArgs<T>& g) {
    return MR > 8 && !g.trans_a && g.lda * int64_t(sizeof(T)) % 4096 == 0;
  }

  // B that few rows would read in place, its rows a multiple of 4 KiB apart
  // (N = 1024 floats): a sliver's kc rows share one set of L1 and a few of L2,
  // evicting each other, each on its own page where the prefetcher stops. It
  // is packed instead, in panels of this size, which stay in L2. Zen 3, 1
  // thread, float32, GFLOP/s: 24 x 256 x 1024 50 -> 67, 24 x 128 x 2048 39 ->
  // 66, 12 x 512 x 2048 51 -> 53 (85-88 at N 8 larger, in place). At 2 KiB
  // apart, packing gained nothing (24 x 384 x 512: 68); at 6 KiB it lost 8%.
  static constexpr int64_t kAliasPanelBytes = 256 * 1024;

  static bool b_rows_share_sets(const GemmArgs<T>& g) {
    return !g.trans_b && g.ldb * int64_t(sizeof(T)) % 4096 == 0;
  }

  static Plan plan(const GemmArgs<T>& g) {
    Plan p{};
    // B is read in place unless transposed or reused by many row panels of A;
    // A is read in place unless reused by many column slivers of B.
    p.pack_b = g.implicit_b != nullptr || g.trans_b || g.M > 4 * MR;
    p.pack_a = g.N > 16 * NR || rows_share_l1_set(g);
    p.kc = p.pack_a ? KC : kInPlaceKC;
    p.nc = NC;
    const bool alias_b = !p.pack_b && b_rows_share_sets(g);
    if (alias_b) {
      p.pack_b = true;
      p.nc = kAliasPanelBytes / (p.kc * int64_t(sizeof(T))) / NR * NR;
      if (p.nc < NR) p.nc = NR;
    }
    if (p.pack_a) {  // deeper slices (up to KC_MAX) where that saves one: K = 576 as 2 x 288, not 256 + 256 + 64
      const int64_t slices = ceil_div(g.K, KC_MAX);
      if (slices < ceil_div(g.K, KC)) p.kc = ceil_div(g.K, slices);
    }
    const int64_t m_tiles = ceil_div(g.M, MR), n_tiles = ceil_div(g.N, NR);
    // Rows for one block (M <= MC): the threads split the columns, each block
    // packing its own slivers of B, so that B is still packed once and read
    // once, and nobody waits at the shared panel's barrier. Zen 3, 2 threads,
    // float32, GFLOP/s: LeNet's fc1 dX 64 x 120 x 400 129 -> 141, its conv2
    // over 64 images 16 x 150 x 6400 (B in place, read once instead of once
    // per row tile) 97 -> 128, 128^3 135 -> 145. Without the barrier a second
    // thread pays at half kMinMaddsPerThread: its fc2 64 x 120 x 84 (B^T) 73
    // -> 93 (OpenBLAS 85); a quarter gained 2% there and lost 4% elsewhere.
    const bool one_row_block = g.M <= MC;
    int64_t t = g.M * g.N * g.K / (one_row_block ? kMinMaddsPerThread / 2 : kMinMaddsPerThread);
    if (t > g.max_threads) t = g.max_threads;
    if (t > m_tiles * n_tiles) t = m_tiles * n_tiles;
    if (t < 1) t = 1;
    p.threads = int(t);
    const int64_t kc_max = g.K < p.kc ? g.K : p.kc;
    const int64_t mc_max = ceil_div(g.M < MC ? g.M : MC, MR) * MR;
    // Whole column blocks of at least kMinSplitColumns, as many for each thread.
    const int64_t wide_blocks = g.N / kMinSplitColumns / p.threads * p.threads;
    // Few rows with B packed for aliasing split its columns among the threads,
    // each packing its own: a shared panel that fits L2 would take two team
    // barriers per 10 slivers, each a wait of a whole time slice for a thread
    // the system has preempted.
    const bool split_columns = one_row_block || alias_b || wide_blocks > 0;
    p.team_b = p.threads > 1 && p.pack_b && !split_columns;
    if (p.pack_b && !p.team_b)
      p.panel_b = round64(kc_max * (g.N < p.nc ? ceil_div(g.N, NR) * NR : p.nc));
    if (p.threads > 1) {
      // Panel width, in whole slivers: all columns unless the team packs B,
      // then at most NC and a shared panel (K rows) of kSharedPanelBytes.
      int64_t panel_tiles = n_tiles;
      if (p.team_b) {
        const int64_t fit = kSharedPanelBytes / (g.K * NR * int64_t(sizeof(T)));
        if (panel_tiles > p.nc / NR) panel_tiles = p.nc / NR;
        if (panel_tiles > fit) panel_tiles = fit < 1 ? 1 : fit;
        panel_tiles = ceil_div(n_tiles, ceil_div(n_tiles, panel_tiles));  // equal panels, as in sub_gemm
      }
      p.panel_cols = panel_tiles * NR;
      if (split_columns) {  // one block of all rows (sub_gemm walks them MC at a time)
        p.row_blocks = 1;
        p.col_blocks = kColumnBlocksPerThread * p.threads;
        if (!one_row_block && !alias_b && p.col_blocks > wide_blocks) p.col_blocks = wide_blocks;
      } else {
        // Rows first (A is then packed once per block and panel), columns too
        // when there are too few rows for kBlocksPerThread blocks per thread.
        const int64_t wanted = kBlocksPerThread * p.threads;
        int64_t row_tiles = ceil_div(m_tiles, wanted);
        if (row_tiles > MC / MR) row_tiles = MC / MR;
        p.row_blocks = ceil_div(m_tiles, row_tiles);
        p.col_blocks = ceil_div(wanted, p.row_blocks);
      }
      if (p.col_blocks > panel_tiles) p.col_blocks = panel_tiles;
      // A whole number of blocks per thread where the rows allow: 15 blocks of
      // 2048 rows on 2 threads (8 and 7) left one idle for a fifteenth of the
      // GEMM. Zen 3, 2 threads, us, 15 / 16 blocks: 2048 x 128 x 384 (B^T)
      // 1227 / 1195, 2048 x 128 x 256 768 / 742, 2048 x 256 x 128 758 / 727.
      while ((p.row_blocks * p.col_blocks) % p.threads && p.row_blocks < m_tiles) ++p.row_blocks;
      p.shared_b = p.team_b ? round64(g.K * p.panel_cols) : 0;
    }
    p.block_a = p.pack_a ? round64(mc_max * kc_max) : 0;
    p.per_thread = p.panel_b + p.block_a + round64(kEdgeA) + round64(kEdgeB) + round64(kTile);
    return p;
  }

  // Where block i of `blocks` over `tiles` tiles of `size` elements (`extent`
  // in all) starts: the tiles spread evenly, so that blocks differ by at most
  // one tile. A last block of one tile beside blocks of six (512 rows as 43
  // tiles of 12 in blocks of 6) left one of 2 threads idle for a tenth of the
  // GEMM: 512 x 2304 x 392 ran at 0.93x OpenBLAS's speed at 2 threads on Zen 4.
  static int64_t block_edge(int64_t i, int64_t blocks, int64_t tiles, int64_t size, int64_t extent) {
    const int64_t edge = i * tiles / blocks * size;
    return edge < extent ? edge : extent;
  }

  // c = t + beta * c (+ bias[j]) on the valid m x n corner of a scratch tile t (ldt = NR).
  static void merge_tile(int64_t m, int64_t n, const T* t, T beta, T* c, int64_t ldc, const T* bias) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const T sum = beta == T(0) ? t[i * NR + j] : t[i * NR + j] + beta * c[i * ldc + j];
        c[i * ldc + j] = bias != nullptr ? sum + bias[j] : sum;
      }
  }

  // Operands of one tile; packed ones carry their fixed strides too.
  struct Tile {
    const T* a;
    int64_t rs_a, cs_a;
    bool packed_a;
    const T* b;
    int64_t rs_b;
    bool packed_b;
  };

  // The m x n tile of C at c (+ bias, its columns' entries, or null): full
  // tiles straight into C, ragged ones through the scratch tile `tmp`.
  static void run_tile(int64_t kc, const Tile& t, int64_t m, int64_t n, T alpha, T beta, T* c, int64_t ldc,
                       const T* bias, T* tmp) {
    if (m == MR && n == NR) {
      if (t.packed_a) {
        if (t.packed_b) micro_kernel<MR, NV, true, true>(kc, t.a, 1, MR, t.b, NR, alpha, beta, c, ldc, bias);
        else micro_kernel<MR, NV, true, false>(kc, t.a, 1, MR, t.b, t.rs_b, alpha, beta, c, ldc, bias);
      } else {
        if (t.packed_b) micro_kernel<MR, NV, false, true>(kc, t.a, t.rs_a, t.cs_a, t.b, NR, alpha, beta, c, ldc, bias);
        else micro_kernel<MR, NV, false, false>(kc, t.a, t.rs_a, t.cs_a, t.b, t.rs_b, alpha, beta, c, ldc, bias);
      }
      return;
    }
    if (n == NR && t.packed_a && t.packed_b) {
      row_edge_kernels(std::make_index_sequence<std::size_t(MR)>{})[m - 1](kc, t.a, 1, MR, t.b, NR, alpha, beta, c,
                                                                         ldc, bias);
      return;
    }
    const KernelFn* edge = edge_kernels(std::make_index_sequence<std::size_t(MR * NV)>{});
    edge[(m - 1) * NV + (n + W - 1) / W - 1](kc, t.a, t.rs_a, t.cs_a, t.b, t.rs_b, alpha, T(0), tmp, NR, nullptr);
    merge_tile(m, n, tmp, beta, c, ldc, bias);
  }

  // B packed for the whole team: columns [col0, col0 + cols) of op(B), all of
  // K; KC-row slice pc starts at p + pc * cols, column col0 + j of it at + j * kc.
  struct SharedPanel {
    T* p;
    int64_t col0, cols;  // cols a multiple of NR
  };

  // C[m0:m1, n0:n1] over all of K. B comes from `shared` when it is set (and
  // holds those columns), else is packed here (pack_b) or read in place.
  static void sub_gemm(const GemmArgs<T>& g, const Plan& p, View a, View b, int64_t m0, int64_t m1, int64_t n0,
                       int64_t n1, const SharedPanel* shared, T* scratch) {
    T* panel_b = scratch;
    T* block_a = panel_b + p.panel_b;
    T* edge_a = block_a + p.block_a;
    T* edge_b = edge_a + round64(kEdgeA);
    T* tile = edge_b + round64(kEdgeB);
    // Panels of equal width (whole slivers) up to NC: 4096 columns as 4080 + 16
    // packed all of A again for one sliver. Zen 3, 1 thread, GFLOP/s: float32
    // 4096^3 88.6-88.9 -> 91.6-91.8, float64 2048^3 43.4-43.8 -> 45.3-45.5.
    const int64_t panel_width = ceil_div(ceil_div(n1 - n0, ceil_div(n1 - n0, p.nc)), NR) * NR;
    for (int64_t jc = n0; jc < n1; jc += panel_width) {
      const int64_t nc = n1 - jc < panel_width ? n1 - jc : panel_width;
      for (int64_t pc = 0; pc < g.K; pc += p.kc) {
        const int64_t kc = g.K - pc < p.kc ? g.K - pc : p.kc;
        // The first K slice scales C by beta and adds the bias; the others accumulate.
        const T beta = pc == 0 ? g.beta : T(1);
        const T* bias = pc == 0 && g.bias != nullptr ? g.bias + jc : nullptr;
        const T* packed_b = panel_b;
        if (shared) {
          packed_b = shared->p + pc * shared->cols + (jc - shared->col0) * kc;
        } else if (p.pack_b) {
          pack_b_block(g, b, pc, jc, nc, kc, panel_b);
        }
        for (int64_t ic = m0; ic < m1; ic += MC) {
          const int64_t mc = m1 - ic < MC ? m1 - ic : MC;
          const View a_block{a.at(ic, pc), a.rs, a.cs};
          if (p.pack_a) {
            pack_a(mc, kc, a_block, block_a);
          } else if (mc % MR) {
            const int64_t last = mc / MR * MR;
            pack_a(mc - last, kc, View{a_block.at(last, 0), a.rs, a.cs}, edge_a);
          }
          // Tile (ir, jr) of the block; its B sliver is set up once per jr.
          Tile t{};
          int64_t n = 0;
          const auto set_sliver = [&](int64_t jr) {
            n = nc - jr < NR ? nc - jr : NR;
            if (p.pack_b) {
              t = Tile{nullptr, 0, 0, false, packed_b + jr * kc, NR, true};
            } else if (n == NR) {
              t = Tile{nullptr, 0, 0, false, b.at(pc, jc + jr), b.rs, false};
            } else {
              pack_b(n, kc, View{b.at(pc, jc + jr), b.rs, b.cs}, edge_b);
              t = Tile{nullptr, 0, 0, false, edge_b, NR, true};
            }
          };
          const auto run_at = [&](int64_t ir, int64_t jr) {
            const int64_t m = mc - ir < MR ? mc - ir : MR;
            if (p.pack_a || m < MR) {
              t.a = p.pack_a ? block_a + ir * kc : edge_a;
              t.rs_a = 1;
              t.cs_a = MR;
              t.packed_a = true;
            } else {
              t.a = a_block.at(ir, 0);
              t.rs_a = a.rs;
              t.cs_a = a.cs;
              t.packed_a = false;
            }
            run_tile(kc, t, m, n, g.alpha, beta, g.C + (ic + ir) * g.ldc + jc + jr, g.ldc,
                     bias != nullptr ? bias + jr : nullptr, tile);
          };
          if (p.pack_b && kc <= kShallowKC) {
            // Few multiply-adds per element of C: the tiles' stores set the
            // pace, so each row panel of C is written front to back (streams
            // the hardware prefetcher follows) instead of sliver by sliver.
            for (int64_t ir = 0; ir < mc; ir += MR)
              for (int64_t jr = 0; jr < nc; jr += NR) {
                set_sliver(jr);
                run_at(ir, jr);
              }
          } else {
            for (int64_t jr = 0; jr < nc; jr += NR) {
              set_sliver(jr);
              for (int64_t ir = 0; ir < mc; ir += MR) run_at(ir, jr);
            }
          }
        }
      }
    }
  }

  // The dot-product path: C = alpha * A B^T (+ beta * C, + bias) with A's and
  // B^T's rows both contiguous along K, for few rows of A (Linear's x W^T at
  // small batches). Each element is the dot product of two rows, summed in
  // vector lanes, so B is read in place: packed, it costs more than the
  // multiply at a handful of rows. Tiles of Rows x Cols dot products share
  // their loads.
  static constexpr int64_t DR = S::DR, DC = S::DC;

  template <int64_t Rows, int64_t Cols>
  static void dot_tile(int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb, T alpha, T beta, T* c,
                       int64_t ldc, const T* bias) {
    V acc[Rows][Cols];
#pragma GCC unroll 8
    for (int64_t i = 0; i < Rows; ++i)
#pragma GCC unroll 8
      for (int64_t j = 0; j < Cols; ++j) acc[i][j] = S::zero();
    // step(k, n): the products of lanes k .. k + n of every row pair.
    const auto step = [&](int64_t k, int64_t n) {
      V va[Rows];
#pragma GCC unroll 8
      for (int64_t i = 0; i < Rows; ++i) va[i] = n == W ? S::load(a + i * lda + k) : S::load_first(a + i * lda + k, n);
#pragma GCC unroll 8
      for (int64_t j = 0; j < Cols; ++j) {
        const V vb = n == W ? S::load(b + j * ldb + k) : S::load_first(b + j * ldb + k, n);
#pragma GCC unroll 8
        for (int64_t i = 0; i < Rows; ++i) acc[i][j] = S::fma(va[i], vb, acc[i][j]);
      }
    };
    int64_t k = 0;
    for (; k + W <= K; k += W) step(k, W);
    if (k < K) step(k, K - k);
    // The micro-kernel's store, element by element (the same fused multiply-adds, so the same
    // roundings): no term is added where neither beta nor a bias asks, so -0 stays -0.
    for (int64_t i = 0; i < Rows; ++i)
      for (int64_t j = 0; j < Cols; ++j) {
        T* cij = c + i * ldc + j;
        const T sum = S::reduce_add(acc[i][j]);
        if (beta != T(0))
          *cij = fused(alpha, sum, bias != nullptr ? fused(beta, *cij, bias[j]) : beta * *cij);
        else if (bias != nullptr)
          *cij = fused(alpha, sum, bias[j]);
        else
          *cij = alpha * sum;
      }
  }

  using DotFn = void (*)(int64_t, const T*, int64_t, const T*, int64_t, T, T, T*, int64_t, const T*);

  // a * b + c rounded once, in T (the double builtin would round a float result twice).
  static T fused(T a, T b, T c) {
    if constexpr (sizeof(T) == sizeof(float)) return __builtin_fmaf(a, b, c);
    else return __builtin_fma(a, b, c);
  }

  // dot_tile for every tile shape, indexed by (rows - 1) * DC + (cols - 1).
  template <std::size_t... I>
  static const DotFn* dot_tiles(std::index_sequence<I...>) {
    static const DotFn table[] = {&dot_tile<int64_t(I) / DC + 1, int64_t(I) % DC + 1>...};
    return table;
  }

  // Columns [n0, n1) of C by the dot-product path.
  static void dot_columns(const GemmArgs<T>& g, int64_t n0, int64_t n1) {
    const DotFn* tiles = dot_tiles(std::make_index_sequence<std::size_t(DR * DC)>{});
    for (int64_t j = n0; j < n1; j += DC) {
      const int64_t cols = n1 - j < DC ? n1 - j : DC;
      for (int64_t i = 0; i < g.M; i += DR) {
        const int64_t rows = g.M - i < DR ? g.M - i : DR;
        tiles[(rows - 1) * DC + cols - 1](g.K, g.A + i * g.lda, g.lda, g.B + j * g.ldb, g.ldb, g.alpha, g.beta,
                                          g.C + i * g.ldc + j, g.ldc, g.bias != nullptr ? g.bias + j : nullptr);
      }
    }
  }

  static bool use_dot(const GemmArgs<T>& g) {
    const int64_t max_rows = g.K / kDotDepthPerRow < kDotMaxRows ? g.K / kDotDepthPerRow : kDotMaxRows;
    return !g.trans_a && g.trans_b && g.implicit_b == nullptr && (g.M <= kDotMinRowsAlways || g.M <= max_rows);
  }

  static void run_dot(const GemmArgs<T>& g) {
    int64_t threads = g.M * g.N * g.K / kMinMaddsPerThread;
    if (threads > g.max_threads) threads = g.max_threads;
    const int64_t col_tiles = ceil_div(g.N, DC);
    if (threads > col_tiles) threads = col_tiles;
    if (threads <= 1) return dot_columns(g, 0, g.N);
    // Contiguous column ranges in whole tiles, one per thread: each element is
    // summed the same way whatever the thread count.
#pragma omp parallel for num_threads(int(threads)) schedule(static, 1)
    for (int64_t t = 0; t < threads; ++t)
      dot_columns(g, block_edge(t, threads, col_tiles, DC, g.N), block_edge(t + 1, threads, col_tiles, DC, g.N));
  }

  // Few rows of A against B read in place, untransposed (a vector-matrix
  // product: Linear's input gradient at batch 1). The edge tiles keep only
  // 2-6 chains of dependent multiply-adds in flight (2 vectors per row) and
  // walk B's rows a few cache lines at a time; here B's rows stream front to
  // back, four at a time, into sums kept in L1 (the same multiply-adds in the
  // same order as a micro-kernel over all of K). Zen 3, 1 thread, float32,
  // us: 1 x 512 x 784 51 -> 26-32, 1 x 512 x 512 52 -> 16-21 (numpy's
  // OpenBLAS gemv 26-33 and 17-20); with blocks of 512 columns instead of a
  // whole 8 KiB row, 35-45 and 17-26.
  static constexpr int64_t kFewRowsMax = 3, kFewRowsCols = 8192 / int64_t(sizeof(T));

  static bool use_few_rows(const GemmArgs<T>& g) {
    return g.M <= kFewRowsMax && !g.trans_a && !g.trans_b && g.implicit_b == nullptr && g.N >= W;
  }

  // Columns [j0, j0 + n) of C, n <= kFewRowsCols and a multiple of W.
  template <int64_t Rows>
  static void few_rows_block(const GemmArgs<T>& g, int64_t j0, int64_t n) {
    alignas(64) T sums[Rows][kFewRowsCols];
    for (int64_t i = 0; i < Rows; ++i)
      for (int64_t v = 0; v < n; v += W) S::store(sums[i] + v, S::zero());
    const T* b = g.B + j0;
    int64_t k = 0;
    for (; k + 4 <= g.K; k += 4, b += 4 * g.ldb) {
      V a[Rows][4];
      for (int64_t i = 0; i < Rows; ++i)
        for (int64_t u = 0; u < 4; ++u) a[i][u] = S::bcast(g.A + i * g.lda + k + u);
      for (int64_t v = 0; v < n; v += W) {
        const V b0 = S::load(b + v), b1 = S::load(b + g.ldb + v), b2 = S::load(b + 2 * g.ldb + v),
                b3 = S::load(b + 3 * g.ldb + v);
#pragma GCC unroll 3
        for (int64_t i = 0; i < Rows; ++i) {
          const V sum = S::fma(a[i][1], b1, S::fma(a[i][0], b0, S::load(sums[i] + v)));
          S::store(sums[i] + v, S::fma(a[i][3], b3, S::fma(a[i][2], b2, sum)));
        }
      }
    }
    for (; k < g.K; ++k, b += g.ldb)
      for (int64_t i = 0; i < Rows; ++i) {
        const V a = S::bcast(g.A + i * g.lda + k);
        for (int64_t v = 0; v < n; v += W) S::store(sums[i] + v, S::fma(a, S::load(b + v), S::load(sums[i] + v)));
      }
    const V va = S::set1(g.alpha), vb = S::set1(g.beta);
    for (int64_t i = 0; i < Rows; ++i)
      for (int64_t v = 0; v < n; v += W)
        S::store(g.C + i * g.ldc + j0 + v,
                 scaled_sum(g.C + i * g.ldc + j0 + v, S::load(sums[i] + v), va, g.beta, vb, g.bias != nullptr,
                            g.bias != nullptr ? S::load(g.bias + j0 + v) : S::zero()));
  }

  // Whole vectors of columns here, split among the threads in blocks of at
  // most kFewRowsCols; the last N % W columns through the blocked path.
  static void run_few_rows(const GemmArgs<T>& g) {
    const int64_t vectors = g.N / W, covered = vectors * W;
    const auto columns = [&g](int64_t n0, int64_t n1) {
      for (int64_t j = n0; j < n1; j += kFewRowsCols) {
        const int64_t n = n1 - j < kFewRowsCols ? n1 - j : kFewRowsCols;
        if (g.M == 1) few_rows_block<1>(g, j, n);
        else if (g.M == 2) few_rows_block<2>(g, j, n);
        else few_rows_block<3>(g, j, n);
      }
    };
    int64_t threads = g.M * g.N * g.K / kMinMaddsPerThread;
    if (threads > g.max_threads) threads = g.max_threads;
    if (threads <= 1) {
      columns(0, covered);
    } else {
#pragma omp parallel for num_threads(int(threads)) schedule(static, 1)
      for (int64_t t = 0; t < threads; ++t)
        columns(block_edge(t, threads, vectors, W, covered), block_edge(t + 1, threads, vectors, W, covered));
    }
    if (covered == g.N) return;
    GemmArgs<T> rest = g;
    rest.N = g.N - covered;
    rest.B += covered;
    rest.C += covered;
    if (rest.bias != nullptr) rest.bias += covered;
    run(rest);
  }

  static void run(const GemmArgs<T>& g) {
    if (use_dot(g)) return run_dot(g);
    if (use_few_rows(g)) return run_few_rows(g);
    const Plan p = plan(g);
    // op(A) and op(B) as views: element (i, k) of op(A), (k, j) of op(B).
    const View a = g.trans_a ? View{g.A, 1, g.lda} : View{g.A, g.lda, 1};
    const View b = g.trans_b ? View{g.B, 1, g.ldb} : View{g.B, g.ldb, 1};
    T* ws = static_cast<T*>(workspace(size_t(p.shared_b + p.per_thread * p.threads) * sizeof(T)));
    if (p.threads == 1) return sub_gemm(g, p, a, b, 0, g.M, 0, g.N, nullptr, ws);

    const int64_t m_tiles = ceil_div(g.M, MR);
    const int64_t k_slices = ceil_div(g.K, p.kc);
#pragma omp parallel num_threads(p.threads)
    {
#ifdef _OPENMP
      const int tid = omp_get_thread_num();
#else
      const int tid = 0;
#endif
      T* scratch = ws + p.shared_b + tid * p.per_thread;
      for (int64_t col0 = 0; col0 < g.N; col0 += p.panel_cols) {
        const int64_t cols = g.N - col0 < p.panel_cols ? g.N - col0 : p.panel_cols;
        const SharedPanel shared{ws, col0, ceil_div(cols, NR) * NR};
        if (p.team_b) {
          // One piece per KC slice and thread's share of the slivers; the
          // loop's closing barrier makes the whole panel visible to the team.
          const int64_t slivers = shared.cols / NR;
#pragma omp for schedule(dynamic, 1)
          for (int64_t piece = 0; piece < k_slices * p.threads; ++piece) {
            const int64_t pc = piece / p.threads * p.kc, part = piece % p.threads;
            const int64_t kc = g.K - pc < p.kc ? g.K - pc : p.kc;
            const int64_t j0 = slivers * part / p.threads * NR, j1 = slivers * (part + 1) / p.threads * NR;
            const int64_t n = (j1 < cols ? j1 : cols) - j0;
            if (n > 0) pack_b_block(g, b, pc, col0 + j0, n, kc, ws + pc * shared.cols + j0 * kc);
          }
        }
        const int64_t n_tiles = ceil_div(cols, NR);
        const int64_t col_blocks = p.col_blocks < n_tiles ? p.col_blocks : n_tiles;  // the last panel may be narrow
        // Closing barrier: nobody repacks the panel while others still read it.
#pragma omp for schedule(dynamic, 1)
        for (int64_t block = 0; block < p.row_blocks * col_blocks; ++block) {
          const int64_t rb = block / col_blocks, cb = block % col_blocks;
          const int64_t m0 = block_edge(rb, p.row_blocks, m_tiles, MR, g.M);
          const int64_t m1 = block_edge(rb + 1, p.row_blocks, m_tiles, MR, g.M);
          const int64_t n0 = col0 + block_edge(cb, col_blocks, n_tiles, NR, cols);
          const int64_t n1 = col0 + block_edge(cb + 1, col_blocks, n_tiles, NR, cols);
          sub_gemm(g, p, a, b, m0, m1, n0, n1, p.team_b ? &shared : nullptr, scratch);
        }
      }
    }
  }
};

}  // namespace minigrad::cpu::gemm_detail
