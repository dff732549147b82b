"""Data-parallel scaling: training images/s on 1 process x 1 thread against N ranks x 1 thread.

PYTHONPATH=. python benchmarks/bench_distributed.py                 # LeNet-5 and the CIFAR-sized CNN, N=2
PYTHONPATH=. python benchmarks/bench_distributed.py --models lenet5 --ranks 2 --rounds 5 --steps 40

Weak scaling, as data-parallel training is used: every rank keeps the per-rank batch, so N
ranks train on N times the images per step. For each model the baseline (one plain process,
no DistributedDataParallel) and the N-rank run (``mpiexec -n N``) alternate, ``--rounds``
times; the figures are medians over rounds, and the best round of each (the one least disturbed
by other processes on a shared machine). Reported per model:

- images/s of each, and the scaling efficiency = (N-rank images/s) / (N x baseline images/s);
- exposed communication: the share of the N-rank step time spent at the end of backward
  waiting for gradient all-reduces that backward did not hide (``ddp.comm_wait_seconds``;
  it also holds waiting for a slower rank, which on a shared machine is most of it);
- the CPU share of each run: its least-served process's CPU time / wall time. Below 0.9 another
  program took part of a core (N ranks on N cores are in lockstep, so one rank losing its core
  stalls all); the efficiency over the undisturbed rounds (all shares >= 0.9) is reported beside
  the plain medians.

Data is random, made once in memory (the loader is not measured). Needs mpiexec and mpi4py
(pip install "minigrad[distributed]"); as root, Open MPI also needs OMPI_ALLOW_RUN_AS_ROOT=1 and
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 (set here when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import minigrad
import minigrad.distributed as dist
import minigrad.nn.functional as F
from minigrad import optim
from minigrad.models import CifarCNN, LeNet5

MODELS = {"lenet5": (LeNet5, (1, 28, 28), 64), "cifar-cnn": (CifarCNN, (3, 32, 32), 32)}


def parameter_count(name: str) -> int:
    return sum(p.numel() for p in MODELS[name][0]().parameters())


def measure(name: str, batch: int, steps: int, warmup: int) -> dict:
    """Time training steps on this process (one rank of a job, or alone); rank 0 returns the figures."""
    rank, world = dist.rank_and_world_size()
    minigrad.set_num_threads(1)
    minigrad.manual_seed(0)
    factory, shape, _ = MODELS[name]
    model = factory()
    net = dist.DistributedDataParallel(model) if world > 1 else model
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(rank)
    x = minigrad.from_numpy(rng.standard_normal((batch, *shape)).astype(np.float32))
    y = minigrad.from_numpy(rng.integers(0, 10, batch))

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    for _ in range(warmup):
        step()
    if world > 1:
        dist.barrier()
    wait0 = net.comm_wait_seconds if world > 1 else 0.0
    t0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - t0
    cpu_share = (time.process_time() - cpu0) / elapsed  # an MPI wait spins: it counts as CPU time
    wait = (net.comm_wait_seconds - wait0) if world > 1 else 0.0
    if world > 1:  # the job's time is its slowest rank's; the exposed wait is averaged over ranks
        figures = minigrad.tensor([elapsed, wait], dtype=minigrad.float64)
        slowest = minigrad.tensor([elapsed], dtype=minigrad.float64)
        least_served = minigrad.tensor([cpu_share], dtype=minigrad.float64)
        dist.all_reduce(figures)
        dist.all_reduce(slowest, dist.ReduceOp.MAX)
        dist.all_reduce(least_served, dist.ReduceOp.MIN)
        elapsed, wait, cpu_share = slowest.item(), figures.tolist()[1] / world, least_served.item()
    return {"images_per_s": world * batch * steps / elapsed, "step_ms": 1e3 * elapsed / steps,
            "wait_share": wait / elapsed, "cpu_share": cpu_share, "world": world}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_btl", "self,sm")  # one machine: shared memory
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"  # numpy's BLAS threads would spin on the other core
    return env


def _idle_share(seconds: float) -> float:
    """Share of all CPUs' time spent idle over the next seconds (Linux /proc/stat)."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait, total

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(1, total1 - total0)


