"""The 1-D convolutions and pools, as PyTorch's: their 2-D forms over a height of 1 (the 2-D
kernels and gradients, on every device). Input (N, C, L) or unbatched (C, L)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from minigrad.functional._common import ArgumentError, DtypeError, ShapeError, _require_float, _require_tensor
from minigrad.functional.nn import (
    _max_unpool,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    conv2d,
    conv_transpose2d,
    lp_pool2d,
    max_pool2d,
)
from minigrad.functional.shape import unsqueeze
from minigrad.tensor import Tensor


def _single(value: Any, name: str) -> int:
    """An int or a 1-tuple (PyTorch accepts both for the 1-D arguments) as an int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ArgumentError(f"{name} must be an int or a tuple of one int, got {value!r}")
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int or a tuple of one int, got {value!r}")
    return value


def _as_2d(input: Tensor, op: str) -> Tensor:
    """(N, C, L) -> (N, C, 1, L), (C, L) -> (C, 1, L)."""
    _require_tensor(op, input)
    if input.ndim not in (2, 3):
        raise ShapeError(f"{op}: input must be 2-D (C, L) or 3-D (N, C, L), got shape {input.shape}")
    return unsqueeze(input, -2)


def _from_2d(out: Any, return_indices: bool) -> Any:
    """A 2-D max pooling's result over _as_2d's input back to 1-D (values, and indices: positions
    in a 1 x L plane are positions along L)."""
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


@contextlib.contextmanager
def _dtype_error_named(op: str) -> Iterator[None]:
    """The 2-D op's DtypeError (operands of different dtypes) named after op, the 1-D op called; its
    other checks run first, as they did."""
    try:
        yield
    except DtypeError as error:
        raise DtypeError(f"{op}:{str(error).partition(':')[2]}") from None


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of input (N, C_in, L) with weight (C_out, C_in / groups, K); padding an int,
    'same' or 'valid'."""
    _require_float("conv1d", input, weight, bias)
    _require_tensor("conv1d", weight)
    if weight.ndim != 3:
        raise ShapeError(f"conv1d: weight must be 3-D (C_out, C_in / groups, K), got shape {weight.shape}")
    x = _as_2d(input, "conv1d")
    if isinstance(groups, int) and groups >= 1 and x.shape[-3] != weight.shape[1] * groups:
        raise ShapeError(
            f"conv1d: input has {x.shape[-3]} channels, weight {tuple(weight.shape)} with groups={groups} "
            f"expects {weight.shape[1] * groups}"
        )
    pad = padding if isinstance(padding, str) else (0, _single(padding, "conv1d: padding"))
    with _dtype_error_named("conv1d"):
        y = conv2d(x, unsqueeze(weight, 2), bias, (1, _single(stride, "conv1d: stride")), pad,
                   (1, _single(dilation, "conv1d: dilation")), groups)
    return y.squeeze(-2)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """1-D transposed convolution of input (N, C_in, L) with weight (C_in, C_out / groups, K)."""
    _require_float("conv_transpose1d", input, weight, bias)
    _require_tensor("conv_transpose1d", weight)
    if weight.ndim != 3:
        raise ShapeError(f"conv_transpose1d: weight must be 3-D (C_in, C_out / groups, K), got shape {weight.shape}")
    with _dtype_error_named("conv_transpose1d"):
        y = conv_transpose2d(
            _as_2d(input, "conv_transpose1d"), unsqueeze(weight, 2), bias,
            (1, _single(stride, "conv_transpose1d: stride")), (0, _single(padding, "conv_transpose1d: padding")),
            (0, _single(output_padding, "conv_transpose1d: output_padding")), groups,
            (1, _single(dilation, "conv_transpose1d: dilation")),
        )
    return y.squeeze(-2)


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over windows along the last dimension of (N, C, L); with return_indices also the int64
    argmax positions along L."""
    _require_float("max_pool1d", input)
    k = _single(kernel_size, "max_pool1d: kernel_size")
    s = k if stride is None or stride == () else _single(stride, "max_pool1d: stride")
    out = max_pool2d(_as_2d(input, "max_pool1d"), (1, k), (1, s), (0, _single(padding, "max_pool1d: padding")),
                     (1, _single(dilation, "max_pool1d: dilation")), ceil_mode, return_indices)
    return _from_2d(out, return_indices)


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """max_pool1d's values and indices, whatever return_indices says (as PyTorch's)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over windows along the last dimension of (N, C, L)."""
    _require_float("avg_pool1d", input)
    k = _single(kernel_size, "avg_pool1d: kernel_size")
    s = k if stride is None or stride == () else _single(stride, "avg_pool1d: stride")
    y = avg_pool2d(_as_2d(input, "avg_pool1d"), (1, k), (1, s), (0, _single(padding, "avg_pool1d: padding")),
                   ceil_mode, count_include_pad)
    return y.squeeze(-2)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling along the last dimension of (N, C, L), as lp_pool2d."""
    _require_float("lp_pool1d", input)
    k = _single(kernel_size, "lp_pool1d: kernel_size")
    s = k if stride is None or stride == () else _single(stride, "lp_pool1d: stride")
    return lp_pool2d(_as_2d(input, "lp_pool1d"), norm_type, (1, k), (1, s), ceil_mode).squeeze(-2)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over output_size near-equal windows along the last dimension of (N, C, L)."""
    _require_float("adaptive_avg_pool1d", input)
    size = _single(output_size, "adaptive_avg_pool1d: output_size")
    return adaptive_avg_pool2d(_as_2d(input, "adaptive_avg_pool1d"), (1, size)).squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over output_size near-equal windows along the last dimension of (N, C, L) or (C, L), as
    torch's; with return_indices also the int64 argmax positions along L."""
    _require_float("adaptive_max_pool1d", input)
    size = _single(output_size, "adaptive_max_pool1d: output_size")
    out = adaptive_max_pool2d(_as_2d(input, "adaptive_max_pool1d"), (1, size), return_indices)
    return _from_2d(out, return_indices)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """adaptive_max_pool1d's values and indices, whatever return_indices says (as PyTorch's, and
    torch.adaptive_max_pool1d)."""
    return adaptive_max_pool1d(input, output_size, return_indices=True)


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of max_pool1d(..., return_indices=True): each value of input (N, C, L) or
    (C, L) written at its index (along an output L) of zeros, as PyTorch. The output is
    (L - 1) * stride - 2 * padding + kernel_size long, or output_size ((ol,) or (N, C, ol), within
    a stride of that). Differentiable in input."""
    k = _single(kernel_size, "max_unpool1d: kernel_size")
    s = k if stride is None else _single(stride, "max_unpool1d: stride")
    return _max_unpool("max_unpool1d", input, indices, (k,), (s,), (_single(padding, "max_unpool1d: padding"),),
                       output_size)
