"""torch.autograd.function: Function and FunctionCtx (minigrad.autograd's) and once_differentiable.
minigrad/autograd.py is a module, not a package, so it registers this one as
minigrad.autograd.function: ``from minigrad.autograd.function import once_differentiable`` works
as in PyTorch."""

from __future__ import annotations

from collections.abc import Callable

from minigrad.autograd import Function, FunctionCtx

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


def once_differentiable(fn: Callable) -> Callable:
    """torch.autograd.function.once_differentiable, for a custom Function's backward: fn itself.
    PyTorch's runs backward under no_grad and makes differentiating its result again an error;
    minigrad already runs every backward under no_grad and never records it (no create_graph),
    so there is nothing to add."""
    return fn
