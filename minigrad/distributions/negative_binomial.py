"""The negative binomial distribution, as torch.distributions.NegativeBinomial."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.autograd import no_grad
from minigrad.creation import poisson
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.gamma import Gamma
from minigrad.distributions.utils import BinaryParams, broadcast_all
from minigrad.functional import lgamma, sigmoid
from minigrad.functional.activation import logsigmoid
from minigrad.tensor import Size, Tensor

__all__ = ["NegativeBinomial"]


class NegativeBinomial(BinaryParams, Distribution):
    """The number of successes before ``total_count`` (>= 0, real) failures in Bernoulli trials
    of success probability ``probs`` (in [0, 1)) or sigmoid(``logits``) (exactly one of them).
    Samples (Poisson draws of Gamma-distributed rates) are floats of the parameter's dtype."""

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(
        self,
        total_count: Tensor | float,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self._param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self._param = self.logits
        self.total_count = self.total_count.to(self._param.dtype)
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """total_count, probs, logits expanded to batch_shape (Distribution.expand)."""
        return self._expand_params(NegativeBinomial, batch_shape, ("total_count", "probs", "logits"), _instance)

    @property
    def param_shape(self) -> Size:
        """The shape of the parameter given."""
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        """total_count p / (1 - p) = total_count exp(logits)."""
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        """floor((total_count - 1) p / (1 - p)), at least 0."""
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        """mean / (1 - p)."""
        return self.mean / sigmoid(-self.logits)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Poisson draws of Gamma(total_count, exp(-logits)) rates, of shape sample_shape +
        batch_shape, not on the tape."""
        with no_grad():
            gamma = Gamma(concentration=self.total_count, rate=(-self.logits).exp(), validate_args=False)
            return poisson(gamma.sample(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        """total_count log(1 - p) + value log p + log C(total_count + value - 1, value)
        (0 where total_count + value is 0)."""
        if self._validate_args:
            self._validate_sample(value)
        log_unnormalized_prob = self.total_count * logsigmoid(-self.logits) + value * logsigmoid(self.logits)
        log_normalization = -lgamma(self.total_count + value) + lgamma(1.0 + value) + lgamma(self.total_count)
        log_normalization = log_normalization.masked_fill(self.total_count + value == 0.0, 0.0)
        return log_unnormalized_prob - log_normalization
