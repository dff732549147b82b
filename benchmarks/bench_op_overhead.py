"""Per-op overhead: single ops on small tensors, where the Python around a kernel costs more than
the kernel, and a small MLP's training step, minigrad against PyTorch. float32, microseconds per
call, median [range] over rounds in which the two libraries alternate.

    PYTHONPATH=. python benchmarks/bench_op_overhead.py [--threads 1] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import numpy as np

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the benchmarks package
from benchmarks.common import alternating_table, minigrad_and_torch  # noqa: E402


def op_cases(lib) -> dict[str, Callable[[], object]]:
    """One call each: 32 x 32 operands (a 16 x 64 batch into Linear(64, 64))."""
    rng = np.random.default_rng(0)
    const = lib.tensor(rng.standard_normal((32, 32)), dtype=lib.float32)
    a = lib.tensor(rng.standard_normal((32, 32)), dtype=lib.float32, requires_grad=True)
    b = lib.tensor(rng.standard_normal((32, 32)), dtype=lib.float32, requires_grad=True)
    x = lib.tensor(rng.standard_normal((16, 64)), dtype=lib.float32)
    w = lib.tensor(rng.standard_normal((64, 64)), dtype=lib.float32, requires_grad=True)
    bias = lib.tensor(rng.standard_normal(64), dtype=lib.float32, requires_grad=True)
    F = lib.nn.functional

    def sum_backward() -> None:
        (a * b).sum().backward()

    return {
        "a + b, no grad": lambda: const + const,
        "a + b": lambda: a + b,
        "a * b": lambda: a * b,
        "a * 2.0": lambda: a * 2.0,
        "a.tanh()": lambda: a.tanh(),
        "F.relu(a)": lambda: F.relu(a),
        "a @ b": lambda: a @ b,
        "F.linear(x, w, bias)": lambda: F.linear(x, w, bias),
        "a.sum()": lambda: a.sum(),
        "a[1:5]": lambda: a[1:5],
        "a.view(-1)": lambda: a.view(-1),
        "(a * b).sum().backward()": sum_backward,
    }


def mlp_step(lib) -> Callable[[], None]:
    """One SGD step of a 64-64-64-10 ReLU MLP on a batch of 16 (cross-entropy)."""
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(1)
    x = lib.tensor(rng.standard_normal((16, 64)), dtype=lib.float32)
    y = lib.tensor(rng.integers(0, 10, 16))

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.2, help="per case, library and round")
    args = parser.parse_args()
    libs = minigrad_and_torch(args.threads)
    per_library = {key: {**op_cases(lib), "MLP training step (batch 16, 64-64-64-10)": mlp_step(lib)}
                   for key, lib in libs.items()}
    cases = {name: {key: per_library[key][name] for key in libs} for name in per_library["minigrad"]}
    print(f"{args.threads} thread(s), float32, us per call, median [range] of {args.rounds} rounds")
    print(alternating_table(cases, args.rounds, args.seconds, "us"))


if __name__ == "__main__":
    main()
