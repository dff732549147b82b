"""Matrix multiply with numpy/PyTorch broadcasting semantics, its strict forms (mm, bmm), outer,
addmm, the matrix-shaped selections tril/triu and diag (composed from where and indexing),
diagonal (a strided view), and cross, kron and cdist (composed from the elementwise ops and matmul)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.autograd import Function, name_node
from minigrad.backend import get_backend
from minigrad.functional._common import (
    ArgumentError,
    DtypeError,
    ShapeError,
    _dim,
    _from_host,
    _require_float,
    _require_same_dtype,
    _require_tensor,
    _sum_to,
)
from minigrad.functional.elementwise import _operands, _shape, clamp, mul, pow, sign, where
from minigrad.functional.elementwise import abs as _abs  # the differentiable abs, not the builtin
from minigrad.functional.reduce import amax
from minigrad.functional.reduce import sum as _sum  # the differentiable sum, not the builtin
from minigrad.functional.shape import (
    _add_product,
    _require_same_input_dtype,
    broadcast_tensors,
    index,
    index_put,
    reshape,
    squeeze,
    stack,
    unbind,
    unsqueeze,
)
from minigrad.tensor import Tensor

# --- matrix multiply -------------------------------------------------------------------------


def _mT(be, a):  # noqa: N802
    axes = list(range(a.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return be.permute(a, tuple(axes))


class MatMulOp(Function):
    """alpha * (a @ b) for rank >= 2 (2-D through the GEMM kernel, batched through the backend's
    matmul); alpha (attention's 1 / sqrt(d)) is the GEMM's, not a pass of its own."""

    __slots__ = ("alpha",)

    def forward(self, a, b, alpha=1.0):
        self.alpha = alpha
        # each operand is saved only for the other's gradient
        self.saved = (a if self.needs_grad(1) else a.shape, b if self.needs_grad(0) else b.shape)
        return self.be.matmul(a, b, alpha)

    def backward(self, g):
        a, b = self.saved
        be, alpha = self.be, self.alpha
        ga = _sum_to(be, be.matmul(g, _mT(be, b), alpha), _shape(a)) if self.needs_grad(0) else None
        gb = _sum_to(be, be.matmul(_mT(be, a), g, alpha), _shape(b)) if self.needs_grad(1) else None
        return ga, gb

    def _torch_name(self) -> str:
        a, b = self.saved  # each an array or its shape
        return _matmul_node(len(_shape(a)), len(_shape(b)))


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules: 1-D operands are promoted to a row/column and the
    added dimension removed; batch dimensions broadcast."""
    return _scaled_matmul(input, other, 1.0)


def _scaled_matmul(input: Tensor, other: Tensor, alpha: float) -> Tensor:
    """alpha * matmul(input, other), alpha applied as the GEMM writes the product (float only)."""
    if isinstance(input, Tensor) and isinstance(other, Tensor):  # no promotion, as PyTorch's products
        _require_same_dtype("matmul", input, other)
    a, b = _operands(input, other)
    if a.dtype.kind not in "iuf":  # integer products as PyTorch's (no gradient); not bool
        _require_float("matmul", a, b)
    sa, sb = a._data.shape, b._data.shape  # plain tuples: this runs per product, Size costs
    if not sa or not sb:
        raise ShapeError(f"matmul: both arguments need at least 1 dimension, got shapes {sa} and {sb}")
    inner = sb[0 if len(sb) == 1 else -2]
    if sa[-1] != inner:
        raise ShapeError(f"matmul: shapes {sa} and {sb} cannot be multiplied ({sa[-1]} != {inner})")
    if len(sa) > 2 or len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ShapeError(f"matmul: batch dimensions of {sa} and {sb} cannot be broadcast") from None
    a2 = unsqueeze(a, 0) if len(sa) == 1 else a
    b2 = unsqueeze(b, 1) if len(sb) == 1 else b
    out = MatMulOp.apply(a2, b2, alpha=alpha)
    if len(sb) == 1:
        out = squeeze(out, -1)
    if len(sa) == 1:
        out = squeeze(out, -2 if len(sb) > 1 else -1)
    # a vector operand's product is named for its 1-D form (MvBackward0, DotBackward0); MatMulOp names the rest
    return name_node(out, _matmul_node(len(sa), len(sb))) if len(sa) == 1 or len(sb) == 1 else out


def _matmul_node(a_ndim: int, b_ndim: int) -> str:
    """PyTorch's node name for matmul of an a_ndim-D and a b_ndim-D operand."""
    if a_ndim > 2 or b_ndim > 2:
        return "UnsafeViewBackward0"
    return {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4", (2, 2): "MmBackward0"}[
        (a_ndim, b_ndim)]


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """The matrix product of two 2-D tensors (matmul without broadcasting), as torch.mm."""
    _require_tensor("mm", input)
    _require_tensor("mm", mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: both arguments must be matrices, got shapes {input.shape} and {mat2.shape}")
    if input.shape[1] != mat2.shape[0]:
        (n, k), (k2, m) = input.shape, mat2.shape
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (b, n, k) and (b, k, m) tensors (no broadcasting), as torch.bmm."""
    _require_tensor("bmm", input)
    _require_tensor("bmm", mat2)
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"bmm: {name} must be a 3D tensor, got shape {t.shape}")
    want, got = [input.shape[0], input.shape[2]], list(mat2.shape[:2])
    if got != want:
        raise RuntimeError(f"bmm: expected size for first two dimensions of batch2 tensor to be: {want} but got: {got}")
    return name_node(matmul(input, mat2), "BmmBackward0")


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two 1-D tensors: out[i, j] = input[i] * vec2[j], as torch.outer."""
    _require_tensor("outer", input)
    _require_tensor("outer", vec2)
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: expected 1-D argument {name}, but got {t.ndim}-D")
    return mul(unsqueeze(input, 1), unsqueeze(vec2, 0))


def _triangle(op: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    """input with the elements off the lower (or upper) triangle of its last two dims zeroed."""
    _require_tensor(op, input)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape {input.shape}")
    rows, cols = input.shape[-2:]
    below = np.tri(rows, cols, int(diagonal) - (0 if lower else 1), dtype=bool)
    be = get_backend(input.device)
    keep = _from_host(below if lower else ~below, input)
    return name_node(where(keep, input, Tensor._make(be.full((), 0, input.dtype), input.device)),
                     f"{op.capitalize()}Backward0")  # TrilBackward0, TriuBackward0


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below the diagonal-th diagonal; above it
    zero), as torch.tril; differentiable."""
    return _triangle("tril", input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above the diagonal-th diagonal), as torch.triu."""
    return _triangle("triu", input, diagonal, False)


def _diagonal_length(rows: int, cols: int, k: int) -> int:
    """How long the k-th diagonal (above the main one for k > 0) of a rows x cols matrix is."""
    return max(0, min(rows, cols - k) if k >= 0 else min(rows + k, cols))


def _diagonal_places(length: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The (row, column) indices of the k-th diagonal's length elements."""
    return np.arange(length) + max(-k, 0), np.arange(length) + max(k, 0)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """As torch.diag: a 1-D tensor becomes a square matrix with it on the diagonal-th diagonal
    (above the main one for diagonal > 0); a matrix gives that diagonal as a 1-D tensor.
    Differentiable either way."""
    _require_tensor("diag", input)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    k = int(diagonal)
    length = input.shape[0] if input.ndim == 1 else _diagonal_length(*input.shape, k)
    places = _diagonal_places(length, k)
    if input.ndim == 2:
        return index(input, places)
    n = length + abs(k)
    zeros = Tensor._make(get_backend(input.device).full((n, n), 0, input.dtype), input.device)
    return index_put(zeros, places, input)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """The inner product of two 1-D tensors of one size and dtype, as torch.dot; differentiable."""
    _require_tensor("dot", input)
    _require_tensor("dot", other)
    if input.ndim != 1 or other.ndim != 1 or input.shape != other.shape:
        raise RuntimeError(f"dot: expected two 1-D tensors of one size, got shapes {input.shape} and {other.shape}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"dot: expected both vectors to have same dtype, but found {input.dtype} and {other.dtype}")
    return matmul(input, other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The product of a matrix (n, m) and a vector (m,), as torch.mv."""
    _require_tensor("mv", input)
    _require_tensor("mv", vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {input.shape} and {vec.shape}")
    return matmul(input, vec)


class DiagonalOp(Function):
    """A diagonal (backend.diagonal): a view of the input where the device has strided views, so
    that in-place changes of it reach the input (autograd records them as for any view). The
    gradient goes onto that diagonal of zeros."""

    __slots__ = ("args",)

    def forward(self, a, offset, dim1, dim2):
        self.args = (offset, dim1, dim2)
        self.saved = (a.shape, a.dtype)
        return self.be.diagonal(a, offset, dim1, dim2)

    def backward(self, g):
        shape, dtype = self.saved
        offset, dim1, dim2 = self.args
        axes = [i for i in range(len(shape)) if i not in (dim1, dim2)] + [dim1, dim2]  # the diagonal's dims last
        places = (Ellipsis, *_diagonal_places(g.shape[-1], offset))
        grad = self.be.index_add(tuple(shape[i] for i in axes), dtype, places, g)
        return (self.be.permute(grad, tuple(int(i) for i in np.argsort(axes))),)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The offset-th diagonal of the matrices in dims dim1 (rows) and dim2 (above the main one for
    offset > 0), as the last dimension after the others, as torch.diagonal; differentiable. A view
    on the CPU, as PyTorch's: `s.diagonal().fill_(0)` changes s (on CUDA the result is a copy)."""
    _require_tensor("diagonal", input)
    d1, d2 = _dim(dim1, input.ndim, "diagonal"), _dim(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagonalOp.apply(input, offset=int(offset), dim1=d1, dim2=d2)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape, as
    torch.addmm (beta=0 ignores input, NaNs included, as PyTorch); differentiable."""
    _require_same_input_dtype("addmm", input, mat2)
    return _add_product("addmm", input, mm(mat1, mat2), beta, alpha)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along dim (broadcasting the rest), as torch.cross: dim=None
    takes the first dimension of size 3; differentiable."""
    _require_tensor("cross", input)
    _require_tensor("cross", other)
    a, b = broadcast_tensors(*_operands(input, other))
    if dim is None:
        d = next((i for i, n in enumerate(a.shape) if n == 3), None)
        if d is None:
            raise RuntimeError("no dimension of size 3 in input")
    else:
        d = _dim(dim, a.ndim, "cross")
        if a.shape[d] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]}")
    (a1, a2, a3), (b1, b2, b3) = unbind(a, d), unbind(b, d)
    return stack([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], d)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product (every element of input times all of other, in blocks), as
    torch.kron; the shorter shape gets leading 1s; differentiable."""
    _require_tensor("kron", input)
    _require_tensor("kron", other)
    a, b = _operands(input, other)
    n = max(a.ndim, b.ndim)
    sa, sb = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b.ndim) + b.shape
    spread_a = reshape(a, tuple(x for s in sa for x in (s, 1)))  # (a0, 1, a1, 1, ...)
    spread_b = reshape(b, tuple(x for s in sb for x in (1, s)))  # (1, b0, 1, b1, ...)
    return reshape(mul(spread_a, spread_b), tuple(p * q for p, q in zip(sa, sb, strict=True)))


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M), as a
    (..., P, R) tensor (batch dimensions broadcast), as torch.cdist: p >= 0, inf for the largest
    difference. Euclidean distances go through a matrix product, as PyTorch's, when P or R
    exceeds 25 (compute_mode "use_mm_for_euclid_dist_if_necessary") or always
    ("use_mm_for_euclid_dist"): |a|^2 - 2 a.b + |b|^2, clamped at 0; the others, from the
    differences (P x R x M of them). Differentiable, with gradient 0 at distance 0."""
    _require_float("cdist", x1, x2)
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if not p >= 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode == _CDIST_MODES[0] and (x1.shape[-2] > 25 or x2.shape[-2] > 25))):
        # the differences took P x R x M elements (512 MB for 1000 x 1000 rows of 128) and 16x
        # PyTorch's time at 64 x 64 rows of 1000
        norms1, norms2 = _sum(mul(x1, x1), -1, True), _sum(mul(x2, x2), -1, True)
        powered = clamp(norms1 - 2.0 * matmul(x1, x2.transpose(-2, -1)) + norms2.transpose(-2, -1), 0.0)
        return _root(powered, 2.0)
    return _norm_of_differences(unsqueeze(x1, -2) - unsqueeze(x2, -3), p)  # (..., P, R, M) differences


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distance between every pair of rows i < j of input (N, M), in row-major order of
    the pairs: the upper triangle (without the diagonal) of cdist(input, input, p), a tensor of
    N * (N - 1) / 2 distances, as torch.pdist (p >= 0, inf for the largest difference).
    Differentiable, with PyTorch's gradients (0 at distance 0)."""
    _require_tensor("pdist", input)
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if input.dtype.kind != "f":
        raise DtypeError("pdist only supports floating-point dtypes")
    if not p >= 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows, cols = np.triu_indices(input.shape[0], 1)
    diff = index(input, _from_host(rows, input)) - index(input, _from_host(cols, input))
    return name_node(_norm_of_differences(diff, p), "PdistBackward0")


def _norm_of_differences(diff: Tensor, p: float) -> Tensor:
    """The p-norm over the last dimension of diff (differences of rows), with PyTorch's cdist and
    pdist gradients: 0 from a difference of 0 and at a distance of 0, and for p = inf the whole
    gradient to each difference that ties for the largest."""
    size = _abs(diff)
    if p == 0:
        return _sum(sign(size), -1)  # counts the nonzero differences; gradient 0
    if p == math.inf:
        largest = amax(size, -1, True).detach()
        moved = size - size.detach()  # 0, with the gradient of size
        return squeeze(largest, -1) + _sum(where(size == largest, moved, 0.0), -1)
    if p == 1:
        return _sum(size, -1)
    if p == 2:
        return _root(_sum(mul(diff, diff), -1), p)
    zero = size == 0  # size ** p's gradient there is infinite below p = 1: taken of 1 instead
    return _root(_sum(where(zero, 0.0, pow(where(zero, 1.0, size), p)), -1), p)


def _root(powered: Tensor, p: float) -> Tensor:
    """powered ** (1 / p), its gradient 0 where powered is 0 (the root's is infinite there: it is
    taken of 1 instead), as PyTorch's cdist."""
    zero = powered == 0
    return where(zero, 0.0, pow(where(zero, 1.0, powered), 1 / p))


def t(input: Tensor) -> Tensor:
    """A matrix transposed (0-D and 1-D tensors as they are), as torch.t."""
    _require_tensor("t", input)
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor of at most 2 dimensions, got shape {input.shape}")
    return input.t()


# --- einsum -------------------------------------------------------------------------------------

# Stand-ins for the dimensions an ellipsis covers (right-aligned across operands, as broadcasting).
_ELLIPSIS_LETTERS = [chr(0x3B1 + i) for i in range(24)]  # Greek: never in a user's subscripts


def _einsum_terms(equation: str, operands: tuple[Tensor, ...]) -> tuple[list[str], str]:
    """Each operand's subscripts (ellipses expanded) and the output's."""
    equation = equation.replace(" ", "")
    lhs, arrow, out = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ArgumentError(f"einsum: {equation!r} has {len(terms)} operand subscripts for {len(operands)} operands")
    for term in (*terms, out):
        letters = term.replace("...", "")
        if not all(c.isalpha() and c.isascii() for c in letters) or term.count("...") > 1 or "." in letters:
            raise ArgumentError(f"einsum: subscripts must be letters with at most one '...', got {term!r}")
    widths = []
    for term, op in zip(terms, operands, strict=True):
        named = len(term.replace("...", ""))
        width = op.ndim - named if "..." in term else 0
        if width < 0 or (width == 0 and "..." not in term and named != op.ndim):
            raise ShapeError(f"einsum: subscripts {term!r} for an operand of {op.ndim} dimensions {op.shape}")
        widths.append(width)
    span = max(widths, default=0)
    expanded = [term.replace("...", "".join(_ELLIPSIS_LETTERS[span - w:span]))
                for term, w in zip(terms, widths, strict=True)]
    if arrow:
        out = out.replace("...", "".join(_ELLIPSIS_LETTERS[:span]))
        if len(set(out)) != len(out):
            raise ArgumentError(f"einsum: output subscripts {out!r} repeat a letter")
        missing = set(out) - set("".join(expanded))
        if missing:
            raise ArgumentError(f"einsum: output subscripts {sorted(missing)} appear in no operand")
    else:  # implicit: the ellipsis, then the letters used once, in alphabetical order
        counts = {c: "".join(expanded).count(c) for c in "".join(expanded)}
        out = "".join(_ELLIPSIS_LETTERS[:span]) + "".join(sorted(c for c, n in counts.items()
                                                                  if n == 1 and c not in _ELLIPSIS_LETTERS))
    return expanded, out


def _take_diagonals(op: Tensor, term: str) -> tuple[Tensor, str]:
    """op with each letter repeated in term reduced to its diagonal (that letter once, first)."""
    for letter in dict.fromkeys(term):
        while term.count(letter) > 1:
            p = term.index(letter)
            q = term.index(letter, p + 1)
            if op.shape[p] != op.shape[q]:
                raise ShapeError(f"einsum: {letter!r} labels dimensions of sizes {op.shape[p]} and {op.shape[q]}")
            rest = [d for d in range(op.ndim) if d not in (p, q)]
            moved = op.permute((p, q, *rest))
            steps = _from_host(np.arange(op.shape[p]), op)
            op = index(moved, (steps, steps))
            term = letter + "".join(term[d] for d in rest)
    return op, term


def _einsum_pair(a: Tensor, la: str, b: Tensor, lb: str, keep: set[str]) -> tuple[Tensor, str]:
    """a (subscripts la) and b (lb) contracted over their shared letters not in keep: one matmul."""
    size = {c: n for term, t in ((la, a), (lb, b)) for c, n in zip(term, t.shape, strict=True) if n != 1}
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    left, right = [c for c in la if c not in lb], [c for c in lb if c not in la]

    def arrange(t: Tensor, term: str, order: list[str], groups: list[list[str]]) -> Tensor:
        t = t.permute([term.index(c) for c in order])
        t = t.expand(tuple(size.get(c, 1) for c in order))  # size-1 dimensions broadcast
        return t.reshape(tuple(int(np.prod([size.get(c, 1) for c in g])) for g in groups))

    a3 = arrange(a, la, batch + left + summed, [batch, left, summed])
    b3 = arrange(b, lb, batch + summed + right, [batch, summed, right])
    out = matmul(a3, b3).reshape(tuple(size.get(c, 1) for c in batch + left + right))
    return out, "".join(batch + left + right)


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation, as torch.einsum: ``einsum("bij,bjk->bik", a, b)``; the output is implicit
    without '->' (the letters used once, alphabetically); '...' stands for the dimensions not
    named (broadcast across operands); a letter repeated in one operand takes its diagonal.
    Operands are contracted pairwise from the left, each pair by one batched matmul (never an
    outer product of everything), letters no later operand or the output uses summed first."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(t, Tensor) for t in operands):
        raise TypeError("einsum: operands must be one or more Tensors")
    terms, out = _einsum_terms(equation, operands)
    pairs = [_take_diagonals(t, term) for t, term in zip(operands, terms, strict=True)]
    sizes: dict[str, int] = {}
    for t, term in pairs:
        for c, n in zip(term, t.shape, strict=True):
            if n != 1 and sizes.setdefault(c, n) != n:  # size 1 broadcasts
                raise ShapeError(f"einsum: {c!r} labels dimensions of sizes {sizes[c]} and {n}")

    def needed(later: list[tuple[Tensor, str]]) -> set[str]:
        return set(out).union(*(set(term) for _, term in later))

    def sum_unused(t: Tensor, term: str, keep: set[str]) -> tuple[Tensor, str]:
        dims = [d for d, c in enumerate(term) if c not in keep]
        if not dims:
            return t, term
        return t.sum(dims), "".join(c for c in term if c in keep)

    result, term = sum_unused(*pairs[0], needed(pairs[1:]))
    for i in range(1, len(pairs)):
        keep = needed(pairs[i + 1:])
        other, other_term = sum_unused(*pairs[i], keep | set(term))
        result, term = _einsum_pair(result, term, other, other_term, keep)
    result, term = sum_unused(result, term, set(out))
    # PyTorch's last node: a single operand's sum or permute, else a view (after contracting) or a mul
    summed = set("".join(terms)) > set(out)
    node = ("SumBackward1" if summed else "PermuteBackward0") if len(operands) == 1 else \
        ("ViewBackward0" if summed else "MulBackward0")
    return name_node(result.permute([term.index(c) for c in out]), node)
