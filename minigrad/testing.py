"""torch.testing for minigrad: assert_close (and the deprecated assert_allclose) and make_tensor.

assert_close follows PyTorch's rules and messages: the default tolerances by dtype (float32 rtol
1.3e-6 / atol 1e-5, float64 1e-7 / 1e-7, integers and bool exact; with two dtypes the looser),
Python scalars compared as numbers (int as int64, float as float64), sequences and mappings
compared item by item (a failure names the item, ``The failure occurred for item ['a'][1]``),
tensors and numpy arrays by shape, device, dtype (and stride on request) and then values, and
the message formats ("Tensor-likes are not close!", "Mismatched elements: 1 / 3 (33.3%)", the
greatest absolute and relative differences and where they are). Messages name minigrad's types
where PyTorch's name torch's (``minigrad.float32``, ``minigrad.Size([2, 3])``). Every tensor is
strided, so ``check_layout`` has nothing to compare.
"""

from __future__ import annotations

import collections.abc
import functools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import minigrad
from minigrad.tensor import Tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# {dtype: (rtol, atol)}; every other dtype is compared exactly. float16 only reaches here in numpy arrays.
_DTYPE_PRECISIONS = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.complex128): (1e-7, 1e-7),
}
# The tensor dtypes whose tolerances a Python number of that type gets, as PyTorch's NumberPair.
_NUMBER_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64)}


class _Mismatch(Exception):
    """One failed comparison: the exception class to raise, its message and the item's path."""

    def __init__(self, kind: type[Exception], message: str, path: tuple = ()) -> None:
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        """The exception to raise: msg (a string) instead of the message, or msg(message)."""
        if isinstance(msg, str):
            return self.kind(msg)
        message = self.message
        if self.path:
            message += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.path)}"
        return self.kind(msg(message) if callable(msg) else message)


def _tolerances(dtypes: Sequence[np.dtype], rtol: float | None, atol: float | None, path: tuple) -> tuple[float, float]:
    """Both tolerances given, or the loosest defaults of dtypes; only one given is an error."""
    if (rtol is None) != (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                                    f"but got no {'rtol' if rtol is None else 'atol'}.", path)
    if rtol is not None:
        return rtol, atol
    rtols, atols = zip(*(_DTYPE_PRECISIONS.get(np.dtype(d), (0.0, 0.0)) for d in dtypes), strict=True)
    return max(rtols), max(atols)


def _mismatch_message(identifier: str, extra: str, abs_diff: Any, abs_index: tuple | None, atol: float,
                      rel_diff: Any, rel_index: tuple | None, rtol: float) -> str:
    equality = rtol == 0 and atol == 0
    lines = [f"{identifier} are not {'equal' if equality else 'close'}!", "", extra]
    for kind, diff, index, tol in (("absolute", abs_diff, abs_index, atol), ("relative", rel_diff, rel_index, rtol)):
        line = (f"{kind.title()} difference: {diff}" if index is None
                else f"Greatest {kind} difference: {diff} at index {index}")
        lines.append(line if equality else f"{line} (up to {tol} allowed)")
    return "\n".join(lines)


def _scalar_message(actual: Any, expected: Any, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = math.inf if expected == 0 else abs_diff / abs(expected)
    return _mismatch_message("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol,
                             rel_diff, None, rtol)


def _tensor_message(actual: np.ndarray, expected: np.ndarray, matches: np.ndarray, rtol: float, atol: float) -> str:
    total = matches.size
    mismatched = total - int(matches.sum())
    extra = f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})"
    a, e, hit = actual.ravel(), expected.ravel(), matches.ravel()
    if a.dtype.kind not in "fc":  # PyTorch takes integer differences in int64 and their ratios in float32
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[hit] = 0
        rel_diff = abs_diff / np.abs(e)
        if a.dtype.kind not in "fc":
            rel_diff = rel_diff.astype(np.float32)
        rel_diff[hit] = 0
    i, j = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))  # the first NaN or greatest, as torch.max

    def where(flat: int) -> tuple[int, ...]:
        return tuple(int(k) for k in np.unravel_index(flat, matches.shape))

    return _mismatch_message("Tensor-likes", extra, abs_diff[i].item(), where(i), atol, rel_diff[j].item(), where(j),
                             rtol)


