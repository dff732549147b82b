"""The gamma distribution, as torch.distributions.Gamma."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.utils import _host_draws, broadcast_all
from minigrad.functional import digamma, lgamma, xlogy
from minigrad.tensor import Tensor, finfo

__all__ = ["Gamma"]


def _standard_gamma(concentration: Tensor) -> Tensor:
    """Gamma(concentration, 1) draws of concentration's shape (numpy's sampler, minigrad's seeded
    generator), at least the dtype's smallest normal number, as PyTorch clamps them."""
    draws = _host_draws(concentration, lambda rng, c: rng.standard_gamma(c), concentration)
    return draws.clamp(min=finfo(draws.dtype).tiny)


class Gamma(Distribution):
    """The gamma distribution of shape ``concentration`` and ``rate`` (both > 0, broadcast
    together). Samples come from numpy's gamma sampler; ``rsample`` is not implemented (PyTorch's
    needs implicit reparameterisation gradients), so has_rsample is False here."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = False

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

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Gamma draws of shape sample_shape + batch_shape, not on the tape."""
        shape = self._extended_shape(sample_shape)
        draws = _standard_gamma(self.concentration.expand(shape).detach()) / self.rate.expand(shape).detach()
        return draws.clamp(min=finfo(draws.dtype).tiny)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Not implemented: the implicit reparameterisation gradient of gamma draws is not in minigrad."""
        raise NotImplementedError(
            f"{type(self).__name__}.rsample is not implemented in minigrad (it needs implicit "
            "reparameterisation gradients); use sample() with a score-function estimator instead"
        )

    def log_prob(self, value: Tensor) -> Tensor:
        """xlogy(c, rate) + xlogy(c - 1, value) - rate value - lgamma(c)."""
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return xlogy(c, r) + xlogy(c - 1, value) - r * value - lgamma(c)

    def entropy(self) -> Tensor:
        """c - log(rate) + lgamma(c) + (1 - c) digamma(c)."""
        c = self.concentration
        return c - self.rate.log() + lgamma(c) + (1.0 - c) * digamma(c)
