"""Reparameterised gamma draws (Gamma.rsample and what is built on it: Chi2, Beta, Dirichlet,
StudentT, InverseGamma, FisherSnedecor, Wishart): the implicit reparameterisation gradient
d x / d alpha = -dP(alpha, x)/dalpha / pdf(x; alpha) against finite differences of PyTorch's
regularised incomplete gamma function (live, or recorded in
tests/fixtures/torch_reference/test_gamma_rsample.npz) and against PyTorch's own approximation;
then, on minigrad alone, that the gradients of sample averages are unbiased: they match the
derivatives of the known expectations to within Monte Carlo error."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import distributions as D
from minigrad.distributions.gamma import _standard_gamma_grad

torch_reference = TorchReference(__name__)

# (alpha, x) pairs: tiny draws of a small alpha, both sides of the mode, far tails (x = 15 at
# alpha = 1: probability 3e-7), large alpha
ALPHA = np.array([0.01, 0.01, 0.3, 0.3, 1.0, 1.0, 1.0, 2.5, 2.5, 10.0, 10.0, 100.0, 100.0, 1000.0, 0.5, 7.0])
X = np.array([1e-30, 0.2, 0.05, 4.0, 0.3, 5.0, 15.0, 0.1, 9.0, 3.0, 20.0, 80.0, 125.0, 1050.0, 3.0, 0.5])


def _torch_gamma_grads(torch):
    """PyTorch's -dP/dalpha / pdf by central differences of gammainc (float64; of its complement
    gammaincc above the mode, where P rounds to 1), and its own approximation _standard_gamma_grad."""
    alpha, x = torch.tensor(ALPHA), torch.tensor(X)
    h = 1e-6 * torch.clamp(alpha, min=1.0)
    lower = (torch.special.gammainc(alpha + h, x) - torch.special.gammainc(alpha - h, x)) / (2 * h)
    upper = (torch.special.gammaincc(alpha - h, x) - torch.special.gammaincc(alpha + h, x)) / (2 * h)
    dp = torch.where(x > alpha, upper, lower)
    log_pdf = (alpha - 1) * torch.log(x) - x - torch.lgamma(alpha)
    return {"finite_difference": -dp / torch.exp(log_pdf), "approximation": torch._standard_gamma_grad(alpha, x)}


def test_gradient_matches_finite_differences_of_the_cdf():
    ref = torch_reference("gamma_grad", _torch_gamma_grads)
    mine = _standard_gamma_grad(ALPHA, X)
    # the difference quotient's own error is about 1e-9
    np.testing.assert_allclose(mine, ref["finite_difference"], rtol=1e-8)
    # PyTorch's approximation is good to about 1e-4 relative
    np.testing.assert_allclose(mine, ref["approximation"], rtol=1e-3)


def test_gradient_broadcasts_and_handles_huge_ratios():
    """Shapes broadcast; a draw far above a small alpha (x / alpha = 1e4) stays finite."""
    out = _standard_gamma_grad(np.array([[0.5], [2.0]]), np.array([0.1, 1.0, 3.0]))
    assert out.shape == (6,) and np.isfinite(out).all() and (out > 0).all()
    assert np.isfinite(_standard_gamma_grad(np.array([0.05]), np.array([500.0]))).all()


def _t(values, requires_grad=True):
    return minigrad.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


N = 100_000


def test_gamma_gradients_are_unbiased():
    """d/dalpha E[x] = 1 / rate, d/drate E[x] = -alpha / rate^2, d/dalpha E[log x] = trigamma(alpha)."""
    minigrad.manual_seed(0)
    alpha, rate = _t([0.3, 1.0, 4.0, 50.0]), _t([1.0, 2.0, 0.5, 3.0])
    d = D.Gamma(alpha, rate)
    assert d.has_rsample
    d.rsample((N,)).mean(0).sum().backward()
    a, r = alpha.detach().numpy(), rate.detach().numpy()
    np.testing.assert_allclose(alpha.grad.numpy(), 1 / r, rtol=0.03)
    np.testing.assert_allclose(rate.grad.numpy(), -a / r**2, rtol=0.03)
    alpha.grad = None
    D.Gamma(alpha, 1.0).rsample((N,)).log().mean(0).sum().backward()
    trigamma = minigrad.polygamma(1, alpha.detach()).numpy()
    np.testing.assert_allclose(alpha.grad.numpy(), trigamma, rtol=0.03)


def test_beta_and_dirichlet_gradients_are_unbiased():
    """d/da E[x] = b / (a + b)^2 for Beta(a, b); the Dirichlet mean's Jacobian."""
    minigrad.manual_seed(1)
    a, b = _t([0.5, 2.0]), _t([1.5, 3.0])
    x = D.Beta(a, b).rsample((N,))
    assert D.Beta(a, b).has_rsample and ((x > 0) & (x < 1)).all().item()
    x.mean(0).sum().backward()
    an, bn = a.detach().numpy(), b.detach().numpy()
    np.testing.assert_allclose(a.grad.numpy(), bn / (an + bn) ** 2, rtol=0.03)
    np.testing.assert_allclose(b.grad.numpy(), -an / (an + bn) ** 2, rtol=0.03)

    c = _t([0.7, 2.0, 4.0])
    weights = np.array([1.0, -2.0, 0.5])
    (D.Dirichlet(c).rsample((N,)).mean(0) * _t(weights, False)).sum().backward()
    cn = c.detach().numpy()
    total = cn.sum()
    expected = weights / total - (weights * cn).sum() / total**2  # d/dc_j of sum_i w_i c_i / sum c
    np.testing.assert_allclose(c.grad.numpy(), expected, rtol=0.03, atol=2e-3)


