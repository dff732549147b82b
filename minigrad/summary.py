"""minigrad.summary: a torchsummary-style table of a model's layers, output shapes and sizes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.autograd import no_grad
from minigrad.backend import get_backend
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


@dataclass
class LayerInfo:
    """One row: a leaf module (or one holding parameters of its own) and what its forward gave."""

    name: str
    type: str
    output_shape: tuple[int, ...] | list[tuple[int, ...]]
    num_params: int


@dataclass
class ModelSummary:
    """What summary() measured; str() is the printed table."""

    layers: list[LayerInfo] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0

    def __str__(self) -> str:
        def shape_text(shape: Any) -> str:
            if isinstance(shape, list):
                return ", ".join(shape_text(s) for s in shape)
            return str([-1, *shape[1:]]) if shape else "[]"

        rows = [
            (f"{info.name} ({info.type})", shape_text(info.output_shape), f"{info.num_params:,}")
            for info in self.layers
        ]
        header = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
        width = sum(widths) + 6

        def line(cells: Sequence[str]) -> str:
            return f"{cells[0]:<{widths[0]}}   {cells[1]:>{widths[1]}}   {cells[2]:>{widths[2]}}"

        out = [
            "-" * width,
            line(header),
            "=" * width,
            *(line(r) for r in rows),
            "=" * width,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            "-" * width,
        ]
        return "\n".join(out)


def _shape_of(output: Any) -> tuple[int, ...] | list[tuple[int, ...]]:
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [tuple(o.shape) for o in output if isinstance(o, Tensor)]
    return ()


def summary(
    model: Module,
    input_shape: Sequence[int],
    batch_size: int = 1,
    print_fn: Callable[[str], Any] | None = print,
) -> ModelSummary:
    """Run model once on zeros of shape (batch_size, *input_shape) and tabulate its layers.

    input_shape excludes the batch dimension, as torchsummary's input_size; the
    table shows the batch as -1. The forward runs in eval mode without gradients
    and the model's modes are restored after, so running stats are untouched.
    The table is printed with print_fn (None: not printed) and returned.
    """
    params = list(model.parameters())
    dtype = params[0].dtype if params else np.float32
    device = params[0].device if params else "cpu"
    x = Tensor._wrap(get_backend(device).full((batch_size, *input_shape), 0.0, dtype), device=device)

    result = ModelSummary()
    handles = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if next(module.children(), None) is not None and not own:
            continue  # containers appear through their leaves

        def hook(
            mod: Module, inputs: tuple, output: Any, name: str = name, own: list = own
        ) -> None:
            count = sum(int(np.prod(p.shape)) for p in own)
            result.layers.append(
                LayerInfo(name or type(mod).__name__, type(mod).__name__, _shape_of(output), count)
            )

        handles.append(module.register_forward_hook(hook))

    modes = {id(m): m.training for m in model.modules()}
    model.eval()
    try:
        with no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for m in model.modules():
            m.training = modes[id(m)]

    for p in params:
        count = int(np.prod(p.shape))
        result.total_params += count
        if p.requires_grad:
            result.trainable_params += count
        else:
            result.non_trainable_params += count
    if print_fn is not None:
        print_fn(str(result))
    return result
