"""The half-Cauchy distribution, as torch.distributions.HalfCauchy: |X| for X ~ Cauchy(0, scale)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.creation import as_tensor, full
from minigrad.distributions.cauchy import Cauchy
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.half_normal import _HalfSymmetric
from minigrad.tensor import Tensor

__all__ = ["HalfCauchy"]


class HalfCauchy(_HalfSymmetric):
    """|X| for X ~ Cauchy(0, ``scale``) (scale > 0). ``rsample`` is reparameterised; the mean
    is inf and the variance inf (the Cauchy's), as PyTorch's."""

    def __init__(self, scale: Tensor | float, validate_args: bool | None = None) -> None:
        super().__init__(Cauchy(0, scale, validate_args=False), validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """The base Cauchy expanded to batch_shape (Distribution.expand)."""
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self) -> Tensor:
        """inf."""
        return full(self._extended_shape(), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self) -> Tensor:
        """inf (the Cauchy's)."""
        return self.base_dist.variance

    def log_prob(self, value: Tensor) -> Tensor:
        """The half-symmetric density at value cast to scale's dtype, as PyTorch casts it."""
        if self._validate_args:
            self._validate_sample(value)
        return super().log_prob(as_tensor(value, dtype=self.scale.dtype, device=self.scale.device))
