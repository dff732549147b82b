"""The von Mises distribution over angles, as torch.distributions.VonMises."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.autograd import no_grad
from minigrad.creation import rand, zeros
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.utils import broadcast_all
from minigrad.functional import where
from minigrad.tensor import Tensor, bool_, float64

__all__ = ["VonMises"]

# polynomial approximations of I0 and I1 (Abramowitz & Stegun 9.8.1-9.8.4), PyTorch's coefficients
_COEF_SMALL = [
    [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2],
    [0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3],
]
_COEF_LARGE = [
    [0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2, -0.2057706e-1, 0.2635537e-1,
     -0.1647633e-1, 0.392377e-2],
    [0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1, 0.2282967e-1, -0.2895312e-1,
     0.1787654e-1, -0.420059e-2],
]


def _eval_poly(y: Tensor, coef: list[float]) -> Tensor:
    """sum coef[k] y^k by Horner's rule."""
    result: Tensor | float = coef[-1]
    for c in reversed(coef[:-1]):
        result = c + y * result
    return result  # type: ignore[return-value]


def _log_modified_bessel_fn(x: Tensor, order: int = 0) -> Tensor:
    """log(I_order(x)) for x > 0 and order 0 or 1."""
    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    y = (x / 3.75) ** 2
    small = _eval_poly(y, _COEF_SMALL[order])
    if order == 1:
        small = x.abs() * small
    large = x - 0.5 * x.log() + _eval_poly(3.75 / x, _COEF_LARGE[order]).log()
    return where(x < 3.75, small.log(), large)


def _rejection_sample(loc: Tensor, concentration: Tensor, proposal_r: Tensor, shape: Sequence[int]) -> Tensor:
    """Best & Fisher's (1979) rejection sampler, in loc's dtype, mapped into [-pi, pi)."""
    x = zeros(tuple(shape), dtype=loc.dtype, device=loc.device)
    done = zeros(tuple(shape), dtype=bool_, device=loc.device)
    while not done.all().item():
        u1, u2, u3 = rand((3,) + tuple(shape), dtype=loc.dtype, device=loc.device).unbind()
        z = (math.pi * u1).cos()
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        x = where(accept & ~done, (u3 - 0.5).sign() * f.acos(), x)
        done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    """The circular von Mises distribution of ``loc`` (an angle in radians) and ``concentration``
    (> 0), broadcast together. Values may be any real, read modulo 2 pi; mean and variance are the
    circular ones. Samples by rejection (in float64, as PyTorch's); no rsample."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Tensor | float, concentration: Tensor | float, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """loc, concentration expanded to batch_shape (Distribution.expand)."""
        return self._expand_params(VonMises, batch_shape, ("loc", "concentration"), _instance)

    def log_prob(self, value: Tensor) -> Tensor:
        """concentration cos(value - loc) - log(2 pi I0(concentration))."""
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * (value - self.loc).cos()
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, order=0)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Draws of shape sample_shape + batch_shape in [-pi, pi), not on the tape (float64
        internally: the sampler can stall in float32 for concentrations near 1e-4)."""
        with no_grad():
            shape = self._extended_shape(sample_shape)
            loc = self.loc.to(float64)
            kappa = self.concentration.to(float64)
            tau = 1 + (1 + 4 * kappa**2).sqrt()
            rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
            proposal_r = where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho**2) / (2 * rho))
            return _rejection_sample(loc, kappa, proposal_r, shape).to(self.loc.dtype)

    @property
    def mean(self) -> Tensor:
        """loc (the circular mean)."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def variance(self) -> Tensor:
        """1 - I1(concentration) / I0(concentration) (the circular variance)."""
        log_ratio = _log_modified_bessel_fn(self.concentration, 1) - _log_modified_bessel_fn(self.concentration, 0)
        return 1 - log_ratio.exp()
