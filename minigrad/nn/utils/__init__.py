"""torch.nn.utils's gradient clipping and parameter/vector conversions; nn.utils.rnn.pad_sequence."""

from __future__ import annotations

import math
from collections.abc import Iterable

from minigrad.autograd import no_grad
from minigrad.nn.utils import rnn  # torch.nn.utils.rnn
from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "rnn", "vector_to_parameters"]


def _params(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients in place so that their joint norm (all gradients as one vector) is at most
    max_norm; returns that norm before clipping. foreach is accepted for PyTorch compatibility."""
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    if not grads:
        return Tensor._wrap(0.0)
    norm_type = float(norm_type)
    with no_grad():
        norms = [g.norm(norm_type) for g in grads]
        if norm_type == math.inf:
            total = norms[0] if len(norms) == 1 else Tensor._wrap(max(n.item() for n in norms))
        else:
            total = sum((n.to(norms[0].device) ** norm_type for n in norms), Tensor._wrap(0.0, device=grads[0].device))
            total = total ** (1.0 / norm_type)
        value = total.item()
        if error_if_nonfinite and not math.isfinite(value):
            raise RuntimeError(
                f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite ({value}), "
                "so it cannot be clipped; set error_if_nonfinite=False to clip anyway"
            )
        scale = max_norm / (value + 1e-6)
        if scale < 1.0:
            for g in grads:
                g.mul_(scale)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    with no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and joined into one 1-D tensor (differentiable)."""
    params = _params(parameters)
    if not params:
        raise ValueError("parameters_to_vector: no parameters")
    from minigrad.functional import cat

    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D vec into the parameters, in place."""
    params = _params(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector of {total} elements, got shape {vec.shape}")
    start = 0
    with no_grad():
        for p in params:
            p.copy_(vec[start : start + p.numel()].reshape(p.shape))
            start += p.numel()
