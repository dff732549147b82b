"""DistributedDataParallel: data-parallel training over the MPI process group.

Each rank runs the whole model on its own part of the batch. At construction rank 0's
parameters and buffers are copied to every rank. During backward, a hook on every
parameter (``register_post_accumulate_grad_hook``) copies its finished gradient into a
flat bucket; when all of a bucket's gradients are in, the bucket's sum over ranks starts
with a non-blocking ``MPI_Iallreduce`` while backward goes on with earlier layers. At the
end of backward (``autograd.queue_callback``) the reducer waits for every bucket and
writes the mean gradient back into ``.grad``: when ``loss.backward()`` returns, every
rank holds the same averaged gradients and ``optimizer.step()`` keeps the replicas equal.

Buckets follow PyTorch (Li et al., VLDB 2020): parameters in reverse registration order
(about the order backward produces them), one dtype and device per bucket, the first
bucket closed at 1 MiB so communication starts early, the others at ``bucket_cap_mb``.
Buckets are reduced in index order on every rank (MPI needs collectives in the same
order everywhere), so a bucket that is ready early waits for the ones before it. The last
bucket (the first layers, whose gradients come last) has no backward left to hide behind:
it is reduced with a blocking MPI_Allreduce, which MPI libraries implement with their tuned
algorithms (Open MPI 5 here: 50 us against 210 us for Iallreduce + Wait of LeNet-5's 247 KB).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from minigrad import autograd
from minigrad.backend import get_backend
from minigrad.distributed import process_group as pg
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES


def assign_buckets(
    sizes: Sequence[int], keys: Sequence[Any], cap_bytes: int, first_cap_bytes: int = FIRST_BUCKET_BYTES
) -> list[list[int]]:
    """Group tensors into buckets, in the order given: tensor i has sizes[i] bytes and must share a
    bucket only with tensors of the same key (dtype, device). A bucket is closed once it holds at
    least its limit: first_cap_bytes for a key's first bucket, cap_bytes after. Returns lists of
    indices, ordered by their first tensor."""
    if cap_bytes <= 0 or first_cap_bytes <= 0:
        raise ValueError(f"bucket sizes must be > 0 bytes, got {cap_bytes} and {first_cap_bytes}")
    if len(sizes) != len(keys):
        raise ValueError(f"assign_buckets: {len(sizes)} sizes but {len(keys)} keys")
    buckets: list[list[int]] = []
    open_bucket: dict[Any, tuple[list[int], int]] = {}  # key -> (indices, bytes so far)
    closed_count: dict[Any, int] = {}
    for i, (size, key) in enumerate(zip(sizes, keys, strict=True)):
        indices, total = open_bucket.get(key, ([], 0))
        if not indices:
            buckets.append(indices)  # placed where its first tensor comes
        indices.append(i)
        total += size
        limit = first_cap_bytes if not closed_count.get(key) else cap_bytes
        if total >= limit:
            closed_count[key] = closed_count.get(key, 0) + 1
            open_bucket.pop(key, None)
        else:
            open_bucket[key] = (indices, total)
    return buckets


class _Bucket:
    """Flat host buffer of some parameters' gradients, plus one 'used' flag per parameter, so that
    after the sum a parameter no rank produced a gradient for can be told apart from a zero one."""

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.numel = int(self.offsets[-1])
        self.flat = np.zeros(self.numel + len(params), params[0].dtype)
        self.filled = [False] * len(params)
        self.pending = len(params)
        self.request = None

    def view(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    def fill(self, i: int, grad: Tensor) -> None:
        self.view(i)[...] = get_backend(grad.device).to_numpy(grad._data).reshape(-1)
        self.flat[self.numel + i] = 1
        self.filled[i] = True
        self.pending -= 1

    def fill_missing(self) -> None:
        """Zeros for the parameters that received no gradient in this backward."""
        for i, filled in enumerate(self.filled):
            if not filled:
                self.view(i)[...] = 0
                self.flat[self.numel + i] = 0

    def store_mean(self, world_size: int) -> None:
        """Write sum / world_size into each parameter's .grad (left alone where no rank had one)."""
        for i, p in enumerate(self.params):
            if self.flat[self.numel + i] == 0:
                continue
            if p.grad is None:
                mean = (self.view(i) / world_size).reshape(p.shape)
                p.grad = Tensor._make(get_backend(p.device).from_numpy(mean), p.device)
            elif p.device == "cpu" and p.grad._data.flags.c_contiguous:
                np.divide(self.view(i), world_size, out=p.grad._data.reshape(-1))
                p.grad._version_counter.value += 1
            else:
                get_backend(p.device).assign(p.grad._data, Ellipsis, (self.view(i) / world_size).reshape(p.shape))
                p.grad._version_counter.value += 1

    def reset(self) -> None:
        self.filled = [False] * len(self.params)
        self.pending = len(self.params)
        self.request = None


