"""What minigrad-train needs to run data-parallel under mpiexec / srun (minigrad/cli/train.py calls these).

Every rank runs the same training loop on its shard (DistributedSampler) with a
DistributedDataParallel model, so all ranks hold the same weights, optimizer and scheduler
state and take the same decisions (the loss and counts of each step are summed over ranks
before the divergence check). Only rank 0 prints and writes files; the other ranks' stdout
and stderr go to /dev/null, except their error reports. A rank that ends with a non-zero
status ends the whole job (MPI_Abort at exit), so no rank waits forever for it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from minigrad.distributed import process_group as pg


def wanted(flag: bool | None) -> bool:
    """--distributed / --no-distributed, or (None) whether an MPI launcher started this process."""
    return pg.launched_by_mpi() if flag is None else flag


def _local_ranks() -> int:
    for name in ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def default_threads() -> int:
    """Kernel threads per rank when --threads is not given: this process's CPUs shared by the
    ranks on this node (an MPI that binds each rank to a core leaves one CPU per rank)."""
    return max(1, len(os.sched_getaffinity(0)) // _local_ranks())


def run(train: Callable[[argparse.Namespace], int], args: argparse.Namespace, prog: str) -> int:
    """Join the process group, run train(args) on this rank, and turn a failure into the end of the job."""
    try:
        pg.init_process_group()
    except ImportError as exc:
        print(f"{prog}: error: --distributed: {exc}", file=sys.stderr)
        return 2
    rank, world = pg.get_rank(), pg.get_world_size()
    if getattr(args, "threads", None) is None:
        import minigrad

        minigrad.set_num_threads(default_threads())
    if rank != 0:
        devnull = open(os.devnull, "w")  # noqa: SIM115 (for the life of the process)
        sys.stdout = sys.stderr = devnull
    status = train(args)
    if status:
        print(f"{prog}: rank {rank}/{world} ended with status {status}; ending every rank", file=sys.__stderr__)
        from mpi4py import run as mpi4py_run

        mpi4py_run.set_abort_status(status)  # mpi4py calls MPI_Abort(status) instead of MPI_Finalize at exit
    return status


def adapt_checkpoint(checkpoint: dict[str, Any], batch_size: int, world: int, steps_per_epoch: int,
                     per_batch_scheduler: bool) -> str | None:
    """Make a checkpoint written by a run on another number of ranks resume on ``world`` ranks.

    The position in the epoch is kept in samples: the sampler gives global step k of B per rank
    the permutation's positions [k*B*N, (k+1)*B*N) for any N, so the run resumes at the same
    place of the same sample order (rounded down to a whole step of the new global batch; the
    samples of that part step are trained on again). A per-batch schedule continues from the
    same epoch position on the new number of steps per epoch. Returns a note, or None when the
    world size is unchanged. Each rank's batch stays B, so the global batch becomes B * world.
    """
    saved = int(checkpoint.get("world_size", 1))
    if saved == world:
        return None
    done = checkpoint["batch"] * batch_size * saved  # samples of the current epoch already trained on
    checkpoint["batch"] = done // (batch_size * world)
    if per_batch_scheduler and checkpoint.get("scheduler") is not None:
        checkpoint["scheduler"]["last_epoch"] = checkpoint["epoch"] * steps_per_epoch + checkpoint["batch"]
    redone = done - checkpoint["batch"] * batch_size * world
    return (f"resuming a {saved}-rank run on {world} rank(s): global batch {batch_size * saved} -> "
            f"{batch_size * world}" + (f"; {redone} samples of the epoch are trained on again" if redone else ""))
