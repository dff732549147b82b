"""Kernels release the GIL; two Python threads running inference on the same
model at once must not share scratch buffers or state and must get exactly
what a serial run gets."""

from __future__ import annotations

import threading

import numpy as np

import minigrad
from minigrad.models import LeNet5

ROUNDS = 8


def _infer(model: LeNet5, batches: list[np.ndarray]) -> list[np.ndarray]:
    with minigrad.no_grad():
        return [model(minigrad.from_numpy(b)).numpy().copy() for b in batches]


def test_two_threads_lenet5_inference_match_serial_run():
    minigrad.manual_seed(0)
    model = LeNet5().eval()
    rng = np.random.default_rng(0)
    # Different batch sizes per thread so the two threads run differently shaped kernels at once.
    inputs = [[rng.standard_normal((n, 1, 28, 28)).astype(np.float32) for _ in range(ROUNDS)] for n in (3, 8)]
    serial = [_infer(model, batches) for batches in inputs]

    results: list[list[np.ndarray] | None] = [None, None]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(i: int) -> None:
        try:
            start.wait()
            results[i] = _infer(model, inputs[i])
        except BaseException as e:  # noqa: BLE001 (reported by the main thread)
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for got, want in zip(results, serial, strict=True):
        assert got is not None
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


def test_no_grad_in_one_thread_leaves_other_threads_recording():
    # Thread a enters no_grad, thread b enters, a leaves, b leaves: with one
    # global mode, b would record while a was inside and restore "off" at the end.
    steps = [threading.Event() for _ in range(4)]
    seen: dict[str, bool] = {}
    guard = minigrad.no_grad()  # one instance shared by both threads, as a decorator is

    def a() -> None:
        with guard:
            steps[0].set()
            steps[1].wait()
            seen["a inside"] = minigrad.is_grad_enabled()
        steps[2].set()

    def b() -> None:
        steps[0].wait()
        with guard:
            steps[1].set()
            steps[2].wait()
            seen["b inside"] = minigrad.is_grad_enabled()
        seen["b after"] = minigrad.is_grad_enabled()

    threads = [threading.Thread(target=f) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert seen == {"a inside": False, "b inside": False, "b after": True}
    assert minigrad.is_grad_enabled()
