"""The relaxed (concrete) Bernoulli distribution, as torch.distributions.RelaxedBernoulli and
LogitRelaxedBernoulli."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.creation import rand
from minigrad.distributions import constraints
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.transformed_distribution import TransformedDistribution
from minigrad.distributions.transforms import SigmoidTransform
from minigrad.distributions.utils import BinaryParams, broadcast_all, clamp_probs
from minigrad.tensor import Size, Tensor

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]


class LogitRelaxedBernoulli(BinaryParams, Distribution):
    """The logit of a RelaxedBernoulli sample: (logit(U) + logits) / ``temperature`` for U
    uniform on (0, 1), with ``probs`` or ``logits`` (exactly one of them) the Bernoulli's.
    ``rsample`` is reparameterised (Maddison et al., 2017; Jang et al., 2017)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    # has_rsample stays False although rsample is reparameterised: PyTorch's class does not set it

    def __init__(
        self,
        temperature: Tensor,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self.temperature = temperature
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """probs, logits expanded to batch_shape, temperature shared (Distribution.expand)."""
        new = self._expand_params(LogitRelaxedBernoulli, batch_shape, ("probs", "logits"), _instance)
        new.temperature = self.temperature
        return new

    @property
    def param_shape(self) -> Size:
        """The shape of the parameter given."""
        return self._param.shape

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """(logit(U) + logit(p)) / temperature, U and p clamped away from 0 and 1:
        differentiable in probs/logits and temperature."""
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(shape))
        uniforms = clamp_probs(rand(shape, dtype=probs.dtype, device=probs.device))
        return (uniforms.log() - (-uniforms).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value: Tensor) -> Tensor:
        """log(temperature) + d - 2 log(1 + exp(d)), d = logits - temperature value."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p()


class RelaxedBernoulli(TransformedDistribution):
    """A continuous relaxation of Bernoulli(``probs`` or sigmoid(``logits``)) on (0, 1): the
    sigmoid of a LogitRelaxedBernoulli of ``temperature``. ``rsample`` is reparameterised."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(
        self,
        temperature: Tensor,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        base_dist = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base_dist, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """The base expanded to batch_shape (Distribution.expand)."""
        new = self._get_checked_instance(RelaxedBernoulli, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def temperature(self) -> Tensor:
        """The relaxation temperature."""
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        """The Bernoulli's log-odds."""
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        """The Bernoulli's probability of 1."""
        return self.base_dist.probs
