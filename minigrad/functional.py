"""Differentiable ops: each a Function (forward/backward on backend arrays) and a
PyTorch-named wrapper that validates its arguments.

Backward methods return one gradient per input (None where not needed), already
reduced to the input's shape and dtype. minigrad.nn.functional re-exports the
neural-network part of this module under PyTorch's names.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import random as _random
from minigrad.autograd import Function
from minigrad.backend import get_backend
from minigrad.tensor import Tensor, _normalize_dtype, float32, int64

Number = (numbers.Number, np.generic)
_REDUCTIONS = ("none", "mean", "sum")


# --- helpers ---------------------------------------------------------------------------------


def _sum_to(be, g, shape: tuple):
    """Sum the broadcast gradient g down to shape (the input's shape before broadcasting)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    g = be.sum(g, axes, True)
    return be.reshape(g, shape)


def _result_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch-style promotion: a float beats an int/bool; float32 with float64 is float64."""
    if a == b:
        return a
    if a.kind == "f" and b.kind == "f":
        return np.dtype(np.float64)
    if a.kind == "f" or b.kind == "f":
        return a if a.kind == "f" else b
    return int64


def _constant(value: Any, like: Tensor) -> Tensor:
    """A Python number or array as a tensor on like's device, typed to combine with like."""
    if isinstance(value, Number):
        if like.dtype.kind == "f":
            dtype = like.dtype
        elif isinstance(value, (float, np.floating)):
            dtype = float32
        elif isinstance(value, (bool, np.bool_)) and like.dtype.kind == "b":
            dtype = like.dtype
        else:
            dtype = int64
        return Tensor._make(get_backend(like.device).full((), value, dtype), like.device)
    if like.device != "cpu":
        raise TypeError(f"cannot combine a {type(value).__name__} with a {like.device} tensor")
    return Tensor(value)


def _operands(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of one dtype (casts stay on the tape); at least one is a Tensor."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    if not isinstance(a, Tensor):
        a = _constant(a, b)
    elif not isinstance(b, Tensor):
        b = _constant(b, a)
    if a.dtype != b.dtype:
        dt = _result_dtype(a.dtype, b.dtype)
        a, b = cast(a, dt), cast(b, dt)
    return a, b


def _binary(cls: type[Function], name: str, a: Any, b: Any) -> Tensor:
    a, b = _operands(a, b)
    try:
        return cls.apply(a, b)
    except ValueError as e:
        if a.ndim and b.ndim and "broadcast" in str(e):
            raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
        raise


def _dim(dim: int, ndim: int, op: str) -> int:
    """dim in [0, ndim), accepting negative values; IndexError naming op otherwise."""
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % n


def _dims(dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...] | None:
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)):
        return (_dim(int(dim), ndim, op),)
    return tuple(sorted(_dim(int(d), ndim, op) for d in dim))


def _shape_args(shape: tuple) -> tuple:
    """reshape(2, 3) and reshape((2, 3)) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _require_tensor(op: str, t: Any) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")


def _require_float(op: str, input: Tensor, *optional: Tensor | None) -> None:
    """input (required) and the optional tensors given are floating-point Tensors."""
    _require_tensor(op, input)
    for t in (input, *optional):
        if t is not None:
            _require_tensor(op, t)
        if t is not None and t.dtype.kind != "f":
            raise TypeError(f"{op}: expected a floating-point tensor, got {t.dtype} with shape {t.shape}")


def _require_same_device(op: str, input: Tensor, *others: Tensor | None) -> None:
    """Arguments passed to kernels as raw arrays (targets, running stats, conditions) bypass
    Function.apply's device check, so they are checked here."""
    _require_tensor(op, input)
    for t in others:
        if t is not None:
            _require_tensor(op, t)
        if t is not None and t.device != input.device:
            raise RuntimeError(f"{op}: expected all tensors on the same device, got {input.device} and {t.device}")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


# --- elementwise arithmetic (numpy via the backend) -----------------------------------------


class Add(Function):
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a.shape, b.shape)
        return self.be.add(a, b)

    def backward(self, g):
        sa, sb = self.saved
        return _sum_to(self.be, g, sa), _sum_to(self.be, g, sb)


class Sub(Function):
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a.shape, b.shape)
        return self.be.sub(a, b)

    def backward(self, g):
        sa, sb = self.saved
        gb = _sum_to(self.be, self.be.neg(g), sb) if self.needs_grad(1) else None
        return _sum_to(self.be, g, sa), gb


class Mul(Function):
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a, b)
        return self.be.mul(a, b)

    def backward(self, g):
        a, b = self.saved
        be = self.be
        ga = _sum_to(be, be.mul(g, b), a.shape) if self.needs_grad(0) else None
        gb = _sum_to(be, be.mul(g, a), b.shape) if self.needs_grad(1) else None
        return ga, gb


