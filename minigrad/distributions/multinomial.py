"""The multinomial distribution over category counts, as torch.distributions.Multinomial."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.creation import tensor
from minigrad.distributions import constraints
from minigrad.distributions.binomial import Binomial
from minigrad.distributions.categorical import Categorical
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.utils import broadcast_all
from minigrad.functional import lgamma, one_hot, where
from minigrad.tensor import Size, Tensor

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """The counts of ``total_count`` (a Python int, the same for the whole batch) draws from the
    K categories of the last dim of ``probs`` or ``logits`` (exactly one of them, normalised as
    Categorical's). Samples are float count vectors in the parameter's dtype; ``log_prob`` takes
    any count vector (its own total), as PyTorch's."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(
        self,
        total_count: int = 1,
        probs: Tensor | None = None,
        logits: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """The underlying Categorical expanded to batch_shape (Distribution.expand)."""
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = Size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        """Non-negative count vectors summing to at most total_count (PyTorch's check)."""
        return constraints.multinomial(self.total_count)

    @property
    def logits(self) -> Tensor:
        """Normalised log-probabilities."""
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        """Normalised probabilities."""
        return self._categorical.probs

    @property
    def param_shape(self) -> Size:
        """The shape of the parameter given (batch_shape + (K,))."""
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        """total_count probs."""
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        """total_count probs (1 - probs)."""
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Count vectors of shape sample_shape + batch_shape + (K,): total_count category draws,
        one-hot encoded and summed; not on the tape."""
        draws = self._categorical.sample((self.total_count,) + tuple(sample_shape))
        counts = one_hot(draws, self._categorical._num_events).sum(0)
        return counts.to(self.probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        """log(n! / prod x_i!) + sum x_i log p_i, n = sum x_i (0 log 0 counts as 0)."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = lgamma(value.sum(-1) + 1)
        log_factorial_xs = lgamma(value + 1).sum(-1)
        logits = where((value == 0) & (logits == -math.inf), 0.0, logits)  # 0 * -inf is 0 here, not NaN
        log_powers = (logits * value).sum(-1)
        return log_factorial_n - log_factorial_xs + log_powers

    def entropy(self) -> Tensor:
        """n H(categorical) - log n! + sum_i E[log x_i!], the last from each category's binomial
        count distribution."""
        n = tensor(float(self.total_count), dtype=self.probs.dtype, device=self.probs.device)
        term1 = n * self._categorical.entropy() - lgamma(n + 1)
        binomial = Binomial(total_count=self.total_count, probs=self.probs)
        support = binomial.enumerate_support(expand=False)[1:]
        binomial_probs = binomial.log_prob(support).exp()
        weights = lgamma(support + 1)
        term2 = (binomial_probs * weights).sum((0, -1))
        return term1 + term2
