"""minigrad.linalg's factorizations, solvers and products as torch.linalg's: inv, inv_ex, det,
slogdet, solve, solve_triangular, cholesky, cholesky_ex, eigh, eigvalsh, svd, svdvals, qr, pinv,
matrix_rank, lstsq, matrix_power, multi_dot, vecdot, diagonal, cross, matrix_exp, matrix_norm's
ord 2 / -2 / 'nuc', and the older top-level forms (inverse, logdet, pinverse, torch.svd, torch.qr,
torch.cholesky). Each case's outputs and the gradients of a weighted sum of them are compared with
PyTorch's (recorded, see torch_reference.py) in float64 and float32; singular vectors and
eigenvectors only through sign-invariant forms (their squares, U diag(w) Vh), as their signs are
arbitrary. Then float64 finite differences of every differentiable function (batched), the
documented choices (a singular matrix's det gradient, unused outputs at repeated singular values),
shapes and result tuples, and bad input."""

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from torch_reference import TorchReference

import minigrad
from minigrad import linalg as L

torch_reference = TorchReference(__name__)

RNG = np.random.default_rng(0)
EYE4 = np.eye(4)
SQUARE = RNG.standard_normal((2, 4, 4)) + 3 * EYE4  # well-conditioned
SQUARE_NEG = np.stack([SQUARE[0], -SQUARE[1][[1, 0, 2, 3]]])  # the second has a negative determinant
_X = RNG.standard_normal((2, 4, 4))
SPD = _X @ np.swapaxes(_X, -1, -2) + 2 * EYE4
SYM = (_X + np.swapaxes(_X, -1, -2)) / 2
TALL, WIDE = RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 3, 5))
RHS = RNG.standard_normal((2, 4, 3))
RANK2 = RNG.standard_normal((2, 5, 2)) @ RNG.standard_normal((2, 2, 4))  # 5 x 4 matrices of rank 2
SMALL_EXP, LARGE_EXP = 0.3 * RNG.standard_normal((2, 3, 3)), 4 * RNG.standard_normal((3, 3))  # the latter is squared
VEC3 = RNG.standard_normal((2, 4, 3))
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 5e-5, "atol": 5e-6}}


def _array(t):
    return np.array(t.detach().numpy())


def _weight(shape, i):
    """The fixed weight of output i in a case's loss."""
    return np.random.default_rng(100 + i).standard_normal(shape)


def _sign_free(lib, u, vh, k):
    """Sign-invariant forms of singular (or eigen) vector pairs: squares and U diag(w) Vh."""
    w = lib.tensor(np.linspace(1.0, 2.0, k), dtype=u.dtype)
    return {"U^2": u[..., :k] ** 2, "Vh^2": vh[..., :k, :] ** 2, "U w Vh": (u[..., :k] * w) @ vh[..., :k, :]}


def _svd(full):
    def run(lib, a):
        u, s, vh = lib.linalg.svd(a, full_matrices=full)
        shapes = {"U shape": np.array(u.shape), "Vh shape": np.array(vh.shape)}
        return {"S": s, **shapes, **_sign_free(lib, u, vh, s.shape[-1])}
    return run


def _eigh(uplo):
    def run(lib, a):
        values, vectors = lib.linalg.eigh(a, UPLO=uplo)
        forms = _sign_free(lib, vectors, vectors.mT, values.shape[-1])
        return {"values": values, "V^2": forms["U^2"], "V w V^T": forms["U w Vh"]}
    return run


def _lstsq(driver, rcond=None):
    def run(lib, a, b):
        solution, residuals, rank, values = lib.linalg.lstsq(a, b, rcond, driver=driver)
        return {"solution": solution, "residuals": residuals, "rank": rank, "singular_values": values}
    return run


def _legacy(name):
    """torch.<name> for PyTorch, minigrad.linalg's stand-in (for the lead's aliases) for minigrad."""
    return lambda lib: getattr(lib, name) if lib is not minigrad else getattr(L, {
        "inverse": "inverse", "logdet": "logdet", "pinverse": "pinverse", "svd": "svd_legacy", "qr": "qr_legacy",
        "cholesky": "cholesky_legacy"}[name])


def _legacy_svd(lib, a):
    u, s, v = _legacy("svd")(lib)(a)
    return {"S": s, **_sign_free(lib, u, v.mT, s.shape[-1])}


