"""minigrad's benchmark suite: ops (forward and backward) and LeNet-5, against numpy and PyTorch.

    python -m benchmarks                      # full run (a few minutes on 2 cores)
    python -m benchmarks --quick              # < 1 minute; runs without a GPU and without torch
    python -m benchmarks --out bench-out      # also writes results.json and results.png there
    python -m benchmarks --threads 1 4        # minigrad (and torch, numpy) at these thread counts

Engines: minigrad on the CPU at each thread count (default 1 and every usable
core), minigrad on CUDA when a real GPU is present (the emulated CUDA build is
never timed), numpy where it can do the op, PyTorch CPU (torch.set_num_threads
equal to minigrad's) and GPU when torch is importable. Each case is timed in
rounds: every round takes one sample of every engine, in rotating order, so
load from other processes hits all engines alike. A sample times enough calls
to last about --budget seconds (time.perf_counter_ns; GPU engines synchronise
before starting and stopping the clock); figures are median [min-max] over
--repeats rounds after a warm-up call. The headline is the speed ratio
minigrad / peer (peer time / minigrad time: > 1 means minigrad is faster),
measured in the same run, since absolute times on shared machines are noisy.

--out writes results.md (the printed text), results.png and results.json:
machine (CPU model, cores, SIMD level, GPU, versions, malloc settings), settings,
engines, notes, peak_theoretical, peak_measured, and results: one entry per case
with group, name, phase, flops, items, engines {label: median_s, min_s, max_s,
samples_s, calls_per_sample, threads, gflops, pct_of_peak, items_per_s} and
ratios {"minigrad-cpu@1 / torch-cpu@1": peer time / minigrad time, ...}.

The process re-executes itself with MALLOC_MMAP_THRESHOLD_,
MALLOC_TRIM_THRESHOLD_ and OPENBLAS_THREAD_TIMEOUT set (benchmarks/common.py
says why) and records them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the benchmarks package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

# Between two samples: lets the previous engine's OpenMP workers stop spinning
# (minigrad and PyTorch each have their own pool) before the next engine starts.
SETTLE_S = 0.005


@dataclass
class Engine:
    kind: str  # a key of Case.builders
    threads: int | None  # None: not a CPU thread count (GPU, or numpy without BLAS control)
    prepare: Callable[[], None]  # sets this engine's thread count before each sample
    sync: Callable[[], object] | None = None  # device synchronise, for GPU engines

    @property
    def label(self) -> str:
        return f"{self.kind}@{self.threads}" if self.threads else self.kind


def _torch_or_none(use_torch: bool):
    if not use_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


def make_engines(threads: list[int], use_torch: bool) -> tuple[list[Engine], list[str]]:
    """The engines usable here, and notes on those left out."""
    import minigrad
    from minigrad import _C

    def minigrad_threads(n: int) -> Callable[[], None]:
        return lambda: minigrad.set_num_threads(n)

    engines = [Engine("minigrad-cpu", t, minigrad_threads(t)) for t in threads]
    notes = []
    cuda = getattr(_C, "cuda", None)
    if cuda is None or _C.cuda_device_count() < 1:
        notes.append(f"minigrad-cuda: not timed ({_C.cuda_status()})")
    elif cuda.is_emulated():
        notes.append("minigrad-cuda: not timed (emulated CUDA build)")
    else:
        engines.append(Engine("minigrad-cuda", None, minigrad_threads(max(threads)), cuda.synchronize))

    set_blas = common.numpy_thread_setter()
    if set_blas is None:
        engines.append(Engine("numpy", None, lambda: None))
        notes.append("numpy: BLAS thread count not controllable here; numpy runs at its default")
    else:
        engines += [Engine("numpy", t, lambda t=t: set_blas(t)) for t in threads]

    torch = _torch_or_none(use_torch)
    if torch is None:
        notes.append("torch: not timed (not importable)" if use_torch else "torch: not timed (--no-torch)")
    else:
        engines += [Engine("torch-cpu", t, lambda t=t: torch.set_num_threads(t)) for t in threads]
        if torch.cuda.is_available():
            engines.append(Engine("torch-cuda", None, lambda: None, torch.cuda.synchronize))
    return engines, notes


def measure(case, engines: list[Engine], repeats: int, budget: float) -> dict:
    """Times one case on every engine that can run it; rounds alternate between engines."""
    runnable = []
    for engine in engines:
        engine.prepare()
        try:
            fn = case.builders[engine.kind]()
        except Exception as exc:  # an engine lacking the op (e.g. a backend without model support)
            print(f"  {case.key}: {engine.label} skipped ({type(exc).__name__}: {exc})", file=sys.stderr)
            fn = None
        if fn is not None:
            runnable.append((engine, fn, common.calls_for_budget(fn, budget, engine.sync)))
    samples: dict[str, list[float]] = {engine.label: [] for engine, _, _ in runnable}
    for r in range(repeats):
        order = runnable[r % len(runnable):] + runnable[:r % len(runnable)] if runnable else []
        for engine, fn, calls in order:
            engine.prepare()
            time.sleep(SETTLE_S)
            samples[engine.label].append(common.time_calls(fn, calls, engine.sync))
    results = {}
    for engine, _, calls in runnable:
        stats = common.summarize(samples[engine.label])
        stats["calls_per_sample"] = calls
        stats["threads"] = engine.threads
        if case.flops:
            stats["gflops"] = case.flops / stats["median_s"] / 1e9
        if case.items:
            stats["items_per_s"] = case.items / stats["median_s"]
        results[engine.label] = stats
    return results


def speed_ratios(timings: dict, threads: list[int]) -> dict:
    """peer median time / minigrad median time, for each peer on the same footing."""
    pairs = []
    for t in threads:
        mine = f"minigrad-cpu@{t}"
        pairs += [(mine, f"torch-cpu@{t}"), (mine, f"numpy@{t}" if f"numpy@{t}" in timings else "numpy")]
    pairs.append(("minigrad-cuda", "torch-cuda"))
    return {f"{a} / {b}": timings[b]["median_s"] / timings[a]["median_s"]
            for a, b in pairs if a in timings and b in timings}


def add_peak_fractions(results: list[dict], peak: dict) -> None:
    """% of the measured FMA peak for the threads used, on every GFLOP/s figure of a CPU engine."""
    for result in results:
        for stats in result["engines"].values():
            gflops_peak = peak["gflops"].get(str(stats["threads"])) if stats["threads"] else None
            if gflops_peak and "gflops" in stats:
                stats["pct_of_peak"] = 100 * stats["gflops"] / gflops_peak


def measured_peak(threads: list[int], before: dict | None = None) -> dict:
    """float32 GFLOP/s of a register-only FMA loop (_C.fma_peak_gflops) per thread count: the
    ceiling. `before`, an earlier measurement of this run, is kept where it was higher: other
    processes only ever lower the figure, so the suite measures at its start and its end."""
    from minigrad import _C

    gflops = {str(t): _C.fma_peak_gflops(t, 0.2) for t in threads}
    if before:
        gflops = {t: max(g, before["gflops"].get(t, 0.0)) for t, g in gflops.items()}
    return {"kind": "register-only float32 FMA loop (_C.fma_peak_gflops; best of 3 runs of 0.2 s at the "
                    "start and at the end of the run)", "gflops": gflops}


# ---------------------------------------------------------------------------- report
def _cell(stats: dict | None) -> str:
    if stats is None:
        return "-"
    ms = [1e3 * stats[k] for k in ("median_s", "min_s", "max_s")]
    text = f"{ms[0]:.3g} ms [{ms[1]:.3g}-{ms[2]:.3g}]"
    if "items_per_s" in stats:
        text = f"{stats['items_per_s']:,.0f} img/s ({text})"
    elif "gflops" in stats:
        text += f" {stats['gflops']:.1f} GF/s"
        if "pct_of_peak" in stats:
            text += f" ({stats['pct_of_peak']:.0f}%)"
    return text


def markdown_report(report: dict) -> str:
    """The tables, one per group, then the headline ratios."""
    results = report["results"]
    labels = [label for label in report["engines"] if any(label in r["engines"] for r in results)]
    ratio_names = list(dict.fromkeys(name for r in results for name in r["ratios"]))
    out = []
    for group in dict.fromkeys(r["group"] for r in results):
        rows = [r for r in results if r["group"] == group]
        used = [label for label in labels if any(label in r["engines"] for r in rows)]
        ratios = [name for name in ratio_names if any(name in r["ratios"] for r in rows)]
        table_rows = [[r["name"], r["phase"], *(_cell(r["engines"].get(label)) for label in used),
                       *(f"{r['ratios'][n]:.2f}" if n in r["ratios"] else "-" for n in ratios)] for r in rows]
        out += [f"### {group}", "", common.markdown_table(["case", "phase", *used, *ratios], table_rows), ""]
    return "\n".join(out)


def avx512_rate(build: dict) -> str:
    """Whether the AVX-512 FMAs ran at full rate (it decides the conv kernels), for the header."""
    if build.get("simd") != "avx512" or "avx512_full_rate" not in build:
        return ""
    return " (512-bit FMAs at " + ("twice the 256-bit rate)" if build["avx512_full_rate"] else "the 256-bit rate)")


def torch_capability(machine: dict) -> str:
    """PyTorch's CPU kernel level, when known (results before it was recorded lack it)."""
    level = machine.get("torch_cpu_capability")
    return f" (CPU capability {level})" if level else ""


