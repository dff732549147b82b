"""minigrad.linalg: torch.linalg's norms of vectors and matrices, composed of differentiable
reductions (abs, sum, amax/amin, the 2-norm), so they run on every device. Matrix norms that need
singular values (ord 2, -2, "nuc") are not implemented and raise ValueError saying so."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import functional as F
from minigrad.functional._common import _dim, _require_tensor
from minigrad.tensor import Tensor

__all__ = ["matrix_norm", "norm", "vector_norm"]

_MATRIX_ORDS = ("'fro'", "1", "-1", "inf", "-inf")


def _float_input(op: str, x: Tensor, dtype: Any) -> Tensor:
    """x checked to be floating (as PyTorch, before any dtype= conversion), then in dtype if given."""
    _require_tensor(op, x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got {x.dtype}")
    return x if dtype is None else F.cast(x, dtype)


def _axes(op: str, dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """dim as sorted non-negative dims; every dim for None or ()."""
    if dim is None:
        return tuple(range(ndim))
    dims = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    axes = sorted(_dim(int(d), ndim, op) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dim {dim} names a dimension more than once")
    return tuple(axes) if axes else tuple(range(ndim))


def vector_norm(
    x: Tensor,
    ord: float = 2,  # noqa: A002 (PyTorch's name)
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """The ord-norm of x over dim (every element for None or ()), as torch.linalg.vector_norm:
    (sum |x|^ord)^(1/ord) for any number ord, with ord inf the largest |x|, -inf the smallest and 0
    the count of non-zero elements. Gradients as PyTorch's: 0 at zero elements (and for ord 0),
    shared evenly by equal largest (smallest) elements for ord inf (-inf)."""
    x = _float_input("linalg.vector_norm", x, dtype)
    if not isinstance(ord, (numbers.Number, np.generic)):
        raise TypeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    axes = _axes("linalg.vector_norm", dim, x.ndim)
    magnitude = F.abs(x)
    if ord in (math.inf, -math.inf):
        if any(x.shape[a] == 0 for a in axes):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm of an empty dimension "
                               f"(shape {x.shape}, dim {dim}): the operation has no identity")
        return (F.amax if ord > 0 else F.amin)(magnitude, axes, keepdim)
    if ord == 2:
        return F.norm(x, 2, axes, keepdim)
    if ord == 1:
        return F.sum(magnitude, axes, keepdim)
    if ord == 0:
        return F.sum(F.cast(magnitude != 0, x.dtype), axes, keepdim)
    # zero elements add 0 (ord > 0) or inf (ord < 0, making the norm 0) and take no gradient
    nonzero = magnitude != 0
    powers = F.where(nonzero, F.where(nonzero, magnitude, 1.0) ** ord, 0.0 if ord > 0 else math.inf)
    return F.sum(powers, axes, keepdim) ** (1.0 / ord)


def matrix_norm(
    A: Tensor,  # noqa: N803 (PyTorch's name)
    ord: float | str = "fro",  # noqa: A002
    dim: Sequence[int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """The ord-norm of the matrices in dims dim of A, as torch.linalg.matrix_norm: "fro" the square
    root of the sum of squares, 1 (-1) the largest (smallest) column sum of |A|, inf (-inf) the
    largest (smallest) row sum. ord 2, -2 and "nuc" need singular values: ValueError."""
    A = _float_input("linalg.matrix_norm", A, dtype)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got {A.shape}")
    dims = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    rows, cols = (_dim(int(d), A.ndim, "linalg.matrix_norm") for d in dims)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got {tuple(dims)}")
    if ord == "fro":
        return F.norm(A, 2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        raise ValueError(f"linalg.matrix_norm: ord={ord!r} needs singular values, which minigrad does not compute; "
                         f"supported matrix ords: {', '.join(_MATRIX_ORDS)}")
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord!r} not supported (valid: {', '.join(_MATRIX_ORDS)}, "
                           "2, -2, 'nuc')")
    summed, across = (rows, cols) if ord in (1, -1) else (cols, rows)
    sums = F.sum(F.abs(A), summed, keepdim=True)
    if ord > 0 and sums.shape[across] == 0:
        out = F.sum(sums, across, keepdim=True)  # the largest of no sums: 0, as PyTorch
    else:
        out = (F.amax if ord > 0 else F.amin)(sums, across, keepdim=True)
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(A.shape) if i not in (rows, cols)))


def norm(
    input: Tensor,
    ord: float | str | None = None,  # noqa: A002
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """A vector or matrix norm, as torch.linalg.norm: over one dim (or a 1-D input) vector_norm,
    over two dims (or a 2-D input) or with a string ord matrix_norm; with neither ord nor dim the
    2-norm of all elements, whatever input's shape."""
    dims = None if dim is None else [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    if dims is not None and len(dims) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {dims}")
    if dims is None and ord is not None:
        _require_tensor("linalg.norm", input)
        if input.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                               f"Got {input.ndim}D.")
        dims = list(range(input.ndim))
    if isinstance(ord, str) or (dims is not None and len(dims) == 2):
        return matrix_norm(input, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    return vector_norm(input, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
