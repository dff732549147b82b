"""The Poisson distribution, as torch.distributions.Poisson."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.exp_family import ExponentialFamily
from minigrad.distributions.utils import _host_draws, broadcast_all
from minigrad.functional import lgamma, xlogy
from minigrad.tensor import Tensor

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    """The Poisson distribution of ``rate`` (>= 0). Samples are floats of rate's dtype (numpy's
    sampler on minigrad's seeded generator); there is no entropy, as in PyTorch."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Tensor | float, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """rate expanded to batch_shape (Distribution.expand)."""
        return self._expand_params(Poisson, batch_shape, ("rate",), _instance)

    @property
    def mean(self) -> Tensor:
        """rate."""
        return self.rate

    @property
    def mode(self) -> Tensor:
        """floor(rate)."""
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        """rate."""
        return self.rate

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Poisson draws of shape sample_shape + batch_shape, not on the tape."""
        shape = self._extended_shape(sample_shape)
        return _host_draws(self.rate, lambda rng, r: rng.poisson(r), self.rate.expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        """xlogy(value, rate) - rate - lgamma(value + 1)."""
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)

    @property
    def _natural_params(self) -> tuple[Tensor]:
        """log(rate)."""
        return (self.rate.log(),)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """e^x."""
        return x.exp()
