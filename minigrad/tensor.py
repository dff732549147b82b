"""Tensor: an array on a device, its gradient, and the tape node that made it.

Tensors hold float32 (default), float64, int64 (labels, indices) or bool
(comparison results) arrays. Only floating tensors can require grad. The ops
themselves are in minigrad/functional.py; the methods here forward to them.
"""

from __future__ import annotations

import functools
import math
import mmap
import numbers
import operator
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import _memory_format as _mf
from minigrad.backend import get_backend, resolve_device

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
int16 = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)  # images as stored (IDX, PNG); arithmetic promotes as PyTorch's
bool_ = np.dtype(np.bool_)
_DTYPES = (float32, float64, int64, int32, int16, int8, uint8, bool_)


class _HalfPrecision:
    """float16 and bfloat16 under PyTorch's names: minigrad has neither, but code passes the names
    around (``autocast("cpu", dtype=torch.bfloat16)``, a full-precision no-op that says so) and
    compares them; every tensor of either is refused with a TypeError."""

    __slots__ = ("name",)
    is_floating_point = True
    itemsize = 2

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"minigrad.{self.name}"


float16 = _HalfPrecision("float16")
bfloat16 = _HalfPrecision("bfloat16")


def _normalize_dtype(dtype: Any) -> np.dtype:
    """A supported numpy dtype from dtype (numpy dtype, type, or name); TypeError otherwise."""
    if isinstance(dtype, _HalfPrecision):
        dtype = dtype.name  # numpy's float16 is refused below; bfloat16 numpy does not know
    if dtype == "bfloat16":
        raise TypeError(f"unsupported dtype bfloat16: minigrad has {', '.join(str(d) for d in _DTYPES)}")
    dt = np.dtype(dtype)
    if dt not in _DTYPES:
        names = ", ".join(str(d) for d in _DTYPES)
        raise TypeError(f"unsupported dtype {dt}: minigrad has {names}")
    return dt


def _rename_aliases(name: str, kwargs: dict) -> None:
    """numpy's axis= / keepdims= as dim= / keepdim= (in place); TypeError when both spellings are given."""
    for alias, canonical in (("axis", "dim"), ("keepdims", "keepdim")):
        if alias in kwargs:
            if canonical in kwargs:
                raise TypeError(f"{name}() received both '{canonical}' and its alias '{alias}'")
            kwargs[canonical] = kwargs.pop(alias)


def _is_copy(out: Tensor, input: Tensor) -> bool:
    """Whether out, input reshaped, holds a copy of input's elements rather than a view of them
    (host arrays only: device arrays are C-contiguous, so their reshapes are views)."""
    # Function.apply gives a view its base's version counter (a copy gets its own)
    return isinstance(input._data, np.ndarray) and input._data.size > 0 and \
        out._version_counter is not input._version_counter


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_WARNED_ONCE: set[str] = set()  # the messages of warn_user(once=True) given so far


def _check_assigned_grad(t: Tensor, grad: Any) -> None:
    """PyTorch's checks, and messages, for ``t.grad = grad``."""
    if not isinstance(grad, Tensor):
        kind = type(grad)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {name}")
    if grad is t:
        raise RuntimeError("can't assign Variable as its own grad")
    if grad.dtype != t.dtype:
        wanted = _TYPE_NAMES.get(t.dtype.name, t.dtype.name).removesuffix("Tensor")
        raise RuntimeError(f"attempting to assign a gradient with dtype '{_CPP_TYPE_NAMES.get(grad.dtype.name)}' to "
                           f"a tensor with dtype '{wanted}'. The gradient must match the tensor's dtype")
    if grad.device != t.device:
        raise RuntimeError("assigned grad has data located on a different device")
    if grad.shape != t.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(grad.shape)}' to a tensor of size "
                           f"'{list(t.shape)}'. Please ensure that the gradient and the tensor are the same size")


_FLOAT_OF_GRAD = ("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                  "Consider using tensor.detach() first.")  # float()/complex()'s warning, once a process
_SCALAR_FIRST = "deprecated overload"  # in _WARNED_ONCE once any deprecated overload has warned
_ADDC = ("tensor1", "tensor2")  # addcmul's and addcdiv's tensors


def _scalar_first(name: str, scalar: str, tensors: tuple[str, ...], args: tuple) -> tuple:
    """args = (number, tensors...) of a call through one of PyTorch's deprecated signatures that put
    the number first (``p.data.add_(-lr, grad)``, ``v.addcmul_(1 - beta, g, g)`` of old tutorials
    and optimizers), as (tensors..., number), with PyTorch's warning (once a process, for whichever
    such call comes first)."""
    if len(args) != len(tensors) + 1 or not all(isinstance(t, Tensor) for t in args[1:]):
        raise TypeError(f"{name}() takes {len(tensors)} tensors (or PyTorch's deprecated ({scalar}, "
                        f"{', '.join(tensors)})), got {len(args)} arguments")
    if _SCALAR_FIRST not in _WARNED_ONCE:
        _WARNED_ONCE.add(_SCALAR_FIRST)
        listed = ", ".join(f"Tensor {t}" for t in tensors)
        warn_user(f"This overload of {name} is deprecated:\n\t{name}(Number {scalar}, {listed})\nConsider using one "
                  f"of the following signatures instead:\n\t{name}({listed}, *, Number {scalar} = 1)")
    return (*args[1:], args[0])


_warn_always = [False]  # one mutable cell: set_warn_always


def set_warn_always(b: bool) -> None:
    """With True, warnings minigrad gives once per process (PyTorch's TORCH_WARN_ONCE: the list of
    ndarrays to tensor, ...) are given every time, as torch.set_warn_always."""
    _warn_always[0] = bool(b)


def is_warn_always_enabled() -> bool:
    """Whether set_warn_always(True) is in force, as torch.is_warn_always_enabled."""
    return _warn_always[0]


def warn_user(message: str, category: type[Warning] = UserWarning, once: bool = False) -> None:
    """warnings.warn(message, category) attributed to the first caller outside minigrad (the user's
    line), however many minigrad frames lie between, as PyTorch's warnings from its core; with once,
    only the first time in the process (PyTorch's TORCH_WARN_ONCE) unless set_warn_always(True)."""
    if once and not _warn_always[0]:
        if message in _WARNED_ONCE:
            return
        _WARNED_ONCE.add(message)
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def numpy_aliases(fn: Any) -> Any:
    """Accept PyTorch's numpy-compatible keyword aliases axis= (dim=) and keepdims= (keepdim=) on fn."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs and ("axis" in kwargs or "keepdims" in kwargs):
            _rename_aliases(name, kwargs)
        return fn(*args, **kwargs)

    return wrapper


class Size(tuple):
    """PyTorch's torch.Size: a tuple of dimensions, what Tensor.shape and Tensor.size() return
    (slices and sums of it are plain tuples). print() and repr() show ``minigrad.Size([2, 3])``;
    an f-string or format() gives the tuple's ``(2, 3)``, the form minigrad's error messages use."""

    def __format__(self, spec: str) -> str:
        return format(tuple.__repr__(self), spec)

    def numel(self) -> int:
        """The number of elements a tensor of this size holds."""
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self) -> str:
        return f"minigrad.Size({list(self)})"


_default_float = [float32]  # set_default_dtype's choice (a list: one mutable cell)


def get_default_dtype() -> np.dtype:
    """The float dtype tensors made from Python floats, the creation functions and new layers get
    (float32 unless set_default_dtype changed it), as torch.get_default_dtype."""
    return _default_float[0]


def set_default_dtype(dtype: Any) -> None:
    """Make float64 (or float32 again) the default float dtype, as torch.set_default_dtype: Python
    floats, zeros/ones/rand/randn/arange/linspace/eye without dtype=, new layers' parameters and
    integer division then give it. A float32 tensor combined with a Python float stays float32."""
    dt = _normalize_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got {dt}")
    _default_float[0] = dt


class finfo:  # noqa: N801 (PyTorch's name)
    """Machine limits of a floating dtype (get_default_dtype() when none is given), as torch.finfo:
    bits, eps, max, min, tiny (= smallest_normal), resolution and dtype."""

    def __init__(self, type: Any = None) -> None:  # noqa: A002 (PyTorch's name)
        dt = get_default_dtype() if type is None else _normalize_dtype(type)
        if dt.kind != "f":
            raise TypeError(f"finfo() requires a floating point input type, got {dt}; use iinfo for integers")
        info = np.finfo(dt)
        self.dtype, self.bits = dt, int(info.bits)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)  # exactly 1e-06 (not float32's nearest), as PyTorch

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.tiny:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801 (PyTorch's name)
    """Limits of an integer dtype (int64, int32, int16, int8, uint8), as torch.iinfo: bits, max, min
    and dtype (bool is refused, as PyTorch)."""

    def __init__(self, type: Any) -> None:  # noqa: A002 (PyTorch's name)
        dt = _normalize_dtype(type)
        if dt.kind not in "iu":
            raise TypeError(f"{dt} is not supported by iinfo (integer dtypes only; use finfo for floats)")
        info = np.iinfo(dt)
        self.dtype, self.bits, self.max, self.min = dt, int(info.bits), int(info.max), int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def _check_int64_range(arr: np.ndarray) -> None:
    """OverflowError when an unsigned array holds values int64 (what it becomes) cannot."""
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise OverflowError(f"value {int(arr.max())} does not fit in int64, minigrad's integer dtype")


def _host_array(data: Any, dtype: Any = None) -> np.ndarray:
    """A new host array from Python data or an ndarray, with PyTorch's dtype rules:
    Python floats -> float32 (get_default_dtype()), ints -> int64; ndarrays keep the dtypes
    minigrad has (float32/float64, int64/int32/int16/int8, uint8, bool), other integer types
    become int64 and other floating types float32. Integers that int64 cannot hold raise
    OverflowError instead of wrapping."""
    arr = np.asarray(data)
    numeric = (numbers.Number, np.generic, np.ndarray)
    odd = [v for v in arr.flat if not isinstance(v, numeric)] if arr.dtype == object else []
    if odd:  # None, a dict, ... among the data: PyTorch's RuntimeError
        raise _DtypeError(f"Could not infer dtype of {type(odd[0]).__name__}")
    _check_int64_range(arr)
    if dtype is not None:
        with np.errstate(over="ignore"):  # floats beyond float32's range become +-inf quietly, as PyTorch's
            return np.array(arr, dtype=_normalize_dtype(dtype))
    arr = np.array(arr)
    if arr.dtype in _DTYPES and (isinstance(data, np.ndarray) or arr.dtype != float64):
        return arr
    if arr.dtype.kind in "iu":
        return arr.astype(int64)
    if arr.dtype.kind == "f":
        with np.errstate(over="ignore"):
            return arr.astype(float32 if isinstance(data, np.ndarray) else _default_float[0])
    raise TypeError(f"cannot make a tensor from {type(data).__name__} with dtype {arr.dtype}")


def _default_dtype_array(args: tuple, device: str) -> Any:
    """The array of torch.Tensor(*args) on device: sizes (ints or one Size; none: empty) give a
    zero-filled array, one sequence or array its values in the default float dtype."""
    dtype = get_default_dtype()
    backend = get_backend(device)
    sizes = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
    if all(isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) for n in sizes):
        shape = tuple(int(n) for n in sizes) if args else (0,)
        if any(n < 0 for n in shape):
            raise RuntimeError(f"Tensor(): trying to create a tensor with a negative dimension: {list(shape)}")
        return backend.full(shape, 0, dtype)
    if len(args) != 1:
        kinds = ", ".join(type(a).__name__ for a in args)
        raise TypeError(f"Tensor(): expected one sequence or array, or sizes as ints, got ({kinds})")
    data = args[0]
    if isinstance(data, (numbers.Number, np.generic, str, bytes)):
        raise TypeError(f"Tensor(): data must be a sequence (got {type(data).__name__}); "
                        "minigrad.tensor(x) makes a 0-d tensor")
    if device != "cpu" and not isinstance(data, np.ndarray) and hasattr(data, "dtype"):  # the device's own array
        return data if data.dtype == dtype else backend.astype(data, dtype)
    if type(data) is np.ndarray and data.dtype == dtype:
        host = data  # as torch.Tensor(ndarray) of the default dtype: no copy
    else:
        host = np.array(_host_array(data), dtype=dtype)
    return host if device == "cpu" else backend.from_numpy(host)


class _VersionCounter:
    """How many times a memory was changed in place. A tensor and its views share one, so
    backward can tell when a saved value changed through any of them. Being one per memory, it
    also carries share_memory_()'s mark (``shared``, left unset until then: no cost per op)."""

    __slots__ = ("value", "shared")

    def __init__(self) -> None:
        self.value = 0



# How __repr__ prints, as torch.set_printoptions sets it; PyTorch's profiles
_PRINT_PROFILES: dict[str, dict[str, Any]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}
_print_options: dict[str, Any] = {**_PRINT_PROFILES["default"], "sci_mode": None}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """How tensors print, as torch.set_printoptions: precision (digits after the point, at most),
    threshold (more elements than this are summarized), edgeitems (elements shown at each end of a
    summarized dimension), linewidth (characters per line); profile "default", "short" or "full"
    sets those four first (the options given then override it). sci_mode True prints floats in
    scientific notation, False never, None (also when not given, as PyTorch) by PyTorch's rules
    (values spanning more than 1000x, above 1e8, or fractions below 1e-4)."""
    if profile is not None:
        if profile not in _PRINT_PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {', '.join(map(repr, _PRINT_PROFILES))}, "
                             f"got {profile!r}")
        _print_options.update(_PRINT_PROFILES[profile])
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems, "linewidth": linewidth}
    _print_options.update({k: v for k, v in given.items() if v is not None})
    _print_options["sci_mode"] = sci_mode