# name: (function of (lib, *inputs) -> {name: output}, inputs, whether to backpropagate)
CASES = {
    "inv": (lambda lib, a: {"inv": lib.linalg.inv(a)}, [SQUARE], True),
    "inv unbatched": (lambda lib, a: {"inv": lib.linalg.inv(a)}, [SQUARE[0]], True),
    "inv_ex": (lambda lib, a: dict(zip(("inverse", "info"), lib.linalg.inv_ex(a), strict=True)), [SQUARE], True),
    "det": (lambda lib, a: {"det": lib.linalg.det(a)}, [SQUARE_NEG], True),
    "det unbatched": (lambda lib, a: {"det": lib.linalg.det(a)}, [SQUARE[1]], True),
    "slogdet": (lambda lib, a: dict(zip(("sign", "logabsdet"), lib.linalg.slogdet(a), strict=True)), [SQUARE_NEG],
                True),
    "solve": (lambda lib, a, b: {"x": lib.linalg.solve(a, b)}, [SQUARE, RHS], True),
    "solve broadcast": (lambda lib, a, b: {"x": lib.linalg.solve(a, b)}, [SQUARE[:, None], RHS[0, None]], True),
    "solve vector": (lambda lib, a, b: {"x": lib.linalg.solve(a, b)}, [SQUARE, RHS[0, :, 0]], True),
    "solve batched vector": (lambda lib, a, b: {"x": lib.linalg.solve(a, b)}, [SQUARE, RHS[:, :, 0]], True),
    "solve left=False": (lambda lib, a, b: {"x": lib.linalg.solve(a, b, left=False)},
                         [SQUARE, np.swapaxes(RHS, -1, -2)], True),
    "solve_triangular upper": (lambda lib, a, b: {"x": lib.linalg.solve_triangular(a, b, upper=True)},
                               [SQUARE, RHS], True),
    "solve_triangular lower right unit broadcast": (
        lambda lib, a, b: {"x": lib.linalg.solve_triangular(a, b, upper=False, left=False, unitriangular=True)},
        [SQUARE[0], np.swapaxes(RHS, -1, -2)], True),
    "cholesky": (lambda lib, a: {"L": lib.linalg.cholesky(a)}, [SPD], True),
    "cholesky upper": (lambda lib, a: {"U": lib.linalg.cholesky(a, upper=True)}, [SPD], True),
    "cholesky_ex": (lambda lib, a: dict(zip(("L", "info"), lib.linalg.cholesky_ex(a), strict=True)), [SPD], True),
    "eigh": (_eigh("L"), [SYM], True),
    "eigh UPLO=U": (_eigh("U"), [SYM], True),
    "eigvalsh": (lambda lib, a: {"values": lib.linalg.eigvalsh(a)}, [SYM], True),
    "svd square": (_svd(False), [SQUARE], True),
    "svd tall": (_svd(False), [TALL], True),
    "svd wide": (_svd(False), [WIDE], True),
    "svd tall full_matrices": (_svd(True), [TALL], True),
    "svd wide full_matrices": (_svd(True), [WIDE], True),
    "svdvals": (lambda lib, a: {"S": lib.linalg.svdvals(a)}, [TALL], True),
    "qr tall": (lambda lib, a: dict(zip("QR", lib.linalg.qr(a), strict=True)), [TALL], True),
    "qr wide": (lambda lib, a: dict(zip("QR", lib.linalg.qr(a), strict=True)), [WIDE], True),
    "qr complete wide": (lambda lib, a: dict(zip("QR", lib.linalg.qr(a, mode="complete"), strict=True)), [WIDE], True),
    "qr complete tall": (lambda lib, a: dict(zip("QR", lib.linalg.qr(a, mode="complete"), strict=True)), [TALL], False),
    "qr r": (lambda lib, a: dict(zip("QR", lib.linalg.qr(a, mode="r"), strict=True)), [TALL], False),
    "pinv tall": (lambda lib, a: {"pinv": lib.linalg.pinv(a)}, [TALL], True),
    "pinv wide": (lambda lib, a: {"pinv": lib.linalg.pinv(a)}, [WIDE], True),
    "pinv rank 2": (lambda lib, a: {"pinv": lib.linalg.pinv(a)}, [RANK2], True),
    "pinv hermitian": (lambda lib, a: {"pinv": lib.linalg.pinv(a, hermitian=True)}, [SYM], True),
    "pinv rcond": (lambda lib, a: {"pinv": lib.linalg.pinv(a, 0.3)}, [TALL], True),
    "pinv atol tensor": (lambda lib, a: {"pinv": lib.linalg.pinv(a, atol=lib.tensor([0.5, 2.0], dtype=a.dtype))},
                         [TALL], True),
    "matrix_rank": (lambda lib, a: {"rank": lib.linalg.matrix_rank(a), "tol": lib.linalg.matrix_rank(a, 1.0),
                                    "atol": lib.linalg.matrix_rank(a, atol=1.0, rtol=0.5),
                                    "hermitian": lib.linalg.matrix_rank(a[..., :4, :] @ a[..., :4, :].mT,
                                                                        hermitian=True)}, [RANK2], False),
    "lstsq default": (_lstsq(None), [TALL, TALL[..., :2] + 1], True),
    "lstsq gelsd": (_lstsq("gelsd"), [TALL, TALL[..., :2] + 1], True),
    "lstsq gelss vector": (_lstsq("gelss"), [TALL, TALL[..., 0] + 1], True),
    "lstsq gels": (_lstsq("gels"), [TALL, TALL[..., :2] + 1], True),
    "lstsq gelsd wide": (_lstsq("gelsd"), [WIDE, WIDE[..., :2]], True),
    "lstsq gelsd rank 2 rcond": (_lstsq("gelsd", 1e-4), [RANK2, RANK2[..., :2] + 1], False),
    "lstsq broadcast": (_lstsq("gelsd"), [TALL[:1], TALL[..., :2] + 1], True),
    **{f"matrix_power {n}": (lambda lib, a, n=n: {"power": lib.linalg.matrix_power(a, n)}, [SQUARE / 3], True)
       for n in (0, 1, 2, 3, 6, 11, -1, -3)},
    "multi_dot 2": (lambda lib, a, b: {"out": lib.linalg.multi_dot([a, b])}, [TALL[0], WIDE[0]], True),
    "multi_dot vectors 3": (lambda lib, a, b, c: {"out": lib.linalg.multi_dot([a, b, c])},
                            [TALL[0, :, 0], TALL[0], WIDE[0, :, 0]], True),
    "multi_dot 5": (lambda lib, a, b, c, d, e: {"out": lib.linalg.multi_dot([a, b, c, d, e])},
                    [TALL[0, :, 0], TALL[0], WIDE[0], TALL[1], WIDE[1]], True),
    "vecdot": (lambda lib, x, y: {"dot": lib.linalg.vecdot(x, y)}, [VEC3, VEC3[0, 0]], True),
    "vecdot dim": (lambda lib, x, y: {"dot": lib.linalg.vecdot(x, y, dim=-2)}, [VEC3, VEC3[1]], True),
    "diagonal": (lambda lib, a: {"d": lib.linalg.diagonal(a, offset=1), "e": lib.linalg.diagonal(a, dim1=0, dim2=2)},
                 [TALL], True),
    "cross": (lambda lib, x, y: {"c": lib.linalg.cross(x, y)}, [VEC3, VEC3[1:]], True),
    "cross dim": (lambda lib, x, y: {"c": lib.linalg.cross(x, y, dim=1)}, [TALL[..., :3, :], WIDE[..., :3]], True),
    "matrix_exp": (lambda lib, a: {"exp": lib.linalg.matrix_exp(a)}, [SMALL_EXP], True),
    "matrix_exp squared": (lambda lib, a: {"exp": lib.linalg.matrix_exp(a)}, [LARGE_EXP], True),
    "matrix_norm": (lambda lib, a: {"2": lib.linalg.matrix_norm(a, 2), "-2": lib.linalg.matrix_norm(a, -2),
                                    "nuc": lib.linalg.matrix_norm(a, "nuc"),
                                    "nuc dims": lib.linalg.matrix_norm(a, "nuc", dim=(0, 2), keepdim=True),
                                    "2 keepdim": lib.linalg.matrix_norm(a, 2, dim=(2, 1), keepdim=True),
                                    "norm": lib.linalg.norm(a[0], 2), "norm nuc": lib.linalg.norm(a[1], "nuc")},
                    [TALL], True),
    "inverse": (lambda lib, a: {"inv": _legacy("inverse")(lib)(a)}, [SQUARE], True),
    "logdet": (lambda lib, a: {"logdet": _legacy("logdet")(lib)(a)}, [SQUARE_NEG], True),
    "pinverse": (lambda lib, a: {"pinv": _legacy("pinverse")(lib)(a, 0.3)}, [TALL], True),
    "torch.svd": (_legacy_svd, [TALL], True),
    "torch.qr complete": (lambda lib, a: dict(zip("QR", _legacy("qr")(lib)(a, False), strict=True)), [WIDE], True),
    "torch.cholesky upper": (lambda lib, a: {"U": _legacy("cholesky")(lib)(a, True)}, [SPD], True),
}


