"""PyTorch's memory formats and layouts: ``minigrad.contiguous_format``, ``channels_last``,
``channels_last_3d``, ``preserve_format`` (``minigrad.memory_format`` objects) and
``minigrad.strided`` (the one ``minigrad.layout``: minigrad has no sparse tensors).

What a memory format changes. A CPU tensor's array is a numpy array whose strides ``stride()``
reports, so ``contiguous(memory_format=minigrad.channels_last)`` really lays a 4-D tensor out
channels-last, as PyTorch does: same values and shape, strides ``(H*W*C, 1, W*C, C)``,
``is_contiguous()`` False and ``is_contiguous(memory_format=channels_last)`` True. Every op reads
such arrays (as it reads permuted views); results come back row-major whatever the inputs'
layout (PyTorch's kernels often keep channels-last instead), and no kernel runs faster for it.
Arrays on the CUDA device are always row-major: there a memory format is accepted as a hint that
changes nothing, and ``is_contiguous(memory_format=channels_last)`` answers from the row-major
strides (False for most shapes), which is the truth about the memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _NamedConstant:
    """A PyTorch constant type (memory_format, layout): only the module constants exist (making
    one is PyTorch's TypeError); they compare by identity and survive pickling and copying."""

    __slots__ = ("_name",)

    def __new__(cls, *args: Any, **kwargs: Any) -> _NamedConstant:
        raise TypeError(f"cannot create 'minigrad.{cls.__name__}' instances")

    @classmethod
    def _named(cls, name: str) -> Any:
        obj = object.__new__(cls)
        object.__setattr__(obj, "_name", name)
        return obj

    def __repr__(self) -> str:
        return f"minigrad.{self._name}"

    def __reduce__(self) -> str:
        return self._name  # pickled as the module constant of that name

    def __copy__(self) -> _NamedConstant:
        return self

    def __deepcopy__(self, memo: Any) -> _NamedConstant:
        return self


class memory_format(_NamedConstant):  # noqa: N801 (PyTorch's class name: torch.memory_format)
    """A memory format, as torch.memory_format: contiguous_format, channels_last,
    channels_last_3d or preserve_format."""

    __slots__ = ()


class layout(_NamedConstant):  # noqa: N801 (PyTorch's class name: torch.layout)
    """A tensor layout, as torch.layout; minigrad has only ``minigrad.strided`` (dense tensors)."""

    __slots__ = ()


contiguous_format = memory_format._named("contiguous_format")
channels_last = memory_format._named("channels_last")
channels_last_3d = memory_format._named("channels_last_3d")
preserve_format = memory_format._named("preserve_format")
strided = layout._named("strided")

# The memory order (outermost dim first) of each channels-last format, by rank
_CHANNELS_LAST_ORDER = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def check_memory_format(op: str, fmt: Any) -> memory_format:
    """fmt itself when it is a memory format, else PyTorch's TypeError."""
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be minigrad.memory_format, not {type(fmt).__name__}")
    return fmt


def is_contiguous_as(shape: tuple[int, ...], strides: tuple[int, ...], fmt: memory_format) -> bool:
    """Whether strides lay shape out densely in fmt's order (channels_last: rank 4 only,
    channels_last_3d: rank 5 only, else False; dims of size 1 have any stride), as PyTorch's
    is_contiguous(memory_format=)."""
    if fmt in _CHANNELS_LAST_ORDER:
        rank, order = _CHANNELS_LAST_ORDER[fmt]
        if len(shape) != rank:
            return False
    else:
        order = tuple(range(len(shape)))
    expected = 1
    for d in reversed(order):
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def _dense_order(shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, ...] | None:
    """The dims from outermost to innermost in memory when strides lay shape out without gaps or
    overlaps (PyTorch's "non-overlapping and dense"), else None."""
    order = tuple(sorted(range(len(shape)), key=lambda d: (-strides[d], d)))
    expected = 1
    for d in reversed(order):
        if shape[d] != 1:
            if strides[d] != expected:
                return None
            expected *= shape[d]
    return order


def target_order(op: str, fmt: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, ...] | None:
    """The memory order (outermost dim first) a result of op in memory format fmt gets for an input
    of this shape and these strides; None for row-major. channels_last needs rank 4 and
    channels_last_3d rank 5 (PyTorch's RuntimeError otherwise); preserve_format keeps a dense
    input's order, and otherwise picks channels-last for channels-last-like strides, as PyTorch."""
    fmt = check_memory_format(op, fmt)
    if fmt in _CHANNELS_LAST_ORDER:
        rank, order = _CHANNELS_LAST_ORDER[fmt]
        if len(shape) != rank:
            raise RuntimeError(f"required rank {rank} tensor to use {fmt._name} format")
        return order
    if fmt is contiguous_format:
        return None
    order = _dense_order(shape, strides)  # preserve_format
    if order is None:
        by_stride = tuple(sorted(range(len(shape)), key=lambda d: (-strides[d], d)))
        for rank, cl_order in _CHANNELS_LAST_ORDER.values():
            if len(shape) == rank and by_stride == cl_order:
                return cl_order
        return None
    return None if order == tuple(range(len(shape))) else order


def arrange(data: Any, order: tuple[int, ...] | None) -> Any:
    """A copy of a (CPU) numpy array laid out in memory in order (outermost dim first), same
    shape and values; data itself when order is None or data is not a numpy array (device arrays
    are row-major)."""
    if order is None or not isinstance(data, np.ndarray) or data.ndim == 0:
        return data
    return np.ascontiguousarray(data.transpose(order)).transpose(np.argsort(order))


def apply_format(op: str, result: Any, fmt: Any, like: Any = None) -> Any:
    """result (a fresh Tensor nobody else holds yet) with its array laid out in memory format fmt
    (None: as it is); ``like`` is the input whose strides preserve_format keeps (result when None)."""
    if fmt is None:
        return result
    like = result if like is None else like
    order = target_order(op, fmt, tuple(like.shape), tuple(like.stride()))
    if order is not None and isinstance(result._data, np.ndarray):
        result._data = arrange(result._data, order)
    return result
