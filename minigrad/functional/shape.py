"""Shape ops (reshape, permute, expand, squeeze, ...), indexing (and nonzero, masked_select) and
joining (cat, stack, meshgrid); at the end, PyTorch's functions composed from them and from
matmul and the reductions (rot90, unfold, the *_scatter ops, tensordot, trapezoid, cov, renorm,
addmv/addr/addbmm/baddbmm, ...) and scatter_reduce / index_reduce."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import Function, name_node, no_grad
from minigrad.backend import get_backend
from minigrad.functional._common import (
    ArgumentError,
    DimIndexError,
    DtypeError,
    IndexRangeError,
    NoKernelForDtypeError,
    NotImplementedArgumentError,
    ShapeError,
    UnsupportedDtypeError,
    _broadcast_shape,
    _dim,
    _from_host,
    _require_same_device,
    _require_tensor,
    _result_dtype,
    _sum_to,
    assign,
    numpy_aliases,
)
from minigrad.functional.elementwise import cast, clone, where
from minigrad.tensor import Size, Tensor, _is_copy, bool_, int64, warn_user

# --- shape -----------------------------------------------------------------------------------


class ReshapeOp(Function):
    __slots__ = ()

    def forward(self, a, shape):
        self.saved = (a.shape,)
        return self.be.reshape(a, shape)

    def backward(self, g):
        return (self.be.reshape(g, self.saved[0]),)


class PermuteOp(Function):
    __slots__ = ("axes",)

    def forward(self, a, axes):
        self.axes = axes
        return self.be.permute(a, axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return (self.be.permute(g, tuple(inverse)),)


class ExpandOp(Function):
    __slots__ = ()

    def forward(self, a, shape):
        self.saved = (a.shape,)
        return self.be.expand(a, shape)

    def backward(self, g):
        return (_sum_to(self.be, g, self.saved[0]),)


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """input with a new shape (one entry may be -1); a view where possible."""
    shape = tuple(map(int, shape))
    if -1 in shape:
        known = -math.prod(shape)  # the other sizes' product, when -1 is the one negative size
        valid = shape.count(-1) == 1 and known > 0 and input._data.size % known == 0
    else:
        valid = math.prod(shape) == input._data.size
    if not valid or min(shape, default=0) < -1:
        raise ShapeError(f"reshape: shape {shape} is invalid for input of shape {input.shape}")
    out = ReshapeOp.apply(input, shape=shape)
    if out.grad_fn is not None and not input.is_contiguous():  # PyTorch's nodes: a copy's, or a strided view's
        name_node(out, "UnsafeViewBackward0" if _is_copy(out, input) else "ReshapeAliasBackward0")
    return out


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dimensions start_dim..end_dim merged into one."""
    if input.ndim == 0:
        return reshape(input, (1,))
    s, e = _dim(start_dim, input.ndim, "flatten"), _dim(end_dim, input.ndim, "flatten")
    if s > e:
        raise ArgumentError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    if s == e:  # nothing to merge: input itself, as PyTorch (x.flatten() of a 1-D x is x)
        return input
    shape = input.shape
    return reshape(input, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Dimension dim split into sizes (one of them may be -1, inferred), as torch.unflatten: the
    inverse of flatten; a view."""
    if input.ndim == 0:
        raise IndexError("unflatten: dimension specified as 0 but tensor has no dimensions")
    d = _dim(dim, input.ndim, "unflatten")
    sizes = tuple(operator.index(s) for s in sizes)
    if not sizes:
        raise ArgumentError("unflatten: sizes must be non-empty")
    n, known = input.shape[d], math.prod(s for s in sizes if s != -1)
    inferable = sizes.count(-1) == 1 and known > 0 and n % known == 0
    if not (inferable or (-1 not in sizes and known == n)):
        raise ShapeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size {n} of dim {dim} "
                         f"(shape {input.shape})")
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1 :])


@numpy_aliases
def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Size-1 dimensions removed: all, or those of dim (an int or a tuple of them) that have size 1."""
    shape = input.shape
    if dim is None:
        new = tuple(n for n in shape if n != 1)
    else:
        dims = {_dim(d, input.ndim, "squeeze") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        new = tuple(n for i, n in enumerate(shape) if not (input.ndim and i in dims and n == 1))
    # a new view even when nothing is squeezed, as PyTorch, whose node names the form of dim
    node = "SqueezeBackward0" if dim is None else f"SqueezeBackward{2 if isinstance(dim, (tuple, list)) else 1}"
    return name_node(ReshapeOp.apply(input, shape=new), node)


@numpy_aliases
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A size-1 dimension inserted at dim (dim in [-ndim-1, ndim])."""
    d = _dim(dim, input.ndim + 1, "unsqueeze")
    shape = input.shape
    return name_node(ReshapeOp.apply(input, shape=shape[:d] + (1,) + shape[d:]), "UnsqueezeBackward0")


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    axes = tuple(_dim(int(d), input.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(input.ndim)):
        raise ShapeError(
            f"permute: dims {tuple(dims)} are not a permutation of the {input.ndim} dimensions of shape {input.shape}"
        )
    return PermuteOp.apply(input, axes=axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    axes = list(range(input.ndim))
    d0, d1 = _dim(dim0, input.ndim, "transpose"), _dim(dim1, input.ndim, "transpose")
    if axes:  # a 0-d tensor takes dims 0 and -1, as PyTorch, and stays as it is
        axes[d0], axes[d1] = axes[d1], axes[d0]
    return name_node(PermuteOp.apply(input, axes=tuple(axes)), "TransposeBackward0")


def expand(input: Tensor, shape: Sequence[int]) -> Tensor:
    """input broadcast to shape (-1 keeps a dimension); a view."""
    lead = len(shape) - input.ndim
    if lead < 0:
        raise ShapeError(f"expand: shape {tuple(shape)} has fewer dimensions than {input.shape}")
    full = tuple(input.shape[i - lead] if s == -1 else int(s) for i, s in enumerate(shape))
    try:
        np.broadcast_shapes(input.shape, full)
    except ValueError:
        raise ShapeError(f"expand: cannot expand shape {input.shape} to {full}") from None
    return ExpandOp.apply(input, shape=full)


# --- indexing and joining ----------------------------------------------------------------------


def _index_array(index: Any) -> Any:
    """A tensor index's array; a uint8 tensor (old code's ByteTensor masks) is a mask, as in
    PyTorch, which warns that this is deprecated: indexing with its 0/1 values would silently
    pick elements 0 and 1 instead."""
    if not isinstance(index, Tensor):
        return index
    if index.dtype == np.uint8:
        warn_user("indexing with dtype uint8 is now deprecated, please use a dtype bool instead.")
        return get_backend(index.device).astype(index._data, np.bool_)
    return index._data


def _index_arrays(index: Any) -> Any:
    """An index with tensors replaced by their arrays. A list of fewer than 32 items holding a
    tensor, a sequence, a slice, None or Ellipsis is a tuple of indices, as PyTorch's (and old
    numpy's) rule: x[[rows, cols]] with tensors rows and cols is x[rows, cols]."""
    if isinstance(index, list) and len(index) < 32 and any(
            isinstance(i, (Tensor, list, tuple, slice, np.ndarray)) or i is None or i is Ellipsis for i in index):
        warn_user("Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in "
                  "pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as "
                  "tensor index, x[torch.tensor(seq)], which will result either in an error or a different result")
        index = tuple(index)
    if isinstance(index, tuple):
        return tuple(_index_array(i) for i in index)
    return _index_array(index)


def _is_basic(index: Any) -> bool:
    """Only ints, slices, None and Ellipsis: each element is picked at most once."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class IndexOp(Function):
    """input[index]; the gradient is scattered back (np.add.at for integer arrays, so repeated
    indices accumulate)."""

    __slots__ = ("index",)

    def forward(self, a, index):
        self.index = index
        self.saved = (a.shape, a.dtype)
        return self.be.getitem(a, index)

    def _torch_name(self) -> str:
        """PyTorch's node for basic indexing is that of its last step that changes something:
        SelectBackward0 for an int (x[0], x[:, 0]), SliceBackward0 for a slice (x[1:3]),
        UnsqueezeBackward0 for None (x[None]), AliasBackward0 when no step does (x[:, :]);
        advanced indexing (x[[0, 2]], x[mask]) is IndexBackward0."""
        if not _is_basic(self.index):
            return "IndexBackward0"
        if isinstance(self.index, slice):  # x[:] alone is a slice in PyTorch too
            return "SliceBackward0"
        for item in reversed(self.index if isinstance(self.index, tuple) else (self.index,)):
            if item is None:
                return "UnsqueezeBackward0"
            if isinstance(item, slice) and item != slice(None):
                return "SliceBackward0"
            if not isinstance(item, slice) and item is not Ellipsis:
                return "SelectBackward0"
        return "AliasBackward0"

    def backward(self, g):
        shape, dtype = self.saved
        be = self.be
        if _is_basic(self.index):
            out = be.full(shape, 0, dtype)
            be.assign(out, self.index, g)
            return (out,)
        return (be.index_add(shape, dtype, self.index, g),)


class CatOp(Function):
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
        return IndexOp.apply(input, index=_index_arrays(idx))
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor shape {input.shape})") from None


def _tensor_list(op: str, tensors: Sequence[Tensor]) -> list[Tensor]:
    """cat's and stack's argument as a non-empty list of Tensors, with PyTorch's TypeErrors for
    a lone Tensor or an element that is no Tensor (a numpy array, a list)."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not Tensor")
    tensors = list(tensors)
    if not tensors:
        # PyTorch: ValueError for cat([]), RuntimeError for stack([]); ArgumentError is both
        raise ArgumentError(f"{op}: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return tensors


@numpy_aliases
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors joined along an existing dimension. As in PyTorch, 1-D empty tensors (shape (0,),
    e.g. a ``torch.tensor([])`` that results are accumulated into) join tensors of any shape."""
    tensors = _tensor_list("cat", tensors)
    first = next((t for t in tensors if t.shape != (0,)), tensors[0])
    if first.ndim == 0:
        raise ShapeError(f"cat: zero-dimensional tensor (at position {tensors.index(first)}) cannot be concatenated")
    d = _dim(dim, first.ndim, "cat")
    empty = first.shape[:d] + (0,) + first.shape[d + 1 :]
    tensors = [reshape(t, empty) if t.shape == (0,) else t for t in tensors]
    dt = first.dtype
    for t in tensors:
        dt = _result_dtype(dt, t.dtype)
        if t.ndim != first.ndim or t.shape[:d] + t.shape[d + 1 :] != first.shape[:d] + first.shape[d + 1 :]:
            raise ShapeError(f"cat: shapes {first.shape} and {t.shape} differ outside dim {dim}")
    return CatOp.apply(*[cast(t, dt) for t in tensors], dim=d)


@numpy_aliases
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors of one shape joined along a new dimension."""
    tensors = _tensor_list("stack", tensors)
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: shapes {tensors[0].shape} and {t.shape} differ")
    d = _dim(dim, tensors[0].ndim + 1, "stack")
    return name_node(cat([unsqueeze(t, d) for t in tensors], d), "StackBackward0")


def _along(index: Tensor, dim: int) -> tuple:
    """The advanced index that picks, for every position of index, element index[pos] along dim
    (gather's and scatter's addressing), as host integer arrays."""
    where = index._host()
    positions = list(np.indices(where.shape, sparse=True))
    positions[dim] = where
    return tuple(positions)


def _check_index(op: str, input: Tensor, dim: int, index: Any, wrap: bool = False) -> int:
    """index's checks for gather/scatter-like ops, returning dim made non-negative; negative
    indices wrap only with wrap (take_along_dim), as PyTorch: gather and scatter refuse them."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: index must be an int64 tensor, got {type(index).__name__}")
    if index.dtype not in (np.int64, np.int32):  # PyTorch's kernels take both
        raise DtypeError(f"{op}(): Expected dtype int32/int64 for index, got {index.dtype}")
    d = _dim(dim, input.ndim, op)
    if index.ndim != input.ndim:
        raise ShapeError(f"{op}: index has {index.ndim} dimensions but input has {input.ndim}")
    if any(i > n for k, (i, n) in enumerate(zip(index.shape, input.shape, strict=True)) if k != d):
        # PyTorch's RuntimeError (a ValueError before)
        raise ShapeError(f"{op}: index shape {index.shape} is larger than input shape {input.shape} outside dim {dim}")
    picked = index._host()
    n = input.shape[d] if input.ndim else 1  # a 0-d input as one element, as PyTorch
    low = -n if wrap else 0
    if picked.size and (picked.min() < low or picked.max() >= n):
        bad = int(picked[(picked < low) | (picked >= n)].flat[0])
        raise IndexRangeError(f"{op}: index {bad} is out of bounds for dimension {d} with size {n}")
    return d


def _flat_along(shape: tuple, index: Tensor, dim: int, wrap: bool) -> np.ndarray:
    """gather's positions (_along's) as one index into the C-order elements of an input of shape
    (with wrap, negative entries of index along dim count from the end)."""
    where = index._host()
    strides = [math.prod(shape[k + 1 :]) for k in range(len(shape))]
    flat = (where % shape[dim] if wrap and shape[dim] else where) * strides[dim]
    for k, n in enumerate(where.shape):
        if k != dim:
            flat = flat + (np.arange(n) * strides[k]).reshape((n,) + (1,) * (len(shape) - 1 - k))
    return flat


def _gather(op: str, input: Tensor, dim: int, index: Tensor, wrap: bool = False) -> Tensor:
    """gather, its errors naming op (negative indices wrap only with wrap). The input is read
    flat, through one index: numpy indexes a flat array by one index array 3.8x faster than by
    one per axis (256 x 1000 floats, 100 picked per row: 126 -> 33 us; the whole gather 125 -> 97
    us, PyTorch 30)."""
    d = _check_index(op, input, dim, index, wrap)
    return IndexOp.apply(reshape(input, (-1,)), index=(_flat_along(input.shape or (1,), index, d, wrap),))


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[..., i, ...] = input[..., index[..., i, ...], ...] along dim, as torch.gather."""
    return name_node(_gather("gather", input, dim, index), "GatherBackward0")


