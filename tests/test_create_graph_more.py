"""Higher-order gradients of the ops given create_graph formulas after the first set
(test_create_graph.py): atan2, remainder/fmod, frexp, logcumsumexp, scatter_reduce, the special
functions and polygamma, and minigrad.linalg's factorizations and solvers. Each case's second
derivatives are checked against float64 finite differences (autograd.gradgradcheck) and, with
its first derivatives, against PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_create_graph_more.npz)."""

import numpy as np
import pytest
from parity import check_program, error_of
from torch_reference import TorchReference

import minigrad
from minigrad import autograd

torch_reference = TorchReference(__name__)


def _index(lib):
    return lib.tensor([[0, 1, 2, 0], [1, 1, 0, 2], [0, 0, 0, 1], [2, 1, 1, 1], [0, 2, 2, 2]])


def _scatter(reduce, include_self):
    return ([(3, 4), (5, 4)], lambda lib, x, s: x.scatter_reduce(0, _index(lib), s, reduce,
                                                                 include_self=include_self) ** 2 * x[0])


def _symmetric(a):
    return a + a.mT


def _svd_invariants(lib, a):
    """Functions of the SVD that do not depend on the singular vectors' signs."""
    u, s, vh = lib.linalg.svd(a, full_matrices=False)
    full_u, _, full_vh = lib.linalg.svd(a)
    k = s.shape[-1]
    return ((u * u).sum(-2) * s + (vh**2 * a[..., :k, :]).sum(-1) + (full_u[..., :k] ** 2 * a[..., :k]).sum(-2)
            + (full_vh[..., :k, :] ** 3 * vh).sum(-1) + lib.linalg.svdvals(a) ** 2)


# (name, inputs: shapes or (kind, shape), function of (lib, *tensors)); kinds: "positive" values in
# [0.5, 2], "matrix" well-conditioned square matrices, "normal" standard normal, "singular" square
# matrices of rank n - 1, else |x| in [0.3, 1.5]
_CASES = {
    "atan2": ([(3, 4), (4,)], lambda lib, a, b: lib.atan2(a, b) * a),
    "remainder": ([(3, 4), (4,)], lambda lib, a, b: lib.remainder(a * 3, b) ** 2 * b),
    "fmod": ([(3, 4), (3, 4)], lambda lib, a, b: lib.fmod(a * 3, b) ** 2 * b),
    "frexp": ([(6,)], lambda lib, a: lib.frexp(a * 5).mantissa ** 3),
    "logcumsumexp": ([(3, 5)], lambda lib, a: lib.logcumsumexp(a * 2, 1) * a),
    **{f"scatter_reduce_{reduce}_{'with' if include_self else 'without'}_self": _scatter(reduce, include_self)
       for reduce in ("sum", "mean", "prod", "amax", "amin") for include_self in (True, False)},
    "gamma_family": ([("positive", (6,))], lambda lib, a: lib.lgamma(a) * a + lib.digamma(a) ** 2
                     + lib.special.gammaln(a * 2) + lib.mvlgamma(a + 1, p=3) * a),
    "polygamma": ([("positive", (6,))], lambda lib, a: sum(lib.polygamma(n, a) * a**n for n in range(4))),
    "error_functions": ([(6,)], lambda lib, a: lib.erfc(a) * a + lib.special.erfcx(a) ** 2 + lib.erf(a) * a
                        + lib.erfinv(a * 0.5) ** 3),
    "normal_distribution": ([(6,)], lambda lib, a: lib.special.ndtr(a) * a + lib.special.log_ndtr(a * 3) ** 2
                            + lib.special.ndtri(a.abs() * 0.5) * a),
    "bessel": ([(6,)], lambda lib, a: lib.i0(a) * a + lib.special.i0e(a) ** 2 + lib.special.i1(a * 2) * a
               + lib.special.i1e(a) ** 3),
    "entropy_terms": ([("positive", (6,)), (6,)], lambda lib, p, x: lib.special.entr(p) * x
                      + lib.xlogy(x, p) ** 2 + lib.special.xlog1py(x, p) * p),
    "inv": ([("matrix", (2, 3, 3))], lambda lib, a: lib.linalg.inv(a) ** 2),
    "det": ([("matrix", (2, 3, 3))], lambda lib, a: lib.linalg.det(a) ** 2 + lib.linalg.det(a * a)),
    "det_singular": ([("singular", (2, 3, 3))], lambda lib, a: lib.linalg.det(a) * a.sum((-2, -1))),
    "slogdet_logdet": ([("matrix", (3, 3))], lambda lib, a: lib.linalg.slogdet(a).logabsdet ** 2
                       + lib.linalg.slogdet(a).sign * a.sum() + lib.logdet(a @ a.mT) * a[0, 0]),
    "solve": ([("matrix", (2, 3, 3)), (2, 3, 2)], lambda lib, a, b: lib.linalg.solve(a, b) ** 2
              + lib.linalg.solve(a[0], b[1].mT, left=False).mT ** 3),
    "solve_triangular": ([("matrix", (2, 3, 3)), (2, 3, 2)], lambda lib, a, b: (
        lib.linalg.solve_triangular(a, b, upper=True) ** 2).sum(-1)
        + (lib.linalg.solve_triangular(a, b.mT, upper=False, left=False, unitriangular=True) ** 2).sum(-2)),
    "cholesky": ([("matrix", (2, 3, 3))], lambda lib, a: lib.linalg.cholesky(a @ a.mT) ** 2
                 + lib.linalg.cholesky(a @ a.mT, upper=True) ** 3),
    "eigh": ([("normal", (2, 3, 3))], lambda lib, a: lib.linalg.eigh(_symmetric(a)).eigenvalues ** 2
             + (lib.linalg.eigh(_symmetric(a), UPLO="U").eigenvectors ** 2 * a[..., :1, :]).sum(-1)
             + lib.linalg.eigvalsh(_symmetric(a)) * a[..., 0]),
    "svd_tall": ([("normal", (4, 3))], _svd_invariants),
    "svd_wide": ([("normal", (2, 3, 5))], _svd_invariants),
    "svd_square": ([("normal", (3, 3))], _svd_invariants),
    "qr_tall": ([("normal", (4, 3))], lambda lib, a: (lib.linalg.qr(a).Q ** 2).sum(0) * lib.linalg.qr(a).R[0]
                + lib.linalg.qr(a).R ** 2),
    "qr_wide": ([("normal", (3, 5))], lambda lib, a: (lib.linalg.qr(a).Q ** 3).sum() + lib.linalg.qr(a).R[1] ** 2),
    "qr_complete_square": ([("normal", (3, 3))], lambda lib, a: (lib.linalg.qr(a, "complete").Q * a).sum(0)
                           + lib.linalg.qr(a, "complete").R[1] ** 2),
    "pinv": ([("normal", (4, 3)), ("normal", (3, 4))], lambda lib, a, b: (lib.linalg.pinv(a) ** 2).sum(0)
             + (lib.linalg.pinv(b) * a).sum(1)),
    "pinv_hermitian": ([("normal", (3, 3))], lambda lib, a: lib.linalg.pinv(_symmetric(a), hermitian=True) ** 2),
    "matrix_exp": ([("normal", (2, 3, 3))], lambda lib, a: lib.linalg.matrix_exp(a * 0.5) ** 2),
    "lstsq": ([("normal", (5, 3)), ("normal", (5, 2))], lambda lib, a, b: lib.linalg.lstsq(a, b).solution ** 2),
    "matrix_norms": ([("normal", (3, 4))], lambda lib, a: lib.linalg.matrix_norm(a, "nuc")
                     * lib.linalg.matrix_norm(a, 2) + lib.linalg.matrix_norm(a, -2) ** 3),
}


