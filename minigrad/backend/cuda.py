"""The CUDA backend: minigrad._C.cuda.DeviceArray data, minigrad's own CUDA kernels.

The kernels of KERNEL_OPS (minigrad/backend/__init__.py) are _C.cuda's,
forwarded by name with the caller's arguments; the methods here are the rest.

Arrays are always C-contiguous DeviceArrays (float32, float64, int64, bool);
reshape is a view sharing the buffer, permute and broadcast_to are strided-copy
kernels, elementwise ops broadcast in one kernel, reductions reduce the input
viewed as (outer, reduced, inner). Host round trips, on purpose and only here:
random numbers (drawn from minigrad.random's numpy Generator, so a seed gives
the same values on every device), arange, advanced indexing (getitem with
non-trivial indices, index_add, assign to a sub-index) and concatenate. Batched (> 2-D) matmul is a broadcast
product and a reduction (no batched GEMM binding yet).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import _C
from minigrad.backend import Backend

_cuda = getattr(_C, "cuda", None)


def _memory_key(a):
    """A device array's buffer address (reshape views share it); None for host or empty arrays."""
    ptr = getattr(a, "ptr", None)
    return ptr if ptr and a.size else None


def _is_device(a: Any) -> bool:
    return _cuda is not None and isinstance(a, _cuda.DeviceArray)


def _host(a: Any) -> Any:
    """Device arrays (also inside an index tuple) as numpy arrays; other values unchanged."""
    if _is_device(a):
        return a.to_numpy()
    if isinstance(a, tuple):
        return tuple(_host(i) for i in a)
    return a


def _scalar(value: Any, dtype: np.dtype) -> Any:
    """value as the Python type fill_ wants for dtype."""
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    return float(value)


def _operands(a: Any, b: Any) -> tuple:
    """Python/numpy scalars (the functional layer passes some) as 0-d device arrays of the other operand's dtype."""
    if not _is_device(a):
        a = _cuda.empty((), b.dtype).fill_(_scalar(a, b.dtype))
    elif not _is_device(b):
        b = _cuda.empty((), a.dtype).fill_(_scalar(b, a.dtype))
    return a, b