def header(report: dict) -> str:
    m, s, peak, measured = report["machine"], report["settings"], report["peak_theoretical"], report["peak_measured"]
    build = m["minigrad_build"]
    lines = [
        f"Machine: {m['cpu_model']}, {m['usable_cores']} usable cores ({m['logical_cpus']} logical CPUs), "
        f"minigrad SIMD {build.get('simd')}{avx512_rate(build)}, GPU {m['gpu'] or 'none'}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average'] or [])}.",
        f"Versions: minigrad {m['minigrad']}, numpy {m['numpy']}, torch {m['torch'] or 'not installed'}"
        f"{torch_capability(m)}, "
        f"Python {m['python']}.",
        f"Settings: {s['repeats']} rounds (engines alternate within each round), samples of ~{s['budget_s']} s, "
        f"threads {s['threads']}, float32; {', '.join(f'{k}={v}' for k, v in m['process_env'].items())} "
        "(glibc keeps freed memory, so PyTorch is measured at its best; OpenBLAS's idle threads "
        "stop spinning between samples, so they do not slow the next engine).",
    ]
    lines.append("Measured float32 peak (FMA loop with operands in registers, _C.fma_peak_gflops): "
                 + ", ".join(f"{v:.1f} GFLOP/s at {k} thread{'s' if k != '1' else ''}"
                             for k, v in measured["gflops"].items())
                 + "; '%' in cells is of this peak at the threads used.")
    if peak.get("per_core_gflops"):
        lines.append(
            f"Theoretical float32 peak (for comparison): {peak['per_core_gflops']:.1f} GFLOP/s per core "
            f"({peak['clock_ghz']:.2f} GHz from /proc/cpuinfo x {peak['flops_per_cycle']} FLOPs/cycle, "
            f"{peak['assumption']})."
        )
    lines += [f"Note: {note}." for note in report["notes"]]
    lines.append("Ratios: peer time / minigrad time, medians of the same run (> 1: minigrad faster).")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> bool:
    """Bar charts: GFLOP/s of GEMM and conv, images/s of LeNet-5, speed ratios. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    results = report["results"]
    panels = [
        ("GFLOP/s (GEMM, conv2d)", "gflops", [r for r in results if r["flops"]]),
        ("images/s (LeNet-5)", "items_per_s", [r for r in results if r["items"]]),
    ]
    ratio_rows = [r for r in results if r["ratios"]]
    heights = [max(2.0, 0.5 * len(rows)) for _, _, rows in panels] + [max(2.0, 0.45 * len(ratio_rows))]
    fig, axes = plt.subplots(3, 1, figsize=(11, sum(heights) + 2), gridspec_kw={"height_ratios": heights})
    palette = plt.get_cmap("tab10").colors
    colors = {label: palette[i % len(palette)] for i, label in enumerate(report["engines"])}
    for ax, (title, key, rows) in zip(axes[:2], panels, strict=True):
        labels = [label for label in report["engines"] if any(label in r["engines"] for r in rows)]
        _bars(ax, [f"{r['name']} {r['phase']}" for r in rows],
              {label: [r["engines"].get(label, {}).get(key, 0.0) for r in rows] for label in labels}, title, colors)
    names = list(dict.fromkeys(n for r in ratio_rows for n in r["ratios"]))
    # A ratio bar takes the colour of its peer engine.
    _bars(axes[2], [f"{r['group']} {r['name']} {r['phase']}" for r in ratio_rows],
          {n: [r["ratios"].get(n, 0.0) for r in ratio_rows] for n in names},
          "speed ratio minigrad / peer (> 1: minigrad faster)", {n: colors[n.split(" / ")[1]] for n in names},
          log=True)
    axes[2].axvline(1.0, color="black", linewidth=0.8)
    m = report["machine"]
    fig.suptitle(f"minigrad benchmarks - {m['cpu_model']}, {m['usable_cores']} cores, GPU {m['gpu'] or 'none'}")
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _bars(ax, rows: list[str], series: dict[str, list[float]], title: str, colors: dict, log: bool = False) -> None:
    """Horizontal grouped bars: one group per row, one bar per series."""
    import numpy as np

    height = 0.8 / max(1, len(series))
    y = np.arange(len(rows))
    for i, (name, values) in enumerate(series.items()):
        ax.barh(y + i * height, values, height, label=name, color=colors[name])
    ax.set_yticks(y + height * (len(series) - 1) / 2, rows, fontsize=7)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)


# ---------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases, shorter samples (< 1 minute)")
    parser.add_argument("--smoke", action="store_true", help="one round of two cases (for tests)")
    parser.add_argument("--out", type=Path, help="directory for results.json, results.md and results.png")
    parser.add_argument("--threads", type=int, nargs="+", help="thread counts (default: 1 and all usable cores)")
    parser.add_argument("--repeats", type=int, help="rounds per case (default 7; --quick 3)")
    parser.add_argument("--budget", type=float, help="seconds per sample (default 0.03; --quick 0.005)")
    parser.add_argument("--only", nargs="+", help="groups to run: gemm conv2d max_pool2d cross_entropy "
                        "optimizer lenet5 cifar_cnn")
    parser.add_argument("--no-torch", action="store_true", help="do not time PyTorch even when installed")
    parser.add_argument("--engines", nargs="+", help="engine kinds to time: minigrad-cpu minigrad-cuda numpy "
                        "torch-cpu torch-cuda (default: all usable)")
    return parser


def main(argv: list[str] | None = None) -> dict:
    common.ensure_process_env()
    args = build_parser().parse_args(argv)
    from benchmarks import ops

    quick = args.quick or args.smoke
    threads = sorted(set(args.threads or [1, common.usable_cores()]))
    repeats = args.repeats or (1 if args.smoke else 3 if quick else 7)
    budget = args.budget or (0.001 if args.smoke else 0.005 if quick else 0.03)
    cases = ops.suite(quick)
    if args.only:
        cases = [c for c in cases if c.group in args.only]
    if args.smoke:
        cases = [c for c in cases if c.group == "gemm"][:1] + [c for c in cases if c.group == "lenet5"][:1]

    engines, notes = make_engines(threads, not args.no_torch)
    if args.engines:
        engines = [e for e in engines if e.kind in args.engines]
    started = time.perf_counter()
    fma_peak = measured_peak(threads)
    results = []
    for case in cases:
        timings = measure(case, engines, repeats, budget)
        results.append({"group": case.group, "name": case.name, "phase": case.phase, "flops": case.flops,
                        "items": case.items, "engines": timings, "ratios": speed_ratios(timings, threads)})
        print(f"  {case.key}: done", file=sys.stderr, flush=True)
    peak = common.theoretical_peak(common.usable_cores())
    fma_peak = measured_peak(threads, fma_peak)
    add_peak_fractions(results, fma_peak)
    report = {
        "schema": 1,
        "command": " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_s": time.perf_counter() - started,
        "machine": common.machine_info(),
        "settings": {"quick": quick, "smoke": args.smoke, "repeats": repeats, "budget_s": budget,
                     "threads": threads, "dtype": "float32"},
        "engines": [e.label for e in engines],
        "notes": notes,
        "peak_theoretical": peak,
        "peak_measured": fma_peak,
        "results": results,
    }
    text = header(report) + "\n\n" + markdown_report(report)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(report, indent=1))
        (args.out / "results.md").write_text(text + "\n")
        drawn = plot(report, args.out / "results.png")
        print(f"\nwrote {args.out}/results.json, results.md" + (", results.png" if drawn else
                                                                  " (no PNG: matplotlib not installed)"))
    return report


if __name__ == "__main__":
    main()
