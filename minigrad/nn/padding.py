"""Padding layers, as torch.nn's: the 2-D ones pad the last two dimensions with F.pad, the 1-D
ones the last."""

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


def _double(padding: int | Sequence[int], layer: str) -> tuple[int, int]:
    """(left, right) from one width or two."""
    if isinstance(padding, int):
        return (padding,) * 2
    widths = tuple(int(p) for p in padding)
    if len(widths) != 2:
        raise ValueError(f"{layer}: padding must be an int or 2 widths (left, right), got {padding}")
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


class _Pad1d(Module):
    """Pads the last dimension of a (C, L) or (N, C, L) input by `mode` with F.pad; padding is an
    int or (left, right)."""

    mode = "constant"
    value: float | None = None  # the fill of "constant"; None for the other modes

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _double(padding, type(self).__name__)

    def forward(self, x: Tensor) -> Tensor:
        return pad(x, self.padding, self.mode, self.value)

    def extra_repr(self) -> str:
        return str(self.padding)


class ConstantPad1d(_Pad1d):
    """Pads the last dimension with a constant value."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad1d(ConstantPad1d):
    """Pads the last dimension with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    extra_repr = _Pad1d.extra_repr  # PyTorch's repr shows the padding only


class ReflectionPad1d(_Pad1d):
    """Pads by mirroring the input at its edges (the edge itself not repeated); widths < the size."""

    mode = "reflect"


class ReplicationPad1d(_Pad1d):
    """Pads by repeating the edge values."""

    mode = "replicate"


class CircularPad1d(_Pad1d):
    """Pads by wrapping around: the left padding comes from the end, the right from the start."""

    mode = "circular"


class CircularPad2d(_Pad2d):
    """Pads the last two dimensions by wrapping around (F.pad's "circular")."""

    mode = "circular"
