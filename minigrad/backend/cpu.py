"""The CPU backend: numpy arrays, compiled kernels from minigrad._C.

Elementwise arithmetic, exp/log, comparisons, reductions and indexing call
numpy directly: it is as fast as a hand-written kernel for these memory-bound
ops and handles broadcasting and arbitrary axes. GEMM, convolution, pooling,
softmax/cross-entropy, activations, batch norm and optimizer steps are the _C
kernels of KERNEL_OPS (minigrad/backend/__init__.py), forwarded by name; they
need C-contiguous arrays, and `kernel_inputs` copies the inputs that are not
(never the buffers a kernel updates in place). Float matmul uses _C.gemm, batched
(> 2-D) ones over one or two batch axes, views read in place where their strides
allow (numpy's matmul ran attention's 128 small products per call at a quarter of
the GEMM's speed); other dtypes numpy.matmul.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import _C
from minigrad.backend import Backend


def _c(a: np.ndarray) -> np.ndarray:
    """a as a C-contiguous ndarray (0-d stays 0-d, unlike numpy.ascontiguousarray)."""
    if type(a) is np.ndarray and a.flags.c_contiguous:
        return a
    return np.array(a, order="C")


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# Elementwise arithmetic gives inf and nan silently, as PyTorch does (inf * 0, inf - inf, an
# overflowing product, x / 0, log 0, sqrt(-1)), never numpy's RuntimeWarnings. numpy >= 2 keeps its
# error state in a context variable: setting it around the call costs 0.2 us (np.errstate 1.4; a
# 32 x 32 add takes 0.8). The wrappers take a fixed number of arrays: *args cost 0.1 us more.
try:
    from numpy._core.umath import _extobj_contextvar, _make_extobj

    _IGNORE_ERRORS = _make_extobj(all="ignore")
    _set_errors, _reset_errors = _extobj_contextvar.set, _extobj_contextvar.reset

    def _quiet(ufunc):
        if ufunc.nin == 1:

            def op(self, a):
                token = _set_errors(_IGNORE_ERRORS)
                try:
                    return ufunc(a)
                finally:
                    _reset_errors(token)

        else:

            def op(self, a, b):
                token = _set_errors(_IGNORE_ERRORS)
                try:
                    return ufunc(a, b)
                finally:
                    _reset_errors(token)

        op.__name__ = ufunc.__name__
        return op

    def _add_into(dst, src):
        token = _set_errors(_IGNORE_ERRORS)
        try:
            np.add(dst, src, out=dst)
        finally:
            _reset_errors(token)

except ImportError:  # numpy 1.x

    def _quiet(ufunc):
        def op(self, *arrays):
            with np.errstate(all="ignore"):
                return ufunc(*arrays)

        op.__name__ = ufunc.__name__
        return op

    def _add_into(dst, src):
        with np.errstate(all="ignore"):
            np.add(dst, src, out=dst)


def _adjacent(axis: int | tuple | None, ndim: int) -> bool:
    """Whether axis (None, an int or a tuple of ints, in range) names adjacent axes: _C.sum's case."""
    if axis is None or isinstance(axis, (int, np.integer)):
        return True
    axes = sorted(int(d) % ndim for d in axis) if ndim else []
    return not axes or axes[-1] - axes[0] + 1 == len(axes)


def _gemm_operand(a: np.ndarray, batch: tuple) -> tuple[np.ndarray, bool]:
    """(array, transposed): a matmul operand as _C.gemm takes it. A matrix whose columns are
    contiguous (a transposed view: attention's k.transpose(-2, -1)) is taken transposed. The
    operand is read in place when _C.gemm can (_gemm_reads_in_place), else copied C-contiguous,
    reading whole rows (an encoder layer's key stack, (128, 64, 32) floats: 58 us, where
    gathering the transposed one took 93)."""
    if not batch and a.ndim == 2 and a.flags.c_contiguous:  # the common case, first (this runs per product)
        return a, False
    transposed = a.ndim >= 2 and a.strides[-1] != a.itemsize and a.strides[-2] == a.itemsize
    if transposed:
        a = a.swapaxes(-1, -2)
    a = _batched_operand(a, batch)
    return (a if _gemm_reads_in_place(a) else np.ascontiguousarray(a)), transposed


