"""Finite-difference helpers for kernel tests (numpy level, float64).

Caffe-style comparison: the error of each element is scaled by
max(|analytic|, |numeric|, 1), and the worst element is reported.
"""

from collections.abc import Callable

import numpy as np


def numerical_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar f() with respect to x, perturbing x in place."""
    assert x.dtype == np.float64, "finite differences need float64"
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        plus = f()
        flat[i] = orig - eps
        minus = f()
        flat[i] = orig
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def assert_grad_close(analytic: np.ndarray, numeric: np.ndarray, tol: float = 1e-6, name: str = "grad") -> None:
    """Every element within tol of the numeric one, relative to max(|a|, |n|, 1); not all zero."""
    assert analytic.shape == numeric.shape, f"{name}: shape {analytic.shape} != {numeric.shape}"
    assert np.any(numeric != 0), f"{name}: numeric gradient is all zero; the check would prove nothing"
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1.0)
    err = np.abs(analytic - numeric) / scale
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err[worst] <= tol, (
        f"{name}: worst element {worst}: analytic {analytic[worst]!r} vs numeric {numeric[worst]!r} "
        f"(scaled error {err[worst]:.3g} > {tol:.3g})"
    )


def float32_tol(reduction_length: int) -> float:
    """Tolerance for float32 results of sums over reduction_length terms."""
    return 1e-5 * max(1.0, float(np.sqrt(reduction_length))) * 4