def _float_formatter(array: np.ndarray, precision: int, sci_mode: bool | None) -> Any:
    """PyTorch's rules for printing float elements (torch/_tensor_str.py's _Formatter): whole
    numbers as "3.", others with `precision` decimals, scientific notation when the nonzero finite
    magnitudes span more than 1000x, exceed 1e8 or (not whole) fall below 1e-4; every element
    right-aligned to the widest."""
    finite = array[np.isfinite(array)]
    nonzero = finite[finite != 0].astype(np.float64)
    whole = bool(np.all(nonzero == np.ceil(nonzero)))
    sci = False
    if nonzero.size:
        low, high = np.abs(nonzero).min(), np.abs(nonzero).max()
        sci = high / low > 1000.0 or high > 1.0e8 or (not whole and low < 1.0e-4)
    if sci_mode is not None:
        sci = sci_mode

    def text(v: float) -> str:
        if sci:
            return f"{v:.{precision}e}"
        if whole:
            return f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        return f"{v:.{precision}f}"

    width = max((len(text(float(v))) for v in nonzero), default=1)
    return lambda v: text(float(v)).rjust(width)


def _array_text(array: np.ndarray) -> str:
    """array as __repr__ prints it (between "tensor(" and the extras), with the print options."""
    options = _print_options
    precision = int(options["precision"])
    formatter = None
    threshold = options["threshold"]
    shown = array
    if array.dtype.kind in "fb" and array.size > threshold:  # summarized: the format suits the elements shown
        edge = int(options["edgeitems"])
        for axis, n in enumerate(array.shape):
            if n > 2 * edge:
                shown = np.concatenate([shown.take(range(edge), axis), shown.take(range(n - edge, n), axis)], axis)
    if array.dtype.kind == "f":
        formatter = {"float_kind": _float_formatter(shown, precision, options["sci_mode"])}
    elif array.dtype.kind == "b":  # as PyTorch: padded to the widest shown ("False" only when one is shown)
        width = 5 if not shown.all() else 4
        formatter = {"bool": lambda v: str(bool(v)).rjust(width)}
    text = np.array2string(
        array,
        separator=", ",
        prefix="tensor(",
        precision=precision,
        threshold=sys.maxsize if threshold == math.inf else int(threshold),
        edgeitems=int(options["edgeitems"]),
        max_line_width=int(options["linewidth"]),
        formatter=formatter,
    )
    return text.replace(", ...,", ",  ...,")  # PyTorch's summarized rows show " ..." as an element


# PyTorch's legacy type names, for Tensor.type()
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor", "int32": "IntTensor",
               "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
               "bool": "BoolTensor"}
# the C++ names of the element types, which PyTorch's .grad setter prints
_CPP_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
                   "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}

# PyTorch's warnings, word for word
_NON_LEAF_GRAD = ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                  "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
                  "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor "
                  "by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 "
                  "for more information.")
_T_OF_ND = ("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated and it will "
            "throw an error in a future release. Consider `x.mT` to transpose batches of matrices or "
            "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.")
_T_OF_0D = "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases."


def _incomparable(other: Any) -> bool:
    """Whether a tensor == other is plain False, as in PyTorch: None, strings and other objects
    that are neither tensors, numbers nor array-like data."""
    return not isinstance(other, (Tensor, numbers.Number, np.ndarray, np.generic, list, tuple))


def _inplace_variant(op: str, name: str | None = None, zero_gradient: bool = False) -> Any:
    """The in-place method `name` (op + "_") of the out-of-place minigrad.functional.<op>:
    self = op(self, *args, **kwargs) in self's memory through Tensor._inplace, so versions, views
    and autograd behave as add_'s. zero_gradient: op's result (a comparison or logical op) is cast to
    self's dtype and recorded with a zero gradient, as PyTorch records eq_, logical_and_, ..."""
    name = name or op + "_"

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        fn = getattr(_F, op)

        def apply(s: Tensor, *a: Any) -> Tensor:
            out = fn(s, *a, **kwargs)
            return _F.with_zero_gradient(_F.cast(out, s.dtype), s, *a) if zero_gradient else out

        return self._inplace(name, apply, *args)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"{op}() in place, as torch.Tensor.{name}."
    return method


