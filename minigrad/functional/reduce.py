"""Reductions: sum, mean, nansum/nanmean, var/std, norm, max/min (values and indices), argmax/argmin,
any/all, sort, topk, median/nanmedian, kthvalue, mode, quantile/nanquantile, aminmax, trace; scans:
cumsum, cumprod, cummax/cummin; on the host: unique, bincount, histc, histogram, searchsorted/bucketize."""

from __future__ import annotations

import builtins
import math
import operator
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import Function, name_node
from minigrad.backend import get_backend
from minigrad.functional._common import (
    ArgumentError,
    DtypeError,
    IndexRangeError,
    NoKernelForDtypeError,
    NotImplementedArgumentError,
    ShapeError,
    _dim,
    _dims,
    _from_host,
    _require_float,
    _require_same_device,
    _require_tensor,
    _result_dtype,
    numpy_aliases,
)
from minigrad.functional._stl import topk_positions
from minigrad.tensor import Tensor, get_default_dtype, int64, warn_user

# --- reductions ------------------------------------------------------------------------------


class SumOp(Function):
    __slots__ = ("axes", "keepdim")

    def forward(self, a, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim
        self.saved = (a.shape,)
        out = self.be.sum(a, axes, keepdim)
        return out if a.dtype.kind == "f" or out.dtype == int64 else self.be.astype(out, int64)  # as PyTorch

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

    def _torch_name(self) -> str:
        # PyTorch's sum and mean over all elements are ...Backward0, over given dims ...Backward1
        return f"{self.op_name()}Backward{0 if self.axes is None else 1}"


class MeanOp(SumOp):
    """Sum / count; the mean of no elements is nan (0 / 0), as in PyTorch and numpy."""

    __slots__ = ()

    def forward(self, a, axes, keepdim):
        n = a.size if axes is None else math.prod(a.shape[ax] for ax in axes)
        return self.be.div(super().forward(a, axes, keepdim), n)

    def backward(self, g):
        (shape,) = self.saved
        n = math.prod(shape) if self.axes is None else math.prod(shape[ax] for ax in self.axes)
        return (self._expand(self.be.div(g, n)),)


class MaxMinOp(Function):
    """max/min over everything (gradient shared evenly by ties, as PyTorch) or over one dim
    (gradient to the index returned, which is also the op's second output)."""

    __slots__ = ("dim", "keepdim", "largest")

    def forward(self, a, largest, dim, keepdim):
        be = self.be
        self.dim, self.keepdim, self.largest = dim, keepdim, largest
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
        if self.dim is None:  # shared evenly by the ties, or by the NaNs when the result is NaN
            a, out = self.saved
            mask = be.astype(be.compare("eq", a, out), g.dtype)
            if not be.all_finite(out):
                nan_a = be.astype(be.compare("ne", a, a), g.dtype)
                mask = be.add(mask, be.mul(nan_a, be.astype(be.compare("ne", out, out), g.dtype)))
            return (be.mul(mask, be.div(g, be.sum(mask, None, False))),)
        shape, idx = self.saved
        if not self.keepdim:
            g = be.reshape(g, idx.shape)
        positions = be.arange(0, shape[self.dim], 1, int64)
        positions = be.reshape(positions, tuple(-1 if i == self.dim else 1 for i in range(len(shape))))
        hit = be.compare("eq", positions, idx)
        return (be.where(hit, g, be.full((), 0, g.dtype)),)

    def name(self) -> str:
        """PyTorch's: MaxBackward1 (MinBackward1) over everything, MaxBackward0 over one dim."""
        return ("Max" if self.largest else "Min") + ("Backward1" if self.dim is None else "Backward0")


def _return_type(name: str, fields: Sequence[str]) -> type:
    """A named tuple named and shown as PyTorch's torch.return_types.<name>, so that printing
    ``torch.max(x, 1)`` or checking ``type(r).__name__`` reads as in PyTorch."""
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{field}={value!r}" for field, value in zip(self._fields, self, strict=True))
        return f"minigrad.return_types.{name}(\n{body})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": "minigrad.return_types"})


MaxResult = _return_type("max", ["values", "indices"])
MinResult = _return_type("min", ["values", "indices"])


