"""GFLOP/s of minigrad's CPU GEMM against numpy's matmul (OpenBLAS), as a Markdown table.

    PYTHONPATH=. python benchmarks/bench_gemm.py [--quick] [--threads 1 2]

OpenBLAS picks its kernel from OPENBLAS_CORETYPE when that is set (some machines
set it), else from its own CPU detection. numpy is therefore measured in worker
subprocesses twice: with OPENBLAS_CORETYPE unset, and set to the best core type
for this CPU's flags (SkylakeX with AVX-512, Haswell with AVX2); each worker also
has OPENBLAS_NUM_THREADS equal to the thread count. minigrad runs in its own worker
processes (OPENBLAS_NUM_THREADS=1 there, so no BLAS threads compete with its
OpenMP ones). Rounds alternate between the three kinds of worker so that load
from other processes hits all alike; each figure is the median over rounds, out=
preallocated for both libraries.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the benchmarks package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import best_coretype, markdown_table, time_call  # noqa: E402

# (label, M, K, N, trans_a, trans_b): C (M x N) = op(A) (M x K) @ op(B) (K x N).
SQUARE = [64, 128, 256, 512, 1024, 2048]
QUICK_SQUARE = [64, 256, 512, 1024]
LENET = [
    ("conv1 fwd, 1 image", 6, 25, 784, False, False),
    ("conv1 fwd, 64 images", 6, 25, 784 * 64, False, False),
    ("conv1 dW, 1 image", 6, 784, 25, False, True),
    ("conv2 fwd, 1 image", 16, 150, 100, False, False),
    ("conv2 fwd, 64 images", 16, 150, 100 * 64, False, False),
    ("conv2 dcol, 1 image", 150, 16, 100, True, False),
    ("fc1 fwd (64x400 @ W^T)", 64, 400, 120, False, True),
    ("fc1 dX", 64, 120, 400, False, False),
    ("fc1 dW", 120, 64, 400, True, False),
    ("fc2 fwd", 64, 120, 84, False, True),
    ("fc3 fwd", 64, 84, 10, False, True),
]
QUICK_LENET = [0, 1, 3, 4, 6]
# The tall and skinny products of issue 14's layers: the CIFAR CNN's FC 2048 -> 256 at batch
# 64 / 128 (forward, input and weight gradients) and the ResNet convolutions as plain GEMMs
# (per image, or 8 images side by side where minigrad folds them), plus square 4096.
TALL = [
    ("CIFAR fc1 fwd, batch 64 (x @ W^T)", 64, 2048, 256, False, True),
    ("CIFAR fc1 dX, batch 64 (dy @ W)", 64, 256, 2048, False, False),
    ("CIFAR fc1 dW, batch 64 (dy^T @ x)", 256, 64, 2048, True, False),
    ("CIFAR fc1 fwd, batch 128", 128, 2048, 256, False, True),
    ("CIFAR fc1 dW, batch 128", 256, 128, 2048, True, False),
    ("ResNet 3x3 64 @56x56 fwd, 1 image (W @ col)", 64, 576, 3136, False, False),
    ("ResNet 3x3 64 @56x56 dcol (W^T @ dy)", 576, 64, 3136, True, False),
    ("ResNet 3x3 64 @56x56 dW (dy @ col^T)", 64, 3136, 576, False, True),
    ("ResNet 1x1 64->256 @56x56 fwd", 256, 64, 3136, False, False),
    ("ResNet 3x3 s2 256->512 @14x14 fwd, 8 images", 512, 2304, 392, False, False),
    ("ResNet 3x3 s2 256->512 dcol, 8 images", 2304, 512, 392, True, False),
    ("ResNet 3x3 512 @7x7 fwd, 8 images", 512, 4608, 392, False, False),
    ("tall 4096 x 64 x 4096 (rank-64 update)", 4096, 64, 4096, False, False),
    ("skinny 4096 x 4096 x 64", 4096, 4096, 64, False, False),
    ("square 4096", 4096, 4096, 4096, False, False),
]


def worker(library: str, cases: list, threads: int, budget: float) -> dict:
    """Runs in a subprocess: seconds per call of one library for each case; the
    minigrad worker also measures the FMA peak (GFLOP/s) at `threads` first."""
    from minigrad import _C

    _C.set_num_threads(threads)
    peak = _C.fma_peak_gflops(threads, 0.1) if library == "minigrad" else None
    rng = np.random.default_rng(0)
    seconds = []
    for m, k, n, ta, tb, dtype in cases:
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
        out = np.empty((m, n), dtype)
        if library == "minigrad":
            seconds.append(time_call(functools.partial(_C.gemm, a, b, ta, tb, out=out), budget))
        else:
            op_a, op_b = (a.T if ta else a), (b.T if tb else b)
            seconds.append(time_call(functools.partial(np.matmul, op_a, op_b, out=out), budget))
    return {"seconds": seconds, "fma_peak_gflops": peak}


def run_worker(
    library: str, coretype: str | None, cases: list, threads: int, budget: float
) -> dict:
    """One worker subprocess; OpenBLAS gets `threads` threads (numpy) and OPENBLAS_CORETYPE."""
    blas_threads = threads if library == "numpy" else 1
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads))
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    spec = json.dumps({"library": library, "cases": cases, "threads": threads, "budget": budget})
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", spec],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes and shorter timings")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", choices=["square", "lenet", "tall"], help="run one group of shapes")
    parser.add_argument("--rounds", type=int, help="rounds of workers per thread count (default 5; --quick 3)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(worker(spec["library"], spec["cases"], spec["threads"], spec["budget"])))
        return

    rows = []  # (label, M, K, N, ta, tb, dtype)
    if args.only in (None, "square"):
        for dtype in ("float32", "float64"):
            for s in QUICK_SQUARE if args.quick else SQUARE:
                rows.append((f"square {s}", s, s, s, False, False, dtype))
    if args.only in (None, "lenet"):
        lenet = [LENET[i] for i in QUICK_LENET] if args.quick else LENET
        rows += [(*shape, "float32") for shape in lenet]
    if args.only == "tall":  # not in the default run: square 4096 alone takes seconds per call
        rows += [(*shape, "float32") for shape in TALL]
    cases = [list(r[1:]) for r in rows]
    rounds, budget = (3, 0.05) if args.quick else (5, 0.1)
    rounds = args.rounds or rounds
    coretype = best_coretype()
    settings = [None] + ([coretype] if coretype else [])

    from minigrad import _C

    info = _C.build_info()
    print(
        f"minigrad simd={info['simd']} ({info['compiler']}); numpy {np.__version__}; "
        f"numpy measured with OPENBLAS_CORETYPE unset and ={coretype}, "
        f"OPENBLAS_NUM_THREADS = threads; medians of {rounds} rounds. FMA peak: the best\n"
        "_C.fma_peak_gflops (float32 FMA loop, operands in registers) of the minigrad workers.\n"
    )
    ct_name = f"numpy CORETYPE={coretype}" if coretype else "-"
    headers = ["shape (M x K x N)", "dtype", "threads", "minigrad GFLOP/s", "numpy default", ct_name,
               "minigrad % of faster numpy", "minigrad / numpy default", "minigrad % of FMA peak"]
    table = []
    # (library, OPENBLAS_CORETYPE) per column; rounds alternate between them so that
    # load from other processes hits all alike.
    columns = [("minigrad", None)] + [("numpy", ct) for ct in settings]
    for threads in args.threads:
        samples = {col: [] for col in columns}
        for _ in range(rounds):
            for col in columns:
                samples[col].append(run_worker(*col, cases, threads, budget))
        peak = max(s["fma_peak_gflops"] for s in samples[columns[0]])
        for i, (label, m, k, n, ta, tb, dtype) in enumerate(rows):
            flops = 2.0 * m * n * k
            medians = [statistics.median(s["seconds"][i] for s in samples[col]) for col in columns]
            g_mg, *g_np = (flops / t / 1e9 for t in medians)
            ops = "".join([" A^T" if ta else "", " B^T" if tb else ""])
            table.append([f"{label}: {m}x{k}x{n}{ops}", dtype, str(threads), f"{g_mg:.1f}", f"{g_np[0]:.1f}",
                          f"{g_np[1]:.1f}" if len(g_np) > 1 else "-", f"{100 * g_mg / max(g_np):.0f}%",
                          f"{g_mg / g_np[0]:.2f}", f"{100 * g_mg / peak:.0f}%" if dtype == "float32" else "-"])
    print(markdown_table(headers, table))


if __name__ == "__main__":
    main()