class CUDABackend(Backend):
    device = "cuda"
    kernels = _cuda

    # memory
    def from_numpy(self, a):
        a = np.asarray(a)
        return _cuda.from_numpy(a if a.flags.c_contiguous else np.ascontiguousarray(a))

    def to_numpy(self, a):
        return a.to_numpy()

    def empty(self, shape, dtype):
        return _cuda.empty(tuple(shape), np.dtype(dtype))

    def full(self, shape, value, dtype):
        dtype = np.dtype(dtype)
        return _cuda.empty(tuple(shape), dtype).fill_(_scalar(value, dtype))

    def arange(self, start, stop, step, dtype):
        return self.from_numpy(np.arange(start, stop, step, dtype=dtype))

    def copy(self, a):
        return _cuda.empty(a.shape, a.dtype).copy_(a)

    def astype(self, a, dtype):
        return _cuda.astype(a, np.dtype(dtype))

    def contiguous(self, a):
        return a

    def is_contiguous(self, a):
        return True  # DeviceArrays are always C-contiguous

    def accumulate(self, dst, src):
        dst += src

    def view_source(self, out, arrays):
        key = _memory_key(out)
        if key is not None:
            for i, a in enumerate(arrays):
                if a is not None and _memory_key(a) == key:
                    return i
        return -1

    def assign(self, dst, index, value):
        if index is Ellipsis or (isinstance(index, tuple) and not index):
            if _is_device(value):
                if value.dtype != dst.dtype:
                    value = _cuda.astype(value, dst.dtype)
                if value.shape != dst.shape:
                    value = _cuda.broadcast_to(value, dst.shape)
                dst.copy_(value)
            elif np.ndim(value) == 0:
                dst.fill_(_scalar(value, dst.dtype))
            else:
                dst.copy_(self.from_numpy(np.broadcast_to(np.asarray(value, dst.dtype), dst.shape)))
            return
        host = dst.to_numpy()  # a sub-index: through the host
        host[_host(index)] = _host(value)
        dst.copy_(_cuda.from_numpy(host))

    # elementwise (broadcasting kernels)
    def add(self, a, b):
        return _cuda.add(*_operands(a, b))

    def sub(self, a, b):
        return _cuda.sub(*_operands(a, b))

    def mul(self, a, b):
        return _cuda.mul(*_operands(a, b))

    def div(self, a, b):
        return _cuda.div(*_operands(a, b))

    def pow(self, a, b):
        return _cuda.pow(*_operands(a, b))

    def maximum(self, a, b):
        return _cuda.maximum(*_operands(a, b))

    def where(self, cond, a, b):
        return _cuda.where(cond, *_operands(a, b))

    def compare(self, op, a, b):
        return _cuda.compare(op, *_operands(a, b))

    # activations: the kernels of KERNEL_OPS, but for bias_add and bias_grad (no kernels of their own)
    def bias_add(self, x, bias):
        if x.ndim < 2 or bias.ndim != 1 or bias.shape[0] != x.shape[1]:
            raise ValueError(f"bias_add: bias of shape {bias.shape} does not match axis 1 of x {x.shape}")
        return _cuda.add(x, _cuda.reshape(bias, (bias.shape[0],) + (1,) * (x.ndim - 2)))

    def bias_grad(self, dy):
        if dy.ndim < 2:
            raise ValueError(f"bias_grad: dy must have at least 2 dimensions, got shape {dy.shape}")
        return _cuda.sum(dy, (0, *range(2, dy.ndim)), False)

    # reductions
    def sum(self, a, axis, keepdims):
        if a.dtype == np.bool_:
            a = _cuda.astype(a, np.int64)  # numpy sums bools as integers
        return _cuda.sum(a, axis, keepdims)

    # shape and indexing
    def reshape(self, a, shape):
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            shape = tuple(a.size // known if known and d == -1 else d for d in shape)
        return _cuda.reshape(a, shape)

    def permute(self, a, axes):
        return _cuda.permute(a, list(axes))

    def broadcast_to(self, a, shape):
        return _cuda.broadcast_to(a, tuple(shape))

    def getitem(self, a, index):
        if index is Ellipsis or (isinstance(index, tuple) and not index):
            return a
        # asarray, not ascontiguousarray: an integer index for every dim gives a 0-d result, not (1,)
        return self.from_numpy(np.asarray(a.to_numpy()[_host(index)], order="C"))

    def index_add(self, shape, dtype, index, values):
        out = np.zeros(shape, dtype)
        np.add.at(out, _host(index), values.to_numpy())
        return self.from_numpy(out)

    def concatenate(self, arrays, axis):
        return self.from_numpy(np.concatenate([a.to_numpy() for a in arrays], axis=axis))

    # matrix multiply (gemm: the kernel)
    def linear(self, x, weight, bias):
        return _cuda.gemm(x, weight, trans_b=True, bias=bias)

    def matmul(self, a, b, alpha=1.0):
        if a.dtype == b.dtype and a.dtype in (np.float32, np.float64):
            # Batched: one gemm over (B, rows, cols) stacks; an operand without batch axes (or only 1s) is
            # shared by every product, one broadcast along some batch axes is copied out first.
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])

            def operand(x):
                if math.prod(x.shape[:-2]) == 1:
                    return _cuda.reshape(x, x.shape[-2:])
                if x.shape[:-2] != batch:
                    x = _cuda.broadcast_to(x, (*batch, *x.shape[-2:]))
                return _cuda.reshape(x, (math.prod(batch), *x.shape[-2:]))

            out = _cuda.gemm(operand(a), operand(b), alpha=alpha)
            return _cuda.reshape(out, (*batch, *out.shape[-2:])) if batch else out
        # Other dtypes: the broadcast product (..., m, k, n) summed over k, on the device.
        if alpha != 1:
            raise ValueError("matmul: alpha scales float products only")
        a4 = _cuda.reshape(a, (*a.shape, 1))
        b4 = _cuda.reshape(b, (*b.shape[:-2], 1, *b.shape[-2:]))
        return _cuda.sum(_cuda.mul(a4, b4), -2, False)
