"""Matrix multiply with numpy/PyTorch broadcasting semantics, its strict forms (mm, bmm), outer,
and the matrix-shaped selections tril/triu and diag (composed from where and indexing)."""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function
from minigrad.backend import get_backend
from minigrad.functional._common import _from_host, _require_float, _require_tensor, _sum_to
from minigrad.functional.elementwise import _operands, _shape, mul, where
from minigrad.functional.shape import index, index_put, squeeze, unsqueeze
from minigrad.tensor import Tensor

# --- matrix multiply -------------------------------------------------------------------------


def _mT(be, a):  # noqa: N802
    axes = list(range(a.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return be.permute(a, tuple(axes))


class MatMulOp(Function):
    """a @ b for rank >= 2 (2-D through the GEMM kernel, batched through the backend's matmul)."""

    __slots__ = ()

    def forward(self, a, b):
        # each operand is saved only for the other's gradient
        self.saved = (a if self.needs_grad(1) else a.shape, b if self.needs_grad(0) else b.shape)
        return self.be.matmul(a, b)

    def backward(self, g):
        a, b = self.saved
        be = self.be
        ga = _sum_to(be, be.matmul(g, _mT(be, b)), _shape(a)) if self.needs_grad(0) else None
        gb = _sum_to(be, be.matmul(_mT(be, a), g), _shape(b)) if self.needs_grad(1) else None
        return ga, gb


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules: 1-D operands are promoted to a row/column and the
    added dimension removed; batch dimensions broadcast."""
    a, b = _operands(input, other)
    _require_float("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
            f"({a.shape[-1]} != {b.shape[0 if b.ndim == 1 else -2]})"
        )
    if a.ndim > 2 or b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {a.shape} and {b.shape} cannot be broadcast") from None
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a
    b2 = unsqueeze(b, 1) if b.ndim == 1 else b
    out = MatMulOp.apply(a2, b2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    if a.ndim == 1:
        out = squeeze(out, -2 if b.ndim > 1 else -1)
    return out


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """The matrix product of two 2-D tensors (matmul without broadcasting), as torch.mm."""
    _require_tensor("mm", input)
    _require_tensor("mm", mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: both arguments must be matrices, got shapes {input.shape} and {mat2.shape}")
    if input.shape[1] != mat2.shape[0]:
        (n, k), (k2, m) = input.shape, mat2.shape
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (b, n, k) and (b, k, m) tensors (no broadcasting), as torch.bmm."""
    _require_tensor("bmm", input)
    _require_tensor("bmm", mat2)
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"bmm: {name} must be a 3D tensor, got shape {t.shape}")
    want, got = [input.shape[0], input.shape[2]], list(mat2.shape[:2])
    if got != want:
        raise RuntimeError(f"bmm: expected size for first two dimensions of batch2 tensor to be: {want} but got: {got}")
    return matmul(input, mat2)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two 1-D tensors: out[i, j] = input[i] * vec2[j], as torch.outer."""
    _require_tensor("outer", input)
    _require_tensor("outer", vec2)
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: expected 1-D argument {name}, but got {t.ndim}-D")
    return mul(unsqueeze(input, 1), unsqueeze(vec2, 0))


def _triangle(op: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    """input with the elements off the lower (or upper) triangle of its last two dims zeroed."""
    _require_tensor(op, input)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape {input.shape}")
    rows, cols = input.shape[-2:]
    below = np.tri(rows, cols, int(diagonal) - (0 if lower else 1), dtype=bool)
    be = get_backend(input.device)
    keep = _from_host(below if lower else ~below, input)
    return where(keep, input, Tensor._make(be.full((), 0, input.dtype), input.device))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below the diagonal-th diagonal; above it
    zero), as torch.tril; differentiable."""
    return _triangle("tril", input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above the diagonal-th diagonal), as torch.triu."""
    return _triangle("triu", input, diagonal, False)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """As torch.diag: a 1-D tensor becomes a square matrix with it on the diagonal-th diagonal
    (above the main one for diagonal > 0); a matrix gives that diagonal as a 1-D tensor.
    Differentiable either way."""
    _require_tensor("diag", input)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    k = int(diagonal)
    if input.ndim == 1:
        length = input.shape[0]
    else:
        length = max(0, min(input.shape[0], input.shape[1] - k) if k >= 0 else min(input.shape[0] + k, input.shape[1]))
    places = (np.arange(length) + max(-k, 0), np.arange(length) + max(k, 0))
    if input.ndim == 2:
        return index(input, places)
    n = length + abs(k)
    zeros = Tensor._make(get_backend(input.device).full((n, n), 0, input.dtype), input.device)
    return index_put(zeros, places, input)
