"""Shape ops (reshape, permute, expand, squeeze, ...), indexing and joining (cat, stack)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.functional._common import _dim, _result_dtype, _sum_to
from minigrad.functional.elementwise import cast
from minigrad.tensor import Tensor

# --- shape -----------------------------------------------------------------------------------


class ReshapeOp(Function):
    __slots__ = ()

    def forward(self, a, shape):
        self.saved = (a.shape,)
        return self.be.reshape(a, shape)

    def backward(self, g):
        return (self.be.reshape(g, self.saved[0]),)


class PermuteOp(Function):
    __slots__ = ("axes",)

    def forward(self, a, axes):
        self.axes = axes
        return self.be.permute(a, axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return (self.be.permute(g, tuple(inverse)),)


class ExpandOp(Function):
    __slots__ = ()

    def forward(self, a, shape):
        self.saved = (a.shape,)
        return self.be.broadcast_to(a, shape)

    def backward(self, g):
        return (_sum_to(self.be, g, self.saved[0]),)


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """input with a new shape (one entry may be -1); a view where possible."""
    shape = tuple(int(s) for s in shape)
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        valid = shape.count(-1) == 1 and known > 0 and input.numel() % known == 0
    else:
        valid = known == input.numel()
    if not valid:
        raise ValueError(f"reshape: shape {shape} is invalid for input of shape {input.shape}")
    return ReshapeOp.apply(input, shape=shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dimensions start_dim..end_dim merged into one."""
    if input.ndim == 0:
        return reshape(input, (1,))
    s, e = _dim(start_dim, input.ndim, "flatten"), _dim(end_dim, input.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = input.shape
    return reshape(input, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


def squeeze(input: Tensor, dim: int | None = None) -> Tensor:
    """Size-1 dimensions removed (all, or only dim when it has size 1)."""
    shape = input.shape
    if dim is None:
        new = tuple(n for n in shape if n != 1)
    else:
        d = _dim(dim, input.ndim, "squeeze")
        new = shape[:d] + shape[d + 1 :] if input.ndim and shape[d] == 1 else shape
    return input if new == shape else ReshapeOp.apply(input, shape=new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A size-1 dimension inserted at dim (dim in [-ndim-1, ndim])."""
    d = _dim(dim, input.ndim + 1, "unsqueeze")
    shape = input.shape
    return ReshapeOp.apply(input, shape=shape[:d] + (1,) + shape[d:])


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    axes = tuple(_dim(int(d), input.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(input.ndim)):
        raise ValueError(
            f"permute: dims {tuple(dims)} are not a permutation of the {input.ndim} dimensions of shape {input.shape}"
        )
    return PermuteOp.apply(input, axes=axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    axes = list(range(input.ndim))
    d0, d1 = _dim(dim0, input.ndim, "transpose"), _dim(dim1, input.ndim, "transpose")
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return PermuteOp.apply(input, axes=tuple(axes))


def expand(input: Tensor, shape: Sequence[int]) -> Tensor:
    """input broadcast to shape (-1 keeps a dimension); a view."""
    lead = len(shape) - input.ndim
    if lead < 0:
        raise ValueError(f"expand: shape {tuple(shape)} has fewer dimensions than {input.shape}")
    full = tuple(input.shape[i - lead] if s == -1 else int(s) for i, s in enumerate(shape))
    try:
        np.broadcast_shapes(input.shape, full)
    except ValueError:
        raise ValueError(f"expand: cannot expand shape {input.shape} to {full}") from None
    return ExpandOp.apply(input, shape=full)


# --- indexing and joining ----------------------------------------------------------------------


def _index_arrays(index: Any) -> Any:
    """An index with tensors replaced by their arrays."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def _is_basic(index: Any) -> bool:
    """Only ints, slices, None and Ellipsis: each element is picked at most once."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class IndexOp(Function):
    """input[index]; the gradient is scattered back (np.add.at for integer arrays, so repeated
    indices accumulate)."""

    __slots__ = ("index",)

    def forward(self, a, index):
        self.index = index
        self.saved = (a.shape, a.dtype)
        return self.be.getitem(a, index)

    def backward(self, g):
        shape, dtype = self.saved
        be = self.be
        if _is_basic(self.index):
            out = be.full(shape, 0, dtype)
            be.assign(out, self.index, g)
            return (out,)
        return (be.index_add(shape, dtype, self.index, g),)


class CatOp(Function):
    __slots__ = ("dim",)

    def forward(self, *arrays, dim):
        self.dim = dim
        self.saved = tuple(a.shape[dim] for a in arrays)
        return self.be.concatenate(list(arrays), dim)

    def backward(self, g):
        grads, start = [], 0
        lead = (slice(None),) * self.dim
        for i, n in enumerate(self.saved):
            if self.needs_grad(i):
                grads.append(self.be.getitem(g, lead + (slice(start, start + n),)))
            else:
                grads.append(None)
            start += n
        return tuple(grads)


def index(input: Tensor, idx: Any) -> Tensor:
    """input[idx] with ints, slices, None, Ellipsis, integer/bool arrays or tensors."""
    try:
        return IndexOp.apply(input, index=_index_arrays(idx))
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor shape {input.shape})") from None


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors joined along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    first = tensors[0]
    d = _dim(dim, first.ndim, "cat")
    dt = first.dtype
    for t in tensors[1:]:
        dt = _result_dtype(dt, t.dtype)
        if t.ndim != first.ndim or t.shape[:d] + t.shape[d + 1 :] != first.shape[:d] + first.shape[d + 1 :]:
            raise ValueError(f"cat: shapes {first.shape} and {t.shape} differ outside dim {dim}")
    return CatOp.apply(*[cast(t, dt) for t in tensors], dim=d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors of one shape joined along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: shapes {tensors[0].shape} and {t.shape} differ")
    d = _dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)