class Tensor:
    """An array on a device with optional gradient tracking.

    Called as a constructor it follows torch.Tensor (the legacy FloatTensor-style one):
    Tensor(data) copies a sequence or array as the default float dtype (an ndarray already of
    that dtype is used without copy), Tensor(2, 3) or Tensor(Size) is an uninitialised
    (zero-filled) tensor of that size, Tensor() is empty, and Tensor(t) for a Tensor t shares
    t's memory and keeps its dtype. requires_grad= and device= are accepted too. Use
    minigrad.tensor() to keep the data's own dtype (ints as int64), as torch.tensor().
    """

    # _view: (base, function taking this view from the base, base version then) for a view, else None
    # _grad_hooks, _post_accumulate_grad_hooks: a leaf's hooks, left unset until one is registered (see autograd)
    __slots__ = ("_data", "device", "_requires_grad", "_grad", "grad_fn", "_version_counter", "_view",
                 "_grad_hooks", "_post_accumulate_grad_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy scalars/arrays defer to Tensor's reflected operators

    def __init__(self, *args: Any, requires_grad: bool = False, device: str | None = None) -> None:
        if len(args) == 1 and isinstance(args[0], Tensor):
            if device is not None and resolve_device(device) != args[0].device:
                raise RuntimeError(f"Tensor(): cannot make a {device} tensor share a {args[0].device} tensor's memory")
            self._init(args[0], requires_grad, None)
        else:
            device = resolve_device(device)
            self._init(_default_dtype_array(args, device), requires_grad, device)

    @classmethod
    def _wrap(cls, data: Any, requires_grad: bool = False, device: str | None = None) -> Tensor:
        """minigrad's own constructor: a tensor around data in data's dtype (a device array or a
        supported ndarray without copy, a Tensor's memory shared, other host data converted by
        minigrad.tensor's rules and copied to the device)."""
        t = object.__new__(cls)
        t._init(data, requires_grad, device)
        return t

    def _init(self, data: Any, requires_grad: bool, device: str | None) -> None:
        counter = None
        if isinstance(data, Tensor):  # the same memory and so the same counter (off the tape: not a view)
            device, data, counter = data.device, data._data, data._version_counter
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
        self._grad = None
        self.grad_fn = None
        self._requires_grad = False
        self._version_counter = counter or _VersionCounter()
        self._view = None
        if requires_grad:
            self.requires_grad = True

    def __getstate__(self) -> tuple[dict | None, dict]:
        """Pickling (pickle, multiprocessing, copy): the attributes, less a view's link to its base
        (a local function; the array is saved on its own), so that views (a reshape's or an
        index's result) pickle as PyTorch's do, each coming back as a tensor of its own."""
        slots = {name: getattr(self, name) for name in Tensor.__slots__
                 if name != "__weakref__" and hasattr(self, name)}
        slots["_view"] = None
        return getattr(self, "__dict__", None) or None, slots

    @classmethod
    def _make(cls, data: Any, device: str) -> Tensor:
        """A result tensor around a backend array (no checks; used by every op)."""
        t = object.__new__(Tensor)
        if device == "cpu" and isinstance(data, (np.generic, float, int)):
            data = np.asarray(data)  # numpy reductions return scalars for 0-d results
        t._data = data
        t.device = device
        t._grad = None
        t.grad_fn = None
        t._requires_grad = False
        t._version_counter = _VersionCounter()
        t._view = None
        return t

    # --- attributes ------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's memory, off the tape and outside its version counting, as
        PyTorch's .data (``p.data -= lr * p.grad`` updates p untracked). Assigning replaces the
        memory; host data assigned to a tensor on another device is copied to that device."""
        return Tensor._make(self._data, self.device)

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
    def _version(self) -> int:
        """In-place changes so far of this tensor's memory (shared with its views), as in PyTorch."""
        return self._version_counter.value

    @property
    def grad(self) -> Tensor | None:
        """The gradient backward() accumulated (None before); reading it on a non-leaf tensor that
        does not retain its gradient warns, as PyTorch's: backward() never fills it."""
        if self._grad is None and self.grad_fn is not None and not self.retains_grad:
            warn_user(_NON_LEAF_GRAD)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        """Assign the gradient: None, or a tensor of self's dtype, device and shape (PyTorch's checks)."""
        if value is not None:
            _check_assigned_grad(self, value)
        self._grad = value

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
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        """Whether the tensor lives on the CUDA device."""
        return self.device == "cuda"

    @property
    def is_cpu(self) -> bool:
        """Whether the tensor lives on the CPU."""
        return self.device == "cpu"

    @property
    def layout(self) -> _mf.layout:
        """minigrad.strided: every minigrad tensor is dense (no sparse layouts), as torch.Tensor.layout."""
        return _mf.strided

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None) -> Size | int:
        """The shape (a Size), or the length of dimension dim."""
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        """Bytes per element, as PyTorch's element_size()."""
        return int(self.dtype.itemsize)

    @property
    def itemsize(self) -> int:
        """Bytes per element, as PyTorch's itemsize."""
        return int(self.dtype.itemsize)

    @property
    def nbytes(self) -> int:
        """Bytes the elements take (numel() * itemsize), as PyTorch's nbytes."""
        return self.numel() * self.itemsize

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating one (float32, float64)."""
        return self.dtype.kind == "f"

    def nelement(self) -> int:
        """numel() under PyTorch's older name."""
        return self.numel()

    def ndimension(self) -> int:
        """dim() under PyTorch's older name."""
        return self.dim()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # --- conversions ---------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a host numpy array (sharing memory on the CPU). As in PyTorch, a tensor
        that requires grad refuses (use detach().numpy()) unless force=True."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return get_backend(self.device).to_numpy(self._data)

    def _host(self) -> np.ndarray:
        """The values on the host, whether or not self requires grad."""
        return get_backend(self.device).to_numpy(self._data)

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._host().reshape(()).item()

    def tolist(self) -> Any:
        return self._host().tolist()

    def __float__(self) -> float:
        if self._requires_grad and _autograd.is_grad_enabled():  # PyTorch's TORCH_WARN_ONCE (not int(), item())
            warn_user(_FLOAT_OF_GRAD, once=True)
        return float(self._scalar())

    def __complex__(self) -> complex:
        if self._requires_grad and _autograd.is_grad_enabled():
            warn_user(_FLOAT_OF_GRAD, once=True)
        return complex(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def _scalar(self) -> Any:
        """item() for float() and int(), which refuse several elements with PyTorch's ValueError
        (item() itself raises a RuntimeError, as PyTorch's)."""
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __index__(self) -> int:
        """An integer tensor of one element as a Python index (``classes[logits.argmax()]``)."""
        if self.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """to(device), to(dtype), to(device, dtype) or to(other_tensor); differentiable. Returns self
        when nothing changes, unless copy=True. non_blocking is accepted for PyTorch code: copies
        between devices return when done. memory_format= lays the result out as contiguous(
        memory_format=) does (preserve_format, a converted copy keeping self's order)."""
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        copy = bool(kwargs.pop("copy", False))
        kwargs.pop("non_blocking", None)
        memory_format = kwargs.pop("memory_format", None)
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
        if dtype is not None and _normalize_dtype(dtype) != self.dtype:
            out = _F.cast(out, _normalize_dtype(dtype))
        if device is not None and resolve_device(device) != self.device:
            out = _F.to_device(out, resolve_device(device))
        if memory_format is not None and memory_format is not _mf.preserve_format:
            if out is self:
                return out.contiguous(memory_format) if not copy else out.clone(memory_format=memory_format)
            return _mf.apply_format("to", out, memory_format)
        if memory_format is not None and out is not self:
            out = _mf.apply_format("to", out, memory_format, like=self)
        return out.clone(memory_format=memory_format) if copy and out is self else out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        """A copy on the CUDA device (RuntimeError saying why when none is usable)."""
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(float32)

    def half(self) -> Tensor:
        """Not available: minigrad has no float16 (a clear TypeError where PyTorch converts)."""
        raise TypeError("half(): minigrad has no float16 dtype; its floating-point dtypes are float32 and float64")

    def bfloat16(self) -> Tensor:
        """Not available: minigrad has no bfloat16 (a clear TypeError where PyTorch converts)."""
        raise TypeError("bfloat16(): minigrad has no bfloat16 dtype; its floating-point dtypes are float32 and "
                        "float64")

    def double(self) -> Tensor:
        return self.to(float64)

    def long(self) -> Tensor:
        return self.to(int64)

    def int(self) -> Tensor:
        """This tensor as int32."""
        return self.to(int32)

    def short(self) -> Tensor:
        """This tensor as int16."""
        return self.to(int16)

    def char(self) -> Tensor:
        """This tensor as int8."""
        return self.to(int8)

    def bool(self) -> Tensor:
        return self.to(bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def type(self, dtype: Any = None) -> Any:
        """With a dtype, self converted to it (as to(dtype)); without, PyTorch's type name
        ("minigrad.FloatTensor", "minigrad.cuda.LongTensor", ...)."""
        if isinstance(dtype, str):  # a type name: "torch.FloatTensor", "minigrad.cuda.LongTensor", ...
            parts = dtype.split(".")
            by_name = {v: k for k, v in _TYPE_NAMES.items()}
            if len(parts) < 2 or parts[-1] not in by_name or parts[1:-1] not in ([], ["cuda"]):
                raise ValueError(f"type: unknown type name {dtype!r} (e.g. 'torch.FloatTensor')")
            return self.to("cuda" if "cuda" in parts[1:-1] else "cpu").to(by_name[parts[-1]])
        if isinstance(getattr(dtype, "dtype", None), np.dtype) and isinstance(dtype, type):  # minigrad.FloatTensor
            return self.to("cpu").to(dtype.dtype)
        if dtype is not None:
            return self.to(dtype)
        name = _TYPE_NAMES.get(self.dtype.name, self.dtype.name)
        return f"minigrad.{'cuda.' if self.device != 'cpu' else ''}{name}"

    def detach(self) -> Tensor:
        """The same array and version counter, cut from the tape (so not a view whose node could go stale)."""
        t = Tensor._make(self._data, self.device)
        t._version_counter = self._version_counter
        return t

    def detach_(self) -> Tensor:
        """self cut from the tape in place (a leaf that does not require grad), as torch.Tensor.detach_."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self, *, memory_format: _mf.memory_format | None = None) -> Tensor:
        """A copy that stays on the tape. Row-major unless memory_format is given (then laid out as
        PyTorch's clone does: preserve_format keeps a dense input's strides; see
        minigrad._memory_format for what a memory format changes in minigrad)."""
        return _F.clone(self, memory_format=memory_format)

    # --- new tensors like self (PyTorch's new_*): self's dtype and device unless given ---------
    def new_full(
        self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        """A tensor of size filled with fill_value."""
        dtype, device = self.dtype if dtype is None else dtype, self.device if device is None else device
        return _creation.full(size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """new_zeros(2, 3) or new_zeros((2, 3))."""
        return self.new_full(_creation._size(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self.new_full(_creation._size(size), 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """Uninitialised values."""
        dtype, device = self.dtype if dtype is None else dtype, self.device if device is None else device
        return _creation.empty(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """A copy of data (as minigrad.tensor), in self's dtype unless given."""
        dtype, device = self.dtype if dtype is None else dtype, self.device if device is None else device
        return _creation.tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)

    def is_contiguous(self, memory_format: _mf.memory_format = _mf.contiguous_format) -> bool:
        """Whether the memory holds the elements densely in row-major order, or in memory_format's
        order (channels_last: 4-D NHWC memory; channels_last_3d: 5-D NDHWC), as PyTorch's."""
        if memory_format is _mf.contiguous_format:  # the common call, first
            return get_backend(self.device).is_contiguous(self._data)
        memory_format = _mf.check_memory_format("is_contiguous", memory_format)
        if memory_format in (_mf.contiguous_format, _mf.preserve_format):
            return get_backend(self.device).is_contiguous(self._data)
        return _mf.is_contiguous_as(tuple(self.shape), self.stride(), memory_format)

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        """Elements between neighbours along each dimension (or along dim), as PyTorch's stride()."""
        if isinstance(self._data, np.ndarray):
            strides = tuple(s // self._data.itemsize for s in self._data.strides)
        else:  # device arrays are C-contiguous
            shape = self._data.shape
            strides = tuple(int(np.prod(shape[i + 1 :], dtype=np.int64)) for i in range(len(shape)))
        return strides if dim is None else strides[dim]

    def get_device(self) -> int:
        """-1 on the CPU, else the device index, as PyTorch's get_device()."""
        return -1 if self.device == "cpu" else 0

    def contiguous(self, memory_format: _mf.memory_format = _mf.contiguous_format) -> Tensor:
        """self when already contiguous in memory_format (row-major by default), else a copy so
        laid out, on the tape, as PyTorch's. channels_last needs a 4-D tensor, channels_last_3d a
        5-D one (RuntimeError otherwise); on the CUDA device, whose arrays are always row-major, a
        channels-last format is a hint that changes nothing (see minigrad._memory_format)."""
        if memory_format is _mf.contiguous_format:  # the common call, first (it runs per reshape of a view)
            return self if get_backend(self.device).is_contiguous(self._data) else _F.clone(self)
        memory_format = _mf.check_memory_format("contiguous", memory_format)
        if memory_format is _mf.preserve_format:
            memory_format = _mf.contiguous_format
        order = _mf.target_order("contiguous", memory_format, tuple(self.shape), self.stride())
        if self.is_contiguous(memory_format) or (order is not None and self.device != "cpu"):
            return self
        return _F.clone(self, memory_format=memory_format)

    # --- autograd --------------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into the .grad of every leaf that requires grad (with inputs,
        of those tensors only). gradient is required unless self has one element."""
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in .grad during backward."""
        _autograd.retain_grad(self)

    def register_hook(self, hook: Any) -> Any:
        """hook(grad) runs with this tensor's whole gradient in each backward (or autograd.grad);
        a tensor it returns replaces the gradient. Returns a handle whose remove() unregisters it.
        Only a tensor that requires grad takes hooks (RuntimeError otherwise), as in PyTorch."""
        return _autograd.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """hook(self) runs once per backward(), after this leaf's gradient of that pass is
        accumulated into .grad; returns a handle whose remove() unregisters it (as PyTorch)."""
        return _autograd.register_post_accumulate_grad_hook(self, hook)

    # --- in place ------------------------------------------------------------------------
    def _write(self, value: Any, index: Any = Ellipsis) -> None:
        """self[index] = value in self's memory (views see it); one more version."""
        be = get_backend(self.device)
        if self._data.size == 0:  # nothing to write (numpy refuses even that into a read-only view)
            self._version_counter.value += 1
            return
        if not be.writable(self._data):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to a single "
                "memory location (an expand()ed tensor); clone() it before writing to it"
            )
        _assign(be, self._data, index, value, "copy_" if index is Ellipsis else "index_put_")
        self._version_counter.value += 1

    def _inplace(self, name: str, op: Any, *args: Any) -> Tensor:
        """self = op(self, *args) in self's memory, as PyTorch's add_, mul_, +=, fill_, x[i] = v, ...

        When grad is on and self or an argument requires grad, the change is recorded: op runs on a
        stand-in holding self's old values (its node may save them) and self takes op's node. A
        view is changed through its base, which takes a node writing op's result into the view's
        place (PyTorch's CopySlices); the other views of that base pick the change up when next
        used. A leaf that requires grad (or a view of one) is refused outside no_grad, as in PyTorch."""
        if self._data.size and not get_backend(self.device).writable(self._data):
            self._write(None)  # raises, saying why
        recording = _autograd.is_grad_enabled() and (
            self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
        )
        if not recording:
            with _autograd.no_grad():
                result = op(self, *args)
            self._write(self._checked_result(name, result)._data)
            return self
        base, take = (self, None) if self._view is None else self._view[:2]
        self._refuse_leaf(name, base)
        old = Tensor._make(get_backend(base.device).copy(base._data), base.device)
        old.grad_fn, old._requires_grad = base.grad_fn, base._requires_grad
        if take is None:
            new = _F.cast(self._checked_result(name, op(old, *args)), self.dtype)
        else:
            changed = _F.cast(self._checked_result(name, op(take(old), *args)), self.dtype)
            new = _F.copy_slices(old, changed, take)
        base._write(new._data)
        _autograd._saved_output_is(new, base)
        base.grad_fn, base._requires_grad = new.grad_fn, True
        if take is not None:
            _autograd._refresh_view(self)
        return self

    def _refuse_leaf(self, name: str, base: Tensor) -> None:
        """RuntimeError when base (self, or the base self is a view of) is a leaf that requires
        grad: changing it in place with grad on is refused, as in PyTorch."""
        if base._requires_grad and base.grad_fn is None:
            kind = "a leaf tensor" if base is self else "a view of a leaf tensor"
            raise RuntimeError(
                f"{name}: {kind} that requires grad cannot be modified in place while grad is enabled; "
                "wrap the update in minigrad.no_grad()"
            )

    def _reshape_inplace(self, name: str, op: Any) -> Tensor:
        """self takes the shape op(self) gives (squeeze_, unsqueeze_: the same memory, a new shape)
        and, when recorded, its node; refused on a leaf that requires grad as _inplace is."""
        if _autograd.is_grad_enabled() and self._requires_grad:
            self._refuse_leaf(name, self if self._view is None else self._view[0])
        result = op(self)
        self._data = result._data
        if result.grad_fn is not None:
            self.grad_fn = result.grad_fn
        if self._view is not None:  # still taken from the same base, now through the new shape
            self._view = result._view
        return self

    def _checked_result(self, name: str, result: Tensor) -> Tensor:
        if result.shape != self.shape:
            raise RuntimeError(
                f"{name}: output with shape {self.shape} doesn't match the broadcast shape {result.shape}"
            )
        if not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise RuntimeError(
                f"{name}: result type {result.dtype} can't be cast to the desired output type {self.dtype}"
            )
        return result

    def _put(self, name: str, index: Any, value: Any) -> Tensor:
        """self[index] = value (broadcast, cast to self's dtype), in place; recorded as _inplace
        records, otherwise written straight into the indexed elements."""
        be = get_backend(self.device)
        node = _put_node_name(name, index, value)
        if not isinstance(value, Tensor):
            value = Tensor._make(be.from_numpy(np.asarray(value, dtype=self.dtype)), self.device)
        elif value.device != self.device:
            value = value.to(self.device)
        if _autograd.is_grad_enabled() and (self._requires_grad or value._requires_grad):
            # index_put reads a list as PyTorch's sequence of index tensors, one per dimension;
            # here a list is one index (x[[0, 2]] = v: rows 0 and 2).
            indices = (index,) if isinstance(index, list) else index
            self._inplace(name, lambda s, v: _F.index_put(s, indices, _F.cast(v, s.dtype)), value)
            # a view's base took PyTorch's CopySlices node; otherwise the node of what PyTorch ran
            return self if self._view is not None else _autograd.name_node(self, node)
        self._write(value._data, index)
        return self

    def zero_(self) -> Tensor:
        """Every element set to 0, in place, as torch.Tensor.zero_."""
        return self._put("zero_", Ellipsis, 0)

    def fill_(self, value: Any) -> Tensor:
        """Every element set to value, in place, as torch.Tensor.fill_."""
        return self._put("fill_", Ellipsis, value)

    def copy_(self, src: Any) -> Tensor:
        return self._put("copy_", Ellipsis, src)

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        """self += alpha * other (or PyTorch's deprecated add_(alpha, other))."""
        if isinstance(alpha, Tensor) and not isinstance(other, Tensor):
            other, alpha = _scalar_first("add_", "alpha", ("other",), (other, alpha))
        return self._inplace("add_", lambda s, o: _F.add(s, o, alpha=alpha), other)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        """self -= alpha * other (or PyTorch's deprecated sub_(alpha, other))."""
        if isinstance(alpha, Tensor) and not isinstance(other, Tensor):
            other, alpha = _scalar_first("sub_", "alpha", ("other",), (other, alpha))
        return self._inplace("sub_", lambda s, o: _F.sub(s, o, alpha=alpha), other)

    def mul_(self, other: Any) -> Tensor:
        """self *= other, as torch.Tensor.mul_."""
        return self._inplace("mul_", _F.mul, other)

    div_ = _inplace_variant("div")  # rounding_mode= too

    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace("pow_", _F.pow, exponent)

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        """clamp() in place, as torch.Tensor.clamp_."""
        return self._inplace("clamp_", _F.clamp, min, max)

    def relu_(self) -> Tensor:
        """relu() in place, as torch.Tensor.relu_."""
        return _F.relu(self, inplace=True)

    def scatter_(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
                 reduce: str | None = None) -> Tensor:
        """scatter() in place (reduce "add" or "multiply" accumulates), as torch.Tensor.scatter_."""
        return self._inplace("scatter_", lambda x, *args: _F.scatter(x, *args, value=value, reduce=reduce),
                             dim, index, src)

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        return self._inplace("masked_fill_", _F.masked_fill, mask, value)

    def floor_divide_(self, other: Any) -> Tensor:
        return self._inplace("floor_divide_", _F.floor_divide, other)

    def remainder_(self, other: Any) -> Tensor:
        return self._inplace("remainder_", _F.remainder, other)

    def fmod_(self, other: Any) -> Tensor:
        return self._inplace("fmod_", _F.fmod, other)

    def tril_(self, diagonal: int = 0) -> Tensor:
        return self._inplace("tril_", _F.tril, diagonal)

    def triu_(self, diagonal: int = 0) -> Tensor:
        return self._inplace("triu_", _F.triu, diagonal)

    def addcmul_(self, tensor1: Any, tensor2: Any, *deprecated: Tensor, value: Any = 1) -> Tensor:
        """self += value * tensor1 * tensor2 (or PyTorch's deprecated addcmul_(value, tensor1, tensor2))."""
        if deprecated:
            tensor1, tensor2, value = _scalar_first("addcmul_", "value", _ADDC, (tensor1, tensor2, *deprecated))
        return self._inplace("addcmul_", lambda s, t1, t2: _F.addcmul(s, t1, t2, value=value), tensor1, tensor2)

    def addcdiv_(self, tensor1: Any, tensor2: Any, *deprecated: Tensor, value: Any = 1) -> Tensor:
        """self += value * tensor1 / tensor2 (or PyTorch's deprecated addcdiv_(value, tensor1, tensor2))."""
        if deprecated:
            tensor1, tensor2, value = _scalar_first("addcdiv_", "value", _ADDC, (tensor1, tensor2, *deprecated))
        return self._inplace("addcdiv_", lambda s, t1, t2: _F.addcdiv(s, t1, t2, value=value), tensor1, tensor2)

    def lerp_(self, end: Tensor, weight: Any) -> Tensor:
        """self += weight * (end - self)."""
        return self._inplace("lerp_", _F.lerp, end, weight)

    def index_put_(self, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
        """self[indices] = values, or += with accumulate (repeated places accumulating), in place."""
        return self._inplace("index_put_", lambda s, v: _F.index_put(s, indices, v, accumulate), values)

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
        """self's slices at index along dim += alpha * source's."""
        return self._inplace("index_add_", lambda s, i, src: _F.index_add(s, dim, i, src, alpha=alpha), index, source)

    def index_copy_(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        return self._inplace("index_copy_", _F.index_copy, dim, index, source)

    def index_fill_(self, dim: int, index: Tensor, value: Any) -> Tensor:
        return self._inplace("index_fill_", _F.index_fill, dim, index, value)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return self._inplace("scatter_add_", _F.scatter_add, dim, index, src)

    def clamp_min_(self, min: float) -> Tensor:  # noqa: A002
        """clamp_min() in place, as torch.Tensor.clamp_min_."""
        return self._inplace("clamp_min_", _F.clamp_min, min)

    def clamp_max_(self, max: float) -> Tensor:  # noqa: A002
        """clamp_max() in place, as torch.Tensor.clamp_max_."""
        return self._inplace("clamp_max_", _F.clamp_max, max)

    def exp_(self) -> Tensor:
        """exp() in place, as torch.Tensor.exp_."""
        return self._inplace("exp_", _F.exp)

    def log_(self) -> Tensor:
        """log() in place, as torch.Tensor.log_."""
        return self._inplace("log_", _F.log)

    def sqrt_(self) -> Tensor:
        """sqrt() in place, as torch.Tensor.sqrt_."""
        return self._inplace("sqrt_", _F.sqrt)

    def abs_(self) -> Tensor:
        """abs() in place, as torch.Tensor.abs_."""
        return self._inplace("abs_", _F.abs)

    def neg_(self) -> Tensor:
        """neg() in place, as torch.Tensor.neg_."""
        return self._inplace("neg_", _F.neg)

    def sigmoid_(self) -> Tensor:
        """sigmoid() in place, as torch.Tensor.sigmoid_."""
        return self._inplace("sigmoid_", _F.sigmoid)

    def tanh_(self) -> Tensor:
        """tanh() in place, as torch.Tensor.tanh_."""
        return self._inplace("tanh_", _F.tanh)

    def floor_(self) -> Tensor:
        """floor() in place, as torch.Tensor.floor_."""
        return self._inplace("floor_", _F.floor)

    def ceil_(self) -> Tensor:
        """ceil() in place, as torch.Tensor.ceil_."""
        return self._inplace("ceil_", _F.ceil)

    def trunc_(self) -> Tensor:
        """trunc() in place, as torch.Tensor.trunc_."""
        return self._inplace("trunc_", _F.trunc)

    def round_(self, *, decimals: int = 0) -> Tensor:
        """round() in place, as torch.Tensor.round_."""
        return self._inplace("round_", lambda s: _F.round(s, decimals=decimals))

    @numpy_aliases
    def squeeze_(self, dim: int | tuple[int, ...] | None = None) -> Tensor:
        """squeeze() in place: self's size-1 dimensions (all, or dim) removed."""
        return self._reshape_inplace("squeeze_", lambda t: _F.squeeze(t, dim))

    @numpy_aliases
    def unsqueeze_(self, dim: int) -> Tensor:
        """unsqueeze() in place: a size-1 dimension inserted at dim."""
        return self._reshape_inplace("unsqueeze_", lambda t: _F.unsqueeze(t, dim))

    def random_(self, *bounds: int, to: int | None = None, generator: _random.Generator | None = None) -> Tensor:
        """Integers drawn uniformly from [from, to), as PyTorch's random_(from=0, to=None):
        random_(to), random_(from, to) or random_(from, to=to). Without to, from [from, the
        largest integer self's dtype holds exactly] (2**24 for float32, 2**53 for float64)."""
        if len(bounds) > 2 or (len(bounds) == 2 and to is not None):
            raise TypeError("random_: expected random_(to), random_(from, to) or random_(from=0, to=None)")
        if len(bounds) == 1 and to is None:
            low, high = 0, int(bounds[0])
        else:
            low = int(bounds[0]) if bounds else 0
            high = int(bounds[1]) if len(bounds) == 2 else None if to is None else int(to)
        if high is None:  # exclusive: one past the largest (int64's largest itself: 2**63 does not fit)
            if self.dtype.kind == "f":
                high = 2 ** (np.finfo(self.dtype).nmant + 1) + 1
            elif self.dtype.kind == "b":
                high = 2
            else:
                high = int(np.iinfo(self.dtype).max) + (self.dtype != int64)
        if low >= high:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        values = get_backend(self.device).randint(_random.rng(generator), low, high, self.shape)
        return self._put("random_", Ellipsis, _F.cast(Tensor._make(values, self.device), self.dtype))

    def bernoulli_(self, p: float | Tensor = 0.5, *, generator: _random.Generator | None = None) -> Tensor:
        """self filled with 1 with probability p (a number, or a tensor broadcast to self's shape),
        else 0, from minigrad's seeded generator (or ``generator``)."""
        if isinstance(p, Tensor):
            probabilities = _F.expand(p.detach(), self.shape)
        elif not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        else:
            probabilities = _creation.full(self.shape, p, dtype=self.dtype if self.is_floating_point() else None,
                                           device=self.device)
        values = _creation.bernoulli(probabilities, generator=generator)
        return self._put("bernoulli_", Ellipsis, _F.cast(values, self.dtype))

    # Python's augmented assignment is in place, as in PyTorch (`p -= lr * p.grad` updates p)
    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ifloordiv__ = floor_divide_
    __imod__ = remainder_
    bitwise_and_, bitwise_or_ = _inplace_variant("bitwise_and"), _inplace_variant("bitwise_or")
    bitwise_xor_, bitwise_not_ = _inplace_variant("bitwise_xor"), _inplace_variant("bitwise_not")
    bitwise_left_shift_, bitwise_right_shift_ = _inplace_variant("bitwise_left_shift"), _inplace_variant(
        "bitwise_right_shift")
    __iand__, __ior__, __ixor__ = bitwise_and_, bitwise_or_, bitwise_xor_
    __ilshift__, __irshift__ = bitwise_left_shift_, bitwise_right_shift_

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: _random.Generator | None = None) -> Tensor:
        values = get_backend(self.device).uniform(_random.rng(generator), self.shape, a, b, self.dtype)
        return self._put("uniform_", Ellipsis, Tensor._make(values, self.device))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: _random.Generator | None = None) -> Tensor:
        values = get_backend(self.device).normal(_random.rng(generator), self.shape, mean, std, self.dtype)
        return self._put("normal_", Ellipsis, Tensor._make(values, self.device))

    def __setitem__(self, index: Any, value: Any) -> None:
        self._put("__setitem__", _F._index_arrays(index), value)

    # --- operators --------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _F.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _F.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _F.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _F.rsub(self, other)

    def __mul__(self, other: Any) -> Tensor:
        return _F.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _F.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _F.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        # PyTorch's is other * self.reciprocal(): its node a MulBackward0
        return _autograd.name_node(_F.div(other, self), "MulBackward0")

    def __floordiv__(self, other: Any) -> Tensor:
        return _F.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _F.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _F.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _F.remainder(other, self)

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
        return _F.positive(self)

    def __abs__(self) -> Tensor:
        return _F.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _F.index(self, index)

    def __eq__(self, other: Any) -> Tensor | bool:  # type: ignore[override]
        if _incomparable(other):
            return False
        return _F.compare("eq", self, other)

    def __ne__(self, other: Any) -> Tensor | bool:  # type: ignore[override]
        if _incomparable(other):
            return True
        return _F.compare("ne", self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _F.compare("lt", self, other)

    def __le__(self, other: Any) -> Tensor:
        return _F.compare("le", self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _F.compare("gt", self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _F.compare("ge", self, other)

    # & | ^ ~ << >>: bitwise, as PyTorch's (logical for bool tensors; floating tensors are an error)
    def __and__(self, other: Any) -> Tensor:
        return _F.bitwise_and(self, other)

    def __rand__(self, other: Any) -> Tensor:
        return _F.bitwise_and(other, self)

    def __or__(self, other: Any) -> Tensor:
        return _F.bitwise_or(self, other)

    def __ror__(self, other: Any) -> Tensor:
        return _F.bitwise_or(other, self)

    def __xor__(self, other: Any) -> Tensor:
        return _F.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return _F.bitwise_xor(other, self)

    def __lshift__(self, other: Any) -> Tensor:
        return _F.bitwise_left_shift(self, other)

    def __rlshift__(self, other: Any) -> Tensor:
        return _F.bitwise_left_shift(other, self)

    def __rshift__(self, other: Any) -> Tensor:
        return _F.bitwise_right_shift(self, other)

    def __rrshift__(self, other: Any) -> Tensor:
        return _F.bitwise_right_shift(other, self)

    def __invert__(self) -> Tensor:
        return _F.bitwise_not(self)

    __hash__ = object.__hash__  # identity, as PyTorch: tensors can key dicts and sets

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # --- methods forwarding to functional --------------------------------------------------
    def eq(self, other: Any) -> Tensor:
        """self == other elementwise (bool), as torch.Tensor.eq."""
        return _F.compare("eq", self, other)

    def ne(self, other: Any) -> Tensor:
        """self != other elementwise (bool), as torch.Tensor.ne."""
        return _F.compare("ne", self, other)

    def lt(self, other: Any) -> Tensor:
        """self < other elementwise (bool), as torch.Tensor.lt."""
        return _F.compare("lt", self, other)

    def le(self, other: Any) -> Tensor:
        """self <= other elementwise (bool), as torch.Tensor.le."""
        return _F.compare("le", self, other)

    def gt(self, other: Any) -> Tensor:
        """self > other elementwise (bool), as torch.Tensor.gt."""
        return _F.compare("gt", self, other)

    def ge(self, other: Any) -> Tensor:
        """self >= other elementwise (bool), as torch.Tensor.ge."""
        return _F.compare("ge", self, other)

    def add(self, other: Any, *deprecated: Tensor, alpha: Any = 1) -> Tensor:
        """self + alpha * other (or PyTorch's deprecated add(alpha, other))."""
        if deprecated:
            other, alpha = _scalar_first("add", "alpha", ("other",), (other, *deprecated))
        return _F.add(self, other, alpha=alpha)

    def sub(self, other: Any, *deprecated: Tensor, alpha: Any = 1) -> Tensor:
        """self - alpha * other (or PyTorch's deprecated sub(alpha, other))."""
        if deprecated:
            other, alpha = _scalar_first("sub", "alpha", ("other",), (other, *deprecated))
        return _F.sub(self, other, alpha=alpha)

    def mul(self, other: Any) -> Tensor:
        """self * other, broadcasting, as torch.Tensor.mul."""
        return _F.mul(self, other)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self / other (rounding_mode "trunc" or "floor": the quotient rounded), as torch.Tensor.div."""
        return _F.div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent: Any) -> Tensor:
        return _F.pow(self, exponent)

    def matmul(self, other: Tensor) -> Tensor:
        return _F.matmul(self, other)

    def mm(self, mat2: Tensor) -> Tensor:
        """The matrix product of two 2-D tensors (matmul without broadcasting)."""
        return _F.mm(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        """The batched matrix product of two 3-D tensors."""
        return _F.bmm(self, mat2)

    def outer(self, vec2: Tensor) -> Tensor:
        """The outer product of two 1-D tensors, as torch.Tensor.outer."""
        return _F.outer(self, vec2)

    def tril(self, diagonal: int = 0) -> Tensor:
        return _F.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return _F.triu(self, diagonal)

    def diag(self, diagonal: int = 0) -> Tensor:
        return _F.diag(self, diagonal)

    def square(self) -> Tensor:
        """self * self, as torch.Tensor.square."""
        return _F.square(self)

    def neg(self) -> Tensor:
        """-self, as torch.Tensor.neg."""
        return _F.neg(self)

    def exp(self) -> Tensor:
        return _F.exp(self)

    def log(self) -> Tensor:
        return _F.log(self)

    def sqrt(self) -> Tensor:
        return _F.sqrt(self)

    def sin(self) -> Tensor:
        return _F.sin(self)

    def cos(self) -> Tensor:
        return _F.cos(self)

    def tan(self) -> Tensor:
        return _F.tan(self)

    def asin(self) -> Tensor:
        """Arcsine, as torch.Tensor.asin."""
        return _F.asin(self)

    def acos(self) -> Tensor:
        """Arccosine, as torch.Tensor.acos."""
        return _F.acos(self)

    def atan(self) -> Tensor:
        """Arctangent, as torch.Tensor.atan."""
        return _F.atan(self)

    def sinh(self) -> Tensor:
        return _F.sinh(self)

    def cosh(self) -> Tensor:
        return _F.cosh(self)

    def expm1(self) -> Tensor:
        return _F.expm1(self)

    def log1p(self) -> Tensor:
        return _F.log1p(self)

    def log2(self) -> Tensor:
        return _F.log2(self)

    def log10(self) -> Tensor:
        return _F.log10(self)

    def erf(self) -> Tensor:
        return _F.erf(self)

    def erfc(self) -> Tensor:
        """1 - erf(x), as torch.Tensor.erfc."""
        return _F.erfc(self)

    def erfinv(self) -> Tensor:
        """The inverse error function, as torch.Tensor.erfinv."""
        return _F.erfinv(self)

    def lgamma(self) -> Tensor:
        """log |Gamma(x)|, as torch.Tensor.lgamma."""
        return _F.lgamma(self)

    def digamma(self) -> Tensor:
        """psi(x), the derivative of lgamma, as torch.Tensor.digamma."""
        return _F.digamma(self)

    def polygamma(self, n: int) -> Tensor:
        """The n-th derivative of digamma, as torch.Tensor.polygamma(n)."""
        return _F.polygamma(n, self)

    def mvlgamma(self, p: int) -> Tensor:
        """The multivariate log-gamma function of dimension p, as torch.Tensor.mvlgamma."""
        return _F.mvlgamma(self, p)

    def i0(self) -> Tensor:
        """The modified Bessel function of order 0, as torch.Tensor.i0."""
        return _F.i0(self)

    def polygamma_(self, n: int) -> Tensor:
        """polygamma(n) in place, as torch.Tensor.polygamma_."""
        return self._inplace("polygamma_", lambda s: _F.polygamma(n, s))

    def mvlgamma_(self, p: int) -> Tensor:
        """mvlgamma(p) in place, as torch.Tensor.mvlgamma_."""
        return self._inplace("mvlgamma_", lambda s: _F.mvlgamma(s, p))

    def sign(self) -> Tensor:
        return _F.sign(self)

    def abs(self) -> Tensor:
        """|self| elementwise, as torch.Tensor.abs."""
        return _F.abs(self)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        return _F.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, min: float) -> Tensor:  # noqa: A002
        return _F.clamp_min(self, min)

    def clamp_max(self, max: float) -> Tensor:  # noqa: A002
        return _F.clamp_max(self, max)

    def addcmul(self, tensor1: Any, tensor2: Any, *deprecated: Tensor, value: Any = 1) -> Tensor:
        """self + value * tensor1 * tensor2 (or PyTorch's deprecated addcmul(value, tensor1, tensor2))."""
        if deprecated:
            tensor1, tensor2, value = _scalar_first("addcmul", "value", _ADDC, (tensor1, tensor2, *deprecated))
        return _F.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1: Any, tensor2: Any, *deprecated: Tensor, value: Any = 1) -> Tensor:
        """self + value * tensor1 / tensor2 (or PyTorch's deprecated addcdiv(value, tensor1, tensor2))."""
        if deprecated:
            tensor1, tensor2, value = _scalar_first("addcdiv", "value", _ADDC, (tensor1, tensor2, *deprecated))
        return _F.addcdiv(self, tensor1, tensor2, value=value)

    def lerp(self, end: Tensor, weight: Any) -> Tensor:
        """self + weight * (end - self)."""
        return _F.lerp(self, end, weight)

    def maximum(self, other: Tensor) -> Tensor:
        return _F.maximum(self, other)

    def minimum(self, other: Tensor) -> Tensor:
        return _F.minimum(self, other)

    def reciprocal(self) -> Tensor:
        return _F.reciprocal(self)

    def rsqrt(self) -> Tensor:
        return _F.rsqrt(self)

    def floor(self) -> Tensor:
        return _F.floor(self)

    def ceil(self) -> Tensor:
        return _F.ceil(self)

    def trunc(self) -> Tensor:
        """Each element rounded toward zero, as torch.Tensor.trunc."""
        return _F.trunc(self)

    def round(self, *, decimals: int = 0) -> Tensor:
        return _F.round(self, decimals=decimals)

    def isnan(self) -> Tensor:
        return _F.isnan(self)

    def isinf(self) -> Tensor:
        return _F.isinf(self)

    def isfinite(self) -> Tensor:
        return _F.isfinite(self)

    def floor_divide(self, other: Any) -> Tensor:
        return _F.floor_divide(self, other)

    def remainder(self, other: Any) -> Tensor:
        return _F.remainder(self, other)

    def fmod(self, other: Any) -> Tensor:
        return _F.fmod(self, other)

    def relu(self) -> Tensor:
        return _F.relu(self)

    def sigmoid(self) -> Tensor:
        return _F.sigmoid(self)

    def tanh(self) -> Tensor:
        return _F.tanh(self)

    @numpy_aliases
    def softmax(self, dim: int, dtype: Any = None) -> Tensor:
        return _F.softmax(self, dim, dtype=dtype)

    @numpy_aliases
    def log_softmax(self, dim: int, dtype: Any = None) -> Tensor:
        return _F.log_softmax(self, dim, dtype=dtype)

    @numpy_aliases
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return _F.sum(self, dim, keepdim, dtype=dtype)

    @numpy_aliases
    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return _F.mean(self, dim, keepdim, dtype=dtype)

    @numpy_aliases
    def nansum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return _F.nansum(self, dim, keepdim, dtype=dtype)

    @numpy_aliases
    def nanmean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return _F.nanmean(self, dim, keepdim, dtype=dtype)

    @numpy_aliases
    def max(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Any:
        """The largest element, (values, indices) over dim, or max(other): the elementwise maximum."""
        return _F.max(self, dim, keepdim)

    @numpy_aliases
    def min(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Any:
        """The smallest element, (values, indices) over dim, or min(other): the elementwise minimum."""
        return _F.min(self, dim, keepdim)

    @numpy_aliases
    def amax(self, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
        return _F.amax(self, dim, keepdim)

    @numpy_aliases
    def amin(self, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
        return _F.amin(self, dim, keepdim)

    @numpy_aliases
    def logsumexp(self, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
        return _F.logsumexp(self, dim, keepdim)

    @numpy_aliases
    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return _F.prod(self, dim, keepdim, dtype=dtype)

    @numpy_aliases
    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        return _F.cumsum(self, dim, dtype=dtype)

    @numpy_aliases
    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        return _F.cumprod(self, dim, dtype=dtype)

    @numpy_aliases
    def logcumsumexp(self, dim: int) -> Tensor:
        """Running log(sum(exp(self))) along dim (see minigrad.logcumsumexp)."""
        return _F.logcumsumexp(self, dim)

    @numpy_aliases
    def cummax(self, dim: int) -> Any:
        """(values, indices) of the running maximum along dim."""
        return _F.cummax(self, dim)

    @numpy_aliases
    def cummin(self, dim: int) -> Any:
        """(values, indices) of the running minimum along dim."""
        return _F.cummin(self, dim)

    @numpy_aliases
    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> Any:
        """(min, max) of all elements or over dim."""
        return _F.aminmax(self, dim=dim, keepdim=keepdim)

    def trace(self) -> Tensor:
        return _F.trace(self)

    @numpy_aliases
    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, **kwargs: Any) -> Tensor:
        return _F.var(self, dim, unbiased, keepdim, **kwargs)

    @numpy_aliases
    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, **kwargs: Any) -> Tensor:
        return _F.std(self, dim, unbiased, keepdim, **kwargs)

    def norm(self, p: float | str = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
        return _F.norm(self, p, dim, keepdim)

    @numpy_aliases
    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _F.all(self, dim, keepdim)

    @numpy_aliases
    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return _F.any(self, dim, keepdim)

    @numpy_aliases
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        return _F.sort(self, dim, descending, stable)

    @numpy_aliases
    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return _F.argsort(self, dim, descending, stable)

    @numpy_aliases
    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        return _F.topk(self, k, dim, largest, sorted)

    def equal(self, other: Tensor) -> bool:
        return _F.equal(self, other)

    def isclose(self, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
        return _F.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
        return _F.allclose(self, other, rtol, atol, equal_nan)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        return _F.gather(self, dim, index)

    def take(self, index: Tensor) -> Tensor:
        return _F.take(self, index)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        return _F.take_along_dim(self, indices, dim)

    def scatter(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> Tensor:
        """A copy with src (or value) written at index along dim, as torch.Tensor.scatter."""
        return _F.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return _F.scatter_add(self, dim, index, src)

    def index_put(self, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
        """A copy of self with values written (or added, accumulate) at self[indices]."""
        return _F.index_put(self, indices, values, accumulate)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
        return _F.index_add(self, dim, index, source, alpha=alpha)

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        return _F.index_copy(self, dim, index, source)

    def index_fill(self, dim: int, index: Tensor, value: Any) -> Tensor:
        return _F.index_fill(self, dim, index, value)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return _F.masked_fill(self, mask, value)

    def masked_select(self, mask: Tensor) -> Tensor:
        return _F.masked_select(self, mask)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        return _F.nonzero(self, as_tuple=as_tuple)

    def bernoulli(self) -> Tensor:
        """0/1 samples with probabilities self (minigrad's seeded generator)."""
        return _creation.bernoulli(self)

    def multinomial(self, num_samples: int, replacement: bool = False) -> Tensor:
        return _creation.multinomial(self, num_samples, replacement)

    def where(self, condition: Tensor, other: Any) -> Tensor:
        return _F.where(condition, self, other)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along dim (of split_size each, or of the given sizes), as torch.Tensor.split."""
        return _F.split(self, split_size, dim)

    @numpy_aliases
    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return _F.tensor_split(self, indices_or_sections, dim)

    @numpy_aliases
    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most chunks pieces along dim, as torch.Tensor.chunk."""
        return _F.chunk(self, chunks, dim)

    def flip(self, *dims: Any) -> Tensor:
        """flip(0, 1) or flip((0, 1))."""
        return _F.flip(self, _F._shape_args(dims))

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        return _F.roll(self, shifts, dims)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return _F.narrow(self, dim, start, length)

    @numpy_aliases
    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return _F.unbind(self, dim)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        return _F.index_select(self, dim, index)

    def repeat(self, *sizes: Any) -> Tensor:
        return _F.repeat(self, _F._shape_args(sizes))

    def repeat_interleave(self, repeats: Any, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
        return _F.repeat_interleave(self, repeats, dim, output_size=output_size)

    @numpy_aliases
    def diff(self, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None) -> Tensor:
        return _F.diff(self, n, dim, prepend, append)

    @numpy_aliases
    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median of all elements, or (values, indices) along dim."""
        return _F.median(self, dim, keepdim)

    @numpy_aliases
    def nanmedian(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median of the numbers (NaNs left out), or (values, indices) along dim."""
        return _F.nanmedian(self, dim, keepdim)

    @numpy_aliases
    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """(values, indices) of the k-th smallest element along dim."""
        return _F.kthvalue(self, k, dim, keepdim)

    @numpy_aliases
    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """(values, indices) of the most frequent value along dim."""
        return _F.mode(self, dim, keepdim)

    @numpy_aliases
    def quantile(
        self, q: float | Tensor, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"
    ) -> Tensor:
        return _F.quantile(self, q, dim, keepdim, interpolation=interpolation)

    @numpy_aliases
    def nanquantile(
        self, q: float | Tensor, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"
    ) -> Tensor:
        return _F.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
        return _F.histc(self, bins, min, max)

    def nan_to_num(self, nan: float | None = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        return _F.nan_to_num(self, nan, posinf, neginf)

    def frac(self) -> Tensor:
        return _F.frac(self)

    def logical_not(self) -> Tensor:
        return _F.logical_not(self)

    def logical_and(self, other: Any) -> Tensor:
        return _F.logical_and(self, other)

    def logical_or(self, other: Any) -> Tensor:
        return _F.logical_or(self, other)

    def logical_xor(self, other: Any) -> Tensor:
        return _F.logical_xor(self, other)

    def signbit(self) -> Tensor:
        return _F.signbit(self)

    def true_divide(self, other: Any) -> Tensor:
        """self / other (as div)."""
        return _F.div(self, other)

    def fmax(self, other: Tensor) -> Tensor:
        return _F.fmax(self, other)

    def fmin(self, other: Tensor) -> Tensor:
        return _F.fmin(self, other)

    def logaddexp(self, other: Tensor) -> Tensor:
        return _F.logaddexp(self, other)

    def hypot(self, other: Tensor) -> Tensor:
        return _F.hypot(self, other)

    def logit(self, eps: float | None = None) -> Tensor:
        return _F.logit(self, eps)

    def xlogy(self, other: Any) -> Tensor:
        return _F.xlogy(self, other)

    def deg2rad(self) -> Tensor:
        return _F.deg2rad(self)

    def rad2deg(self) -> Tensor:
        return _F.rad2deg(self)

    def dot(self, other: Tensor) -> Tensor:
        return _F.dot(self, other)

    def mv(self, vec: Tensor) -> Tensor:
        return _F.mv(self, vec)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * (mat1 @ mat2)."""
        return _F.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        return _F.cross(self, other, dim)

    def kron(self, other: Tensor) -> Tensor:
        return _F.kron(self, other)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return _F.diagonal(self, offset, dim1, dim2)

    def tile(self, *dims: Any) -> Tensor:
        """tile(2, 3) or tile((2, 3))."""
        return _F.tile(self, _F._shape_args(dims))

    def select(self, dim: int, index: int) -> Tensor:
        return _F.select(self, dim, index)

    def argwhere(self) -> Tensor:
        return _F.argwhere(self)

    @numpy_aliases
    def count_nonzero(self, dim: int | Sequence[int] | None = None) -> Tensor:
        return _F.count_nonzero(self, dim)

    def unique(
        self,
        sorted: bool = True,  # noqa: A002 (PyTorch's name)
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,
    ) -> Any:
        return _F.unique(self, sorted, return_inverse, return_counts, dim)

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        return _F.bincount(self, weights, minlength)

    @numpy_aliases
    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _F.argmax(self, dim, keepdim)

    @numpy_aliases
    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _F.argmin(self, dim, keepdim)

    def reshape(self, *shape: Any) -> Tensor:
        return _F.reshape(self, _F._shape_args(shape))

    def view(self, *shape: Any) -> Tensor:
        """self with a new shape, sharing its memory, as torch.Tensor.view: a RuntimeError where
        the strides do not allow that (a transposed or sliced tensor, say), where reshape would
        copy; reshape() is the one to call there."""
        out = _F.reshape(self, _F._shape_args(shape))
        if _is_copy(out, self):
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return _autograd.name_node(out, "ViewBackward0")  # reshape names a view of a strided input otherwise

    def view_as(self, other: Tensor) -> Tensor:
        return _F.reshape(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return _F.reshape(self, other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return _F.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        return _F.unflatten(self, dim, sizes)

    @numpy_aliases
    def squeeze(self, dim: int | tuple[int, ...] | None = None) -> Tensor:
        return _F.squeeze(self, dim)

    @numpy_aliases
    def unsqueeze(self, dim: int) -> Tensor:
        return _F.unsqueeze(self, dim)

    def expand(self, *sizes: Any) -> Tensor:
        return _F.expand(self, _F._shape_args(sizes))

    def expand_as(self, other: Tensor) -> Tensor:
        return _F.expand(self, other.shape)

    def broadcast_to(self, size: Sequence[int]) -> Tensor:
        return _F.broadcast_to(self, size)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return _F.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        return _F.permute(self, _F._shape_args(dims))

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        return _F.movedim(self, source, destination)

    moveaxis = movedim

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return _F.swapaxes(self, axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        return _F.swapdims(self, dim0, dim1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got shape {self.shape}")
        # a 0-D or 1-D tensor's transpose is a new view of it (not itself), as PyTorch's
        out = _F.permute(self, tuple(range(self.ndim))) if self.ndim < 2 else _F.transpose(self, 0, 1)
        return _autograd.name_node(out, "TBackward0")

    @property
    def T(self) -> Tensor:  # noqa: N802
        """The dims reversed; deprecated (a warning, once) for other than 2 dims, as PyTorch's."""
        if self.ndim != 2:
            warn_user(_T_OF_0D if self.ndim == 0 else _T_OF_ND, once=True)
        return _F.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        return _F.transpose(self, -2, -1)

    # --- PyTorch's other methods -------------------------------------------------------------------
    # elementwise (aliases share the function object, so its docstring)
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
    multiply, subtract, divide, negative, absolute, fix = mul, sub, div, neg, abs, trunc
    arcsin, arccos, arctan = asin, acos, atan

    def asinh(self) -> Tensor:
        """Inverse hyperbolic sine, as torch.Tensor.asinh."""
        return _F.asinh(self)

    def acosh(self) -> Tensor:
        """Inverse hyperbolic cosine, as torch.Tensor.acosh."""
        return _F.acosh(self)

    def atanh(self) -> Tensor:
        """Inverse hyperbolic tangent, as torch.Tensor.atanh."""
        return _F.atanh(self)

    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def atan2(self, other: Any) -> Tensor:
        """The angle of (other, self), as torch.Tensor.atan2."""
        return _F.atan2(self, other)

    arctan2 = atan2

    def exp2(self) -> Tensor:
        """2 ** self, as torch.Tensor.exp2."""
        return _F.exp2(self)

    def sinc(self) -> Tensor:
        """sin(pi x) / (pi x) (1 at 0), as torch.Tensor.sinc."""
        return _F.sinc(self)

    def sgn(self) -> Tensor:
        """sign() (minigrad's tensors are real), as torch.Tensor.sgn."""
        return _F.sign(self)

    def positive(self) -> Tensor:
        """self (an error for bool), as torch.Tensor.positive."""
        return _F.positive(self)

    def copysign(self, other: Any) -> Tensor:
        """|self| with other's sign, as torch.Tensor.copysign."""
        return _F.copysign(self, other)

    def heaviside(self, values: Tensor) -> Tensor:
        """The Heaviside step of self (values at 0), as torch.Tensor.heaviside."""
        return _F.heaviside(self, values)

    def float_power(self, exponent: Any) -> Tensor:
        """self ** exponent in float64, as torch.Tensor.float_power."""
        return _F.float_power(self, exponent)

    def logaddexp2(self, other: Tensor) -> Tensor:
        """log2(2**self + 2**other), as torch.Tensor.logaddexp2."""
        return _F.logaddexp2(self, other)

    def ldexp(self, other: Tensor) -> Tensor:
        """self * 2 ** other, as torch.Tensor.ldexp."""
        return _F.ldexp(self, other)

    def frexp(self) -> Any:
        """(mantissa, exponent), as torch.Tensor.frexp."""
        return _F.frexp(self)

    def nextafter(self, other: Any) -> Tensor:
        """The next float after self toward other, as torch.Tensor.nextafter."""
        return _F.nextafter(self, other)

    def gcd(self, other: Any) -> Tensor:
        """Greatest common divisor of integer tensors, as torch.Tensor.gcd."""
        return _F.gcd(self, other)

    def lcm(self, other: Any) -> Tensor:
        """Least common multiple of integer tensors, as torch.Tensor.lcm."""
        return _F.lcm(self, other)

    def bitwise_and(self, other: Any) -> Tensor:
        """self & other, as torch.Tensor.bitwise_and."""
        return _F.bitwise_and(self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        """self | other, as torch.Tensor.bitwise_or."""
        return _F.bitwise_or(self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        """self ^ other, as torch.Tensor.bitwise_xor."""
        return _F.bitwise_xor(self, other)

    def bitwise_not(self) -> Tensor:
        """~self, as torch.Tensor.bitwise_not."""
        return _F.bitwise_not(self)

    def bitwise_left_shift(self, other: Any) -> Tensor:
        """self << other, as torch.Tensor.bitwise_left_shift."""
        return _F.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        """self >> other, as torch.Tensor.bitwise_right_shift."""
        return _F.bitwise_right_shift(self, other)

    def isposinf(self) -> Tensor:
        """Where self is +inf, as torch.Tensor.isposinf."""
        return _F.isposinf(self)

    def isneginf(self) -> Tensor:
        """Where self is -inf, as torch.Tensor.isneginf."""
        return _F.isneginf(self)

    def hardshrink(self, lambd: float = 0.5) -> Tensor:
        """nn.functional.hardshrink(self, lambd), as torch.Tensor.hardshrink."""
        from minigrad.nn import functional

        return functional.hardshrink(self, lambd)

    def prelu(self, weight: Tensor) -> Tensor:
        """nn.functional.prelu(self, weight), as torch.Tensor.prelu."""
        from minigrad.nn import functional

        return functional.prelu(self, weight)

    def isreal(self) -> Tensor:
        """True everywhere (real dtypes), as torch.Tensor.isreal."""
        return _F.isreal(self)

    # in place: one helper (_inplace_variant) over the out-of-place ops
    sin_, cos_, tan_ = _inplace_variant("sin"), _inplace_variant("cos"), _inplace_variant("tan")
    asin_, acos_, atan_ = _inplace_variant("asin"), _inplace_variant("acos"), _inplace_variant("atan")
    sinh_, cosh_ = _inplace_variant("sinh"), _inplace_variant("cosh")
    asinh_, acosh_, atanh_ = _inplace_variant("asinh"), _inplace_variant("acosh"), _inplace_variant("atanh")
    arcsin_, arccos_, arctan_ = asin_, acos_, atan_
    arcsinh_, arccosh_, arctanh_ = asinh_, acosh_, atanh_
    atan2_ = arctan2_ = _inplace_variant("atan2")
    exp2_, expm1_ = _inplace_variant("exp2"), _inplace_variant("expm1")
    log2_, log10_, log1p_ = _inplace_variant("log2"), _inplace_variant("log10"), _inplace_variant("log1p")
    erf_, sinc_, logit_ = _inplace_variant("erf"), _inplace_variant("sinc"), _inplace_variant("logit")
    erfc_, erfinv_, i0_ = _inplace_variant("erfc"), _inplace_variant("erfinv"), _inplace_variant("i0")
    lgamma_, digamma_ = _inplace_variant("lgamma"), _inplace_variant("digamma")
    reciprocal_, rsqrt_ = _inplace_variant("reciprocal"), _inplace_variant("rsqrt")
    sign_ = sgn_ = _inplace_variant("sign")
    frac_, fix_ = _inplace_variant("frac"), trunc_
    deg2rad_, rad2deg_ = _inplace_variant("deg2rad"), _inplace_variant("rad2deg")
    square_ = _inplace_variant("square")
    negative_, absolute_, clip_ = neg_, abs_, clamp_
    nan_to_num_ = _inplace_variant("nan_to_num")
    multiply_, subtract_, divide_, true_divide_ = mul_, sub_, div_, _inplace_variant("div", "true_divide_")
    copysign_, heaviside_ = _inplace_variant("copysign"), _inplace_variant("heaviside")
    hypot_, ldexp_, xlogy_ = _inplace_variant("hypot"), _inplace_variant("ldexp"), _inplace_variant("xlogy")
    nextafter_, gcd_, lcm_ = _inplace_variant("nextafter"), _inplace_variant("gcd"), _inplace_variant("lcm")
    eq_, ne_ = _inplace_variant("eq", zero_gradient=True), _inplace_variant("ne", zero_gradient=True)
    lt_, le_ = _inplace_variant("lt", zero_gradient=True), _inplace_variant("le", zero_gradient=True)
    gt_, ge_ = _inplace_variant("gt", zero_gradient=True), _inplace_variant("ge", zero_gradient=True)
    greater_, greater_equal_, less_, less_equal_, not_equal_ = gt_, ge_, lt_, le_, ne_
    logical_and_ = _inplace_variant("logical_and", zero_gradient=True)
    logical_or_ = _inplace_variant("logical_or", zero_gradient=True)
    logical_xor_ = _inplace_variant("logical_xor", zero_gradient=True)
    logical_not_ = _inplace_variant("logical_not", zero_gradient=True)
    cumsum_, cumprod_ = _inplace_variant("cumsum"), _inplace_variant("cumprod")
    addmm_, addmv_, addr_ = _inplace_variant("addmm"), _inplace_variant("addmv"), _inplace_variant("addr")
    addbmm_, baddbmm_ = _inplace_variant("addbmm"), _inplace_variant("baddbmm")
    renorm_, put_ = _inplace_variant("renorm"), _inplace_variant("put")
    masked_scatter_ = _inplace_variant("masked_scatter")
    scatter_reduce_, index_reduce_ = _inplace_variant("scatter_reduce"), _inplace_variant("index_reduce")

    def float_power_(self, exponent: Any) -> Tensor:
        """self ** exponent in place, as torch.Tensor.float_power_: self must be float64."""
        if self.dtype != float64:
            raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype} but the operation's result "
                               "requires dtype float64")
        return self._inplace("float_power_", _F.float_power, exponent)

    def _transposed_(self, name: str, dim0: int, dim1: int) -> Tensor:
        return self._reshape_inplace(name, lambda t: _F.transpose(t, dim0, dim1))

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        """transpose() in place (self becomes the transposed view), as torch.Tensor.transpose_."""
        return self._transposed_("transpose_", dim0, dim1)

    def swapaxes_(self, axis0: int, axis1: int) -> Tensor:
        """transpose_ under numpy's name, as torch.Tensor.swapaxes_."""
        return self._transposed_("swapaxes_", axis0, axis1)

    def swapdims_(self, dim0: int, dim1: int) -> Tensor:
        """transpose_ under another name, as torch.Tensor.swapdims_."""
        return self._transposed_("swapdims_", dim0, dim1)

    def t_(self) -> Tensor:
        """t() in place, as torch.Tensor.t_."""
        if self.ndim > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, got shape {self.shape}")
        return self if self.ndim < 2 else self._transposed_("t_", 0, 1)

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Tensor:
        """The main diagonal (of a matrix, or of a tensor whose dims are all equal) set to fill_value
        in place, as torch.Tensor.fill_diagonal_; wrap=True starts again below a tall matrix's square."""
        if self.ndim < 2:
            raise RuntimeError("fill_diagonal_: dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("fill_diagonal_: all dimensions of input must be of equal length")
        step = self.shape[1] + 1 if self.ndim == 2 else 1 + int(np.cumprod(self.shape[:-1]).sum())  # numpy's
        end = self.numel() if wrap or self.ndim > 2 else min(self.numel(), self.shape[1] * self.shape[1])
        places = np.unravel_index(np.arange(0, end, step), self.shape)
        return self._put("fill_diagonal_", places, fill_value)

    def _draw_(self, name: str, values: Tensor) -> Tensor:
        """self filled with values (float64 draws of self's shape), converted to self's dtype."""
        return self._put(name, Ellipsis, _F.cast(values, self.dtype))

    def _uniform_draws(self, generator: _random.Generator | None) -> Tensor:
        """float64 draws from [0, 1) of self's shape (minigrad's seeded generator, or ``generator``)."""
        draws = get_backend(self.device).uniform(_random.rng(generator), self.shape, 0.0, 1.0, float64)
        return Tensor._make(draws, self.device)

    def exponential_(self, lambd: float = 1.0, *, generator: _random.Generator | None = None) -> Tensor:
        """self filled with draws from the exponential distribution of rate lambd, as
        torch.Tensor.exponential_ (minigrad's seeded generator, or ``generator``)."""
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        return self._draw_("exponential_", -_F.log1p(-self._uniform_draws(generator)) / lambd)

    def geometric_(self, p: float, *, generator: _random.Generator | None = None) -> Tensor:
        """self filled with the number of Bernoulli(p) trials up to the first success (1, 2, ...), as
        torch.Tensor.geometric_."""
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
        trials = _F.ceil(_F.log1p(-self._uniform_draws(generator)) / math.log1p(-p))
        return self._draw_("geometric_", _F.clamp_min(trials, 1.0))

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator: _random.Generator | None = None) -> Tensor:
        """self filled with exp of normal(mean, std) draws, as torch.Tensor.log_normal_."""
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
        draws = get_backend(self.device).normal(_random.rng(generator), self.shape, mean, std, float64)
        return self._draw_("log_normal_", _F.exp(Tensor._make(draws, self.device)))

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator: _random.Generator | None = None) -> Tensor:
        """self filled with draws from the Cauchy distribution, as torch.Tensor.cauchy_."""
        if not sigma > 0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
        return self._draw_("cauchy_", _F.tan((self._uniform_draws(generator) - 0.5) * math.pi) * sigma + median)

    def _map_(self, name: str, fn: Any, *others: Tensor) -> Tensor:
        """self's elements replaced by fn(self's element, others' elements...) (others broadcast to
        self's shape), in place, on the host: PyTorch's apply_, map_ and map2_."""
        if not callable(fn):
            raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
        if self.device != "cpu":
            raise TypeError(f"{name} is only implemented on CPU tensors (this one is on {self.device})")
        arrays = [np.broadcast_to(t._host(), self.shape) for t in others]
        values = np.vectorize(fn, otypes=[self.dtype])(self._host(), *arrays) if self.numel() else self._host()
        return self._put(name, Ellipsis, values)

    def apply_(self, callable: Any) -> Tensor:  # noqa: A002 (PyTorch's name)
        """Each element replaced by callable(element), in place (CPU only, slow), as torch.Tensor.apply_."""
        return self._map_("apply_", callable)

    def map_(self, tensor: Tensor, callable: Any) -> Tensor:  # noqa: A002
        """Each element replaced by callable(element, tensor's element), tensor broadcast to self's
        shape, in place (CPU only), as torch.Tensor.map_."""
        return self._map_("map_", callable, tensor)

    def map2_(self, x: Tensor, y: Tensor, callable: Any) -> Tensor:  # noqa: A002
        """Each element replaced by callable(element, x's, y's), in place (CPU only), as torch.Tensor.map2_."""
        return self._map_("map2_", callable, x, y)

    def resize_(self, *sizes: Any) -> Tensor:
        """self given the shape sizes in place, as torch.Tensor.resize_: its elements are the memory's
        from self's first one on, in order; where that memory is too short, self moves to a new one
        holding the old elements then zeros. Only for a contiguous tensor that does not require grad
        (PyTorch's resize_ is not differentiable either)."""
        if self._requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        shape = tuple(operator.index(n) for n in _F._shape_args(sizes))
        if any(n < 0 for n in shape):
            raise RuntimeError(f"resize_: trying to resize a tensor to a negative size {list(shape)}")
        if not self.is_contiguous():
            raise RuntimeError("resize_: minigrad resizes contiguous tensors only (PyTorch would reinterpret "
                               "the memory in its storage order); call contiguous() first")
        be = get_backend(self.device)
        n, offset, memory = math.prod(shape), self.storage_offset(), self._memory()
        if offset + n > memory.size:  # a new memory: the old elements, then zeros
            grown = be.full((offset + n,), 0, self.dtype)
            be.assign(grown, slice(0, memory.size), memory)
            memory = grown
        self._data = be.reshape(be.getitem(memory, slice(offset, offset + n)), shape)
        return self

    def _memory(self) -> Any:
        """The whole memory self's elements lie in, as a 1-D array (self itself on CUDA, whose arrays
        are their own memory; on the CPU, the ndarray self is a view of)."""
        data = self._data
        if not isinstance(data, np.ndarray):
            return get_backend(self.device).reshape(data, (-1,))
        while isinstance(data.base, np.ndarray):
            data = data.base
        return data.reshape(-1) if data.flags.c_contiguous else self._data.reshape(-1)

    def resize_as_(self, the_template: Tensor) -> Tensor:
        """resize_(the_template's shape), as torch.Tensor.resize_as_."""
        return self.resize_(the_template.shape)

    # attributes and tests
    @property
    def retains_grad(self) -> bool:
        """Whether this non-leaf tensor keeps its gradient in .grad (retain_grad() was called), as PyTorch."""
        retained = self.grad_fn.retained if self.grad_fn is not None else None
        return retained is not None and retained() is self

    def is_complex(self) -> bool:
        """False: minigrad has no complex dtypes, as torch.Tensor.is_complex of a real tensor."""
        return False

    def is_conj(self) -> bool:
        """False: minigrad has no complex tensors, so no lazily conjugated ones (torch.Tensor.is_conj)."""
        return False

    def is_neg(self) -> bool:
        """False: minigrad makes no lazily negated views (torch.Tensor.is_neg)."""
        return False

    def resolve_conj(self) -> Tensor:
        """self: nothing is lazily conjugated in minigrad, as torch.Tensor.resolve_conj of such a tensor."""
        return self

    def resolve_neg(self) -> Tensor:
        """self: nothing is lazily negated in minigrad, as torch.Tensor.resolve_neg of such a tensor."""
        return self

    def is_pinned(self, device: Any = None) -> bool:
        """False: minigrad never page-locks host memory (as torch.Tensor.is_pinned without pinning)."""
        return False

    def pin_memory(self, device: Any = None) -> Tensor:
        """As torch.Tensor.pin_memory: with no usable CUDA device PyTorch's RuntimeError (there is
        no accelerator to pin for), and a CUDA tensor's RuntimeError (only CPU tensors pin). With
        a CUDA device, self: minigrad has no page-locked memory (its host-to-device copies are
        synchronous), so there is nothing to gain and is_pinned() stays False."""
        from minigrad.backend import cuda_unavailable_reason

        if self.device != "cpu":
            raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
        if cuda_unavailable_reason():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return self

    def is_signed(self) -> bool:
        """Whether the dtype holds negative values (floats and signed integers), as torch.Tensor.is_signed."""
        return self.dtype.kind in "fi"

    def is_nonzero(self) -> bool:
        """The truth of a one-element tensor, as torch.Tensor.is_nonzero (RuntimeError otherwise)."""
        if self.numel() != 1:
            which = "no values" if self.numel() == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {which} is ambiguous")
        return bool(self.item())

    def is_same_size(self, other: Tensor) -> bool:
        """Whether other has self's shape, as torch.Tensor.is_same_size."""
        return self.shape == other.shape

    def is_inference(self) -> bool:
        """False: minigrad's inference_mode is no_grad and makes no inference tensors."""
        return False

    def storage_offset(self) -> int:
        """Elements between the start of the memory self is a view into and self's first element, as
        torch.Tensor.storage_offset (0 on the CUDA device, whose arrays always start their buffer)."""
        data = self._data
        if not isinstance(data, np.ndarray):
            return 0
        return (data.__array_interface__["data"][0] - self._memory().__array_interface__["data"][0]) // data.itemsize

    def share_memory_(self) -> Tensor:
        """Move self's memory to shared memory, as PyTorch's: an anonymous shared mapping, which
        processes forked afterwards (multiprocessing's fork start method, as in Hogwild training)
        read and update together with this one; returns self. A no-op on CUDA or when already
        shared. A view of another tensor is refused: minigrad's views are numpy's, which cannot
        be moved with their base."""
        if self.device != "cpu" or self.is_shared():
            return self
        if self._view is not None:
            raise RuntimeError("share_memory_: self is a view of another tensor; call it on that tensor")
        data = self._data
        memory = mmap.mmap(-1, max(data.nbytes, 1))  # anonymous and MAP_SHARED: forked children share it
        shared = np.frombuffer(memory, dtype=data.dtype, count=data.size).reshape(data.shape)
        shared[...] = data
        self._data = shared
        self._version_counter.shared = True
        return self

    def is_shared(self) -> bool:
        """Whether self's memory is shared memory (share_memory_() on self, or on the tensor self is
        a view of), as PyTorch's; a CUDA tensor's always is."""
        return self.device != "cpu" or getattr(self._version_counter, "shared", False)

    def data_ptr(self) -> int:
        """The address of self's first element (host memory on the CPU, device memory on CUDA), as
        torch.Tensor.data_ptr."""
        data = self._data
        return int(data.__array_interface__["data"][0]) if isinstance(data, np.ndarray) else int(data.ptr)

    def dim_order(self) -> tuple[int, ...]:
        """The dims from the outermost in memory to the innermost (by decreasing stride), as
        torch.Tensor.dim_order."""
        strides = self.stride()
        return tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))

    def byte(self) -> Tensor:
        """This tensor as uint8, as torch.Tensor.byte."""
        return self.to(uint8)

    def new(self, *args: Any, device: Any = None) -> Tensor:
        """The legacy constructor in self's dtype (and device): new(2, 3) or new(Size) zeros of that
        size, new(data) a copy of data, new() an empty tensor, as torch.Tensor.new."""
        sizes = all(isinstance(a, numbers.Integral) for a in args) or (len(args) == 1 and isinstance(args[0], Size))
        if args and sizes:
            return self.new_zeros(_creation._size(args), device=device)
        if not args:
            return self.new_zeros(0, device=device)
        if len(args) == 1 and not isinstance(args[0], Tensor):
            return self.new_tensor(args[0], device=device)
        raise TypeError("new(): expected sizes as ints or one sequence of data")

    # products, shapes and indexing
    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * sum of batch1[i] @ batch2[i], as torch.Tensor.addbmm."""
        return _F.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * bmm(batch1, batch2), as torch.Tensor.baddbmm."""
        return _F.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addmv(self, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * (mat @ vec), as torch.Tensor.addmv."""
        return _F.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addr(self, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * outer(vec1, vec2), as torch.Tensor.addr."""
        return _F.addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def inner(self, other: Tensor) -> Tensor:
        """The sum of products over the last dims, as torch.Tensor.inner."""
        return _F.inner(self, other)

    def vdot(self, other: Tensor) -> Tensor:
        """dot() (real tensors), as torch.Tensor.vdot."""
        return _F.vdot(self, other)

    ger = outer

    def matrix_power(self, n: int) -> Tensor:
        """The n-th matrix power, as torch.Tensor.matrix_power."""
        from minigrad import linalg

        return linalg.matrix_power(self, n)

    def matrix_exp(self) -> Tensor:
        """The matrix exponential, as torch.Tensor.matrix_exp."""
        from minigrad import linalg

        return linalg.matrix_exp(self)

    def inverse(self) -> Tensor:
        """The inverse of square matrices, as torch.Tensor.inverse."""
        from minigrad import linalg

        return linalg.inv(self)

    def det(self) -> Tensor:
        """The determinant, as torch.Tensor.det."""
        from minigrad import linalg

        return linalg.det(self)

    def logdet(self) -> Tensor:
        """log(det) (nan for a negative determinant, -inf for zero), as torch.Tensor.logdet."""
        from minigrad import linalg

        return linalg.logdet(self)

    def slogdet(self) -> Any:
        """(sign, log|det|), as torch.Tensor.slogdet."""
        from minigrad import linalg

        return linalg.slogdet(self)

    def cholesky(self, upper: bool = False) -> Tensor:
        """The Cholesky factor, as torch.Tensor.cholesky."""
        from minigrad import linalg

        return linalg.cholesky_legacy(self, upper)

    def cholesky_solve(self, input2: Tensor, upper: bool = False) -> Tensor:
        """X with A X = self for A given by its Cholesky factor input2, as torch.Tensor.cholesky_solve."""
        from minigrad import linalg

        return linalg.cholesky_solve(self, input2, upper)

    def lu(self, pivot: bool = True, get_infos: bool = False) -> Any:
        """(LU, pivots[, info]), as torch.Tensor.lu (deprecated)."""
        from minigrad import linalg

        return linalg.lu_legacy(self, pivot, get_infos)

    def lu_solve(self, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: N803
        """X with A X = self for A given by lu_factor's (LU_data, LU_pivots), as torch.Tensor.lu_solve (deprecated)."""
        from minigrad import linalg

        return linalg.lu_solve_legacy(self, LU_data, LU_pivots)

    def cholesky_inverse(self, upper: bool = False) -> Tensor:
        """The inverse of A given by its Cholesky factor self, as torch.Tensor.cholesky_inverse."""
        from minigrad import linalg

        return linalg.cholesky_inverse(self, upper)

    def svd(self, some: bool = True, compute_uv: bool = True) -> Any:
        """(U, S, V), V not transposed, as torch.Tensor.svd (the legacy form of linalg.svd)."""
        from minigrad import linalg

        return linalg.svd_legacy(self, some, compute_uv)

    def qr(self, some: bool = True) -> Any:
        """(Q, R), as torch.Tensor.qr."""
        from minigrad import linalg

        return linalg.qr_legacy(self, some)

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        """The pseudo-inverse, as torch.Tensor.pinverse."""
        from minigrad import linalg

        return linalg.pinverse(self, rcond)

    def adjoint(self) -> Tensor:
        """The transpose of the last two dims (real tensors), as torch.Tensor.adjoint."""
        return _F.adjoint(self)

    @property
    def mH(self) -> Tensor:  # noqa: N802
        """adjoint(): the last two dims transposed (real tensors), as torch.Tensor.mH."""
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got "
                               f"{self.ndim}-D tensor.")
        return _F.transpose(self, -2, -1)

    @property
    def H(self) -> Tensor:  # noqa: N802
        """The transpose of a matrix (real tensors), as torch.Tensor.H."""
        if self.ndim == 0:
            return self
        if self.ndim != 2:
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor."
                               + (" For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""))
        return _F.transpose(self, 0, 1)

    def cov(self, *, correction: int = 1, fweights: Tensor | None = None, aweights: Tensor | None = None) -> Tensor:
        """The covariance matrix of self's rows, as torch.Tensor.cov."""
        return _F.cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self) -> Tensor:
        """The correlation coefficients of self's rows, as torch.Tensor.corrcoef."""
        return _F.corrcoef(self)

    def dist(self, other: Tensor, p: float = 2) -> Tensor:
        """The p-norm of self - other, as torch.Tensor.dist."""
        return _F.dist(self, other, p)

    def renorm(self, p: float, dim: int, maxnorm: float) -> Tensor:
        """Slices along dim scaled down to p-norm maxnorm, as torch.Tensor.renorm."""
        return _F.renorm(self, p, dim, maxnorm)

    def histogram(self, bins: Any = 100, *, range: Any = None, weight: Tensor | None = None,  # noqa: A002
                  density: bool = False) -> Any:
        """(hist, bin_edges), as torch.Tensor.histogram."""
        return _F.histogram(self, bins, range=range, weight=weight, density=density)

    def ravel(self) -> Tensor:
        """self as 1-D, as torch.Tensor.ravel."""
        return _F.ravel(self)

    def fliplr(self) -> Tensor:
        """dim 1 reversed, as torch.Tensor.fliplr."""
        return _F.fliplr(self)

    def flipud(self) -> Tensor:
        """dim 0 reversed, as torch.Tensor.flipud."""
        return _F.flipud(self)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """Rotated by 90 degrees k times in the plane of dims, as torch.Tensor.rot90."""
        return _F.rot90(self, k, dims)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """The windows of size elements along dimension, step apart, as a new last dim, as
        torch.Tensor.unfold (a gather rather than a strided view: see functional.unfold_windows)."""
        return _F.unfold_windows(self, dimension, size, step)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """The last dim placed on diagonals, as torch.Tensor.diag_embed."""
        return _F.diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset: int = 0) -> Tensor:
        """A matrix with self (flattened) on a diagonal, as torch.Tensor.diagflat."""
        return _F.diagflat(self, offset)

    def diagonal_scatter(self, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """A copy with a diagonal replaced by src, as torch.Tensor.diagonal_scatter."""
        return _F.diagonal_scatter(self, src, offset, dim1, dim2)

    def select_scatter(self, src: Tensor, dim: int, index: int) -> Tensor:
        """A copy with select(dim, index) replaced by src, as torch.Tensor.select_scatter."""
        return _F.select_scatter(self, src, dim, index)

    def slice_scatter(
        self, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1
    ) -> Tensor:
        """A copy with a slice along dim replaced by src, as torch.Tensor.slice_scatter."""
        return _F.slice_scatter(self, src, dim, start, end, step)

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces of the given sizes along dim, as torch.Tensor.split_with_sizes."""
        return _F.split_with_sizes(self, split_sizes, dim)

    unsafe_split, unsafe_chunk, unsafe_split_with_sizes = split, chunk, split_with_sizes  # no unsafe views here

    def hsplit(self, indices_or_sections: Any) -> tuple[Tensor, ...]:
        """tensor_split along dim 1 (0 for 1-D), as torch.Tensor.hsplit."""
        return _F.hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections: Any) -> tuple[Tensor, ...]:
        """tensor_split along dim 0, as torch.Tensor.vsplit."""
        return _F.vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections: Any) -> tuple[Tensor, ...]:
        """tensor_split along dim 2, as torch.Tensor.dsplit."""
        return _F.dsplit(self, indices_or_sections)

    def sum_to_size(self, *size: Any) -> Tensor:
        """self summed down to size, as torch.Tensor.sum_to_size."""
        return _F.sum_to_size(self, *size)

    def msort(self) -> Tensor:
        """Sorted along dim 0, as torch.Tensor.msort."""
        return _F.msort(self)

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: int | None = None) -> Any:
        """Runs of equal elements kept once, as torch.Tensor.unique_consecutive."""
        return _F.unique_consecutive(self, return_inverse, return_counts, dim)

    def narrow_copy(self, dim: int, start: int, length: int) -> Tensor:
        """narrow() as a new tensor, as torch.Tensor.narrow_copy."""
        return _F.narrow_copy(self, dim, start, length)

    def nonzero_static(self, *, size: int, fill_value: int = -1) -> Tensor:
        """nonzero() cut or padded to size rows, as torch.Tensor.nonzero_static."""
        return _F.nonzero_static(self, size=size, fill_value=fill_value)

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        """source's elements written where mask is true, as torch.Tensor.masked_scatter."""
        return _F.masked_scatter(self, mask, source)

    def put(self, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
        """source written at the flat positions index, as torch.Tensor.put."""
        return _F.put(self, index, source, accumulate)

    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
        """src reduced into self at index along dim, as torch.Tensor.scatter_reduce."""
        return _F.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def index_reduce(
        self, dim: int, index: Tensor, source: Tensor, reduce: str, *, include_self: bool = True
    ) -> Tensor:
        """source's slices reduced into self's at index along dim, as torch.Tensor.index_reduce."""
        return _F.index_reduce(self, dim, index, source, reduce, include_self=include_self)

    # --- printing ---------------------------------------------------------------------------
    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a 0-d tensor's value, as PyTorch does; without a format spec any
        tensor prints as str()."""
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if not spec:
            return str(self)
        raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__: only a 0-d tensor "
                        f"formats as a number (this one has shape {tuple(self.shape)}; use .item())")

    def __repr__(self) -> str:
        body = _array_text(self._host())
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.numel() == 0 and self.ndim != 1:  # "[]" alone would not tell the shape
            extras.append(f"size={tuple(self.shape)}")
        # the dtypes PyTorch leaves unsaid: the default one, and int64 and bool when elements show them
        if self.dtype != get_default_dtype() and (self.dtype not in (int64, bool_) or self.numel() == 0):
            extras.append(f"dtype=minigrad.{self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"


def is_tensor(obj: Any) -> bool:
    """Whether obj is a minigrad Tensor, as torch.is_tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """Whether input's dtype is a floating one, as torch.is_floating_point."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_floating_point(): argument 'input' must be Tensor, not {type(input).__name__}")
    return input.is_floating_point()


def numel(input: Tensor) -> int:
    """The number of elements of input, as torch.numel."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' must be Tensor, not {type(input).__name__}")
    return input.numel()


from minigrad import autograd as _autograd  # noqa: E402  (both import Tensor from here)
from minigrad import creation as _creation  # noqa: E402
from minigrad import functional as _F  # noqa: E402
from minigrad import random as _random  # noqa: E402
from minigrad.functional._common import DtypeError as _DtypeError  # noqa: E402
from minigrad.functional._common import assign as _assign  # noqa: E402
from minigrad.functional.shape import put_node_name as _put_node_name  # noqa: E402
