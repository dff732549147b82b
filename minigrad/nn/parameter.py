"""Parameter: a Tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import Any

from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with requires_grad=True by default; shares data with the tensor it wraps and
    keeps its dtype (an array is used as given). Parameter() is empty, as PyTorch's."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = Tensor()  # empty, of the default dtype
        self._init(data, requires_grad, None)  # a Tensor's array is shared

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A tensor that registers itself as a buffer when assigned to a Module attribute, as
    torch.nn.Buffer: ``self.mask = nn.Buffer(minigrad.ones(3), persistent=False)`` is
    ``self.register_buffer("mask", ..., persistent=False)``. It shares data's memory; the module
    keeps a plain Tensor (as PyTorch's does)."""

    __slots__ = ("persistent",)

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        if data is None:
            data = Tensor()
        self._init(data, data.requires_grad, None)
        self.persistent = persistent
