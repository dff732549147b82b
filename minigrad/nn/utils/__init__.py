"""torch.nn.utils's gradient clipping (and get_total_norm, the norm it clips by), parameter/vector
conversions, weight_norm and spectral_norm (the original hook-based forms); nn.utils.rnn (padding
and PackedSequence); nn.utils.parametrize and nn.utils.parametrizations (weight_norm and
spectral_norm as parametrizations); nn.utils.prune (pruning by masks)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

from minigrad.autograd import no_grad
from minigrad.functional import stack
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.nn.utils import rnn  # torch.nn.utils.rnn
from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "parametrizations", "parametrize", "prune", "remove_spectral_norm",
           "remove_weight_norm", "rnn", "spectral_norm", "vector_to_parameters", "weight_norm"]


def _params(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The norm_type norm of all the tensors taken as one vector (the norm of their norms), as
    torch.nn.utils.get_total_norm: 0 for none; RuntimeError when error_if_nonfinite and it is
    inf or NaN. foreach is accepted for PyTorch compatibility."""
    tensors = _params(tensors)
    if not tensors:
        return Tensor._wrap(0.0)
    norm_type = float(norm_type)
    with no_grad():
        norms = [t.norm(norm_type) for t in tensors]
        if math.isinf(norm_type):  # the max (min) of the norms, in their dtype, NaN kept: PyTorch's norm of their stack
            total = stack([n.to(norms[0].device) for n in norms]).norm(norm_type)
        else:
            zero = Tensor._wrap(0.0, device=tensors[0].device)
            total = sum((n.to(norms[0].device) ** norm_type for n in norms), zero)
            total = total ** (1.0 / norm_type)
    value = total.item()
    if error_if_nonfinite and not math.isfinite(value):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return total


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor, foreach: bool | None = None
) -> None:
    """Multiply the gradients in place by min(max_norm / (total_norm + 1e-6), 1), as
    torch.nn.utils.clip_grads_with_norm_ (a NaN total norm makes them NaN, as there). foreach is
    accepted for PyTorch compatibility."""
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.device))


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients in place so that their joint norm (all gradients as one vector) is at most
    max_norm; returns that norm before clipping: get_total_norm of the gradients, then
    clip_grads_with_norm_. foreach is accepted for PyTorch compatibility."""
    params = _params(parameters)
    total = get_total_norm([p.grad for p in params if p.grad is not None], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """clip_grad_norm_, under its deprecated name (FutureWarning, as PyTorch's)."""
    warnings.warn("`minigrad.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`minigrad.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


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
    """Consecutive slices of the 1-D vec as the parameters' data, as PyTorch's (``p.data = ...``:
    the parameters then share vec's memory, and their version counters do not move, so a graph
    that saved them still runs backward)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = _params(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector of {total} elements, got shape {vec.shape}")
    start = 0
    for p in params:
        p.data = vec[start : start + p.numel()].view_as(p).data
        start += p.numel()


def _norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    """The 2-norm of v over every dimension but dim, kept as size-1 dimensions (over all of v,
    a 0-d tensor, when dim is None), as PyTorch's norm_except_dim."""
    if dim is None:
        return v.norm()
    return v.norm(2, tuple(d for d in range(v.ndim) if d != dim), keepdim=True)


def _weight_norm_dim(dim: int | None, ndim: int) -> int | None:
    """weight_norm's dim as PyTorch reads it: None or -1 (PyTorch's quirk) is the whole tensor
    (None), another negative dim counts from the end."""
    if dim is None or dim == -1:
        return None
    return dim + ndim if dim < 0 else dim


def _weight_norm(g: Tensor, v: Tensor, dim: int | None) -> Tensor:
    """g * v / ||v||, the norm over every dimension but dim (over all of v when dim is None)."""
    return v * (g / _norm_except_dim(v, dim))


class _WeightNorm:
    """The forward pre-hook that recomputes module.<name> = g * v / ||v|| before each call."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name, self.dim = name, dim

    def compute(self, module: Module) -> Tensor:
        return _weight_norm(getattr(module, self.name + "_g"), getattr(module, self.name + "_v"), self.dim)

    def __call__(self, module: Module, args: tuple) -> None:
        setattr(module, self.name, self.compute(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrise module.<name> as g * v / ||v|| (the norm over every dimension but dim; dim
    None or -1: over the whole tensor), as torch.nn.utils.weight_norm: parameters <name>_g and <name>_v
    replace <name>, which is recomputed before each forward. Returns the module. Deprecated, with
    PyTorch's FutureWarning, in favour of nn.utils.parametrizations.weight_norm."""
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    if any(isinstance(hook, _WeightNorm) and hook.name == name for hook in module._forward_pre_hooks.values()):
        raise RuntimeError(f"weight_norm: cannot register two weight_norm hooks on the same parameter {name!r}")
    weight = getattr(module, name, None)
    if not isinstance(weight, Parameter):
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    dim = _weight_norm_dim(dim, weight.ndim)
    hook = _WeightNorm(name, dim)
    del module._parameters[name]
    with no_grad():
        module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, dim)))
        module.register_parameter(name + "_v", Parameter(weight.detach().clone()))
    setattr(module, name, hook.compute(module))
    module.register_forward_pre_hook(hook)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo weight_norm: <name> is a parameter again, holding g * v / ||v||. Returns the module."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, _WeightNorm) and hook.name == name:
            with no_grad():
                weight = hook.compute(module)
            del module._forward_pre_hooks[key]
            del module._parameters[name + "_g"], module._parameters[name + "_v"]
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(weight.detach()))
            return module
    raise ValueError(f"remove_weight_norm: weight_norm of {name!r} not found in {type(module).__name__}")


