"""DataLoader (batches with background prefetch), ArrayDataset/TensorDataset, Subset, random_split.

A dataset is anything with ``__len__`` and ``__getitem__`` returning a tuple of
fields (e.g. ``(image, label)``), or an IterableDataset, whose ``__iter__`` yields
the samples. A dataset that also has ``get_batch(indices, rng) -> tuple of arrays``
(ImageDataset, MNIST, ArrayDataset, a Subset of one of those) is *array-backed*: the
loader builds a whole batch with one fancy-indexing call instead of a Python loop over samples.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from minigrad import random as _random

__all__ = ["Dataset", "IterableDataset", "ArrayDataset", "TensorDataset", "Subset", "ConcatDataset", "StackDataset",
           "ChainDataset", "random_split",
           "DataLoader", "default_collate", "default_convert", "get_worker_info"]


def _as_array(value) -> np.ndarray:
    """A numpy view of an array-like (numpy array, minigrad Tensor with .numpy(), list...)."""
    if not isinstance(value, np.ndarray) and hasattr(value, "numpy"):
        return (value.detach() if hasattr(value, "detach") else value).numpy()
    return np.asarray(value)


def _supports_batches(dataset) -> bool:
    if isinstance(dataset, Subset):
        return _supports_batches(dataset.dataset)
    return callable(getattr(dataset, "get_batch", None))


class Dataset:
    """Base class of map-style data sets, as torch.utils.data.Dataset: a subclass defines
    ``__len__`` and ``__getitem__(index) -> sample``, a sample being an array, a number, a Tensor,
    or a tuple, list or dict of them. DataLoader batches any such object (default_collate);
    one that also has ``get_batch(indices, rng)`` is batched with one call per batch.
    ``a + b`` is their ConcatDataset."""

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset, Iterable):
    """Base class of iterable-style data sets, as torch.utils.data.IterableDataset: a subclass
    must define ``__iter__`` yielding samples (for streams, generators, files read in order), and
    may define ``__len__``. DataLoader batches consecutive samples; it cannot shuffle them."""


class SizeMismatchError(AssertionError, ValueError):
    """TensorDataset's fields of different lengths: an AssertionError, as PyTorch raises ("Size
    mismatch between tensors"), and a ValueError, as minigrad raised before."""