def take(input: Tensor, index: Tensor) -> Tensor:
    """The elements of input, read as 1-D, at index (an int64 tensor of any shape, negative values
    counting from the end), in index's shape, as torch.take; the gradient accumulates repeats."""
    _require_tensor("take", input)
    if not isinstance(index, Tensor) or index.dtype != np.int64:
        raise DtypeError(f"take: index must be an int64 tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    n, positions = input.numel(), index._host()
    if positions.size and not n:
        raise IndexError("take: tried to take from an empty tensor")
    if positions.size and (positions.min() < -n or positions.max() >= n):
        raise IndexError(f"take: index out of range for a tensor of {n} elements")
    return _take(reshape(input, (-1,)), 0, positions % max(n, 1))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """gather along dim with input and indices broadcast against each other outside it, as
    torch.take_along_dim (the positions that argsort, argmax(keepdim=True), ... give along dim);
    without dim, both are read as 1-D. Negative indices count from the end (PyTorch's CPU kernel
    takes indices along dim modulo the size, unchecked; out of range here raises IndexError)."""
    _require_tensor("take_along_dim", input)
    _require_tensor("take_along_dim", indices)
    if dim is None:
        return _gather("take_along_dim", reshape(input, (-1,)), 0, reshape(indices, (-1,)), wrap=True)
    if input.ndim == 0:
        raise IndexError("take_along_dim: dim given for a 0-d tensor, which has no dimensions")
    if indices.ndim != input.ndim:
        raise ShapeError(f"take_along_dim: indices have {indices.ndim} dimensions but input has {input.ndim}")
    d = _dim(dim, input.ndim, "take_along_dim")
    outside = _broadcast_shape("take_along_dim", _with(input.shape, d, 1), _with(indices.shape, d, 1))
    x = broadcast_to(input, _with(outside, d, input.shape[d]))
    return _gather("take_along_dim", x, d, broadcast_to(indices, _with(outside, d, indices.shape[d])), wrap=True)


def _with(shape: Sequence[int], d: int, n: int) -> tuple[int, ...]:
    """shape with n at position d."""
    return (*shape[:d], n, *shape[d + 1 :])


class IndexPutOp(Function):
    """a with values written (broadcast) at index: a's gradient skips the written places, values'
    is theirs, summed over the broadcast."""

    __slots__ = ("index",)

    def forward(self, a, values, index):
        self.index = index
        self.saved = (values.shape,)
        out = self.be.copy(a)
        assign(self.be, out, index, values, "index_put_")
        return out

    def backward(self, g):
        be = self.be
        ga = gv = None
        if self.needs_grad(0):
            ga = be.copy(g)
            be.assign(ga, self.index, 0)
        if self.needs_grad(1):
            gv = _sum_to(be, be.contiguous(be.getitem(g, self.index)), self.saved[0])
        return ga, gv


def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of input with values written at input[indices] (broadcast), differentiable in both:
    what ``input[indices] = values`` records, as torch.index_put. accumulate=True adds them
    instead, repeated places accumulating (a confusion matrix from (label, prediction) pairs)."""
    if isinstance(indices, list):  # PyTorch's indices: a sequence of index tensors
        indices = tuple(indices)
    if isinstance(values, Tensor) and values.dtype != input.dtype:  # PyTorch's check (x[i] = v casts first)
        raise DtypeError(f"Index put requires the source and destination dtypes match, got {input.dtype} for the "
                         f"destination and {values.dtype} for the source.")
    index = _index_arrays(indices)
    if not accumulate:
        return IndexPutOp.apply(input, values, index=index)
    _require_tensor("index_put", values)
    with no_grad():
        shape = input[indices].shape  # values broadcast to the places they go to
    return IndexAddOp.apply(input, cast(values, input.dtype).expand(shape), index=index)


class CopySlicesOp(Function):
    """base with the view take(base) replaced by values: how an in-place change of a view is
    recorded (PyTorch's CopySlices). take is the view's op, re-applied to arrays of base's shape."""

    __slots__ = ("take",)

    def forward(self, base, values, take):
        self.take = take
        out = self.be.copy(base)
        self.be.assign(self._region(out), Ellipsis, values)
        return out

    def _region(self, array: Any) -> Any:
        with no_grad():
            return self.take(Tensor._make(array, self.be.device))._data

    def backward(self, g):
        be = self.be
        ga = gv = None
        if self.needs_grad(0):
            ga = be.copy(g)
            be.assign(self._region(ga), Ellipsis, 0)
        if self.needs_grad(1):
            gv = be.contiguous(self._region(g))
        return ga, gv


def copy_slices(base: Tensor, values: Tensor, take: Any) -> Tensor:
    """base with its view take(base) replaced by values (an in-place change of a view), recorded
    under PyTorch's node name."""
    return name_node(CopySlicesOp.apply(base, values, take=take), _COPY_SLICES)


_COPY_SLICES = "torch::autograd::CopySlices"


def _is_whole(item: Any) -> bool:
    """An index element that selects a whole dimension without a view (PyTorch skips the slice)."""
    return item is Ellipsis or (isinstance(item, slice) and item.start in (None, 0) and item.stop is None
                                and item.step in (None, 1))


def put_node_name(op: str, index: Any, value: Any) -> str:
    """PyTorch's node for the in-place write op (zero_, fill_, copy_, fill_diagonal_ or
    __setitem__) of value at index into a tensor that is not a view: x[i] = v writes into a view
    (CopySlices) when a basic index element makes one, else index_put_s with tensor indices, else
    fills (a number or 0-d value) or copies the whole tensor."""
    if op in ("zero_", "copy_"):
        return {"zero_": "ZeroBackward0", "copy_": "torch::autograd::CopyBackwards"}[op]
    if op == "fill_":
        return "FillBackward3" if isinstance(value, Tensor) else "FillBackward2"
    items = index if isinstance(index, tuple) else (index,)
    if op == "fill_diagonal_" or not all(_is_whole(i) or not _is_basic(i) for i in items):
        return _COPY_SLICES
    if not _is_basic(index):
        return "IndexPutBackward0"
    scalar = not isinstance(value, Tensor) or value.ndim == 0
    return "FillBackward3" if scalar else "torch::autograd::CopyBackwards"


def _scatter_source(op: str, input: Tensor, index: Tensor, src: Tensor) -> Tensor:
    """The leading index.shape part of src (at least index's size in every dim, of input's dtype):
    the values scatter and scatter_add write."""
    _require_tensor(op, src)
    if src.dtype != input.dtype:  # PyTorch does not promote here
        raise DtypeError(f"{op}(): Expected self.dtype to be equal to src.dtype, got {input.dtype} and {src.dtype}")
    if src.ndim != index.ndim or any(i > n for i, n in zip(index.shape, src.shape, strict=True)):
        raise ShapeError(f"{op}: src shape {src.shape} is smaller than index shape {index.shape}")
    return src[tuple(slice(0, n) for n in index.shape)]


# scatter's legacy reduce= names and the scatter_reduce reductions they are
_SCATTER_REDUCE = {"add": "sum", "multiply": "prod"}


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of input with src (a tensor at least index's size, or a number; or value=, a number)
    written at index along dim, as torch.scatter; reduce="add" or "multiply" (the legacy keyword)
    adds or multiplies src into input's values there instead, repeated places accumulating (with a
    tensor src PyTorch's deprecation warning, as PyTorch). Differentiable for input and src, with
    reduce too (scatter_reduce's gradients "sum" and "prod"; PyTorch has none there)."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src (a tensor or a number) and value (a number)")
    src = value if src is None else src
    d = _check_index("scatter", input, dim, index)
    if isinstance(src, Tensor):
        values = _scatter_source("scatter", input, index, src)
    else:
        values = Tensor._make(get_backend(input.device).full(index.shape, src, input.dtype), input.device)
    if reduce is None:
        return IndexPutOp.apply(input, values, index=_along(index, d))
    if reduce not in _SCATTER_REDUCE:
        raise RuntimeError(f"scatter: reduce argument must be either add or multiply, got {reduce!r}")
    if isinstance(src, Tensor):
        warn_user("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a "
                  "future PyTorch release. Use torch.scatter_reduce instead for more reduction options.")
    return ScatterReduceOp.apply(input, values, index=_along(index, d), reduce=_SCATTER_REDUCE[reduce],
                                 include_self=True)


class IndexAddOp(Function):
    """a with values added at index (repeated places accumulate): a's gradient passes through,
    values' is the gradient at their places."""

    __slots__ = ("index",)

    def forward(self, a, values, index):
        self.index = index
        return self.be.add(a, self.be.index_add(a.shape, a.dtype, index, values))

    def backward(self, g):
        gv = self.be.contiguous(self.be.getitem(g, self.index)) if self.needs_grad(1) else None
        return g, gv


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of input with src (at least index's size) added at index along dim, repeated
    places accumulating, as torch.scatter_add: out[..., index[..., i, ...], ...] += src[..., i, ...].
    Differentiable for input and src."""
    d = _check_index("scatter_add", input, dim, index)
    return IndexAddOp.apply(input, _scatter_source("scatter_add", input, index, src), index=_along(index, d))


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """input with value where the bool mask (broadcast to input's shape) is true."""
    if not isinstance(mask, Tensor) or mask.dtype != np.bool_:
        raise DtypeError(f"masked_fill: mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask).__name__)}")
    if _broadcast_shape("masked_fill", mask.shape, input.shape) != input.shape:
        raise ShapeError(f"masked_fill: mask shape {mask.shape} does not broadcast to input shape {input.shape}")
    if isinstance(value, Tensor) and value.ndim:  # PyTorch refuses even a value that would broadcast
        raise ArgumentError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                            f"{value.ndim} dimension(s).")
    fill = value if isinstance(value, Tensor) else Tensor._make(
        get_backend(input.device).full((), value, input.dtype), input.device)
    return name_node(where(mask, fill, input), f"MaskedFillBackward{1 if isinstance(value, Tensor) else 0}")


def split(input: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces along dim: of split_size each (the last smaller), or of the given sizes."""
    if input.ndim == 0:
        raise ShapeError("split expects at least a 1-dimensional tensor")
    d = _dim(dim, input.ndim, "split")
    n = input.shape[d]
    by_size = isinstance(split_size_or_sections, (int, np.integer))
    if by_size:
        size = int(split_size_or_sections)
        if size < 1 and not (size == 0 and n == 0):
            raise ArgumentError(f"split: split_size must be >= 1, got {size}")
        sizes = [min(size, n - start) for start in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            # PyTorch's RuntimeError (a ValueError before)
            raise ShapeError(f"split: sizes {sizes} do not sum to the size {n} of dim {dim}")
    lead = (slice(None),) * d
    node = "SplitBackward0" if by_size else "SplitWithSizesBackward0"  # PyTorch's names of the two forms
    pieces, start = [], 0
    for size in sizes:
        pieces.append(name_node(input[lead + (slice(start, start + size),)], node))
        start += size
    return tuple(pieces)


@numpy_aliases
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most chunks pieces along dim, each of ceil(size / chunks) (the last smaller)."""
    if chunks < 1:
        raise ArgumentError(f"chunk: chunks must be >= 1, got {chunks}")
    if input.ndim == 0:
        raise ShapeError("chunk expects at least a 1-dimensional tensor")
    d = _dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:  # PyTorch: `chunks` empty pieces (split would give one)
        return split(input, [0] * chunks, d)
    return split(input, -(-n // chunks), d)


@numpy_aliases
def tensor_split(input: Tensor, indices_or_sections: int | Sequence[int] | Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of input split along dim, as torch.tensor_split: into indices_or_sections pieces when
    it is an int (the first size % sections of them one longer), or at the given indices
    (input[:i0], input[i0:i1], ..., input[ik:], as Python slices clip them). An int64 tensor
    counts as an int when 0-d and as indices when 1-D."""
    _require_tensor("tensor_split", input)
    if input.ndim == 0:
        raise ShapeError("tensor_split: expected at least a 1-dimensional tensor, got a 0-d tensor")
    d = _dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        if indices_or_sections.dtype != int64 or indices_or_sections.ndim > 1:
            raise DtypeError("tensor_split: a tensor indices_or_sections must be a 0-d or 1-D int64 tensor, got "
                             f"{indices_or_sections.dtype} of shape {indices_or_sections.shape}")
        indices_or_sections = indices_or_sections._host().tolist()
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections < 1:
            raise ArgumentError(f"tensor_split: number of sections must be larger than 0, got {sections}")
        size, extra = divmod(n, sections)
        bounds = [i * size + min(i, extra) for i in range(1, sections)]
    else:
        bounds = [operator.index(i) for i in indices_or_sections]
    lead = (slice(None),) * d
    return tuple(input[lead + (slice(start, end),)] for start, end in zip([0, *bounds], [*bounds, n], strict=True))


def repeat(input: Tensor, sizes: Sequence[int]) -> Tensor:
    """input tiled sizes[i] times along each dimension (leading sizes add dimensions), as torch.repeat."""
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < input.ndim:
        raise ShapeError(f"repeat: {len(sizes)} sizes for a tensor of {input.ndim} dimensions")
    if any(s < 0 for s in sizes):
        raise ArgumentError(f"repeat: sizes must be >= 0, got {sizes}")
    shape = (1,) * (len(sizes) - input.ndim) + input.shape
    interleaved = reshape(input, tuple(x for n in shape for x in (1, n)))  # (1, d0, 1, d1, ...)
    tiled = expand(interleaved, tuple(x for r, n in zip(sizes, shape, strict=True) for x in (r, n)))
    out = reshape(tiled, tuple(r * n for r, n in zip(sizes, shape, strict=True)))
    # always a new tensor, as PyTorch's: with every size 1 the reshape is a view of input, and a
    # non-contiguous result is an expanded view (unwritable); otherwise reshape has copied already
    if all(r == 1 for r in sizes) or not out.is_contiguous():
        out = clone(out)
    return name_node(out, "RepeatBackward0")


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """input tiled dims[i] times along each dimension, as torch.tile: unlike repeat, fewer dims
    than input's dimensions repeat the trailing ones (the leading get 1)."""
    _require_tensor("tile", input)
    dims = tuple(dims)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at index along dim, that dimension removed, as torch.select (input[..., index, ...])."""
    _require_tensor("select", input)
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _dim(dim, input.ndim, "select")
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at dimension {d}"
        )
    return input[(slice(None),) * d + (int(index),)]


class PadOp(Function):
    __slots__ = ("inside",)

    def forward(self, a, widths, value):
        self.inside = tuple(slice(before, before + n) for (before, _), n in zip(widths, a.shape, strict=True))
        shape = tuple(n + before + after for (before, after), n in zip(widths, a.shape, strict=True))
        out = self.be.full(shape, value, a.dtype)
        self.be.assign(out, self.inside, a)
        return out

    def backward(self, g):
        return (self.be.contiguous(self.be.getitem(g, self.inside)),)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_source(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of a dimension of size n padded by (before, after), the input position it
    copies. Reflect and replicate address the whole input (negative widths then drop positions from
    the result); circular, as PyTorch, wraps around what is left after cropping."""
    if mode == "circular":
        start = max(0, -before)
        kept = n - start - max(0, -after)
        return start + np.arange(-max(0, before), kept + max(0, after)) % max(kept, 1)
    positions = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(positions, 0, n - 1)
    positions = np.abs(positions)  # reflect: mirrored at both edges, the edge itself not repeated
    return np.where(positions >= n, 2 * (n - 1) - positions, positions)


def _check_pad_mode(input: Tensor, widths: dict[int, tuple[int, int]], mode: str, value: float | None) -> None:
    """PyTorch's rules for the non-constant modes (widths: dimension -> (before, after)), with its
    exception classes (ArgumentError and NotImplementedArgumentError are ValueErrors as well, as
    minigrad raised before)."""
    if value is not None:
        raise ArgumentError(f"pad: mode {mode!r} takes no value argument")
    k = len(widths)
    if k > 3 or input.ndim not in (k + 1, k + 2):  # PyTorch: NotImplementedError, so both
        raise NotImplementedArgumentError(
            f"pad: mode {mode!r} pads the last 1, 2 or 3 dimensions of a tensor with one or two more "
            f"(batch, channels); {2 * k} widths do not fit a {input.ndim}-d tensor of shape {input.shape}"
        )
    first = 1 if input.ndim == k + 2 else 0  # the batch may be empty, the other dimensions not
    if mode != "circular" and 0 in input.shape[first:]:
        raise ArgumentError(f"pad: mode {mode!r} needs non-empty dimensions (but the batch), got shape {input.shape}")
    for d, w in widths.items():
        n, (before, after) = input.shape[d], w
        if mode == "reflect" and max(before, after) >= n:
            raise ArgumentError(f"pad: reflect widths {w} must be less than the size {n} of dimension {d}")
        kept = n - max(0, -before) - max(0, -after)
        if mode == "circular" and max(before, after) > kept:
            raise ArgumentError(f"pad: circular widths {w} wrap around size {kept} of dimension {d} more than once")
        if n + before + after <= 0:
            raise ArgumentError(f"pad: widths {w} leave nothing of size {n} of dimension {d}")


# PyTorch's node of a non-constant pad of the last {} dimensions (circular: a copy into slices of a new tensor)
_PAD_NODES = {"reflect": "ReflectionPad{}DBackward0", "replicate": "ReplicationPad{}DBackward0",
              "circular": "torch::autograd::CopySlices"}


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Padding as torch.nn.functional.pad: pad = (last dim before, after, the one before it before,
    after, ...); negative widths crop. mode "constant" fills with value (0 by default); "reflect"
    mirrors the input at its edges, "replicate" repeats the edge, "circular" wraps around; these pad
    the last 1-3 dimensions of a tensor with one or two leading (batch, channel) dimensions."""
    if mode not in _PAD_MODES:
        raise NotImplementedArgumentError(f"pad: mode {mode!r} is not one of {', '.join(map(repr, _PAD_MODES))}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ArgumentError(f"pad: {len(pad)} widths for a tensor of {input.ndim} dimensions (two per dimension)")
    given = {input.ndim - 1 - k: (pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)}
    if mode != "constant":
        _check_pad_mode(input, given, mode, value)
        result = input
        for d, w in given.items():
            if w != (0, 0):  # an index array per dimension; its backward accumulates reused elements
                result = index(result, (slice(None),) * d + (_pad_source(input.shape[d], *w, mode),))
        return name_node(_copied(result, input), _PAD_NODES[mode].format(len(pad) // 2))
    widths = [given.get(d, (0, 0)) for d in range(input.ndim)]
    # whole dimensions as open slices (an exported graph keeps its batch dimension dynamic)
    sizes = list(zip(widths, input.shape, strict=True))
    crop = tuple(slice(-b if b < 0 else None, n + a if a < 0 else None) for (b, a), n in sizes)
    if any(max(0, -b) > n - max(0, -a) for (b, a), n in sizes):
        raise ArgumentError(f"pad: widths {tuple(pad)} crop more than the shape {input.shape} has")
    if any(b < 0 or a < 0 for b, a in widths):
        input = input[crop]
    return PadOp.apply(input, widths=tuple((max(0, b), max(0, a)) for b, a in widths), value=value or 0)


# --- flip, roll, narrow, unbind, index_select ------------------------------------------------


def _copied(result: Tensor, input: Tensor) -> Tensor:
    """result, or a copy of input where nothing changed (result is input): an op that makes a new
    tensor in PyTorch (flip, roll, pad, diff) must not hand back input itself, or writing to the
    result in place would change input."""
    return clone(input) if result is input else result


def _take(input: Tensor, dim: int, positions: np.ndarray) -> Tensor:
    """input's elements at positions (host integers) along dim; the gradient accumulates repeats."""
    return index(input, (slice(None),) * dim + (positions,))


def _dim_list(dims: int | Sequence[int], ndim: int, op: str) -> list[int]:
    dims = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    out = [_dim(int(d), ndim, op) for d in dims]
    if len(set(out)) != len(out):
        raise ArgumentError(f"{op}: dim {dims} appears more than once")  # PyTorch's RuntimeError too
    return out


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    """input with the order of elements reversed along each of dims (a copy, as PyTorch): a view
    with reversed slices, then one copy (a gather by index arrays took twice as long: 256 x 1000
    floats, 1 thread, 172 -> 102 us along one dim, 225 -> 96 along both)."""
    flipped = _dim_list(dims, input.ndim, "flip")
    if not flipped or input.ndim == 0:
        return name_node(clone(input), "FlipBackward0")
    reversed_slices = tuple(slice(None, None, -1) if d in flipped else slice(None) for d in range(input.ndim))
    return name_node(clone(index(input, reversed_slices)), "FlipBackward0")


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Elements shifted along dims, those pushed past the end coming back at the start; without
    dims, along the flattened tensor (reshaped back), as torch.roll."""
    shifts = [shifts] if isinstance(shifts, (int, np.integer)) else list(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ArgumentError(f"roll: {len(shifts)} shifts without dims; give one shift per dim")
        return name_node(reshape(roll(flatten(input), shifts, 0), input.shape), "RollBackward0")
    dims = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    if len(shifts) != len(dims):
        raise ArgumentError(f"roll: {len(shifts)} shifts for {len(dims)} dims; give one shift per dim")
    result = input
    for shift, dim in zip(shifts, dims, strict=True):
        d = _dim(int(dim), input.ndim, "roll")
        n = input.shape[d] if input.ndim else 1
        if n and int(shift) % n:
            result = _take(result, d, (np.arange(n) - int(shift)) % n)
    return name_node(_copied(result, input), "RollBackward0")


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The length elements from start (negative: from the end) along dim, a view as input[..., start:start + length]."""
    if input.ndim == 0:
        raise IndexRangeError("narrow: cannot be applied to a 0-dim tensor")  # PyTorch's RuntimeError too
    d = _dim(dim, input.ndim, "narrow")
    n, start, length = input.shape[d], int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} out of range for size {n} of dim {dim}")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds size {n} of dim {dim}")
    return input[(slice(None),) * d + (slice(start, start + length),)]


@numpy_aliases
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along dim, with dim removed, as a tuple."""
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = _dim(dim, input.ndim, "unbind")
    return tuple(name_node(input[(slice(None),) * d + (i,)], "UnbindBackward0") for i in range(input.shape[d]))


def _index_target(
    op: str, input: Tensor, dim: int, index: Tensor, negative: bool = False
) -> tuple[Tensor, int, np.ndarray]:
    """For the index_* ops: input as at least 1-D (a 0-d tensor as (1,)), dim as non-negative, and
    the positions along it that the 1-D or 0-d int64 index names (negative ones counted from the
    end when negative allows them; IndexError when out of range)."""
    _require_tensor(op, input)
    if not isinstance(index, Tensor) or (index.dtype != np.int64
                                         and (index.dtype != np.int32 or op not in _INT32_INDEX_OPS)):
        # PyTorch's RuntimeError (a TypeError before)
        raise DtypeError(f"{op}: index must be an int64 tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    if index.ndim > 1:
        raise DimIndexError(f"{op}: index must be 1-D or 0-d, got shape {index.shape}")
    d = _dim(dim, input.ndim, op)
    x = reshape(input, (1,)) if input.ndim == 0 else input
    n = x.shape[d]
    positions = index._host().reshape(-1)
    if positions.size and (positions.min() < (-n if negative else 0) or positions.max() >= n):
        raise IndexRangeError(f"{op}: index out of range for size {n} of dim {dim}")  # PyTorch's RuntimeError too
    return x, d, positions % n if negative and positions.size else positions


# the index_* ops whose PyTorch kernels take an int32 index as well as int64
_INT32_INDEX_OPS = frozenset({"index_select", "index_add"})


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The elements at index (a 1-D or 0-d int64 tensor) along dim, as torch.index_select."""
    x, d, positions = _index_target("index_select", input, dim, index)
    out = _take(x, d, positions)
    return name_node(reshape(out, index.shape) if input.ndim == 0 else out, "IndexSelectBackward0")


def _index_source(op: str, x: Tensor, d: int, positions: np.ndarray, source: Tensor) -> Tensor:
    """source for index_add/index_copy into x (at least 1-D) at positions along d, in x's dtype:
    x's shape but with len(positions) along d (a 0-d source for a 0-d input)."""
    _require_tensor(op, source)
    if source.dtype != x.dtype:  # PyTorch refuses to convert
        raise DtypeError(f"{op}_(): self ({x.dtype}) and source ({source.dtype}) must have the same scalar type"
                         if op == "index_add" else f"{op}_(): self and source expected to have the same dtype, but "
                         f"got (self) {x.dtype} and (source) {source.dtype}")
    expected = x.shape[:d] + (positions.size,) + x.shape[d + 1 :]
    if (source.shape or (1,)) != expected:
        raise ShapeError(f"{op}: source shape {source.shape} does not match {expected}: input's shape with the "
                         f"number of indices ({positions.size}) along dim {d}")
    return cast(reshape(source, expected), x.dtype)


def _index_result(out: Tensor, input: Tensor) -> Tensor:
    """out, computed on input as at least 1-D, back in input's shape."""
    return out if input.ndim else reshape(out, ())


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """A copy of input with alpha * source[..., i, ...] added to the slice index[i] along dim
    (repeated indices accumulate), as torch.index_add; differentiable for input and source."""
    x, d, positions = _index_target("index_add", input, dim, index)
    values = _index_source("index_add", x, d, positions, source)
    if alpha != 1:
        values = values * alpha
    return _index_result(IndexAddOp.apply(x, values, index=(slice(None),) * d + (positions,)), input)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of input with its slice index[i] along dim replaced by source[..., i, ...], as
    torch.index_copy (with repeated indices, one of their slices is kept, as PyTorch leaves it
    undefined which); differentiable for input and source."""
    x, d, positions = _index_target("index_copy", input, dim, index)
    values = _index_source("index_copy", x, d, positions, source)
    return _index_result(IndexPutOp.apply(x, values, index=(slice(None),) * d + (positions,)), input)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of input with the slices at index along dim (negative indices count from the end)
    filled with value (a number or a 0-d tensor), as torch.index_fill; differentiable for input
    and a tensor value (whose gradient sums the filled places, each counted once)."""
    x, d, positions = _index_target("index_fill", input, dim, index, negative=True)
    if isinstance(value, Tensor):
        if value.ndim:
            raise ArgumentError(f"index_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        fill = cast(value, x.dtype)
    else:
        fill = Tensor._make(get_backend(x.device).full((), value, x.dtype), x.device)
    places = (slice(None),) * d + (np.unique(positions),)
    return _index_result(IndexPutOp.apply(x, fill, index=places), input)


# --- hstack/vstack/dstack/column_stack, broadcast_to, movedim, swapaxes, repeat_interleave, diff ---


def _atleast(t: Tensor, ndim: int) -> Tensor:
    """t with size-1 dimensions added up to ndim (1 to 3) as torch.atleast_1d/2d/3d: a 0-d tensor
    becomes (1,), (1, 1) or (1, 1, 1); a vector (n,) a row (1, n) or (1, n, 1); a matrix (m, n, 1)."""
    shape = t.shape or (1,)
    if ndim >= 2 and len(shape) == 1:
        shape = (1,) + shape
    if ndim == 3 and len(shape) == 2:
        shape = shape + (1,)
    return t if shape == t.shape else reshape(t, shape)


def _nonempty(tensors: Sequence[Tensor], op: str) -> list[Tensor]:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    for t in tensors:
        _require_tensor(op, t)
    return tensors


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Tensors joined column-wise, as torch.hstack: along dim 0 when the first is 1-D (0-d tensors
    count as 1-D), along dim 1 otherwise."""
    tensors = [_atleast(t, 1) for t in _nonempty(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Tensors joined row-wise (along dim 0), 0-d and 1-D ones taken as rows, as torch.vstack."""
    return cat([_atleast(t, 2) for t in _nonempty(tensors, "vstack")], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Tensors joined depth-wise (along dim 2) after torch.atleast_3d, as torch.dstack."""
    return cat([_atleast(t, 3) for t in _nonempty(tensors, "dstack")], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Tensors side by side as columns, as torch.column_stack: 0-d and 1-D ones become (n, 1)
    columns, the others are joined along dim 1 as they are."""
    return hstack([reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in _nonempty(tensors, "column_stack")])


def _atleast_all(ndim: int, tensors: tuple) -> Tensor | tuple[Tensor, ...]:
    """torch.atleast_<ndim>d's calling forms: one tensor gives a tensor; several tensors, or one
    list or tuple of them, a tuple."""
    many = len(tensors) != 1 or isinstance(tensors[0], (list, tuple))
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for t in tensors:
        _require_tensor(f"atleast_{ndim}d", t)
    out = tuple(_atleast(t, ndim) for t in tensors)
    return out if many else out[0]


def atleast_1d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """0-d tensors as (1,), the others as they are, as torch.atleast_1d."""
    return _atleast_all(1, tensors)


def atleast_2d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """0-d tensors as (1, 1), vectors (n,) as rows (1, n), the others as they are, as torch.atleast_2d."""
    return _atleast_all(2, tensors)


def atleast_3d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """0-d tensors as (1, 1, 1), vectors (n,) as (1, n, 1), matrices (m, n) as (m, n, 1), the
    others as they are, as torch.atleast_3d."""
    return _atleast_all(3, tensors)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-D as a row, or 2-D) as the blocks of a block-diagonal matrix, zeros
    elsewhere, in their promoted dtype, as torch.block_diag; differentiable."""
    blocks = [_atleast(t, 2) for t in _nonempty(tensors, "block_diag")]
    for t in blocks:
        if t.ndim != 2:
            raise RuntimeError(
                f"block_diag: Input tensors must have 2 or fewer dimensions. Input has {t.ndim} dimensions"
            )
    dtype = blocks[0].dtype
    for t in blocks[1:]:
        dtype = _result_dtype(dtype, t.dtype)
    width = sum(t.shape[1] for t in blocks)
    be = get_backend(blocks[0].device)
    rows, left = [], 0
    for t in blocks:
        right = width - left - t.shape[1]
        zeros = [Tensor._make(be.full((t.shape[0], n), 0, dtype), t.device) for n in (left, right)]
        rows.append(cat([zeros[0], cast(t, dtype), zeros[1]], 1))
        left += t.shape[1]
    return cat(rows, 0)


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    """input broadcast to size (-1 keeps a dimension), a view, as torch.broadcast_to (expand)."""
    return expand(input, size)


def broadcast_shapes(*shapes: int | Sequence[int]) -> Size:
    """The shape that tensors of shapes (sequences, or ints for 1-D shapes) broadcast to, as
    torch.broadcast_shapes; ShapeError (a RuntimeError) when they do not broadcast."""
    shapes = tuple((s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes)
    try:
        return Size(int(n) for n in np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"broadcast_shapes: shapes {', '.join(map(str, shapes))} cannot be broadcast "
                         "to a single shape") from None


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape (views), as torch.broadcast_tensors."""
    for t in tensors:
        _require_tensor("broadcast_tensors", t)
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def _dim_sequence(dims: int | Sequence[int], ndim: int, what: str) -> list[int]:
    """movedim's source or destination as non-negative dims; RuntimeError when one repeats."""
    dims = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    out = [_dim(operator.index(d), ndim, "movedim") for d in dims]
    if len(set(out)) != len(out):
        raise RuntimeError(f"movedim: repeated dim in `{what}` ({dims})")
    return out


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """input with dims source moved to positions destination (an int or matching sequences), the
    other dims keeping their order; a view, as torch.movedim."""
    src = _dim_sequence(source, input.ndim, "source")
    dst = _dim_sequence(destination, input.ndim, "destination")
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain the same number "
            f"of dims as destination ({dst} dims)"
        )
    moved = dict(zip(dst, src, strict=True))
    rest = iter(d for d in range(input.ndim) if d not in src)
    return permute(input, [moved[i] if i in moved else next(rest) for i in range(input.ndim)])


moveaxis = movedim  # numpy's name, as torch.moveaxis
swapdims = transpose  # as torch.swapdims


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """transpose under numpy's name and argument names, as torch.swapaxes."""
    return transpose(input, axis0, axis1)


def _repeat_counts(repeats: int | Tensor) -> np.ndarray:
    """repeat_interleave's repeats (an int, or a 0-d or 1-D integer tensor) as a host array."""
    if isinstance(repeats, Tensor):
        if repeats.dtype.kind not in "iu":
            raise UnsupportedDtypeError(f"repeat_interleave: repeats must be an integer tensor, got {repeats.dtype}")
        if repeats.ndim > 1:
            raise RuntimeError(f"repeat_interleave: repeats must be 0-dim or 1-dim tensor, got shape {repeats.shape}")
        counts = repeats._host().reshape(-1).astype(np.int64)
    elif isinstance(repeats, (int, np.integer)) and not isinstance(repeats, (bool, np.bool_)):
        counts = np.array([int(repeats)])
    else:
        raise TypeError(f"repeat_interleave: repeats must be an int or an integer tensor, got {type(repeats).__name__}")
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    return counts


def repeat_interleave(
    input: Tensor, repeats: int | Tensor | None = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Each element (slice along dim) repeated repeats times in place, as torch.repeat_interleave
    and numpy.repeat: repeats is an int or a tensor of one count per element (or one count for
    all); without dim, input is flattened first. repeat_interleave(counts) alone gives each index
    i of the 1-D counts repeated counts[i] times. output_size, when given, must be the result's
    length along dim. Differentiable: the gradients of the copies add up."""
    _require_tensor("repeat_interleave", input)
    if repeats is None:
        if input.ndim != 1:
            raise RuntimeError(f"repeat_interleave: repeats must be 1-dim, got shape {input.shape}")
        counts = _repeat_counts(input)
        return _from_host(np.repeat(np.arange(counts.size), counts), input)
    counts = _repeat_counts(repeats)
    if dim is None or input.ndim == 0:
        input = flatten(input)
    d = _dim(0 if dim is None else dim, input.ndim, "repeat_interleave")
    n = input.shape[d]
    if counts.size not in (1, n):
        raise RuntimeError(
            f"repeat_interleave: repeats must have the same size as input along dim, but got "
            f"repeats.size(0) = {counts.size} and input.size({d}) = {n}"
        )
    positions = np.repeat(np.arange(n), np.broadcast_to(counts, (n,)))
    if output_size is not None and output_size != positions.size:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {positions.size} but got {output_size}")
    return _take(input, d, positions)


@numpy_aliases
def diff(
    input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None
) -> Tensor:
    """The n-th forward difference along dim (out[i] = x[i + 1] - x[i], n times; != for bools),
    after joining prepend and append to input along dim, as torch.diff. prepend and append need
    input's number of dims and its sizes outside dim. Each pass shortens dim by one, down to 0."""
    _require_tensor("diff", input)
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if not isinstance(n, (int, np.integer)) or isinstance(n, (bool, np.bool_)):
        raise TypeError(f"diff: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"diff: order must be non-negative but got {n}")
    d = _dim(dim, input.ndim, "diff")
    for extra in (prepend, append):
        if extra is None:
            continue
        _require_tensor("diff", extra)
        if extra.ndim != input.ndim:
            raise RuntimeError(f"diff expects prepend or append to be the same dimension as input, got shape "
                               f"{extra.shape} for input of shape {input.shape}")
        if extra.shape[:d] + extra.shape[d + 1 :] != input.shape[:d] + input.shape[d + 1 :]:
            raise RuntimeError(f"diff expects the shape of prepend or append ({extra.shape}) to match input's "
                               f"({input.shape}) except along the differencing dim {dim}")
    result = input
    if prepend is not None or append is not None:
        result = cat([t for t in (prepend, input, append) if t is not None], d)
    lead = (slice(None),) * d
    for _ in range(n):
        if result.shape[d] == 0:
            break
        later, earlier = result[lead + (slice(1, None),)], result[lead + (slice(None, -1),)]
        result = later != earlier if result.dtype == bool_ else later - earlier
    return _copied(result, input)


# --- nonzero, masked_select, meshgrid ----------------------------------------------------------


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The int64 indices of the non-zero elements, one row per element in row-major order, as
    torch.nonzero (computed on the host); as_tuple=True: one 1-D tensor per dimension instead."""
    _require_tensor("nonzero", input)
    host = input._host()
    if as_tuple:
        return tuple(_from_host(i.astype(int64), input) for i in np.nonzero(np.atleast_1d(host)))
    return _from_host(np.argwhere(host).astype(int64), input)


def argwhere(input: Tensor) -> Tensor:
    """The int64 indices of the non-zero elements, one row each, as torch.argwhere (nonzero)."""
    return nonzero(input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of input where the bool mask is True (both broadcast), as a new 1-D tensor,
    as torch.masked_select; differentiable in input."""
    _require_same_device("masked_select", input, mask)
    if mask.dtype != bool_:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {mask.dtype}")
    try:
        shape = np.broadcast_shapes(input.shape, mask.shape) or (1,)
    except ValueError:
        raise RuntimeError(f"masked_select: shapes {input.shape} and {mask.shape} cannot be broadcast") from None
    places = np.nonzero(np.broadcast_to(mask._host(), shape))
    return name_node(index(expand(reshape(input, (1,)) if input.ndim == 0 else input, shape), places),
                     "MaskedSelectBackward0")


def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D (or 0-d) tensors, as torch.meshgrid: with indexing="ij" output
    k varies along dim k; "xy" swaps the first two dims (Cartesian, as numpy's default).
    Differentiable (each grid is an expanded view)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid: expects a non-empty list of tensors")
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f'meshgrid: indexing must be one of "xy" or "ij", but received: {indexing!r}')
    for t in tensors:
        _require_same_device("meshgrid", tensors[0], t)
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0D or 1D tensors, got shape {t.shape}")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(f"meshgrid: expects all tensors to have one dtype, got {tensors[0].dtype}, {t.dtype}")
    n = len(tensors)
    dims = list(range(n))  # dims[k]: the output dim tensor k runs along
    if indexing == "xy" and n >= 2:
        dims[0], dims[1] = 1, 0
    sizes = [t.numel() for t in tensors]
    shape = [0] * n
    for k, d in enumerate(dims):
        shape[d] = sizes[k]
    return tuple(
        expand(reshape(t, tuple(sizes[k] if i == dims[k] else 1 for i in range(n))), tuple(shape))
        for k, t in enumerate(tensors)
    )


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """The Cartesian product of 1-D tensors as rows (len(a) * len(b) * ..., k), in the order of
    nested loops over them, as torch.cartesian_prod (one tensor: itself); differentiable."""
    for t in tensors:
        _require_tensor("cartesian_prod", t)
        if t.ndim != 1:
            raise ShapeError(f"cartesian_prod: expected 1-D tensors, got shape {t.shape}")
    if len(tensors) == 1:
        return tensors[0]
    return stack([reshape(grid, (-1,)) for grid in meshgrid(*tensors, indexing="ij")], 1)


# --- pixel_shuffle, pixel_unshuffle -----------------------------------------------------------


def _pixel_shape(input: Tensor, factor: int, op: str) -> tuple[int, ...]:
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ArgumentError(f"{op}: the factor must be a positive int, got {factor!r}")
    if input.ndim < 3:
        raise ShapeError(f"{op}: input must have at least 3 dimensions (..., C, H, W), got shape {input.shape}")
    return input.shape[:-3]


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(..., C r^2, H, W) -> (..., C, H r, W r): each group of r^2 channels becomes r x r pixels."""
    lead, r = _pixel_shape(input, upscale_factor, "pixel_shuffle"), upscale_factor
    c, h, w = input.shape[-3:]
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: channels {c} must be divisible by upscale_factor^2 = {r * r}")
    k = len(lead)
    x = reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = permute(x, (*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(..., C, H r, W r) -> (..., C r^2, H, W): the inverse of pixel_shuffle."""
    lead, r = _pixel_shape(input, downscale_factor, "pixel_unshuffle"), downscale_factor
    c, h, w = input.shape[-3:]
    if h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: height {h} and width {w} must be divisible by downscale_factor {r}")
    k = len(lead)
    x = reshape(input, (*lead, c, h // r, r, w // r, r))
    x = permute(x, (*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return reshape(x, (*lead, c * r * r, h // r, w // r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with its channels in groups rows read by columns: channel i * C / groups + j goes
    to j * groups + i (ShuffleNet), as torch.nn.functional.channel_shuffle; differentiable."""
    _require_tensor("channel_shuffle", input)
    if not isinstance(groups, int) or isinstance(groups, bool):
        raise TypeError(f"channel_shuffle(): argument 'groups' (position 2) must be int, not {type(groups).__name__}")
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    x = transpose(reshape(input, (n, groups, c // groups, *rest)), 1, 2)
    return name_node(reshape(x, input.shape), "ChannelShuffleBackward0")


# --- PyTorch's other shape, index and product functions: composed from the ops above -------------


def ravel(input: Tensor) -> Tensor:
    """input as 1-D (contiguous), as torch.ravel."""
    return reshape(input, (-1,))


def _require_ndim(op: str, input: Tensor, ndim: int) -> None:
    _require_tensor(op, input)
    if input.ndim < ndim:
        raise RuntimeError(f"{op}: Input must be >= {ndim}-d, got a tensor of shape {input.shape}")


def fliplr(input: Tensor) -> Tensor:
    """input with dim 1 reversed (left/right), as torch.fliplr (at least 2-D)."""
    _require_ndim("fliplr", input, 2)
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """input with dim 0 reversed (up/down), as torch.flipud (at least 1-D)."""
    _require_ndim("flipud", input, 1)
    return flip(input, 0)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """input rotated by 90 degrees k times in the plane of dims, from the first toward the second
    (k < 0: the other way), as torch.rot90; differentiable."""
    _require_tensor("rot90", input)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (_dim(int(d), input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k = int(k) % 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return input.clone()


def unfold_windows(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Tensor.unfold: the windows of size elements along dimension, step apart, as a new last
    dimension (dimension becoming the number of windows), as torch.Tensor.unfold. A gather, not
    a strided view as PyTorch's: the same values and gradients (overlapping windows accumulate),
    but writing into the result leaves input as it was."""
    _require_tensor("unfold", input)
    x = reshape(input, (1,)) if input.ndim == 0 else input
    d = _dim(dimension, x.ndim, "unfold")
    size, step, n = operator.index(size), operator.index(step), x.shape[d]
    if size < 0:
        raise RuntimeError(f"unfold: size is {size} but must be >= 0")
    if size > n:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    windows = (n - size) // step + 1
    positions = np.arange(windows)[:, None] * step + np.arange(size)
    out = movedim(index(movedim(x, d, -1), (Ellipsis, positions)), -2, d)
    return name_node(reshape(out, (size,)) if input.ndim == 0 else out, "UnfoldBackward0")


def _check_scatter_source(op: str, region: Tensor, src: Tensor) -> None:
    _require_tensor(op, src)
    if src.shape != region.shape:
        raise RuntimeError(f"{op}: expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(region.shape)}")


def _scatter_into(op: str, input: Tensor, index: tuple, src: Tensor) -> Tensor:
    """A copy of input with src written at the basic index (src of exactly that region's shape),
    differentiable in both."""
    _require_tensor(op, input)
    with no_grad():
        region = input[index]
    _check_scatter_source(op, region, src)
    return IndexPutOp.apply(input, cast(src, input.dtype), index=index)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of input with its slice select(dim, index) replaced by src, as torch.select_scatter."""
    d = _dim(dim, input.ndim, "select_scatter")
    n, i = input.shape[d], operator.index(index)
    if not -n <= i < n:
        raise IndexError(f"select_scatter: index {i} is out of bounds for dimension {d} with size {n}")
    return _scatter_into("select_scatter", input, (slice(None),) * d + (i,), src)


def slice_scatter(
    input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1
) -> Tensor:
    """A copy of input with its slice start:end:step along dim replaced by src, as torch.slice_scatter."""
    d = _dim(dim, input.ndim, "slice_scatter")
    if step < 1:
        raise RuntimeError(f"slice_scatter: slice step must be positive, got {step}")
    return _scatter_into("slice_scatter", input, (slice(None),) * d + (slice(start, end, step),), src)


def _diagonal_index(op: str, shape: Sequence[int], offset: int, dim1: int, dim2: int) -> tuple[int, int, tuple]:
    """(dim1, dim2, index) where index picks the offset-th diagonal of the (dim1, dim2) planes once
    they are moved to the last two dims."""
    from minigrad.functional.linalg import _diagonal_length, _diagonal_places  # linalg imports this module

    d1, d2 = _dim(dim1, len(shape), op), _dim(dim2, len(shape), op)
    if d1 == d2:
        raise RuntimeError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    k = int(offset)
    return d1, d2, (Ellipsis, *_diagonal_places(_diagonal_length(shape[d1], shape[d2], k), k))


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A copy of input with its diagonal(offset, dim1, dim2) replaced by src, as torch.diagonal_scatter."""
    _require_tensor("diagonal_scatter", input)
    d1, d2, place = _diagonal_index("diagonal_scatter", input.shape, offset, dim1, dim2)
    planes = movedim(input, (d1, d2), (-2, -1))
    return movedim(_scatter_into("diagonal_scatter", planes, place, src), (-2, -1), (d1, d2))


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose (dim1, dim2) planes hold input's last dimension on their offset-th diagonal,
    zeros elsewhere, as torch.diag_embed; differentiable."""
    _require_tensor("diag_embed", input)
    x = reshape(input, (1,)) if input.ndim == 0 else input
    n = x.shape[-1] + abs(int(offset))
    d1, d2, place = _diagonal_index("diag_embed", (n,) * (x.ndim + 1), offset, dim1, dim2)  # the planes: n x n
    zeros = Tensor._make(get_backend(x.device).full((*x.shape[:-1], n, n), 0, x.dtype), x.device)
    return movedim(IndexPutOp.apply(zeros, x, index=place), (-2, -1), (d1, d2))


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with input (flattened) on its offset-th diagonal, as torch.diagflat."""
    from minigrad.functional.linalg import diag  # linalg imports this module

    _require_tensor("diagflat", input)
    return diag(reshape(input, (-1,)), offset)


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of the given sizes (which must add up to the size of dim) along dim, as
    torch.split_with_sizes."""
    if isinstance(split_sizes, (int, np.integer)):
        raise TypeError("split_with_sizes: split_sizes must be a sequence of ints")
    return split(input, list(split_sizes), dim)


def _directional_split(op: str, input: Tensor, sections: int | Sequence[int], dim: int, ndim: int) -> tuple:
    """hsplit, vsplit, dsplit: tensor_split along dim, equal sections required."""
    _require_tensor(op, input)
    if input.ndim < ndim:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {ndim} dimension, but got a tensor "
                           f"with {input.ndim} dimensions!")
    if isinstance(sections, (int, np.integer)) and (sections == 0 or input.shape[dim] % sections):
        raise RuntimeError(f"torch.{op} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """tensor_split along dim 1 (dim 0 of a 1-D tensor), sections of equal size, as torch.hsplit."""
    dim = 0 if getattr(input, "ndim", 0) == 1 else 1
    return _directional_split("hsplit", input, indices_or_sections, dim, 1)


def vsplit(input: Tensor, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """tensor_split along dim 0 of a tensor of at least 2 dims, as torch.vsplit."""
    return _directional_split("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """tensor_split along dim 2 of a tensor of at least 3 dims, as torch.dsplit."""
    return _directional_split("dsplit", input, indices_or_sections, 2, 3)


def sum_to_size(input: Tensor, *size: Any) -> Tensor:
    """input summed down to size (which must broadcast to input's shape), as Tensor.sum_to_size;
    differentiable."""
    from minigrad.functional._common import _shape_args
    from minigrad.functional.reduce import sum as _sum

    shape = tuple(int(n) for n in _shape_args(size))
    lead = input.ndim - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, input.shape[lead:], strict=True)):
        raise RuntimeError(f"sum_to_size: size {list(shape)} is not expandable to size {list(input.shape)}")
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and input.shape[i + lead] != 1)
    return reshape(_sum(input, axes, keepdim=True), shape) if axes else input


def msort(input: Tensor) -> Tensor:
    """input sorted along dim 0, as torch.msort."""
    from minigrad.functional.reduce import sort

    return sort(input, 0).values


def unique_consecutive(
    input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Tensor | tuple[Tensor, ...]:
    """input with each run of equal consecutive elements (slices along dim; without dim, of the
    flattened tensor) kept once, as torch.unique_consecutive; with return_inverse, where each
    element went (input's shape, or dim's length), with return_counts each run's length. Never on
    the tape."""
    _require_tensor("unique_consecutive", input)
    host = input._host()
    if dim is None:
        rows = host.reshape(-1, 1)
        d = 0
    else:
        d = _dim(dim, host.ndim, "unique_consecutive")
        rows = np.moveaxis(host, d, 0).reshape(host.shape[d] if host.ndim else 1, -1)
    starts = np.ones(len(rows), bool)
    starts[1:] = np.any(rows[1:] != rows[:-1], axis=1) if rows.shape[1] else False
    first = np.flatnonzero(starts)
    values = host.reshape(-1)[first] if dim is None else np.take(host, first, axis=d)
    out = [_from_host(np.ascontiguousarray(values), input)]
    if return_inverse:
        inverse = np.cumsum(starts) - 1
        out.append(_from_host(inverse.reshape(host.shape) if dim is None else inverse, input))
    if return_counts:
        out.append(_from_host(np.diff(np.append(first, len(rows))).astype(np.int64), input))
    return out[0] if len(out) == 1 else tuple(out)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The r-element combinations of a 1-D tensor's elements (rows of the result, in
    itertools.combinations order; with_replacement: itertools.combinations_with_replacement), as
    torch.combinations; differentiable."""
    import itertools

    _require_tensor("combinations", input)
    if input.ndim != 1:
        raise RuntimeError(f"combinations: Expect a 1D vector, but got shape {list(input.shape)}")
    r = operator.index(r)
    if r < 0:
        raise RuntimeError(f"combinations: Expect a non-negative number, but got {r}")
    if r == 0:
        return input[:0]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    positions = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return index(input, positions)


def unravel_index(indices: Tensor | int, shape: int | Sequence[int]) -> tuple[Tensor, ...]:
    """The coordinates in a tensor of shape of the flat (row-major) indices, one int64 tensor per
    dimension (indices' shape), as torch.unravel_index: indices outside the shape wrap around."""
    from minigrad.creation import tensor as _tensor

    if not isinstance(indices, Tensor):
        indices = _tensor(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(operator.index(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"unravel_index: 'shape' cannot have negative values, but got {shape}")
    strides = np.cumprod((*shape[1:], 1)[::-1])[::-1]
    flat = indices._host().astype(np.int64)[..., None]
    coords = np.floor_divide(flat, strides) % np.maximum(np.array(shape, np.int64), 1)
    return tuple(_from_host(np.array(coords[..., i]), indices) for i in range(len(shape)))


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """The sum of products of a's dims dims[0] with b's dims[1] (an int n: a's last n with b's
    first n), the other dims of a then of b kept, as torch.tensordot; differentiable."""
    from minigrad.functional.linalg import matmul  # linalg imports this module

    _require_tensor("tensordot", a)
    _require_tensor("tensordot", b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        n = int(dims)
        if n > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={n}")
        dims_a, dims_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        if len(dims) != 2:
            raise RuntimeError("tensordot expects dims to be an int or a pair of lists of dims")
        dims_a, dims_b = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
        if len(dims_a) != len(dims_b):
            raise RuntimeError("both dimension lists should have same length")
    dims_a = [_dim(int(d), a.ndim, "tensordot") for d in dims_a]
    dims_b = [_dim(int(d), b.ndim, "tensordot") for d in dims_b]
    for da, db in zip(dims_a, dims_b, strict=True):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim {da} "
                               f"and second has size {b.shape[db]} in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    inner = math.prod(a.shape[d] for d in dims_a)
    left = reshape(permute(a, free_a + dims_a), (-1, inner) if inner else (math.prod(a.shape[d] for d in free_a), 0))
    right = reshape(permute(b, dims_b + free_b), (inner, math.prod(b.shape[d] for d in free_b)))
    return reshape(matmul(left, right), tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def inner(input: Tensor, other: Tensor) -> Tensor:
    """The sum of products over the last dims of input and other (a product where one is 0-d), as
    torch.inner; differentiable."""
    from minigrad.functional.elementwise import mul

    _require_tensor("inner", input)
    _require_tensor("inner", other)
    if input.ndim == 0 or other.ndim == 0:
        return mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def _trapezoid_dim(op: str, y: Tensor, dim: int) -> int:
    _require_tensor(op, y)
    if y.ndim == 0:
        raise IndexError(f"{op}: dimension specified as {dim} but tensor has no dimensions")
    return _dim(dim, y.ndim, op)


def _spacing(op: str, y: Tensor, x: Tensor | None, dx: float | None, d: int) -> Any:
    """The trapezoids' widths: dx (a number, 1 by default), or x's differences along d (a 1-D x
    holds the sample points of dim d)."""
    if x is not None and dx is not None:
        raise TypeError(f"{op}: received both x and dx; give one of them")
    if x is None:
        return 1 if dx is None else dx
    _require_tensor(op, x)
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{op}: There must be one `x` value for each sample point")
        return reshape(diff(x), (-1,) + (1,) * (y.ndim - 1 - d))
    return diff(x, dim=d - y.ndim if x.ndim < y.ndim else d)


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule's integral of y along dim, with sample points x (or spacing dx, 1 by
    default), as torch.trapezoid; differentiable."""
    from minigrad.functional.reduce import sum as _sum

    d = _trapezoid_dim("trapezoid", y, dim)
    widths = _spacing("trapezoid", y, x, dx, d)
    lead = (slice(None),) * d
    if y.shape[d] == 0:
        return _sum(y * 0.0, d)
    if not isinstance(widths, Tensor):  # PyTorch's constant-spacing formula
        return (_sum(y, d) - (y[lead + (0,)] + y[lead + (-1,)]) * 0.5) * widths
    return _sum(widths * (y[lead + (slice(1, None),)] + y[lead + (slice(None, -1),)]), d) / 2.0


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral of y along dim (one element shorter), with sample points x
    (or spacing dx, 1 by default), as torch.cumulative_trapezoid; differentiable."""
    from minigrad.functional.reduce import cumsum

    d = _trapezoid_dim("cumulative_trapezoid", y, dim)
    widths = _spacing("cumulative_trapezoid", y, x, dx, d)
    lead = (slice(None),) * d
    pairs = y[lead + (slice(1, None),)] + y[lead + (slice(None, -1),)]
    if not isinstance(widths, Tensor):
        return cumsum(pairs * (widths / 2.0), d)
    return cumsum(widths * pairs / 2.0, d)


def gradient(
    input: Tensor,
    *,
    spacing: Any = 1,
    dim: int | Sequence[int] | None = None,
    edge_order: int = 1,
) -> tuple[Tensor, ...]:
    """The derivative of the samples input along each of dim (every dimension when None), by
    second-order central differences inside and one-sided differences of order edge_order (1 or
    2) at the ends, as torch.gradient: one tensor per dimension, in a tuple. spacing is one number
    (the distance between samples in every dimension), a list of numbers (one per dimension), or a
    list of 1-D tensors (each dimension's sample coordinates). Differentiable (in the coordinates
    too); integer input gives floats."""
    op = "torch.gradient"
    _require_tensor(op, input)
    if input.dtype == np.uint8:
        raise RuntimeError("torch.gradient does not support uint8 input.")
    dims = list(range(input.ndim)) if dim is None else [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    if isinstance(spacing, Tensor):
        raise TypeError("gradient(): argument 'spacing' must be a number or a tuple of numbers or of tensors, not "
                        "Tensor")
    listed = isinstance(spacing, (list, tuple))
    spacings = list(spacing) if listed else [spacing] * len(dims)
    if listed and dim is None and len(spacings) != input.ndim:
        raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar, or a list of length equal to "
                           f"'self.dim() = {input.ndim}', since dim argument was not given, but got a list of length "
                           f"{len(spacings)}")
    if listed and dim is not None and len(spacings) != len(dims):
        raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                           f"arguments to have the same length, but got a spacing argument of length {len(spacings)} "
                           f"and a dim argument of length {len(dims)}.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = [_dim(d, input.ndim, op) for d in dims]
    for d in dims:
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    if any(input.shape[d] < edge_order + 1 for d in (dims if dim is not None else range(input.ndim))):
        raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    for h in spacings:
        if isinstance(h, Tensor) and h.ndim != 1:
            raise RuntimeError("torch.gradient expected each element of spacing to have one dimension, but got an "
                               f"element with {h.ndim} dimensions!")
    return tuple(_gradient_along(input, d, h, edge_order) for d, h in zip(dims, spacings, strict=True))


def _gradient_along(y: Tensor, d: int, h: Any, edge_order: int) -> Tensor:
    """torch.gradient's estimate along dimension d, with PyTorch's formulas and order of
    operations: h the samples' distance (a number) or their coordinates (a 1-D tensor)."""
    def part(start: int | None, stop: int | None = None) -> Tensor:
        return y[(slice(None),) * d + (slice(start, stop),)]

    if not isinstance(h, Tensor):
        center = (part(2) - part(0, -2)) / h / 2
        if edge_order == 1:
            first, last = (part(1, 2) - part(0, 1)) / h, (part(-1) - part(-2, -1)) / h
        else:
            first = (-1.5 * part(0, 1) + 2 * part(1, 2) - 0.5 * part(2, 3)) / h
            last = (0.5 * part(-3, -2) - 2 * part(-2, -1) + 1.5 * part(-1)) / h
        return cat([first, center, last], d)
    steps = diff(h)
    shape = (-1,) + (1,) * (y.ndim - 1 - d)
    dx1, dx2 = steps[:-1], steps[1:]
    a = reshape(-dx2 / (dx1 * (dx1 + dx2)), shape)
    b = reshape((dx2 - dx1) / (dx1 * dx2), shape)
    c = reshape(dx1 / (dx2 * (dx1 + dx2)), shape)
    center = a * part(0, -2) + b * part(1, -1) + c * part(2)
    if edge_order == 1:
        first, last = (part(1, 2) - part(0, 1)) / steps[0], (part(-1) - part(-2, -1)) / steps[-1]
    else:
        s0, s1, t0, t1 = steps[0], steps[1], steps[-1], steps[-2]
        first = (-(2.0 * s0 + s1) / (s0 * (s0 + s1)) * part(0, 1) + (s0 + s1) / (s0 * s1) * part(1, 2)
                 + -s0 / (s1 * (s0 + s1)) * part(2, 3))
        last = (t0 / (t1 * (t0 + t1)) * part(-3, -2) + -(t0 + t1) / (t0 * t1) * part(-2, -1)
                + (2 * t0 + t1) / (t0 * (t0 + t1)) * part(-1))
    return cat([first, center, last], d)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803 (PyTorch's name)
    """The Vandermonde matrix of the 1-D x: columns x ** (N - 1), ..., x ** 0 (increasing: the other
    way), N = len(x) by default, as torch.vander (integer and bool x give int64); differentiable."""
    from minigrad.functional.reduce import cumprod

    _require_tensor("vander", x)
    if x.ndim != 1:
        raise RuntimeError("vander: x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else operator.index(N)
    if n < 0:
        raise RuntimeError("vander: N must be non-negative.")
    x = cast(x, x.dtype if x.dtype.kind == "f" else int64)
    ones = Tensor._make(get_backend(x.device).full((x.shape[0], min(n, 1)), 1, x.dtype), x.device)
    columns = [ones]
    if n > 1:
        columns.append(cumprod(expand(unsqueeze(x, 1), (x.shape[0], n - 1)), 1))
    out = cat(columns, 1)
    return out if increasing else flip(out, 1)


def cov(
    input: Tensor, *, correction: int = 1, fweights: Tensor | None = None, aweights: Tensor | None = None
) -> Tensor:
    """The covariance matrix of the variables in input's rows (observations in its columns; a 1-D
    input is one variable), as torch.cov: correction 1 is Bessel's, fweights integer frequency
    weights and aweights observation weights, per column. Differentiable."""
    from minigrad.functional.elementwise import _float, clamp, mul
    from minigrad.functional.linalg import matmul
    from minigrad.functional.reduce import sum as _sum

    _require_tensor("cov", input)
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = _float(reshape(input, (1, -1)) if input.ndim < 2 else input)
    n = x.shape[1]
    w = None
    for name, weights, kinds in (("fweights", fweights, "iu"), ("aweights", aweights, "f")):
        if weights is None:
            continue
        _require_tensor("cov", weights)
        if weights.ndim > 1 or weights.numel() != n:
            raise RuntimeError(f"cov(): expected {name} to have one dimension of size {n}, got shape "
                               f"{list(weights.shape)}")
        if weights.dtype.kind not in kinds:
            raise DtypeError(f"cov(): expected {name} to have {'integral' if kinds == 'iu' else 'floating point'} "
                             f"dtype but got {weights.dtype}")
        if bool((weights < 0).any()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        weights = reshape(cast(weights, x.dtype), (n,))
        w = weights if w is None else mul(w, weights)
    if w is None:
        total = float(n)
        average = _sum(x, 1) / n if n else _sum(x, 1) * math.nan
    else:
        total = _sum(w)
        average = _sum(x * w, 1) / total
    if w is None or correction == 0:
        norm = total - correction
    elif aweights is None:
        norm = total - correction
    else:
        norm = total - correction * _sum(w * reshape(cast(aweights, x.dtype), (n,))) / total
    if (float(norm) if isinstance(norm, Tensor) else norm) <= 0:
        warn_user("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                  "observations.")
        norm = clamp(norm, min=0.0) if isinstance(norm, Tensor) else 0.0
    centred = x - unsqueeze(average, 1)
    c = matmul(centred, transpose(centred if w is None else centred * w, 0, 1))
    return squeeze(c / norm)


def corrcoef(input: Tensor) -> Tensor:
    """The Pearson correlation coefficients of the variables in input's rows, as torch.corrcoef
    (clipped to [-1, 1]); differentiable."""
    from minigrad.functional.elementwise import clamp, sqrt
    from minigrad.functional.linalg import diagonal

    c = cov(input)
    if c.ndim == 0:
        return c / c
    stddev = sqrt(diagonal(c))
    c = c / reshape(stddev, (-1, 1))
    c = c / reshape(stddev, (1, -1))
    return clamp(c, -1, 1)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of input - other (broadcasting), as torch.dist; differentiable."""
    from minigrad.functional.reduce import norm

    _require_tensor("dist", input)
    _require_tensor("dist", other)
    return norm(reshape(input - other, (-1,)), p)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """input with each slice along dim whose p-norm exceeds maxnorm scaled down to norm maxnorm
    (maxnorm / (norm + 1e-7)), as torch.renorm; differentiable."""
    from minigrad.functional.elementwise import div
    from minigrad.functional.reduce import norm

    _require_tensor("renorm", input)
    if input.dtype.kind != "f":
        raise DtypeError(f"renorm: expected a floating-point tensor, got {input.dtype}")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = _dim(dim, input.ndim, "renorm")
    norms = norm(input, p, [i for i in range(input.ndim) if i != d], keepdim=True)
    return input * where(norms > maxnorm, div(maxnorm, norms + 1e-7), 1.0)


def _add_product(op: str, input: Tensor, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """beta * input + alpha * product, input broadcast to the product's shape (beta 0 ignores input,
    NaNs included), as PyTorch's addmv, addr, addbmm and baddbmm."""
    from minigrad.functional.elementwise import add, mul

    _require_tensor(op, input)
    try:
        fits = np.broadcast_shapes(input.shape, product.shape) == product.shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"{op}: input of shape {input.shape} cannot be broadcast to the product's shape "
                           f"{product.shape}")
    if alpha != 1:
        product = mul(product, alpha)
    return product if beta == 0 else add(product, input, alpha=beta)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (mat @ vec), as torch.addmv; differentiable."""
    from minigrad.functional.linalg import mv

    _require_tensor("addmv", input)
    if not input.dtype == getattr(mat, "dtype", input.dtype) == getattr(vec, "dtype", input.dtype):
        raise DtypeError(f"addmv input tensors must have the same dtype, but got {input.dtype}, {mat.dtype}, and "
                         f"{vec.dtype}")
    return _add_product("addmv", input, mv(mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2), as torch.addr; differentiable."""
    from minigrad.functional.linalg import outer

    return _add_product("addr", input, outer(vec1, vec2), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2), as torch.baddbmm; differentiable."""
    from minigrad.functional.linalg import bmm

    _require_tensor("baddbmm", input)
    if not input.dtype == getattr(batch1, "dtype", input.dtype) == getattr(batch2, "dtype", input.dtype):
        raise DtypeError(f"baddbmm: Input dtypes must be the same, got: input {input.dtype}, batch1: {batch1.dtype}, "
                         f"batch2: {batch2.dtype}")
    return _add_product("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (the sum over the batch of batch1[i] @ batch2[i]), as torch.addbmm;
    differentiable."""
    from minigrad.functional.linalg import bmm
    from minigrad.functional.reduce import sum as _sum

    _require_same_input_dtype("addbmm", input, batch2)
    return _add_product("addbmm", input, _sum(bmm(batch1, batch2), 0), beta, alpha)


def _require_same_input_dtype(op: str, input: Tensor, mat2: Any) -> None:
    """addmm's and addbmm's check: input in the matrices' dtype (PyTorch does not promote it)."""
    _require_tensor(op, input)
    if isinstance(mat2, Tensor) and mat2.dtype != input.dtype:
        raise DtypeError(f"{op}: self and mat2 must have the same dtype, but got {input.dtype} and {mat2.dtype}")


def chain_matmul(*matrices: Tensor) -> Tensor:
    """The product of the 2-D matrices, left to right, as the deprecated torch.chain_matmul (which
    warns so too; use linalg.multi_dot's order-free product instead)."""
    from minigrad.functional.linalg import mm

    warn_user("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
              "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
              "multiple parameters.")
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        _require_tensor("chain_matmul", m)
        if m.ndim != 2:
            raise RuntimeError(f"chain_matmul(): Expected all tensors to be 2-D, got {m.ndim}-D")
    out = matrices[0].clone() if len(matrices) == 1 else matrices[0]
    for m in matrices[1:]:
        out = mm(out, m)
    return out


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The inner product of two 1-D tensors (their conjugate is themselves: minigrad's dtypes are
    real), as torch.vdot."""
    from minigrad.functional.linalg import dot

    return dot(input, other)


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims (for real tensors, the transpose mT), as
    torch.adjoint; a view."""
    _require_tensor("adjoint", input)
    if input.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                           f"{input.ndim}-D tensor.")
    return transpose(input, -2, -1)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of input with source's elements (read in order, as 1-D) written where the bool mask
    (broadcast to input's shape) is true, as torch.masked_scatter; differentiable in input and
    source."""
    _require_tensor("masked_scatter", input)
    _require_tensor("masked_scatter", source)
    if not isinstance(mask, Tensor) or mask.dtype != bool_:
        raise DtypeError(f"masked_scatter: only supports boolean masks, but got mask with dtype "
                         f"{getattr(mask, 'dtype', type(mask).__name__)}")
    if _broadcast_shape("masked_scatter", mask.shape, input.shape) != input.shape:
        raise RuntimeError(f"masked_scatter: mask of shape {mask.shape} cannot be broadcast to input's "
                           f"{input.shape}")
    if source.dtype != input.dtype:  # PyTorch refuses to convert
        raise DtypeError(f"masked_scatter: expected self and source to have same dtypes but got {input.dtype} and "
                         f"{source.dtype}")
    places = np.nonzero(np.broadcast_to(mask._host(), input.shape))
    count = places[0].size if input.ndim else int(mask._host().any())
    if count > source.numel():
        raise RuntimeError("masked_scatter: Number of elements of source < number of ones in mask")
    values = cast(reshape(source, (-1,))[:count], input.dtype)
    if input.ndim == 0:
        return where(mask, reshape(values, ()), input) if count else input.clone()
    return IndexPutOp.apply(input, values, index=places)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of input with source written (added, with accumulate) at the flat positions index,
    as torch.put (negative positions count from the end); differentiable."""
    _require_tensor("put", input)
    _require_tensor("put", source)
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        raise DtypeError(f"put: index must be an integer tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    if source.dtype != input.dtype:  # PyTorch refuses to convert
        raise DtypeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = {input.dtype} "
                         f"and source.dtype = {source.dtype}")
    if index.numel() != source.numel():
        raise RuntimeError(f"put: Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    n, positions = input.numel(), index._host().reshape(-1).astype(np.int64)
    if positions.size and (positions.min() < -n or positions.max() >= n):
        raise IndexError(f"put: index out of range for a tensor of {n} elements")
    flat = index_put(reshape(input, (-1,)), (positions,), cast(reshape(source, (-1,)), input.dtype), accumulate)
    return reshape(flat, input.shape)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """narrow's slice as a new tensor (not a view), as torch.narrow_copy."""
    return narrow(input, dim, start, length).clone()


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """nonzero(input) cut or padded (with fill_value) to size rows, as torch.nonzero_static."""
    _require_tensor("nonzero_static", input)
    size = operator.index(size)
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    found = np.argwhere(input._host())[:size]
    padded = np.full((size, input.ndim), fill_value, np.int64)
    padded[: len(found)] = found
    return _from_host(padded, input)


# scatter_reduce / index_reduce: numpy's ufunc.at on the host, forward and backward
_REDUCTIONS = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _reduce_into(x: np.ndarray, index: tuple, src: np.ndarray, reduce: str, include_self: bool) -> np.ndarray:
    """x with src reduced into it at index (scatter_reduce's forward, on host arrays)."""
    out = x.copy()
    count = np.zeros(x.shape, np.int64)
    np.add.at(count, index, 1)
    hit = count > 0
    if not include_self:
        if reduce in ("amax", "amin"):
            info = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype)
            start = (-np.inf if reduce == "amax" else np.inf) if x.dtype.kind == "f" else (
                info.min if reduce == "amax" else info.max)
        else:
            start = 1 if reduce == "prod" else 0
        out[hit] = start
    with np.errstate(all="ignore"):
        _REDUCTIONS[reduce].at(out, index, src)
        if reduce == "mean":
            n = np.maximum(count + include_self, 1)
            out = np.where(hit, out / n if x.dtype.kind == "f" else np.floor_divide(out, n), out).astype(x.dtype)
    return out


class ScatterReduceOp(Function):
    """a with src reduced into it at index ("sum", "prod", "mean", "amax", "amin"), on the host;
    PyTorch's gradients (prod: exact through zeros; amax/amin: shared evenly by the ties)."""

    __slots__ = ("index", "reduce", "include_self")

    def forward(self, a, src, index, reduce, include_self):
        be = self.be
        self.index, self.reduce, self.include_self = index, reduce, include_self
        out = be.from_numpy(_reduce_into(be.to_numpy(a), index, be.to_numpy(src), reduce, include_self))
        self.saved = (a, src, out)
        return out

    def backward(self, g):
        be = self.be
        x, s, out = (be.to_numpy(v) for v in self.saved)
        grad, index, reduce, include_self = be.to_numpy(g), self.index, self.reduce, self.include_self
        count = np.zeros(x.shape, np.int64)
        np.add.at(count, index, 1)
        hit = count > 0
        with np.errstate(all="ignore"):
            if reduce == "sum":
                g_self, g_src = grad, grad[index]
            elif reduce == "mean":
                n = np.maximum(count + include_self, 1)
                g_self, g_src = grad / n, grad[index] / n[index]
            elif reduce == "prod":
                unzeroed = np.where(x == 0, 1, x)
                g_self = grad * _reduce_into(unzeroed, index, s, "prod", include_self) / unzeroed
                zero = s == 0
                zeros_here = np.zeros(x.shape, np.int64)
                np.add.at(zeros_here, index, zero)
                single = zero & (zeros_here[index] == 1)
                without = _reduce_into(x, index, np.where(single, 1, s), "prod", include_self)
                g_src = np.where(single, (grad * without)[index], (grad * out)[index] / np.where(zero, 1, s))
            else:  # amax, amin: shared by the elements equal to the result (self only where it took part)
                self_is = (x == out) & (include_self | ~hit)
                src_is = s == out[index]
                ties = self_is.astype(x.dtype)
                np.add.at(ties, index, src_is)
                share = grad / ties
                g_self, g_src = self_is * share, src_is * share[index]
        if not include_self:
            g_self = np.where(hit, 0, g_self)
        return (be.from_numpy(np.ascontiguousarray(g_self, dtype=x.dtype)) if self.needs_grad(0) else None,
                be.from_numpy(np.ascontiguousarray(g_src, dtype=s.dtype)) if self.needs_grad(1) else None)


def _check_reduce(op: str, reduce: str, allowed: Sequence[str], input: Tensor) -> None:
    if reduce not in allowed:
        raise ArgumentError(f"{op}: reduce argument must be one of {', '.join(allowed)}, got {reduce!r}")
    if input.dtype == bool_:
        raise NoKernelForDtypeError(f"{op}: not implemented for bool tensors")


def scatter_reduce(
    input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """A copy of input with src's elements reduced into the places index names along dim (as
    scatter_add addresses them), by reduce: "sum", "prod", "mean", "amax" or "amin"; include_self
    False leaves input's own values at those places out, as torch.scatter_reduce. Differentiable in
    input and src (PyTorch's gradients; with include_self=False an input value that merely equals a
    place's max or min takes no share of its gradient, where PyTorch's formula gives it one)."""
    _check_reduce("scatter_reduce", reduce, tuple(_REDUCTIONS), input)
    d = _check_index("scatter_reduce", input, dim, index)
    values = _scatter_source("scatter_reduce", input, index, src)
    return ScatterReduceOp.apply(input, values, index=_along(index, d), reduce=reduce, include_self=bool(include_self))


def index_reduce(
    input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """A copy of input with source's slices along dim reduced into the slices index names, by reduce:
    "prod", "mean", "amax" or "amin", as torch.index_reduce (include_self as scatter_reduce's);
    differentiable in input and source."""
    _check_reduce("index_reduce", reduce, ("prod", "mean", "amax", "amin"), input)
    x, d, positions = _index_target("index_reduce", input, dim, index)
    _require_tensor("index_reduce", source)
    expected = _with(x.shape, d, positions.size)
    if tuple(reshape(source, (-1,)).shape if input.ndim == 0 else source.shape) != expected and input.ndim:
        raise RuntimeError(f"index_reduce: source of shape {list(source.shape)} does not match the input's shape "
                           f"{list(x.shape)} with {positions.size} elements along dim {d}")
    place = list(np.indices(expected, sparse=True))
    place[d] = positions.reshape(_with((1,) * len(expected), d, -1))
    out = ScatterReduceOp.apply(x, cast(reshape(source, expected), x.dtype), index=tuple(place), reduce=reduce,
                                include_self=bool(include_self))
    return reshape(out, ()) if input.ndim == 0 else out
