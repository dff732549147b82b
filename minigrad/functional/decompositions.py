"""The host side of minigrad.linalg's factorizations and solvers: numpy.linalg in float64 (any
input dtype, cast back), one Function node per differentiable output, and PyTorch's backward
formulas (torch/csrc/autograd/FunctionsManual.cpp) written out in numpy.

It also holds the argument checks, error messages and tolerance rules those functions share.

A factorization with several outputs (svd's U, S, Vh) makes one node per output, each pulling its
own gradient back to the input: PyTorch's formulas are linear in the outputs' gradients, so the
sum over the nodes is PyTorch's gradient, and the node of an output that is not used (an undefined
gradient in PyTorch) is never reached by backward. Nodes keep float64 copies of what their backward
reads (factors, and the input where needed), so changing an input in place afterwards does not
change its gradient. Tensors on other devices are brought to the host and their results sent back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.functional._common import DtypeError, _from_host, _require_tensor
from minigrad.functional.shape import expand
from minigrad.tensor import Tensor


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input: a singular matrix (inv, solve), a matrix that
    is not positive-definite (cholesky), no convergence (eigh, svd). As torch.linalg.LinAlgError,
    a RuntimeError."""


# --- the nodes ------------------------------------------------------------------------------------


class _HostOp(Function):
    """One output of a routine computed on the host in float64: forward puts `value` on the inputs'
    device in `dtype`; backward brings the output's gradient to the host and maps it to the inputs'
    through `pullback(g)`, one float64 array (or None) per input. Subclasses name the op."""

    __slots__ = ("pullback", "dtype")

    def forward(self, *arrays, value: np.ndarray, pullback: Callable, dtype: np.dtype):
        self.pullback, self.dtype = pullback, dtype
        return self.be.from_numpy(np.asarray(value).astype(dtype, order="C"))  # astype copies

    def backward(self, grad):
        grads = self.pullback(self.be.to_numpy(grad).astype(np.float64))
        dtype = self.dtype
        return tuple(None if g is None or not self.needs_grad(i) else self.be.from_numpy(g.astype(dtype, order="C"))
                     for i, g in enumerate(grads))


class InvOp(_HostOp):
    __slots__ = ()


class DetOp(_HostOp):
    __slots__ = ()


class SlogdetOp(_HostOp):
    __slots__ = ()


class SolveOp(_HostOp):
    __slots__ = ()


class SolveTriangularOp(_HostOp):
    __slots__ = ()


class CholeskyOp(_HostOp):
    __slots__ = ()


class CholeskySolveOp(_HostOp):
    __slots__ = ()


class EighOp(_HostOp):
    __slots__ = ()


class SvdOp(_HostOp):
    __slots__ = ()


class QrOp(_HostOp):
    __slots__ = ()


class PinvOp(_HostOp):
    __slots__ = ()


class MatrixExpOp(_HostOp):
    __slots__ = ()


class LuFactorOp(_HostOp):
    __slots__ = ()


def host_output(op: type[_HostOp], inputs: tuple[Tensor, ...], value: np.ndarray, pullback: Callable) -> Tensor:
    """The tensor of one output `value` (host, float64) of op on inputs, in the first input's dtype
    and on its device, whose gradient reaches the inputs through pullback."""
    return op.apply(*inputs, value=value, pullback=pullback, dtype=inputs[0].dtype)


def host64(t: Tensor) -> np.ndarray:
    """A float64 copy of t's values on the host."""
    return np.array(t._host(), dtype=np.float64)


# --- argument checks, messages and tolerances, shared by minigrad.linalg's functions ---------------------


def check_matrices(op: str, A: Tensor, square: bool = True, name: str = "A", floating: bool = True) -> None:  # noqa: N803
    """A is a tensor of (square) matrices, of a floating dtype unless not floating."""
    _require_tensor(op, A)
    if floating and A.dtype.kind != "f":
        raise DtypeError(f"{op}: Expected a floating point tensor as input. Got {A.dtype}")
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor {name} must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{op}: {name} must be batches of square matrices, "
                           f"but they are {A.shape[-2]} by {A.shape[-1]} matrices")


