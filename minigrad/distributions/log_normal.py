"""The log-normal distribution, as torch.distributions.LogNormal (written directly here, not as
a TransformedDistribution of a Normal: the same values)."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.normal import Normal
from minigrad.tensor import Size, Tensor

__all__ = ["LogNormal"]


class LogNormal(Distribution):
    """exp(X) for X ~ Normal(``loc``, ``scale``). ``rsample`` is reparameterised; ``base_dist`` is
    that Normal."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc: Tensor | float, scale: Tensor | float, validate_args: bool | None = None) -> None:
        self.base_dist = Normal(loc, scale, validate_args=validate_args)
        super().__init__(self.base_dist.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """The underlying Normal expanded to batch_shape (Distribution.expand)."""
        new = self._get_checked_instance(LogNormal, _instance)
        batch_shape = Size(batch_shape)
        new.base_dist = self.base_dist.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def loc(self) -> Tensor:
        """The normal's mean."""
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        """The normal's standard deviation."""
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        """exp(loc + scale^2 / 2)."""
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self) -> Tensor:
        """exp(loc - scale^2)."""
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self) -> Tensor:
        """expm1(scale^2) exp(2 loc + scale^2)."""
        s2 = self.scale.pow(2)
        return s2.expm1() * (2 * self.loc + s2).exp()

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """exp of normal draws, not on the tape."""
        return self.base_dist.sample(sample_shape).exp()

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """exp(loc + eps scale): differentiable in loc and scale."""
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value: Tensor) -> Tensor:
        """Normal's log-density of log(value), minus log(value)."""
        if self._validate_args:
            self._validate_sample(value)
        y = value.log()
        return self.base_dist.log_prob(y) - y

    def cdf(self, value: Tensor) -> Tensor:
        """Normal's CDF of log(value); validated there, as PyTorch's (its TransformedDistribution
        checks the base's sample, so 0 -> log 0 = -inf -> 0 is accepted)."""
        y = value.log()
        if self._validate_args:
            self.base_dist._validate_sample(y)
        return self.base_dist.cdf(y)

    def icdf(self, value: Tensor) -> Tensor:
        """exp of Normal's quantile."""
        return self.base_dist.icdf(value).exp()

    def entropy(self) -> Tensor:
        """Normal's entropy + loc."""
        return self.base_dist.entropy() + self.loc
