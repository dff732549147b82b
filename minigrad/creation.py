"""Tensor creation with PyTorch's names and dtype rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import random as _random
from minigrad.backend import get_backend, resolve_device
from minigrad.tensor import Tensor, _host_array, _normalize_dtype, float32, int64


def _size(size: tuple) -> tuple[int, ...]:
    """zeros(2, 3) and zeros((2, 3)) alike; every size a non-negative integer (2.5 is an error, not 2)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a tuple of ints, but found element of type {type(s).__name__}: {size}")
        if s < 0:
            raise ValueError(f"negative dimension {s} in size {size}")
    return tuple(int(s) for s in size)


def _new(data: Any, device: str, requires_grad: bool) -> Tensor:
    t = Tensor._make(data, resolve_device(device))  # "auto" / "cuda:0" -> the device get_backend used
    if requires_grad:
        t.requires_grad = True
    return t


def _float_dtype(dtype: Any) -> np.dtype:
    return float32 if dtype is None else _normalize_dtype(dtype)


def tensor(data: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of data (numbers, nested lists, an ndarray or a Tensor).
    Python floats give float32, ints int64; ndarrays keep float64/int64 as torch.tensor does."""
    if isinstance(data, Tensor):
        data = data._host()
    host = _host_array(data, dtype)
    return _new(get_backend(device).from_numpy(host), device, requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing array's memory (float32, float64, int64, uint8 or bool)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected numpy.ndarray, got {type(array).__name__}")
    _normalize_dtype(array.dtype)
    return Tensor._make(array, resolve_device("cpu"))


def full(
    size: Any,
    fill_value: float,
    dtype: Any = None,
    device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of size filled with fill_value (dtype from fill_value when not given)."""
    if dtype is None:
        dtype = _host_array(fill_value).dtype
    data = get_backend(device).full(_size((size,)), fill_value, _normalize_dtype(dtype))
    return _new(data, device, requires_grad)


def zeros(*size: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    data = get_backend(device).full(_size(size), 0, _float_dtype(dtype))
    return _new(data, device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    data = get_backend(device).full(_size(size), 1, _float_dtype(dtype))
    return _new(data, device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    data = get_backend(device).empty(_size(size), _float_dtype(dtype))
    return _new(data, device, requires_grad)


def zeros_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(input.shape, dtype=dtype or input.dtype, device=input.device, requires_grad=requires_grad)


def ones_like(input: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(input.shape, dtype=dtype or input.dtype, device=input.device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return full(
        input.shape,
        fill_value,
        dtype=dtype or input.dtype,
        device=input.device,
        requires_grad=requires_grad,
    )


def rand(*size: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from minigrad's seeded generator."""
    data = get_backend(device).uniform(_random.generator(), _size(size), 0.0, 1.0, _float_dtype(dtype))
    return _new(data, device, requires_grad)


def randn(*size: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """Standard normal samples from minigrad's seeded generator."""
    data = get_backend(device).normal(_random.generator(), _size(size), 0.0, 1.0, _float_dtype(dtype))
    return _new(data, device, requires_grad)


def randint(low: int, high: int | None = None, size: Any = None, device: str = "cpu") -> Tensor:
    """int64 samples from [low, high); randint(high, size) draws from [0, high)."""
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    data = get_backend(device).randint(_random.generator(), low, high, _size((size,)))
    return _new(data, device, False)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:
    """Values from start up to (not including) end; int64 when all arguments are ints."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if ints else float32
    data = get_backend(device).arange(start, end, step, _normalize_dtype(dtype))
    return _new(data, device, requires_grad)


def _count(n: Any, name: str, op: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"{op}: {name} must be non-negative, got {n}")
    return int(n)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """steps values evenly spaced from start to end, both included (float32 unless dtype says)."""
    steps = _count(steps, "steps", "linspace")
    values = np.linspace(float(start), float(end), steps, dtype=np.float64)
    return tensor(values, dtype=_float_dtype(dtype), device=device, requires_grad=requires_grad)


def eye(
    n: int, m: int | None = None, dtype: Any = None, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    """The n x m (default n x n) matrix with ones on the diagonal."""
    n = _count(n, "n", "eye")
    m = n if m is None else _count(m, "m", "eye")
    return tensor(np.eye(n, m), dtype=_float_dtype(dtype), device=device, requires_grad=requires_grad)


def randperm(n: int, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless dtype says) from minigrad's seeded generator."""
    n = _count(n, "n", "randperm")
    values = _random.generator().permutation(n)
    return tensor(values, dtype=int64 if dtype is None else dtype, device=device, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: str | None = None) -> Tensor:
    """data as a tensor: a Tensor itself when its dtype and device already match (no copy),
    else a converted one, as torch.as_tensor."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    return tensor(data, dtype=dtype, device=device or "cpu")
