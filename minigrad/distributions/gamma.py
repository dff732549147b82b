"""The gamma distribution, as torch.distributions.Gamma."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.creation import as_tensor, tensor
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.exp_family import ExponentialFamily
from minigrad.distributions.utils import _host_draws, broadcast_all
from minigrad.functional import digamma, lgamma, xlogy
from minigrad.functional.special import _digamma_positive, _lgamma
from minigrad.tensor import Tensor, finfo, float64

__all__ = ["Gamma"]


def _standard_gamma(concentration: Tensor) -> Tensor:
    """Gamma(concentration, 1) draws of concentration's shape (numpy's sampler, minigrad's seeded
    generator), at least the dtype's smallest normal number, as PyTorch clamps them."""
    draws = _host_draws(concentration, lambda rng, c: rng.standard_gamma(c), concentration)
    return draws.clamp(min=finfo(draws.dtype).tiny)


def _standard_gamma_grad(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """d x / d alpha for Gamma(alpha, 1) draws x, holding their CDF value fixed (implicit
    reparameterisation, Figurnov et al. 2018): -dP(alpha, x)/dalpha / pdf(x; alpha), P the
    regularised lower incomplete gamma function, in float64 (PyTorch's approximation is good to
    about 1e-4). The terms below change sign past the mode, so far up the tail digits cancel:
    about 1e-12 relative at a tail probability of 1e-6, 1e-8 at 1e-9 (alpha = 1: x = 12, 20).
    P's series sum_n x^(alpha+n) e^-x / Gamma(alpha+n+1)
    differentiated term by term and divided by the pdf gives terms r_n (log x - digamma(alpha+n+1))
    with r_0 = x / alpha, r_n = r_(n-1) x / (alpha + n): no gamma function and no x^alpha to
    overflow. The terms grow until n passes x - alpha and then shrink faster than geometrically,
    so a draw takes about x - alpha + 40 sqrt(x) + 40 terms (a few hundred at alpha = 100)."""
    alpha, x = np.broadcast_arrays(np.asarray(alpha, np.float64), np.asarray(x, np.float64))
    alpha, x = alpha.ravel(), x.ravel()
    log_x = np.log(x)
    psi = _digamma_positive(alpha + 1)
    term = x / alpha
    weights = term.copy()
    grad = term * (log_x - psi)
    active = np.arange(alpha.size)  # the draws whose series has not converged yet
    n = 0
    while active.size:
        n += 1
        a = alpha[active]
        psi = psi + 1 / (a + n)  # digamma(y + 1) = digamma(y) + 1 / y
        term = term * x[active] / (a + n)
        weights[active] += term
        grad[active] += term * (log_x[active] - psi)
        done = (n > x[active] - a) & (term <= 2.0**-60 * weights[active])
        keep = ~done
        active, psi, term = active[keep], psi[keep], term[keep]
    return -grad


class _StandardGamma(Function):
    """Gamma(concentration, 1) draws whose backward is the implicit reparameterisation gradient
    (_standard_gamma_grad), as PyTorch's _standard_gamma."""

    @staticmethod
    def forward(ctx: Any, concentration: Tensor) -> Tensor:
        draws = _standard_gamma(concentration.detach())
        ctx.save_for_backward(concentration, draws)
        return draws

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        concentration, draws = ctx.saved_tensors
        alpha = concentration.detach().to(float64).numpy()
        dx_dalpha = _standard_gamma_grad(alpha, draws.detach().to(float64).numpy()).reshape(alpha.shape)
        return grad * tensor(dx_dalpha, dtype=grad.dtype, device=grad.device)


def _standard_gamma_rsample(concentration: Tensor) -> Tensor:
    """Gamma(concentration, 1) draws that differentiate to concentration (see _StandardGamma)."""
    return _StandardGamma.apply(concentration)


def _regularized_gamma_p(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(a, x), the regularised lower incomplete gamma function, in float64 (as
    torch.special.gammainc): the series sum_n x^n / (a (a+1) ... (a+n)) times x^a e^-x / Gamma(a)
    below x = a + 1, else 1 - Q(a, x) with Q's continued fraction (Lentz's method); NaN for x < 0
    or a < 0, 0 at x = 0 (a > 0), 1 at x = inf or a = 0 < x, 0 at a = inf."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    regular = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    a_r, x_r = np.where(regular, a, 1.0), np.where(regular, x, 1.0)
    prefactor = np.exp(a_r * np.log(x_r) - x_r - _lgamma(a_r))
    use_series = x_r < a_r + 1
    eps, tiny = 2.0**-52, 1e-300
    # the series, for x < a + 1 (0 elsewhere, where the terms would grow)
    x_s = np.where(use_series, x_r, 0.0)
    term = 1 / a_r
    total = term.copy()
    for n in range(1, 100_000):
        term = term * x_s / (a_r + n)
        total = total + term
        if not (term > eps * total).any():
            break
    # the continued fraction of Q, for x >= a + 1 (x = a + 1 elsewhere, where b would reach 0)
    x_c = np.where(use_series, a_r + 1, x_r)
    b = x_c + 1 - a_r
    c = np.full_like(b, 1 / tiny)
    d = 1 / b
    h = d.copy()
    for i in range(1, 100_000):
        an = -i * (i - a_r)
        b = b + 2
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1 / d
        delta = d * c
        h = h * delta
        if not (np.abs(delta - 1) > 2 * eps).any():  # delta can settle a rounding off 1
            break
    p = np.where(use_series, prefactor * total, 1 - prefactor * h)
    edge = np.where((x == 0) | (a == math.inf), 0.0, np.where((x == math.inf) | (a == 0), 1.0, math.nan))
    invalid = np.isnan(a) | np.isnan(x) | (a < 0) | (x < 0) | ((a == 0) & (x == 0))
    return np.where(regular, p, np.where(invalid, math.nan, edge))


class _GammaInc(Function):
    """P(concentration, x) (_regularized_gamma_p); its derivative in x is the Gamma(concentration, 1)
    density, and in concentration not implemented (NotImplementedError), as PyTorch's igamma."""

    @staticmethod
    def forward(ctx: Any, concentration: Tensor, x: Tensor) -> Tensor:
        ctx.save_for_backward(concentration, x)
        a = concentration.detach().to(float64).numpy()
        out = _regularized_gamma_p(a, x.detach().to(float64).numpy())
        return tensor(out, dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor]:
        concentration, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        return None, grad * (xlogy(concentration - 1, x) - x - lgamma(concentration)).exp()


def _clamp_values(value: Tensor, low: float, high: float | None = None) -> Tensor:
    """value clamped to [low, high] with the gradient of value itself: the clamp only keeps
    draws that round to 0 (or 1) off the support's edge, as PyTorch clamps them outside autograd."""
    return value + (value.detach().clamp(min=low, max=high) - value.detach())


class Gamma(ExponentialFamily):
    """The gamma distribution of shape ``concentration`` and ``rate`` (both > 0, broadcast
    together). Samples come from numpy's gamma sampler; ``rsample`` differentiates them to both
    parameters (implicit reparameterisation for concentration, see _standard_gamma_grad)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration: Tensor | float, rate: Tensor | float, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """concentration, rate expanded to batch_shape (Distribution.expand)."""
        return self._expand_params(Gamma, batch_shape, ("concentration", "rate"), _instance)

    @property
    def mean(self) -> Tensor:
        """concentration / rate."""
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        """(concentration - 1) / rate, at least 0."""
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        """concentration / rate ** 2."""
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Gamma draws of shape sample_shape + batch_shape that differentiate to concentration
        and rate."""
        shape = self._extended_shape(sample_shape)
        draws = _standard_gamma_rsample(self.concentration.expand(shape)) / self.rate.expand(shape)
        return _clamp_values(draws, finfo(draws.dtype).tiny)

    def log_prob(self, value: Tensor) -> Tensor:
        """xlogy(c, rate) + xlogy(c - 1, value) - rate value - lgamma(c), value first cast to rate's
        dtype (a number or array accepted), as PyTorch casts it."""
        value = as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return xlogy(c, r) + xlogy(c - 1, value) - r * value - lgamma(c)

    def cdf(self, value: Tensor) -> Tensor:
        """P(concentration, rate value), the regularised lower incomplete gamma function."""
        if self._validate_args:
            self._validate_sample(value)
        c, x = broadcast_all(self.concentration, value * self.rate)
        return _GammaInc.apply(c, x)

    def entropy(self) -> Tensor:
        """c - log(rate) + lgamma(c) + (1 - c) digamma(c)."""
        c = self.concentration
        return c - self.rate.log() + lgamma(c) + (1.0 - c) * digamma(c)

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        """concentration - 1, -rate."""
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        """lgamma(x + 1) + (x + 1) log(-1 / y)."""
        return lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()

    _mean_carrier_measure = 0
