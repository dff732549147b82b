"""Shared by the op modules: argument checks, broadcasting-gradient reduction, operand promotion."""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.backend import get_backend
from minigrad.tensor import Tensor
from minigrad.tensor import numpy_aliases as numpy_aliases  # axis= / keepdims= (defined there: Tensor uses it too)

Number = (numbers.Number, np.generic)


class ShapeError(RuntimeError, ValueError):
    """Shapes that do not fit (they do not broadcast, or a reshape's shape does not match the
    input's size): a RuntimeError, as PyTorch raises (so ported ``except RuntimeError`` handlers
    catch it), and a ValueError, as minigrad raised before."""


class TargetOutOfBoundsError(IndexError, ValueError):
    """A class-index target of a loss outside [0, classes) (and not ignore_index): an IndexError,
    as PyTorch raises ("Target 7 is out of bounds."), and a ValueError, as minigrad raised before."""


class DimIndexError(IndexError, ValueError):
    """An input with too few dimensions (or an index of too many) where PyTorch's check is a dim
    lookup that raises IndexError (batch_norm of a 1-D input, index_select of a 2-D index,
    multilabel_soft_margin_loss of a 0-d input): an IndexError, as PyTorch raises, and a
    ValueError, as minigrad raised before."""


class ArgumentError(RuntimeError, ValueError):
    """An argument value the op refuses (one_hot labels out of range, probabilities outside
    [0, 1], an empty tensor list for stack, zero chunks): a RuntimeError, as PyTorch raises, and a
    ValueError, as minigrad raised before."""


class IndexRangeError(IndexError, RuntimeError):
    """An index or dim that does not fit where PyTorch and minigrad used to disagree on the
    class: gather/scatter indices out of bounds (PyTorch: RuntimeError; minigrad raised
    IndexError) and max/min over an empty dim (PyTorch: IndexError; minigrad raised
    RuntimeError). Both handlers catch it."""


class DtypeError(RuntimeError, TypeError):
    """A tensor of a dtype the op does not take (float class targets, float embedding indices): a
    RuntimeError, as PyTorch raises, and a TypeError, as minigrad raised before."""


class NoKernelForDtypeError(NotImplementedError, DtypeError):
    """A float-only op without a kernel for integer tensors where PyTorch says so (logsigmoid,
    histc, histogram: "log_sigmoid_cpu" not implemented for 'Long'): a NotImplementedError, as
    PyTorch raises, and a DtypeError, as minigrad raised before."""


class UnsupportedDtypeError(NotImplementedError, TypeError):
    """An integer-only op (& | ^ << >> ~, gcd, lcm) of a tensor whose dtype it has no kernel for
    (float tensors; bool for the shifts, gcd and lcm): a NotImplementedError (so a RuntimeError), as
    PyTorch raises ("bitwise_and_cpu" not implemented for 'Float'), and a TypeError, as minigrad
    raised before (and as PyTorch raises for ~ of a float tensor)."""


class NotImplementedArgumentError(NotImplementedError, ValueError):
    """An input the op has no implementation for (bincount of floats, an interpolation mode for
    another rank, an unknown mode): a NotImplementedError (so a RuntimeError), as PyTorch raises,
    and a ValueError, as minigrad raised before."""


class IntegerDivisionByZeroError(RuntimeError, ZeroDivisionError):
    """An integer floor division, remainder or fmod by zero: a RuntimeError, as PyTorch raises
    ("ZeroDivisionError"), and a ZeroDivisionError, as minigrad raised before."""


def _require_same_dtype(op: str, *tensors: Tensor | None) -> None:
    """DtypeError unless the tensors given (None skipped) have one dtype: PyTorch's matrix products
    do not promote ("expected m1 and m2 to have the same dtype")."""
    dtypes = [t.dtype for t in tensors if t is not None]
    if any(d != dtypes[0] for d in dtypes):
        raise DtypeError(f"{op}: expected all operands to have the same dtype, but got {', '.join(map(str, dtypes))}")


def check_target_range(op: str, target: np.ndarray, classes: int, ignore_index: int) -> None:
    """TargetOutOfBoundsError naming op and the first class index of target (host int64) that is
    neither in [0, classes) nor ignore_index."""
    bad = (target != ignore_index) & ((target < 0) | (target >= classes))
    if bad.any():
        raise TargetOutOfBoundsError(f"{op}: target {int(target[bad][0])} is out of range for {classes} classes "
                                     f"(expected 0 <= target < {classes} or target == ignore_index = {ignore_index})")