class ArrayDataset(Dataset):
    """Samples from arrays that share their first dimension: ``ds[i] = (a[i], b[i], ...)``.

    As torch.utils.data.TensorDataset (its other name), a field given as a minigrad Tensor comes
    back as a Tensor (``ds[i][k]`` a 0-d Tensor for a scalar field, sharing the given tensor's
    memory on the CPU; detached: items never carry the given tensor's autograd history); a field
    given as a numpy array (or list) comes back as numpy. ``tensors`` is the fields as Tensors
    (the given ones themselves), ``arrays`` as numpy arrays; ``get_batch`` (the DataLoader's fast
    path) always returns arrays."""

    def __init__(self, *arrays) -> None:
        if not arrays:
            raise ValueError("ArrayDataset: needs at least one array")
        self.arrays = tuple(_as_array(a) for a in arrays)
        lengths = {len(a) if a.ndim else -1 for a in self.arrays}
        if len(lengths) != 1 or -1 in lengths:
            shapes = [a.shape for a in self.arrays]
            raise SizeMismatchError(f"Size mismatch between tensors (ArrayDataset: arrays must share their first "
                                    f"dimension, got {shapes})")
        # the device of each field given as a minigrad Tensor, None for the others
        self._devices = tuple(a.device if _is_minigrad_tensor(a) else None for a in arrays)
        self._given = tuple(a if _is_minigrad_tensor(a) else None for a in arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple:
        return tuple(a[index] if device is None else _field_tensor(a[index], device)
                     for a, device in zip(self.arrays, self._devices, strict=True))

    @property
    def tensors(self) -> tuple:
        """The fields as minigrad Tensors, as TensorDataset.tensors: those given as Tensors are
        returned as given, arrays as Tensors sharing their memory where the dtype allows."""
        return tuple(given if given is not None else _to_tensors(np.asarray(a))
                     for a, given in zip(self.arrays, self._given, strict=True))

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> tuple:
        """The fields of many samples at once, as arrays (rng unused)."""
        return tuple(a[indices] for a in self.arrays)


def _is_minigrad_tensor(value: Any) -> bool:
    from minigrad.tensor import Tensor  # imported late: the numpy side of this module needs no autograd

    return isinstance(value, Tensor)


def _field_tensor(value: Any, device: str) -> Any:
    """One field of a sample (a view of the stored array, or a numpy scalar) as a Tensor on device."""
    import minigrad

    tensor = minigrad.from_numpy(np.asarray(value))  # a 0-d array for a scalar; a view otherwise
    return tensor if device == "cpu" else tensor.to(device)


TensorDataset = ArrayDataset  # PyTorch's name for the same thing


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order. ``indices`` is kept as given, as
    torch.utils.data.Subset keeps it (a list stays a list, so ``a.indices + b.indices``
    concatenates); negative indices count from the end of ``dataset``."""

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        positions = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if positions.size and (positions.min() < -n or positions.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of length {n}")
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[int(self.indices[index]) % len(self.dataset)]

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> tuple:
        """Batch access, available when the underlying dataset has get_batch."""
        if isinstance(self.indices, np.ndarray):
            positions = self.indices[indices].astype(np.int64)
        else:  # a list, range or tensor: only the batch's entries are read
            positions = np.array([int(self.indices[i]) for i in np.asarray(indices).reshape(-1)], dtype=np.int64)
        n = len(self.dataset)
        return self.dataset.get_batch(positions % n if n else positions, rng)


class _EmptyConcatError(AssertionError, ValueError):
    """ConcatDataset([]): PyTorch's AssertionError (its assert), and the ValueError minigrad raised
    before."""


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other, as torch.utils.data.ConcatDataset
    (``train + extra``); ``cumulative_sizes[i]`` is how many samples datasets 0..i hold."""

    def __init__(self, datasets: Iterable) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise _EmptyConcatError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        index %= n
        which = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[which][index - (self.cumulative_sizes[which - 1] if which else 0)]


class StackDataset(Dataset):
    """Datasets of the same length read side by side, as torch.utils.data.StackDataset: sample i
    of ``StackDataset(a, b)`` is ``(a[i], b[i])``, of ``StackDataset(x=a, y=b)`` the dict
    ``{"x": a[i], "y": b[i]}``."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                             "input/output, but both types are given.")
        datasets = args or kwargs
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        lengths = {len(d) for d in (args or kwargs.values())}
        if len(lengths) != 1:
            raise ValueError("Size mismatch between datasets")
        self._length = lengths.pop()
        self.datasets = datasets

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> tuple | dict:
        if isinstance(self.datasets, dict):
            return {key: dataset[index] for key, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)


class ChainDataset(IterableDataset):
    """Iterable datasets read one after the other, as torch.utils.data.ChainDataset (the stream
    counterpart of ConcatDataset, for chaining streams made on the fly)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from dataset

    def __len__(self) -> int:
        total = 0
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            total += len(dataset)
        return total


def random_split(
    dataset, lengths: Sequence[int | float], seed: int | _random.Generator | None = None, *,
    generator: _random.Generator | None = None,
) -> list[Subset]:
    """Split a dataset into non-overlapping random Subsets.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to
    1 (each count is ``floor(f * n)``, the remainder handed out one by one to
    the first parts, as PyTorch does). The same seed gives the same split; so does a
    ``generator=minigrad.Generator().manual_seed(s)`` (PyTorch's way, also accepted in seed's
    place); without either, the split is drawn from minigrad's generator (``minigrad.manual_seed``).
    """
    if isinstance(seed, _random.Generator):
        seed, generator = None, seed
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
    order = np.random.default_rng(_random.seed_or_draw(seed, generator)).permutation(n).tolist()
    bounds = list(itertools.accumulate([0] + counts))
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]  # lists, as PyTorch's


