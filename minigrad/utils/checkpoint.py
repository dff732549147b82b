"""torch.utils.checkpoint: gradient (activation) checkpointing. A checkpointed function runs
without recording its intermediate results; backward runs it again, recording, and
differentiates that, trading compute for memory. With create_graph the rerun stays on the tape,
joined to the checkpoint's inputs, so the gradients can be differentiated again (as PyTorch's
non-reentrant checkpoint; its reentrant one refuses autograd.grad and loses the graph)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from minigrad import autograd as _autograd
from minigrad import random as _random
from minigrad.autograd import Function
from minigrad.functional.derivatives import backward_to_stand_ins, stand_in
from minigrad.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Checkpoint(Function):
    """The node of a checkpointed block: its inputs are the block's arguments, then the parameters
    (leaves that require grad) the block reached when it ran; forward hands on the results of
    that run, off the tape. backward runs the block again (the random state restored, so that
    dropout draws the same masks) on the tape, from stand-ins for the arguments that require
    grad, and backpropagates through that alone to the stand-ins and the parameters; under
    create_graph that pass is recorded, and the stand-ins lead on to the arguments, so the
    gradients depend on the arguments, the parameters and the incoming gradients."""

    @staticmethod
    def forward(ctx: Any, run: Callable, rng_state: Any, ran: list, count: int, *inputs: Any) -> Any:
        """ran: [what the block returned], off the tape here; inputs: its count arguments, then its parameters."""
        ctx.run, ctx.rng_state = run, rng_state
        ctx.arguments, ctx.parameters = inputs[:count], inputs[count:]
        ctx.save_for_backward(*(a for a in inputs if isinstance(a, Tensor)))
        (results,) = ran
        if isinstance(results, tuple):
            return tuple(r.detach() if isinstance(r, Tensor) else r for r in results)
        return results.detach() if isinstance(results, Tensor) else results

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Tensor | None) -> tuple:
        create_graph = _autograd.is_grad_enabled()  # a custom backward runs with grad mode on only then
        after = _random.get_rng_state()
        if ctx.rng_state is not None:
            _random.set_rng_state(ctx.rng_state)
        try:
            with _autograd.enable_grad():
                inputs = [stand_in(a) if isinstance(a, Tensor) and a.requires_grad else a for a in ctx.arguments]
                outputs = ctx.run(*inputs)
        finally:
            _random.set_rng_state(after)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=False)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        stand_ins = [a for a, given in zip(inputs, ctx.arguments, strict=True) if a is not given]
        grads = iter(backward_to_stand_ins([o for o, _ in pairs], [g for _, g in pairs], stand_ins, create_graph,
                                           ctx.parameters))
        return (None, None, None, None, *(next(grads) if a is not given else None
                                          for a, given in zip(inputs, ctx.arguments, strict=True)), *grads)


def _parameters_reached(outputs: tuple, arguments: Sequence[Tensor]) -> list[Tensor]:
    """The leaves that require grad which outputs were computed from, other than arguments: the
    parameters a block used (walking the tape it was just recorded on)."""
    skip = {id(a) for a in arguments}
    found: dict[int, Tensor] = {}
    stack = [o.grad_fn or o for o in outputs if isinstance(o, Tensor) and o.requires_grad]
    seen = {id(node) for node in stack}
    while stack:
        node = stack.pop()
        if isinstance(node, Tensor):  # a leaf
            if id(node) not in skip:
                found[id(node)] = node
            continue
        for edge in node.next:
            if edge is not None and id(edge) not in seen:
                seen.add(id(edge))
                stack.append(edge)
    return list(found.values())


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None, context_fn: Any = None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True,
               **kwargs: Any) -> Any:
    """function(*args, **kwargs) without keeping its intermediate results for backward, which
    recomputes them, as torch.utils.checkpoint.checkpoint. The gradients are the same as without
    checkpointing (the random state is restored for the recomputation, so dropout agrees), for
    backward and autograd.grad alike, and with create_graph=True they can be differentiated
    again: what PyTorch's use_reentrant=False gives, for either setting (PyTorch's reentrant
    checkpoint refuses autograd.grad and gives gradients without a graph). The block runs on
    the tape once, to find the parameters it uses (they become inputs of the checkpoint's node),
    and its record is dropped at once. When no tensor argument requires grad (a first block
    given the data), function simply runs on the tape, so its parameters still get gradients
    (PyTorch's reentrant variant would leave them None). context_fn, determinism_check and
    debug are accepted. Without an explicit use_reentrant it warns, as PyTorch's (a UserWarning
    at the caller's line, each call)."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch "
            "2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is "
            "recommended, but if you need to preserve the current default behavior, you can pass use_reentrant=True. "
            "Refer to docs for more details on the differences between the two variants.",
            UserWarning,
            stacklevel=2,
        )
        use_reentrant = True
    if use_reentrant and not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        # PyTorch's reentrant checkpoint warns so (and leaves the gradients None; here they are computed)
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", UserWarning, stacklevel=2)
    if not _autograd.is_grad_enabled() or not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        return function(*args, **kwargs)
    run = (lambda *a: function(*a, **kwargs)) if kwargs else function
    rng_state = _random.get_rng_state() if preserve_rng_state else None
    detached = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in args]
    results = run(*detached)
    parameters = _parameters_reached(results if isinstance(results, tuple) else (results,),
                                     [a for a in detached if isinstance(a, Tensor)])
    return _Checkpoint.apply(run, rng_state, [results], len(args), *args, *parameters)


def checkpoint_sequential(functions: Any, segments: int, input: Tensor, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Tensor:
    """Run a Sequential (or list of modules) in `segments` checkpointed pieces, the last one as
    is, as torch.utils.checkpoint.checkpoint_sequential (which warns, once a call, without an
    explicit use_reentrant)."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed explicitly. "
            "In version 2.9 we will raise an exception if use_reentrant is not passed. use_reentrant=False is "
            "recommended, but if you need to preserve the current default behavior, you can pass use_reentrant=True. "
            "Refer to docs for more details on the differences between the two variants.",
            UserWarning,
            stacklevel=2,
        )
        use_reentrant = True
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")
    size = len(functions) // segments  # PyTorch's split: segments - 1 checkpointed runs of size, the rest as is

    def run_range(part: Sequence[Callable]) -> Callable:
        def forward(x: Tensor) -> Tensor:
            for f in part:
                x = f(x)
            return x

        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run_range(functions[start:end + 1]), input, use_reentrant=use_reentrant, **kwargs)
    return run_range(functions[end + 1:])(input)
