"""minigrad.multiprocessing, as torch.multiprocessing on the CPU: Python's multiprocessing API
(Process, Queue, Pool, get_context, set_start_method, ...) re-exported, plus PyTorch's
``spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn")`` and
``start_processes``, which run ``fn(rank, *args)`` in nprocs processes and raise
ProcessRaisedException (with the child's traceback) or ProcessExitedException when one fails.

Tensors travel between processes by pickling (a copy). Memory is shared the way PyTorch's
Hogwild examples share it when the processes are forked: ``Tensor.share_memory_()`` /
``Module.share_memory()`` before starting them with the "fork" start method. Unlike PyTorch, a
tensor sent through a Queue is not moved to shared memory; the sharing strategies are recorded
only ("file_descriptor" and "file_system" are accepted)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing import *  # noqa: F403 (PyTorch re-exports Python's multiprocessing API)
from typing import Any

__all__ = [*multiprocessing.__all__, "spawn", "start_processes", "ProcessContext", "SpawnContext",
           "ProcessException", "ProcessRaisedException", "ProcessExitedException",
           "get_sharing_strategy", "set_sharing_strategy", "get_all_sharing_strategies"]

_SHARING_STRATEGIES = {"file_descriptor", "file_system"}
_sharing_strategy = ["file_descriptor"]


def get_all_sharing_strategies() -> set[str]:
    """The sharing strategies PyTorch offers on Linux (minigrad records the choice only)."""
    return set(_SHARING_STRATEGIES)


def get_sharing_strategy() -> str:
    """The strategy set_sharing_strategy recorded ("file_descriptor" by default)."""
    return _sharing_strategy[0]


def set_sharing_strategy(new_strategy: str) -> None:
    """Record a sharing strategy (one of get_all_sharing_strategies(); ValueError otherwise)."""
    if new_strategy not in _SHARING_STRATEGIES:
        raise ValueError(f"unknown sharing strategy {new_strategy!r}; expected one of {sorted(_SHARING_STRATEGIES)}")
    _sharing_strategy[0] = new_strategy


class ProcessException(Exception):
    """A spawned process failed (error_index: its rank; pid: its process id)."""

    def __init__(self, msg: str, error_index: int, pid: int) -> None:
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self) -> Any:
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised an exception; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a non-zero code or was killed by a signal."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self) -> Any:
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code, self.signal_name)


def _wrap(fn: Callable[..., Any], rank: int, args: tuple, error_queue: Any) -> None:
    """The body of a spawned process: fn(rank, *args); a raised exception's traceback goes to the
    parent through error_queue and the process exits with code 1."""
    try:
        fn(rank, *args)
    except KeyboardInterrupt:
        pass
    except Exception:  # noqa: BLE001 (every failure is reported to the parent)
        error_queue.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The processes spawn() started: ``join(timeout)`` waits, returns True once all have ended
    (False while some still run) and raises for the first that failed, terminating the others."""

    def __init__(self, processes: list[Any], error_queues: list[Any]) -> None:
        self.processes, self.error_queues = processes, error_queues
        self.sentinels = {p.sentinel: rank for rank, p in enumerate(processes)}

    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.processes]

    def join(self, timeout: float | None = None) -> bool:
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(list(self.sentinels), timeout=timeout)
        failed = None
        for sentinel in ready:
            rank = self.sentinels.pop(sentinel)
            process = self.processes[rank]
            process.join()
            if process.exitcode != 0 and failed is None:
                failed = rank
        if failed is None:
            return not self.sentinels
        for process in self.processes:  # one failed: stop the rest, as PyTorch
            if process.is_alive():
                process.terminate()
            process.join()
        process, queue = self.processes[failed], self.error_queues[failed]
        if queue.empty():
            code = process.exitcode
            if code < 0:
                name = signal.Signals(-code).name
                raise ProcessExitedException(f"process {failed} terminated with signal {name}", failed,
                                             process.pid, code, name)
            raise ProcessExitedException(f"process {failed} terminated with exit code {code}", failed,
                                         process.pid, code)
        original = queue.get()
        msg = f"\n\n-- Process {failed} terminated with the following error:\n{original}"
        raise ProcessRaisedException(msg, failed, process.pid)


class SpawnContext(ProcessContext):
    """The ProcessContext of the "spawn" start method (PyTorch's name for it)."""


def start_processes(fn: Callable[..., Any], args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn") -> ProcessContext | None:
    """Run fn(rank, *args) for rank in range(nprocs), each in a new process of start_method
    ("spawn", "fork" or "forkserver"); with join, wait for all (raising as ProcessContext.join)
    and return None, else return the ProcessContext. fn must be picklable (a module-level
    function) for "spawn" and "forkserver"."""
    context = multiprocessing.get_context(start_method)
    error_queues, processes = [], []
    for rank in range(nprocs):
        error_queue = context.SimpleQueue()
        process = context.Process(target=_wrap, args=(fn, rank, tuple(args), error_queue), daemon=daemon)
        process.start()
        error_queues.append(error_queue)
        processes.append(process)
    process_context = ProcessContext(processes, error_queues)
    if not join:
        return process_context
    while not process_context.join():
        pass
    return None


def spawn(fn: Callable[..., Any], args: tuple = (), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn") -> ProcessContext | None:
    """start_processes with PyTorch's spawn signature (torch.multiprocessing.spawn)."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)
