// The blocked GEMM, written once over a SIMD-traits struct and instantiated per
// instruction set (gemm.cpp: portable, gemm_avx2.cpp, gemm_avx512.cpp). Private
// to the gemm family: only gemm.cpp and the per-ISA files include it.
//
// Loop nest (Goto/BLIS): for each NC-wide column panel of C and KC-deep slice of
// K, B's KC x NC panel is packed once (shared by all threads) and each thread
// packs its MC x KC blocks of A; the macro-kernel then runs the MR x NR
// register-blocked micro-kernel over every tile. Packing also removes the
// transposes, so the micro-kernel sees one layout. Small operands are read in
// place instead (B when few rows of A reuse it, A when few columns of B do);
// their ragged edge panels are packed with zero padding so full tiles never
// read out of bounds, and ragged tiles of C go through a small scratch tile.
//
// Every template here depends on the traits type S, which each ISA file
// defines in an unnamed namespace: the instantiations are private to that file,
// so code compiled with AVX2/AVX-512 flags can never be picked by the linker for
// the portable path. For the same reason the ISA files use no std:: containers.
//
// S provides: T (float/double), V (vector type), W (lanes), MR (rows per tile),
// NV (vectors per row, NR = NV * W), MC/KC/NC (cache blocks; MC a multiple of
// MR, NC of NR), and zero, set1, load, store (unaligned), bcast (from memory),
// fma(a, b, c) = a * b + c, mul.
#pragma once

#include <cstddef>
#include <cstdint>

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
};

// Entry points per instruction set; M, N, K >= 1 and alpha != 0 (gemm.cpp handles the rest).
void gemm_avx2(const GemmArgs<float>& args);
void gemm_avx2(const GemmArgs<double>& args);
void gemm_avx512(const GemmArgs<float>& args);
void gemm_avx512(const GemmArgs<double>& args);

// 64-byte aligned scratch owned by the calling thread, valid until its next call
// (gemm.cpp; compiled for the baseline ISA). Throws std::bad_alloc.
void* workspace(std::size_t bytes);

// Problems below this many multiply-adds per thread run on fewer threads.
constexpr int64_t kMinMaddsPerThread = int64_t{1} << 17;

template <class S>
struct Blocked {
  using T = typename S::T;
  using V = typename S::V;
  static constexpr int64_t W = S::W, MR = S::MR, NV = S::NV, NR = S::NV * S::W;
  static constexpr int64_t MC = S::MC, KC = S::KC, NC = S::NC;
  static_assert(MC % MR == 0 && NC % NR == 0, "cache blocks must hold whole tiles");

  // A block of op(A) or op(B): element (r, c) at p[r * rs + c * cs].
  struct View {
    const T* p;
    int64_t rs, cs;
    const T* at(int64_t r, int64_t c) const { return p + r * rs + c * cs; }
  };

