"""Shared benchmark machinery: process settings, timing, machine description, peak FLOP/s, tables.

Used by the suite (benchmarks/run.py) and by benchmarks/bench_gemm.py.
"""

from __future__ import annotations

import ctypes
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence

# Read once at start-up by glibc and OpenBLAS, so set by re-executing the process.
# - glibc returning freed memory to the OS made PyTorch's LeNet step vary by up
#   to 2x on these machines (thousands of page faults per step). With the MALLOC
#   settings large blocks stay in the heap, so every engine is measured at its best.
# - OpenBLAS's idle threads spin for 2**28 cycles (~0.1 s) after each call by
#   default, and so took a core from whichever engine ran next: minigrad's
#   2-thread GEMM fell from 85% to 45-60% of peak when it alternated with numpy.
#   2**22 cycles (~2 ms) still keeps them spinning between numpy's calls within
#   a sample, and they sleep within the pause between samples (run.SETTLE_S).
PROCESS_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "17179869184",
               "OPENBLAS_THREAD_TIMEOUT": "22"}


def ensure_process_env() -> None:
    """Re-exec this process with PROCESS_ENV set unless it already is."""
    if all(os.environ.get(k) == v for k, v in PROCESS_ENV.items()):
        return
    os.environ.update(PROCESS_ENV)
    argv = list(getattr(sys, "orig_argv", [])) or [sys.executable, *sys.argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *argv[1:]])


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_flags() -> list[str]:
    """The CPU feature flags from /proc/cpuinfo (empty when it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return line.split(":", 1)[1].split()
    except OSError:
        pass
    return []


def cpuinfo_field(name: str) -> str | None:
    """The first value of a /proc/cpuinfo field ("model name", "cpu MHz")."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == name:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def best_coretype() -> str | None:
    """The OpenBLAS core type matching this CPU's vector extensions, from /proc/cpuinfo
    (Haswell under MINIGRAD_SIMD=avx2, so that both libraries run AVX2 kernels)."""
    flags = cpu_flags()
    if "avx512f" in flags and os.environ.get("MINIGRAD_SIMD") != "avx2":
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Haswell"
    return None


# ---------------------------------------------------------------------------- timing
def time_call(fn: Callable[[], object], budget: float) -> float:
    """Seconds per call of fn, timing enough calls that one sample lasts about budget."""
    calls = calls_for_budget(fn, budget)
    return time_calls(fn, calls)


def calls_for_budget(fn: Callable[[], object], budget: float, sync: Callable[[], object] | None = None) -> int:
    """How many calls of fn make one sample of about budget seconds (after one warm-up call)."""
    time_calls(fn, 1, sync)  # warm-up: first-call allocations, lazy initialisation
    once = time_calls(fn, 1, sync)
    return max(1, int(budget / max(once, 1e-7)))


def time_calls(fn: Callable[[], object], calls: int, sync: Callable[[], object] | None = None) -> float:
    """Seconds per call over `calls` calls, on the monotonic clock; sync (a device
    synchronize) runs before starting and before stopping the clock."""
    if sync:
        sync()
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    if sync:
        sync()
    return (time.perf_counter_ns() - t0) / calls / 1e9


def minigrad_and_torch(threads: int) -> dict:
    """{"minigrad": module[, "torch": module]} (torch when importable), each at `threads` threads:
    the libraries the standalone bench_*.py scripts compare."""
    import importlib

    libs = {"minigrad": importlib.import_module("minigrad")}
    try:
        libs["torch"] = importlib.import_module("torch")
    except ImportError:
        pass
    for lib in libs.values():
        lib.set_num_threads(threads)
    return libs


def alternating_table(cases: dict[str, dict[str, Callable[[], object]]], rounds: int, budget: float,
                      unit: str = "ms") -> str:
    """A markdown table: for each case ({library: call}), each library's median [range] time per
    call (in unit, "ms" or "us") over rounds in which the libraries alternate (a sample of about
    budget seconds each), and PyTorch's median / minigrad's where both ran."""
    scale, digits = {"ms": (1e3, 2), "us": (1e6, 1)}[unit]
    libs = list(next(iter(cases.values())))
    both = "torch" in libs and "minigrad" in libs
    lines = ["| case | " + " | ".join(libs) + (" | torch / minigrad |" if both else " |"),
             "|---|" + "---|" * (len(libs) + both)]
    for name, calls in cases.items():
        times: dict[str, list[float]] = {lib: [] for lib in calls}
        for _ in range(rounds):
            for lib, call in calls.items():
                times[lib].append(time_call(call, budget) * scale)
        cells = [f"{statistics.median(t):.{digits}f} [{min(t):.{digits}f}-{max(t):.{digits}f}]"
                 for t in times.values()]
        ratio = f" | {statistics.median(times['torch']) / statistics.median(times['minigrad']):.2f}" if both else ""
        lines.append(f"| {name} | " + " | ".join(cells) + ratio + " |")
    return "\n".join(lines)


