"""Padding layers, as torch.nn's: the 1-D, 2-D and 3-D ones pad the last one, two or three
dimensions with F.pad (which raises PyTorch's errors for inputs of the wrong rank or too small)."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.functional.shape import pad
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

_SIDES = {1: "(left, right)", 2: "(left, right, top, bottom)", 3: "(left, right, top, bottom, front, back)"}


def _widths(padding: int | Sequence[int], dims: int, layer: str) -> tuple[int, ...]:
    """Two widths per padded dimension (last dimension first, as F.pad) from one width or all."""
    if isinstance(padding, int):
        return (padding,) * (2 * dims)
    widths = tuple(int(p) for p in padding)
    # stricter than PyTorch, which only fails at the first forward call
    if len(widths) != 2 * dims:
        raise ValueError(f"{layer}: padding must be an int or {2 * dims} widths {_SIDES[dims]}, got {padding}")
    return widths


class _PadNd(Module):
    """Pads the last `dims` dimensions of an input with one or two more (batch, channels) by
    `mode`; padding is an int or two widths per padded dimension."""

    dims = 1
    mode = "constant"
    value: float | None = None  # the fill of "constant"; None for the other modes

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _widths(padding, self.dims, type(self).__name__)

    def forward(self, x: Tensor) -> Tensor:
        # PyTorch's circular layers check the rank themselves (F.pad's circular mode does not)
        if self.mode == "circular" and x.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"expected {self.dims + 1}D or {self.dims + 2}D input (got {x.ndim}D input)")
        return pad(x, self.padding, self.mode, self.value)

    def extra_repr(self) -> str:
        return str(self.padding)


class _ConstantPadNd(_PadNd):
    """Pads with a constant value."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroFill:
    """Mixin making a ConstantPadNd pad with zeros; PyTorch's repr then shows the padding only."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)  # type: ignore[call-arg]

    extra_repr = _PadNd.extra_repr


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dimension with a constant value."""


class ZeroPad1d(_ZeroFill, ConstantPad1d):
    """Pads the last dimension with zeros."""


class ReflectionPad1d(_PadNd):
    """Pads by mirroring the input at its edges (the edge itself not repeated); widths < the size."""

    mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pads by repeating the edge values."""

    mode = "replicate"


class CircularPad1d(_PadNd):
    """Pads by wrapping around: the left padding comes from the end, the right from the start."""

    mode = "circular"


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dimensions with a constant value."""

    dims = 2


class ZeroPad2d(_ZeroFill, ConstantPad2d):
    """Pads the last two dimensions with zeros."""


class ReflectionPad2d(ReflectionPad1d):
    """Pads the last two dimensions by mirroring the input at its edges; widths < the sizes."""

    dims = 2


class ReplicationPad2d(ReplicationPad1d):
    """Pads the last two dimensions by repeating the edge values."""

    dims = 2


class CircularPad2d(CircularPad1d):
    """Pads the last two dimensions by wrapping around (F.pad's "circular")."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dimensions (D, H, W) with a constant value."""

    dims = 3


class ZeroPad3d(_ZeroFill, ConstantPad3d):
    """Pads the last three dimensions with zeros."""


class ReflectionPad3d(ReflectionPad1d):
    """Pads the last three dimensions by mirroring the input at its edges; widths < the sizes."""

    dims = 3


class ReplicationPad3d(ReplicationPad1d):
    """Pads the last three dimensions by repeating the edge values."""

    dims = 3


class CircularPad3d(CircularPad1d):
    """Pads the last three dimensions by wrapping around (F.pad's "circular")."""

    dims = 3
