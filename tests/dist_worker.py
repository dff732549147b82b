"""The program tests/test_distributed.py runs under ``mpiexec -n N`` (or alone, as one process).

python dist_worker.py train OUT.npz [--steps 20] [--global-batch 64] [--model lenet5] [--ddp]
python dist_worker.py collectives
python dist_worker.py fault kill|raise|exit
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import numpy as np

import minigrad
import minigrad.distributed as dist
import minigrad.nn.functional as F
from minigrad import optim
from minigrad.data import ArrayDataset, DataLoader
from minigrad.models import build_model


def synthetic_mnist(n: int, seed: int = 0) -> ArrayDataset:
    """Images with a class-dependent pattern plus noise, normalised, and their labels."""
    rng = np.random.default_rng(seed)
    templates = rng.standard_normal((10, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    images = templates[labels] + 0.5 * rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    return ArrayDataset(images.astype(np.float32), labels.astype(np.int64))


def train(args: argparse.Namespace) -> None:
    """SGD steps on a DistributedSampler's shards: global batch args.global_batch split over the ranks.
    Rank 0 writes the global loss of every step and the final weights."""
    rank, world = dist.rank_and_world_size()
    minigrad.set_num_threads(1)
    minigrad.manual_seed(0)
    model = build_model(args.model)
    net = dist.DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb) if args.ddp else model
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    dataset = synthetic_mnist(args.steps * args.global_batch)
    sampler = dist.DistributedSampler(dataset, num_replicas=world, rank=rank, seed=3)
    loader = DataLoader(dataset, batch_size=args.global_batch // world, sampler=sampler)
    losses = []
    for images, labels in loader:
        opt.zero_grad()
        loss = F.cross_entropy(net(images), labels)
        loss.backward()
        opt.step()
        if world > 1:
            dist.all_reduce(loss, dist.ReduceOp.AVG)
        losses.append(loss.item())
    assert len(losses) == args.steps, (len(losses), args.steps)
    if args.ddp:
        # the replicas stayed equal: every rank holds rank 0's weights
        for name, p in model.named_parameters():
            copies = [minigrad.zeros(p.shape) for _ in range(world)]
            dist.all_gather(copies, p.detach())
            for r, c in enumerate(copies):
                same = np.array_equal(c.detach().numpy(), p.detach().numpy())
                assert same, f"rank {r}'s {name} differs from rank {rank}'s"
    if rank == 0:
        weights = {name: p.detach().numpy() for name, p in model.named_parameters()}
        np.savez(args.out, losses=np.array(losses), **weights)


def collectives() -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    assert dist.is_initialized() and world >= 2

    t = minigrad.tensor([float(rank + 1), 2.0 * rank])
    dist.all_reduce(t)
    expect_sum = np.array([sum(range(1, world + 1)), 2.0 * sum(range(world))], np.float32)
    assert np.array_equal(t.detach().numpy(), expect_sum), t
    for op, expect in ((dist.ReduceOp.MAX, world), (dist.ReduceOp.MIN, 1), (dist.ReduceOp.AVG, (world + 1) / 2),
                       (dist.ReduceOp.PRODUCT, float(np.prod(np.arange(1, world + 1))))):
        t = minigrad.tensor([float(rank + 1)], dtype=minigrad.float64)
        dist.all_reduce(t, op=op)
        assert t.item() == expect, (op, t.item())
    ints = minigrad.tensor([rank, 1])
    work = dist.all_reduce(ints, async_op=True)
    work.wait()
    assert ints.tolist() == [sum(range(world)), world] and work.is_completed()

    # a non-contiguous tensor and a parameter (requires grad) are reduced in place
    base = minigrad.arange(0, 6, dtype=minigrad.float32).reshape(2, 3)
    view = base.transpose(0, 1)
    version = view._version
    dist.all_reduce(view)
    assert np.array_equal(view.detach().numpy(), world * np.arange(6, dtype=np.float32).reshape(2, 3).T)
    assert view._version == version + 1
    p = minigrad.nn.Parameter(minigrad.full((3,), float(rank)))
    dist.broadcast(p, src=world - 1)
    assert p.detach().numpy().tolist() == [world - 1.0] * 3

    gathered = [minigrad.zeros((2,), dtype=minigrad.int64) for _ in range(world)]
    dist.all_gather(gathered, minigrad.tensor([rank, 10 * rank]))
    assert [g.tolist() for g in gathered] == [[r, 10 * r] for r in range(world)]
    objects = [None] * world
    dist.all_gather_object(objects, {"rank": rank})
    assert objects == [{"rank": r} for r in range(world)]
    dist.barrier()

    # bad input: clear errors naming the rank (raised before any communication, on every rank)
    checks = [
        (lambda: dist.all_reduce([1.0]), TypeError, "expected a Tensor"),
        (lambda: dist.all_reduce(minigrad.ones(2), op="sum"), TypeError, "ReduceOp"),
        (lambda: dist.all_reduce(minigrad.tensor([1, 2]), op=dist.ReduceOp.AVG), TypeError, "floating"),
        (lambda: dist.broadcast(minigrad.ones(2), src=world), ValueError, "src must be a rank"),
        (lambda: dist.all_gather([minigrad.ones(2)], minigrad.ones(2)), ValueError, "world_size"),
        (lambda: dist.all_gather([minigrad.ones(3)] * world, minigrad.ones(2)), ValueError, "tensor_list"),
        (lambda: dist.all_reduce(minigrad.ones(2), group=object()), ValueError, "group=None"),
        (lambda: dist.init_process_group(), RuntimeError, "twice"),
    ]
    for call, exc_type, text in checks:
        try:
            call()
        except exc_type as exc:
            assert text in str(exc), exc
            assert f"rank {rank}/{world}" in str(exc), exc
        else:
            raise AssertionError(f"no {exc_type.__name__} for {text}")
    if rank == 0:
        print("collectives ok", flush=True)


def fault(kind: str) -> None:
    """Rank 1 fails at its 3rd step (SIGKILL, an exception, or exit status 3 without MPI_Finalize's
    partners); the other ranks keep training and would wait forever in the next all-reduce."""
    rank = dist.get_rank()
    minigrad.set_num_threads(1)
    minigrad.manual_seed(0)
    model = dist.DistributedDataParallel(build_model("lenet5"))
    opt = optim.SGD(model.parameters(), lr=0.01)
    x = minigrad.randn(8, 1, 28, 28)
    y = minigrad.tensor(np.arange(8) % 10)
    for step in range(10_000):
        if rank == 1 and step == 3:
            print(f"rank 1 fails now ({kind})", flush=True)
            if kind == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif kind == "raise":
                raise ValueError("deliberate failure in rank 1")
            else:
                sys.exit(3)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        time.sleep(0.001)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "collectives", "fault"])
    p.add_argument("arg", nargs="?")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--global-batch", type=int, default=64)
    p.add_argument("--model", default="lenet5")
    p.add_argument("--bucket-mb", type=float, default=25.0)
    p.add_argument("--ddp", action="store_true")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.0)
    args = p.parse_args()
    if dist.launched_by_mpi():
        dist.init_process_group()
    if args.mode == "train":
        args.out = args.arg
        train(args)
    elif args.mode == "collectives":
        collectives()
    else:
        fault(args.arg)


if __name__ == "__main__":
    main()