def test_student_t_and_chi2_reparameterise():
    """StudentT's rsample differentiates to loc and scale exactly, and to df through the
    chi-squared draw (E|t| for df = 5: d/d df by a central difference of the closed form)."""
    minigrad.manual_seed(2)
    df, loc, scale = _t(5.0), _t(0.5), _t(2.0)
    d = D.StudentT(df, loc, scale)
    assert d.has_rsample and D.Chi2(df).has_rsample
    y = d.rsample((N,))
    ((y - loc).abs() / scale).mean().backward()
    assert abs(loc.grad.item()) < 0.02 and abs(scale.grad.item()) < 1e-9

    def mean_abs(nu):
        from math import gamma, pi, sqrt

        return 2 * sqrt(nu) * gamma((nu + 1) / 2) / (sqrt(pi) * (nu - 1) * gamma(nu / 2))

    expected = (mean_abs(5.0 + 1e-5) - mean_abs(5.0 - 1e-5)) / 2e-5
    np.testing.assert_allclose(df.grad.item(), expected, rtol=0.1)


def test_inverse_gamma_and_fisher_snedecor_reparameterise():
    """E[1/x] of InverseGamma(a, r) is a / r: its gradient to a is 1 / r; FisherSnedecor's draws
    differentiate to both degrees of freedom (E[x] = d2 / (d2 - 2), free of d1)."""
    minigrad.manual_seed(3)
    a, r = _t(3.0), _t(2.0)
    d = D.InverseGamma(a, r)
    assert d.has_rsample
    (1 / d.rsample((N,))).mean().backward()
    np.testing.assert_allclose(a.grad.item(), 1 / 2.0, rtol=0.03)

    d1, d2 = _t(4.0), _t(9.0)
    f = D.FisherSnedecor(d1, d2)
    assert f.has_rsample
    f.rsample((N,)).mean().backward()
    assert abs(d1.grad.item()) < 0.02
    np.testing.assert_allclose(d2.grad.item(), -2 / (9.0 - 2) ** 2, rtol=0.15)


@pytest.mark.parametrize("dtype", [minigrad.float32, minigrad.float64])
def test_sample_is_off_the_tape_and_rsample_keeps_dtype(dtype):
    alpha = minigrad.tensor([0.5, 2.0], dtype=dtype, requires_grad=True)
    d = D.Gamma(alpha, 1.0)
    assert not d.sample((3,)).requires_grad
    draws = d.rsample((3,))
    assert draws.requires_grad and draws.dtype == dtype and draws.shape == (3, 2)
    assert (draws > 0).all().item()
    draws.sum().backward()
    assert alpha.grad.dtype == dtype and np.isfinite(alpha.grad.numpy()).all()


def test_same_seed_same_draws_for_sample_and_rsample():
    """sample() is rsample() off the tape: the same seeded stream, so old seeded runs repeat."""
    alpha = _t([0.5, 2.0, 9.0])
    minigrad.manual_seed(7)
    a = D.Gamma(alpha, 2.0).sample((4,)).numpy()
    minigrad.manual_seed(7)
    b = D.Gamma(alpha, 2.0).rsample((4,)).detach().numpy()
    np.testing.assert_array_equal(a, b)
