"""minigrad.linalg: torch.linalg under PyTorch's names, signatures and result tuples.

The norms (vector_norm, matrix_norm, norm) are composed of differentiable reductions (abs, sum,
amax/amin, the 2-norm), so they run on every device; matrix_norm's ord 2, -2 and "nuc" reduce
svdvals, which runs on the host as the rest. The factorizations and solvers (inv, inv_ex, det,
slogdet, solve, solve_triangular, cholesky, cholesky_ex, eigh, eigvalsh, svd, svdvals, qr, pinv,
matrix_exp, lu_factor, lu_factor_ex: getrf's partial pivoting written in numpy) run numpy.linalg on
the host in float64 and give the input's dtype: a CUDA tensor makes a round trip to the host and
gets its results on its device. They are differentiable with PyTorch's backward formulas (see
minigrad.functional.decompositions), and any number of times:
for create_graph each gradient is also written with differentiable minigrad ops (the factors
recomputed on the tape from the input), through functional.derivatives.HostPullback.
lstsq, matrix_power, multi_dot, vecdot, diagonal, cross and cond are composed of those and of
differentiable tensor ops; matrix_rank and the rank and info outputs are integer tensors without
gradients.

Errors as PyTorch's: a singular matrix (inv, solve), one that is not positive-definite (cholesky)
or an iteration that does not converge raise LinAlgError, a RuntimeError as
torch.linalg.LinAlgError; shapes that do not fit RuntimeError; integer tensors TypeError (where
PyTorch allows them, in matrix_power, multi_dot, diagonal and cross, they work).

Not in torch.linalg but here for minigrad's top-level and Tensor aliases (not in __all__):
inverse (torch.inverse), logdet (torch.logdet), pinverse (torch.pinverse), svd_legacy (torch.svd:
V, not Vh, and some=), qr_legacy (torch.qr: some=) and cholesky_legacy (torch.cholesky: upper
positional), lu_unpack (torch.lu_unpack), lu_legacy and lu_solve_legacy (the deprecated torch.lu and
torch.lu_solve). lu, lu_unpack and lu_solve are composed of lu_factor and tensor ops (triangular
solves on LU's triangles, a permutation matrix), so differentiable as PyTorch's."""

from __future__ import annotations

import math
import numbers
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import functional as F
from minigrad.autograd import is_grad_enabled, name_node
from minigrad.functional._common import (
    ArgumentError,
    DtypeError,
    NoKernelForDtypeError,
    ShapeError,
    _dim,
    _from_host,
    _require_tensor,
)
from minigrad.functional.decompositions import (
    QR_COMPLETE_TALL,
    QR_R_MODE,
    CholeskyOp,
    CholeskySolveOp,
    DetOp,
    EighOp,
    InvOp,
    LinAlgError,
    LuFactorOp,
    MatrixExpOp,
    NumpyOps,
    PinvOp,
    QrOp,
    SlogdetOp,
    SolveOp,
    SolveTriangularOp,
    SvdOp,
    _batch_note,
    broadcast_batch,
    chain_order,
    check_matrices,
    check_same_dtype,
    cholesky_each,
    cholesky_grad,
    det_grad,
    eigh_grad,
    expm,
    expm_grad,
    host64,
    host_output,
    inv_grad,
    inverse_each,
    lapack,
    lu_factor_each,
    lu_grad,
    lu_permutations,
    machine_eps,
    mT,
    not_positive_definite_error,
    numerical_rank,
    permutation_matrices,
    pinv_grad,
    pinv_host,
    placeholder,
    qr_grad,
    singular_error,
    slogdet_grad,
    solve_grads,
    solve_triangular_grads,
    svd_grad,
    tolerances,
    triangular_solve,
)
from minigrad.functional.derivatives import HostPullback
from minigrad.tensor import Tensor

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "inv_ex",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
    "cond",
    "vecdot",
    "vector_norm",
]

# the result tuples, with PyTorch's field names (torch.return_types.linalg_*)
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = namedtuple("QRResult", ["Q", "R"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])
InvExResult = namedtuple("InvExResult", ["inverse", "info"])
CholeskyExResult = namedtuple("CholeskyExResult", ["L", "info"])
LUFactorResult = namedtuple("LUFactorResult", ["LU", "pivots"])
LUFactorExResult = namedtuple("LUFactorExResult", ["LU", "pivots", "info"])
LUResult = namedtuple("LUResult", ["P", "L", "U"])
LUUnpackResult = namedtuple("LUUnpackResult", ["P", "L", "U"])  # torch.lu_unpack's
LUWithInfoResult = namedtuple("LUWithInfoResult", ["LU", "pivots", "info"])  # torch.lu(get_infos=True)'s
SVDLegacyResult = namedtuple("SVDLegacyResult", ["U", "S", "V"])  # torch.svd's

_MATRIX_ORDS = ("'fro'", "'nuc'", "1", "-1", "2", "-2", "inf", "-inf")
_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _float_input(op: str, x: Tensor, dtype: Any) -> Tensor:
    """x checked to be floating (as PyTorch, before any dtype= conversion), then in dtype if given."""
    _require_tensor(op, x)
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: expected a floating-point tensor, got {x.dtype}")
    return x if dtype is None else F.cast(x, dtype)


