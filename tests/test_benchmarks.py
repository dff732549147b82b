"""The benchmark suite runs end to end and writes well-formed JSON (no speed is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad

ROOT = Path(__file__).resolve().parents[1]


# As `python -m benchmarks`, but with `import torch` failing as where torch is not installed.
# The malloc settings are given up front, so the suite does not re-execute itself (and lose the block).
WITHOUT_TORCH = "import sys; sys.modules['torch'] = None; from benchmarks.run import main; main(sys.argv[1:])"


def run_smoke(tmp_path: Path, without_torch: bool = False) -> tuple[dict, str]:
    # The minigrad under test (installed or a developer build) first, then the repo for `benchmarks`;
    # run from tmp_path so `-m` does not put the source tree's minigrad/ (no _C) first.
    # (absolute, not resolved: the emulated build's package links its .py files to the source tree)
    minigrad_home = Path(os.path.abspath(minigrad.__file__)).parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(minigrad_home), str(ROOT)]))
    args = ["--smoke", "--threads", "1", "--out", str(tmp_path)]
    if without_torch:
        env.update(MALLOC_MMAP_THRESHOLD_="33554432", MALLOC_TRIM_THRESHOLD_="17179869184")
        command = [sys.executable, "-c", WITHOUT_TORCH, *args]
    else:
        command = [sys.executable, "-m", "benchmarks", *args]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads((tmp_path / "results.json").read_text()), proc.stdout


def check_report(report: dict) -> None:
    machine = report["machine"]
    for key in ("cpu_model", "usable_cores", "minigrad_build", "gpu", "python", "numpy", "minigrad", "torch"):
        assert key in machine
    assert "simd" in machine["minigrad_build"]
    assert machine["process_env"] == {"MALLOC_MMAP_THRESHOLD_": "33554432",
                                      "MALLOC_TRIM_THRESHOLD_": "17179869184", "OPENBLAS_THREAD_TIMEOUT": "22"}
    assert report["settings"]["threads"] == [1]
    assert "minigrad-cpu@1" in report["engines"]
    assert not any(e.startswith("minigrad-cuda") for e in report["engines"]) or machine["gpu"]
    assert report["peak_theoretical"]["flops_per_cycle"] >= 2
    assert report["peak_measured"]["gflops"]["1"] > 0
    groups = {r["group"] for r in report["results"]}
    assert groups == {"gemm", "lenet5"}
    for result in report["results"]:
        assert result["phase"] in ("forward", "backward", "train step", "inference")
        stats = result["engines"]["minigrad-cpu@1"]
        assert stats["min_s"] <= stats["median_s"] <= stats["max_s"]
        assert stats["min_s"] > 0 and len(stats["samples_s"]) == report["settings"]["repeats"]
        assert stats["calls_per_sample"] >= 1
        if result["group"] == "gemm":
            assert result["flops"] > 0 and stats["gflops"] > 0 and "pct_of_peak" in stats
        else:
            assert result["items"] == 1 and stats["items_per_s"] > 0
        for name, ratio in result["ratios"].items():
            assert name.startswith("minigrad-") and ratio > 0


def test_smoke_run_writes_json_table_and_plot(tmp_path: Path) -> None:
    report, stdout = run_smoke(tmp_path)
    check_report(report)
    assert "| case | phase | minigrad-cpu@1 |" in stdout
    assert (tmp_path / "results.md").read_text().strip() in stdout
    numpy_cols = [e for e in report["engines"] if e.startswith("numpy")]
    assert numpy_cols and numpy_cols[0] in report["results"][0]["engines"]  # numpy does GEMM
    pytest.importorskip("matplotlib")
    assert (tmp_path / "results.png").stat().st_size > 0


def test_smoke_run_without_torch(tmp_path: Path) -> None:
    report, stdout = run_smoke(tmp_path, without_torch=True)
    check_report(report)
    assert report["machine"]["torch"] is None
    assert not any(e.startswith("torch") for e in report["engines"])
    assert "torch: not timed (not importable)" in report["notes"]
    assert "torch-cpu" not in stdout


def test_paired_gemm_benchmark_runs(tmp_path: Path) -> None:
    minigrad_home = Path(os.path.abspath(minigrad.__file__)).parents[1]
    env = dict(os.environ, PYTHONPATH=str(minigrad_home), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_gemm_paired.py"), "--threads", "1",
                           "--sizes", "16", "--pairs", "2", "--block", "0.01"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| square 16: 16x16x16 |" in proc.stdout and "paired ratio" in proc.stdout


def test_create_graph_benchmark_runs(tmp_path: Path) -> None:
    minigrad_home = Path(os.path.abspath(minigrad.__file__)).parents[1]
    env = dict(os.environ, PYTHONPATH=str(minigrad_home))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_create_graph.py"), "--rounds", "1",
                           "--seconds", "0.01"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| physics-informed" in proc.stdout and "| WGAN-GP critic" in proc.stdout


def test_op_overhead_benchmark_runs(tmp_path: Path) -> None:
    minigrad_home = Path(os.path.abspath(minigrad.__file__)).parents[1]
    env = dict(os.environ, PYTHONPATH=str(minigrad_home))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_op_overhead.py"), "--rounds", "1",
                           "--seconds", "0.001"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| a @ b |" in proc.stdout and "| MLP training step" in proc.stdout


def test_paired_benchmark_runs(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    minigrad_home = Path(os.path.abspath(minigrad.__file__)).parents[1]
    env = dict(os.environ, PYTHONPATH=str(minigrad_home))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_paired.py"), "--quick", "--only",
                           "conv2d", "--match", "conv2", "--pairs", "1", "--block", "0.001", "--pause", "0"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| conv2d LeNet conv2 64x6x14x14 -> 16 k5 s1 p0 backward |" in proc.stdout