def _isclose(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> np.ndarray:
    """torch.isclose: equal, or finite and |actual - expected| <= atol + |rtol * expected|, in the
    arrays' own dtype (NaN equal to NaN only with equal_nan)."""
    if actual.dtype.kind not in "fc":
        if rtol == 0 and atol == 0:
            return actual == expected
        actual, expected = actual.astype(np.float64), expected.astype(np.float64)
    cast = actual.dtype.type
    with np.errstate(invalid="ignore", over="ignore"):
        close = actual == expected
        if equal_nan:
            close |= np.isnan(actual) & np.isnan(expected)
        diff = np.abs(actual - expected)
        close |= np.isfinite(diff) & (diff <= cast(atol) + np.abs(cast(rtol) * expected))
    return close


class _TensorLike:
    """A tensor, or what minigrad.as_tensor makes one of, seen as PyTorch's TensorLikePair sees it."""

    def __init__(self, value: Any) -> None:
        if isinstance(value, np.ndarray):
            self.array, self.device = value, minigrad.device("cpu")
            self.strides = tuple(s // value.itemsize for s in value.strides) if value.itemsize else ()
        else:
            tensor = value if isinstance(value, Tensor) else minigrad.as_tensor(value)
            self.array, self.device, self.strides = tensor.detach().cpu().numpy(), tensor.device, tensor.stride()
        self.shape = minigrad.Size(self.array.shape)
        self.dtype = self.array.dtype


def _number(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, complex, np.number)) and not isinstance(value, (bool, np.bool_))


class _Options:
    """assert_close's keyword options, shared by every pair of items."""

    def __init__(self, **options: Any) -> None:
        self.__dict__.update(options)


def _pair(actual: Any, expected: Any, path: tuple, options: _Options) -> Callable[[], None]:
    """The comparison of two leaves, checked for its types and tolerances now (as PyTorch builds
    its pairs before comparing any), run later."""
    if actual is None or expected is None:
        def compare_none() -> None:
            if not (actual is None and expected is None):
                raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}", path)
        return compare_none
    if isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
        def compare_bools() -> None:
            if bool(actual) is not bool(expected):
                raise _Mismatch(AssertionError, f"Booleans mismatch: {bool(actual)} is not {bool(expected)}", path)
        return compare_bools
    if _is_number(actual) and _is_number(expected):
        a, e = _number(actual), _number(expected)
        rtol, atol = _tolerances([_NUMBER_DTYPES.get(type(v), np.dtype(np.complex128)) for v in (a, e)],
                                 options.rtol, options.atol, path)
        return functools.partial(_compare_numbers, a, e, rtol, atol, path, options)
    related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
    if related and (options.allow_subclasses or type(actual) is type(expected)):
        try:
            a, e = _TensorLike(actual), _TensorLike(expected)
        except Exception:  # noqa: BLE001 (not tensor-like: no pair handles them, reported below)
            pass
        else:
            rtol, atol = _tolerances([a.dtype, e.dtype], options.rtol, options.atol, path)
            return functools.partial(_compare_tensors, a, e, rtol, atol, path, options)
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and "
                               f"{type(expected)}.", path)


def _compare_numbers(actual: Any, expected: Any, rtol: float, atol: float, path: tuple, options: _Options) -> None:
    if options.check_dtype and type(actual) is not type(expected):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
    if actual == expected or (options.equal_nan and _isnan(actual) and _isnan(expected)):
        return
    abs_diff = abs(actual - expected)
    if math.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(expected):
        return
    raise _Mismatch(AssertionError, _scalar_message(actual, expected, rtol, atol), path)


def _isnan(value: Any) -> bool:
    return value != value  # noqa: PLR0124 (NaN is the one value unequal to itself; complex too)


