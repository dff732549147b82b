"""Training steps that differentiate a gradient (create_graph=True), minigrad against PyTorch:
a physics-informed network's step (the Burgers residual u_t + u u_x - nu u_xx of a tanh MLP at
collocation points) and a WGAN-GP critic step (a conv critic's gradient penalty). float32, ms per
step, median [range] over rounds in which the two libraries alternate.

    PYTHONPATH=. python benchmarks/bench_create_graph.py [--threads 1] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import numpy as np

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the benchmarks package
from benchmarks.common import alternating_table, minigrad_and_torch  # noqa: E402


def pinn_step(lib) -> Callable[[], None]:
    """One Adam step of a 2-32-32-1 tanh MLP on 256 collocation points."""
    nn = lib.nn
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    xt = lib.tensor(np.random.default_rng(0).uniform(-1, 1, (256, 2)).astype(np.float32), requires_grad=True)

    def step() -> None:
        u = model(xt)
        du = lib.autograd.grad(u, xt, grad_outputs=lib.ones_like(u), create_graph=True)[0]
        u_x, u_t = du[:, 0:1], du[:, 1:2]
        u_xx = lib.autograd.grad(u_x, xt, grad_outputs=lib.ones_like(u_x), create_graph=True)[0][:, 0:1]
        loss = ((u_t + u * u_x - 0.01 / np.pi * u_xx) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def gradient_penalty_step(lib) -> Callable[[], None]:
    """One Adam step of a WGAN-GP critic (two strided 3x3 convs, LeakyReLU, a linear score) on a
    batch of 32 1x28x28 images and as many fakes."""
    nn = lib.nn
    critic = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                           nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten(),
                           nn.Linear(32 * 7 * 7, 1))
    opt = lib.optim.Adam(critic.parameters(), lr=1e-4)
    rng = np.random.default_rng(1)
    real, fake = (lib.tensor(rng.standard_normal((32, 1, 28, 28)).astype(np.float32)) for _ in range(2))
    alpha = lib.tensor(rng.uniform(0, 1, (32, 1, 1, 1)).astype(np.float32))

    def step() -> None:
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        score = critic(mixed)
        grad = lib.autograd.grad(score, mixed, grad_outputs=lib.ones_like(score), create_graph=True)[0]
        penalty = ((grad.reshape(32, -1).norm(2, dim=1) - 1) ** 2).mean()
        loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.5, help="per library and round")
    args = parser.parse_args()
    libs = minigrad_and_torch(args.threads)
    cases = {name: {key: make(lib) for key, lib in libs.items()}
             for name, make in (("physics-informed (Burgers, 2-32-32-1 tanh MLP, 256 points)", pinn_step),
                                ("WGAN-GP critic (2 convs, batch 32 of 28x28)", gradient_penalty_step))}
    print(f"{args.threads} thread(s), float32, ms per step, median [range] of {args.rounds} rounds")
    print(alternating_table(cases, args.rounds, args.seconds, "ms"))


if __name__ == "__main__":
    main()
