"""Data-parallel training over MPI: the process group and collectives, DistributedDataParallel,
DistributedSampler (PyTorch's torch.distributed names and semantics).

    import minigrad.distributed as dist
    dist.init_process_group()                  # in every process started by mpiexec / srun
    model = dist.DistributedDataParallel(model)
    sampler = dist.DistributedSampler(dataset)  # this rank's share of each epoch
    loader = DataLoader(dataset, batch_size=32, sampler=sampler)

Run with ``mpiexec -n 4 python train.py``. Needs ``pip install "minigrad[distributed]"``
(mpi4py and an MPI); mpi4py is imported by init_process_group, not by ``import minigrad``.
See docs/distributed.md.
"""

from minigrad.data.sampler import DistributedSampler
from minigrad.distributed.ddp import DistributedDataParallel
from minigrad.distributed.process_group import (
    INSTALL_HINT,
    ReduceOp,
    Work,
    abort,
    all_gather,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    destroy_process_group,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    launched_by_mpi,
    rank_and_world_size,
)

__all__ = [
    "INSTALL_HINT",
    "DistributedDataParallel",
    "DistributedSampler",
    "ReduceOp",
    "Work",
    "abort",
    "all_gather",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "launched_by_mpi",
    "rank_and_world_size",
]