def get_worker_info() -> None:
    """None, what torch.utils.data.get_worker_info returns outside a worker process: the loader's
    threads never copy or split a dataset (an IterableDataset is iterated once, in one thread), so
    code that shards a stream by worker takes its single-process branch, which is right here."""
    return None


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled order of n samples in an epoch: the DataLoader's and the DistributedSampler's."""
    return np.random.default_rng([seed, epoch, 0]).permutation(n)


def default_collate(samples: list) -> Any:
    """A batch from a list of samples, as torch's default_collate: Tensors, arrays and numbers are
    stacked into one Tensor per field (Python floats as float64, ints as int64, as PyTorch's);
    tuples and lists collate field by field into a list of fields (a namedtuple into its own
    type), dicts key by key, strings stay as given (a list of samples, a tuple of a field's
    values). So a custom collate_fn may call it and use the result as Tensors (``.to(device)``)
    before returning it."""
    return _to_tensors(_collate(samples, keep_tensors=True))


def default_convert(data: Any) -> Any:
    """data with its numpy arrays and numpy numbers made Tensors, inside any nesting of tuples,
    lists and dicts (Python numbers and strings kept), as torch.utils.data.default_convert: what
    a DataLoader with batch_size=None does to each sample."""
    return _to_tensors(data, tuples_as_lists=True)


def _collate(samples: list | tuple, keep_tensors: bool) -> Any:
    """default_collate of samples (the batch, or a tuple of one field's values); with keep_tensors
    False, Tensor fields too become numpy arrays."""
    first = samples[0]
    if isinstance(first, Mapping):
        return {key: _collate([sample[key] for sample in samples], keep_tensors) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(sample) != len(first) for sample in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        fields = [_collate(field, keep_tensors) for field in zip(*samples, strict=True)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields  # a list, as torch's, but namedtuples
    if isinstance(first, (str, bytes)):  # as given, as PyTorch's: a field's strings as a tuple
        return samples
    if keep_tensors and all(_is_minigrad_tensor(sample) for sample in samples):
        import minigrad

        return minigrad.stack(list(samples))
    return np.stack([_as_array(sample) for sample in samples])


def _to_tensors(batch: Any, tuples_as_lists: bool = False) -> Any:
    """The arrays (and numpy numbers) of a collated batch (any nesting of tuples, lists and dicts) as
    Tensors; with tuples_as_lists, plain tuples become lists (default_convert's way)."""
    if isinstance(batch, (np.number, np.bool_)):  # a sample's field, when batching is off
        batch = np.asarray(batch)
    if isinstance(batch, np.ndarray) and batch.dtype.kind not in "USO":  # strings and objects stay arrays
        import minigrad  # imported late: the numpy side of this module needs no autograd

        array = np.ascontiguousarray(batch) if batch.ndim else batch
        if array.dtype in (np.float32, np.float64, np.int64, np.uint8, np.bool_):
            return minigrad.from_numpy(array)  # shares the (fresh) batch array
        return minigrad.tensor(array)  # minigrad's dtype rules: other ints -> int64, floats -> float32
    if isinstance(batch, Mapping):
        return {key: _to_tensors(value, tuples_as_lists) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        values = [_to_tensors(value, tuples_as_lists) for value in batch]
        if hasattr(batch, "_fields"):
            return type(batch)(*values)
        return values if tuples_as_lists else type(batch)(values)
    return batch


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

    Yields lists of Tensors (``as_tensor=False``: numpy arrays), one per field
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
    ``batch_sampler``: an iterable of lists of indices with a length (e.g. a BatchSampler), one
    batch each, read anew at each ``iter()``; it excludes batch_size, shuffle, sampler and
    drop_last, and ``loader.batch_size`` is then None, as in PyTorch.
    ``batch_size=None`` turns batching off, as in PyTorch: the loader yields the samples one by
    one (each through ``collate_fn`` when one is given; arrays in them become Tensors), and
    ``len(loader)`` is the number of samples; it excludes drop_last.

    An IterableDataset is iterated anew at each ``iter()``, in one thread, each batch made of
    ``batch_size`` consecutive samples (the last one shorter unless ``drop_last``); ``shuffle`` and
    ``sampler`` are errors with it, and ``len(loader)`` needs the dataset's ``__len__`` (a TypeError
    without it), as in PyTorch. ``num_workers`` does not split or replicate it: unlike PyTorch,
    which iterates a copy of the dataset in each worker process, the workers here only collate
    (and transform) the batches, which are the same for any ``num_workers``.

    Samples may be arrays, numbers, Tensors, or tuples, lists and dicts of them (nested);
    ``collate_fn(list of samples)`` replaces ``default_collate``, and the arrays it returns
    become Tensors. ``num_workers`` threads build batches in parallel (kernels and numpy
    release the GIL; a dataset's Python code does not), in order, each batch's random draws
    from its own generator, so the batches do not depend on num_workers. ``pin_memory``,
    ``persistent_workers``, ``timeout``, ``multiprocessing_context``, ``pin_memory_device`` and
    ``in_order`` are accepted for PyTorch code and do nothing (host memory is used as it is; the
    threads are cheap to start each epoch and deliver batches in order). ``worker_init_fn(worker_id)`` runs at the
    start of each batch-building thread of an epoch (with num_workers=0, as in PyTorch, never).
    ``generator=minigrad.Generator()`` draws the loader's seed from that generator instead of
    minigrad's (PyTorch's way to fix the shuffling).

    ``prefetch`` bounds how many finished batches wait in the queue. The thread
    stops when the iterator is exhausted, closed or dropped; an exception in it
    is re-raised in the consumer.
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        transform: Callable | None = None,
        *,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[Iterable[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        prefetch: int = 2,
        as_tensor: bool = True,
        generator: _random.Generator | None = None,
        worker_init_fn: Callable[[int], None] | None = None,
        persistent_workers: bool = False,
        prefetch_factor: int | None = None,
        timeout: float = 0,
        multiprocessing_context: Any = None,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an integer >= 0, got {num_workers!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be an integer >= 1 or None, got {batch_size!r}")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if batch_size is None and transform is not None:
            raise ValueError("DataLoader: transform= works on batches, and batch_size=None turns batching off; give "
                             "the dataset its own transform")
        if isinstance(dataset, IterableDataset) and (shuffle or sampler is not None):
            option = f"shuffle={shuffle}" if shuffle else f"sampler={sampler!r}"
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle and sampler options, "
                             f"but got {option}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            if isinstance(dataset, IterableDataset):
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option")
            if not (hasattr(batch_sampler, "__iter__") and hasattr(batch_sampler, "__len__")):
                raise TypeError(f"DataLoader: batch_sampler must be an iterable of index lists with a length, got "
                                f"{type(batch_sampler).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError(f"DataLoader: sampler must be an iterable of indices with a length, got "
                            f"{type(sampler).__name__}")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got {type(worker_init_fn).__name__}")
        if prefetch_factor is not None:  # PyTorch's name: batches made ahead per worker
            prefetch = prefetch_factor
        if prefetch < 1:
            raise ValueError(f"DataLoader: prefetch must be >= 1, got {prefetch}")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None or batch_size is None else int(batch_size)
        self._batching = batch_sampler is not None or batch_size is not None  # False: samples one by one
        self.shuffle = shuffle
        self._sampler = sampler  # None: the loader's own order (shuffled from (seed, epoch) with shuffle)
        self._default_sampler: Any = None  # what .sampler shows without one, made on first use
        self.batch_sampler = batch_sampler
        self.drop_last = drop_last
        self.seed = _random.seed_or_draw(seed, generator)
        self.worker_init_fn = worker_init_fn
        self.persistent_workers = persistent_workers
        self.transform = transform
        self.prefetch = prefetch
        self.as_tensor = as_tensor
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        # PyTorch's worker-process options, kept for code that reads them back: the loader's
        # worker is a thread that yields batches in order
        self.timeout = timeout
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self.epoch = 0
        self._iterable = isinstance(dataset, IterableDataset)
        self._batched = self._batching and collate_fn is None and _supports_batches(dataset)

    @property
    def sampler(self) -> Any:
        """The sampler given, else PyTorch's default in its place, so that ``len(loader.sampler)``
        and type checks work as in PyTorch: a RandomSampler with shuffle, a SequentialSampler
        otherwise (the loader itself draws its shuffled orders from its seed and epoch, not from
        this sampler); None for an IterableDataset."""
        if self._sampler is not None or self._iterable:
            return self._sampler
        if self._default_sampler is None:
            from minigrad.data.sampler import RandomSampler, SequentialSampler  # sampler.py imports this module

            self._default_sampler = (RandomSampler if self.shuffle else SequentialSampler)(self.dataset)
        return self._default_sampler

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self._sampler is None else len(self._sampler)
        if not self._batching:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch the next iteration uses (e.g. when resuming training)."""
        self.epoch = int(epoch)

    def _batches(self, epoch: int) -> Iterable[Any]:
        """The batches' indices in order, or for an IterableDataset its samples, batch by batch
        (without batching: the samples' indices, or the IterableDataset's samples)."""
        if self._iterable:
            return self._chunks()
        if self.batch_sampler is not None:
            return [np.asarray(list(batch), dtype=np.int64) for batch in self.batch_sampler]
        n = len(self.dataset)
        if self._sampler is not None:
            order = np.fromiter(iter(self._sampler), dtype=np.int64)
            if len(order) != len(self._sampler):
                raise RuntimeError(f"DataLoader: the sampler yielded {len(order)} indices but its len() is "
                                   f"{len(self._sampler)}")
        elif self.shuffle:
            order = epoch_permutation(self.seed, epoch, n)
        else:
            order = np.arange(n)
        if not self._batching:
            return order
        return [order[i : i + self.batch_size] for i in range(0, len(self) * self.batch_size, self.batch_size)]

    def _chunks(self) -> Iterator[list]:
        """batch_size consecutive samples of the IterableDataset at a time (without batching: one
        sample at a time)."""
        samples = iter(self.dataset)
        if not self._batching:
            yield from samples
            return
        while chunk := list(itertools.islice(samples, self.batch_size)):
            if self.drop_last and len(chunk) < self.batch_size:
                return
            yield chunk

    def _make_batch(self, items: Any, seed: list[int]) -> Any:
        """The batch of the samples at the indices items (for an IterableDataset: of the samples items);
        without batching, the sample at the index items (the sample items), through collate_fn if given."""
        rng = np.random.default_rng(seed)
        # default_collate keeps Tensor fields Tensors (as PyTorch's); as_tensor=False or a transform
        # (which works on arrays) wants arrays, as before
        collate = self.collate_fn or (default_collate if self.as_tensor and self.transform is None
                                      else lambda samples: _collate(samples, keep_tensors=False))
        if not self._batching:
            sample = items if self._iterable else self.dataset[int(items)]
            batch: Any = self.collate_fn(sample) if self.collate_fn is not None else (
                default_convert(sample) if self.as_tensor else sample)
        elif self._iterable:
            batch = collate(items)
        elif self._batched:
            batch = list(self.dataset.get_batch(items, rng))  # a list, as torch's default_collate makes
        else:
            batch = collate([self.dataset[int(i)] for i in items])
        if self.transform is not None:
            if not isinstance(batch, (tuple, list)):
                raise TypeError("DataLoader: transform= needs samples whose first field is the image; use the "
                                "dataset's own transform for other samples")
            batch = [self.transform(batch[0], rng), *batch[1:]]
        return batch

    def _made(self, batches: Iterable[Any], epoch: int) -> Iterator[Any]:
        """The batches in order, each from its own generator; with num_workers > 1, built by that
        many threads at most num_workers * prefetch batches ahead."""
        jobs = ((indices, [self.seed, epoch, 1, k]) for k, indices in enumerate(batches))
        if self.num_workers <= 1:
            # num_workers=0 has no worker, so no worker_init_fn call (PyTorch's; a seed_worker that
            # reseeds numpy and random would otherwise reset them each epoch)
            if self.worker_init_fn is not None and self.num_workers == 1:
                self.worker_init_fn(0)
            yield from (self._make_batch(*job) for job in jobs)
            return
        worker_ids = itertools.count()
        initializer = None if self.worker_init_fn is None else lambda: self.worker_init_fn(next(worker_ids))
        with ThreadPoolExecutor(self.num_workers, thread_name_prefix="minigrad-DataLoader",
                                initializer=initializer) as pool:
            ahead: collections.deque = collections.deque()
            try:
                for job in jobs:
                    ahead.append(pool.submit(self._make_batch, *job))
                    if len(ahead) >= self.num_workers * self.prefetch:
                        yield ahead.popleft().result()
                while ahead:
                    yield ahead.popleft().result()
            finally:
                for future in ahead:
                    future.cancel()

    def _work(self, batches: Iterable[Any], epoch: int, q: queue.Queue, stop: threading.Event) -> None:
        try:
            for batch in self._made(batches, epoch):
                if stop.is_set() or not _put(q, batch, stop):
                    return
            _put(q, _END, stop)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(q, _Failure(exc), stop)

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        self.epoch += 1
        return self._iterate(epoch)

    def _iterate(self, epoch: int) -> Iterator[Any]:
        q: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        worker = threading.Thread(
            target=self._work,
            args=(self._batches(epoch), epoch, q, stop),
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
                yield _to_tensors(item) if self.as_tensor else item
        finally:
            stop.set()
            worker.join()