def _values(rng, spec):
    kind, shape = spec if isinstance(spec[0], str) else ("away_from_zero", spec)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "matrix":
        return rng.standard_normal(shape) + 3 * np.eye(shape[-1])
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "singular":  # the second row twice the first
        matrices = rng.standard_normal(shape)
        matrices[..., 1, :] = 2 * matrices[..., 0, :]
        return matrices
    return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def _inputs(lib, case, seed=0):
    rng = np.random.default_rng(seed)
    return [lib.tensor(_values(rng, spec), dtype=lib.float64, requires_grad=True) for spec in _CASES[case][0]]


@pytest.mark.parametrize("case", sorted(_CASES))
def test_second_derivatives_match_finite_differences(case):
    fn = _CASES[case][1]
    xs = _inputs(minigrad, case)
    # the recorded first derivatives are the ops' own (array) gradients
    on_tape = autograd.grad(fn(minigrad, *xs).sum(), xs, create_graph=True)
    plain = autograd.grad(fn(minigrad, *xs).sum(), xs)
    for g, want in zip(on_tape, plain, strict=True):
        assert g.requires_grad
        np.testing.assert_allclose(g.detach().numpy(), want.numpy(), rtol=1e-9, atol=1e-11)
    assert autograd.gradgradcheck(lambda *args: fn(minigrad, *args), xs, atol=1e-5, rtol=1e-4)


def _second_order_program(case):
    """g1 = d<f, w>/dx (with create_graph), then d<g1, v>/dx and d<g1, v>/dw (w requires grad, so the
    gradients' dependence on the incoming gradient is checked too), for each input x."""

    def program(lib):
        xs = _inputs(lib, case, seed=1)
        out = _CASES[case][1](lib, *xs)
        rng = np.random.default_rng(2)
        weight = lib.tensor(rng.uniform(0.5, 1.5, tuple(out.shape)), dtype=out.dtype, requires_grad=True)
        firsts = lib.autograd.grad((out * weight).sum(), xs, create_graph=True)
        total = sum((g * lib.tensor(rng.uniform(-1, 1, tuple(g.shape)), dtype=g.dtype)).sum() for g in firsts)
        seconds = lib.autograd.grad(total, [*xs, weight], allow_unused=True)
        made = {f"first{i}": g for i, g in enumerate(firsts)}
        made.update({f"second{i}": g for i, g in enumerate(seconds) if g is not None})
        return made

    return program