def _compare_tensors(actual: _TensorLike, expected: _TensorLike, rtol: float, atol: float, path: tuple,
                     options: _Options) -> None:
    def differ(attribute: str, a: Any, e: Any) -> _Mismatch:
        return _Mismatch(AssertionError, f"The values for attribute '{attribute}' do not match: {a} != {e}.", path)

    if actual.shape != expected.shape:
        raise differ("shape", repr(actual.shape), repr(expected.shape))
    if options.check_stride and actual.strides != expected.strides:
        raise differ("stride()", actual.strides, expected.strides)
    if options.check_device and actual.device != expected.device:
        raise differ("device", actual.device, expected.device)
    if options.check_dtype and actual.dtype != expected.dtype:
        raise differ("dtype", f"minigrad.{actual.dtype}", f"minigrad.{expected.dtype}")
    a, e = actual.array, expected.array
    if a.dtype != e.dtype:  # compared in the promoted dtype (check_dtype=False)
        common = minigrad.promote_types(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    matches = _isclose(a, e, rtol, atol, options.equal_nan)
    if matches.all():
        return
    message = (_scalar_message(a.item(), e.item(), rtol, atol) if a.ndim == 0
               else _tensor_message(a, e, matches, rtol, atol))
    raise _Mismatch(AssertionError, message, path)


def _pairs(actual: Any, expected: Any, path: tuple, options: _Options) -> list[Callable[[], None]]:
    """Every leaf comparison of two (possibly nested) sequences or mappings, in PyTorch's order."""
    sequences = (collections.abc.Sequence,)
    if (isinstance(actual, sequences) and not isinstance(actual, str)
            and isinstance(expected, sequences) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                            path)
        return [p for i in range(len(actual)) for p in _pairs(actual[i], expected[i], (*path, i), options)]
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            missing, additional = sorted(expected_keys - actual_keys), sorted(actual_keys - expected_keys)
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {missing}\n"
                                            f"Additional keys in the actual mapping: {additional}", path)
        try:
            keys = sorted(actual_keys)
        except TypeError:  # keys without an order: set order, as PyTorch
            keys = list(actual_keys)
        return [p for key in keys for p in _pairs(actual[key], expected[key], (*path, key), options)]
    return [_pair(actual, expected, path, options)]


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """Raise AssertionError unless actual and expected are close, as torch.testing.assert_close:
    |actual - expected| <= atol + rtol * |expected| elementwise (infinities only equal to
    themselves, NaN to NaN only with equal_nan), with the same shape, device and dtype (and
    stride with check_stride). Tensors, numpy arrays, Python or numpy numbers, and sequences or
    mappings of them (recursively); rtol and atol are given both or neither (default: by dtype,
    see the module docstring). msg replaces the message, or, when callable, gets the message and
    returns the one to raise. Inputs of unrelated types are a TypeError. check_layout is
    accepted for PyTorch's signature (every minigrad tensor is strided)."""
    __tracebackhide__ = True
    options = _Options(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                       check_device=check_device, check_dtype=check_dtype, check_stride=check_stride)
    try:
        pairs = _pairs(actual, expected, (), options)
    except _Mismatch as mismatch:  # a structure or type problem: PyTorch's message, whatever msg says
        raise mismatch.to_error() from None
    for compare in pairs:
        try:
            compare()
        except _Mismatch as mismatch:
            raise mismatch.to_error(msg) from None


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated (as in PyTorch since 1.12; warns): assert_close with dtypes promoted, NaN equal
    to NaN, and the old looser tolerances (float32 1e-4 / 1e-5, float64 1e-5 / 1e-8)."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
                  "release. Please use `torch.testing.assert_close()` instead.", FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = minigrad.tensor(actual)
    if not isinstance(expected, Tensor):
        expected = minigrad.tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        old = {np.dtype(np.float32): (1e-4, 1e-5), np.dtype(np.float64): (1e-5, 1e-8)}
        rtols, atols = zip(*(old.get(t.dtype, (0.0, 0.0)) for t in (actual, expected)), strict=True)
        rtol, atol = max(rtols), max(atols)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)


# --- make_tensor ----------------------------------------------------------------------------------

def _low_high(dtype: np.dtype, low: float | None, high: float | None, lowest: float, highest: float,
              default_low: float, default_high: float) -> tuple[float, float]:
    """PyTorch's checks and clamping of make_tensor's [low, high)."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    floating = dtype.kind == "f"
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and floating:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types is "
                      "deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                      FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                         f"but minigrad.{dtype} only supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    # integers: low is ceiled to stay inside the interval, high too since randint's bound is exclusive
    return (low, high) if floating else (math.ceil(low), math.ceil(high))


def make_tensor(
    *shape: int | Sequence[int],
    dtype: Any,
    device: str | Any,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
) -> Tensor:
    """A tensor of shape (ints, or one sequence of them) with values drawn uniformly from [low, high),
    as torch.testing.make_tensor. Defaults: bool [0, 2), unsigned integers [0, 10), signed integers
    [-9, 10), floats [-9, 9); bounds outside the dtype's range are clamped to it. noncontiguous
    gives a view taking every other element of the last dimension (on the CUDA device, where
    minigrad's tensors are always contiguous, a contiguous copy); exclude_zero replaces zeros by 1
    (bool, integers) or the dtype's smallest normal number (floats). requires_grad only for floats."""
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    dtype = np.dtype(dtype)
    if requires_grad and dtype.kind in "biu":
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got "
                         f"dtype=minigrad.{dtype}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:  # twice the last dimension, so that the view's neighbours differ
        shape = (*shape[:-1], 2 * shape[-1])
    if dtype == np.bool_:
        low, high = _low_high(dtype, low, high, 0, 2, 0, 2)
        result = minigrad.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        # randint draws in int64, so int64's own maximum is out of reach, as in PyTorch
        highest = int(info.max) + (1 if dtype != np.int64 else 0)
        low, high = _low_high(dtype, low, high, int(info.min), highest, -9, 10)
        result = minigrad.randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in (np.float32, np.float64):
        info = np.finfo(dtype)
        low, high = _low_high(dtype, low, high, float(info.min), float(info.max), -9, 9)
        result = minigrad.empty(shape, device=device, dtype=dtype)
        with minigrad.no_grad():
            if high - low >= float(info.max):  # the span itself would overflow: draw half of it, doubled
                result.uniform_(low / 2, high / 2).mul_(2)
            else:
                result.uniform_(low, high)
    else:
        raise TypeError(f"The requested dtype 'minigrad.{dtype}' is not supported by minigrad.testing.make_tensor().")
    if noncontiguous:
        result = result[..., 1::2]  # offset by one, to catch offset mistakes too
    if exclude_zero:
        with minigrad.no_grad():
            result[result == 0] = 1 if dtype.kind in "biu" else float(np.finfo(dtype).tiny)
    if dtype.kind == "f":
        result.requires_grad_(requires_grad)
    return result
