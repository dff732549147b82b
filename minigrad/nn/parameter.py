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