# --- helpers ---------------------------------------------------------------------------------


def assign(be: Any, dst: Any, index: Any, value: Any, op: str) -> None:
    """dst[index] = value through the backend be; a value that does not broadcast to the indexed
    place is PyTorch's RuntimeError (a ShapeError: still the ValueError numpy raises), naming op."""
    try:
        be.assign(dst, index, value)
    except ValueError as exc:
        raise ShapeError(f"{op}: shape mismatch: value tensor of shape {list(getattr(value, 'shape', ()))} cannot "
                         f"be broadcast to the indexing result ({exc})") from exc


def _from_host(array: np.ndarray, like: Tensor) -> Tensor:
    """A host array (indices, masks, weights made with numpy) as a tensor on like's device."""
    return Tensor._make(get_backend(like.device).from_numpy(array), like.device)


def _sum_to(be, g, shape: tuple):
    """Sum the broadcast gradient g down to shape (the input's shape before broadcasting)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    g = be.sum(g, axes, True)
    return be.reshape(g, shape)


def _result_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch-style promotion: a float beats an int/bool; float32 with float64 is float64;
    integers and bool as numpy promotes them, which is PyTorch's table for these types
    (uint8 with int8 is int16, bool with any integer type that type)."""
    if a == b:
        return a
    if a.kind == "f" and b.kind == "f":
        return np.dtype(np.float64)
    if a.kind == "f" or b.kind == "f":
        return a if a.kind == "f" else b
    return np.promote_types(a, b)


def _dim(dim: int, ndim: int, op: str) -> int:
    """dim in [0, ndim), accepting negative values; IndexError naming op otherwise."""
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % n


def _dims(dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...] | None:
    """Reduction axes, sorted; None for all, which an empty tuple or list also means, as in
    PyTorch's sum, mean, var, std and norm (a 0-d tensor takes dim 0 or -1, as PyTorch, and
    reduces over its one element)."""
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        return None
    if isinstance(dim, (int, np.integer)):
        axis = _dim(int(dim), ndim, op)
        return (axis,) if ndim else None
    axes = tuple(sorted(_dim(int(d), ndim, op) for d in dim))
    if len(set(axes)) != len(axes):  # PyTorch's RuntimeError (numpy's ValueError before)
        twice = next(a for i, a in enumerate(axes) if a in axes[i + 1:])
        raise ArgumentError(f"{op}: dim {twice} appears multiple times in the list of dims")
    return axes if ndim else None


def _broadcast_shape(op: str, a: tuple, b: tuple) -> tuple:
    """The shape a and b broadcast to; ShapeError naming op when they do not broadcast."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise ShapeError(f"{op}: shapes {a} and {b} cannot be broadcast together") from None


def _shape_args(shape: tuple) -> tuple:
    """reshape(2, 3) and reshape((2, 3)) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _require_tensor(op: str, t: Any) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")


def _require_float(
    op: str, input: Tensor, *optional: Tensor | None, error: type[DtypeError] = NoKernelForDtypeError
) -> None:
    """input (required) and the optional tensors given are floating-point Tensors; error is the
    class raised otherwise (by default a NotImplementedError, as PyTorch's float-only kernels
    raise: "gelu_cpu" not implemented for 'Long', and a DtypeError, so a RuntimeError and a
    TypeError)."""
    _require_tensor(op, input)
    for t in (input, *optional):
        if t is not None:
            _require_tensor(op, t)
        if t is not None and t.dtype.kind != "f":  # PyTorch: a RuntimeError (int into mean, a layer)
            raise error(f"{op}: expected a floating-point tensor, got {t.dtype} with shape {t.shape}")


def _require_same_device(op: str, input: Tensor, *others: Tensor | None) -> None:
    """Arguments passed to kernels as raw arrays (targets, running stats, conditions) bypass
    Function.apply's device check, so they are checked here."""
    _require_tensor(op, input)
    for t in others:
        if t is not None:
            _require_tensor(op, t)
        if t is not None and t.device != input.device:
            raise RuntimeError(f"{op}: expected all tensors on the same device, got {input.device} and {t.device}")