def _gemm_reads_in_place(a: np.ndarray) -> bool:
    """Whether _C.gemm takes a as it is: unit stride along its matrices' rows, rows at least a row
    apart, no negative stride. Attention's heads, (N, heads, L, d) views of (N, L, heads, d)
    projections, are read so instead of copied: a (32, 4, 64, 32) float32 copy took 80 us, four
    per encoder layer's forward on Zen 3."""
    item, strides, shape = a.itemsize, a.strides, a.shape
    return ((shape[-1] == 1 or strides[-1] == item) and (shape[-2] == 1 or strides[-2] >= shape[-1] * item)
            and all(s >= 0 and s % item == 0 for s in strides))


def _batched_operand(a: np.ndarray, batch: tuple) -> np.ndarray:
    """A matmul operand over the broadcast batch shape: one matrix shared by every product (no
    batch axes, or only 1s), else matrices along the batch axes: one or two kept as they are
    (_C.gemm's (B, rows, cols) and (B1, B2, rows, cols); a broadcast axis has stride 0), more
    merged into one (a copy where they do not merge)."""
    if math.prod(a.shape[:-2]) == 1:
        return a.reshape(a.shape[-2:])
    if a.shape[:-2] != batch:
        a = np.broadcast_to(a, (*batch, *a.shape[-2:]))
    return a if len(batch) <= 2 else a.reshape(math.prod(batch), *a.shape[-2:])


# The integer type of each float type's bits, for _where's bit select.
_BITS = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


def _where(cond, a, b):
    """np.where(cond, a, b). For a bool mask and float arrays of its shape (or 0-d), the bits of a
    and b are selected with integer masks: numpy's where branches per element, and on a mask
    without runs (the backward of relu6 and clamp) it took 7 ms on 2.4M floats, against 0.9-1.8."""
    if (
        type(cond) is np.ndarray and cond.dtype == np.bool_ and cond.ndim
        and type(a) is np.ndarray and type(b) is np.ndarray and a.dtype == b.dtype and a.dtype in _BITS
        and a.shape in (cond.shape, ()) and b.shape in (cond.shape, ())
    ):
        ints = _BITS[a.dtype]
        mask = -cond.astype(ints)  # all ones where cond
        a_bits, b_bits = a.view(ints), b.view(ints)
        if not b.shape and b_bits == 0:  # +0.0: and alone
            return np.bitwise_and(np.broadcast_to(a_bits, cond.shape), mask).view(a.dtype)
        return (b_bits ^ ((a_bits ^ b_bits) & mask)).view(a.dtype)
    return np.where(cond, a, b)


_COMPARE = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}



