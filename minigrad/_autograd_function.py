"""torch.autograd.function: Function and FunctionCtx (minigrad.autograd's) and once_differentiable.
minigrad/autograd.py is a module, not a package, so it registers this one as
minigrad.autograd.function: ``from minigrad.autograd.function import once_differentiable`` works
as in PyTorch."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from minigrad.autograd import Function, FunctionCtx, is_grad_enabled, no_grad
from minigrad.tensor import Tensor

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


def once_differentiable(fn: Callable) -> Callable:
    """torch.autograd.function.once_differentiable, for a custom Function's backward: fn runs under
    no_grad; under create_graph, when a gradient it is given requires grad, its results come back
    as tensors whose differentiation raises, as PyTorch's."""

    @functools.wraps(fn)
    def wrapper(ctx: FunctionCtx, *args: Any) -> Any:
        with no_grad():
            outputs = fn(ctx, *args)
        edges = [arg.grad_fn or arg for arg in args if isinstance(arg, Tensor) and arg.requires_grad]
        if not is_grad_enabled() or not edges:
            return outputs
        from minigrad.functional.derivatives import not_differentiable_again

        message = "trying to differentiate twice a function that was marked with @once_differentiable"
        results = [not_differentiable_again(out._data, out.device, edges, message) if isinstance(out, Tensor) else out
                   for out in (outputs if isinstance(outputs, tuple) else (outputs,))]
        return tuple(results) if isinstance(outputs, tuple) else results[0]

    return wrapper