def _run(lib, name, dtype):
    """The case's outputs and, when it backpropagates, the gradients of the sum of its float
    outputs that require grad, each weighted."""
    fn, arrays, backpropagate = CASES[name]
    inputs = [lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True) for a in arrays]
    outs = fn(lib, *inputs)
    results = {f"out {k}": v if isinstance(v, np.ndarray) else _array(v) for k, v in outs.items()}
    if backpropagate:
        weighted = [(v * lib.tensor(_weight(tuple(v.shape), i), dtype=v.dtype)).sum()
                    for i, v in enumerate(outs.values()) if not isinstance(v, np.ndarray) and v.requires_grad]
        sum(weighted[1:], weighted[0]).backward()
        results.update({f"grad {i}": _array(t.grad) for i, t in enumerate(inputs)})
    return results


@pytest.mark.filterwarnings("ignore:torch.(qr|cholesky) is deprecated:UserWarning")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_as_torch(name, dtype):
    """Outputs within 1e-10 (float64) or 5e-5 (float32) of PyTorch's, relative to the largest."""
    with np.errstate(invalid="ignore"):  # logdet's NaN
        want = torch_reference(f"{name}/{dtype}", lambda torch: _run(torch, name, dtype))
        got = _run(minigrad, name, dtype)
    assert got.keys() == want.keys()
    for key in got:
        assert got[key].shape == want[key].shape and got[key].dtype == want[key].dtype, (key, got[key], want[key])
        scale = max(1.0, float(np.abs(want[key][np.isfinite(want[key])]).max(initial=0.0)))
        tol = TOL[dtype]
        np.testing.assert_allclose(got[key], want[key], rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=key)


