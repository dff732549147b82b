"""minigrad.autograd.functional (torch.autograd.functional): vjp, jvp, jacobian, hessian, vhp and
hvp, against PyTorch's (live, or recorded in tests/fixtures/torch_reference/
test_autograd_functional.npz), and against a plain float64 finite-difference Jacobian."""

import numpy as np
import pytest
from parity import check_program, error_of
from torch_reference import TorchReference

import minigrad
from minigrad.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

torch_reference = TorchReference(__name__)


def _tensor(lib, rng, *shape):
    return lib.tensor(rng.standard_normal(shape), dtype=lib.float64)


def _mlp_loss(lib):
    """A function of (weights, bias) with one output: a tanh layer's squared error."""
    rng = np.random.default_rng(11)
    x, y = _tensor(lib, rng, 6, 3), _tensor(lib, rng, 6, 2)

    def loss(w, b):
        return ((lib.tanh(x @ w + b) - y) ** 2).mean()

    return loss


def _functional_program(lib):
    F = lib.autograd.functional
    rng = np.random.default_rng(12)
    w, b, a = _tensor(lib, rng, 3, 2), _tensor(lib, rng, 2), _tensor(lib, rng, 4)
    loss = _mlp_loss(lib)

    def pair(t):  # two outputs of one input
        return t.sin() * t, (t * t).sum()

    made = {}
    out, (gw, gb) = F.vjp(loss, (w, b))
    made.update(vjp_out=out, vjp_w=gw, vjp_b=gb)
    out, jv = F.jvp(lambda t: t.exp() * t.sum(), a, _tensor(lib, rng, 4))
    made.update(jvp_out=out, jvp=jv)
    outs, (jv_pair, jv_sum) = F.jvp(pair, a, _tensor(lib, rng, 4))
    made.update(jvp_pair=jv_pair, jvp_sum=jv_sum)
    made["jacobian"] = F.jacobian(lambda t: t.tanh() * t[0], a)
    (jw, jb) = F.jacobian(lambda w_, b_: lib.tanh(w_.sum(0) + b_), (w, b))
    made.update(jacobian_w=jw, jacobian_b=jb)
    (j_pair, j_sum) = F.jacobian(pair, a)
    made.update(jacobian_pair=j_pair, jacobian_sum=j_sum)
    ((hww, hwb), (hbw, hbb)) = F.hessian(loss, (w, b))
    made.update(hessian_ww=hww, hessian_wb=hwb, hessian_bw=hbw, hessian_bb=hbb)
    made["hessian_single"] = F.hessian(lambda t: (t**3).sum() * t[1], a)
    vw, vb = _tensor(lib, rng, 3, 2), _tensor(lib, rng, 2)
    out, (hv_w, hv_b) = F.hvp(loss, (w, b), (vw, vb))
    made.update(hvp_out=out, hvp_w=hv_w, hvp_b=hv_b)
    _, (vh_w, vh_b) = F.vhp(loss, (w, b), (vw, vb))
    made.update(vhp_w=vh_w, vhp_b=vh_b)
    # create_graph: the result is differentiable with respect to the callers' tensors
    leaf = lib.tensor(rng.standard_normal(3), dtype=lib.float64, requires_grad=True)
    hess = F.hessian(lambda t: (t**4).sum(), leaf, create_graph=True)
    (third,) = lib.autograd.grad(hess.sum(), leaf)
    made.update(created_hessian=hess, third=third)
    return made


def test_functional_as_torch():
    check_program(torch_reference, "functional", _functional_program, rtol=1e-9)


def test_jacobian_matches_finite_differences():
    rng = np.random.default_rng(13)
    a = rng.standard_normal(5)

    def f(t):
        return minigrad.stack([t[0] * t[1], t.sin().sum(), (t**2).prod()]) * t[:3]

    got = jacobian(f, minigrad.tensor(a)).numpy()
    eps, numeric = 1e-6, np.empty((3, 5))
    for j in range(5):
        step = np.zeros(5)
        step[j] = eps
        numeric[:, j] = (f(minigrad.tensor(a + step)).numpy() - f(minigrad.tensor(a - step)).numpy()) / (2 * eps)
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)


def test_independent_outputs_strict_and_bad_arguments():
    x, y = minigrad.ones(2, dtype=minigrad.float64), minigrad.ones(3, dtype=minigrad.float64)
    jx, jy = jacobian(lambda a, b: a * 2, (x, y))
    np.testing.assert_array_equal(jy.numpy(), np.zeros((2, 3)))
    assert not jx.requires_grad and not x.requires_grad  # the callers' tensors are left as they were
    assert "independent of input 1" in error_of(lambda: jacobian(lambda a, b: a * 2, (x, y), strict=True))
    assert "single Tensor with a single element" in error_of(lambda: vjp(lambda a: a * 2, x))
    assert "single Tensor with a single element" in error_of(lambda: hessian(lambda a: a * 2, x))
    assert error_of(lambda: jvp(lambda a: a * 2, x, minigrad.ones(3))).startswith("RuntimeError: Entry 0 in v")
    assert error_of(lambda: vhp(lambda a: a.sum(), x, (x, x))).startswith("RuntimeError: v is a tuple of invalid")
    assert error_of(lambda: hvp(lambda a: a.sum(), [1.0, 2.0])).startswith("TypeError")
    assert error_of(lambda: jacobian(lambda a: a, x, strategy="forward-mode")).startswith("NotImplementedError")
    assert error_of(lambda: jacobian(lambda a: a, x, strategy="sideways")).startswith("ValueError")
    np.testing.assert_array_equal(jacobian(lambda a: a.sin() * a[0], x, vectorize=True, strategy="forward-mode"),
                                  jacobian(lambda a: a.sin() * a[0], x))


@pytest.mark.parametrize("name", ["vjp", "hvp"])
def test_without_create_graph_results_are_off_the_tape(name):
    leaf = minigrad.tensor([0.5, -1.0], dtype=minigrad.float64, requires_grad=True)
    fn = {"vjp": lambda: vjp(lambda t: (t**3).sum(), leaf), "hvp": lambda: hvp(lambda t: (t**3).sum(), leaf,
                                                                              minigrad.ones(2, dtype=minigrad.float64))}
    out, result = fn[name]()
    assert not out.requires_grad and not result.requires_grad
    np.testing.assert_allclose(result.numpy(), [0.75, 3.0] if name == "vjp" else [3.0, -6.0])
