"""Reductions: sum, mean, max/min (values and indices), argmax/argmin."""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from minigrad.autograd import Function
from minigrad.backend import get_backend
from minigrad.functional._common import _dim, _dims, _require_float
from minigrad.tensor import Tensor, int64

# --- reductions ------------------------------------------------------------------------------


class SumOp(Function):
    __slots__ = ("axes", "keepdim")

    def forward(self, a, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim
        self.saved = (a.shape,)
        return self.be.sum(a, axes, keepdim)

    def _expand(self, g):
        (shape,) = self.saved
        if not self.keepdim:
            axes = range(len(shape)) if self.axes is None else self.axes
            kept = list(shape)
            for ax in axes:
                kept[ax] = 1
            g = self.be.reshape(g, tuple(kept))
        return self.be.broadcast_to(g, shape)

    def backward(self, g):
        return (self._expand(g),)


class MeanOp(SumOp):
    """Sum / count; the mean of no elements is nan (0 / 0), as in PyTorch and numpy."""

    __slots__ = ()

    def forward(self, a, axes, keepdim):
        n = a.size if axes is None else math.prod(a.shape[ax] for ax in axes)
        return self.be.div(super().forward(a, axes, keepdim), n)

    def backward(self, g):
        (shape,) = self.saved
        n = math.prod(shape) if self.axes is None else math.prod(shape[ax] for ax in self.axes)
        return (self._expand(self.be.div(g, n)),)


class MaxMinOp(Function):
    """max/min over everything (gradient shared evenly by ties, as PyTorch) or over one dim
    (gradient to the index returned, which is also the op's second output)."""

    __slots__ = ("dim", "keepdim")

    def forward(self, a, largest, dim, keepdim):
        be = self.be
        self.dim, self.keepdim = dim, keepdim
        reduce = be.max if largest else be.min
        if dim is None:
            out = reduce(a, None, False)
            self.saved = (a, out)
            return out
        idx = (be.argmax if largest else be.argmin)(a, dim, True)
        self.saved = (a.shape, idx)
        out = reduce(a, dim, keepdim)
        return out

    def backward(self, g):
        be = self.be
        if self.dim is None:
            a, out = self.saved
            mask = be.astype(be.compare("eq", a, out), g.dtype)
            return (be.mul(mask, be.div(g, be.sum(mask, None, False))),)
        shape, idx = self.saved
        if not self.keepdim:
            g = be.reshape(g, idx.shape)
        positions = be.arange(0, shape[self.dim], 1, int64)
        positions = be.reshape(positions, tuple(-1 if i == self.dim else 1 for i in range(len(shape))))
        hit = be.compare("eq", positions, idx)
        return (be.where(hit, g, be.full((), 0, g.dtype)),)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def sum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Sum over dim (int or tuple; None: all)."""
    return SumOp.apply(input, axes=_dims(dim, input.ndim, "sum"), keepdim=keepdim)


def mean(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Mean over dim (int or tuple; None: all)."""
    _require_float("mean", input)
    return MeanOp.apply(input, axes=_dims(dim, input.ndim, "mean"), keepdim=keepdim)


def _max_min(input: Tensor, dim: int | None, keepdim: bool, largest: bool, op: str) -> Any:
    if input.numel() == 0:
        raise RuntimeError(f"{op}: the tensor is empty (shape {input.shape})")
    if dim is None:
        return MaxMinOp.apply(input, largest=largest, dim=None, keepdim=False)
    d = _dim(dim, input.ndim, op)
    values = MaxMinOp.apply(input, largest=largest, dim=d, keepdim=keepdim)
    return MaxResult(values, argmax(input, d, keepdim) if largest else argmin(input, d, keepdim))


def max(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A001
    """The largest element, or (values, indices) over dim."""
    return _max_min(input, dim, keepdim, True, "max")


def min(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A001
    """The smallest element, or (values, indices) over dim."""
    return _max_min(input, dim, keepdim, False, "min")


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    be = get_backend(input.device)
    if dim is None:
        return Tensor._make(be.argmax(be.reshape(input._data, (-1,)), 0, False), input.device)
    return Tensor._make(be.argmax(input._data, _dim(dim, input.ndim, "argmax"), keepdim), input.device)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    be = get_backend(input.device)
    if dim is None:
        return Tensor._make(be.argmin(be.reshape(input._data, (-1,)), 0, False), input.device)
    return Tensor._make(be.argmin(input._data, _dim(dim, input.ndim, "argmin"), keepdim), input.device)
