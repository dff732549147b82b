"""DataLoader (batches with background prefetch), ArrayDataset/TensorDataset, Subset, random_split.

A dataset is anything with ``__len__`` and ``__getitem__`` returning a tuple of
fields (e.g. ``(image, label)``). A dataset that also has
``get_batch(indices, rng) -> tuple of arrays`` (ImageDataset, MNIST,
ArrayDataset, a Subset of one of those) is *array-backed*: the loader builds a
whole batch with one fancy-indexing call instead of a Python loop over samples.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from minigrad import random as _random

__all__ = ["ArrayDataset", "TensorDataset", "Subset", "random_split", "DataLoader"]


def _as_array(value) -> np.ndarray:
    """A numpy view of an array-like (numpy array, minigrad Tensor with .numpy(), list...)."""
    if not isinstance(value, np.ndarray) and hasattr(value, "numpy"):
        return (value.detach() if hasattr(value, "detach") else value).numpy()
    return np.asarray(value)


def _supports_batches(dataset) -> bool:
    if isinstance(dataset, Subset):
        return _supports_batches(dataset.dataset)
    return callable(getattr(dataset, "get_batch", None))


class ArrayDataset:
    """Samples from arrays that share their first dimension: ``ds[i] = (a[i], b[i], ...)``."""

    def __init__(self, *arrays) -> None:
        if not arrays:
            raise ValueError("ArrayDataset: needs at least one array")
        self.arrays = tuple(_as_array(a) for a in arrays)
        lengths = {len(a) if a.ndim else -1 for a in self.arrays}
        if len(lengths) != 1 or -1 in lengths:
            shapes = [a.shape for a in self.arrays]
            raise ValueError(f"ArrayDataset: arrays must share their first dimension, got {shapes}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple:
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> tuple:
        """The fields of many samples at once, as arrays (rng unused)."""
        return tuple(a[indices] for a in self.arrays)


TensorDataset = ArrayDataset  # PyTorch's name for the same thing


class Subset:
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices: Sequence[int] | np.ndarray) -> None:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of length {n}")
        self.dataset = dataset
        self.indices = indices % n if n else indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> tuple:
        """Batch access, available when the underlying dataset has get_batch."""
        return self.dataset.get_batch(self.indices[indices], rng)


def random_split(dataset, lengths: Sequence[int | float], seed: int | None = None) -> list[Subset]:
    """Split a dataset into non-overlapping random Subsets.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to
    1 (each count is ``floor(f * n)``, the remainder handed out one by one to
    the first parts, as PyTorch does). The same seed gives the same split; without
    one, the split is drawn from minigrad's generator (``minigrad.manual_seed``).
    """
    n = len(dataset)
    lengths = list(lengths)
    if all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0):
        if any(not 0.0 <= f <= 1.0 for f in lengths):
            raise ValueError(f"random_split: fractions must lie in [0, 1], got {lengths}")
        counts = [math.floor(f * n) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    elif all(isinstance(x, (int, np.integer)) and x >= 0 for x in lengths) and sum(lengths) == n:
        counts = [int(x) for x in lengths]
    else:
        raise ValueError(
            f"random_split: lengths must be counts summing to {n} or fractions summing to 1, got {lengths}"
        )
    order = np.random.default_rng(_random.seed_or_draw(seed)).permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled order of n samples in an epoch: the DataLoader's and the DistributedSampler's."""
    return np.random.default_rng([seed, epoch, 0]).permutation(n)


def _collate(items: list) -> tuple:
    """Stack per-sample tuples of fields into a tuple of batch arrays."""
    return tuple(np.stack([_as_array(field) for field in fields]) for fields in zip(*items, strict=True))


def _to_tensor(array: np.ndarray):
    import minigrad  # imported late: the numpy side of this module needs no autograd

    array = np.ascontiguousarray(array)
    if array.dtype in (np.float32, np.float64, np.int64, np.bool_):
        return minigrad.from_numpy(array)  # shares the (fresh) batch array
    return minigrad.tensor(array)  # minigrad's dtype rules: other ints -> int64, floats -> float32


