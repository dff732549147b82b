"""DistributedSampler: each rank's share of a dataset's indices (PyTorch's
torch.utils.data.distributed.DistributedSampler)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from minigrad.data.loader import epoch_permutation


class DistributedSampler:
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads in one epoch.

    Every rank draws the same permutation of all indices from ``(seed, epoch)`` (the one a
    DataLoader with ``shuffle=True, seed=seed`` uses, so one replica reads exactly what a
    shuffling DataLoader reads) and takes every ``num_replicas``-th index from position
    ``rank``: the shards are disjoint and, for batches of B per rank, global step k covers
    positions [k*B*num_replicas, (k+1)*B*num_replicas) of the permutation whatever the
    number of replicas. Without ``drop_last`` the permutation is padded with its first
    indices to a multiple of ``num_replicas`` (every rank gets the same count); with it the
    tail is dropped. Call ``set_epoch(epoch)`` before each epoch to reshuffle.
    ``num_replicas``/``rank`` default to the process group's.
    """

    def __init__(
        self,
        dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from minigrad.distributed import process_group as pg

            if not pg.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call init_process_group() first")
            num_replicas = pg.get_world_size() if num_replicas is None else num_replicas
            rank = pg.get_rank() if rank is None else rank
        for name, value in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"DistributedSampler: {name} must be an integer, got {value!r}")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        n = len(dataset)
        if n == 0:
            raise ValueError("DistributedSampler: the dataset is empty")
        if drop_last and n < num_replicas:
            raise ValueError(f"DistributedSampler: drop_last with {n} samples for {num_replicas} replicas "
                             "leaves none to read")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0
        self.num_samples = n // self.num_replicas if drop_last else math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an array."""
        n = len(self.dataset)
        order = epoch_permutation(self.seed, self.epoch, n) if self.shuffle else np.arange(n)
        if self.total_size > n:  # pad with the first indices (repeated if needed)
            order = np.resize(order, self.total_size)
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch whose permutation the next iteration uses (the same on every rank)."""
        self.epoch = int(epoch)
