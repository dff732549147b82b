"""Helpers the distributions share, as torch.distributions.utils: parameters broadcast together,
probabilities <-> logits, and lazily computed attributes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minigrad.autograd import enable_grad, no_grad
from minigrad.creation import tensor
from minigrad.functional import broadcast_tensors, log, log1p, sigmoid, softmax
from minigrad.tensor import Tensor, finfo, float64, get_default_dtype

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits"]


def _host_draws(like: Tensor, draw: Callable[[Any, Any], Any], *params: Tensor) -> Tensor:
    """draw(rng, *parameters as float64 arrays) from minigrad's seeded generator, as a tensor of
    like's dtype and device, off the tape (numpy's samplers: gamma, poisson, binomial)."""
    from minigrad import random as _random

    with no_grad():
        arrays = [p.detach().to(float64).numpy() for p in params]
        values = draw(_random.generator(), *arrays)
    return tensor(values, dtype=like.dtype, device=like.device)


def broadcast_all(*values: Tensor | float) -> tuple[Tensor, ...]:
    """The values as tensors broadcast to one shape: Python numbers become tensors with the dtype
    and device of the first tensor among values (the default dtype when there is none)."""
    if not all(isinstance(v, (Tensor, int, float)) for v in values):
        raise ValueError("Input arguments must all be instances of Number or minigrad.Tensor.")
    like = next((v for v in values if isinstance(v, Tensor)), None)
    if like is None:
        tensors = [tensor(v, dtype=get_default_dtype()) for v in values]
    else:
        tensors = [v if isinstance(v, Tensor) else tensor(v, dtype=like.dtype, device=like.device) for v in values]
    return broadcast_tensors(*tensors)


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """value summed over its dim rightmost dimensions (value itself for dim 0)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from logits: sigmoid of log-odds when is_binary, else softmax over the last dim."""
    return sigmoid(logits) if is_binary else softmax(logits, dim=-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """probs clamped into [eps, 1 - eps] (eps of their dtype), so their logs are finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Logits from probabilities: log-odds when is_binary, else log-probabilities (of clamped probs)."""
    clamped = clamp_probs(probs)
    return log(clamped) - log1p(-clamped) if is_binary else log(clamped)


class lazy_property:  # noqa: N801 (PyTorch's name)
    """An attribute computed on first access and then stored on the instance (Categorical's probs
    from its logits and the reverse). Computed with recording on, as PyTorch's, so gradients reach
    the parameter whichever of the two was given."""

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class BinaryParams:
    """logits and probs of a distribution over successes given either (Bernoulli, Binomial,
    Geometric): each computed from the other on first access."""

    @lazy_property
    def logits(self) -> Any:
        """Log-odds log(p / (1 - p)) (of probs clamped away from 0 and 1)."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Any:
        """sigmoid(logits)."""
        return logits_to_probs(self.logits, is_binary=True)
