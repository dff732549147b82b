"""The 1-D layers: Conv1d, ConvTranspose1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, with
PyTorch's arguments, parameter shapes, initialisation and reprs (minigrad.functional.nn1d)."""

from __future__ import annotations

from typing import Any

from minigrad.functional import nn1d
from minigrad.nn import functional as F
from minigrad.nn.layers import _ConvNd, _LPPoolNd, _MaxUnpoolNd
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


def _one(value: Any, name: str) -> tuple[int]:
    """An int or a 1-tuple as a 1-tuple (how PyTorch's 1-D layers hold their arguments)."""
    return (nn1d._single(value, name),)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) input; weight (out_channels, in_channels / groups, K)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: int | tuple[int] | str = 0,
        dilation: int | tuple[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__("Conv1d", _one, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return nn1d.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        x = F.pad(x, self._padding_widths(), mode=self.padding_mode)
        return nn1d.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose1d(_ConvNd):
    """1-D transposed convolution over (N, C, L) input; weight (in_channels, out_channels / groups, K)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: int | tuple[int] = 0,
        output_padding: int | tuple[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__("ConvTranspose1d", _one, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def forward(self, x: Tensor) -> Tensor:
        return nn1d.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                     self.groups, self.dilation)


class MaxPool1d(Module):
    """Max over kernel_size windows along L (stride defaults to kernel_size)."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor) -> Any:
        return nn1d.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                               self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """Mean over kernel_size windows along L (stride defaults to kernel_size)."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _one(kernel_size, "AvgPool1d kernel_size")
        self.stride = _one(stride if stride is not None else kernel_size, "AvgPool1d stride")
        self.padding = _one(padding, "AvgPool1d padding")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return nn1d.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class LPPool1d(_LPPoolNd):
    """Power-average pooling over kernel_size windows along L (F.lp_pool1d)."""

    def forward(self, x: Tensor) -> Tensor:
        return nn1d.lp_pool1d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class AdaptiveMaxPool1d(Module):
    """Max over output_size near-equal windows along L; with return_indices, forward also returns
    the argmax positions."""

    def __init__(self, output_size: int, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, x: Tensor) -> Any:
        return nn1d.adaptive_max_pool1d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of MaxPool1d(return_indices=True): forward(input, indices, output_size=None)
    puts each value at its index of a zero output (stride defaults to kernel_size)."""

    _convert = staticmethod(_one)
    _functional = staticmethod(nn1d.max_unpool1d)


class AdaptiveAvgPool1d(Module):
    """Mean over output_size near-equal windows along L."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return nn1d.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