# PyTorch's second derivative of det at a singular matrix (its SVD branch) disagrees with finite
# differences; minigrad's agrees (test_second_derivatives_match_finite_differences)
_TORCH_DIFFERS = {"det_singular"}


@pytest.mark.parametrize("case", sorted(_CASES.keys() - _TORCH_DIFFERS))
def test_second_derivatives_as_torch(case):
    check_program(torch_reference, f"second_{case}", _second_order_program(case), rtol=1e-7)


def test_third_derivatives_of_special_and_linalg_as_torch():
    """The formulas' own ops have formulas: a third derivative goes through them again."""

    def program(lib):
        x = lib.tensor([0.7, 1.9, 3.2], dtype=lib.float64, requires_grad=True)
        a = lib.tensor([[2.0, 0.5, -0.3], [0.1, 1.5, 0.4], [-0.2, 0.3, 1.8]], dtype=lib.float64, requires_grad=True)
        made = {}
        for name, value in (("lgamma", lib.lgamma(x).sum()), ("i1e", lib.special.i1e(x).sum()),
                            ("inv", (lib.linalg.inv(a) ** 2).sum()), ("det", lib.linalg.det(a)),
                            ("eigvalsh", (lib.linalg.eigvalsh(a @ a.mT) ** 2).sum())):
            leaf = x if name in ("lgamma", "i1e") else a
            (d1,) = lib.autograd.grad(value, leaf, create_graph=True)
            (d2,) = lib.autograd.grad((d1 * d1).sum(), leaf, create_graph=True)
            (d3,) = lib.autograd.grad(d2.sum(), leaf)
            made.update({f"{name}_d1": d1, f"{name}_d2": d2, f"{name}_d3": d3})
        return made

    check_program(torch_reference, "third_derivatives", program, rtol=1e-7)


# ------------------------------------------------------------------ what stays first order
def _refusal(fn, *xs):
    """The message of differentiating fn's create_graph gradient again (and that it was given)."""
    (g,) = autograd.grad(fn(*xs), xs, create_graph=True)
    assert g.requires_grad
    return error_of(lambda: g.sum().backward())


def test_scatter_reduce_prod_refuses_a_second_derivative_through_two_zeros_at_one_place():
    """As PyTorch (a DelayedError): with two zeros of src reduced into one place the gradient
    divides through them, so it has no second derivative there; the first derivative is right."""
    x = minigrad.tensor([[1.5, 2.0]], dtype=minigrad.float64)
    src = minigrad.tensor([[0.0, 3.0], [0.0, 0.5]], dtype=minigrad.float64, requires_grad=True)
    index = minigrad.tensor([[0, 0], [0, 0]])

    def fn(s):
        return (x.scatter_reduce(0, index, s, "prod") ** 2).sum()

    (g,) = autograd.grad(fn(src), src, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), autograd.grad(fn(src), src)[0].numpy())
    message = _refusal(fn, src)
    assert message == ("RuntimeError: scatter_reduce(): Double backward is unsupported for src when >1 zeros in src "
                       "are scattered to the same position in self")


def test_slogdet_of_a_singular_matrix_gives_a_first_order_gradient_only():
    """logabsdet's gradient at a singular matrix is not finite (as PyTorch's); it is not
    differentiated again."""
    a = minigrad.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=minigrad.float64, requires_grad=True)
    message = _refusal(lambda t: minigrad.linalg.slogdet(t).logabsdet, a)
    assert message.startswith("RuntimeError") and "Slogdet" in message and "not implemented" in message


def test_qr_modes_without_a_gradient_refuse_it_with_create_graph_too():
    from minigrad.functional.decompositions import QR_COMPLETE_TALL, QR_R_MODE

    a = minigrad.tensor(np.random.default_rng(3).standard_normal((4, 3)), requires_grad=True)
    q = minigrad.linalg.qr(a, "complete").Q
    assert error_of(lambda: autograd.grad(q.sum(), a, create_graph=True)) == f"RuntimeError: {QR_COMPLETE_TALL}"
    r = minigrad.linalg.qr(a, "r").R
    assert error_of(lambda: autograd.grad(r.sum(), a, create_graph=True)) == f"RuntimeError: {QR_R_MODE}"


def test_det_of_a_singular_matrix_has_second_derivatives():
    """det's gradient at a singular matrix is the cofactor matrix (through the SVD, as PyTorch's),
    and so is differentiable again."""
    a = minigrad.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]], dtype=minigrad.float64,
                        requires_grad=True)
    assert autograd.gradgradcheck(lambda t: minigrad.linalg.det(t) * t.sum(), [a], atol=1e-5, rtol=1e-4)