# --- float64 finite differences -------------------------------------------------------------------------------


def _symmetric(x):
    return (x + x.mT) / 2


def _positive_definite(x):
    return x @ x.mT + 3 * minigrad.eye(x.shape[-1], dtype=x.dtype)


def _svd_loss(full, pick):
    def loss(x):
        u, s, vh = L.svd(x, full_matrices=full)
        forms = {"S": s, **_sign_free(minigrad, u, vh, s.shape[-1])}
        return [forms[k] for k in pick]
    return loss


# name: (function of float64 tensors -> list of outputs, inputs)
FINITE_DIFFERENCES = {
    "inv": (lambda a: [L.inv(a)], [SQUARE[:, :3, :3]]),
    "det": (lambda a: [L.det(a)], [SQUARE_NEG[:, :3, :3]]),
    "slogdet": (lambda a: list(L.slogdet(a)), [SQUARE_NEG]),
    "solve broadcast": (lambda a, b: [L.solve(a, b)], [SQUARE[:, None, :3, :3], RHS[:2, :3, :2]]),
    "solve left=False vector": (lambda a, b, c: [L.solve(a, b, left=False), L.solve(a, c)],
                                [SQUARE[:, :3, :3], RHS[:, :2, :3], RHS[:, :3, 0]]),
    "solve_triangular": (lambda a, b: [L.solve_triangular(a, b, upper=True),
                                       L.solve_triangular(a, b.mT, upper=False, left=False, unitriangular=True)],
                         [SQUARE[:, :3, :3], RHS[:, :3]]),
    "cholesky": (lambda x: [L.cholesky(_positive_definite(x)), L.cholesky(_positive_definite(x), upper=True)],
                 [_X[:, :3, :3]]),
    "cholesky_ex": (lambda x: [L.cholesky_ex(_positive_definite(x)).L], [_X[:, :3, :3]]),
    "eigh": (lambda x: [*_eigh("L")(minigrad, _symmetric(x)).values()], [_X[:, :3, :3]]),
    "eigh UPLO=U": (lambda x: [*_eigh("U")(minigrad, _symmetric(x)).values()], [_X[:, :3, :3]]),
    "eigvalsh": (lambda x: [L.eigvalsh(_symmetric(x))], [_X[:, :3, :3]]),
    "svd square": (_svd_loss(False, ("S", "U^2", "Vh^2", "U w Vh")), [SQUARE[:, :3, :3]]),
    "svd tall U": (_svd_loss(False, ("U^2",)), [TALL]),
    "svd wide Vh": (_svd_loss(True, ("Vh^2", "U w Vh")), [WIDE]),
    "svdvals": (lambda a: [L.svdvals(a)], [WIDE]),
    "qr tall": (lambda a: list(L.qr(a)), [TALL]),
    "qr wide": (lambda a: list(L.qr(a)), [WIDE]),
    "pinv": (lambda a, b: [L.pinv(a), L.pinv(b)], [TALL, WIDE[:, :2]]),
    "pinv hermitian": (lambda x: [L.pinv(_positive_definite(x), hermitian=True)], [_X[:, :3, :3]]),
    "lstsq": (lambda a, b: [L.lstsq(a, b, driver="gelsd").solution, L.lstsq(a, b, driver="gels").residuals],
              [TALL, TALL[..., :2] + 1]),
    "matrix_power": (lambda a: [L.matrix_power(a, 5), L.matrix_power(a, -2)], [SQUARE[:, :3, :3] / 3]),
    "multi_dot": (lambda a, b, c: [L.multi_dot([a, b, c])], [TALL[0, :, 0], TALL[0], WIDE[0]]),
    "vecdot cross": (lambda x, y: [L.vecdot(x, y), L.cross(x, y)], [VEC3[:, :2], VEC3[1:, :2]]),
    "matrix_exp": (lambda a: [L.matrix_exp(a)], [np.concatenate([SMALL_EXP, LARGE_EXP[None]])]),
    "matrix_norm": (lambda a: [L.matrix_norm(a, 2), L.matrix_norm(a, -2), L.matrix_norm(a, "nuc", dim=(0, 2))],
                    [TALL]),
    "logdet": (lambda x: [L.logdet(_positive_definite(x))], [_X[:, :3, :3]]),
}


