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
    InstanceNorm1d,
    InstanceNorm2d,
    _BatchNorm,
    _fill_placeholder,
    _LazyModule,
)
from minigrad.nn.layers1d import Conv1d, ConvTranspose1d
from minigrad.nn.layers3d import BatchNorm3d, Conv3d, ConvTranspose3d, InstanceNorm3d
from minigrad.nn.parameter import UninitializedTensorMixin
from minigrad.tensor import Tensor

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


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
        _fill_placeholder(self, "weight", self._weight_shape())

    def _sizes_from_loaded(self: Any) -> None:
        shape = self.weight.shape  # (in, out / groups, *k) when transposed, else (out, in / groups, *k)
        self.in_channels = shape[0] if hasattr(self, "output_padding") else shape[1] * self.groups


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
        placeholders = [t for t in (*self._parameters.values(), *self._buffers.values())
                        if isinstance(t, UninitializedTensorMixin)]
        for t in placeholders:  # in place, as PyTorch's; reset_parameters then gives the values
            t.materialize((self.num_features,))
        if not placeholders:
            self._make_state(self.num_features, self.bias is not None, device, dtype)

    def _sizes_from_loaded(self: Any) -> None:
        like = self.running_mean if self.running_mean is not None else self.weight
        if like is not None:
            self.num_features = like.shape[0]


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """BatchNorm1d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """BatchNorm2d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm, BatchNorm3d):
    """BatchNorm3d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = BatchNorm3d


class _LazyInstanceNorm(_LazyBatchNorm):
    """A lazy instance norm: the plain layer's arguments without num_features, with PyTorch's lazy
    defaults (affine and track_running_stats True, as the lazy batch norms'). As PyTorch's,
    num_features is the input's dimension 1, unbatched input too."""

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        _BatchNorm.__init__(self, 0, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _materialize(self: Any, x: Tensor) -> None:
        if self.affine or self.track_running_stats:  # else no lazy state: num_features stays 0, as PyTorch's
            super()._materialize(x)
        self._uninitialize()  # nn.UninitializedParameter / UninitializedBuffer placeholders, as PyTorch's


class LazyInstanceNorm1d(_LazyInstanceNorm, InstanceNorm1d):
    """InstanceNorm1d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyInstanceNorm, InstanceNorm2d):
    """InstanceNorm2d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyInstanceNorm, InstanceNorm3d):
    """InstanceNorm3d(num_features inferred from the input's dimension 1, ...)."""

    cls_to_become = InstanceNorm3d
