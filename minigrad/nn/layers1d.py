"""The 1-D layers: Conv1d, ConvTranspose1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, with
PyTorch's arguments, parameter shapes, initialisation and reprs (minigrad.functional.nn1d)."""

from __future__ import annotations

import math
from typing import Any

from minigrad.functional import nn1d
from minigrad.functional.nn import same_padding
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.layers import _PADDING_MODES, _conv_repr, _empty, _init_bias
from minigrad.nn.module import Module
from minigrad.tensor import Tensor


def _one(value: Any, name: str) -> tuple[int]:
    """An int or a 1-tuple as a 1-tuple (how PyTorch's 1-D layers hold their arguments)."""
    return (nn1d._single(value, name),)


class _Conv1dBase(Module):
    """The parameters and their initialisation, shared by Conv1d and ConvTranspose1d."""

    def _make_parameters(self, weight_shape: tuple[int, ...], bias: bool, device: Any, dtype: Any) -> None:
        self.weight = _empty(weight_shape, device, dtype)
        if bias:
            self.bias = _empty((self.out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) weight, U(+-1/sqrt(fan_in)) bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            _init_bias(self.bias, self.weight)

    def extra_repr(self) -> str:
        return _conv_repr(self)


def _check_groups(layer: str, in_channels: int, out_channels: int, groups: int) -> None:
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(
            f"{layer}: groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
        )


class Conv1d(_Conv1dBase):
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
        super().__init__()
        _check_groups("Conv1d", in_channels, out_channels, groups)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"Conv1d: padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, got {padding_mode!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _one(kernel_size, "Conv1d kernel_size")
        self.stride = _one(stride, "Conv1d stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv1d: padding must be 'same', 'valid', an int or a tuple, got {padding!r}")
            if padding == "same" and self.stride != (1,):
                raise ValueError("Conv1d: padding='same' is not supported for strided convolutions")
            self.padding: str | tuple[int] = padding
        else:
            self.padding = _one(padding, "Conv1d padding")
        self.dilation = _one(dilation, "Conv1d dilation")
        self.padding_mode = padding_mode
        self._make_parameters((out_channels, in_channels // groups, *self.kernel_size), bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return nn1d.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.padding == "valid":
            widths = (0, 0)
        elif self.padding == "same":
            widths = same_padding((1, 1, 1, self.kernel_size[0]), (1, self.dilation[0]))[1]
        else:
            widths = (self.padding[0], self.padding[0])
        x = F.pad(x, widths, mode=self.padding_mode)
        return nn1d.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose1d(_Conv1dBase):
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
        super().__init__()
        _check_groups("ConvTranspose1d", in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose1d: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _one(kernel_size, "ConvTranspose1d kernel_size")
        self.stride = _one(stride, "ConvTranspose1d stride")
        self.padding = _one(padding, "ConvTranspose1d padding")
        self.output_padding = _one(output_padding, "ConvTranspose1d output_padding")
        self.dilation = _one(dilation, "ConvTranspose1d dilation")
        self.padding_mode = padding_mode
        self._make_parameters((in_channels, out_channels // groups, *self.kernel_size), bias, device, dtype)

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


class AdaptiveAvgPool1d(Module):
    """Mean over output_size near-equal windows along L."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return nn1d.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