@pytest.mark.parametrize("name", list(FINITE_DIFFERENCES))
def test_finite_differences(name):
    fn, arrays = FINITE_DIFFERENCES[name]
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    weights = [_weight(tuple(out.shape), i) for i, out in enumerate(fn(*(minigrad.tensor(a) for a in arrays)))]

    def loss(*inputs):
        return sum((out * minigrad.tensor(w)).sum() for out, w in zip(fn(*inputs), weights, strict=True))

    inputs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
    loss(*inputs).backward()
    for i, (x, t) in enumerate(zip(arrays, inputs, strict=True)):
        def value():
            with minigrad.no_grad():
                return loss(*(minigrad.tensor(a) for a in arrays)).item()

        assert_grad_close(_array(t.grad), numerical_grad(value, x), tol=1e-6, name=f"{name} input {i}")


# --- documented choices --------------------------------------------------------------------------------------


def test_det_gradient_of_a_singular_matrix_is_its_cofactor_matrix():
    """PyTorch's plain backward gives 0 for an exactly singular matrix; minigrad the true gradient,
    the cofactors (what PyTorch gives when it keeps the graph)."""
    a = minigrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], dtype=minigrad.float64, requires_grad=True)
    L.det(a).backward()
    m = a.detach().numpy()
    cofactors = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(m, i, 0), j, 1)) for j in range(3)]
                          for i in range(3)])
    np.testing.assert_allclose(_array(a.grad), cofactors, atol=1e-12)
    assert np.abs(cofactors).max() > 1  # a check that could fail


def test_unused_outputs_do_not_spoil_gradients_at_repeated_values():
    """Only S (only the eigenvalues) used: U diag(g) Vh, finite, though the singular values (the
    eigenvalues) repeat and the singular vectors' gradient would divide by zero."""
    a = minigrad.tensor(2 * np.eye(3), requires_grad=True)
    u, s, vh = L.svd(a)
    (s * minigrad.tensor([1.0, 2.0, 3.0], dtype=minigrad.float64)).sum().backward()
    want = _array(u) @ np.diag([1.0, 2.0, 3.0]) @ _array(vh)
    np.testing.assert_allclose(_array(a.grad), want, atol=1e-12)
    b = minigrad.tensor(np.eye(3), requires_grad=True)
    L.eigh(b).eigenvalues.sum().backward()
    np.testing.assert_allclose(_array(b.grad), np.eye(3), atol=1e-12)


