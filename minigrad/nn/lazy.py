"""The lazy convolution and batch-norm layers, as torch.nn's LazyConvNd, LazyConvTransposeNd and
LazyBatchNormNd: built without the input's channel count (in_channels / num_features 0), which the
first forward call infers from its input (see layers._LazyModule, which LazyLinear shares)."""

from __future__ import annotations

from typing import Any

from minigrad.nn.layers import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    _BatchNorm,
    _empty,
    _LazyModule,
)
from minigrad.nn.layers1d import Conv1d, ConvTranspose1d
from minigrad.nn.layers3d import BatchNorm3d, Conv3d, ConvTranspose3d
from minigrad.tensor import Tensor

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]


class _LazyConvNd(_LazyModule):
    """A lazy (transposed) convolution: the plain layer's arguments without in_channels."""

    def __init__(self, out_channels: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(0, out_channels, *args, **kwargs)  # type: ignore[call-arg]

    def _initialised(self: Any) -> bool:
        return self.in_channels > 0

    def _materialize(self: Any, x: Tensor) -> None:
        spatial = len(self.kernel_size)
        if x.ndim not in (spatial + 1, spatial + 2):
            raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {list(x.shape)}")
        self.in_channels = x.shape[1] if x.ndim == spatial + 2 else x.shape[0]
        if self.in_channels % self.groups:
            raise ValueError("in_channels must be divisible by groups")
        self.weight = _empty(self._weight_shape(), self.weight.device, self.weight.dtype)


class LazyConv1d(_LazyConvNd, Conv1d):
    """Conv1d(in_channels inferred, out_channels, kernel_size, ...)."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """Conv2d(in_channels inferred, out_channels, kernel_size, ...)."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConvNd, Conv3d):
    """Conv3d(in_channels inferred, out_channels, kernel_size, ...)."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvNd, ConvTranspose1d):
    """ConvTranspose1d(in_channels inferred, out_channels, kernel_size, ...)."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvNd, ConvTranspose2d):
    """ConvTranspose2d(in_channels inferred, out_channels, kernel_size, ...)."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvNd, ConvTranspose3d):
    """ConvTranspose3d(in_channels inferred, out_channels, kernel_size, ...)."""

    cls_to_become = ConvTranspose3d


class _LazyBatchNorm(_LazyModule):
    """A lazy batch norm: the plain layer's arguments without num_features."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(0, *args, **kwargs)  # type: ignore[call-arg]

    def _initialised(self: Any) -> bool:
        return self.num_features > 0

    def _materialize(self: Any, x: Tensor) -> None:
        if x.ndim not in self._input_ranks:  # the plain layer's error, before x.shape[1] is read
            _BatchNorm.forward(self, x)
        like = self.running_mean if self.running_mean is not None else self.weight
        device, dtype = (like.device, like.dtype) if like is not None else (x.device, x.dtype)
        self.num_features = x.shape[1]
        self._make_state(self.num_features, self.bias is not None, device, dtype)


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """BatchNorm1d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """BatchNorm2d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm, BatchNorm3d):
    """BatchNorm3d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = BatchNorm3d