class Div(Function):
    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a, b)
        return self.be.div(a, b)

    def backward(self, g):
        a, b = self.saved
        be = self.be
        ga = be.div(g, b)
        gb = _sum_to(be, be.neg(be.div(be.mul(ga, a), b)), b.shape) if self.needs_grad(1) else None
        return _sum_to(be, ga, a.shape), gb


class Pow(Function):
    """a ** b with both a tensor. Gradients as PyTorch's at the edges: 0 for a where b == 0,
    0 for b where a == 0 and b >= 0 (the formulas give 0 * inf = nan there)."""

    __slots__ = ()

    def forward(self, a, b):
        out = self.be.pow(a, b)
        self.saved = (a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        be = self.be
        ga = gb = None
        # the edge cases take safe operands (a ** 1, log 1) rather than masking a nan afterwards
        if self.needs_grad(0):
            exponent = be.where(be.compare("eq", b, 0), 1, be.sub(b, 1))  # b * a ** 1 = 0 where b == 0
            ga = _sum_to(be, be.mul(g, be.mul(b, be.pow(a, exponent))), a.shape)
        if self.needs_grad(1):
            base_zero = be.mul(be.compare("eq", a, 0), be.compare("ge", b, 0))
            log_a = be.log(be.where(base_zero, 1, a))  # out * log 1 = 0 where a == 0 and b >= 0
            gb = _sum_to(be, be.mul(g, be.mul(out, log_a)), b.shape)
        return ga, gb


class PowScalar(Function):
    __slots__ = ("exponent",)

    def forward(self, a, exponent):
        self.exponent = exponent
        self.saved = (a,)
        return self.be.pow(a, exponent)

    def backward(self, g):
        (a,) = self.saved
        p = self.exponent
        if p == 0:  # d(a**0)/da = 0, also at a = 0 where the formula gives 0 * inf
            return (self.be.full(a.shape, 0, g.dtype),)
        return (self.be.mul(g, self.be.mul(self.be.pow(a, p - 1), p)),)


class Neg(Function):
    __slots__ = ()

    def forward(self, a):
        return self.be.neg(a)

    def backward(self, g):
        return (self.be.neg(g),)


class Exp(Function):
    __slots__ = ()

    def forward(self, a):
        out = self.be.exp(a)
        self.saved = (out,)
        return out

    def backward(self, g):
        return (self.be.mul(g, self.saved[0]),)


class Log(Function):
    __slots__ = ()

    def forward(self, a):
        self.saved = (a,)
        return self.be.log(a)

    def backward(self, g):
        return (self.be.div(g, self.saved[0]),)


class Sqrt(Function):
    __slots__ = ()

    def forward(self, a):
        out = self.be.sqrt(a)
        self.saved = (out,)
        return out

    def backward(self, g):
        return (self.be.div(g, self.be.mul(self.saved[0], 2)),)


class Abs(Function):
    __slots__ = ()

    def forward(self, a):
        self.saved = (a,)
        return self.be.abs(a)

    def backward(self, g):
        return (self.be.mul(g, self.be.sign(self.saved[0])),)


class Clamp(Function):
    """Gradient passes where low <= a <= high, as PyTorch."""

    __slots__ = ()

    def forward(self, a, low, high):
        be = self.be
        inside = True
        if low is not None:
            inside = be.compare("ge", a, low)
        if high is not None:
            upper = be.compare("le", a, high)
            inside = upper if low is None else be.mul(inside, upper)
        self.saved = (inside,)
        return be.clamp(a, low, high)

    def backward(self, g):
        return (self.be.mul(g, self.saved[0]),)


class Cast(Function):
    __slots__ = ("in_dtype",)

    def forward(self, a, dtype):
        self.in_dtype = a.dtype
        return self.be.astype(a, dtype)

    def backward(self, g):
        return (self.be.astype(g, self.in_dtype),)


class Clone(Function):
    __slots__ = ()

    def forward(self, a):
        return self.be.copy(a)

    def backward(self, g):
        return (g,)


class ToDevice(Function):
    """Copy to another device; the gradient is copied back."""

    __slots__ = ("dst",)

    def forward(self, a, device):
        self.dst = get_backend(device)
        return self.dst.from_numpy(self.be.to_numpy(a))

    def backward(self, g):
        return (self.be.from_numpy(self.dst.to_numpy(g)),)


def add(input: Any, other: Any) -> Tensor:
    """input + other, broadcasting."""
    return _binary(Add, "add", input, other)


def sub(input: Any, other: Any) -> Tensor:
    """input - other, broadcasting."""
    return _binary(Sub, "sub", input, other)


def mul(input: Any, other: Any) -> Tensor:
    """input * other, broadcasting."""
    return _binary(Mul, "mul", input, other)


def div(input: Any, other: Any) -> Tensor:
    """input / other (true division: integer tensors give float32), broadcasting."""
    a, b = _operands(input, other)
    if a.dtype.kind != "f":
        a, b = cast(a, float32), cast(b, float32)
    return _binary(Div, "div", a, b)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 (PyTorch's name)
    """input ** exponent; a Python-number exponent has its own fast node."""
    if isinstance(input, Tensor) and isinstance(exponent, Number):
        if input.dtype.kind != "f" and isinstance(exponent, (float, np.floating)):
            input = cast(input, float32)
        return PowScalar.apply(input, exponent=exponent)
    return _binary(Pow, "pow", input, exponent)


def neg(input: Tensor) -> Tensor:
    return Neg.apply(input)


def exp(input: Tensor) -> Tensor:
    _require_float("exp", input)
    return Exp.apply(input)


def log(input: Tensor) -> Tensor:
    _require_float("log", input)
    return Log.apply(input)


def sqrt(input: Tensor) -> Tensor:
    _require_float("sqrt", input)
    return Sqrt.apply(input)


def abs(input: Tensor) -> Tensor:  # noqa: A001
    return Abs.apply(input)


def clamp(input: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Values limited to [min, max] (either may be None)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(input, low=min, high=max)


def cast(input: Tensor, dtype: Any) -> Tensor:
    """input converted to dtype (differentiable between floating types)."""
    dtype = _normalize_dtype(dtype)
    if input.dtype == dtype:
        return input
    if input._requires_grad and dtype.kind != "f":
        return Tensor._make(get_backend(input.device).astype(input._data, dtype), input.device)
    return Cast.apply(input, dtype=dtype)


def clone(input: Tensor) -> Tensor:
    return Clone.apply(input)


def to_device(input: Tensor, device: str) -> Tensor:
    """input copied to device (differentiable)."""
    out = ToDevice.apply(input, device=device)
    out.device = device
    return out


def compare(op: str, input: Any, other: Any) -> Tensor:
    """Boolean tensor of input <op> other (op: eq ne lt le gt ge); never on the tape."""
    a, b = _operands(input, other)
    return Tensor._make(get_backend(a.device).compare(op, a._data, b._data), a.device)


def eq(input: Any, other: Any) -> Tensor:
    return compare("eq", input, other)


def where(condition: Tensor, input: Any, other: Any) -> Tensor:
    """input where condition else other, broadcasting; gradients flow to both branches' picks."""
    a, b = _operands(input, other)
    _require_same_device("where", a, condition)
    return Where.apply(a, b, cond=condition._data)


class Where(Function):
    __slots__ = ()

    def forward(self, a, b, cond):
        self.saved = (cond, a.shape, b.shape)
        return self.be.where(cond, a, b)

    def backward(self, g):
        cond, sa, sb = self.saved
        be = self.be
        zero = be.full((), 0, g.dtype)
        ga = _sum_to(be, be.where(cond, g, zero), sa) if self.needs_grad(0) else None
        gb = _sum_to(be, be.where(cond, zero, g), sb) if self.needs_grad(1) else None
        return ga, gb


# --- reductions ------------------------------------------------------------------------------


class Sum(Function):
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


class Mean(Sum):
    """Sum / count; the mean of no elements is nan (0 / 0), as in PyTorch and numpy."""

    __slots__ = ()

    def forward(self, a, axes, keepdim):
        n = a.size if axes is None else math.prod(a.shape[ax] for ax in axes)
        return self.be.div(super().forward(a, axes, keepdim), n)

    def backward(self, g):
        (shape,) = self.saved
        n = math.prod(shape) if self.axes is None else math.prod(shape[ax] for ax in self.axes)
        return (self._expand(self.be.div(g, n)),)


class MaxMin(Function):
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
    return Sum.apply(input, axes=_dims(dim, input.ndim, "sum"), keepdim=keepdim)


def mean(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Mean over dim (int or tuple; None: all)."""
    _require_float("mean", input)
    return Mean.apply(input, axes=_dims(dim, input.ndim, "mean"), keepdim=keepdim)


def _max_min(input: Tensor, dim: int | None, keepdim: bool, largest: bool, op: str) -> Any:
    if input.numel() == 0:
        raise RuntimeError(f"{op}: the tensor is empty (shape {input.shape})")
    if dim is None:
        return MaxMin.apply(input, largest=largest, dim=None, keepdim=False)
    d = _dim(dim, input.ndim, op)
    values = MaxMin.apply(input, largest=largest, dim=d, keepdim=keepdim)
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


# --- shape -----------------------------------------------------------------------------------


class Reshape(Function):
    __slots__ = ()

    def forward(self, a, shape):
        self.saved = (a.shape,)
        return self.be.reshape(a, shape)

    def backward(self, g):
        return (self.be.reshape(g, self.saved[0]),)


class Permute(Function):
    __slots__ = ("axes",)

    def forward(self, a, axes):
        self.axes = axes
        return self.be.permute(a, axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return (self.be.permute(g, tuple(inverse)),)


class Expand(Function):
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
    return Reshape.apply(input, shape=shape)


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
    return input if new == shape else Reshape.apply(input, shape=new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A size-1 dimension inserted at dim (dim in [-ndim-1, ndim])."""
    d = _dim(dim, input.ndim + 1, "unsqueeze")
    shape = input.shape
    return Reshape.apply(input, shape=shape[:d] + (1,) + shape[d:])


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    axes = tuple(_dim(int(d), input.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(input.ndim)):
        raise ValueError(
            f"permute: dims {tuple(dims)} are not a permutation of the {input.ndim} dimensions of shape {input.shape}"
        )
    return Permute.apply(input, axes=axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    axes = list(range(input.ndim))
    d0, d1 = _dim(dim0, input.ndim, "transpose"), _dim(dim1, input.ndim, "transpose")
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(input, axes=tuple(axes))


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
    return Expand.apply(input, shape=full)


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


class Index(Function):
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


class Cat(Function):
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
        return Index.apply(input, index=_index_arrays(idx))
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
    return Cat.apply(*[cast(t, dt) for t in tensors], dim=d)


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


# --- matrix multiply -------------------------------------------------------------------------


def _mT(be, a):  # noqa: N802
    axes = list(range(a.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return be.permute(a, tuple(axes))


class MatMul(Function):
    """a @ b for rank >= 2 (2-D through the GEMM kernel, batched through the backend's matmul)."""

    __slots__ = ()

    def forward(self, a, b):
        self.saved = (a, b)
        return self.be.matmul(a, b)

    def backward(self, g):
        a, b = self.saved
        be = self.be
        ga = _sum_to(be, be.matmul(g, _mT(be, b)), a.shape) if self.needs_grad(0) else None
        gb = _sum_to(be, be.matmul(_mT(be, a), g), b.shape) if self.needs_grad(1) else None
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
    out = MatMul.apply(a2, b2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    if a.ndim == 1:
        out = squeeze(out, -2 if b.ndim > 1 else -1)
    return out


# --- neural-network ops ------------------------------------------------------------------------


class Linear(Function):
    """x (..., in) @ weight (out, in)^T + bias (out,): one GEMM plus the bias kernel."""

    __slots__ = ()

    def forward(self, x, weight, bias):
        be = self.be
        x2 = be.reshape(x, (math.prod(x.shape[:-1]), x.shape[-1]))  # not -1: numpy cannot infer it next to a 0
        y = be.matmul(x2, be.permute(weight, (1, 0)))
        if bias is not None:
            y = be.bias_add(y, bias)
        self.saved = (x2, weight, x.shape)
        return be.reshape(y, x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        x2, weight, x_shape = self.saved
        be = self.be
        g2 = be.reshape(g, (x2.shape[0], weight.shape[0]))
        gx = be.reshape(be.matmul(g2, weight), x_shape) if self.needs_grad(0) else None
        gw = be.matmul(be.permute(g2, (1, 0)), x2) if self.needs_grad(1) else None
        gb = be.bias_grad(g2) if self.needs_grad(2) else None
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, weight (out_features, in_features) as PyTorch."""
    _require_float("linear", input, weight, bias)
    _require_tensor("linear", weight)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input shape {input.shape} has "
            f"{input.shape[-1] if input.ndim else 0} features but weight shape "
            f"{weight.shape} expects {weight.shape[1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"linear: bias shape {bias.shape} does not match weight shape "
            f"{weight.shape} (expected ({weight.shape[0]},))"
        )
    if len({t.dtype for t in (input, weight, bias) if t is not None}) > 1:
        raise TypeError(
            f"linear: input, weight and bias must share a dtype, got "
            f"{input.dtype}, {weight.dtype}" + (f", {bias.dtype}" if bias is not None else "")
        )
    return Linear.apply(input, weight, bias)


def _conv_padding(padding: Any, weight_shape: tuple, dilation: Any, stride: Any) -> Any:
    """PyTorch's 'valid' and 'same' paddings as numbers."""
    if padding == "valid":
        return 0
    if padding == "same":
        if stride not in (1, (1, 1)):
            raise ValueError("conv2d: padding='same' needs stride 1")
        dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
        total = (dh * (weight_shape[2] - 1), dw * (weight_shape[3] - 1))
        if total[0] % 2 or total[1] % 2:
            raise NotImplementedError(
                "conv2d: padding='same' with an even effective kernel (asymmetric padding) is not supported"
            )
        return (total[0] // 2, total[1] // 2)
    return padding


class Conv2d(Function):
    __slots__ = ("stride", "padding", "dilation", "groups")

    def forward(self, x, weight, bias, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.saved = (x, weight)
        return self.be.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)

    def backward(self, g):
        x, weight = self.saved
        return self.be.conv2d_backward(
            g,
            x,
            weight,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.needs_grad(0),
            self.needs_grad(1),
            self.needs_grad(2),
        )


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution of input (N, C_in, H, W) with weight (C_out, C_in/groups, KH, KW)."""
    _require_float("conv2d", input, weight, bias)
    _require_tensor("conv2d", weight)
    padding = _conv_padding(padding, weight.shape, dilation, stride)
    return Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


class MaxPool2d(Function):
    __slots__ = ("indices",)

    def forward(self, x, kernel_size, stride, padding, dilation, ceil_mode):
        y, self.indices = self.be.max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
        self.saved = (x.shape,)
        return y

    def backward(self, g):
        return (self.be.max_pool2d_backward(g, self.indices, self.saved[0]),)


class ReLUMaxPool2d(MaxPool2d):
    """max_pool2d(relu(x)) as relu(max_pool2d(x)) in one kernel pass: the same values, and
    the same gradients (relu is monotone, so both pick the same window maxima; a window
    whose maximum is <= 0 passes no gradient either way). The ReLU runs on the pooled
    output, a quarter of x for 2x2 windows, instead of on all of x forward and backward."""

    __slots__ = ()

    def forward(self, x, kernel_size, stride, padding, dilation, ceil_mode):
        y, self.indices = self.be.relu_max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
        self.saved = (x.shape, y)
        return y

    def backward(self, g):
        shape, y = self.saved
        return (self.be.max_pool2d_backward(self.be.relu_backward(g, y), self.indices, shape),)


def relu_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """max_pool2d(relu(input), ...), fused: what conv -> ReLU -> max-pool blocks compute."""
    return _apply_max_pool(ReLUMaxPool2d, "relu_max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def _apply_max_pool(cls, name: str, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode) -> Tensor:
    _require_float(name, input)
    return cls.apply(
        input,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over windows of (N, C, H, W); with return_indices also the int64 argmax positions
    within each input H*W plane."""
    out = _apply_max_pool(MaxPool2d, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return out
    fn = out.grad_fn
    if fn is None:  # not recorded: the indices were dropped with the node, compute them again
        _, idx = get_backend(input.device).max_pool2d_forward(
            input._data, kernel_size, stride, padding, dilation, ceil_mode
        )
    else:
        idx = fn.indices
    return out, Tensor._make(idx, input.device)


class AvgPool2d(Function):
    __slots__ = ("args",)

    def forward(self, x, kernel_size, stride, padding, ceil_mode, count_include_pad):
        self.args = (kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.saved = (x.shape,)
        return self.be.avg_pool2d_forward(x, *self.args)

    def backward(self, g):
        return (self.be.avg_pool2d_backward(g, self.saved[0], *self.args),)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over windows of (N, C, H, W)."""
    _require_float("avg_pool2d", input)
    if divisor_override is not None:
        raise NotImplementedError("avg_pool2d: divisor_override is not supported")
    return AvgPool2d.apply(
        input,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )


class _Activation(Function):
    """y = kernel(x); backward from y through the fused backward kernel."""

    __slots__ = ()

    def backward(self, g):
        return (self._backward(g, self.saved[0]),)


class ReLU(_Activation):
    __slots__ = ()

    def forward(self, x):
        y = self.be.relu(x)
        self.saved = (y,)
        return y

    def _backward(self, g, y):
        return self.be.relu_backward(g, y)


class Sigmoid(_Activation):
    __slots__ = ()

    def forward(self, x):
        y = self.be.sigmoid(x)
        self.saved = (y,)
        return y

    def _backward(self, g, y):
        return self.be.sigmoid_backward(g, y)


class Tanh(_Activation):
    __slots__ = ()

    def forward(self, x):
        y = self.be.tanh(x)
        self.saved = (y,)
        return y

    def _backward(self, g, y):
        return self.be.tanh_backward(g, y)


class LeakyReLU(Function):
    __slots__ = ("slope",)

    def forward(self, x, slope):
        be = self.be
        self.slope = slope
        positive = be.compare("gt", x, 0)
        self.saved = (positive,)
        return be.where(positive, x, be.mul(x, slope))

    def backward(self, g):
        be = self.be
        return (be.where(self.saved[0], g, be.mul(g, self.slope)),)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0); inplace=True writes it into input and returns input."""
    _require_float("relu", input)
    if inplace:
        return input._inplace("relu", ReLU.apply)
    return ReLU.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input where positive, else negative_slope * input; inplace=True writes it into input."""
    _require_float("leaky_relu", input)
    if inplace:
        return input._inplace("leaky_relu", lambda x: LeakyReLU.apply(x, slope=negative_slope))
    return LeakyReLU.apply(input, slope=negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    _require_float("sigmoid", input)
    return Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    _require_float("tanh", input)
    return Tanh.apply(input)


def _swap_last(ndim: int, dim: int) -> tuple[int, ...]:
    """The permutation exchanging dim and the last axis (its own inverse)."""
    axes = list(range(ndim))
    axes[dim], axes[-1] = axes[-1], axes[dim]
    return tuple(axes)


class _Softmax(Function):
    """(log-)softmax over dim: the kernels work on the last axis, so dim is moved there."""

    __slots__ = ("axes",)

    def forward(self, x, dim):
        be = self.be
        self.axes = None if dim == x.ndim - 1 else _swap_last(x.ndim, dim)
        if self.axes is not None:
            x = be.permute(x, self.axes)
        y = self._kernel(x)
        self.saved = (y,)
        return y if self.axes is None else be.permute(y, self.axes)

    def backward(self, g):
        be = self.be
        if self.axes is not None:
            g = be.permute(g, self.axes)
        dx = self._kernel_backward(self.saved[0], g)
        return (dx if self.axes is None else be.permute(dx, self.axes),)


class Softmax(_Softmax):
    __slots__ = ()

    def _kernel(self, x):
        return self.be.softmax(x)

    def _kernel_backward(self, y, g):
        return self.be.softmax_backward(y, g)


class LogSoftmax(_Softmax):
    __slots__ = ()

    def _kernel(self, x):
        return self.be.log_softmax(x)

    def _kernel_backward(self, y, g):
        return self.be.log_softmax_backward(y, g)


def _softmax_dim(input: Tensor, dim: int | None, op: str) -> int:
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return _dim(dim, input.ndim, op)


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) over dim, numerically stable."""
    _require_float("softmax", input)
    if input.ndim == 0:
        return softmax(unsqueeze(input, 0), 0).reshape(())
    return Softmax.apply(input, dim=_softmax_dim(input, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """log(softmax(x)) over dim, computed stably."""
    _require_float("log_softmax", input)
    if input.ndim == 0:
        return log_softmax(unsqueeze(input, 0), 0).reshape(())
    return LogSoftmax.apply(input, dim=_softmax_dim(input, dim, "log_softmax"))


class Dropout(Function):
    __slots__ = ()

    def forward(self, x, p):
        mask = self.be.dropout_mask(_random.generator(), x.shape, p, x.dtype)
        self.saved = (mask,)
        return self.be.mul(x, mask)

    def backward(self, g):
        return (self.be.mul(g, self.saved[0]),)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p);
    the identity when not training. Masks come from minigrad.manual_seed's generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return input
    _require_float("dropout", input)
    if inplace:
        return input._inplace("dropout", lambda x: dropout(x, p, training))
    if p == 1.0:
        return mul(input, 0.0)
    return Dropout.apply(input, p=p)


class BatchNorm(Function):
    __slots__ = ("training",)

    def forward(self, x, weight, bias, running_mean, running_var, training, momentum, eps):
        self.training = training
        y, save_mean, save_invstd = self.be.batch_norm_forward(
            x, weight, bias, running_mean, running_var, training, momentum, eps
        )
        self.saved = (x, weight, save_mean, save_invstd)
        return y

    def backward(self, g):
        x, weight, save_mean, save_invstd = self.saved
        dx, dw, db = self.be.batch_norm_backward(g, x, weight, save_mean, save_invstd, self.training)
        return dx, dw, db


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization over axis 1 of (N, C, ...): batch statistics when training (and the
    running statistics updated in place), the running statistics otherwise."""
    _require_float("batch_norm", input, weight, bias)
    _require_same_device("batch_norm", input, running_mean, running_var, weight, bias)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C, ...), got shape {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    if training and input.numel() // (input.shape[1] or 1) <= 1:  # an empty input too
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training, got input shape {input.shape}"
        )
    return BatchNorm.apply(
        input,
        weight,
        bias,
        running_mean=None if running_mean is None else running_mean._data,
        running_var=None if running_var is None else running_var._data,
        training=training,
        momentum=momentum,
        eps=eps,
    )


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta, as PyTorch
    (composed from existing ops: zero-padded channel window sums)."""
    _require_float("local_response_norm", input)
    if input.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected input (N, C, ...) with 3 or more dimensions, got shape {input.shape}"
        )
    channels = input.shape[1]
    square = input * input
    before, after = size // 2, (size - 1) // 2
    pad_shape = list(input.shape)
    parts = []
    for n in (before, after):
        pad_shape[1] = n
        parts.append(_zeros(input, tuple(pad_shape)))
    padded = cat([parts[0], square, parts[1]], 1)
    window = padded[:, 0:channels]
    for i in range(1, size):
        window = window + padded[:, i : i + channels]
    div = (window * (alpha / size) + k) ** beta
    return input / div


def _zeros(like: Tensor, shape: tuple) -> Tensor:
    """A constant zero tensor of shape with like's dtype and device."""
    return Tensor._make(get_backend(like.device).full(shape, 0, like.dtype), like.device)


# --- losses -------------------------------------------------------------------------------------


def _classes_last(input: Tensor, target: Tensor, op: str) -> tuple[Tensor, Tensor, tuple]:
    """(N, C, d1, ...) logits and (N, d1, ...) targets as (N*d, C) and (N*d,); also the
    per-element loss shape. (C,) with a 0-d target becomes (1, C)."""
    if input.ndim == 1:
        return unsqueeze(input, 0), reshape(target, (1,)), ()
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have a class dimension, got shape {input.shape}")
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{op}: target shape {target.shape} does not match input shape {input.shape} (expected {expected})"
        )
    if input.ndim == 2:
        return input, target, expected
    moved = permute(input, (0, *range(2, input.ndim), 1))
    return reshape(moved, (-1, input.shape[1])), reshape(target, (-1,)), expected


class CrossEntropy(Function):
    """Fused log-softmax + NLL kernel, forward and backward."""

    __slots__ = ("args",)

    def forward(self, logits, target, reduction, label_smoothing, ignore_index):
        self.args = (reduction, label_smoothing, ignore_index)
        loss, log_probs = self.be.cross_entropy_forward(logits, target, reduction, label_smoothing, ignore_index)
        self.saved = (log_probs, target)
        return loss

    def backward(self, g):
        log_probs, target = self.saved
        return (self.be.cross_entropy_backward(log_probs, target, g, *self.args),)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits (N, C[, d...]) against int64 class indices (N[, d...])
    or class probabilities shaped like input."""
    _require_float("cross_entropy", input)
    _require_same_device("cross_entropy", input, target, weight)
    _require_tensor("cross_entropy", target)
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: probability target shape {target.shape} does not match input shape {input.shape}"
            )
        class_dim = 0 if input.ndim == 1 else 1
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / input.shape[class_dim]
        logp = log_softmax(input, class_dim)
        if weight is not None:
            shape = [1] * input.ndim
            shape[class_dim] = -1
            logp = logp * reshape(weight, shape)
        loss = neg(sum(target * logp, class_dim))
        return _reduce(loss, reduction)
    if target.dtype != int64:
        raise TypeError(f"cross_entropy: target must be int64 class indices or float probabilities, got {target.dtype}")
    if weight is not None:
        if label_smoothing:
            raise NotImplementedError("cross_entropy: class weights with label_smoothing are not supported")
        return nll_loss(log_softmax(input, 0 if input.ndim == 1 else 1), target, weight, ignore_index, reduction)
    logits, flat_target, loss_shape = _classes_last(input, target, "cross_entropy")
    loss = CrossEntropy.apply(
        logits,
        target=flat_target._data,
        reduction=reduction,
        label_smoothing=float(label_smoothing),
        ignore_index=ignore_index,
    )
    return reshape(loss, loss_shape) if reduction == "none" else loss


class NLLLoss(Function):
    """-input[i, target[i]] * weight[target[i]], ignoring ignore_index; mean divides by the
    summed weights of the counted rows, as PyTorch."""

    __slots__ = ("reduction",)

    def forward(self, logp, weight, target, ignore_index, reduction):
        be = self.be
        n, c = logp.shape
        valid = be.compare("ne", target, ignore_index)
        safe = be.where(valid, target, be.full((), 0, int64))
        w = be.astype(valid, logp.dtype)
        if weight is not None:
            w = be.mul(w, be.getitem(weight, safe))
        rows = be.arange(0, n, 1, int64)
        losses = be.neg(be.mul(be.getitem(logp, (rows, safe)), w))
        self.reduction = reduction
        if reduction == "mean":
            total = be.sum(w, None, False)
            self.saved = (w, rows, safe, (n, c), total)
            return be.div(be.sum(losses, None, False), total)
        self.saved = (w, rows, safe, (n, c), None)
        return losses if reduction == "none" else be.sum(losses, None, False)

    def backward(self, g):
        w, rows, safe, shape, total = self.saved
        be = self.be
        coef = be.neg(be.mul(w, g))
        if total is not None:
            coef = be.div(coef, total)
        return be.index_add(shape, w.dtype, (rows, safe), coef), None


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C[, d...]) at int64 targets."""
    _require_float("nll_loss", input, weight)
    _require_same_device("nll_loss", input, target, weight)
    _require_tensor("nll_loss", target)
    _check_reduction("nll_loss", reduction)
    if target.dtype != int64:
        raise TypeError(f"nll_loss: target must be int64 class indices, got {target.dtype}")
    logp, flat_target, loss_shape = _classes_last(input, target, "nll_loss")
    c = logp.shape[1]
    t = flat_target.numpy()
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        raise ValueError(f"nll_loss: target {int(t[bad][0])} is out of range for {c} classes")
    if weight is not None and weight.shape != (c,):
        raise ValueError(f"nll_loss: weight shape {weight.shape} does not match {c} classes")
    loss = NLLLoss.apply(logp, weight, target=flat_target._data, ignore_index=ignore_index, reduction=reduction)
    return reshape(loss, loss_shape) if reduction == "none" else loss


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced."""
    _check_reduction("mse_loss", reduction)
    _require_float("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


class BinaryCrossEntropy(Function):
    """The log terms are clamped at -100 after the log, as PyTorch (clamping x at exp(-100) first
    gives -99.98 in float32, where exp(-100) is subnormal; log 0 = -inf is silent on every backend)."""

    __slots__ = ()

    def forward(self, x, target):
        be = self.be
        log_x = be.clamp(be.log(x), -100.0, None)
        log_1mx = be.clamp(be.log(be.sub(1, x)), -100.0, None)
        self.saved = (x, target)
        return be.neg(be.add(be.mul(target, log_x), be.mul(be.sub(1, target), log_1mx)))

    def backward(self, g):
        x, t = self.saved
        be = self.be
        denom = be.clamp(be.mul(x, be.sub(1, x)), 1e-12, None)
        return (be.div(be.mul(g, be.sub(x, t)), denom),)


class BinaryCrossEntropyWithLogits(Function):
    """Stable form: (1 - t) x + L (log1p(exp(-|x|)) + max(-x, 0)), L = 1 + (pos_weight - 1) t."""

    __slots__ = ()

    def forward(self, x, target, pos_weight):
        be = self.be
        softplus_neg = be.add(be.log1p(be.exp(be.neg(be.abs(x)))), be.clamp(be.neg(x), 0, None))
        scale = 1 if pos_weight is None else be.add(be.mul(be.sub(pos_weight, 1), target), 1)
        self.saved = (x, target, scale)
        return be.add(be.mul(be.sub(1, target), x), be.mul(scale, softplus_neg))

    def backward(self, g):
        x, t, scale = self.saved
        be = self.be
        sig_neg = be.sigmoid(be.neg(x))  # = 1 - sigmoid(x)
        return (be.mul(g, be.sub(be.sub(1, t), be.mul(scale, sig_neg))),)


def _binary_target(op: str, input: Tensor, target: Tensor) -> Any:
    _require_float(op, input, target)
    if target.requires_grad:
        raise NotImplementedError(f"{op}: the gradient with respect to target is not supported")
    if target.shape != input.shape:
        raise ValueError(f"{op}: target shape {target.shape} does not match input shape {input.shape}")
    return cast(target, input.dtype)._data


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """-(t log x + (1 - t) log(1 - x)) for probabilities x, log terms clamped at -100."""
    _check_reduction("binary_cross_entropy", reduction)
    t = _binary_target("binary_cross_entropy", input, target)
    be = get_backend(input.device)
    if not (
        be.all_finite(input._data)
        and bool(be.compare("ge", input._data, 0).all())
        and bool(be.compare("le", input._data, 1).all())
    ):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target=t)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """binary_cross_entropy(sigmoid(input), target), computed stably from logits."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    t = _binary_target("binary_cross_entropy_with_logits", input, target)
    pw = None if pos_weight is None else cast(pos_weight, input.dtype)._data
    loss = BinaryCrossEntropyWithLogits.apply(input, target=t, pos_weight=pw)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