def test_results_are_named_tuples_with_torchs_fields():
    a = minigrad.tensor(SPD[0])
    assert L.slogdet(a)._fields == ("sign", "logabsdet")
    assert L.eigh(a)._fields == ("eigenvalues", "eigenvectors")
    assert L.svd(a)._fields == ("U", "S", "Vh")
    assert L.qr(a)._fields == ("Q", "R")
    assert L.lstsq(a, a)._fields == ("solution", "residuals", "rank", "singular_values")
    assert L.inv_ex(a)._fields == ("inverse", "info")
    assert L.cholesky_ex(a)._fields == ("L", "info")
    assert L.svd_legacy(a)._fields == ("U", "S", "V")
    assert L.cholesky_ex(a).info.dtype == np.int32 and L.matrix_rank(a).dtype == np.int64


def test_every_public_name_is_documented():
    for name in L.__all__:
        assert getattr(L, name).__doc__, name
    for name in ("inverse", "logdet", "pinverse", "svd_legacy", "qr_legacy", "cholesky_legacy"):
        assert name not in L.__all__ and getattr(L, name).__doc__


def test_failed_matrices_report_info_and_nan():
    batch = np.stack([np.eye(3), [[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]]])
    inverse, info = L.inv_ex(minigrad.tensor(batch))
    assert info.tolist() == [0, 2]  # the second pivot is zero, as LAPACK's
    np.testing.assert_array_equal(_array(inverse)[0], np.eye(3))
    assert np.isnan(_array(inverse)[1]).all()
    factor, info = L.cholesky_ex(minigrad.tensor(batch))
    assert info.tolist() == [0, 2]  # the leading minor of order 2 is singular
    assert np.isnan(_array(factor)[1]).all()
    _, info = L.cholesky_ex(minigrad.tensor(np.diag([1.0, 2.0, 3.0, -1.0, 5.0])))
    assert info.item() == 4


def test_shapes_and_placeholders():
    a = minigrad.tensor(TALL)
    u, s, vh = L.svd(a)
    assert (u.shape, s.shape, vh.shape) == ((2, 5, 5), (2, 3), (2, 3, 3))
    q, r = L.qr(a, mode="r")
    assert q.shape == (0,) and r.shape == (2, 3, 3)
    assert L.qr(a, mode="complete").Q.shape == (2, 5, 5)
    result = L.lstsq(a, a[..., :1])  # gelsy: no residuals nor singular values
    assert result.residuals.shape == (0,) and result.singular_values.shape == (0,) and result.rank.tolist() == [3, 3]
    assert L.lstsq(a, a[..., 0], driver="gels").rank.shape == (0,)
    assert L.lstsq(a, a[..., 0], driver="gelsd").residuals.shape == (2, 1)  # PyTorch keeps k = 1
    assert L.det(minigrad.zeros(0, 0, dtype=minigrad.float64)).item() == 1.0
    assert L.matrix_power(minigrad.tensor(np.ones((2, 2), dtype=np.int64)), 3).tolist() == [[4, 4], [4, 4]]


def test_backward_refuses_qr_modes_that_do_not_determine_the_gradient():
    a = minigrad.tensor(TALL, requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        L.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        L.qr(a, mode="complete").R.sum().backward()


def test_gradient_uses_the_values_at_the_forward(device):
    """Results and gradients on the input's device (a host round trip for CUDA), and the node keeps
    its own copy of what backward reads, so an in-place change afterwards does not move it."""
    a = minigrad.tensor(SQUARE[0], device=device, requires_grad=True)
    out = L.inv(a)
    assert out.device == a.device
    with minigrad.no_grad():
        a.mul_(2.0)
    out.sum().backward()
    inverse = np.linalg.inv(SQUARE[0])
    np.testing.assert_allclose(_array(a.grad.to("cpu")), -inverse.T @ np.ones((4, 4)) @ inverse.T, rtol=1e-10)
    for got in (L.svd(a).S, L.lstsq(a, a).solution, L.cholesky_ex(a).info, L.matrix_rank(a)):
        assert got.device == a.device


# --- bad input ---------------------------------------------------------------------------------------------


def _t(*shape, dtype=np.float64):
    return minigrad.tensor(np.ones(shape, dtype=dtype))


_SINGULAR = minigrad.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=minigrad.float64)
_NOT_PD = minigrad.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=minigrad.float64)

