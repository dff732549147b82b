"""The two-parameter Weibull distribution, as torch.distributions.Weibull."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.creation import ones_like
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.exponential import Exponential
from minigrad.distributions.gumbel import EULER_GAMMA
from minigrad.distributions.transformed_distribution import TransformedDistribution
from minigrad.distributions.transforms import AffineTransform, PowerTransform, Transform
from minigrad.distributions.utils import broadcast_all
from minigrad.functional import lgamma
from minigrad.tensor import Size, Tensor

__all__ = ["Weibull"]


class Weibull(TransformedDistribution):
    """The Weibull distribution of ``scale`` (lambda > 0) and ``concentration`` (k > 0): scale
    E^(1/k) for E standard exponential, as PyTorch builds it, so ``rsample`` is reparameterised
    and cdf/icdf come from the Exponential."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(
        self, scale: Tensor | float, concentration: Tensor | float, validate_args: bool | None = None
    ) -> None:
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base_dist = Exponential(ones_like(self.scale), validate_args=validate_args)
        super().__init__(base_dist, self._transforms(), validate_args=validate_args)

    def _transforms(self) -> list[Transform]:
        """x -> scale x^(1/k): the map from the standard exponential."""
        return [PowerTransform(exponent=self.concentration_reciprocal), AffineTransform(loc=0, scale=self.scale)]

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """scale, concentration and the base expanded to batch_shape, the transforms rebuilt from
        them (Distribution.expand)."""
        new = self._get_checked_instance(Weibull, _instance)
        batch_shape = Size(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.concentration_reciprocal = new.concentration.reciprocal()
        base_dist = self.base_dist.expand(batch_shape)
        TransformedDistribution.__init__(new, base_dist, new._transforms(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        """scale Gamma(1 + 1/k)."""
        return self.scale * lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self) -> Tensor:
        """scale ((k - 1) / k)^(1/k) (NaN for k < 1, as PyTorch's)."""
        return self.scale * ((self.concentration - 1) / self.concentration) ** self.concentration.reciprocal()

    @property
    def variance(self) -> Tensor:
        """scale^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2)."""
        return self.scale.pow(2) * (
            lgamma(1 + 2 * self.concentration_reciprocal).exp()
            - (2 * lgamma(1 + self.concentration_reciprocal)).exp()
        )

    def entropy(self) -> Tensor:
        """Euler's constant (1 - 1/k) + log(scale / k) + 1."""
        return (
            EULER_GAMMA * (1 - self.concentration_reciprocal)
            + (self.scale * self.concentration_reciprocal).log()
            + 1
        )
