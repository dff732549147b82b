"""Padding layers for images, as torch.nn's: each pads the last two dimensions with F.pad."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.functional.shape import pad
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


def _quadruple(padding: int | Sequence[int], layer: str) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) from one width or four."""
    if isinstance(padding, int):
        return (padding,) * 4
    widths = tuple(int(p) for p in padding)
    if len(widths) != 4:
        raise ValueError(f"{layer}: padding must be an int or 4 widths (left, right, top, bottom), got {padding}")
    return widths


class _Pad2d(Module):
    """Pads the last two dimensions (H, W) of a (C, H, W) or (N, C, H, W) input by `mode`."""

    mode = "constant"

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _quadruple(padding, type(self).__name__)

    def forward(self, x: Tensor) -> Tensor:
        return pad(x, self.padding, self.mode)

    def extra_repr(self) -> str:
        return str(self.padding)


class ReflectionPad2d(_Pad2d):
    """Pads by mirroring the input at its edges (the edge itself not repeated); widths < the size."""

    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pads by repeating the edge values."""

    mode = "replicate"


class ConstantPad2d(Module):
    """Pads the last two dimensions with a constant value."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__()
        self.padding = _quadruple(padding, type(self).__name__)
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(_Pad2d):
    """Pads the last two dimensions with zeros."""
