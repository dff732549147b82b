"""The Dirichlet distribution over the simplex, as torch.distributions.Dirichlet."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.creation import arange
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.exp_family import ExponentialFamily
from minigrad.distributions.gamma import _clamp_values, _standard_gamma_rsample
from minigrad.functional import digamma, lgamma, where, xlogy
from minigrad.tensor import Size, Tensor, finfo

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """The Dirichlet distribution of ``concentration`` (> 0, at least 1-D: its last dim is the
    event). Samples are normalised gamma draws, differentiable with ``rsample``."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if not isinstance(concentration, Tensor) or concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """concentration expanded to batch_shape + event_shape (Distribution.expand)."""
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self._event_shape))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        """concentration / concentration.sum(-1)."""
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """(c - 1)+ normalised; where every c < 1 (the density is unbounded at every vertex), the
        first vertex (1, 0, ..., 0), as PyTorch's (its argmax of the 0 / 0 there)."""
        cm1 = (self.concentration - 1).clamp(min=0.0)
        mode = cm1 / cm1.sum(-1, keepdim=True)
        below = (self.concentration < 1).all(-1, keepdim=True)
        first = arange(self.concentration.shape[-1], device=mode.device) == 0
        return where(below, first.to(mode.dtype), mode)

    @property
    def variance(self) -> Tensor:
        """c (c0 - c) / (c0^2 (c0 + 1)) with c0 the sum of c."""
        c0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (c0 - self.concentration) / (c0.pow(2) * (c0 + 1))

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Normalised gamma draws of shape sample_shape + batch_shape + event_shape that
        differentiate to the concentration (through each gamma draw's implicit
        reparameterisation gradient; PyTorch's differentiates the same draw through the
        marginal beta's CDF, another unbiased estimator of the same gradient)."""
        shape = self._extended_shape(sample_shape)
        gammas = _standard_gamma_rsample(self.concentration.expand(shape))
        x = gammas / gammas.sum(-1, keepdim=True)
        return _clamp_values(x, finfo(x.dtype).tiny, 1 - finfo(x.dtype).eps)

    def log_prob(self, value: Tensor) -> Tensor:
        """sum xlogy(c - 1, value) + lgamma(sum c) - sum lgamma(c)."""
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return xlogy(c - 1.0, value).sum(-1) + lgamma(c.sum(-1)) - lgamma(c).sum(-1)

    def entropy(self) -> Tensor:
        """sum lgamma(c) - lgamma(c0) - (k - c0) digamma(c0) - sum (c - 1) digamma(c)."""
        c = self.concentration
        k = c.shape[-1]
        c0 = c.sum(-1)
        return lgamma(c).sum(-1) - lgamma(c0) - (k - c0) * digamma(c0) - ((c - 1.0) * digamma(c)).sum(-1)

    @property
    def _natural_params(self) -> tuple[Tensor]:
        """concentration."""
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """sum lgamma(x) - lgamma(sum x)."""
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))
