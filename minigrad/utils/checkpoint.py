"""torch.utils.checkpoint: gradient (activation) checkpointing. A checkpointed function runs
without recording its intermediate results; backward runs it again, recording, and
differentiates that, trading compute for memory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from minigrad import autograd as _autograd
from minigrad import random as _random
from minigrad.autograd import Function
from minigrad.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Checkpoint(Function):
    """forward runs `run` off the tape (keeping only its arguments, and the random state so that
    dropout draws the same masks again); backward runs it again on the tape and backpropagates
    through that, accumulating into the .grad of the parameters it uses, as PyTorch's reentrant
    checkpoint does."""

    @staticmethod
    def forward(ctx: Any, run: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        ctx.run, ctx.rng_state = run, _random.get_rng_state() if preserve_rng_state else None
        ctx.arguments = args
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        return run(*args)

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Tensor | None) -> tuple:
        inputs = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in ctx.arguments]
        after = _random.get_rng_state()
        if ctx.rng_state is not None:
            _random.set_rng_state(ctx.rng_state)
        try:
            with _autograd.enable_grad():
                outputs = ctx.run(*inputs)
        finally:
            _random.set_rng_state(after)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=False)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        _autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, *(a.grad if isinstance(a, Tensor) and a.requires_grad else None for a in inputs))


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None, context_fn: Any = None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True,
               **kwargs: Any) -> Any:
    """function(*args, **kwargs) without keeping its intermediate results for backward, which
    recomputes them, as torch.utils.checkpoint.checkpoint. The gradients are the same as without
    checkpointing (the random state is restored for the recomputation, so dropout agrees). Both
    use_reentrant settings run the reentrant scheme: the parameters used inside get their
    gradients when backward() reaches the checkpoint, so autograd.grad through a checkpoint
    also accumulates into those .grad. When no tensor argument requires grad (a first block
    given the data), function simply runs on the tape, so its parameters still get gradients
    (PyTorch's reentrant variant would leave them None). context_fn, determinism_check and
    debug are accepted."""
    if not _autograd.is_grad_enabled() or not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        return function(*args, **kwargs)
    run = (lambda *a: function(*a, **kwargs)) if kwargs else function
    return _Checkpoint.apply(run, preserve_rng_state, *args)


def checkpoint_sequential(functions: Any, segments: int, input: Tensor, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Tensor:
    """Run a Sequential (or list of modules) in `segments` checkpointed pieces, the last one as
    is, as torch.utils.checkpoint.checkpoint_sequential."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")
    size = -(-len(functions) // segments)

    def run_range(part: Sequence[Callable]) -> Callable:
        def forward(x: Tensor) -> Tensor:
            for f in part:
                x = f(x)
            return x

        return forward

    pieces = [functions[i:i + size] for i in range(0, len(functions), size)]
    for part in pieces[:-1]:
        input = checkpoint(run_range(part), input, use_reentrant=use_reentrant, **kwargs)
    return run_range(pieces[-1])(input) if pieces else input
