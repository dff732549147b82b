"""Samplers for DataLoader(sampler=): DistributedSampler, each rank's share of a dataset's indices
(PyTorch's torch.utils.data.distributed.DistributedSampler), and torch.utils.data's Sequential,
Random, SubsetRandom and WeightedRandom samplers, and BatchSampler."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator

import numpy as np

from minigrad import random as _random
from minigrad.data.loader import epoch_permutation
from minigrad.functional._common import ArgumentError


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


class Sampler:
    """Base class of samplers, as torch.utils.data.Sampler: a subclass defines ``__iter__`` (dataset
    indices) and ``__len__``; DataLoader(sampler=) reads it anew at each epoch."""

    def __init__(self, data_source=None) -> None:
        pass


class _Counted(Sampler):
    num_samples: int

    def __len__(self) -> int:
        return self.num_samples


class SequentialSampler(_Counted):
    """0, 1, ..., len(data_source) - 1, as torch.utils.data.SequentialSampler."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source
        self.num_samples = len(data_source)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.num_samples))


class RandomSampler(_Counted):
    """A fresh random order of the indices at each iteration (with ``replacement``, ``num_samples``
    independent draws), as torch.utils.data.RandomSampler; from minigrad's generator, or from
    ``generator``, so that minigrad.manual_seed makes the orders repeatable."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: _random.Generator | None = None) -> None:
        n = len(data_source)
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer))
                                        or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        self.data_source = data_source
        self.replacement = replacement
        self.num_samples = n if num_samples is None else int(num_samples)
        self.generator = generator
        _random.rng(generator)  # a TypeError now for anything but a Generator

    def __iter__(self) -> Iterator[int]:
        rng = _random.rng(self.generator)
        n = len(self.data_source)
        if self.replacement:
            return iter(rng.integers(n, size=self.num_samples).tolist())
        # without replacement: whole permutations, the last cut short, as PyTorch's
        orders = [rng.permutation(n) for _ in range(-(-self.num_samples // n))] if n else [np.arange(0)]
        return iter(np.concatenate(orders)[: self.num_samples].tolist())


class SubsetRandomSampler(_Counted):
    """The given indices in a fresh random order at each iteration, as
    torch.utils.data.SubsetRandomSampler (a train/validation split of one dataset)."""

    def __init__(self, indices, generator: _random.Generator | None = None) -> None:
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.num_samples = len(self.indices)
        self.generator = generator
        _random.rng(generator)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices[_random.rng(self.generator).permutation(self.num_samples)].tolist())


class WeightedRandomSampler(_Counted):
    """``num_samples`` indices in [0, len(weights)) drawn with probability proportional to
    ``weights`` (with or without replacement), as torch.utils.data.WeightedRandomSampler: a balanced
    stream from an imbalanced dataset."""

    def __init__(self, weights, num_samples: int, replacement: bool = True,
                 generator: _random.Generator | None = None) -> None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        w = np.asarray(weights.detach().numpy() if hasattr(weights, "detach") else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence, but given weights have shape {w.shape}")
        if not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
            raise ArgumentError("weights must be finite, non-negative and not all zero")  # PyTorch: RuntimeError
        if not replacement and num_samples > len(w):  # PyTorch's RuntimeError (ArgumentError is both)
            raise ArgumentError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ArgumentError(f"cannot draw {num_samples} samples without replacement from "
                                f"{np.count_nonzero(w)} non-zero weights")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator
        _random.rng(generator)

    def __iter__(self) -> Iterator[int]:
        rng = _random.rng(self.generator)
        p = self.weights / self.weights.sum()
        return iter(rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist())


class BatchSampler(Sampler):
    """Lists of batch_size indices from sampler (any iterable of indices with a length), the last
    shorter unless drop_last, as torch.utils.data.BatchSampler."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        while batch := list(itertools.islice(indices, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
