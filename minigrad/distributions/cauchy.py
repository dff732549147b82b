"""The Cauchy distribution, as torch.distributions.Cauchy."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.creation import empty, full_like
from minigrad.distributions.distribution import LocScale
from minigrad.tensor import Tensor

__all__ = ["Cauchy"]


class Cauchy(LocScale):
    """The Cauchy distribution of ``loc`` (median) and ``scale`` (> 0). ``rsample`` is
    reparameterised. Its mean is NaN and its variance inf, as PyTorch's."""

    @property
    def mean(self) -> Tensor:
        """NaN (undefined)."""
        return full_like(self.loc, math.nan)

    @property
    def variance(self) -> Tensor:
        """inf."""
        return full_like(self.loc, math.inf)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """loc + eps scale with eps standard Cauchy: differentiable in loc and scale."""
        shape = self._extended_shape(sample_shape)
        eps = empty(shape, dtype=self.loc.dtype, device=self.loc.device).cauchy_()
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        """-log(pi) - log(scale) - log1p(((value - loc) / scale)^2)."""
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        """atan((value - loc) / scale) / pi + 1/2."""
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        """tan(pi (value - 1/2)) scale + loc."""
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        """log(4 pi) + log(scale)."""
        return math.log(4 * math.pi) + self.scale.log()