  // Micro-kernel: c[0:MR, 0:NR] = alpha * sum_k a(i, k) b(k, j) + beta * c, for
  // a(i, k) = a[i * rs_a + k * cs_a] and b(k, j) = b[k * rs_b + j]. Packed
  // operands have compile-time strides (A: 1, MR; B: NR). beta == 0 never reads c.
  template <bool PackedA, bool PackedB>
  static void micro_kernel(int64_t kc, const T* a, int64_t rs_a_in, int64_t cs_a_in, const T* b, int64_t rs_b_in,
                           T alpha, T beta, T* c, int64_t ldc) {
    const int64_t rs_a = PackedA ? 1 : rs_a_in;
    const int64_t cs_a = PackedA ? MR : cs_a_in;
    const int64_t rs_b = PackedB ? NR : rs_b_in;
    for (int64_t i = 0; i < MR; ++i) __builtin_prefetch(c + i * ldc, 1);
    V acc[MR][NV];
#pragma GCC unroll 16
    for (int64_t i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int64_t v = 0; v < NV; ++v) acc[i][v] = S::zero();
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; ++k) {
      V bv[NV];
#pragma GCC unroll 4
      for (int64_t v = 0; v < NV; ++v) bv[v] = S::load(b + v * W);
#pragma GCC unroll 16
      for (int64_t i = 0; i < MR; ++i) {
        const V ai = S::bcast(a + i * rs_a);
#pragma GCC unroll 4
        for (int64_t v = 0; v < NV; ++v) acc[i][v] = S::fma(ai, bv[v], acc[i][v]);
      }
      a += cs_a;
      b += rs_b;
    }
    const V va = S::set1(alpha);
    if (beta == T(0)) {
#pragma GCC unroll 16
      for (int64_t i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int64_t v = 0; v < NV; ++v) S::store(c + i * ldc + v * W, S::mul(va, acc[i][v]));
    } else {
      const V vb = S::set1(beta);
#pragma GCC unroll 16
      for (int64_t i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int64_t v = 0; v < NV; ++v) {
          T* ci = c + i * ldc + v * W;
          S::store(ci, S::fma(va, acc[i][v], S::mul(vb, S::load(ci))));
        }
    }
  }

  // Packs rows [0, m) x cols [0, kc) of `a` as MR-row panels: panel p holds
  // element (p*MR + i, k) at dst[p*MR*kc + k*MR + i]; rows past m are zero.
  static void pack_a(int64_t m, int64_t kc, View a, T* dst) {
    for (int64_t i0 = 0; i0 < m; i0 += MR, dst += MR * kc) {
      const int64_t mr = m - i0 < MR ? m - i0 : MR;
      for (int64_t k = 0; k < kc; ++k) {
        for (int64_t i = 0; i < mr; ++i) dst[k * MR + i] = *a.at(i0 + i, k);
        for (int64_t i = mr; i < MR; ++i) dst[k * MR + i] = T(0);
      }
    }
  }

  // Packs cols [0, n) (n <= NR) x rows [0, kc) of `b` as one NR-wide sliver:
  // element (k, j) at dst[k*NR + j]; columns past n are zero.
  static void pack_b_sliver(int64_t n, int64_t kc, View b, T* dst) {
    for (int64_t k = 0; k < kc; ++k, dst += NR) {
      for (int64_t j = 0; j < n; ++j) dst[j] = *b.at(k, j);
      for (int64_t j = n; j < NR; ++j) dst[j] = T(0);
    }
  }

  // Per-thread scratch, in elements.
  static constexpr int64_t kTile = MR * NR;
  static constexpr int64_t kEdgeA = MR * KC;
  static constexpr int64_t kEdgeB = KC * NR;
  static constexpr int64_t round64(int64_t elems) {
    return (elems * int64_t(sizeof(T)) + 63) / 64 * 64 / int64_t(sizeof(T));
  }

  struct Plan {
    bool pack_a, pack_b;
    int threads, tm, tn;  // thread grid: tm over rows of C, tn over columns
    int64_t block_a;      // per-thread packed-A elements (0 when A is read in place)
    int64_t panel_b;      // shared packed-B elements (0 when B is read in place)
    int64_t per_thread;   // per-thread scratch elements
  };

  static Plan plan(const GemmArgs<T>& g) {
    Plan p{};
    // B is read in place unless transposed or reused by many row panels of A;
    // A is read in place unless reused by many column slivers of B.
    p.pack_b = g.trans_b || g.M > 4 * MR;
    p.pack_a = g.N > 4 * NR;
    const int64_t m_tiles = (g.M + MR - 1) / MR;
    const int64_t nc_max = g.N < NC ? g.N : NC;
    const int64_t n_tiles = (nc_max + NR - 1) / NR;
    const int64_t madds = g.M * g.N * g.K;
    int64_t t = madds / kMinMaddsPerThread;
    if (t > g.max_threads) t = g.max_threads;
    if (t > m_tiles * n_tiles) t = m_tiles * n_tiles;
    if (t < 1) t = 1;
    p.threads = int(t);
    // The grid with the shortest critical path (tiles per thread); ties prefer
    // splitting rows, since threads sharing rows would pack the same A blocks.
    int64_t best = -1;
    for (int tm = p.threads; tm >= 1; --tm) {
      if (p.threads % tm) continue;
      const int tn = p.threads / tm;
      const int64_t cost = ((m_tiles + tm - 1) / tm) * ((n_tiles + tn - 1) / tn);
      if (best < 0 || cost < best) {
        best = cost;
        p.tm = tm;
        p.tn = tn;
      }
    }
    const int64_t kc_max = g.K < KC ? g.K : KC;
    const int64_t mc_max = ((g.M < MC ? g.M : MC) + MR - 1) / MR * MR;
    p.block_a = p.pack_a ? round64(mc_max * kc_max) : 0;
    p.panel_b = p.pack_b ? round64(kc_max * n_tiles * NR) : 0;
    p.per_thread = p.block_a + round64(kEdgeA) + round64(kEdgeB) + round64(kTile);
    return p;
  }

  // c = t + beta * c on the valid m x n corner of a scratch tile t (ldt = NR).
  static void merge_tile(int64_t m, int64_t n, const T* t, T beta, T* c, int64_t ldc) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        c[i * ldc + j] = beta == T(0) ? t[i * NR + j] : t[i * NR + j] + beta * c[i * ldc + j];
  }

  struct Tile {
    const T* a;
    int64_t rs_a, cs_a;
    bool packed_a;
    const T* b;
    int64_t rs_b;
    bool packed_b;
  };

  static void run_tile(int64_t kc, const Tile& t, T alpha, T beta, T* c, int64_t ldc) {
    if (t.packed_a) {
      if (t.packed_b) micro_kernel<true, true>(kc, t.a, 1, MR, t.b, NR, alpha, beta, c, ldc);
      else micro_kernel<true, false>(kc, t.a, 1, MR, t.b, t.rs_b, alpha, beta, c, ldc);
    } else {
      if (t.packed_b) micro_kernel<false, true>(kc, t.a, t.rs_a, t.cs_a, t.b, NR, alpha, beta, c, ldc);
      else micro_kernel<false, false>(kc, t.a, t.rs_a, t.cs_a, t.b, t.rs_b, alpha, beta, c, ldc);
    }
  }

  // One thread's share of one (NC panel, KC slice): rows [m0, m1) of C, column
  // slivers [s0, s1) of the panel starting at column jc.
  static void thread_block(const GemmArgs<T>& g, const Plan& p, View a, View b, const T* packed_b, int64_t jc,
                           int64_t nc, int64_t pc, int64_t kc, T beta, int64_t m0, int64_t m1, int64_t s0,
                           int64_t s1, T* scratch) {
    T* block_a = scratch;
    T* edge_a = block_a + p.block_a;
    T* edge_b = edge_a + round64(kEdgeA);
    T* tile = edge_b + round64(kEdgeB);
    for (int64_t ic = m0; ic < m1; ic += MC) {
      const int64_t mc = m1 - ic < MC ? m1 - ic : MC;
      const View a_block{a.at(ic, pc), a.rs, a.cs};
      if (p.pack_a) {
        pack_a(mc, kc, a_block, block_a);
      } else if (mc % MR) {
        const int64_t last = mc / MR * MR;
        pack_a(mc - last, kc, View{a_block.at(last, 0), a.rs, a.cs}, edge_a);
      }
      for (int64_t s = s0; s < s1; ++s) {
        const int64_t jr = s * NR;
        const int64_t n = nc - jr < NR ? nc - jr : NR;
        Tile t{};
        if (p.pack_b) {
          t = Tile{nullptr, 0, 0, false, packed_b + s * NR * kc, NR, true};
        } else if (n == NR) {
          t = Tile{nullptr, 0, 0, false, b.at(pc, jc + jr), b.rs, false};
        } else {
          pack_b_sliver(n, kc, View{b.at(pc, jc + jr), b.rs, b.cs}, edge_b);
          t = Tile{nullptr, 0, 0, false, edge_b, NR, true};
        }
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int64_t m = mc - ir < MR ? mc - ir : MR;
          if (p.pack_a) {
            t.a = block_a + ir * kc;
            t.packed_a = true;
          } else if (m == MR) {
            t.a = a_block.at(ir, 0);
            t.rs_a = a.rs;
            t.cs_a = a.cs;
            t.packed_a = false;
          } else {
            t.a = edge_a;
            t.packed_a = true;
          }
          T* c = g.C + (ic + ir) * g.ldc + jc + jr;
          if (m == MR && n == NR) {
            run_tile(kc, t, g.alpha, beta, c, g.ldc);
          } else {
            run_tile(kc, t, g.alpha, T(0), tile, NR);
            merge_tile(m, n, tile, beta, c, g.ldc);
          }
        }
      }
    }
  }

  // [begin, end) of part `i` of `count` items split into `parts` near-equal ranges.
  static void split(int64_t count, int parts, int i, int64_t& begin, int64_t& end) {
    const int64_t base = count / parts, extra = count % parts;
    begin = i * base + (i < extra ? i : extra);
    end = begin + base + (i < extra ? 1 : 0);
  }

  static void run(const GemmArgs<T>& g) {
    const Plan p = plan(g);
    // op(A) and op(B) as views: element (i, k) of op(A), (k, j) of op(B).
    const View a = g.trans_a ? View{g.A, 1, g.lda} : View{g.A, g.lda, 1};
    const View b = g.trans_b ? View{g.B, 1, g.ldb} : View{g.B, g.ldb, 1};
    T* ws = static_cast<T*>(workspace(size_t(p.panel_b + p.per_thread * p.threads) * sizeof(T)));
    T* packed_b = ws;
    const int64_t m_tiles = (g.M + MR - 1) / MR;

#pragma omp parallel num_threads(p.threads) if (p.threads > 1)
    {
#ifdef _OPENMP
      const int tid = omp_get_thread_num();
#else
      const int tid = 0;
#endif
      T* scratch = ws + p.panel_b + tid * p.per_thread;
      int64_t t0, t1;
      split(m_tiles, p.tm, tid % p.tm, t0, t1);
      const int64_t m0 = t0 * MR, m1 = t1 * MR < g.M ? t1 * MR : g.M;
      for (int64_t jc = 0; jc < g.N; jc += NC) {
        const int64_t nc = g.N - jc < NC ? g.N - jc : NC;
        const int64_t slivers = (nc + NR - 1) / NR;
        int64_t s0, s1;
        split(slivers, p.tn, tid / p.tm, s0, s1);
        for (int64_t pc = 0; pc < g.K; pc += KC) {
          const int64_t kc = g.K - pc < KC ? g.K - pc : KC;
          if (p.pack_b) {
#pragma omp for schedule(static)
            for (int64_t s = 0; s < slivers; ++s) {
              const int64_t jr = s * NR;
              pack_b_sliver(nc - jr < NR ? nc - jr : NR, kc, View{b.at(pc, jc + jr), b.rs, b.cs},
                            packed_b + s * NR * kc);
            }
          }
          thread_block(g, p, a, b, packed_b, jc, nc, pc, kc, pc == 0 ? g.beta : T(1), m0, m1, s0, s1, scratch);
          if (p.pack_b) {
#pragma omp barrier
          }
        }
      }
    }
  }
};

}  // namespace minigrad::cpu::gemm_detail