def summarize(seconds: Sequence[float]) -> dict:
    """Median and range of per-call times."""
    return {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "samples_s": list(seconds),
    }


# ---------------------------------------------------------------------------- BLAS threads
def _openblas_setter() -> Callable[[int], None] | None:
    """openblas_set_num_threads of the OpenBLAS numpy loaded (found in /proc/self/maps), if any."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    names = ("openblas_set_num_threads", "openblas_set_num_threads64_", "scipy_openblas_set_num_threads64_",
             "scipy_openblas_set_num_threads")
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                return fn
    return None


def numpy_thread_setter() -> Callable[[int], None] | None:
    """A function setting numpy's BLAS thread count at run time, or None where that is not possible."""
    import numpy as np

    np.ones((2, 2)) @ np.ones((2, 2))  # make sure the BLAS library is loaded
    return _openblas_setter()


# ---------------------------------------------------------------------------- machine
def simd_flops_per_cycle(flags: Sequence[str], avx512_full_rate: bool = True) -> tuple[int, str]:
    """float32 FLOPs per cycle per core, assuming two FMA pipes (most x86 server cores).

    avx512_full_rate: minigrad's measurement (build_info) of whether 512-bit FMAs outrun
    256-bit ones; where they do not (AMD Zen 4 runs each as two halves), AVX2's figure holds."""
    if "avx512f" in flags and avx512_full_rate:
        return 2 * 16 * 2, "AVX-512: 2 FMA pipes x 16 lanes x 2"
    if "avx512f" in flags:
        return 2 * 8 * 2, "AVX-512 at the 256-bit rate (measured): 2 FMA pipes x 8 lanes x 2"
    if "avx2" in flags and "fma" in flags:
        return 2 * 8 * 2, "AVX2+FMA: 2 FMA pipes x 8 lanes x 2"
    if "sse2" in flags:
        return 2 * 4, "SSE2: 1 add + 1 mul pipe x 4 lanes"
    return 2, "scalar: 1 FMA per cycle"


def theoretical_peak(cores: int) -> dict:
    """Peak float32 FLOP/s = cores x clock x FLOPs/cycle, from /proc/cpuinfo (a ceiling, not a measurement).

    The clock is /proc/cpuinfo's current "cpu MHz", which may sit below the turbo clock."""
    from minigrad import _C

    per_cycle, how = simd_flops_per_cycle(cpu_flags(), _C.build_info().get("avx512_full_rate", True))
    mhz = cpuinfo_field("cpu MHz")
    ghz = float(mhz) / 1000 if mhz else None
    per_core = ghz * 1e9 * per_cycle if ghz else None
    return {
        "kind": "theoretical (cores x clock x FLOPs/cycle)",
        "clock_ghz": ghz,
        "flops_per_cycle": per_cycle,
        "assumption": how,
        "per_core_gflops": per_core / 1e9 if per_core else None,
        "cores": cores,
        "all_cores_gflops": per_core * cores / 1e9 if per_core else None,
    }


def _gpu_name() -> str | None:
    from minigrad import _C

    cuda = getattr(_C, "cuda", None)
    if cuda is not None and _C.cuda_device_count() > 0 and not cuda.is_emulated():
        return cuda.get_device_name()
    return None


def machine_info() -> dict:
    """Where and with what a figure was measured."""
    import numpy as np

    import minigrad

    info = {
        "cpu_model": cpuinfo_field("model name") or platform.processor() or platform.machine(),
        "cpu_mhz": cpuinfo_field("cpu MHz"),
        "logical_cpus": os.cpu_count(),
        "usable_cores": usable_cores(),
        "minigrad_build": minigrad.build_info(),
        "gpu": _gpu_name(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "minigrad": minigrad.__version__,
        "numpy": np.__version__,
        "torch": None,
        "torch_cpu_capability": None,
        "process_env": {k: os.environ.get(k) for k in PROCESS_ENV},
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
        # ATEN_CPU_CAPABILITY caps it, as MINIGRAD_SIMD caps minigrad: an AVX2 run caps both.
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        if info["gpu"] is None and torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


# ---------------------------------------------------------------------------- output
def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
