"""The geometric distribution (failures before the first success), as torch.distributions.Geometric."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.creation import empty, zeros_like
from minigrad.distributions import constraints
from minigrad.distributions.bernoulli import _bce_with_logits
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.utils import BinaryParams, broadcast_all
from minigrad.functional import where
from minigrad.tensor import Tensor, finfo

__all__ = ["Geometric"]


class Geometric(BinaryParams, Distribution):
    """The number of failures before the first success of Bernoulli(``probs``) trials (or
    sigmoid(``logits``); exactly one of them). probs must lie in (0, 1]."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(
        self, probs: Tensor | float | None = None, logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        param = self.probs if probs is not None else self.logits
        super().__init__(param.shape, validate_args=validate_args)
        if self._validate_args and probs is not None and not bool((self.probs > 0).all().item()):
            raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                             f"{tuple(self.probs.shape)}) of distribution {self!r} to be positive but found "
                             f"invalid values:\n{self.probs}")

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """probs, logits expanded to batch_shape (Distribution.expand)."""
        return self._expand_params(Geometric, batch_shape, ("probs", "logits"), _instance)

    @property
    def mean(self) -> Tensor:
        """1 / probs - 1."""
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        """0."""
        return zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        """(1 / probs - 1) / probs."""
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """floor(log(u) / log1p(-probs)), u uniform on (tiny, 1), not on the tape."""
        shape = self._extended_shape(sample_shape)
        probs = self.probs.detach()
        u = empty(shape, dtype=probs.dtype, device=probs.device).uniform_(finfo(probs.dtype).tiny, 1)
        return (u.log() / (-probs).log1p()).floor()

    def log_prob(self, value: Tensor) -> Tensor:
        """value log1p(-probs) + log(probs) (0 log 0 = 0 where probs is 1)."""
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        probs = where((probs == 1) & (value == 0), 0.0, probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        """BCE(logits, probs) / probs."""
        return _bce_with_logits(self.logits, self.probs) / self.probs