def _axes(op: str, dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """dim as sorted non-negative dims; every dim for None or ()."""
    if dim is None:
        return tuple(range(ndim))
    dims = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    axes = sorted(_dim(int(d), ndim, op) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dim {dim} names a dimension more than once")
    return tuple(axes) if axes else tuple(range(ndim))


def _requires_grad(t: Tensor) -> bool:
    return t.requires_grad and is_grad_enabled()


def vector_norm(
    x: Tensor,
    ord: float = 2,  # noqa: A002 (PyTorch's name)
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """The ord-norm of x over dim (every element for None or ()), as torch.linalg.vector_norm:
    (sum |x|^ord)^(1/ord) for any number ord, with ord inf the largest |x|, -inf the smallest and 0
    the count of non-zero elements. Gradients as PyTorch's: 0 at zero elements (and for ord 0),
    shared evenly by equal largest (smallest) elements for ord inf (-inf)."""
    x = _float_input("linalg.vector_norm", x, dtype)
    if not isinstance(ord, (numbers.Number, np.generic)):
        raise TypeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    axes = _axes("linalg.vector_norm", dim, x.ndim)
    magnitude = F.abs(x)
    if ord in (math.inf, -math.inf):
        if any(x.shape[a] == 0 for a in axes):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm of an empty dimension "
                               f"(shape {x.shape}, dim {dim}): the operation has no identity")
        return (F.amax if ord > 0 else F.amin)(magnitude, axes, keepdim)
    if ord == 2:
        return F.norm(x, 2, axes, keepdim)
    if ord == 1:
        return F.sum(magnitude, axes, keepdim)
    if ord == 0:
        return F.sum(F.cast(magnitude != 0, x.dtype), axes, keepdim)
    # zero elements add 0 (ord > 0) or inf (ord < 0, making the norm 0) and take no gradient
    nonzero = magnitude != 0
    powers = F.where(nonzero, F.where(nonzero, magnitude, 1.0) ** ord, 0.0 if ord > 0 else math.inf)
    return F.sum(powers, axes, keepdim) ** (1.0 / ord)


def matrix_norm(
    A: Tensor,  # noqa: N803 (PyTorch's name)
    ord: float | str = "fro",  # noqa: A002
    dim: Sequence[int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """The ord-norm of the matrices in dims dim of A, as torch.linalg.matrix_norm: "fro" the square
    root of the sum of squares, "nuc" the sum of the singular values, 2 (-2) the largest (smallest)
    singular value, 1 (-1) the largest (smallest) column sum of |A|, inf (-inf) the largest
    (smallest) row sum. Differentiable; equal largest (smallest) values share the gradient."""
    A = _float_input("linalg.matrix_norm", A, dtype)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got {A.shape}")
    dims = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    rows, cols = (_dim(int(d), A.ndim, "linalg.matrix_norm") for d in dims)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got {tuple(dims)}")
    if ord == "fro":
        return F.norm(A, 2, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        values = svdvals(F.movedim(A, (rows, cols), (-2, -1)))
        out = F.sum(values, -1) if ord == "nuc" else (F.amax if ord == 2 else F.amin)(values, -1)
        for d in sorted((rows, cols)) if keepdim else ():
            out = F.unsqueeze(out, d)
        return out
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord!r} not supported (valid: {', '.join(_MATRIX_ORDS)})")
    summed, across = (rows, cols) if ord in (1, -1) else (cols, rows)
    sums = F.sum(F.abs(A), summed, keepdim=True)
    if ord > 0 and sums.shape[across] == 0:
        out = F.sum(sums, across, keepdim=True)  # the largest of no sums: 0, as PyTorch
    else:
        out = (F.amax if ord > 0 else F.amin)(sums, across, keepdim=True)
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(A.shape) if i not in (rows, cols)))


def norm(
    input: Tensor,
    ord: float | str | None = None,  # noqa: A002
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """A vector or matrix norm, as torch.linalg.norm: over one dim (or a 1-D input) vector_norm,
    over two dims (or a 2-D input) or with a string ord matrix_norm; with neither ord nor dim the
    2-norm of all elements, whatever input's shape."""
    dims = None if dim is None else [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    if dims is not None and len(dims) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {dims}")
    if dims is None and ord is not None:
        _require_tensor("linalg.norm", input)
        if input.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                               f"Got {input.ndim}D.")
        dims = list(range(input.ndim))
    if isinstance(ord, str) or (dims is not None and len(dims) == 2):
        return matrix_norm(input, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    return vector_norm(input, 2 if ord is None else ord, dims, keepdim, dtype=dtype)


# --- inverses and determinants ------------------------------------------------------------------------


def _inverse(op: str, A: Tensor) -> tuple[Tensor, np.ndarray]:  # noqa: N803
    check_matrices(op, A)
    a = host64(A)
    inverse, info = inverse_each(a)

    def graph(x: Tensor, g: Tensor) -> tuple[Tensor]:
        inverse_t = _inverse(op, x)[0].mT
        return (-(inverse_t @ g @ inverse_t),)

    return host_output(InvOp, (A,), inverse, HostPullback(lambda g: (inv_grad(inverse, g),), (a,), graph)), info


def inv(A: Tensor) -> Tensor:  # noqa: N803 (PyTorch's name)
    """The inverses of the square matrices A (..., n, n), as torch.linalg.inv; LinAlgError naming
    the batch element and zero pivot for a singular matrix. Gradient -A^-T g A^-T."""
    inverse, info = _inverse("linalg.inv", A)
    if info.any():
        raise singular_error("linalg.inv", info)
    return inverse


def _info_tensor(info: np.ndarray, like: Tensor) -> Tensor:
    """LAPACK's int32 info codes on like's device: int64 on the CUDA device, which holds no int32."""
    return _from_host(info if like.device == "cpu" else info.astype(np.int64), like)


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:  # noqa: N803
    """(inverse, info) as torch.linalg.inv_ex: info (int32, int64 on CUDA; A's batch shape) is 0, or for a singular
    matrix LAPACK's 1-based zero pivot; that matrix's inverse is NaN (PyTorch leaves it unspecified).
    check_errors=True raises LinAlgError instead, as inv."""
    inverse, info = _inverse("linalg.inv_ex", A)
    if check_errors and info.any():
        raise singular_error("linalg.inv_ex", info)
    return InvExResult(inverse, _info_tensor(info, A))


def det(A: Tensor) -> Tensor:  # noqa: N803
    """The determinants of the square matrices A (..., n, n), as torch.linalg.det (1 for 0 x 0).
    Gradient g det A^-T, and g times the cofactor matrix (through the SVD) where |det| < 100 eps,
    so a singular matrix gets its true gradient (PyTorch's plain backward gives it 0)."""
    check_matrices("linalg.det", A)
    a = host64(A)
    with np.errstate(invalid="ignore"):  # a NaN matrix: NaN, quietly, as PyTorch's
        d = np.asarray(np.linalg.det(a))
    eps = machine_eps(A.dtype)
    singular = bool((np.abs(d) < 100 * eps).any())

    def graph(x: Tensor, g: Tensor) -> tuple[Tensor]:  # the cofactors through the SVD (for the whole batch) if
        scale = g.reshape(g.shape + (1, 1))             # det_grad takes them for any matrix
        return (scale * _cofactors(x),) if singular else (scale * det(x).reshape(g.shape + (1, 1)) * inv(x).mT,)

    return host_output(DetOp, (A,), d, HostPullback(lambda g: (det_grad(a, d, g, eps),), (a,), graph))


def _exclusive_products(s: Tensor) -> Tensor:
    """For each i the product of the other entries of s's last dim, without dividing (zeros allowed)."""
    ones = _from_host(np.ones((*s.shape[:-1], 1), s.dtype), s)
    before = F.cumprod(F.cat([ones, s[..., :-1]], -1), -1)
    return before * F.flip(F.cumprod(F.cat([ones, F.flip(s[..., 1:], -1)], -1), -1), -1)


def _cofactors(A: Tensor) -> Tensor:  # noqa: N803
    """The cofactor matrices of the matrices A, singular ones included, on the tape: through the
    SVD A = U S Vh, det(U) det(Vh) U diag(prod_{j != i} S_j) Vh (det(U) det(Vh) = +-1, a constant)."""
    u, s, vh = _svd(A, False, True)
    signs = np.linalg.det(host64(u)) * np.linalg.det(host64(vh))
    products = _exclusive_products(s) * _from_host(signs[..., None].astype(A.dtype), A)
    return (u * F.unsqueeze(products, -2)) @ vh


def slogdet(A: Tensor) -> SlogdetResult:  # noqa: N803
    """(sign, logabsdet) of the square matrices A, as torch.linalg.slogdet: det = sign *
    exp(logabsdet), sign 0 and logabsdet -inf for a singular matrix. logabsdet's gradient is
    g A^-T (non-finite at a singular matrix, as PyTorch); sign's is 0."""
    check_matrices("linalg.slogdet", A)
    a = host64(A)
    with np.errstate(invalid="ignore"):  # a NaN matrix: sign 0 and logabsdet NaN, quietly, as PyTorch's
        sign, logabsdet = (np.asarray(v) for v in np.linalg.slogdet(a))
    sign = np.where(np.isnan(logabsdet), 0, sign).astype(sign.dtype)

    def sign_graph(x: Tensor, g: Tensor) -> tuple[Tensor]:
        return (_from_host(np.zeros(x.shape, x.dtype), x),)

    def logabsdet_graph(x: Tensor, g: Tensor) -> tuple[Tensor] | None:  # first order only at a singular A
        inverse, info = _inverse("linalg.slogdet", x)
        return None if info.any() else (g.reshape(g.shape + (1, 1)) * inverse.mT,)

    return SlogdetResult(
        host_output(SlogdetOp, (A,), sign, HostPullback(lambda g: (np.zeros_like(a),), (a,), sign_graph)),
        host_output(SlogdetOp, (A,), logabsdet, HostPullback(lambda g: (slogdet_grad(a, g),), (a,), logabsdet_graph)))


# --- linear systems -----------------------------------------------------------------------------------


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:  # noqa: N803
    """X with A X = B (left=False: X A = B) for square A (..., n, n), as torch.linalg.solve: B is
    (..., n, k), or a vector (n,) / (..., n) when it is 1-D or A's shape without its last dim;
    batch dims broadcast. A and B of one floating dtype; LinAlgError for a singular A.
    Gradients gB = A^-T g, gA = -gB X^T."""
    op = "linalg.solve"
    check_matrices(op, A)
    check_same_dtype(op, A, B)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    rhs = F.unsqueeze(B, -1) if vector else B
    n = A.shape[-1]
    if rhs.ndim < 2 or rhs.shape[-2 if left else -1] != n or (vector and not left):
        shape = "x".join(map(str, rhs.shape[-2:]))
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {shape})")
    if not left:
        return _solve(op, A.mT, rhs.mT).mT
    x = _solve(op, A, rhs)
    return F.squeeze(x, -1) if vector else x


def _solve(op: str, A: Tensor, B: Tensor) -> Tensor:  # noqa: N803
    A, B = broadcast_batch(op, A, B)
    a, b = host64(A), host64(B)
    try:
        x = np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{op}: The solver failed because the input matrix is singular.") from None

    def graph(a_t: Tensor, b_t: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
        grad_b = _solve(op, a_t.mT, g)
        return -(grad_b @ _solve(op, a_t, b_t).mT), grad_b

    return host_output(SolveOp, (A, B), x, HostPullback(lambda g: solve_grads(a, x, g), (a, b), graph))


def solve_triangular(
    A: Tensor,  # noqa: N803
    B: Tensor,  # noqa: N803
    *,
    upper: bool,
    left: bool = True,
    unitriangular: bool = False,
) -> Tensor:
    """X with A X = B (left=False: X A = B) for triangular A, as torch.linalg.solve_triangular:
    only A's upper (upper=True) or lower triangle is read, its diagonal taken as ones when
    unitriangular; B is (..., n, k) (at least 2-D), batch dims broadcast, dtypes promote. By
    substitution on the host: a zero on the diagonal gives inf/nan, not an error, as PyTorch.
    Gradients as PyTorch's, A's projected onto its triangle."""
    op = "linalg.solve_triangular"
    check_matrices(op, A)
    check_matrices(op, B, square=False, name="B")
    n = A.shape[-1]
    if B.shape[-2 if left else -1] != n:
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    dtype = F.promote_types(A.dtype, B.dtype)
    A, B = broadcast_batch(op, F.cast(A, dtype), F.cast(B, dtype))
    a, b = host64(A), host64(B)
    upper, left, unit = bool(upper), bool(left), bool(unitriangular)
    x = triangular_solve(a, b, upper, left, unit)

    def graph(a_t: Tensor, b_t: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
        grad_b = solve_triangular(a_t.mT, g, upper=not upper, left=left, unitriangular=unit)
        x_t = solve_triangular(a_t, b_t, upper=upper, left=left, unitriangular=unit)
        grad_a = -(grad_b @ x_t.mT) if left else -(x_t.mT @ grad_b)
        return (F.triu(grad_a, int(unit)) if upper else F.tril(grad_a, -int(unit))), grad_b

    pullback = HostPullback(lambda g: solve_triangular_grads(a, x, g, upper, left, unit), (a, b), graph)
    return host_output(SolveTriangularOp, (A, B), x, pullback)


# --- Cholesky ----------------------------------------------------------------------------------------------


def _cholesky(op: str, A: Tensor, upper: bool) -> tuple[Tensor, np.ndarray]:  # noqa: N803
    """The factor (lower, or upper: its transpose, from A's upper triangle) and potrf's info."""
    check_matrices(op, A)
    a = host64(A)
    lower, info = cholesky_each(mT(a) if upper else a)

    def pullback(g: np.ndarray) -> tuple[np.ndarray]:
        return (cholesky_grad(lower, mT(g) if upper else g),)

    def graph(x: Tensor, g: Tensor) -> tuple[Tensor]:  # cholesky_grad on the tape
        lower_t = _cholesky(op, x.mT if upper else x, False)[0]
        phi = F.tril(lower_t.mT @ (g.mT if upper else g))
        phi = solve_triangular(lower_t.mT, 0.5 * (phi + F.tril(phi, -1).mT), upper=True)
        return (solve_triangular(lower_t, phi, upper=False, left=False),)

    factor = host_output(CholeskyOp, (A,), mT(lower) if upper else lower, HostPullback(pullback, (a,), graph))
    return factor, info


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:  # noqa: N803
    """The Cholesky factor L (lower-triangular, L L^T = A) of the symmetric positive-definite
    matrices A (..., n, n), read from A's lower triangle; upper=True: U = L^T (U^T U = A), read from
    the upper triangle; as torch.linalg.cholesky. LinAlgError naming the batch element and the
    leading minor for a matrix that is not positive-definite. Gradient as PyTorch's (symmetric)."""
    factor, info = _cholesky("linalg.cholesky", A, bool(upper))
    if info.any():
        raise not_positive_definite_error("linalg.cholesky", info)
    return factor


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:  # noqa: N803
    """(L, info) as torch.linalg.cholesky_ex: info (int32, int64 on CUDA; A's batch shape) is 0, or the order of
    the leading minor that is not positive-definite; that matrix's factor is NaN (PyTorch leaves
    it partly computed). check_errors=True raises LinAlgError instead, as cholesky."""
    factor, info = _cholesky("linalg.cholesky_ex", A, bool(upper))
    if check_errors and info.any():
        raise not_positive_definite_error("linalg.cholesky_ex", info)
    return CholeskyExResult(factor, _info_tensor(info, A))


# --- LU ---------------------------------------------------------------------------------------------------


class _TensorOps:
    """decompositions.lu_grad's operations on tensors (for create_graph)."""

    @staticmethod
    def mT(a: Tensor) -> Tensor:  # noqa: N802
        return a.mT

    tril = staticmethod(F.tril)
    triu = staticmethod(F.triu)
    cat = staticmethod(F.cat)

    @staticmethod
    def solve(a: Tensor, b: Tensor, upper: bool, left: bool, unit: bool) -> Tensor:
        return solve_triangular(a, b, upper=upper, left=left, unitriangular=unit)


def _check_lu_input(op: str, A: Tensor, pivot: bool) -> None:  # noqa: N803
    _require_tensor(op, A)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")
    if A.dtype.kind != "f" or A.dtype.itemsize < 4:
        raise NoKernelForDtypeError(f'"lu_cpu" not implemented for {A.dtype}')
    if not pivot and A.device == "cpu":
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


def _lu_factor(op: str, A: Tensor, pivot: bool) -> tuple[Tensor, np.ndarray, np.ndarray]:  # noqa: N803
    """The packed factors (differentiable, PyTorch's lu_factor_ex_backward), pivots and info (host)."""
    _check_lu_input(op, A, pivot)
    a = host64(A)
    lu, pivots, info = lu_factor_each(a, pivot)
    m = a.shape[-2]
    p = permutation_matrices(lu_permutations(pivots, m))

    def unpacked(packed: Any, ops: Any, eye: Any) -> tuple[Any, Any]:
        k = min(packed.shape[-2:])
        return ops.tril(packed[..., :, :k], -1) + eye, ops.triu(packed[..., :k, :], 0)

    eye = np.eye(m, min(a.shape[-2:]))

    def pullback(g: np.ndarray) -> tuple[np.ndarray]:
        return (lu_grad(*unpacked(lu, NumpyOps, eye), g, p, NumpyOps),)

    def graph(x: Tensor, g: Tensor) -> tuple[Tensor]:
        packed = _lu_factor(op, x, pivot)[0]
        lower, upper = unpacked(packed, _TensorOps, _from_host(eye.astype(x.dtype), x))
        return (lu_grad(lower, upper, g, _from_host(p.astype(x.dtype), x), _TensorOps),)

    return host_output(LuFactorOp, (A,), lu, HostPullback(pullback, (a,), graph)), pivots, info


def _pivots_tensor(pivots: np.ndarray, like: Tensor) -> Tensor:
    """int32 pivots (int64 on the CUDA device, which holds no int32), on like's device."""
    return _info_tensor(pivots, like)


def _lu_singular_error(op: str, info: np.ndarray) -> LinAlgError:
    where, pivot = _batch_note(info)
    return LinAlgError(f"torch.{op}: {where}U[{pivot},{pivot}] is zero and using it on lu_solve would result in a "
                       "division by zero. If you still want to perform the factorization, consider calling "
                       "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:  # noqa: N803
    """(LU, pivots) of the matrices A (..., m, n), as torch.linalg.lu_factor: LAPACK getrf's packed
    factors (A = P L U, L unit lower-triangular, U upper) and its 1-based row pivots (int32,
    (..., min(m, n))). LinAlgError (a RuntimeError) for an exactly singular U; lu_factor_ex does not
    raise. pivot=False: RuntimeError on the CPU, as PyTorch. LU is differentiable (PyTorch's
    lu_factor_ex_backward), any number of times."""
    packed, pivots, info = _lu_factor("linalg.lu_factor", A, bool(pivot))
    if info.any():
        raise _lu_singular_error("linalg.lu_factor", info)
    return LUFactorResult(packed, _pivots_tensor(pivots, A))


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:  # noqa: N803
    """(LU, pivots, info) as torch.linalg.lu_factor_ex: info (int32, A's batch shape) is 0, or the
    1-based index of U's first zero diagonal entry (the factorization is complete all the same).
    check_errors=True raises as lu_factor."""
    packed, pivots, info = _lu_factor("linalg.lu_factor_ex", A, bool(pivot))
    if check_errors and info.any():
        raise _lu_singular_error("linalg.lu_factor_ex", info)
    return LUFactorExResult(packed, _pivots_tensor(pivots, A), _info_tensor(info, A))


def lu(A: Tensor, *, pivot: bool = True) -> LUResult:  # noqa: N803
    """(P, L, U) with A = P L U for the matrices A (..., m, n), as torch.linalg.lu: P (..., m, m)
    a permutation matrix, L (..., m, k) unit lower-triangular, U (..., k, n), k = min(m, n); a
    singular A is no error. lu_unpack of lu_factor, so the gradients are PyTorch's
    (linalg_lu_backward). pivot=False: RuntimeError on the CPU (on other devices P is empty)."""
    packed, pivots, _ = _lu_factor("linalg.lu", A, bool(pivot))
    return LUResult(*lu_unpack(packed, _pivots_tensor(pivots, A), unpack_pivots=bool(pivot)))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,  # noqa: N803
              unpack_pivots: bool = True) -> LUUnpackResult:
    """(P, L, U) from lu_factor's (LU, pivots), as torch.lu_unpack: L and U differentiable with
    respect to LU_data (slices of its triangles); P (..., m, m) in LU's dtype. Those not asked for
    (unpack_data / unpack_pivots False) are empty tensors."""
    op = "torch.lu_unpack"
    _require_tensor(op, LU_data)
    _require_tensor(op, LU_pivots)
    if LU_data.ndim < 2:
        raise RuntimeError(f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(LU_data.shape)} "
                           "instead")
    if LU_pivots.dtype != np.int32 and not (LU_pivots.device != "cpu" and LU_pivots.dtype == np.int64):
        raise RuntimeError(f"{op}: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = placeholder(LU_data)
    lower = upper = permutation = empty
    if unpack_data:
        eye = _from_host(np.eye(m, k, dtype=LU_data.dtype), LU_data)
        lower = F.tril(LU_data[..., :, :k], -1) + eye
        upper = F.triu(LU_data[..., :k, :])
    if unpack_pivots:
        pivots = np.asarray(LU_pivots._host())
        if pivots.size and (pivots.min() < 1 or pivots.max() > m):
            raise RuntimeError("pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive."
                               "Did you properly pass the result of lu_factor?")
        try:
            pivots = np.broadcast_to(pivots, (*LU_data.shape[:-2], pivots.shape[-1] if pivots.ndim else 0))
        except ValueError:
            raise RuntimeError(f"{op}: Expected LU_data's batch dimensions {LU_data.shape[:-2]} and LU_pivots' "
                               f"{LU_pivots.shape[:-1]} to be the same") from None
        p = permutation_matrices(lu_permutations(pivots, m))
        permutation = _from_host(p.astype(LU_data.dtype), LU_data)
    return LUUnpackResult(permutation, lower, upper)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,  # noqa: N803
             adjoint: bool = False) -> Tensor:
    """X with A X = B (adjoint: A^T X = B; left=False: X A = B or X A^T = B) for A = P L U given by
    lu_factor's (LU, pivots), as torch.linalg.lu_solve; B (..., n, k) (left=False: (..., k, n)),
    batch dims broadcast. Triangular solves reading LU's two triangles and a row permutation, so
    it is differentiable with respect to LU and B (PyTorch's gradients), any number of times."""
    op = "linalg.lu_solve"
    _require_tensor(op, LU)
    _require_tensor(op, pivots)
    _require_tensor(op, B)
    check_matrices(f"torch.{op}", LU, name="A")
    if pivots.dtype != np.int32 and not (pivots.device != "cpu" and pivots.dtype == np.int64):
        raise RuntimeError(f"{op}: pivots should be a Tensor of scalar type torch.int32")
    if B.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    if LU.dtype != B.dtype:
        raise RuntimeError(f"{op}: Expected LU and B to have the same dtype, but found LU of type {LU.dtype} and B "
                           f"of type {B.dtype} instead")
    n = LU.shape[-1]
    if pivots.ndim < 1 or pivots.shape[-1] != n:
        raise RuntimeError(f"{op}: Number of pivots per batch should be same as the dimension of the matrix")
    if B.shape[-2 if left else -1] != n:
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    p = np.asarray(pivots._host())
    try:
        p = np.broadcast_to(p, (*LU.shape[:-2], n))
    except ValueError:
        raise RuntimeError(f"{op}: Expected LU's batch dimensions {LU.shape[:-2]} and pivots' "
                           f"{pivots.shape[:-1]} to be the same") from None
    if p.size and (p.min() < 1 or p.max() > n):
        raise RuntimeError(f"{op}: pivots must be between 1 and {n} inclusive (lu_factor's pivots)")
    P = _from_host(permutation_matrices(lu_permutations(p, n)).astype(LU.dtype), LU)  # noqa: N806

    def lower(x: Tensor, side: bool, transposed: bool) -> Tensor:  # L^-1 x or L^-T x (x L^-1, x L^-T)
        return solve_triangular(LU.mT if transposed else LU, x, upper=transposed, left=side, unitriangular=True)

    def upper(x: Tensor, side: bool, transposed: bool) -> Tensor:  # U^-1 x or U^-T x (x U^-1, x U^-T)
        return solve_triangular(LU.mT if transposed else LU, x, upper=not transposed, left=side)

    left, adjoint = bool(left), bool(adjoint)
    if left and not adjoint:      # A = P L U: X = U^-1 L^-1 P^T B
        return upper(lower(P.mT @ B, True, False), True, False)
    if left:                      # A^T = U^T L^T P^T: X = P L^-T U^-T B
        return P @ lower(upper(B, True, True), True, True)
    if not adjoint:               # X = B U^-1 L^-1 P^T
        return lower(upper(B, False, False), False, False) @ P.mT
    return upper(lower(B @ P, False, True), False, True)  # X = B P L^-T U^-T


# --- eigenvalues and singular values ------------------------------------------------------------------------


def _eigh(A: Tensor, UPLO: str, vectors: bool) -> tuple[Tensor, Tensor | None]:  # noqa: N803
    op = "linalg.eigh"
    check_matrices(op, A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    a = host64(A)
    if not vectors and not _requires_grad(A):
        return host_output(EighOp, (A,), lapack(op, np.linalg.eigvalsh, a, UPLO=UPLO), lambda g: (None,)), None
    values, v = lapack(op, np.linalg.eigh, a, UPLO=UPLO)

    def values_graph(x: Tensor, g: Tensor) -> tuple[Tensor]:
        vectors_t = _eigh(x, UPLO, True)[1]
        return ((vectors_t * F.unsqueeze(g, -2)) @ vectors_t.mT,)

    def vectors_graph(x: Tensor, g: Tensor) -> tuple[Tensor]:  # V (skew(V^T g) / 2 / gaps) V^T
        values_t, vectors_t = _eigh(x, UPLO, True)
        vg = vectors_t.mT @ g
        gaps = F.unsqueeze(values_t, -2) - F.unsqueeze(values_t, -1) + _identity(x)
        return (vectors_t @ ((0.5 * (vg - vg.mT)) / gaps) @ vectors_t.mT,)

    out = host_output(EighOp, (A,), values, HostPullback(lambda g: (eigh_grad(values, v, g, None),), (a,),
                                                         values_graph))
    if not vectors:
        return out, None
    return out, host_output(EighOp, (A,), v, HostPullback(lambda g: (eigh_grad(values, v, None, g),), (a,),
                                                          vectors_graph))


def _identity(A: Tensor) -> Tensor:  # noqa: N803
    """The n x n identity matrix for n A's last dim, in A's dtype and on its device (a constant)."""
    return _from_host(np.eye(A.shape[-1], dtype=A.dtype), A)


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:  # noqa: N803
    """(eigenvalues, eigenvectors) of the symmetric matrices A (..., n, n), read from the lower
    (UPLO='L') or upper ('U') triangle, as torch.linalg.eigh: eigenvalues ascending, orthonormal
    eigenvectors in the columns, each up to its sign (the gradient assumes a loss that does not
    depend on the signs). Gradient as PyTorch's: symmetric, and through the eigenvectors it divides
    by eigenvalue gaps (inf/nan for repeated eigenvalues)."""
    values, vectors = _eigh(A, UPLO, True)
    return EighResult(values, vectors)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues (ascending) of the symmetric matrices A, as torch.linalg.eigvalsh;
    gradient V diag(g) V^T."""
    return _eigh(A, UPLO, False)[0]


def _check_svd_driver(driver: str | None) -> None:
    if driver not in (None, "gesvd", "gesvdj", "gesvda"):
        raise RuntimeError(f"linalg.svd: driver must be None, 'gesvd', 'gesvdj' or 'gesvda', got {driver!r}")


def _svd(A: Tensor, full_matrices: bool, vectors: bool) -> tuple[Tensor | None, Tensor, Tensor | None]:  # noqa: N803
    op = "linalg.svd"
    check_matrices(op, A, square=False)
    a = host64(A)
    if not vectors and not _requires_grad(A):
        return None, host_output(SvdOp, (A,), lapack(op, np.linalg.svd, a, compute_uv=False), lambda g: (None,)), None
    u, s, vh = lapack(op, np.linalg.svd, a, full_matrices=full_matrices)
    k = s.shape[-1]
    reduced_u, reduced_vh = u[..., :k], vh[..., :k, :]  # the gradients of full_matrices' extra columns are dropped

    def pullback(which: str) -> HostPullback:
        """The pullback of output which ("gu", "gs" or "gvh", svd_grad's names for its gradient)."""
        def arrays(g: np.ndarray) -> tuple[np.ndarray]:
            grads = dict.fromkeys(("gu", "gs", "gvh"))
            grads[which] = _reduced(g, which, k)
            return (svd_grad(reduced_u, s, reduced_vh, **grads),)

        def graph(x: Tensor, g: Tensor) -> tuple[Tensor]:
            u_t, s_t, vh_t = _svd(x, full_matrices, True)
            return (_svd_grad_graph(u_t[..., :k], s_t, vh_t[..., :k, :], which, _reduced(g, which, k)),)

        return HostPullback(arrays, (a,), graph)

    values = host_output(SvdOp, (A,), s, pullback("gs"))
    if not vectors:
        return None, values, None
    return host_output(SvdOp, (A,), u, pullback("gu")), values, host_output(SvdOp, (A,), vh, pullback("gvh"))


def _reduced(g: Any, which: str, k: int) -> Any:
    """The gradient of U's first k columns or Vh's first k rows (full_matrices' others are dropped)."""
    return g[..., :k] if which == "gu" else g[..., :k, :] if which == "gvh" else g


def _svd_grad_graph(u: Tensor, s: Tensor, vh: Tensor, which: str, g: Tensor) -> Tensor:
    """svd_grad for the gradient g of one output of the reduced SVD (which: "gu", "gs", "gvh"),
    on the tape."""
    m, n = u.shape[-2], vh.shape[-1]
    if which == "gs":
        return u @ (F.unsqueeze(g, -1) * vh) if m >= n else (u * F.unsqueeze(g, -2)) @ vh
    row, column = F.unsqueeze(s, -2), F.unsqueeze(s, -1)
    gaps = row * row - column * column + _identity(s)
    if which == "gu":
        skew = u.mT @ g
        inner = (skew - skew.mT) / gaps * row
        if m > n:
            g_over_s = g / row
            return (u @ inner + g_over_s - u @ (u.mT @ g_over_s)) @ vh
        return u @ inner @ vh
    skew = vh @ g.mT
    inner = column * ((skew - skew.mT) / gaps)
    if m < n:
        over_s_g = g / column
        return u @ (inner @ vh + over_s_g - (over_s_g @ vh.mT) @ vh)
    return u @ inner @ vh


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None) -> SVDResult:  # noqa: N803
    """(U, S, Vh) with A = U diag(S) Vh for the matrices A (..., m, n), as torch.linalg.svd: S
    descending (k = min(m, n) of them); U (..., m, m) and Vh (..., n, n) with full_matrices, else
    (..., m, k) and (..., k, n). Singular vectors are fixed up to a sign per pair: the gradient, as
    PyTorch's svd_backward, assumes a loss that does not depend on those signs, distinct singular
    values and, for rectangular A through U or Vh, full rank (the gradients of the extra columns
    full_matrices adds are dropped, as PyTorch). driver (a cuSOLVER choice in PyTorch) is accepted
    and ignored: numpy's gesdd computes."""
    _check_svd_driver(driver)
    u, s, vh = _svd(A, bool(full_matrices), True)
    return SVDResult(u, s, vh)


def svdvals(A: Tensor, *, driver: str | None = None) -> Tensor:  # noqa: N803
    """The singular values (descending) of the matrices A, as torch.linalg.svdvals; gradient
    U diag(g) Vh."""
    _check_svd_driver(driver)
    return _svd(A, False, False)[1]


def cond(A: Tensor, p: float | str | None = None) -> Tensor:  # noqa: N803
    """The condition numbers of the matrices A (..., m, n), as torch.linalg.cond: for p None or 2
    the largest over the smallest singular value (-2: the smallest over the largest), any shape;
    for "fro", "nuc", inf, -inf, 1 and -1 of square matrices, matrix_norm(A, p) times
    matrix_norm(A^-1, p) ("nuc" through the singular values s, sum(s) sum(1 / s), as PyTorch), inf
    for a singular matrix. Composed of svdvals, inv_ex and
    matrix_norm, so differentiable (PyTorch's backward covers only p None, 2 and -2)."""
    op = "linalg.cond"
    check_matrices(op, A, square=False)
    batch = A.shape[:-2]
    if p is None or (p in (2, -2) and not isinstance(p, bool)):
        if A.shape[-1] * A.shape[-2] == 0:  # no singular values: 0, as PyTorch
            return _from_host(np.zeros(batch, A.dtype), A)
        values = svdvals(A)
        largest, smallest = values[..., 0], values[..., -1]
        return largest / smallest if p != -2 else smallest / largest
    orders = ("fro", "nuc", math.inf, -math.inf, 1, -1)
    if not isinstance(p, str) and p not in orders:
        raise ArgumentError(f"linalg.cond got an invalid norm type: {p}")
    if A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
                         f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if p not in orders:
        raise ArgumentError(f"linalg.cond got an invalid norm type: {p}")
    if p == "nuc":  # through the singular values, as PyTorch: sum(s) sum(1 / s), finite for a nearly singular A
        values = svdvals(A)
        return F.sum(values, -1) * F.sum(1 / values, -1)
    inverse, info = inv_ex(A)
    singular = info > 0
    inverse = F.where(singular.reshape(batch + (1, 1)), 0.0, inverse)  # not NaN (which the SVD of "nuc" refuses)
    return F.where(singular, math.inf, matrix_norm(A, p) * matrix_norm(inverse, p))  # singular: inf, as PyTorch


def qr(A: Tensor, mode: str = "reduced") -> QRResult:  # noqa: N803
    """(Q, R) with A = Q R for the matrices A (..., m, n), as torch.linalg.qr (Householder, as
    LAPACK: R's diagonal may be negative): mode 'reduced' Q (..., m, k), R (..., k, n) with
    k = min(m, n); 'complete' Q (..., m, m), R (..., m, n); 'r' only R (Q an empty tensor).
    Gradient as PyTorch's linalg_qr_backward; like PyTorch, backward raises for mode 'r' and for
    'complete' with m > n."""
    op = "linalg.qr"
    check_matrices(op, A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    a = host64(A)
    if mode == "r":
        def refuse(g: np.ndarray) -> tuple[np.ndarray]:
            raise RuntimeError(QR_R_MODE)

        return QRResult(placeholder(A), host_output(QrOp, (A,), np.linalg.qr(a, mode="r"), refuse))
    q, r = np.linalg.qr(a, mode=mode)

    def pullback(of_q: bool) -> HostPullback:
        """The pullback of Q (of_q) or of R."""
        def arrays(g: np.ndarray) -> tuple[np.ndarray]:
            return (qr_grad(q, r, g, None, mode) if of_q else qr_grad(q, r, None, g, mode),)

        def graph(x: Tensor, g: Tensor) -> tuple[Tensor]:
            if mode == "complete" and x.shape[-2] > x.shape[-1]:
                raise RuntimeError(QR_COMPLETE_TALL)
            q_t, r_t = qr(x, mode)
            return (_qr_grad_graph(q_t, r_t, g, None) if of_q else _qr_grad_graph(q_t, r_t, None, g),)

        return HostPullback(arrays, (a,), graph)

    return QRResult(host_output(QrOp, (A,), q, pullback(True)), host_output(QrOp, (A,), r, pullback(False)))


def _qr_grad_graph(q: Tensor, r: Tensor, gq: Tensor | None, gr: Tensor | None) -> Tensor:
    """qr_grad (mode 'reduced', or 'complete' with m <= n) for the gradient of Q or of R, on the tape."""
    m, n = q.shape[-2], r.shape[-1]
    ga = gr @ r.mT if gq is None else -(q.mT @ gq)
    if m >= n:
        ga = q @ (F.triu(ga) + F.triu(ga, 1).mT)  # the upper triangle made symmetric
        if gq is not None:
            ga = ga + gq
        return solve_triangular(r.mT, ga, upper=False, left=False)
    ga = solve_triangular(r[..., :m].mT, q @ F.tril(ga.mT - ga), upper=False, left=False)
    ga = F.cat([ga, _from_host(np.zeros((*ga.shape[:-1], n - m), ga.dtype), ga)], -1)
    return ga if gr is None else ga + q @ gr


# --- pseudo-inverse, rank, least squares ---------------------------------------------------------------------


def _legacy_tolerance(op: str, legacy: Any, name: str, atol: Any, rtol: Any) -> None:
    if legacy is not None and (atol is not None or rtol is not None):
        raise TypeError(f"{op}: {name} cannot be given together with atol or rtol")


def pinv(
    A: Tensor,  # noqa: N803
    rcond: Any = None,
    hermitian: bool = False,
    *,
    atol: Any = None,
    rtol: Any = None,
) -> Tensor:
    """The pseudo-inverses of the matrices A (..., m, n), as torch.linalg.pinv: singular values
    above max(atol, rtol * the largest) are inverted, the others dropped (atol 0 and rtol
    eps * max(m, n) by default, rtol 0 when only atol > 0 is given; numbers or tensors broadcasting
    against A's batch dims). hermitian=True uses the eigenvalues of A's lower triangle. The older
    positional rcond is rtol with atol 0. Gradient as PyTorch's pinv_backward (constant rank)."""
    op = "linalg.pinv"
    check_matrices(op, A, square=bool(hermitian))
    _legacy_tolerance(op, rcond, "rcond", atol, rtol)
    if rcond is not None:
        atol, rtol = 0.0, rcond
    return _pinv(A, *tolerances(op, A, atol, rtol), bool(hermitian))


def _pinv(A: Tensor, absolute: np.ndarray, relative: np.ndarray, hermitian: bool) -> Tensor:  # noqa: N803
    a = host64(A)
    p = lapack("linalg.pinv", pinv_host, a, absolute, relative, hermitian)

    def graph(x: Tensor, g: Tensor) -> tuple[Tensor]:
        return (_pinv_grad_graph(x, _pinv(x, absolute, relative, hermitian), g),)

    return host_output(PinvOp, (A,), p, HostPullback(lambda g: (pinv_grad(a, p, g),), (a,), graph))


def _pinv_grad_graph(a: Tensor, pinv: Tensor, g: Tensor) -> Tensor:
    """pinv_grad on the tape."""
    m, n = a.shape[-2:]
    pinv_t, g_t = pinv.mT, g.mT
    if m <= n:
        k = g_t @ pinv
        k_pinv_t = k @ pinv_t
        return -(pinv @ k).mT + k_pinv_t - (a @ pinv) @ k_pinv_t + (pinv_t @ pinv) @ (g_t - k @ a)
    k = pinv @ g_t
    pinv_t_k = pinv_t @ k
    return -(k @ pinv).mT + (g_t - a @ k) @ pinv @ pinv_t + pinv_t_k - pinv_t_k @ pinv @ a


def matrix_rank(
    A: Tensor,  # noqa: N803
    tol: Any = None,
    hermitian: bool = False,
    *,
    atol: Any = None,
    rtol: Any = None,
) -> Tensor:
    """The numerical ranks (int64, A's batch shape) of the matrices A, as torch.linalg.matrix_rank:
    the singular values (|eigenvalues| for hermitian) above max(atol, rtol * the largest), with
    pinv's defaults; the older positional tol is atol with rtol 0."""
    op = "linalg.matrix_rank"
    check_matrices(op, A, square=bool(hermitian))
    _legacy_tolerance(op, tol, "tol", atol, rtol)
    if tol is not None:
        atol, rtol = tol, 0.0
    absolute, relative = tolerances(op, A, atol, rtol)
    return _from_host(lapack(op, numerical_rank, host64(A), absolute, relative, bool(hermitian)), A)


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> LstsqResult:  # noqa: N803
    """The least-squares solutions X minimising ||A X - B|| for A (..., m, n) and B (..., m, k) (or
    (..., m) when B has one dim fewer than A), batch dims broadcast, as torch.linalg.lstsq: the
    minimum-norm solution pinv(A, rtol=rcond) @ B (rcond eps * max(m, n) by default), which is
    what gelsy/gelsd/gelss give and gels too for full-rank A. As PyTorch per driver (default
    'gelsy', 'gels' for CUDA tensors): residuals (the squared column norms of A X - B) for
    m > n with 'gels', or 'gelsd'/'gelss' when every A has full rank, else empty; rank (A's batch
    shape) except for 'gels'; singular_values (no gradient) for 'gelsd'/'gelss'. Gradients of
    solution and residuals as PyTorch's (pinv_backward; residuals with X held fixed)."""
    op = "linalg.lstsq"
    check_matrices(op, A, square=False, name="input")
    check_same_dtype(op, A, B, ("input", "other"))
    if not 0 <= A.ndim - B.ndim <= 1:
        raise RuntimeError(f"{op}: input.dim() must be greater or equal to other.dim() and "
                           f"(input.dim() - other.dim()) <= 1, got shapes {A.shape} and {B.shape}")
    if driver is None:
        driver = "gelsy" if A.device == "cpu" else "gels"
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(f"{op}: parameter `driver` should be one of ({', '.join(_LSTSQ_DRIVERS)}), got {driver!r}")
    vector = A.ndim - B.ndim == 1
    rhs = F.unsqueeze(B, -1) if vector else B
    m, n = A.shape[-2:]
    if rhs.shape[-2] != m:
        raise RuntimeError(f"{op}: input.size(-2) should match other.size(-2), got shapes {A.shape} and {B.shape}")
    try:
        np.broadcast_shapes(A.shape[:-2], rhs.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{op}: the batch dimensions of input {A.shape} and other {B.shape} cannot be broadcast "
                           "together") from None
    rcond = machine_eps(A.dtype) * max(m, n) if rcond is None else float(rcond)
    solution = F.matmul(pinv(A, atol=0.0, rtol=rcond), rhs)
    values = lapack(op, np.linalg.svd, host64(A), compute_uv=False)
    ranks = np.asarray((values > rcond * values.max(-1, initial=0.0)[..., None]).sum(-1), dtype=np.int64)
    if m > n and (driver == "gels" or (driver != "gelsy" and (ranks == n).all())):
        residual = F.matmul(A, solution.detach()) - rhs
        residuals = F.sum(residual * residual, -2)
    else:
        residuals = placeholder(A)
    return LstsqResult(
        F.squeeze(solution, -1) if vector else solution,
        residuals,
        placeholder(A, np.int64) if driver == "gels" else _from_host(ranks, A),
        _from_host(values.astype(A.dtype), A) if driver in ("gelsd", "gelss") else placeholder(A),
    )


# --- products -----------------------------------------------------------------------------------------------


def matrix_power(A: Tensor, n: int) -> Tensor:  # noqa: N803
    """A to the integer power n for square matrices A (..., k, k), as torch.linalg.matrix_power:
    the identity for n = 0, inv(A)^|n| for n < 0, else repeated squaring in PyTorch's order;
    composed of matmul (and inv), so differentiable. Integer A works for n >= 0."""
    op = "linalg.matrix_power"
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"{op}: argument 'n' must be int, not {type(n).__name__}")
    check_matrices(op, A, floating=False)
    n = int(n)
    if n == 0:  # the identity, a gradient of zeros reaching A, as PyTorch's
        identity = _from_host(np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape).copy(), A)
        return F.where(_from_host(np.ones(A.shape, dtype=bool), A), identity, A)
    if n < 0:
        A, n = inv(A), -n
    if n == 1:
        return F.clone(A)
    result = power = None
    while n > 0:  # the bits of n from the lowest: one squaring per bit, one product per set bit
        bit, n = n % 2, n // 2
        power = A if power is None else F.matmul(power, power)
        if bit:
            result = power if result is None else F.matmul(result, power)
    return result


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of two or more matrices, multiplied in the cheapest order, as
    torch.linalg.multi_dot: the first may be a 1-D row and the last a 1-D column (their dims
    removed from the result), the others 2-D; one dtype. Composed of matmul; differentiable."""
    op = "multi_dot()"
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"{op}: expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        _require_tensor(op, t)
        end = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
        if t.ndim != 2 and not (end and t.ndim == 1):
            raise RuntimeError(f"{op}: the {end} tensor must be 1D or 2D but got {t.ndim}D" if end
                               else f"{op}: tensor {i} must be 2D but got {t.ndim}D")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(f"{op}: all tensors must have be the same dtype but tensor 0 is {tensors[0].dtype} "
                               f"and tensor {i} {t.dtype}")
    first, last = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = [F.unsqueeze(tensors[0], 0) if first else tensors[0], *tensors[1:-1],
            F.unsqueeze(tensors[-1], -1) if last else tensors[-1]]
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(f"{op}: tensors {i} and {i + 1} with shapes {list(tensors[i].shape)} and "
                               f"{list(tensors[i + 1].shape)} cannot be multiplied")
    sizes = [mats[0].shape[0]] + [t.shape[1] for t in mats]
    if len(mats) == 3:  # PyTorch compares the two orders itself, (AB)C on a tie
        a, b, c, d = sizes
        out = (F.matmul(mats[0], F.matmul(mats[1], mats[2])) if a * b * c + a * c * d > b * c * d + a * b * d
               else F.matmul(F.matmul(mats[0], mats[1]), mats[2]))
    else:
        split = chain_order(sizes)

        def product(i: int, j: int) -> Tensor:
            return mats[i] if i == j else F.matmul(product(i, split[i][j]), product(split[i][j] + 1, j))

        out = product(0, len(mats) - 1)
    if last:
        out = F.squeeze(out, -1)
    return F.squeeze(out, 0) if first else out


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot products of the vectors of x and y along dim (after broadcasting), as
    torch.linalg.vecdot: sum(x * y, dim); one floating dtype; differentiable."""
    op = "linalg.vecdot"
    _require_tensor(op, x)
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: Expected a floating point tensor as input. Got {x.dtype}")
    check_same_dtype(op, x, y, ("x", "y"))
    try:
        shape = np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise RuntimeError(f"{op}: shapes {x.shape} and {y.shape} cannot be broadcast together") from None
    return F.sum(x * y, _dim(dim, len(shape), op))


def matrix_exp(A: Tensor) -> Tensor:  # noqa: N803
    """The matrix exponentials of the square matrices A (..., n, n), as torch.linalg.matrix_exp:
    scaling and squaring with the [13/13] Pade approximant, in numpy (NaN for non-finite input).
    Gradient as PyTorch's, the upper right block of exp([[A^T, g], [0, A^T]])."""
    check_matrices("linalg.matrix_exp", A)
    a = host64(A)

    def graph(x: Tensor, g: Tensor) -> tuple[Tensor]:  # the upper right block of exp([[A^T, g], [0, A^T]])
        n = x.shape[-1]
        zero = _from_host(np.zeros(x.shape, x.dtype), x)
        block = F.cat([F.cat([x.mT, g], -1), F.cat([zero, x.mT], -1)], -2)
        return (matrix_exp(block)[..., :n, n:],)

    return host_output(MatrixExpOp, (A,), expm(a), HostPullback(lambda g: (expm_grad(a, g),), (a,), graph))


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: N803
    """The offset-th diagonals of the matrices in dims dim1, dim2 of A (the last two by default),
    as the last dim, as torch.linalg.diagonal (a copy, not a view); differentiable."""
    _require_tensor("linalg.diagonal", A)
    return F.diagonal(A, offset, dim1, dim2)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross products of the 3-vectors along dim of input and other (of one ndim and dtype,
    other dims broadcast), as torch.linalg.cross; differentiable."""
    op = "linalg.cross"
    _require_tensor(op, input)
    _require_tensor(op, other)
    if input.ndim != other.ndim or input.ndim == 0:
        raise RuntimeError(f"{op}: inputs must have the same number of dimensions (at least 1), got shapes "
                           f"{input.shape} and {other.shape}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"{op}: expected both inputs to have the same dtype, got {input.dtype} and {other.dtype}")
    d = _dim(dim, input.ndim, op)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"{op}: inputs dimension {dim} must have length 3. "
                           f"Got {input.shape[d]} and {other.shape[d]}")
    return F.cross(input, other, d)


# --- PyTorch's older top-level forms, for minigrad's aliases (not torch.linalg names) --------------------------


def inverse(input: Tensor) -> Tensor:
    """torch.inverse / Tensor.inverse: inv."""
    return inv(input)


def logdet(input: Tensor) -> Tensor:
    """torch.logdet / Tensor.logdet: log(det), NaN for a negative determinant and -inf for 0;
    composed of slogdet (gradient 0 where NaN, as PyTorch)."""
    sign, logabsdet = slogdet(input)
    return F.where(sign < 0, math.nan, logabsdet)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """torch.pinverse / Tensor.pinverse: pinv with rtol rcond (atol 0)."""
    return pinv(input, rcond)


def svd_legacy(input: Tensor, some: bool = True, compute_uv: bool = True) -> SVDLegacyResult:
    """torch.svd / Tensor.svd: (U, S, V) with input = U diag(S) V^T, V itself (not Vh); reduced
    unless some=False. compute_uv=False gives S (differentiable) with zero U (..., m, m) and
    V (..., n, n), as PyTorch."""
    if not compute_uv:
        values = svdvals(input)
        m, n = input.shape[-2:]
        zeros = [_from_host(np.zeros((*input.shape[:-2], k, k), input.dtype), input) for k in (m, n)]
        return SVDLegacyResult(zeros[0], values, zeros[1])
    u, s, vh = svd(input, full_matrices=not some)
    return SVDLegacyResult(u, s, vh.mT)


def qr_legacy(input: Tensor, some: bool = True) -> QRResult:
    """torch.qr / Tensor.qr: qr with mode 'reduced' (some=True) or 'complete'."""
    return qr(input, "reduced" if some else "complete")


def cholesky_legacy(input: Tensor, upper: bool = False) -> Tensor:
    """torch.cholesky / Tensor.cholesky: cholesky with upper positional."""
    return cholesky(input, upper=upper)


def lu_legacy(A: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple:  # noqa: N803
    """torch.lu / Tensor.lu (deprecated, with PyTorch's UserWarning): (LU, pivots), and info when
    get_infos, as lu_factor_ex; a singular matrix is no error."""
    warnings.warn("torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be "
                  "removed in a future PyTorch release.", UserWarning, stacklevel=2)
    packed, pivots, info = lu_factor_ex(A, pivot=pivot)
    return LUWithInfoResult(packed, pivots, info) if get_infos else (packed, pivots)


def lu_solve_legacy(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: N803
    """torch.lu_solve / Tensor.lu_solve (deprecated, with PyTorch's UserWarning): lu_solve(LU_data, LU_pivots, b)."""
    warnings.warn("torch.lu_solve is deprecated in favor of torch.linalg.lu_solve and will be removed in a future "
                  "PyTorch release.", UserWarning, stacklevel=2)
    return lu_solve(LU_data, LU_pivots, b)


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:  # noqa: N803
    """X with A X = B for A = L L^T given its Cholesky factor L (..., n, n) (upper: A = U^T U for
    U = L, upper-triangular), read from that triangle only; B is (..., n, k), batch dims broadcast;
    as torch.cholesky_solve. A zero on L's diagonal gives inf/nan, not an error. Differentiable
    with PyTorch's gradients (for L: -(Z X^T + X Z^T) L, or -L (...) when upper, Z = A^-1 gX)."""
    op = "cholesky_solve"
    _check_cholesky_factor(op, L, B)
    if B.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions instead")
    if B.dtype != L.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {B.dtype} and A of type "
                           f"{L.dtype} instead.")
    n = L.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {op}: each A matrix is {n} by {n} but each b matrix is "
                           f"{B.shape[-2]} by {B.shape[-1]}")
    B, L = broadcast_batch(op, B, L)
    b, factor = host64(B), host64(L)
    upper = bool(upper)
    x = _cholesky_solve_host(b, factor, upper)

    def pullback(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = _cholesky_solve_host(g, factor, upper)
        common = z @ mT(x)
        common = common + mT(common)
        return z, -(factor @ common) if upper else -(common @ factor)

    def graph(b_t: Tensor, l_t: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
        z = cholesky_solve(g, l_t, upper)
        common = z @ cholesky_solve(b_t, l_t, upper).mT
        common = common + common.mT
        return z, -(l_t @ common) if upper else -(common @ l_t)

    return host_output(CholeskySolveOp, (B, L), x, HostPullback(pullback, (b, factor), graph))


def _cholesky_solve_host(b: np.ndarray, factor: np.ndarray, upper: bool) -> np.ndarray:
    """A^-1 b for A = L L^T (factor L, lower) or U^T U (factor U, upper), on the host in float64."""
    lower = mT(factor) if upper else factor
    return triangular_solve(mT(lower), triangular_solve(lower, b, False, True, False), True, True, False)


def _check_cholesky_factor(op: str, L: Tensor, *others: Tensor) -> None:  # noqa: N803
    """L (and others) floating tensors (NotImplementedError, as PyTorch's kernels, otherwise), L
    batches of square matrices."""
    for t in (L, *others):
        _require_tensor(op, t)
        if t.dtype.kind != "f":
            raise NoKernelForDtypeError(f'"{op}_cpu" not implemented for {t.dtype}')
    check_matrices(op, L)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:  # noqa: N803
    """(L L^T)^-1 (upper: (U^T U)^-1) for the Cholesky factors L (..., n, n), read from that
    triangle only, as torch.cholesky_inverse: cholesky_solve of the identity, which gives
    PyTorch's gradient (-(A^-1 (g + g^T) A^-1) L). LinAlgError for a zero on L's diagonal."""
    op = "cholesky_inverse"
    _check_cholesky_factor(op, L)
    zero = np.diagonal(L._host(), axis1=-2, axis2=-1) == 0
    if zero.any():
        raise singular_error(op, np.where(zero.any(-1), zero.argmax(-1) + 1, 0))
    eye = _from_host(np.broadcast_to(np.eye(L.shape[-1], dtype=L.dtype), L.shape).copy(), L)
    return name_node(cholesky_solve(eye, L, upper), "CholeskyInverseBackward0")
