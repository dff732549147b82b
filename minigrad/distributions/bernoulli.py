"""The Bernoulli distribution over {0, 1}, as torch.distributions.Bernoulli."""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad.autograd import no_grad
from minigrad.creation import arange, bernoulli
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.exp_family import ExponentialFamily
from minigrad.distributions.utils import BinaryParams, broadcast_all
from minigrad.functional import logit, softplus
from minigrad.tensor import Size, Tensor

__all__ = ["Bernoulli"]


def _bce_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    """Elementwise binary cross-entropy of sigmoid(logits) against target, stable for any logits.
    Composed here, not minigrad's binary_cross_entropy_with_logits, because entropy() needs the
    gradient with respect to target (there the probabilities), which that op does not give."""
    return (1 - target) * logits + softplus(-logits)


class Bernoulli(BinaryParams, ExponentialFamily):
    """1 with probability ``probs`` (or sigmoid(``logits``): exactly one of them, a tensor or a
    number), else 0. Samples are floats of the parameter's dtype."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(
        self,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """probs, logits expanded to batch_shape (Distribution.expand)."""
        return self._expand_params(Bernoulli, batch_shape, ("probs", "logits"), _instance)

    @property
    def mean(self) -> Tensor:
        """probs."""
        return self.probs

    @property
    def mode(self) -> Tensor:
        """1 where probs > 1/2, 0 where below, NaN at exactly 1/2."""
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return mode.masked_fill(self.probs == 0.5, math.nan)

    @property
    def variance(self) -> Tensor:
        """probs (1 - probs)."""
        return self.probs * (1 - self.probs)

    @property
    def param_shape(self) -> Size:
        """The shape of the parameter given."""
        return self._param.shape

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """0./1. draws of shape sample_shape + batch_shape (minigrad.bernoulli), not on the tape."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return bernoulli(self.probs.expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        """value log p + (1 - value) log(1 - p), computed from the logits without overflow."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_with_logits(logits, value)

    def entropy(self) -> Tensor:
        """-(p log p + (1 - p) log(1 - p))."""
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0. and 1. along dim 0, of shape (2,) + batch_shape (batch dims of size 1 unless expand)."""
        values = arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values

    @property
    def _natural_params(self) -> tuple[Tensor]:
        """logit(probs)."""
        return (logit(self.probs),)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """log(1 + e^x)."""
        return x.exp().log1p()

    _mean_carrier_measure = 0