class _Failure:
    """An exception raised in the worker thread, carried to the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_END = object()


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put item on q, giving up (False) when stop is set while q is full."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            pass
    return False


class DataLoader:
    """Batches from a dataset, built one batch ahead in a background thread.

    Yields tuples of Tensors (``as_tensor=False``: numpy arrays), one per field
    of the dataset's samples: for MNIST ``(images float32 (B, 1, 28, 28) in
    [0, 1], labels int64 (B,))``; for an ArrayDataset, its arrays as stored
    (dtypes a Tensor cannot hold follow ``minigrad.tensor``'s rules: other
    integers become int64, other floats float32).
    ``transform(images, rng)`` (see minigrad.data.transforms) is applied to the
    first field of each batch.

    Shuffling and transforms are deterministic given ``seed``: epoch ``e``
    (counted by the loader, one per ``iter()``; see ``set_epoch``) uses its own
    generator seeded from ``(seed, e)``, so the same seed gives the same
    batches. Without a seed one is drawn from minigrad's generator when the loader
    is made, so ``minigrad.manual_seed`` makes the run repeatable.

    ``sampler``: an iterable of dataset indices with a length (e.g. a DistributedSampler);
    the batches follow its order, read anew at each ``iter()``. It excludes ``shuffle``.

    ``prefetch`` bounds how many finished batches wait in the queue. The thread
    stops when the iterator is exhausted, closed or dropped; an exception in it
    is re-raised in the consumer.
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        transform: Callable | None = None,
        *,
        sampler: Iterable[int] | None = None,
        prefetch: int = 2,
        as_tensor: bool = True,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an integer >= 1, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError(f"DataLoader: sampler must be an iterable of indices with a length, got "
                            f"{type(sampler).__name__}")
        if prefetch < 1:
            raise ValueError(f"DataLoader: prefetch must be >= 1, got {prefetch}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.sampler = sampler
        self.drop_last = drop_last
        self.seed = _random.seed_or_draw(seed)
        self.transform = transform
        self.prefetch = prefetch
        self.as_tensor = as_tensor
        self.epoch = 0
        self._batched = _supports_batches(dataset)

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch the next iteration uses (e.g. when resuming training)."""
        self.epoch = int(epoch)

    def _batches(self, epoch: int) -> list[np.ndarray]:
        n = len(self.dataset)
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
            if len(order) != len(self.sampler):
                raise RuntimeError(f"DataLoader: the sampler yielded {len(order)} indices but its len() is "
                                   f"{len(self.sampler)}")
        elif self.shuffle:
            order = epoch_permutation(self.seed, epoch, n)
        else:
            order = np.arange(n)
        return [order[i : i + self.batch_size] for i in range(0, len(self) * self.batch_size, self.batch_size)]

    def _make_batch(self, indices: np.ndarray, rng: np.random.Generator) -> tuple:
        if self._batched:
            fields = tuple(self.dataset.get_batch(indices, rng))
        else:
            fields = _collate([self.dataset[int(i)] for i in indices])
        if self.transform is not None:
            fields = (self.transform(fields[0], rng),) + fields[1:]
        return fields

    def _work(
        self,
        batches: list[np.ndarray],
        rng: np.random.Generator,
        q: queue.Queue,
        stop: threading.Event,
    ) -> None:
        try:
            for indices in batches:
                if stop.is_set() or not _put(q, self._make_batch(indices, rng), stop):
                    return
            _put(q, _END, stop)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(q, _Failure(exc), stop)

    def __iter__(self) -> Iterator[tuple]:
        epoch = self.epoch
        self.epoch += 1
        return self._iterate(epoch)

    def _iterate(self, epoch: int) -> Iterator[tuple]:
        q: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        rng = np.random.default_rng([self.seed, epoch, 1])
        worker = threading.Thread(
            target=self._work,
            args=(self._batches(epoch), rng, q, stop),
            name="minigrad-DataLoader",
            daemon=True,
        )
        worker.start()
        try:
            while True:
                try:
                    item = q.get(timeout=0.1)
                except queue.Empty:
                    if not worker.is_alive() and q.empty():
                        raise RuntimeError("DataLoader: worker thread ended without a result") from None
                    continue
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    raise item.exc
                yield tuple(_to_tensor(a) for a in item) if self.as_tensor else item
        finally:
            stop.set()
            worker.join()
