"""Functions that minigrad.multiprocessing.spawn runs in child processes. A spawned child unpickles
them by module name, and test modules (imported by pytest's importlib mode as tests.test_...)
are not importable there; this module is, from tests/ on the path (pyproject's pythonpath)."""

import minigrad


def put_sum(rank, queue, scale):
    queue.put((rank, float(minigrad.ones(3).sum()) * scale))


def fail_on_rank_one(rank):
    if rank == 1:
        raise ValueError("rank one fails")
