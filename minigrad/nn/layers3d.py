"""The 3-D layers (video, volumetric and medical images, 3-D U-Nets): Conv3d, ConvTranspose3d, the
3-D pools, BatchNorm3d, InstanceNorm3d and Dropout3d, with PyTorch's arguments, parameter shapes,
initialisation, state_dict keys and reprs (minigrad.functional.nn3d composes them from the 2-D
kernels)."""

from __future__ import annotations

from typing import Any

from minigrad.functional import nn3d
from minigrad.nn import functional as F
from minigrad.nn.layers import (
    Dropout,
    _AdaptiveAvgPoolNd,
    _AdaptiveMaxPoolNd,
    _AvgPoolNd,
    _BatchNorm,
    _ConvNd,
    _ConvTransposeNd,
    _InstanceNorm,
    _LPPoolNd,
    _MaxPoolNd,
    _MaxUnpoolNd,
)
from minigrad.tensor import Tensor

_Size3 = int | tuple[int, int, int]


class Conv3d(_ConvNd):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) input; weight (out_channels,
    in_channels / groups, kD, kH, kW). padding: an int, a triple, "same" or "valid"; padding_mode
    zeros, reflect, replicate or circular."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _Size3,
        stride: _Size3 = 1,
        padding: _Size3 | str = 0,
        dilation: _Size3 = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__("Conv3d", nn3d._triple, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return nn3d.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        x = F.pad(x, self._padding_widths(), mode=self.padding_mode)
        return nn3d.conv3d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution over (N, C, D, H, W) or (C, D, H, W) input; weight (in_channels,
    out_channels / groups, kD, kH, kW). forward(x, output_size=None): output_size (its last three
    entries) picks output_padding, as PyTorch."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _Size3,
        stride: _Size3 = 1,
        padding: _Size3 = 0,
        output_padding: _Size3 = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: _Size3 = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__("ConvTranspose3d", nn3d._triple, in_channels, out_channels, kernel_size, stride, padding,
                         dilation, groups, bias, padding_mode, device, dtype, output_padding)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        return nn3d.conv_transpose3d(x, self.weight, self.bias, self.stride, self.padding,
                                     self._output_padding(x, output_size), self.groups, self.dilation)


class MaxPool3d(_MaxPoolNd):
    """Max over kernel_size windows of (N, C, D, H, W) or (C, D, H, W) (stride defaults to
    kernel_size); with return_indices, forward also returns the argmax positions (for MaxUnpool3d)."""

    _functional = staticmethod(nn3d.max_pool3d)


class AvgPool3d(_AvgPoolNd):
    """Mean over kernel_size windows of (N, C, D, H, W) or (C, D, H, W) (stride defaults to
    kernel_size); with divisor_override, each window's sum divided by it instead."""

    _functional = staticmethod(nn3d.avg_pool3d)


class LPPool3d(_LPPoolNd):
    """Power-average pooling over kernel_size windows of (N, C, D, H, W) (F.lp_pool3d)."""

    def forward(self, x: Tensor) -> Tensor:
        return nn3d.lp_pool3d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed output size (an int or (d, h, w); None keeps that input size)."""

    _functional = staticmethod(nn3d.adaptive_avg_pool3d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output size (an int or (d, h, w); None keeps that input size); with
    return_indices, forward also returns the argmax positions (for MaxUnpool3d)."""

    _functional = staticmethod(nn3d.adaptive_max_pool3d)


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of MaxPool3d(return_indices=True): forward(input, indices, output_size=None)
    puts each value at its index of a zero output (stride defaults to kernel_size)."""

    _convert = staticmethod(nn3d._triple)
    _functional = staticmethod(nn3d.max_unpool3d)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) input."""

    _input_ranks = (5,)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or unbatched (C, D, H, W) input."""

    _input_ranks = (4, 5)


class Dropout3d(Dropout):
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W): each whole channel zeroed with
    probability p, the rest scaled by 1/(1-p); identity in eval mode."""

    _functional = staticmethod(nn3d.dropout3d)
