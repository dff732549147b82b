"""Student's t distribution, as torch.distributions.StudentT."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.creation import full_like, randn
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.gamma import _standard_gamma_rsample
from minigrad.distributions.utils import broadcast_all
from minigrad.functional import digamma, lgamma, where
from minigrad.tensor import Tensor

__all__ = ["StudentT"]


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom (> 0), ``loc`` and ``scale`` (> 0). Samples are
    normal / sqrt(chi2 / df) draws, differentiable to all three with ``rsample``."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Tensor | float, loc: Tensor | float = 0.0, scale: Tensor | float = 1.0,
                 validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """df, loc, scale expanded to batch_shape (Distribution.expand)."""
        return self._expand_params(StudentT, batch_shape, ("df", "loc", "scale"), _instance)

    @property
    def mean(self) -> Tensor:
        """loc where df > 1, NaN elsewhere."""
        return where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def variance(self) -> Tensor:
        """scale^2 df / (df - 2) for df > 2, inf for 1 < df <= 2, NaN for df <= 1."""
        m = where(self.df > 2, self.df, 3.0)
        v = self.scale.pow(2) * m / (m - 2)
        v = where((self.df <= 2) & (self.df > 1), math.inf, v)
        return where(self.df <= 1, full_like(v, math.nan), v)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """loc + scale Z / sqrt(chi2 / df), differentiable to df through the chi-squared draw."""
        shape = self._extended_shape(sample_shape)
        df = self.df.expand(shape)
        chi2 = 2 * _standard_gamma_rsample(0.5 * df)
        z = randn(shape, dtype=df.dtype, device=df.device)
        return self.loc + self.scale * z * (df / chi2).sqrt()

    def log_prob(self, value: Tensor) -> Tensor:
        """-(df + 1)/2 log1p(y^2 / df) - log(scale) - log(df)/2 - log(pi)/2 - lgamma(df/2) + lgamma((df+1)/2)."""
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
             + lgamma(0.5 * self.df) - lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * (y.pow(2) / self.df).log1p() - z

    def entropy(self) -> Tensor:
        """log(scale) + (df+1)/2 (digamma((df+1)/2) - digamma(df/2)) + log(df)/2 + log B(df/2, 1/2)."""
        lbeta = lgamma(0.5 * self.df) + math.lgamma(0.5) - lgamma(0.5 * (self.df + 1))
        return (self.scale.log() + 0.5 * (self.df + 1) * (digamma(0.5 * (self.df + 1)) - digamma(0.5 * self.df))
                + 0.5 * self.df.log() + lbeta)
