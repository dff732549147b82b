"""ExponentialFamily, the base class of exponential-family distributions, as
torch.distributions.ExponentialFamily."""

from __future__ import annotations

from typing import Any

from minigrad.autograd import grad
from minigrad.distributions.distribution import Distribution
from minigrad.tensor import Tensor

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """A distribution with density exp(<t(x), theta> - F(theta) + k(x)): natural parameters theta
    (``_natural_params``), log normalizer F (``_log_normalizer``) and carrier measure k, whose
    expectation is ``_mean_carrier_measure``. ``entropy`` (and the KL between two members of one
    family, in kl.py) follow from these by differentiating F (Nielsen and Nock's Bregman
    divergence form), with gradients kept on the tape so the result is differentiable again."""

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        """The natural parameters theta."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        """F(theta), of shape batch_shape."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> Any:
        """E[k(x)]."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """F(theta) - <theta, grad F(theta)> - E[k(x)]."""
        result: Any = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for nparam, g in zip(nparams, gradients, strict=True):
            result = result - (nparam * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
