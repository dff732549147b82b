"""Tensor: an array on a device, its gradient, and the tape node that made it.

Tensors hold float32 (default), float64, int64 (labels, indices) or bool
(comparison results) arrays. Only floating tensors can require grad. The ops
themselves are in minigrad/functional.py; the methods here forward to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.backend import get_backend, resolve_device

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
_DTYPES = (float32, float64, int64, bool_)


def _normalize_dtype(dtype: Any) -> np.dtype:
    """A supported numpy dtype from dtype (numpy dtype, type, or name); TypeError otherwise."""
    dt = np.dtype(dtype)
    if dt not in _DTYPES:
        raise TypeError(f"unsupported dtype {dt}: minigrad has float32, float64, int64 and bool")
    return dt


def _host_array(data: Any, dtype: Any = None) -> np.ndarray:
    """A new host array from Python data or an ndarray, with PyTorch's dtype rules:
    Python floats -> float32, ints -> int64; ndarrays keep float32/float64/int64/bool,
    other integer types become int64 and other floating types float32."""
    if dtype is not None:
        return np.array(data, dtype=_normalize_dtype(dtype))
    arr = np.array(data)
    if arr.dtype in _DTYPES and (isinstance(data, np.ndarray) or arr.dtype != float64):
        return arr
    if arr.dtype.kind in "iu":
        return arr.astype(int64)
    if arr.dtype.kind == "f":
        return arr.astype(float32)
    raise TypeError(f"cannot make a tensor from {type(data).__name__} with dtype {arr.dtype}")


class Tensor:
    """An array on a device with optional gradient tracking.

    Tensor(data, requires_grad=False, device="cpu"): data is an array of the device
    (used without copy) or another Tensor (its array is shared). Use minigrad.tensor()
    to build one from Python data with PyTorch's dtype rules.
    """

    # _version counts in-place changes, so backward can tell when values it saved were changed
    # _post_accumulate_grad_hooks: left unset until a hook is registered (see autograd)
    __slots__ = ("_data", "device", "_requires_grad", "grad", "grad_fn", "_version",
                 "_post_accumulate_grad_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy scalars/arrays defer to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, device: str | None = None):
        if isinstance(data, Tensor):
            device, data = data.device, data._data
        else:
            device = resolve_device(device)
            on_device = device != "cpu" and not isinstance(data, (np.ndarray, np.generic)) and hasattr(data, "dtype")
            if not on_device:  # host data (numbers, lists, ndarrays), copied to the device if needed
                if type(data) is not np.ndarray or data.dtype not in _DTYPES:
                    data = _host_array(data)
                if device != "cpu":
                    data = get_backend(device).from_numpy(data)
        self._data = data
        self.device = device
        self.grad = None
        self.grad_fn = None
        self._requires_grad = False
        self._version = 0
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data: Any, device: str) -> Tensor:
        """A result tensor around a backend array (no checks; used by every op)."""
        t = object.__new__(Tensor)
        if device == "cpu" and isinstance(data, (np.generic, float, int)):
            data = np.asarray(data)  # numpy reductions return scalars for 0-d results
        t._data = data
        t.device = device
        t.grad = None
        t.grad_fn = None
        t._requires_grad = False
        t._version = 0
        return t

    # --- attributes ------------------------------------------------------------------
    @property
    def data(self) -> Any:
        """The underlying array (numpy on the CPU). Assigning replaces it, outside the tape;
        host data assigned to a tensor on another device is copied to that device."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Tensor):
            if value.device != self.device:
                raise RuntimeError(f"data: cannot assign a {value.device} tensor to a {self.device} tensor")
            value = value._data
        elif self.device == "cpu":
            value = np.asarray(value)
        elif isinstance(value, (np.ndarray, np.generic, list, tuple, float, int)):  # host data: copied over
            value = get_backend(self.device).from_numpy(_host_array(value))
        self._data = value

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self._data.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        if not flag and self.grad_fn is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use detach()")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # --- conversions ---------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a host numpy array (shares memory on the CPU)."""
        return get_backend(self.device).to_numpy(self._data)

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"item(): a tensor with {self._data.size} elements cannot be converted to a Python scalar"
            )
        return self.numpy().reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """to(device), to(dtype), to(device, dtype) or to(other_tensor); differentiable."""
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"to(): unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) and a not in ("float32", "float64", "int64", "bool"):
                device = a
            else:
                dtype = a
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = _F.cast(out, _normalize_dtype(dtype))
        if device is not None and resolve_device(device) != self.device:
            out = _F.to_device(out, resolve_device(device))
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        """A copy on the CUDA device (RuntimeError saying why when none is usable)."""
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(float32)

    def double(self) -> Tensor:
        return self.to(float64)

    def long(self) -> Tensor:
        return self.to(int64)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def detach(self) -> Tensor:
        """The same array, cut from the tape."""
        return Tensor._make(self._data, self.device)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self) -> Tensor:
        """A copy that stays on the tape."""
        return _F.clone(self)

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else _F.clone(self)

    # --- autograd --------------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the .grad of every leaf that requires grad.
        gradient is required unless self has one element."""
        _autograd.backward(self, gradient, retain_graph)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in .grad during backward."""
        _autograd.retain_grad(self)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """hook(self) runs once per backward(), after this leaf's gradient of that pass is
        accumulated into .grad; returns a handle whose remove() unregisters it (as PyTorch)."""
        return _autograd.register_post_accumulate_grad_hook(self, hook)

    # --- in place (outside the tape: for optimizers, init and data handling) ---------------
    def _check_inplace(self, name: str) -> None:
        if self._requires_grad and _autograd.is_grad_enabled():
            kind = "a leaf tensor that requires grad" if self.grad_fn is None else "a tensor on the tape"
            raise RuntimeError(
                f"{name}: {kind} cannot be modified in place while grad is enabled; use minigrad.no_grad()"
            )

    def _assign(self, name: str, value: Any) -> Tensor:
        self._check_inplace(name)
        get_backend(self.device).assign(self._data, Ellipsis, value)
        self._version += 1
        return self

    def _operand(self, other: Any) -> Any:
        return other._data if isinstance(other, Tensor) else other

    def zero_(self) -> Tensor:
        return self._assign("zero_", 0)

    def fill_(self, value: float) -> Tensor:
        return self._assign("fill_", self._operand(value))

    def copy_(self, src: Any) -> Tensor:
        return self._assign("copy_", self._operand(src))

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        be = get_backend(self.device)
        other = self._operand(other)
        return self._assign("add_", be.add(self._data, other if alpha == 1 else be.mul(other, alpha)))

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._assign("mul_", get_backend(self.device).mul(self._data, self._operand(other)))

    def div_(self, other: Any) -> Tensor:
        return self._assign("div_", get_backend(self.device).div(self._data, self._operand(other)))

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        return self._assign("clamp_", get_backend(self.device).clamp(self._data, min, max))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        be = get_backend(self.device)
        return self._assign("uniform_", be.uniform(_random.generator(), self.shape, a, b, self.dtype))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        be = get_backend(self.device)
        return self._assign("normal_", be.normal(_random.generator(), self.shape, mean, std, self.dtype))

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace("__setitem__")
        get_backend(self.device).assign(self._data, _F._index_arrays(index), self._operand(value))
        self._version += 1

    # --- operators --------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _F.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _F.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _F.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _F.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _F.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _F.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _F.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _F.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _F.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _F.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _F.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _F.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _F.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _F.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _F.index(self, index)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _F.compare("eq", self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _F.compare("ne", self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _F.compare("lt", self, other)

    def __le__(self, other: Any) -> Tensor:
        return _F.compare("le", self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _F.compare("gt", self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _F.compare("ge", self, other)

    __hash__ = object.__hash__  # identity, as PyTorch: tensors can key dicts and sets

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # --- methods forwarding to functional --------------------------------------------------
    def eq(self, other: Any) -> Tensor:
        return _F.compare("eq", self, other)

    def ne(self, other: Any) -> Tensor:
        return _F.compare("ne", self, other)

    def lt(self, other: Any) -> Tensor:
        return _F.compare("lt", self, other)

    def le(self, other: Any) -> Tensor:
        return _F.compare("le", self, other)

    def gt(self, other: Any) -> Tensor:
        return _F.compare("gt", self, other)

    def ge(self, other: Any) -> Tensor:
        return _F.compare("ge", self, other)

    def add(self, other: Any) -> Tensor:
        return _F.add(self, other)

    def sub(self, other: Any) -> Tensor:
        return _F.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        return _F.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return _F.div(self, other)

    def pow(self, exponent: Any) -> Tensor:
        return _F.pow(self, exponent)

    def matmul(self, other: Tensor) -> Tensor:
        return _F.matmul(self, other)

    def neg(self) -> Tensor:
        return _F.neg(self)

    def exp(self) -> Tensor:
        return _F.exp(self)

    def log(self) -> Tensor:
        return _F.log(self)

    def sqrt(self) -> Tensor:
        return _F.sqrt(self)

    def abs(self) -> Tensor:
        return _F.abs(self)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        return _F.clamp(self, min, max)

    clip = clamp

    def relu(self) -> Tensor:
        return _F.relu(self)

    def sigmoid(self) -> Tensor:
        return _F.sigmoid(self)

    def tanh(self) -> Tensor:
        return _F.tanh(self)

    def softmax(self, dim: int) -> Tensor:
        return _F.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return _F.log_softmax(self, dim)

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _F.sum(self, dim, keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _F.mean(self, dim, keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return _F.max(self, dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return _F.min(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _F.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _F.argmin(self, dim, keepdim)

    def reshape(self, *shape: Any) -> Tensor:
        return _F.reshape(self, _F._shape_args(shape))

    def view(self, *shape: Any) -> Tensor:
        return _F.reshape(self, _F._shape_args(shape))

    def view_as(self, other: Tensor) -> Tensor:
        return _F.reshape(self, other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return _F.flatten(self, start_dim, end_dim)

    def squeeze(self, dim: int | None = None) -> Tensor:
        return _F.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return _F.unsqueeze(self, dim)

    def expand(self, *sizes: Any) -> Tensor:
        return _F.expand(self, _F._shape_args(sizes))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return _F.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        return _F.permute(self, _F._shape_args(dims))

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got shape {self.shape}")
        return self if self.ndim < 2 else _F.transpose(self, 0, 1)

    @property
    def T(self) -> Tensor:  # noqa: N802
        return _F.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        return _F.transpose(self, -2, -1)

    # --- printing ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (float32, int64, bool_):
            extras.append(f"dtype=minigrad.{self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"


from minigrad import autograd as _autograd  # noqa: E402  (both import Tensor from here)
from minigrad import functional as _F  # noqa: E402
from minigrad import random as _random  # noqa: E402