BAD_INPUT = {
    "inv non-square": (lambda: L.inv(_t(2, 3)), RuntimeError, "square matrices, but they are 2 by 3"),
    "inv 1-D": (lambda: L.inv(_t(3)), RuntimeError, "at least 2 dimensions"),
    "inv integer": (lambda: L.inv(_t(2, 2, dtype=np.int64)), TypeError, "floating point"),
    "inv singular": (lambda: L.inv(_SINGULAR), L.LinAlgError, "diagonal element 2 is zero.*singular"),
    "inv singular batch": (lambda: L.inv(minigrad.stack([minigrad.eye(2, dtype=minigrad.float64), _SINGULAR])),
                           L.LinAlgError, r"\(Batch element 1\)"),
    "inv_ex check_errors": (lambda: L.inv_ex(_SINGULAR, check_errors=True), RuntimeError, "singular"),
    "det non-square": (lambda: L.det(_t(3, 2)), RuntimeError, "square matrices"),
    "slogdet integer": (lambda: L.slogdet(_t(2, 2, dtype=np.int32)), TypeError, "floating point"),
    "solve singular": (lambda: L.solve(_SINGULAR, _t(2, 1)), L.LinAlgError, "singular"),
    "solve shapes": (lambda: L.solve(_t(3, 3), _t(2, 2)), RuntimeError, r"AX = B \(3x3 and 2x2\)"),
    "solve batch": (lambda: L.solve(_t(2, 3, 3), _t(4, 3, 1)), RuntimeError, "cannot be broadcast"),
    "solve dtypes": (lambda: L.solve(_t(2, 2), _t(2, 2, dtype=np.float32)), RuntimeError, "same dtype"),
    "solve right vector": (lambda: L.solve(_t(3, 3), _t(3), left=False), RuntimeError, "XA = B"),
    "solve_triangular no upper": (lambda: L.solve_triangular(_t(2, 2), _t(2, 1)), TypeError, "upper"),
    "solve_triangular 1-D B": (lambda: L.solve_triangular(_t(2, 2), _t(2), upper=True), RuntimeError,
                               "B must have at least 2 dimensions"),
    "solve_triangular batch": (lambda: L.solve_triangular(_t(2, 3, 3), _t(3, 3, 1), upper=True), RuntimeError,
                               "cannot be broadcast"),
    "cholesky not positive-definite": (lambda: L.cholesky(_NOT_PD), L.LinAlgError,
                                       "not positive-definite.*order 2"),
    "cholesky batch": (lambda: L.cholesky(minigrad.stack([minigrad.eye(2, dtype=minigrad.float64), _NOT_PD])),
                       L.LinAlgError, r"\(Batch element 1\)"),
    "cholesky_ex check_errors": (lambda: L.cholesky_ex(-_NOT_PD, check_errors=True), L.LinAlgError, "order 1"),
    "cholesky non-square": (lambda: L.cholesky(_t(2, 3)), RuntimeError, "square"),
    "eigh UPLO": (lambda: L.eigh(_t(2, 2), UPLO="X"), RuntimeError, "'L' or 'U'"),
    "eigvalsh integer": (lambda: L.eigvalsh(_t(2, 2, dtype=np.int64)), TypeError, "floating point"),
    "svd 1-D": (lambda: L.svd(_t(3)), RuntimeError, "at least 2 dimensions"),
    "svd driver": (lambda: L.svd(_t(2, 2), driver="gesdd"), RuntimeError, "driver"),
    "qr mode": (lambda: L.qr(_t(2, 2), mode="full"), RuntimeError, "unrecognized mode 'full'"),
    "pinv hermitian non-square": (lambda: L.pinv(_t(3, 2), hermitian=True), RuntimeError, "square"),
    "pinv rcond with rtol": (lambda: L.pinv(_t(2, 2), 0.1, rtol=0.1), TypeError, "rcond"),
    "pinv atol shape": (lambda: L.pinv(_t(2, 3, 3), atol=minigrad.tensor([1.0, 2.0, 3.0])), RuntimeError,
                        "atol of shape"),
    "matrix_rank integer": (lambda: L.matrix_rank(_t(2, 2, dtype=np.int64)), TypeError, "floating point"),
    "lstsq rows": (lambda: L.lstsq(_t(5, 3), _t(4, 2)), RuntimeError, "size\\(-2\\) should match"),
    "lstsq dims": (lambda: L.lstsq(_t(5, 3), _t(2, 3, 5, 1)), RuntimeError, "input.dim\\(\\)"),
    "lstsq driver": (lambda: L.lstsq(_t(5, 3), _t(5, 1), driver="lapack"), RuntimeError, "gels, gelsy"),
    "matrix_power float n": (lambda: L.matrix_power(_t(2, 2), 2.0), TypeError, "must be int"),
    "matrix_power non-square": (lambda: L.matrix_power(_t(2, 3), 2), RuntimeError, "square"),
    "matrix_power integer inverse": (lambda: L.matrix_power(_t(2, 2, dtype=np.int64), -1), TypeError,
                                     "floating point"),
    "matrix_power singular inverse": (lambda: L.matrix_power(_SINGULAR, -2), L.LinAlgError, "singular"),
    "multi_dot one": (lambda: L.multi_dot([_t(2, 2)]), RuntimeError, "at least 2 tensors"),
    "multi_dot 3-D": (lambda: L.multi_dot([_t(2, 2), _t(2, 2, 2)]), RuntimeError, "last tensor must be 1D or 2D"),
    "multi_dot middle 1-D": (lambda: L.multi_dot([_t(2, 2), _t(2), _t(2, 2)]), RuntimeError, "tensor 1 must be 2D"),
    "multi_dot shapes": (lambda: L.multi_dot([_t(2, 3), _t(2, 2)]), RuntimeError, "cannot be multiplied"),
    "multi_dot dtypes": (lambda: L.multi_dot([_t(2, 2), _t(2, 2, dtype=np.float32)]), RuntimeError, "same dtype"),
    "vecdot integer": (lambda: L.vecdot(_t(3, dtype=np.int64), _t(3, dtype=np.int64)), TypeError, "floating point"),
    "vecdot shapes": (lambda: L.vecdot(_t(3, 2), _t(2, 2), dim=0), RuntimeError, "cannot be broadcast"),
    "cross ndim": (lambda: L.cross(_t(2, 3), _t(3)), RuntimeError, "same number of dimensions"),
    "cross length": (lambda: L.cross(_t(2, 2), _t(2, 2)), RuntimeError, "must have length 3. Got 2 and 2"),
    "matrix_exp integer": (lambda: L.matrix_exp(_t(2, 2, dtype=np.int64)), TypeError, "floating point"),
    "matrix_exp 0-D": (lambda: L.matrix_exp(_t()), RuntimeError, "at least 2 dimensions"),
    "matrix_norm 2 of 1-D": (lambda: L.matrix_norm(_t(3), 2), RuntimeError, "at least 2 dimensions"),
}


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input(name):
    call, error, message = BAD_INPUT[name]
    with pytest.raises(error, match=message):
        call()