class MPIAllReduce:
    """The reducer's communication: a non-blocking in-place sum over the process group."""

    def __init__(self) -> None:
        world = pg._group()
        self.comm, self.MPI, self.size = world.comm, world.MPI, world.size

    def start(self, flat: np.ndarray) -> Any:
        return pg._call("all_reduce of a gradient bucket", self.comm.Iallreduce, self.MPI.IN_PLACE, flat,
                        self.MPI.SUM)

    def reduce(self, flat: np.ndarray) -> None:
        """The blocking sum, for the last bucket."""
        pg._call("all_reduce of a gradient bucket", self.comm.Allreduce, self.MPI.IN_PLACE, flat, self.MPI.SUM)

    def progress(self, requests: list) -> None:
        """Let MPI advance the started reductions (MPI moves non-blocking collectives inside its calls)."""
        pg._call("all_reduce of a gradient bucket", self.MPI.Request.Testall, requests)

    def wait(self, requests: list) -> None:
        pg._call("all_reduce of a gradient bucket", self.MPI.Request.Waitall, requests)


class Reducer:
    """Bucketed gradient averaging driven by parameter hooks (see the module docstring).

    ``comm`` has start(flat) -> request, reduce(flat) (blocking), progress(requests),
    wait(requests) and ``size`` (MPIAllReduce; tests pass a fake). ``wait_seconds`` adds up the time spent waiting for
    reductions at the end of backward: the communication that backward did not hide.
    """

    def __init__(self, params: list[Tensor], comm: Any, bucket_cap_mb: float = 25.0,
                 first_bucket_bytes: int = FIRST_BUCKET_BYTES) -> None:
        self.comm = comm
        order = list(reversed(params))  # about the order backward finishes them
        groups = assign_buckets([p.numel() * p.dtype.itemsize for p in order], [(p.dtype, p.device) for p in order],
                                int(bucket_cap_mb * 1024 * 1024), first_bucket_bytes)
        self.buckets = [_Bucket([order[i] for i in group]) for group in groups]
        self.where = {p: (b, i) for b in self.buckets for i, p in enumerate(b.params)}
        self.next_bucket = 0  # buckets before it have been started
        self.in_backward = False
        self.enabled = True
        self.wait_seconds = 0.0
        self.handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in params]

    def _on_grad(self, p: Tensor) -> None:
        if not self.enabled:
            return
        if not self.in_backward:
            self.in_backward = True
            autograd.queue_callback(self._finish)
        bucket, i = self.where[p]
        if bucket.filled[i]:
            return
        bucket.fill(i, p.grad)
        self._start_ready()

    def _start_ready(self) -> None:
        started = False
        last = len(self.buckets) - 1
        while self.next_bucket <= last and self.buckets[self.next_bucket].pending == 0:
            bucket = self.buckets[self.next_bucket]
            if self.next_bucket == last:
                t0 = time.perf_counter()
                self.comm.reduce(bucket.flat)
                self.wait_seconds += time.perf_counter() - t0
            else:
                bucket.request = self.comm.start(bucket.flat)
            self.next_bucket += 1
            started = True
        if not started and self.next_bucket:
            self.comm.progress(self._requests())

    def _requests(self) -> list:
        return [b.request for b in self.buckets[: self.next_bucket] if b.request is not None]

    def _finish(self) -> None:
        """End of backward: start what is left (zeros for parameters without a gradient), wait for
        every bucket, write the mean gradients."""
        try:
            for bucket in self.buckets[self.next_bucket :]:
                bucket.fill_missing()
                bucket.pending = 0
            self._start_ready()
            t0 = time.perf_counter()
            self.comm.wait(self._requests())
            self.wait_seconds += time.perf_counter() - t0
            for bucket in self.buckets:
                bucket.store_mean(self.comm.size)
        finally:
            for bucket in self.buckets:
                bucket.reset()
            self.next_bucket = 0
            self.in_backward = False

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