@numpy_aliases
def sum(  # noqa: A001
    input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Sum over dim (int or tuple; None: all); with dtype, of input cast to it first, as PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    return SumOp.apply(input, axes=_dims(dim, input.ndim, "sum"), keepdim=keepdim)


@numpy_aliases
def mean(
    input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Mean over dim (int or tuple; None: all); with dtype, of input cast to it first, as PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    _require_float("mean", input)
    return MeanOp.apply(input, axes=_dims(dim, input.ndim, "mean"), keepdim=keepdim)


@numpy_aliases
def nansum(
    input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The sum over dim (int or tuple; None or () for all) with NaNs counted as zero, as torch.nansum;
    integers give int64. The gradient is 0 at the NaNs."""
    from minigrad.functional.elementwise import isnan, where

    _require_tensor("nansum", input)
    x = _integer_to_int64(input, dtype)
    if x.dtype.kind == "f":
        x = where(isnan(x), 0.0, x)
    return sum(x, _reduce_axes(dim, input.ndim, "nansum"), keepdim)


@numpy_aliases
def nanmean(
    input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The mean of the numbers over dim, NaNs left out (NaN where there are none), as torch.nanmean."""
    _require_float("nanmean", input)
    axes = _reduce_axes(dim, input.ndim, "nanmean")
    return nansum(input, axes, keepdim, dtype=dtype) / sum((input == input).long(), axes, keepdim)


def _max_min(input: Tensor, dim: int | Tensor | None, keepdim: bool, largest: bool, op: str) -> Any:
    if isinstance(dim, Tensor):  # max(input, other): PyTorch's elementwise maximum
        from minigrad.functional.elementwise import maximum, minimum

        if keepdim:
            raise TypeError(f"{op}(input, other) takes no keepdim")
        return maximum(input, dim) if largest else minimum(input, dim)
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(f"{op}: the tensor is empty (shape {input.shape})")
        return MaxMinOp.apply(input, largest=largest, dim=None, keepdim=False)
    d = _dim(dim, input.ndim, op)
    if input.ndim == 0:  # PyTorch: the element itself, at index 0
        zero = Tensor._make(get_backend(input.device).full((), 0, int64), input.device)
        return (MaxResult if largest else MinResult)(MaxMinOp.apply(input, largest=largest, dim=None, keepdim=False),
                                                     zero)
    if input.shape[d] == 0:
        raise IndexRangeError(f"{op}: dim {dim} of shape {input.shape} is empty; there is nothing to reduce")
    values = MaxMinOp.apply(input, largest=largest, dim=d, keepdim=keepdim)
    if input.dtype.kind == "b":  # PyTorch's max/min over dim take bool tensors (argmax/argmin do not)
        input = input.int()
    if largest:
        return MaxResult(values, argmax(input, d, keepdim))
    return MinResult(values, argmin(input, d, keepdim))


@numpy_aliases
def max(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Any:  # noqa: A001
    """The largest element, (values, indices) over dim, or with a tensor in dim's place
    (max(a, b)) the elementwise maximum, as torch.max."""
    return _max_min(input, dim, keepdim, True, "max")


@numpy_aliases
def min(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Any:  # noqa: A001
    """The smallest element, (values, indices) over dim, or with a tensor in dim's place
    (min(a, b)) the elementwise minimum, as torch.min."""
    return _max_min(input, dim, keepdim, False, "min")


def _argmax_argmin(op: str, input: Tensor, dim: int | None, keepdim: bool, largest: bool) -> Tensor:
    """argmax or argmin, as PyTorch's: not for bool tensors; IndexError for an empty tensor
    without dim or an empty dim; without dim, the index into the flattened input (shaped
    (1, ..., 1) with keepdim)."""
    _require_orderable(op, input)
    be = get_backend(input.device)
    reduce = be.argmax if largest else be.argmin
    d = None if dim is None else _dim(dim, input.ndim, op)
    if d is None or input.ndim == 0:
        if input.numel() == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
        flat = reduce(be.reshape(input._data, (-1,)), 0, False)
        return Tensor._make(be.reshape(flat, (1,) * input.ndim) if keepdim and d is None else flat, input.device)
    if input.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size (shape {input.shape})")
    return Tensor._make(reduce(input._data, d, keepdim), input.device)


@numpy_aliases
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """The int64 index of the largest element (the first of equal ones; NaN is the largest), over
    dim or of the flattened input, as torch.argmax."""
    return _argmax_argmin("argmax", input, dim, keepdim, True)


@numpy_aliases
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """The int64 index of the smallest element, as torch.argmin (see argmax)."""
    return _argmax_argmin("argmin", input, dim, keepdim, False)


def _count_nonzero(input: Tensor, dim: int | Sequence[int] | None, keepdim: bool, nonzero: bool) -> Tensor:
    be = get_backend(input.device)
    hits = be.astype(be.compare("ne" if nonzero else "eq", input._data, 0), int64)
    # dim=() reduces nothing here, as in PyTorch's any and all (sum's dim=() reduces everything)
    axes = () if isinstance(dim, (tuple, list)) and not dim else _dims(dim, input.ndim, "any/all")
    return Tensor._make(be.sum(hits, axes, keepdim), input.device)


@numpy_aliases
def any(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any element (over dim) is non-zero, as a bool tensor."""
    return _count_nonzero(input, dim, keepdim, True) > 0


@numpy_aliases
def all(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every element (over dim) is non-zero, as a bool tensor."""
    return _count_nonzero(input, dim, keepdim, False) == 0


def _var(input: Tensor, dim: Any, unbiased: bool | None, keepdim: bool, correction: float | None, op: str) -> Tensor:
    """var's value for op (var, std, var_mean or std_mean: the name its errors and its warning of
    degrees of freedom <= 0 give, as PyTorch's, the result then inf or nan)."""
    _require_float(op, input)
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: give unbiased or correction, not both")
    correction = (1 if unbiased is None or unbiased else 0) if correction is None else correction
    axes = _dims(dim, input.ndim, op)
    n = input.numel() if axes is None else math.prod(input.shape[a] for a in axes)
    if n - correction <= 0:
        warn_user(f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                  "factor (input numel divided by output numel).")
    centred = input - mean(input, axes, keepdim=True)
    return sum(centred * centred, axes, keepdim) / builtins.max(n - correction, 0)


@numpy_aliases
def var(
    input: Tensor,
    dim: int | Sequence[int] | None = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Variance over dim with Bessel's correction by default (correction=1, or unbiased=False for
    0), as torch.var; fewer elements than the correction give inf or nan (and a warning), as in
    PyTorch."""
    return name_node(_var(input, dim, unbiased, keepdim, correction, "var"), "VarBackward0")


@numpy_aliases
def std(
    input: Tensor,
    dim: int | Sequence[int] | None = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Standard deviation: the square root of var (same arguments)."""
    return name_node(_sqrt_of_variance(_var(input, dim, unbiased, keepdim, correction, "std")), "StdBackward0")


def _sqrt_of_variance(variance: Tensor) -> Tensor:
    """sqrt(variance) with gradient 0 where the variance is 0 (a constant slice), as PyTorch's std
    (sqrt's 1 / (2 * 0) times var's 0 would give nan)."""
    from minigrad.functional.elementwise import where

    zero = variance == 0
    return where(zero, 0.0, where(zero, 1.0, variance).sqrt())


@numpy_aliases
def var_mean(
    input: Tensor,
    dim: int | Sequence[int] | None = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> tuple[Tensor, Tensor]:
    """(var, mean) over dim, as torch.var_mean."""
    variance = _var(input, dim, unbiased, keepdim, correction, "var_mean")
    return name_node(variance, "VarMeanBackward0"), name_node(mean(input, dim, keepdim), "VarMeanBackward0")


@numpy_aliases
def std_mean(
    input: Tensor,
    dim: int | Sequence[int] | None = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> tuple[Tensor, Tensor]:
    """(std, mean) over dim, as torch.std_mean."""
    deviation = _sqrt_of_variance(_var(input, dim, unbiased, keepdim, correction, "std_mean"))
    return name_node(deviation, "StdMeanBackward0"), name_node(mean(input, dim, keepdim), "StdMeanBackward0")


@numpy_aliases
def count_nonzero(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """The number of non-zero elements over dim (None: all), int64."""
    _require_tensor("count_nonzero", input)
    return sum((input != 0).long(), dim)


class NormOp(Function):
    """The 2-norm; its gradient is 0 where the norm is 0 (x / |x| is 0 / 0 there), as PyTorch."""

    __slots__ = ("axes", "keepdim")

    def forward(self, a, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim
        be = self.be
        out = be.sqrt(be.sum(be.mul(a, a), axes, keepdim))
        self.saved = (a, out)
        return out

    def backward(self, g):
        a, out = self.saved
        be = self.be
        if not self.keepdim and self.axes is not None:
            shape = tuple(1 if i in self.axes else n for i, n in enumerate(a.shape))
            g, out = be.reshape(g, shape), be.reshape(out, shape)
        safe = be.where(be.compare("eq", out, 0), 1, out)
        return (be.mul(a, be.div(g, safe)),)


def norm(
    input: Tensor, p: float | str = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False
) -> Tensor:
    """The p-norm over dim (all elements when None): p = 2 or "fro" (the default), 1, inf, -inf, 0,
    or any other number, as torch.norm of a vector (a matrix is taken as its elements)."""
    _require_float("norm", input)
    axes = _dims(dim, input.ndim, "norm")
    if p in ("fro", 2, 2.0):
        return NormOp.apply(input, axes=axes, keepdim=keepdim)
    if isinstance(p, str):
        raise ArgumentError(f"norm: p must be a number or 'fro', got {p!r}")
    magnitude = input.abs()
    if p == 1:
        return sum(magnitude, axes, keepdim)
    if p in (math.inf, -math.inf):  # amax/amin: the gradient shared by equal elements, as PyTorch
        return (amax if p > 0 else amin)(magnitude, () if axes is None else axes, keepdim)
    if p == 0:
        return sum((magnitude != 0).to(input.dtype), axes, keepdim)
    # linalg.vector_norm's: zero elements (and an all-zero slice) take gradient 0, as PyTorch's,
    # where (sum |x|^p)^(1/p) would give inf * 0 = nan for p < 1 and at a zero norm
    from minigrad.linalg import vector_norm

    return vector_norm(input, p, axes, keepdim)


SortResult = _return_type("sort", ["values", "indices"])
TopkResult = _return_type("topk", ["values", "indices"])


@numpy_aliases
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
    """(values, indices) sorted along dim; the values are differentiable (indices are not). NaN
    sorts as the largest value (last ascending, first descending), as in PyTorch. The sort is
    always stable (equal elements keep their order, in both directions), which is what stable=True
    asks for and a valid answer to stable=False (PyTorch's gives the same for up to 16 elements)."""
    from minigrad.functional.shape import gather

    d = _dim(dim, builtins.max(input.ndim, 1), "sort")
    if input.ndim == 0:
        return SortResult(input, Tensor._make(get_backend(input.device).full((), 0, int64), input.device))
    be = get_backend(input.device)
    indices = Tensor._make(be.argsort(input._data, d, descending), input.device)
    return SortResult(name_node(gather(input, d, indices), "SortBackward0"), indices)


@numpy_aliases
def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 indices that sort input along dim, as torch.argsort (sort's indices)."""
    return sort(input, dim, descending, stable).indices


@numpy_aliases
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> TopkResult:  # noqa: A002
    """The k largest (or smallest) elements along dim and their indices, as torch.topk; NaN is the
    largest. Always sorted (sorted=False allows any order). Among equal elements, the indices are
    those PyTorch's CPU kernel returns: for slices whose k picked elements have a tie, its
    libstdc++ selection (minigrad/functional/_stl.py) is replayed on the host."""
    from minigrad.functional.shape import gather

    _require_orderable("topk", input)  # PyTorch's CPU topk refuses bool tensors
    d = _dim(dim, builtins.max(input.ndim, 1), "topk")
    size = input.shape[d] if input.ndim else 1
    if not 0 <= k <= size:
        raise ArgumentError(f"topk: k ({k}) out of range for size {size} of dim {dim}")
    if input.ndim == 0:
        return TopkResult(input, sort(input).indices)
    host = np.moveaxis(input._host(), d, -1)
    if k < size:
        # The k picked and the next one, found by a partial selection (numpy's, NaN above every
        # number), then ordered: a full sort of each slice cost 50x PyTorch's topk for top-5 of
        # 1000 classes. The order among equal values is settled below.
        cut = size - k - 1 if largest else k
        candidates = np.argpartition(host, cut, axis=-1)
        candidates = candidates[..., cut:] if largest else candidates[..., : k + 1]
        rank = np.argsort(np.take_along_axis(host, candidates, -1), axis=-1, kind="stable")
        order = np.take_along_axis(candidates, rank[..., ::-1] if largest else rank, -1)
    else:
        be = get_backend(input.device)
        order = np.moveaxis(be.to_numpy(be.argsort(input._data, d, largest)), d, -1)
    ordered = np.take_along_axis(host, order[..., : k + 1], -1)  # the k picked and the next one
    nan = ordered != ordered
    tied = (ordered[..., 1:] == ordered[..., :-1]) | (nan[..., 1:] & nan[..., :-1])
    picked = order[..., :k].copy()
    for row in np.argwhere(tied.any(-1)):
        keys = _ranks(host[tuple(row)])
        picked[tuple(row)] = topk_positions((-keys if largest else keys).tolist(), k)
    indices = _from_host(np.ascontiguousarray(np.moveaxis(picked, -1, d)), input)
    return TopkResult(name_node(gather(input, d, indices), "TopkBackward0"), indices)


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same elements, as torch.equal."""
    return input.shape == other.shape and bool(all(input == other))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """Elementwise input == other or |input - other| <= atol + rtol * |other| (broadcasting), as
    torch.isclose: equal infinities are close, NaN only to NaN with equal_nan; a bool tensor."""
    _require_tensor("isclose", input)
    _require_tensor("isclose", other)
    if input.dtype != other.dtype:
        raise RuntimeError(f"isclose: {input.dtype} did not match {other.dtype}")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol ({rtol}) and atol ({atol}) must be non-negative")
    from minigrad.functional.elementwise import where

    # only finite pairs are compared by their difference (inf is close to itself alone, by ==)
    finite = input.isfinite() & other.isfinite()
    error = (where(finite, input, 0) - where(finite, other, 0)).abs()
    close = (input == other) | (finite & error.isfinite() & (error <= atol + rtol * other.abs()))
    if equal_nan:
        close = close | ((input != input) & (other != other))
    return close


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether isclose(input, other) holds everywhere, as torch.allclose."""
    return bool(all(isclose(input, other, rtol, atol, equal_nan)))


# --- amax/amin, logsumexp, prod, cumsum --------------------------------------------------------


class AmaxOp(Function):
    """max (largest) or min over axes; the gradient is shared evenly by each slice's ties, as
    PyTorch's amax/amin."""

    __slots__ = ("axes",)

    def forward(self, a, largest, axes, keepdim):
        self.axes = axes
        be = self.be
        kept = (be.max if largest else be.min)(a, axes, True)
        self.saved = (a, kept)
        return kept if keepdim else be.reshape(kept, _drop(a.shape, axes))

    def backward(self, g):
        a, kept = self.saved
        be = self.be
        mask = be.astype(be.compare("eq", a, kept), g.dtype)
        share = be.div(be.reshape(g, kept.shape), be.sum(mask, self.axes, True))
        return (be.mul(mask, share),)


def _reduce_axes(dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...]:
    """The axes dim names, sorted; every axis for () or None (as torch.amax's default)."""
    axes = _dims(dim, ndim, op)
    return tuple(range(ndim)) if axes is None else axes


def _drop(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _amax_amin(op: str, input: Tensor, dim: int | Sequence[int], keepdim: bool, largest: bool) -> Tensor:
    axes = _reduce_axes(dim, input.ndim, op)
    for ax in axes:
        if input.shape[ax] == 0:
            # PyTorch's RuntimeError (an IndexError before)
            raise IndexRangeError(f"{op}: expected reduction dim {ax} to have non-zero size (shape {input.shape})")
    return AmaxOp.apply(input, largest=largest, axes=axes, keepdim=keepdim)


@numpy_aliases
def amax(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
    """The largest values over dim (int or tuple; () for all dimensions), as torch.amax: values
    only, the gradient split evenly among ties."""
    return _amax_amin("amax", input, dim, keepdim, True)


@numpy_aliases
def amin(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
    """The smallest values over dim, as torch.amin (see amax)."""
    return _amax_amin("amin", input, dim, keepdim, False)


@numpy_aliases
def logsumexp(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over dim (() for all), computed stably around the maximum; integer
    tensors give float32. Infinite maxima are not subtracted, so -inf and inf come out right."""
    from minigrad.functional.elementwise import _float, isinf, where

    x = _float(input)
    axes = _reduce_axes(dim, x.ndim, "logsumexp")
    if x.numel() == 0:  # log(0) = -inf, no maximum to shift by
        return sum(x.exp(), axes, keepdim).log()
    shift = amax(x.detach(), axes, keepdim=True)
    shift = where(isinf(shift), 0.0, shift)
    out = sum((x - shift).exp(), axes, keepdim=True).log() + shift
    return name_node(out if keepdim else out.reshape(_drop(x.shape, axes)), "LogsumexpBackward0")


def _scan_dim(input: Tensor, dim: int | None, op: str) -> tuple[Tensor, int]:
    """input (flattened when dim is None) and the dimension to scan or reduce along."""
    if dim is None:
        return input.reshape((-1,)), 0
    if input.ndim == 0:
        _dim(dim, 0, op)
        return input.reshape((1,)), 0
    return input, _dim(dim, input.ndim, op)


def _integer_to_int64(input: Tensor, dtype: Any) -> Tensor:
    """input in dtype when given; otherwise integers and bools as int64 (PyTorch's sum rules)."""
    from minigrad.functional.elementwise import cast

    if dtype is not None:
        return cast(input, dtype)
    return input if input.dtype.kind == "f" else cast(input, int64)


@numpy_aliases
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The product over dim (all elements when None), as torch.prod; integers give int64. Computed
    as a tree of elementwise products, so the gradient is exact where elements are zero."""
    from minigrad.functional.shape import cat, narrow

    x, d = _scan_dim(_integer_to_int64(input, dtype), dim, "prod")
    if x.shape[d] == 0:  # the empty product, 1, still taken from x (its gradient: empty), as PyTorch
        x = sum(x, d, keepdim=True) + 1
    while x.shape[d] > 1:
        n, half = x.shape[d], x.shape[d] // 2
        paired = narrow(x, d, 0, half) * narrow(x, d, half, half)
        x = cat([paired, narrow(x, d, n - 1, 1)], d) if n % 2 else paired
    if dim is None:
        return name_node(x.reshape((1,) * input.ndim if keepdim else ()), "ProdBackward0")
    kept = (1,) if keepdim else ()
    return name_node(x.reshape(input.shape[:d] + kept + input.shape[d + 1 :] if input.ndim else ()), "ProdBackward1")


def _scan(op: str, input: Tensor, dim: int, dtype: Any, combine: Any, identity: int) -> Tensor:
    """The running combine (an associative elementwise op with identity) along dim, integers as
    int64: a log-depth scan of elementwise ops, each x[i] = combine(x[i], x[i - step]) for
    step = 1, 2, 4, ... (the results may round differently from a sequential loop)."""
    from minigrad.functional.shape import pad

    x, d = _scan_dim(_integer_to_int64(input, dtype), dim, op)
    n, step = x.shape[d], 1
    after = x.ndim - 1 - d
    while step < n:
        x = combine(x, pad(x, (0, 0) * after + (step, -step), value=identity))
        step *= 2
    return x.reshape(input.shape)


class CumsumOp(Function):
    """Running sums along dim: floats through the scan kernels (in order into a double, as
    PyTorch's CPU cumsum, so float32 sums are PyTorch's bit for bit on either device), int64
    through numpy (CPU). The gradient is the running sum of g from the end."""

    __slots__ = ("dim",)

    def forward(self, a, dim):
        self.dim = dim
        return self.be.cumsum(a, dim) if a.dtype.kind == "f" else np.cumsum(a, axis=dim)

    def backward(self, g):
        return (self.be.cumsum(g, self.dim, reverse=True),)


@numpy_aliases
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sums along dim, as torch.cumsum; integers give int64. Sequential sums, float32
    accumulated in float64, so the sums are PyTorch's CPU ones, one autograd node."""
    x, d = _scan_dim(_integer_to_int64(input, dtype), dim, "cumsum")
    if input.device != "cpu" and x.dtype.kind != "f":  # int64 on a device: no kernel
        return _scan("cumsum", input, dim, dtype, operator.add, 0)
    return name_node(CumsumOp.apply(x, dim=d).reshape(input.shape), "CumsumBackward0")


@numpy_aliases
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running products along dim, as torch.cumprod; integers give int64. Made of elementwise
    products only (no division), so the gradient is exact also where elements are zero."""
    return name_node(_scan("cumprod", input, dim, dtype, operator.mul, 1), "CumprodBackward0")


class _LogcumsumexpOp(Function):
    """logcumsumexp along dim of a tensor of at least one dimension: forward a log-depth scan of
    logaddexp; backward PyTorch's formula (grad_i = sum over j >= i of g_j exp(x_i - y_j), summed in
    log space separately for positive and negative g), so the gradient is PyTorch's, NaN where it
    is (at outputs of -inf or inf)."""

    @staticmethod
    def scan(input: Tensor, dim: int) -> Tensor:
        from minigrad.functional.elementwise import logaddexp

        return _scan("logcumsumexp", input, dim, None, logaddexp, -math.inf)

    @staticmethod
    def forward(ctx: Any, input: Tensor, dim: int) -> Tensor:
        out = _LogcumsumexpOp.scan(input, dim)
        ctx.save_for_backward(input, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        from minigrad.functional.elementwise import where
        from minigrad.functional.shape import flip

        input, out = ctx.saved_tensors
        d = ctx.dim
        lowest = float(np.finfo(grad.dtype).min)
        with np.errstate(divide="ignore", invalid="ignore"):  # -inf and inf outputs give NaN, as PyTorch's
            log_abs = grad.abs().log()
            parts = []
            for mask in (grad > 0, grad < 0):
                log_grad = where(mask, log_abs, lowest) - out
                reverse = flip(_LogcumsumexpOp.scan(flip(log_grad, d), d), d)
                parts.append((reverse + input).exp())
        return parts[0] - parts[1], None


@numpy_aliases
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """Running log(sum(exp(input))) along dim, as torch.logcumsumexp: a log-depth scan of
    logaddexp, so no element overflows or underflows on another's scale (-inf entries add
    nothing). Differentiable (PyTorch's gradient); floating tensors only (NotImplementedError
    otherwise, as PyTorch)."""
    _require_tensor("logcumsumexp", input)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"logcumsumexp(): argument 'dim' (position 2) must be int, not {type(dim).__name__}")
    if input.dtype.kind != "f":
        raise NotImplementedError(f"logcumsumexp: not implemented for {input.dtype} tensors (floating ones only)")
    x, d = _scan_dim(input, int(dim), "logcumsumexp")
    out = _LogcumsumexpOp.apply(x, d)
    return out if x is input else out.reshape(input.shape)


CummaxResult = _return_type("cummax", ["values", "indices"])
CumminResult = _return_type("cummin", ["values", "indices"])


def _cummax_cummin(op: str, input: Tensor, dim: int, largest: bool) -> CummaxResult | CumminResult:
    """The running max (largest) or min along dim and where each was found: the last of equal
    values, and once a NaN is met the NaN (the last one), as PyTorch. The indices come from the
    host; the values are gathered at them, so the gradient goes to those elements."""
    from minigrad.functional.shape import gather

    _require_tensor(op, input)
    x, d = _scan_dim(input, dim, op)
    host = x._host()
    running = (np.maximum if largest else np.minimum).accumulate(host, axis=d)  # NaN propagates
    hit = (host == running) | ((host != host) & (running != running))
    positions = np.arange(x.shape[d]).reshape([-1 if i == d else 1 for i in range(x.ndim)])
    indices = _from_host(np.maximum.accumulate(np.where(hit, positions, 0), axis=d).astype(np.int64), x)
    result = CummaxResult if largest else CumminResult
    return result(gather(x, d, indices).reshape(input.shape), indices.reshape(input.shape))


@numpy_aliases
def cummax(input: Tensor, dim: int) -> CummaxResult:
    """(values, indices) of the running maximum along dim, as torch.cummax: ties give the last
    index, NaN propagates."""
    return _cummax_cummin("cummax", input, dim, True)


@numpy_aliases
def cummin(input: Tensor, dim: int) -> CumminResult:
    """(values, indices) of the running minimum along dim, as torch.cummin (see cummax)."""
    return _cummax_cummin("cummin", input, dim, False)


AminmaxResult = _return_type("aminmax", ["min", "max"])


@numpy_aliases
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> AminmaxResult:
    """(min, max) of all elements or over dim, as torch.aminmax: amin and amax, so the gradient
    is shared by equal elements."""
    dims = () if dim is None else dim
    return AminmaxResult(amin(input, dims, keepdim), amax(input, dims, keepdim))


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix, as torch.trace; integers give int64."""
    _require_tensor("trace", input)
    if input.ndim != 2:
        raise ShapeError(f"trace: expected a matrix, got a tensor of shape {input.shape}")  # RuntimeError too
    diagonal = np.arange(builtins.min(input.shape))
    return sum(input[diagonal, diagonal])


MedianResult = _return_type("median", ["values", "indices"])
NanmedianResult = _return_type("nanmedian", ["values", "indices"])
KthvalueResult = _return_type("kthvalue", ["values", "indices"])
ModeResult = _return_type("mode", ["values", "indices"])


def _slices(input: Tensor, dim: int, op: str) -> tuple[Tensor, int]:
    """For the ops that pick one element of each slice along dim: input as at least 1-D (a 0-d
    tensor is one slice of one element) and dim as non-negative; IndexError when that dim is empty."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    x, d = _scan_dim(input, int(dim), op)
    if x.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size (shape {input.shape})")
    return x, d


def _picked(result: Any, input: Tensor, x: Tensor, d: int, positions: np.ndarray, keepdim: bool) -> Any:
    """result(values, indices) for the elements of x at positions (host integers, one per slice
    along d): the values are gathered there, so the gradient goes to those elements. d is dropped
    unless keepdim; a 0-d input gives 0-d results."""
    from minigrad.functional.shape import gather

    indices = _from_host(np.ascontiguousarray(positions, dtype=np.int64), x)
    values = gather(x, d, indices)
    if keepdim and input.ndim:
        return result(values, indices)
    return result(values.squeeze(d), indices.squeeze(d))


def _require_orderable(op: str, input: Tensor) -> None:
    """input is a tensor whose elements sort (not bool, as PyTorch's CPU kernels)."""
    _require_tensor(op, input)
    if input.dtype.kind == "b":  # PyTorch's NotImplementedError or RuntimeError (a TypeError before)
        raise NoKernelForDtypeError(f"{op}: not defined for bool tensors")


def _median(op: str, input: Tensor, dim: int | None, keepdim: bool, ignore_nan: bool) -> Any:
    """median (ignore_nan False) or nanmedian: the lower middle value of the numbers, or NaN for
    median when there is a NaN and for nanmedian when there are only NaNs."""
    _require_orderable(op, input)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}: keepdim needs a dim")
        flat = input.reshape((-1,))
        host = flat._host()
        if host.size == 0:
            if input.dtype.kind != "f":
                raise RuntimeError(f"{op}: an empty {input.dtype} tensor has no median (it has no NaN)")
            return mean(flat)  # NaN, as PyTorch's median of no elements
        nan = np.isnan(host)
        numbers = host[~nan]
        if (numbers.size == 0) if ignore_nan else nan.any():  # the result is NaN
            ties = nan
        else:
            middle = (numbers.size - 1) // 2
            ties = host == np.partition(numbers, middle)[middle]
        return max(flat[np.flatnonzero(ties)])  # equal values: max shares the gradient among them
    x, d = _slices(input, dim, op)
    n = x.shape[d]
    host = np.moveaxis(x._host(), d, -1)
    nans = np.isnan(host).sum(axis=-1, keepdims=True)
    if ignore_nan:  # a slice of NaNs only: its first NaN
        picked = np.maximum(n - nans - 1, 0) // 2
    else:  # the first NaN sorts after the numbers
        picked = np.where(nans > 0, n - nans, (n - 1) // 2)
    # The element a stable sort puts at `picked`: the value by numpy's partial selection (NaN
    # last; a stable sort of each slice cost 4x PyTorch's median), then among the elements equal
    # to it (NaNs equal to each other) the one of its rank in index order.
    value = np.take_along_axis(np.partition(host, np.unique(picked), axis=-1), picked, -1)
    nan_value = value != value
    equal = (host == value) | ((host != host) & nan_value)
    below = np.where(nan_value, n - nans, (host < value).sum(axis=-1, keepdims=True))
    rank = np.cumsum(equal, axis=-1) - 1
    positions = np.argmax(equal & (rank == picked - below), axis=-1, keepdims=True)
    result = NanmedianResult if ignore_nan else MedianResult
    return _picked(result, input, x, d, np.moveaxis(positions, -1, d), keepdim)


@numpy_aliases
def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | MedianResult:
    """The median, as torch.median: the lower of the two middle values for an even count, NaN when
    there is a NaN. Without dim, that of all elements (NaN for none), its gradient shared evenly by
    the elements equal to it (or by the NaNs), as PyTorch. With dim, (values, indices) along dim,
    the gradient going to the index: as PyTorch's CPU kernel, the index of the middle element of a
    stable sort (equal values keep their order), or of the first NaN."""
    return _median("median", input, dim, keepdim, False)


@numpy_aliases
def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | NanmedianResult:
    """The median of the numbers, NaNs left out, as torch.nanmedian (see median); NaN where there
    are only NaNs. Along dim, the index of the middle number in a stable sort, as PyTorch's CPU
    kernel; for a slice of NaNs only, that of its first NaN (PyTorch's depends on its C++ library)."""
    return _median("nanmedian", input, dim, keepdim, True)


def _ranks(values: np.ndarray) -> np.ndarray:
    """The rank of each of the 1-D values among the distinct ones (int64, from 0), NaN above every
    number and equal to NaN: keys that compare as PyTorch's CPU kernels compare the values."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    nan = ordered != ordered
    step = (ordered[1:] != ordered[:-1]) & ~(nan[1:] & nan[:-1])  # NaNs are equal to each other here
    keys = np.empty(values.size, np.int64)
    keys[order] = np.concatenate([[0], np.cumsum(step)])
    return keys


def _quickselect(values: np.ndarray, k: int) -> int:
    """The index of the element PyTorch's CPU kthvalue picks from the 1-D values: the one its
    quickselect (Hoare partitioning around a median of three, NaN above everything) leaves at
    position k. Which of equal elements that is depends on the whole slice, so it is replayed."""
    arr, idx = _ranks(values).tolist(), list(range(values.size))

    def swap(a: int, b: int) -> None:
        arr[a], arr[b] = arr[b], arr[a]
        idx[a], idx[b] = idx[b], idx[a]

    lo, hi = 0, values.size - 1
    while hi > lo:
        if hi == lo + 1:
            if arr[lo] > arr[hi]:
                swap(lo, hi)
            break
        swap((lo + hi) // 2, lo + 1)  # the middle element to lo + 1, then the median of three to lo
        if arr[lo + 1] > arr[hi]:
            swap(lo + 1, hi)
        if arr[lo] > arr[hi]:
            swap(lo, hi)
        if arr[lo + 1] > arr[lo]:
            swap(lo + 1, lo)
        i, j, pivot = lo + 1, hi, arr[lo]
        while True:
            i += 1
            while pivot > arr[i]:
                i += 1
            j -= 1
            while arr[j] > pivot:
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
    return idx[k]


@numpy_aliases
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> KthvalueResult:
    """(values, indices) of the k-th smallest element (k from 1) along dim, NaN above every number,
    as torch.kthvalue; the values are differentiable (to the index). Among equal elements, the index
    is the one PyTorch's CPU kernel returns (its quickselect is replayed on the host for such slices)."""
    _require_orderable("kthvalue", input)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"kthvalue: k must be an int, got {type(k).__name__}")
    x, d = _slices(input, dim, "kthvalue")
    n = x.shape[d]
    if not 1 <= k <= n:
        raise ArgumentError(f"kthvalue: k ({k}) out of range for size {n} of dim {dim}")
    host = np.moveaxis(x._host(), d, -1)
    # numpy's partial selection (NaN above every number): a stable sort of each slice cost 5x
    # PyTorch's kthvalue; which of equal elements PyTorch picks is settled below
    indices = np.argpartition(host, k - 1, axis=-1)[..., k - 1 : k]
    kth = np.take_along_axis(host, indices, -1)
    same = (host == kth) | ((host != host) & (kth != kth))
    for tied in np.argwhere(same.sum(-1) > 1):
        indices[tuple(tied)] = _quickselect(host[tuple(tied)], int(k) - 1)
    return _picked(KthvalueResult, input, x, d, np.moveaxis(indices, -1, d), keepdim)


@numpy_aliases
def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> ModeResult:
    """(values, indices) of the most frequent value along dim (the smallest of equally frequent
    ones), as torch.mode; the values are differentiable (to the index). The index is that of its
    last occurrence, which is what PyTorch's CPU kernel returns for slices of up to 16 elements
    (for longer ones, its choice among equal elements follows its C++ library's unstable sort). A
    NaN equals nothing and compares neither less nor greater, so PyTorch's sort leaves it (and
    what it separates) in place: a slice of up to 16 elements with a NaN follows that order, as
    PyTorch's (a NaN is the mode only where it comes first among equally frequent values)."""
    _require_tensor("mode", input)
    x, d = _slices(input, dim, "mode")
    host = np.moveaxis(x._host(), d, -1)
    order = np.argsort(host, axis=-1, kind="stable")  # equal values keep their order, NaNs last
    ordered = np.take_along_axis(host, order, -1)
    positions = np.arange(host.shape[-1])
    starts = np.concatenate([np.ones(host.shape[:-1] + (1,), bool), ordered[..., 1:] != ordered[..., :-1]], -1)
    run = positions - np.maximum.accumulate(np.where(starts, positions, 0), axis=-1) + 1  # length so far
    last = np.argmax(run == run.max(-1, keepdims=True), -1)[..., None]  # the end of the first longest run
    chosen = np.take_along_axis(order, last, -1)
    if host.dtype.kind == "f" and host.shape[-1] <= 16:
        for at in np.argwhere(np.isnan(host).any(-1)):
            chosen[tuple(at)] = _mode_with_nans(host[tuple(at)])
    return _picked(ModeResult, input, x, d, np.moveaxis(chosen, -1, d), keepdim)


def _mode_with_nans(values: np.ndarray) -> int:
    """The index PyTorch's CPU mode picks in a slice of up to 16 values with a NaN: its sort of
    (value, index) pairs by value (libstdc++'s insertion sort for so few, with < false for any
    NaN), then the last element of the first longest run of equal neighbours (NaN != NaN)."""
    pairs: list[tuple[float, int]] = []
    for pair in zip(values.tolist(), range(len(values)), strict=True):
        if pairs and pair[0] < pairs[0][0]:
            pairs.insert(0, pair)
            continue
        j = len(pairs)
        while j and pair[0] < pairs[j - 1][0]:
            j -= 1
        pairs.insert(j, pair)
    best, chosen, count = 0, 0, 0
    for i, (value, index) in enumerate(pairs):
        count += 1
        if i == len(pairs) - 1 or value != pairs[i + 1][0]:
            if count > best:
                best, chosen = count, index
            count = 0
    return chosen


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")
_ROUNDINGS = {"lower": np.floor, "higher": np.ceil, "nearest": np.rint}  # rint: halves to even, as PyTorch


def _quantile(
    op: str, input: Tensor, q: float | Tensor, dim: int | None, keepdim: bool, interpolation: str, ignore_nan: bool
) -> Tensor:
    """quantile (NaN for slices with a NaN) or nanquantile (the NaNs left out): PyTorch's method,
    ranks q * (count - 1) into each sorted slice, computed in input's dtype, then interpolated."""
    from minigrad.functional.elementwise import lerp, where
    from minigrad.functional.shape import gather, movedim

    _require_float(op, input)
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, got {interpolation!r}")
    if isinstance(q, Tensor):
        _require_same_device(op, input, q)
        if q.ndim > 1:
            raise ShapeError(f"{op}: q must be a scalar or 1-D tensor, got shape {q.shape}")
        if q.dtype != input.dtype:
            raise DtypeError(f"{op}: q must have input's dtype {input.dtype}, got {q.dtype}")
        given = q._host()
    elif isinstance(q, (int, float, np.integer, np.floating)) and not isinstance(q, bool):
        given = np.float64(q)
        q = Tensor._make(get_backend(input.device).full((), given, input.dtype), input.device)
    else:
        raise TypeError(f"{op}: q must be a float or a tensor, got {type(q).__name__}")
    if not np.all((given >= 0) & (given <= 1)):
        raise ArgumentError(f"{op}: q values must be in the range [0, 1], got {given}")
    if input.numel() == 0:
        raise ArgumentError(f"{op}: input tensor must be non-empty")
    x, d = _scan_dim(input, None, op) if dim is None else _slices(input, dim, op)
    n, host = x.shape[d], x._host()
    nans = np.isnan(host).sum(axis=d, keepdims=True)
    along = q.reshape(tuple(-1 if i == d else 1 for i in range(x.ndim)))  # the q's along d
    if ignore_nan:  # ranks among the numbers; a slice of NaNs only: rank 0, its NaN
        ranks = along * _from_host((n - nans - 1).astype(input.dtype), x)
        ranks = where(ranks < 0, 0.0, ranks)
    else:  # a slice with a NaN: the last rank, a NaN (NaNs sort last)
        ranks = where(_from_host(nans > 0, x), float(n - 1), along * (n - 1))
    exact = ranks._host()
    below = (_ROUNDINGS[interpolation](exact) if interpolation in _ROUNDINGS else exact).astype(np.int64)
    order = np.argsort(host, axis=d, kind="stable")
    values = gather(x, d, _from_host(np.take_along_axis(order, below, d), x))
    if interpolation in ("linear", "midpoint"):
        above = gather(x, d, _from_host(np.take_along_axis(order, np.ceil(exact).astype(np.int64), d), x))
        weight = 0.5 if interpolation == "midpoint" else ranks - _from_host(below.astype(input.dtype), x)
        values = lerp(values, above, weight)  # linear: differentiable in q too, as PyTorch
    if dim is not None and input.ndim:
        reduced = input.shape[:d] + ((1,) if keepdim else ()) + input.shape[d + 1 :]
    else:
        reduced = (1,) * input.ndim if keepdim else ()
    return movedim(values, d, 0).reshape(((q.numel(),) if q.ndim else ()) + reduced)


@numpy_aliases
def quantile(
    input: Tensor, q: float | Tensor, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"
) -> Tensor:
    """The q-th quantiles (q a float or a 1-D tensor of them, in [0, 1]) of all elements or along
    dim, as torch.quantile: interpolation "linear", "lower", "higher", "midpoint" or "nearest"
    between the sorted values; a 1-D q gives its dimension first. NaN for slices with a NaN.
    Differentiable in input (to the elements used) and, for "linear", in a tensor q."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@numpy_aliases
def nanquantile(
    input: Tensor, q: float | Tensor, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"
) -> Tensor:
    """quantile with the NaNs left out, as torch.nanquantile; NaN for slices of NaNs only."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# --- unique, bincount, histc, searchsorted: on the host, results on input's device (not differentiable) ---


def unique(
    input: Tensor,
    sorted: bool = True,  # noqa: A002 (PyTorch's name)
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Tensor | tuple[Tensor, ...]:
    """The distinct values of input in ascending order (flattened, or the distinct slices along
    dim); with return_inverse each element's position among them (input's shape, or dim's
    length), with return_counts how often each occurs, as torch.unique."""
    _require_tensor("unique", input)
    axis = None if dim is None else _dim(dim, input.ndim, "unique")
    # equal_nan=False: every NaN is distinct, as PyTorch's (numpy's default merges them)
    values, inverse, counts = np.unique(input._host(), return_inverse=True, return_counts=True, axis=axis,
                                        equal_nan=False)
    inverse = inverse.reshape(input.shape if axis is None else (input.shape[axis],))
    out = [values] + ([inverse.astype(np.int64)] if return_inverse else []) + (
        [counts.astype(np.int64)] if return_counts else [])
    # reshaped back: ascontiguousarray makes a 0-d inverse (of a 0-d input) 1-D
    tensors = tuple(_from_host(np.ascontiguousarray(a).reshape(a.shape), input) for a in out)
    return tensors[0] if len(tensors) == 1 else tensors


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in the 1-D non-negative integer input (summing
    weights instead of ones when given), at least minlength long, as torch.bincount."""
    _require_tensor("bincount", input)
    values = input._host()
    if values.dtype.kind not in "iub":
        raise NotImplementedArgumentError(f"bincount: input must be 1-D non-negative integers, got {input.dtype}")
    if input.ndim != 1 or (values.size and values.min() < 0):
        raise ArgumentError(f"bincount: input must be 1-D non-negative integers, got {input.dtype} {input.shape}")
    if minlength < 0:
        raise ArgumentError(f"bincount: minlength must be >= 0, got {minlength}")
    if weights is not None and tuple(weights.shape) != tuple(input.shape):
        raise ArgumentError(f"bincount: weights must have input's shape {input.shape}, got {weights.shape}")
    w = None if weights is None else weights._host()
    counts = np.bincount(values.astype(np.int64), w, minlength)
    # as PyTorch: float32 weights sum in float32 (numpy gives float64), integer weights in float64
    dtype = np.int64 if w is None else (np.float32 if w.dtype == np.float32 else np.float64)
    return _from_host(counts.astype(dtype), input)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """How many elements fall in each of bins equal-width bins between min and max (the data's
    smallest and largest value when min == max, widened by 1 each way when those are equal too),
    as torch.histc: elements outside (and NaNs) are left out, max falls in the last bin; a tensor
    of input's floating dtype. Positions are computed in input's dtype, as PyTorch's CPU kernel."""
    _require_float("histc", input, error=NoKernelForDtypeError)
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins <= 0:
        raise ArgumentError(f"histc: bins must be a positive int, got {bins!r}")
    host = input._host().reshape(-1)
    low, high = float(min), float(max)
    if low == high and host.size:
        low, high = float(host.min()), float(host.max())
    if low == high:
        low, high = low - 1, high + 1
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ArgumentError(f"histc: range of [{low}, {high}] is not finite")
    if low > high:
        raise ArgumentError(f"histc: max ({high}) must be larger than min ({low})")
    left, right = host.dtype.type(low), host.dtype.type(high)
    inside = host[(host >= left) & (host <= right)]
    position = ((inside - left) * host.dtype.type(bins) / (right - left)).astype(np.int64)
    counts = np.bincount(np.minimum(position, bins - 1), minlength=bins)  # max: in the last bin
    return _from_host(counts.astype(host.dtype), input)


HistogramResult = _return_type("histogram", ["hist", "bin_edges"])


def histogram(
    input: Tensor,
    bins: int | Tensor = 100,
    *,
    range: tuple[float, float] | None = None,  # noqa: A002 (PyTorch's name)
    weight: Tensor | None = None,
    density: bool = False,
) -> HistogramResult:
    """(hist, bin_edges) of input's values, as torch.histogram: bins equal-width bins over range
    (the data's smallest to largest value by default, widened by 0.5 each way when those are
    equal) or the given increasing bin edges; the last bin includes its right edge. weight gives
    each element's contribution instead of 1; density=True normalizes hist to integrate to 1.
    Float input only, as PyTorch; both results in input's dtype."""
    _require_float("histogram", input, weight, bins if isinstance(bins, Tensor) else None,
                   error=NoKernelForDtypeError)
    if isinstance(bins, Tensor):
        edges = bins._host().astype(input.dtype)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) < 0):
            raise RuntimeError(f"histogram: bins must be a 1-D tensor of at least 2 increasing edges, got {bins.shape}")
    elif isinstance(bins, (bool, np.bool_)) or not isinstance(bins, (int, np.integer)) or bins <= 0:
        raise RuntimeError(f"histogram: bins must be > 0, but got {bins!r}")
    else:
        edges = int(bins)
    if range is not None and range[0] > range[1]:
        raise RuntimeError(f"histogram: min should not exceed max, but got min {range[0]} max {range[1]}")
    if weight is not None and weight.shape != input.shape:
        raise RuntimeError(
            f"histogram: weight should have the same shape as input, got {weight.shape} and {input.shape}"
        )
    host = input._host()
    w = None if weight is None else weight._host()
    hist, bin_edges = np.histogram(host, edges, range=range, weights=w, density=density)
    return HistogramResult(*(_from_host(a.astype(input.dtype), input) for a in (hist, bin_edges)))


def _search_rows(boundaries: np.ndarray, values: np.ndarray, sorter: np.ndarray | None, right: bool) -> np.ndarray:
    """For each row of values (rows, m), where its elements fall in the same row of boundaries
    (rows, n), read through sorter's positions when given: PyTorch's binary search, run on all
    elements at once, so NaNs and unsorted boundaries give what PyTorch's CPU kernel gives."""
    n = boundaries.shape[1]
    start = np.zeros(values.shape, np.int64)
    end = np.full(values.shape, n, np.int64)
    while (start < end).any():
        active = start < end
        middle = start + (end - start) // 2
        probe = np.minimum(middle, n - 1)
        pivot = np.take_along_axis(boundaries, probe if sorter is None else np.take_along_axis(sorter, probe, 1), 1)
        after = ~(pivot > values) if right else ~(pivot >= values)  # NaN compares False: search on to the right
        start = np.where(active & after, middle + 1, start)
        end = np.where(active & ~after, middle, end)
    return start


def _searchsorted(op: str, boundaries: Tensor, values: Any, out_int32: bool, right: bool, sorter: Any) -> Tensor:
    """searchsorted's work, its errors naming op."""
    _require_tensor(op, boundaries)
    if out_int32:
        raise TypeError(f"{op}: out_int32=True asks for int32 indices, which minigrad does not have (it gives int64)")
    if boundaries.ndim == 0:
        raise ShapeError(f"{op}: the sorted sequence must have at least one dimension, got a 0-d tensor")
    if isinstance(values, Tensor):
        _require_same_device(op, boundaries, values)
        points = values._host()
    elif isinstance(values, (int, float, np.integer, np.floating)):
        points = np.asarray(values, dtype=int64 if isinstance(values, (int, np.integer)) else get_default_dtype())
    else:
        raise TypeError(f"{op}: values must be a tensor or a number, got {type(values).__name__}")
    lead = boundaries.shape[:-1]
    if lead and (points.ndim != boundaries.ndim or points.shape[:-1] != lead):
        raise ShapeError(f"{op}: the sorted sequence must be 1-D or share all but its last dimension with values, "
                         f"got shapes {boundaries.shape} and {points.shape}")
    if "b" in (boundaries.dtype.kind, points.dtype.kind):  # PyTorch's NotImplementedError
        raise NoKernelForDtypeError(f"{op}: not defined for bool tensors")
    order = None
    if sorter is not None:
        _require_same_device(op, boundaries, sorter)
        if sorter.dtype != int64:
            raise DtypeError(f"{op}: sorter must be an int64 tensor, got {sorter.dtype}")
        if sorter.shape != boundaries.shape:
            raise ShapeError(f"{op}: sorter must have the sequence's shape {boundaries.shape}, got {sorter.shape}")
        order = sorter._host().reshape(math.prod(lead), boundaries.shape[-1])
        if order.size and (order.min() < 0 or order.max() >= boundaries.shape[-1]):
            raise IndexError(f"{op}: sorter index out of range for size {boundaries.shape[-1]}")
    rows, common = math.prod(lead), _result_dtype(boundaries.dtype, points.dtype)
    found = _search_rows(boundaries._host().astype(common).reshape(rows, boundaries.shape[-1]),
                         points.astype(common).reshape(rows, points.shape[-1] if lead else points.size), order, right)
    return _from_host(found.reshape(points.shape), boundaries)


def searchsorted(
    sorted_sequence: Tensor,
    values: Tensor | float,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Tensor | None = None,
) -> Tensor:
    """Where each of values would be inserted into sorted_sequence's last dimension to keep it
    sorted (before equal elements, or after them with right=True or side="right"), as
    torch.searchsorted: sorted_sequence is 1-D, or shares its leading dimensions with values; a
    number as values needs a 1-D sequence and gives a 0-d result. sorter: the int64 positions that
    sort an unsorted sequence. int64 indices (minigrad has no int32, so out_int32=True raises); the
    order is not checked, as PyTorch."""
    if side is not None:
        if side not in ("left", "right"):
            raise ArgumentError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ArgumentError("searchsorted: side='left' and right=True contradict each other")
        right = side == "right"
    return _searchsorted("searchsorted", sorted_sequence, values, out_int32, right, sorter)


def bucketize(input: Tensor | float, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The index of the bucket each element of input falls in, between the 1-D sorted boundaries
    (boundaries[i - 1] < x <= boundaries[i], or <= and < with right=True), as torch.bucketize:
    searchsorted(boundaries, input)."""
    _require_tensor("bucketize", boundaries)
    if boundaries.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-D, got shape {boundaries.shape}")
    return _searchsorted("bucketize", boundaries, input, out_int32, right, None)
