"""minigrad's CPU GEMM against numpy's (OpenBLAS) in paired blocks in one process, for machines
whose throughput changes mode from one second to the next (a VM whose two vCPUs the host
sometimes runs on one core's SMT siblings: 2-thread SGEMM 1024^3 at about 127 or about 180
GFLOP/s, in both libraries alike). Blocks of calls of each library alternate, a fraction of a
second each, with a 50 ms pause after each block in which the library's threads stop spinning
(OPENBLAS_THREAD_TIMEOUT=4 for OpenBLAS; OpenMP's spin ends sooner; OMP_WAIT_POLICY=passive
would slow minigrad's small products by a third); the ratio of each pair of neighbouring blocks
compares the two in the same mode, and the table gives the median and range of those ratios with
each library's median and best block.

    OPENBLAS_THREAD_TIMEOUT=4 PYTHONPATH=. python benchmarks/bench_gemm_paired.py --threads 2
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time

import numpy as np

# the installed (or developer-built) minigrad, then the repository for `benchmarks`
from minigrad import _C  # noqa: E402  (isort: the minigrad under test before the path change)

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.bench_gemm import TALL  # noqa: E402

SIZES = (256, 512, 1024, 2048, 4096)


def block_gflops(fn, flops: float, seconds: float) -> float:
    """GFLOP/s over calls of fn filling about `seconds` (after one warm-up call)."""
    fn()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    return flops * calls / (time.perf_counter() - t0) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=15, help="blocks of each library per size")
    parser.add_argument("--block", type=float, default=0.3, help="seconds per block")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="square sizes")
    parser.add_argument("--tall", action="store_true", help="bench_gemm.py's tall and skinny shapes instead")
    args = parser.parse_args()
    if os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
        os.execv(sys.executable, [sys.executable, *sys.argv])  # OpenBLAS reads it at load
    _C.set_num_threads(args.threads)
    print(f"SIMD {_C.build_info()['simd']}, {args.threads} threads, {args.pairs} pairs of {args.block} s blocks; "
          f"FMA peak {_C.fma_peak_gflops(args.threads, 0.5):.0f} GFLOP/s")
    print("| shape (M x K x N) | minigrad median [best] | numpy median [best] | paired ratio median [range] |")
    print("|---|---|---|---|")
    shapes = TALL if args.tall else [(f"square {n}", n, n, n, False, False) for n in args.sizes]
    rng = np.random.default_rng(0)
    for name, m, k, n, trans_a, trans_b in shapes:
        a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
        op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
        out_mg, out_np = np.empty((m, n), np.float32), np.empty((m, n), np.float32)
        flops = 2.0 * m * k * n
        mine = functools.partial(_C.gemm, a, b, trans_a, trans_b, out=out_mg)
        other = functools.partial(np.matmul, op_a, op_b, out=out_np)
        ours, theirs = [], []
        for _ in range(args.pairs):
            ours.append(block_gflops(mine, flops, args.block))
            time.sleep(0.05)
            theirs.append(block_gflops(other, flops, args.block))
            time.sleep(0.05)
        ratios = [x / y for x, y in zip(ours, theirs, strict=True)]
        print(f"| {name}: {m}x{k}x{n} | {statistics.median(ours):.1f} [{max(ours):.1f}] | "
              f"{statistics.median(theirs):.1f} [{max(theirs):.1f}] | {statistics.median(ratios):.2f} "
              f"[{min(ratios):.2f}-{max(ratios):.2f}] |")


if __name__ == "__main__":
    main()
