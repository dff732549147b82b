"""The suite's cases (benchmarks/ops.py), minigrad against PyTorch on the CPU in paired blocks of
one process, for machines whose throughput changes mode from one second to the next (see
bench_gemm_paired.py, which does the same for the GEMM against OpenBLAS). Blocks of calls of each
library alternate, a fraction of a second each, with a pause after each block in which the
library's threads stop spinning; the ratio of each pair of neighbouring blocks compares the two
in the same mode. The table gives each library's median time per call, minigrad's median % of
the measured FMA peak where the case counts flops, and the median and range of the paired ratios
PyTorch time / minigrad time (> 1: minigrad faster).

    PYTHONPATH=. python benchmarks/bench_paired.py --only conv2d --threads 2 [--match "s2"]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

# the installed (or developer-built) minigrad, then the repository for `benchmarks`
import minigrad  # noqa: E402  (isort: the minigrad under test before the path change)

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.ops import suite  # noqa: E402


def block_seconds_per_call(fn, seconds: float) -> float:
    """Seconds per call over calls of fn filling about `seconds` (after one warm-up call)."""
    fn()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - t0) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="+", default=["conv2d"], help="case groups (ops.py), e.g. conv2d gemm")
    parser.add_argument("--match", default="", help="only cases whose name contains this text")
    parser.add_argument("--pairs", type=int, default=9, help="blocks of each library per case")
    parser.add_argument("--block", type=float, default=0.3, help="seconds per block")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds after each block")
    parser.add_argument("--quick", action="store_true", help="the suite's --quick cases")
    args = parser.parse_args()
    import torch  # the peer; a benchmark dependency only

    from minigrad import _C

    minigrad.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    # the best of several short runs: on a VM whose threads sometimes share one core, a single run
    # can read the 1-thread figure at 2 threads
    peak = max(_C.fma_peak_gflops(args.threads, 0.2) for _ in range(5))
    print(f"SIMD {_C.build_info()['simd']}, {args.threads} thread(s), {args.pairs} pairs of {args.block} s blocks; "
          f"FMA peak {peak:.0f} GFLOP/s; torch {torch.__version__}")
    print("| case | minigrad ms (% of peak) | torch ms | torch / minigrad, paired median [range] |")
    print("|---|---|---|---|")
    cases = [c for c in suite(args.quick) if c.group in args.only and args.match in c.name]
    for case in cases:
        mine, theirs = case.builders["minigrad-cpu"](), case.builders["torch-cpu"]()
        if mine is None or theirs is None:
            continue
        ours, peers = [], []
        for _ in range(args.pairs):
            ours.append(block_seconds_per_call(mine, args.block))
            time.sleep(args.pause)
            peers.append(block_seconds_per_call(theirs, args.block))
            time.sleep(args.pause)
        ratios = [p / o for o, p in zip(ours, peers, strict=True)]
        median = statistics.median(ours)
        share = f" ({100 * case.flops / median / 1e9 / peak:.0f}%)" if case.flops else ""
        print(f"| {case.key} | {median * 1e3:.3f}{share} | {statistics.median(peers) * 1e3:.3f} | "
              f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}] |", flush=True)


if __name__ == "__main__":
    main()