def _weight_matrix(weight: Tensor, dim: int) -> Tensor:
    """weight as the matrix spectral norm works on: dim first, the other dimensions flattened."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.flatten(1)


class _SpectralNormHook:
    """The forward pre-hook of the old-style spectral_norm: module.<name> = <name>_orig / sigma,
    sigma estimated from the buffers <name>_u and <name>_v, which each forward in training mode
    advances by n_power_iterations steps of power iteration (PyTorch's order: v, then u)."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float) -> None:
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def compute(self, module: Module, do_power_iteration: bool) -> Tensor:
        from minigrad.nn import functional as F  # noqa: N812 (imported late: functional imports this package)

        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        matrix = _weight_matrix(weight, self.dim)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(F.normalize(matrix.T.mv(u), dim=0, eps=self.eps))
                    u.copy_(F.normalize(matrix.mv(v), dim=0, eps=self.eps))
            u, v = u.clone(), v.clone()  # the buffers change in place at the next forward
        return weight / u.dot(matrix.mv(v))

    def __call__(self, module: Module, args: tuple) -> None:
        setattr(module, self.name, self.compute(module, module.training))


def _spectral_norm_dim(module: Module) -> int:
    """spectral_norm's default output dimension: 1 for transposed convolutions (weight (in, out,
    *kernel)), 0 for the other modules, as PyTorch's."""
    # imported late: the layer modules import nn.functional, which imports this package
    from minigrad.nn.layers import ConvTranspose2d
    from minigrad.nn.layers1d import ConvTranspose1d
    from minigrad.nn.layers3d import ConvTranspose3d

    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Normalise module.<name> by its spectral norm before each forward, as the original
    torch.nn.utils.spectral_norm (GAN code's): parameter <name>_orig and buffers <name>_u and
    <name>_v (random unit vectors) replace <name>; each forward in training mode takes
    n_power_iterations power-iteration steps. dim: the output dimension (None: 1 for transposed
    convolutions, else 0). See nn.utils.parametrizations.spectral_norm for the parametrization.
    Returns the module."""
    from minigrad.nn import functional as F  # noqa: N812 (imported late: functional imports this package)

    if any(isinstance(hook, _SpectralNormHook) and hook.name == name for hook in module._forward_pre_hooks.values()):
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    if n_power_iterations <= 0:
        raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}")
    weight = module._parameters.get(name)
    if not isinstance(weight, Parameter):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is None:
        dim = _spectral_norm_dim(module)
    hook = _SpectralNormHook(name, n_power_iterations, dim, eps)
    with no_grad():
        h, w = _weight_matrix(weight, dim).shape
        u = F.normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=eps)
        v = F.normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())  # as PyTorch: the raw weight until the first forward
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(hook)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo spectral_norm: <name> is a parameter again, holding <name>_orig / sigma (from the
    current <name>_u and <name>_v, with no further iteration). Returns the module."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, _SpectralNormHook) and hook.name == name:
            with no_grad():
                weight = hook.compute(module, do_power_iteration=False)
            del module._forward_pre_hooks[key]
            for suffix in ("_orig", "_u", "_v"):
                delattr(module, name + suffix)
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(weight.detach()))
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {type(module).__name__}")


# last: parametrizations uses the weight_norm helpers above
from minigrad.nn.utils import parametrizations, parametrize, prune  # noqa: E402