class DistributedDataParallel(Module):
    """Data parallelism over the MPI process group (PyTorch's nn.parallel.DistributedDataParallel).

    ddp = DistributedDataParallel(model)   # after init_process_group(); rank 0's weights everywhere
    loss_fn(ddp(x), y).backward()          # gradients averaged over ranks when backward returns
    optimizer.step()                        # an optimizer over model.parameters() (or ddp.parameters())

    ``broadcast_buffers`` (default True, as PyTorch): buffers such as BatchNorm's running
    statistics are copied from rank 0 at every forward in training mode, so all ranks
    evaluate with rank 0's statistics (each rank normalises its batch with its own batch
    statistics; there is no SyncBatchNorm). ``bucket_cap_mb``: gradient bucket size (the
    first bucket holds 1 MiB). ``device_ids``, ``output_device``, ``dim``,
    ``find_unused_parameters`` are accepted for PyTorch compatibility: parameters without a
    gradient are always handled (treated as zero in the sum; left without a gradient when no
    rank produced one). ``state_dict()`` keys are prefixed with ``module.``, as PyTorch;
    save ``ddp.module.state_dict()`` for files that load into the bare model.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Sequence[int] | None = None,
        output_device: int | None = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        bucket_cap_mb: float = 25.0,
        find_unused_parameters: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        if dim != 0:
            raise ValueError("DistributedDataParallel: only dim=0 (the batch dimension) is supported")
        rank = pg.get_rank()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        _check_same_model_everywhere(module, rank)
        self._sync_from_rank0([t for _, t in module.named_parameters()])
        self._sync_from_rank0([t for _, t in module.named_buffers()])
        params = [p for p in module.parameters() if p.requires_grad]
        self.reducer = Reducer(params, MPIAllReduce(), bucket_cap_mb) if params else None

    @staticmethod
    def _sync_from_rank0(tensors: list[Tensor]) -> None:
        works = [pg.broadcast(t, 0, async_op=True) for t in tensors]
        for work in works:
            work.wait()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self.training:
            self._sync_from_rank0(list(self.module.buffers()))
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within it, backward only accumulates local gradients (no communication); the first
        backward after it averages everything accumulated (gradient accumulation)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        if self.reducer is not None:
            self.reducer.enabled = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous
            if self.reducer is not None:
                self.reducer.enabled = previous

    @property
    def comm_wait_seconds(self) -> float:
        """Seconds spent, summed over backward passes, waiting for gradient reductions that had not
        finished when backward did (communication not hidden by computation)."""
        return self.reducer.wait_seconds if self.reducer is not None else 0.0

    def extra_repr(self) -> str:
        n = len(self.reducer.buckets) if self.reducer is not None else 0
        return f"world_size={pg.get_world_size()}, buckets={n}, broadcast_buffers={self.broadcast_buffers}"


def _check_same_model_everywhere(module: Module, rank: int) -> None:
    """Every rank must wrap the same architecture: compare names, shapes and dtypes with rank 0's."""
    mine = [(name, tuple(t.shape), str(t.dtype)) for name, t in [*module.named_parameters(), *module.named_buffers()]]
    everyone: list = [None] * pg.get_world_size()
    pg.all_gather_object(everyone, mine)
    for other, theirs in enumerate(everyone):
        if theirs != everyone[0]:
            diff = next(((a, b) for a, b in zip(everyone[0], theirs, strict=False) if a != b),
                        (f"{len(everyone[0])} tensors", f"{len(theirs)} tensors"))
            raise ValueError(f"rank {rank}/{len(everyone)}: DistributedDataParallel: rank {other}'s model differs "
                             f"from rank 0's: {diff[1]} vs {diff[0]}")
