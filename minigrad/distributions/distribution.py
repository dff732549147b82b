"""Distribution, the base class of the distributions, as torch.distributions.Distribution."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from minigrad.autograd import no_grad
from minigrad.distributions import constraints
from minigrad.distributions.utils import broadcast_all, lazy_property
from minigrad.functional import exp
from minigrad.tensor import Size, Tensor

__all__ = ["Distribution"]


class Distribution:
    """A probability distribution over events of ``event_shape``, batched over ``batch_shape``.

    ``validate_args`` (default: on, as PyTorch's unless Python runs with -O; see
    ``set_default_validate_args``) checks the parameters against ``arg_constraints`` when the
    distribution is made, and the values given to ``log_prob``/``cdf`` against ``support`` and the
    shapes; a failed check raises ValueError.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for distributions made without ``validate_args``."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(
        self,
        batch_shape: Sequence[int] = (),
        event_shape: Sequence[int] = (),
        validate_args: bool | None = None,
    ) -> None:
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(
                    f"{self.__class__} does not define `arg_constraints`. Please set `arg_constraints = {{}}` "
                    "or initialize the distribution with `validate_args=False` to turn off validation.",
                    stacklevel=2,
                )
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue  # nothing to check on its own
                if param not in self.__dict__ and isinstance(getattr(type(self), param), lazy_property):
                    continue  # the one of probs/logits not given: made from the other, so valid
                value = getattr(self, param)
                if not constraint.check(value).all().item():
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                        f"but found invalid values:\n{value}"
                    )

    @property
    def batch_shape(self) -> Size:
        """The shape over which the parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        """The shape of one sample, without batching."""
        return self._event_shape

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        """The constraint each tensor parameter must satisfy, by name."""
        raise NotImplementedError

    @property
    def support(self) -> constraints.Constraint:
        """The constraint samples satisfy."""
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        """The mean, of shape batch_shape + event_shape."""
        raise NotImplementedError

    @property
    def mode(self) -> Tensor:
        """The mode, of shape batch_shape + event_shape."""
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        """The variance, of shape batch_shape + event_shape."""
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        """The standard deviation: the square root of the variance."""
        return self.variance.sqrt()

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """A new distribution of the same family with batch dims expanded to batch_shape (event
        shape unchanged): its parameters are Tensor.expand views of these (no copy, gradients flow
        back to them), its validate_args these's, and no argument checks are repeated.
        RuntimeError where batch_shape does not broadcast from this batch shape (Tensor.expand's);
        _instance: the new, not yet initialised, instance a subclass's expand fills."""
        raise NotImplementedError

    def _get_checked_instance(self, cls: type, _instance: Distribution | None = None) -> Any:
        """_instance, or a new uninitialised instance of type(self) for cls.expand to fill;
        NotImplementedError for a subclass of cls with its own __init__ but no expand of its own."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom __init__ method "
                "must also define a custom .expand() method."
            )
        return self.__new__(type(self)) if _instance is None else _instance

    def _expand_params(self, cls: type, batch_shape: Sequence[int], names: Sequence[str],
                       _instance: Distribution | None = None) -> Any:
        """expand for a family whose parameters (names) are all of shape batch_shape: each
        Tensor.expand'ed (those in this instance's __dict__ only, so a lazy probs/logits stays
        lazy), the batch shape set, validate_args carried."""
        new = self._get_checked_instance(cls, _instance)
        batch_shape = Size(batch_shape)
        for name in names:
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape))
        if "_param" in self.__dict__:
            new._param = new.__dict__["probs" if "probs" in self.__dict__ else "logits"]
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """A sample of shape sample_shape + batch_shape + event_shape, not on the autograd tape,
        drawn from minigrad's seeded generator (so ``minigrad.manual_seed`` repeats it)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """A reparameterised sample: a differentiable function of the parameters and of noise
        drawn from minigrad's seeded generator, so gradients flow back to the parameters."""
        raise NotImplementedError

    def log_prob(self, value: Tensor) -> Tensor:
        """The log of the probability density or mass function at value."""
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        """The cumulative distribution function at value."""
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        """The inverse cumulative distribution function at value."""
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every value of a discrete distribution's support along dim 0, of shape
        (cardinality,) + batch_shape + event_shape (batch dims of size 1 unless expand)."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """The entropy, of shape batch_shape."""
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        """exp(entropy), of shape batch_shape."""
        return exp(self.entropy())

    def _extended_shape(self, sample_shape: Sequence[int] = ()) -> Size:
        """sample_shape + batch_shape + event_shape: the shape of a sample of sample_shape."""
        return Size(tuple(Size(sample_shape)) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value: Any) -> None:
        """ValueError unless value is a tensor whose rightmost dims match event_shape, that
        broadcasts with batch_shape + event_shape, and whose entries lie in the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_dim_start:]) != tuple(self._event_shape):
            raise ValueError(
                f"The right-most size of value must match event_shape: {value.shape} vs {self._event_shape}."
            )
        actual_shape = value.shape
        expected_shape = Size(tuple(self._batch_shape) + tuple(self._event_shape))
        for i, j in zip(reversed(actual_shape), reversed(expected_shape), strict=False):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    f"Value is not broadcastable with batch_shape+event_shape: {actual_shape} vs {expected_shape}."
                )
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(
                f"{self.__class__} does not define `support` to enable sample validation. Please initialize "
                "the distribution with `validate_args=False` to turn off validation.",
                stacklevel=2,
            )
            return
        if not support.check(value).all().item():
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({support!r}) of the distribution {self!r}, "
                f"but found invalid values:\n{value}"
            )

    def __repr__(self) -> str:
        params = {k: self.__dict__[k] for k in self.arg_constraints if k in self.__dict__}
        # a one-element parameter shows its value, others their size (as PyTorch's)
        shown = (f"{k}: {v}" if v.numel() == 1 else f"{k}: {v.size()!r}" for k, v in params.items())
        return f"{self.__class__.__name__}({', '.join(shown)})"


class LocScale(Distribution):
    """What Normal, Laplace and Cauchy share: ``loc`` (real) and ``scale`` (> 0), tensors or numbers
    broadcast together, a real support, a reparameterised ``rsample`` and loc as the mode."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Tensor | float, scale: Tensor | float, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    def expand(self, batch_shape: Sequence[int], _instance: Distribution | None = None) -> Distribution:
        """loc and scale expanded to batch_shape (Distribution.expand)."""
        return self._expand_params(LocScale, batch_shape, ("loc", "scale"), _instance)