def test_linalg_error_is_a_runtime_error():
    assert issubclass(L.LinAlgError, RuntimeError)


def _non_finite_matrices() -> np.ndarray:
    """Identity matrices with one inf, -inf or NaN on, below or at the start of the diagonal."""
    cases = []
    for value in (np.inf, np.nan, -np.inf):
        for i, j in ((1, 1), (2, 0), (0, 0)):
            a = np.eye(3)
            a[i, j] = value
            cases.append(a)
    return np.stack(cases)


def test_cholesky_ex_reports_non_finite_pivots_as_torch():
    """A NaN pivot (NaN on the diagonal, or reached through an infinite entry) is a failed minor,
    as LAPACK's potrf and PyTorch report it, not info 0 with a NaN factor; +inf on the diagonal is not."""
    a = _non_finite_matrices()
    want = torch_reference(
        "cholesky_ex_non_finite", lambda torch: {"info": torch.linalg.cholesky_ex(torch.tensor(a)).info}
    )
    result = minigrad.linalg.cholesky_ex(minigrad.tensor(a))
    np.testing.assert_array_equal(result.info.numpy(), want["info"])
    assert np.isnan(result.L.numpy()[want["info"] > 0]).all()
    with pytest.raises(minigrad.linalg.LinAlgError):
        minigrad.linalg.cholesky(minigrad.tensor(a[1]))
