"""Matrix multiply with numpy/PyTorch broadcasting semantics."""

from __future__ import annotations

import numpy as np

from minigrad.autograd import Function
from minigrad.functional._common import _require_float, _sum_to
from minigrad.functional.elementwise import _operands, _shape
from minigrad.functional.shape import squeeze, unsqueeze
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


def bmm(input: Tensor, other: Tensor) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p) tensors, without broadcasting."""
    if input.ndim != 3 or other.ndim != 3:
        raise RuntimeError(f"bmm: both arguments must be 3-D, got shapes {input.shape} and {other.shape}")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape} and {other.shape}")
    return matmul(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two 1-D tensors: out[i, j] = input[i] * vec2[j]."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: both arguments must be 1-D, got shapes {input.shape} and {vec2.shape}")
    return unsqueeze(input, 1) * unsqueeze(vec2, 0)