def check_same_dtype(op: str, a: Tensor, b: Tensor, names: tuple[str, str] = ("A", "B")) -> None:
    """b is a tensor of a's dtype (names: how the message calls them)."""
    _require_tensor(op, b)
    if a.dtype != b.dtype:
        x, y = names
        raise RuntimeError(f"{op}: Expected {x} and {y} to have the same dtype, but found {x} of type {a.dtype} "
                           f"and {y} of type {b.dtype} instead")


def broadcast_batch(op: str, A: Tensor, B: Tensor) -> tuple[Tensor, Tensor]:  # noqa: N803
    """A and B expanded to their common batch dims (all but the last two), differentiably."""
    try:
        batch = tuple(np.broadcast_shapes(A.shape[:-2], B.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"{op}: the batch dimensions of A {A.shape} and B {B.shape} cannot be broadcast "
                           "together") from None
    return tuple(t if t.shape[:-2] == batch else expand(t, batch + t.shape[-2:]) for t in (A, B))


def machine_eps(dtype: np.dtype) -> float:
    """The machine epsilon of a floating dtype (PyTorch's default tolerances scale it)."""
    return float(np.finfo(dtype).eps)


def _batch_note(info: np.ndarray) -> tuple[str, int]:
    """The "(Batch element i): " prefix of PyTorch's messages for the first failed matrix, and its info."""
    flat = info.reshape(-1)
    i = int(np.flatnonzero(flat)[0])
    return (f"(Batch element {i}): " if info.ndim else ""), int(flat[i])


def singular_error(op: str, info: np.ndarray) -> LinAlgError:
    """PyTorch's error for the first singular matrix of a batch, info its getrf info."""
    where, pivot = _batch_note(info)
    return LinAlgError(f"{op}: {where}The diagonal element {pivot} is zero, the inversion could not be completed "
                       "because the input matrix is singular.")


def not_positive_definite_error(op: str, info: np.ndarray) -> LinAlgError:
    """PyTorch's error for the first matrix of a batch that is not positive-definite, info its potrf info."""
    where, order = _batch_note(info)
    return LinAlgError(f"{op}: {where}The factorization could not be completed because the input is not "
                       f"positive-definite (the leading minor of order {order} is not positive-definite).")


def placeholder(A: Tensor, dtype: Any = None) -> Tensor:  # noqa: N803
    """A (0,)-shaped tensor on A's device: PyTorch's placeholder for a result that is not computed."""
    return _from_host(np.zeros(0, dtype=A.dtype if dtype is None else dtype), A)


def tolerances(op: str, A: Tensor, atol: Any, rtol: Any) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    """atol and rtol (numbers or tensors) as float64 arrays of A's batch shape, as PyTorch: atol 0
    by default, rtol eps(A's dtype) * max(m, n) by default, or 0 where atol > 0 is given."""
    batch = A.shape[:-2]

    def host(value: Any, name: str) -> np.ndarray | None:
        if value is None:
            return None
        array = np.asarray(value._host() if isinstance(value, Tensor) else value, dtype=np.float64)
        try:
            return np.broadcast_to(array, batch)
        except ValueError:
            raise RuntimeError(f"{op}: {name} of shape {array.shape} does not broadcast to A's batch dimensions "
                               f"{batch}") from None

    absolute, relative = host(atol, "atol"), host(rtol, "rtol")
    default = machine_eps(A.dtype) * max(A.shape[-2:])
    if relative is None:
        relative = np.full(batch, default) if absolute is None else np.where(absolute > 0, 0.0, default)
    return (np.zeros(batch) if absolute is None else absolute), relative


def numerical_rank(a: np.ndarray, absolute: np.ndarray, relative: np.ndarray, hermitian: bool) -> np.ndarray:
    """How many singular values (|eigenvalues| for hermitian) exceed max(atol, rtol * the largest)."""
    size = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    tol = np.maximum(absolute, relative * size.max(-1, initial=0.0))
    return np.asarray((size > tol[..., None]).sum(-1), dtype=np.int64)


def chain_order(sizes: list[int]) -> list[list[int]]:
    """Where to split each run i..j of matrices (sizes[i] x sizes[i + 1]) to multiply them in the
    fewest operations: the classic dynamic programme, first best split kept, as PyTorch's."""
    count = len(sizes) - 1
    cost = [[0] * count for _ in range(count)]
    split = [[0] * count for _ in range(count)]
    for length in range(1, count):
        for i in range(count - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + sizes[i] * sizes[k + 1] * sizes[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


# --- host helpers -------------------------------------------------------------------------------------


def mT(a: np.ndarray) -> np.ndarray:  # noqa: N802 (PyTorch's name)
    """The matrices of a transposed."""
    return np.swapaxes(a, -1, -2)


def _diag_embed(v: np.ndarray) -> np.ndarray:
    out = np.zeros((*v.shape, v.shape[-1]), v.dtype)
    idx = np.arange(v.shape[-1])
    out[..., idx, idx] = v
    return out


def _off_diagonal(e: np.ndarray) -> np.ndarray:
    """e with ones on its diagonal (the denominators PyTorch's formulas divide by, where 0 / 1 = 0)."""
    e = e.copy()
    idx = np.arange(e.shape[-1])
    e[..., idx, idx] = 1.0
    return e


def lapack(op: str, routine: Callable, *args, **kwargs):
    """routine(*args, **kwargs), its numpy LinAlgError raised as ours naming op."""
    try:
        return routine(*args, **kwargs)
    except np.linalg.LinAlgError as e:
        raise LinAlgError(f"{op}: {e}") from None


def triangular_solve(a: np.ndarray, b: np.ndarray, upper: bool, left: bool, unit: bool) -> np.ndarray:
    """X with a X = b (left) or X a = b, reading only the upper (lower) triangle of a, its diagonal
    taken as ones when unit; batch dims of a and b equal. By substitution, as LAPACK's trsm: a zero
    on the diagonal gives inf/nan, not an error."""
    if not left:
        return mT(triangular_solve(mT(a), mT(b), not upper, True, unit))
    n = a.shape[-1]
    x = np.array(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(n - 1, -1, -1) if upper else range(n):
            done = slice(i + 1, n) if upper else slice(0, i)
            x[..., i, :] -= (a[..., i, None, done] @ x[..., done, :])[..., 0, :]
            if not unit:
                x[..., i, :] /= a[..., i, i, None]
    return x


def _getrf_info(a: np.ndarray) -> int:
    """The 1-based column of the first exactly zero pivot of LU with partial pivoting of the
    matrix a (LAPACK getrf's info), 0 when there is none."""
    lu = a.copy()
    n = lu.shape[-1]
    for k in range(n):
        p = k + int(np.argmax(np.abs(lu[k:, k])))
        lu[[k, p]] = lu[[p, k]]
        if lu[k, k] == 0:
            return k + 1
        lu[k + 1:, k + 1:] -= np.outer(lu[k + 1:, k] / lu[k, k], lu[k, k + 1:])
    return 0


def inverse_each(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverses of the matrices of a (..., n, n) and, for each, LAPACK's info: 0, or the
    1-based zero pivot of a singular matrix (n when the pivot cannot be told, e.g. NaN input),
    whose inverse is NaN."""
    try:
        return np.linalg.inv(a), np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        pass
    n = a.shape[-1]
    flat = a.reshape(-1, n, n)
    inverse = np.full(flat.shape, np.nan)
    info = np.zeros(flat.shape[0], np.int32)
    for i, matrix in enumerate(flat):
        try:
            inverse[i] = np.linalg.inv(matrix)
        except np.linalg.LinAlgError:
            info[i] = _getrf_info(matrix) or n
    return inverse.reshape(a.shape), info.reshape(a.shape[:-2])


def lu_factor_each(a: np.ndarray, pivot: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LU with partial pivoting of the matrices a (..., m, n), as LAPACK's getrf: the packed
    factors (L's strict lower part, its unit diagonal implied, and U), the 1-based row pivots
    (int32, (..., min(m, n))) and info (int32, a's batch shape: 0, or the first zero pivot of U,
    1-based, the factorization going on past it). The pivot is the first entry of largest |value|
    (idamax: a NaN is taken only where it comes first); pivot=False: no row interchanges.
    Vectorised over the batch, one column at a time."""
    m, n = a.shape[-2:]
    k = min(m, n)
    lu = np.array(a, dtype=np.float64).reshape(math.prod(a.shape[:-2]), m, n)
    rows = np.arange(lu.shape[0])
    pivots = np.zeros((lu.shape[0], k), np.int32)
    info = np.zeros(lu.shape[0], np.int32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(k):
            if pivot:
                size = np.abs(lu[:, j:, j])
                first_nan = np.isnan(size[:, 0])
                p = j + np.where(first_nan, 0, np.argmax(np.nan_to_num(size, nan=-1.0), axis=1))
                row = lu[rows, j].copy()
                lu[rows, j] = lu[rows, p]
                lu[rows, p] = row
                pivots[:, j] = p + 1
            else:
                pivots[:, j] = j + 1
            head = lu[:, j, j]
            zero = head == 0
            info = np.where(zero & (info == 0), j + 1, info).astype(np.int32)
            lu[:, j + 1:, j] /= np.where(zero, 1.0, head)[:, None]
            lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    batch = a.shape[:-2]
    return lu.reshape(a.shape), pivots.reshape(*batch, k), info.reshape(batch)


def lu_permutations(pivots: np.ndarray, m: int) -> np.ndarray:
    """perm (..., m) with A[perm] = L U for the 1-based row pivots of getrf (A = P L U, P[perm[i], i] = 1)."""
    flat = pivots.reshape(math.prod(pivots.shape[:-1]), pivots.shape[-1]).astype(np.int64) - 1
    rows = np.arange(flat.shape[0])
    perm = np.broadcast_to(np.arange(m), (flat.shape[0], m)).copy()
    for j in range(flat.shape[1]):
        p = flat[:, j]
        row = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = row
    return perm.reshape(*pivots.shape[:-1], m)


def permutation_matrices(perm: np.ndarray) -> np.ndarray:
    """P (..., m, m) with P[perm[i], i] = 1."""
    m = perm.shape[-1]
    return (perm[..., :, None] == np.arange(m)).swapaxes(-1, -2).astype(np.float64)


def lu_grad(L: np.ndarray | Any, U: Any, g: Any, P: Any, ops: Any) -> Any:  # noqa: N803
    """PyTorch's lu_factor_ex_backward (linalg_lu_backward, real case): A's gradient from the packed
    factors' g, for A = P L U with L (..., m, k), U (..., k, n). Written on `ops` (tril, triu,
    solve(a, b, upper, left, unit), cat(parts, dim)), so it runs on numpy arrays and on tensors."""
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    g_l, g_u = g[..., :, :k], g[..., :k, :]
    if m == n:
        grad = ops.tril(ops.mT(L) @ g_l, -1) + ops.triu(g_u @ ops.mT(U), 0)
        grad = ops.solve(ops.mT(U), grad, False, False, False)
        grad = ops.solve(ops.mT(L), grad, True, True, True)
    elif m < n:  # wide
        u1, g_u1, g_u2 = U[..., :, :k], g_u[..., :, :k], g_u[..., :, k:]
        grad = ops.mT(L) @ g_l - ops.triu(g_u, 0) @ ops.mT(U)
        grad = ops.solve(ops.mT(u1), ops.tril(grad, -1), False, False, False)
        grad = ops.cat([grad + ops.triu(g_u1, 0), g_u2], -1)
        grad = ops.solve(ops.mT(L), grad, True, True, True)
    else:  # tall
        l1, g_l1, g_l2 = L[..., :k, :], g_l[..., :k, :], g_l[..., k:, :]
        grad = g_u @ ops.mT(U) - ops.mT(L) @ ops.tril(g_l, -1)
        grad = ops.solve(ops.mT(l1), ops.triu(grad, 0), True, True, True)
        grad = ops.cat([grad + ops.tril(g_l1, -1), g_l2], -2)
        grad = ops.solve(ops.mT(U), grad, False, False, False)
    return P @ grad


class NumpyOps:
    """lu_grad's operations on float64 arrays."""

    mT = staticmethod(mT)

    @staticmethod
    def tril(a: np.ndarray, k: int) -> np.ndarray:
        return np.tril(a, k)

    @staticmethod
    def triu(a: np.ndarray, k: int) -> np.ndarray:
        return np.triu(a, k)

    @staticmethod
    def solve(a: np.ndarray, b: np.ndarray, upper: bool, left: bool, unit: bool) -> np.ndarray:
        return triangular_solve(a, b, upper, left, unit)

    @staticmethod
    def cat(parts: list, dim: int) -> np.ndarray:
        return np.concatenate(parts, dim)


def _nan_pivot(factor: np.ndarray) -> bool:
    """Whether a factor numpy returned has a NaN pivot: numpy's potrf lets NaN through where
    LAPACK's reference potrf (and PyTorch) reports the minor as not positive-definite."""
    return bool(np.isnan(np.diagonal(factor, axis1=-2, axis2=-1)).any())


def _cholesky_fails(a: np.ndarray) -> bool:
    try:
        return _nan_pivot(np.linalg.cholesky(a))
    except np.linalg.LinAlgError:
        return True


def cholesky_each(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lower Cholesky factors of the matrices of a (..., n, n), read from their lower
    triangles, and, for each, LAPACK potrf's info: 0, or the order of the smallest leading minor
    that is not positive-definite or has a NaN pivot (found by bisection: the leading minors of a
    positive-definite minor are positive-definite), whose factor is NaN."""
    try:
        factor = np.linalg.cholesky(a)
        if not _nan_pivot(factor):
            return factor, np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        pass
    n = a.shape[-1]
    flat = a.reshape(-1, n, n)
    factor = np.full(flat.shape, np.nan)
    info = np.zeros(flat.shape[0], np.int32)
    for i, matrix in enumerate(flat):
        if not _cholesky_fails(matrix):
            factor[i] = np.linalg.cholesky(matrix)
            continue
        low, high = 1, n
        while low < high:
            mid = (low + high) // 2
            low, high = (low, mid) if _cholesky_fails(matrix[:mid, :mid]) else (mid + 1, high)
        info[i] = low
    return factor.reshape(a.shape), info.reshape(a.shape[:-2])


def _exclusive_products(s: np.ndarray) -> np.ndarray:
    """For each i the product of the other entries of s's last dim, without dividing (zeros allowed)."""
    ones = np.ones_like(s[..., :1])
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)
    after = np.flip(np.cumprod(np.concatenate([ones, np.flip(s[..., 1:], -1)], -1), -1), -1)
    return before * after


def cofactors(a: np.ndarray) -> np.ndarray:
    """The cofactor matrices (the gradients of det) of the matrices of a, singular ones included,
    through the SVD: with a = U S Vh, det(U) det(Vh) U diag(prod_{j != i} S_j) Vh."""
    u, s, vh = np.linalg.svd(a)
    scale = np.linalg.det(u) * np.linalg.det(vh)
    return (u * (scale[..., None] * _exclusive_products(s))[..., None, :]) @ vh


_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152  # the largest 1-norm the [13/13] Pade approximant serves to double precision


def expm(a: np.ndarray) -> np.ndarray:
    """The matrix exponentials of the matrices of a (..., n, n): scaling and squaring with the
    [13/13] Pade approximant (Higham 2005), each matrix scaled by its own 1-norm; NaN for a matrix
    with non-finite entries."""
    n = a.shape[-1]
    if n == 0 or a.size == 0:
        return a.copy()
    norm = np.abs(a).sum(-2).max(-1)
    finite = np.isfinite(norm)
    with np.errstate(divide="ignore"):
        squarings = np.where(finite & (norm > _THETA13), np.ceil(np.log2(np.where(finite, norm, 1.0) / _THETA13)), 0)
    squarings = squarings.astype(np.int64)
    x = np.where(finite[..., None, None], a, 0.0) / np.exp2(squarings)[..., None, None]
    b = _PADE13
    ident = np.eye(n)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * ident)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * ident
    r = np.linalg.solve(v - u, v + u)
    for step in range(int(squarings.max(initial=0))):
        r = np.where((squarings > step)[..., None, None], r @ r, r)
    return np.where(finite[..., None, None], r, np.nan)


# --- PyTorch's backward formulas, on the host ----------------------------------------------------------


def inv_grad(inverse: np.ndarray, g: np.ndarray) -> np.ndarray:
    """d/dA of <g, A^-1>: -A^-T g A^-T."""
    return -mT(inverse) @ g @ mT(inverse)


def det_grad(a: np.ndarray, det: np.ndarray, g: np.ndarray, eps: float) -> np.ndarray:
    """g times the cofactor matrix: g det A^-T for an invertible A, through the SVD (cofactors) where
    |det| < 100 eps, as PyTorch's linalg_det_backward when it keeps the graph (so a singular matrix
    gets its true gradient, the cofactors, not 0)."""
    n = a.shape[-1]
    if a.size == 0:  # 0x0 matrices (det 1, no entries) or an empty batch: nothing to differentiate
        return np.zeros_like(a)
    flat, d, gs = a.reshape(-1, n, n), det.reshape(-1), g.reshape(-1)
    out = np.empty_like(flat)
    singular = np.abs(d) < 100 * eps
    regular = ~singular
    if regular.any():
        out[regular] = (gs[regular] * d[regular])[:, None, None] * mT(np.linalg.inv(flat[regular]))
    if singular.any():
        out[singular] = gs[singular][:, None, None] * cofactors(flat[singular])
    return out.reshape(a.shape)


def slogdet_grad(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """d/dA of g log|det A|: g A^-T; for a singular A the cofactors over det = 0 (inf/nan), as
    PyTorch (slogdet is not differentiable there)."""
    inverse, info = inverse_each(a)
    out = g[..., None, None] * mT(inverse)
    singular = info > 0
    if singular.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            out[singular] = g[singular][:, None, None] * cofactors(a[singular]) / 0.0
    out[np.isnan(a).any((-2, -1))] = np.nan  # a matrix with a NaN: NaN throughout, as PyTorch's
    return out


def solve_grads(a: np.ndarray, x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For X = A^-1 B: (gA, gB) = (-gB X^T, A^-T g)."""
    gb = np.linalg.solve(mT(a), g)
    return -gb @ mT(x), gb


def solve_triangular_grads(a: np.ndarray, x: np.ndarray, g: np.ndarray, upper: bool, left: bool,
                           unit: bool) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's linalg_solve_triangular_backward: gB = A^-T g (on the same side), gA = -gB X^T
    (or -X^T gB) projected onto A's triangle (its strict part when unit)."""
    gb = triangular_solve(mT(a), g, not upper, left, unit)
    ga = -(gb @ mT(x)) if left else -(mT(x) @ gb)
    return (np.triu(ga, int(unit)) if upper else np.tril(ga, -int(unit))), gb


def cholesky_grad(lower: np.ndarray, g: np.ndarray) -> np.ndarray:
    """PyTorch's cholesky_backward for A = L L^T (g the gradient of L): L^-T Phi L^-1 with
    Phi = (tril(L^T g) + tril(L^T g, -1)^T) / 2, a symmetric gradient."""
    phi = np.tril(mT(lower) @ g)
    phi = 0.5 * (phi + mT(np.tril(phi, -1)))
    phi = triangular_solve(mT(lower), phi, True, True, False)
    return triangular_solve(lower, phi, False, False, False)


def eigh_grad(values: np.ndarray, vectors: np.ndarray, g_values: np.ndarray | None,
              g_vectors: np.ndarray | None) -> np.ndarray:
    """PyTorch's linalg_eig_backward for a symmetric A = V diag(L) V^T:
    V (diag(gL) + skew(V^T gV) / 2 / E) V^T with E_ij = L_j - L_i (1 on the diagonal)."""
    if g_vectors is None:
        return (vectors * g_values[..., None, :]) @ mT(vectors)
    vg = mT(vectors) @ g_vectors
    vg = 0.5 * (vg - mT(vg))
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = vg / _off_diagonal(values[..., None, :] - values[..., :, None])
    if g_values is not None:
        inner = inner + _diag_embed(g_values)
    return vectors @ inner @ mT(vectors)


def svd_grad(u: np.ndarray, s: np.ndarray, vh: np.ndarray, gu: np.ndarray | None, gs: np.ndarray | None,
             gvh: np.ndarray | None) -> np.ndarray:
    """PyTorch's svd_backward (real case) for the reduced A = U diag(S) Vh: distinct singular values
    assumed, and a full rank for rectangular A when gU or gVh is given."""
    m, n = u.shape[-2], vh.shape[-1]
    if gu is None and gvh is None:
        return u @ (gs[..., :, None] * vh) if m >= n else (u * gs[..., None, :]) @ vh
    with np.errstate(divide="ignore", invalid="ignore"):
        e = _off_diagonal(s[..., None, :] ** 2 - s[..., :, None] ** 2)
        if gu is not None:
            uhgu = mT(u) @ gu
            uhgu = uhgu - mT(uhgu)
        if gvh is not None:
            vhgv = vh @ mT(gvh)
            vhgv = vhgv - mT(vhgv)
        if gu is not None and gvh is not None:
            inner = (uhgu * s[..., None, :] + s[..., :, None] * vhgv) / e
        elif gu is not None:
            inner = (uhgu / e) * s[..., None, :]
        else:
            inner = s[..., :, None] * (vhgv / e)
        if gs is not None:
            inner = inner + _diag_embed(gs)
        if m > n and gu is not None:
            gu_sinv = gu / s[..., None, :]
            return (u @ inner + gu_sinv - u @ (mT(u) @ gu_sinv)) @ vh
        if m < n and gvh is not None:
            sinv_gvh = gvh / s[..., :, None]
            return u @ (inner @ vh + sinv_gvh - (sinv_gvh @ mT(vh)) @ vh)
    return u @ inner @ vh


QR_R_MODE = ("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use "
             "linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
QR_COMPLETE_TALL = "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."


def qr_grad(q: np.ndarray, r: np.ndarray, gq: np.ndarray | None, gr: np.ndarray | None, mode: str) -> np.ndarray:
    """PyTorch's linalg_qr_backward: for m >= n (Q^T gQ and gR R^T folded through syminvadj)
    R^-T solved from the right; for m < n the leading m x m block of R, and Q gR on top."""
    m, n = q.shape[-2], r.shape[-1]
    if mode == "r":
        raise RuntimeError(QR_R_MODE)
    if mode == "complete" and m > n:
        raise RuntimeError(QR_COMPLETE_TALL)
    if gq is None:
        ga = gr @ mT(r)
    else:
        ga = -(mT(q) @ gq) if gr is None else gr @ mT(r) - mT(q) @ gq
    if m >= n:
        upper = np.triu(ga)
        sym = upper + mT(upper)
        idx = np.arange(sym.shape[-1])
        sym[..., idx, idx] *= 0.5
        ga = q @ sym
        if gq is not None:
            ga = ga + gq
        return triangular_solve(mT(r), ga, False, False, False)
    ga = q @ np.tril(mT(ga) - ga)  # trilImInvAdjSkew(-gA) for real matrices
    ga = triangular_solve(mT(r[..., :m]), ga, False, False, False)
    ga = np.concatenate([ga, np.zeros((*ga.shape[:-1], n - m))], -1)
    return ga if gr is None else ga + q @ gr


def pinv_grad(a: np.ndarray, pinv: np.ndarray, g: np.ndarray) -> np.ndarray:
    """PyTorch's pinv_backward (the derivative of A^+ in terms of A^+, valid at constant rank)."""
    m, n = a.shape[-2:]
    pinv_t, g_t = mT(pinv), mT(g)
    if m <= n:
        k = g_t @ pinv
        k_pinv_t = k @ pinv_t
        return -mT(pinv @ k) + k_pinv_t - (a @ pinv) @ k_pinv_t + (pinv_t @ pinv) @ (g_t - k @ a)
    k = pinv @ g_t
    pinv_t_k = pinv_t @ k
    return -mT(k @ pinv) + (g_t - a @ k) @ pinv @ pinv_t + pinv_t_k - pinv_t_k @ pinv @ a


def pinv_host(a: np.ndarray, atol: np.ndarray, rtol: np.ndarray, hermitian: bool) -> np.ndarray:
    """The pseudo-inverses of the matrices of a, as torch.linalg.pinv: singular values (for
    hermitian, |eigenvalues| of the lower triangle) above max(atol, rtol * largest) inverted, the
    others dropped; atol and rtol broadcast against the batch dims."""
    if hermitian:
        values, vectors = np.linalg.eigh(a)
        size = np.abs(values)
        tol = np.maximum(atol, rtol * size.max(-1, initial=0.0))[..., None]
        with np.errstate(divide="ignore"):
            inverted = np.where(size > tol, 1.0 / values, 0.0)
        return (vectors * inverted[..., None, :]) @ mT(vectors)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    tol = np.maximum(atol, rtol * s.max(-1, initial=0.0))[..., None]
    with np.errstate(divide="ignore"):
        inverted = np.where(s > tol, 1.0 / s, 0.0)
    return (mT(vh) * inverted[..., None, :]) @ mT(u)


def expm_grad(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """PyTorch's backward of matrix_exp (Mathias 1996): the upper right block of
    exp([[A^T, g], [0, A^T]])."""
    n = a.shape[-1]
    block = np.zeros((*a.shape[:-2], 2 * n, 2 * n))
    block[..., :n, :n] = block[..., n:, n:] = mT(a)
    block[..., :n, n:] = g
    return expm(block)[..., :n, n:]
