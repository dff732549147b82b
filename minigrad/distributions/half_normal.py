"""The half-normal distribution, as torch.distributions.HalfNormal: |X| for X ~ Normal(0, scale)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.creation import zeros_like
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.normal import Normal
from minigrad.distributions.transformed_distribution import TransformedDistribution
from minigrad.distributions.transforms import AbsTransform
from minigrad.functional import where
from minigrad.tensor import Tensor

__all__ = ["HalfNormal"]


class _HalfSymmetric(TransformedDistribution):
    """|X| for X of a family symmetric about 0 with a ``scale``: what HalfNormal and HalfCauchy
    share (the density doubled on [0, inf), the CDF and quantile folded, the entropy less log 2)."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, base_dist: Distribution, validate_args: bool | None = None) -> None:
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self) -> Tensor:
        """The scale of the full distribution."""
        return self.base_dist.scale

    @property
    def mode(self) -> Tensor:
        """0."""
        return zeros_like(self.scale)

    def log_prob(self, value: Tensor) -> Tensor:
        """The full density at value plus log 2 on [0, inf), -inf below."""
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return where(value >= 0, log_prob, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        """2 F(value) - 1, F the full CDF."""
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, value: Tensor) -> Tensor:
        """The full quantile at (value + 1) / 2."""
        return self.base_dist.icdf((value + 1) / 2)

    def entropy(self) -> Tensor:
        """The full entropy less log 2."""
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(_HalfSymmetric):
    """|X| for X ~ Normal(0, ``scale``) (scale > 0). ``rsample`` is reparameterised."""

    def __init__(self, scale: Tensor | float, validate_args: bool | None = None) -> None:
        super().__init__(Normal(0, scale, validate_args=False), validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """The base Normal expanded to batch_shape (Distribution.expand)."""
        new = self._get_checked_instance(HalfNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self) -> Tensor:
        """scale sqrt(2 / pi)."""
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        """scale^2 (1 - 2 / pi)."""
        return self.scale.pow(2) * (1 - 2 / math.pi)