class CPUBackend(Backend):
    device = "cpu"
    kernels = _C

    def kernel_inputs(self, args):
        # numpy scalars too: ufuncs return them for 0-d operands (a loss's gradient)
        return tuple([_c(a) if isinstance(a, (np.ndarray, np.generic)) else a for a in args])

    # memory
    def from_numpy(self, a):
        return a

    def to_numpy(self, a):
        return a

    def empty(self, shape, dtype):
        return np.empty(shape, dtype)

    def full(self, shape, value, dtype):
        return np.full(shape, value, dtype)

    def arange(self, start, stop, step, dtype):
        return np.arange(start, stop, step, dtype=dtype)

    def copy(self, a):
        return np.array(a, order="C")

    def astype(self, a, dtype):
        return np.array(a, dtype=dtype, order="C")

    def contiguous(self, a):
        return _c(a)

    def is_contiguous(self, a):
        return a.flags.c_contiguous

    def accumulate(self, dst, src):
        _add_into(dst, src)

    def assign(self, dst, index, value):
        dst[index] = value

    def view_source(self, out, arrays):
        base = getattr(out, "base", None)  # numpy points views at the owner; ToDevice's out is no ndarray
        owner = out if base is None else base
        for i, a in enumerate(arrays):
            if a is owner or (a is not None and a.base is owner):
                return i
        return -1

    # elementwise (numpy), quiet at the edges of their domains (see _quiet)
    add, sub, mul, div = _quiet(np.add), _quiet(np.subtract), _quiet(np.multiply), _quiet(np.divide)
    pow, neg, exp, log, sqrt = _quiet(np.power), _quiet(np.negative), _quiet(np.exp), _quiet(np.log), _quiet(np.sqrt)
    sin, cos, tan = _quiet(np.sin), _quiet(np.cos), _quiet(np.tan)
    asin, acos, atan = _quiet(np.arcsin), _quiet(np.arccos), _quiet(np.arctan)
    sinh, cosh = _quiet(np.sinh), _quiet(np.cosh)
    log2, log10 = _quiet(np.log2), _quiet(np.log10)

    def erf(self, a):  # numpy has no erf: the C++ kernel (math.erf per element was 100x slower)
        return _C.erf(_c(a))

    # numpy's log1p and expm1 call libm per element on AVX2 CPUs (4.4 ms for 256K floats); the
    # kernels' vectorised loops take 0.2-0.4 (softplus, ELU, logsigmoid, BCE with logits)
    def log1p(self, a):
        return _C.log1p(_c(a))

    def expm1(self, a):
        return _C.expm1(_c(a))

    def abs(self, a):
        return np.abs(a)

    def sign(self, a):
        return np.sign(a)

    def clamp(self, a, low, high):
        return np.clip(a, low, high)

    def maximum(self, a, b):
        return np.maximum(a, b)

    def where(self, cond, a, b):
        return _where(cond, a, b)

    def compare(self, op, a, b):
        return _COMPARE[op](a, b)

    def logical(self, op, a, b):
        # numpy's own: the generic int64 counts took 20 ms for two 2.4M-element masks
        return getattr(np, op)(a) if b is None else getattr(np, op)(a, b)

    def all_finite(self, a):
        return bool(np.isfinite(a).all())

    # reductions (numpy)
    def sum(self, a, axis, keepdims):
        # Float arrays over adjacent axes: _C.sum, its lanes vectorised (numpy's float32 sum along
        # rows, pairwise in scalar order, took 57 us for 256 x 1000, PyTorch's 19, _C.sum's 12).
        if type(a) is np.ndarray and a.dtype in _FLOATS and a.flags.c_contiguous and _adjacent(axis, a.ndim):
            return _C.sum(a, axis, keepdims)
        return np.sum(a, axis=axis, keepdims=keepdims)

    def max(self, a, axis, keepdims):
        return np.max(a, axis=axis, keepdims=keepdims)

    def min(self, a, axis, keepdims):
        return np.min(a, axis=axis, keepdims=keepdims)

    def argmax(self, a, axis, keepdims):
        return np.argmax(a, axis=axis, keepdims=keepdims)

    def argmin(self, a, axis, keepdims):
        return np.argmin(a, axis=axis, keepdims=keepdims)

    # shape and indexing (numpy views where possible)
    def reshape(self, a, shape):
        return np.reshape(a, shape)

    def permute(self, a, axes):
        return np.transpose(a, axes)

    def broadcast_to(self, a, shape):
        # a materialized copy: cheaper than numpy.broadcast_to's Python wrapper, and contiguous for the kernels
        out = np.empty(shape, a.dtype)
        out[...] = a
        return out

    def getitem(self, a, index):
        out = a[index]
        if type(out) is not np.ndarray:  # a full integer index gives a numpy scalar (a copy): take the 0-d view
            out = a[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]
        return out

    def expand(self, a, shape):
        out = np.broadcast_to(a, shape)  # read-only: where elements repeat, writes must raise (as PyTorch)
        if out.size == a.size:  # nothing repeats (only size-1 axes added): a writable view
            out = np.lib.stride_tricks.as_strided(a, out.shape, out.strides, writeable=True)
        return out

    def writable(self, a):
        return a.flags.writeable

    def diagonal(self, a, offset, axis1, axis2):
        view = np.diagonal(a, offset, axis1, axis2)  # a view numpy makes read-only
        if a.flags.writeable:
            view.flags.writeable = True  # allowed: a's memory is writable, and each element appears once
        return view

    def index_add(self, shape, dtype, index, values):
        out = np.zeros(shape, dtype)
        np.add.at(out, index, values)
        return out

    def concatenate(self, arrays, axis):
        return np.concatenate(arrays, axis=axis)

    # matrix multiply
    def linear(self, x, weight, bias):
        x, trans_x = _gemm_operand(x, ())
        weight, trans_w = _gemm_operand(weight, ())
        bias = None if bias is None else np.ascontiguousarray(bias)
        return _C.gemm(x, weight, trans_x, not trans_w, 1.0, 0.0, None, bias)  # positional, as in matmul

    def matmul(self, a, b, alpha=1.0):
        if a.dtype != b.dtype or a.dtype not in _BITS:
            if alpha != 1:
                raise ValueError("matmul: alpha scales float products only")
            return np.matmul(a, b)
        # np.broadcast_shapes takes 3 us, as long as a 32 x 32 product: matrices have no batch
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) if a.ndim > 2 or b.ndim > 2 else ()
        a, trans_a = _gemm_operand(a, batch)
        b, trans_b = _gemm_operand(b, batch)
        out = _C.gemm(a, b, trans_a, trans_b, alpha)  # positional: pybind11 matches keywords at 0.2 us each
        return out.reshape(*batch, *out.shape[-2:]) if batch else out