def _wait_for_idle(limit_s: float) -> None:
    """On a shared machine: wait (up to limit_s) until the CPUs are >= 85% idle for 2 s."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and _idle_share(2.0) < 0.85:
        pass


def _run(command: list[str]) -> dict:
    out = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"bench_distributed: {' '.join(command)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch", type=int, help="per-rank batch (default: 64 for LeNet-5, 32 for the CIFAR CNN)")
    p.add_argument("--out", help="also write the results as JSON here")
    p.add_argument("--wait-idle", type=float, default=0, metavar="S",
                   help="before each run, wait up to S seconds for the CPUs to be idle (shared machines)")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # a model name: measure in this process
    args = p.parse_args(argv)
    if args.worker:
        if dist.launched_by_mpi():
            dist.init_process_group()
        result = measure(args.worker, args.batch, args.steps, args.warmup)
        if dist.rank_and_world_size()[0] == 0:
            print(json.dumps(result), flush=True)
        return
    mpiexec = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))
    if mpiexec is None:
        raise SystemExit('bench_distributed: mpiexec not found (pip install "minigrad[distributed]")')
    me = [sys.executable, str(Path(__file__).resolve())]
    load = os.getloadavg()
    print(f"{args.ranks} ranks x 1 thread vs 1 process x 1 thread; {os.cpu_count()} CPUs, load average at start "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.rounds} rounds of {args.steps} steps, medians")
    results = {}
    for name in args.models:
        batch = args.batch or MODELS[name][2]
        worker = [*me, "--worker", name, "--batch", str(batch), "--steps", str(args.steps), "--warmup",
                  str(args.warmup)]
        ones, many = [], []
        for _ in range(args.rounds):
            _wait_for_idle(args.wait_idle)
            ones.append(_run(worker))
            _wait_for_idle(args.wait_idle)
            many.append(_run([mpiexec, "-n", str(args.ranks), *worker]))
        one_ips = statistics.median(r["images_per_s"] for r in ones)
        many_ips = statistics.median(r["images_per_s"] for r in many)
        quiet_ones = [r["images_per_s"] for r in ones if r["cpu_share"] >= 0.9]
        quiet_many = [r for r in many if r["cpu_share"] >= 0.9]
        results[name] = {
            "parameters": parameter_count(name),
            "batch_per_rank": batch,
            "one_process_images_per_s": one_ips,
            f"{args.ranks}_ranks_images_per_s": many_ips,
            "scaling_efficiency": many_ips / (args.ranks * one_ips),
            "best_round_efficiency": max(r["images_per_s"] for r in many) / (
                args.ranks * max(r["images_per_s"] for r in ones)),
            "exposed_comm_share": statistics.median(r["wait_share"] for r in many),
            "undisturbed_rounds": [len(quiet_ones), len(quiet_many)],
            "undisturbed_efficiency": statistics.median(r["images_per_s"] for r in quiet_many) / (
                args.ranks * statistics.median(quiet_ones)) if quiet_ones and quiet_many else None,
            "undisturbed_exposed_comm_share": statistics.median(r["wait_share"] for r in quiet_many)
            if quiet_many else None,
            "one_process_step_ms": statistics.median(r["step_ms"] for r in ones),
            f"{args.ranks}_ranks_step_ms": statistics.median(r["step_ms"] for r in many),
            "rounds": {"one": ones, "many": many},
        }
        r = results[name]
        print(f"{name:10s} {r['parameters']:>8,} params, batch {batch}/rank: 1 process {one_ips:8.0f} img/s "
              f"({r['one_process_step_ms']:.1f} ms/step) | {args.ranks} ranks {many_ips:8.0f} img/s "
              f"({r[f'{args.ranks}_ranks_step_ms']:.1f} ms/step) | efficiency {r['scaling_efficiency']:.3f} "
              f"(best rounds {r['best_round_efficiency']:.3f}) | "
              f"exposed communication {100 * r['exposed_comm_share']:.1f}% of the step", flush=True)
        if r["undisturbed_efficiency"] is not None:
            print(f"{'':10s} undisturbed rounds (CPU share >= 0.9; {len(quiet_ones)} + {len(quiet_many)} of "
                  f"{args.rounds} + {args.rounds}): efficiency {r['undisturbed_efficiency']:.3f}, exposed "
                  f"communication {100 * r['undisturbed_exposed_comm_share']:.1f}%", flush=True)
        print(f"{'':10s} CPU shares: 1 process {[round(x['cpu_share'], 2) for x in ones]}, {args.ranks} ranks "
              f"{[round(x['cpu_share'], 2) for x in many]}", flush=True)
    load = os.getloadavg()
    print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
