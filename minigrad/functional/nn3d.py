"""The 3-D convolutions and pools, as PyTorch's, composed from the 2-D kernels (so they run on
every device, with autograd and create_graph, through the ops they are made of). Input
(N, C, D, H, W) or unbatched (C, D, H, W).

- conv3d: the KD input depth planes each output plane reads are stacked as channels,
  (N * OD, groups * KD * C_in / groups, H, W), and one conv2d with the weight's depth taps moved
  beside its input channels, (C_out, KD * C_in / groups, KH, KW), computes every output plane:
  one GEMM with K = C_in / groups * KD * KH * KW, as a 3-D im2col's, for KD times the input's
  memory (no 27-fold column matrix).
- conv_transpose3d: conv_transpose2d of every input depth plane (N * ID in the batch), the depth
  taps as extra output channels; each tap's planes are then added at their output depths.
- The pools are separable: the 2-D pool over (H, W) of (N, C * D, H, W), then the 2-D pool over
  (D, 1) of (N, C, D, OH * OW). A box's max (or sum) is the max (or sum) along depth of the (H, W)
  windows' ones, its divisor the product of the per-dimension ones (with or without the
  padding, as PyTorch's), and the first maximum in (d, h, w) order wins ties, as in PyTorch.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import name_node
from minigrad.functional._common import (
    ArgumentError,
    ShapeError,
    _require_float,
    _require_same_dtype,
    _require_tensor,
)
from minigrad.functional.nn import (
    _dropout,
    _lp_from_average,
    _max_unpool,
    _zeros,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    conv2d,
    conv_transpose2d,
    max_pool2d,
)
from minigrad.functional.shape import gather, pad, stack, unsqueeze
from minigrad.tensor import Tensor

Triple = tuple[int, int, int]


def _triple(value: Any, name: str) -> Triple:
    """An int or a sequence of three ints (how PyTorch takes the 3-D arguments) as a triple."""
    values = (value,) * 3 if isinstance(value, (int, np.integer)) else value
    if (
        not isinstance(values, (tuple, list))
        or len(values) != 3
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
    ):
        raise ArgumentError(f"{name} must be an int or a tuple of three ints, got {value!r}")
    return int(values[0]), int(values[1]), int(values[2])


def _at_least(op: str, name: str, value: Any, low: int) -> Triple:
    """_triple(value), every entry checked to be >= low."""
    values = _triple(value, f"{op}: {name}")
    if min(values) < low:
        raise ArgumentError(f"{op}: {name} must be >= {low}, got {values}")
    return values


def _as_5d(op: str, input: Tensor) -> tuple[Tensor, bool]:
    """input as (N, C, D, H, W), and whether it was unbatched (C, D, H, W)."""
    _require_tensor(op, input)
    if input.ndim not in (4, 5):
        raise ShapeError(f"{op}: expected a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input, got shape {input.shape}")
    return (unsqueeze(input, 0), True) if input.ndim == 4 else (input, False)


def _from_5d(out: Any, unbatched: bool, return_indices: bool) -> Any:
    """A result over _as_5d's input back to the input's rank (values, and indices when returned)."""
    if not unbatched:
        return out
    return (out[0].squeeze(0), out[1].squeeze(0)) if return_indices else out.squeeze(0)


def _dims(sizes: Sequence[int]) -> str:
    return " x ".join(map(str, sizes))


def _check_conv(op: str, x: Tensor, weight: Tensor, bias: Tensor | None, groups: Any, transposed: bool) -> None:
    """PyTorch's checks of a 3-D convolution's weight, groups, channels and bias (RuntimeErrors)."""
    _require_tensor(op, weight)
    layout = "(C_in, C_out / groups, KD, KH, KW)" if transposed else "(C_out, C_in / groups, KD, KH, KW)"
    if weight.ndim != 5:
        raise ShapeError(f"{op}: weight must be 5-D {layout}, got shape {weight.shape}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")
    if weight.shape[0] % groups:
        raise ShapeError(f"{op}: groups={groups} must divide the weight's dimension 0, got weight of shape "
                         f"{weight.shape}")
    in_channels = weight.shape[0] if transposed else weight.shape[1] * groups
    if x.shape[1] != in_channels:
        raise ShapeError(f"{op}: weight of shape {weight.shape} with groups={groups} expects input (N, "
                         f"{in_channels}, D, H, W), but got {x.shape[1]} channels (input shape {x.shape})")
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeError(f"{op}: bias must have shape ({out_channels},) (the output channels), got {bias.shape}")
    _require_same_dtype(op, x, weight, bias)


def _conv_padding(padding: Any, kernel: Sequence[int], stride: Triple, dilation: Triple) -> list[tuple[int, int]]:
    """conv3d's padding as (before, after) per dimension: 'same' puts an odd one after, as PyTorch."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * 3
        if padding != "same":
            raise ArgumentError(f"conv3d: padding must be 'valid', 'same', an int or a tuple of three ints, got "
                                f"{padding!r}")
        if stride != (1, 1, 1):
            raise ArgumentError("conv3d: padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in _at_least("conv3d", "padding", padding, 0)]


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution of input (N, C_in, D, H, W) or (C_in, D, H, W) with weight
    (C_out, C_in / groups, KD, KH, KW); padding an int, a triple, 'same' or 'valid'."""
    op = "conv3d"
    _require_float(op, input, weight, bias)
    x, unbatched = _as_5d(op, input)
    _check_conv(op, x, weight, bias, groups, transposed=False)
    stride, dilation = _at_least(op, "stride", stride, 1), _at_least(op, "dilation", dilation, 1)
    pads = _conv_padding(padding, weight.shape[2:], stride, dilation)
    padded = [n + b + a for n, (b, a) in zip(x.shape[2:], pads, strict=True)]
    spans = [d * (k - 1) + 1 for d, k in zip(dilation, weight.shape[2:], strict=True)]
    if any(n < s for n, s in zip(padded, spans, strict=True)):
        raise ShapeError(f"{op}: the padded input ({_dims(padded)}) is smaller than the dilated kernel "
                         f"({_dims(spans)}) (input {x.shape}, weight {weight.shape})")
    # depth padding, and the odd row and column of an uneven 'same', as one zero pad; conv2d pads the rest
    (d0, d1), (h0, h1), (w0, w1) = pads
    if (d0, d1, h1 - h0, w1 - w0) != (0, 0, 0, 0):
        x = pad(x, (0, w1 - w0, 0, h1 - h0, d0, d1))
    n, _, depth, h, w = x.shape
    c_out, c_group, kd, kh, kw = weight.shape
    sd, dd = stride[0], dilation[0]
    out_depth = (depth - spans[0]) // sd + 1
    # (N, D, groups, C_in / groups, H, W) as a view; tap k of output plane o reads plane o * sd + k * dd
    planes = x.reshape(n, groups, c_group, depth, h, w).permute(0, 3, 1, 2, 4, 5)
    taps = [planes[:, k * dd : k * dd + (out_depth - 1) * sd + 1 : sd] for k in range(kd)]
    columns = stack(taps, 3).reshape(n * out_depth, groups * kd * c_group, h, w)
    weight2d = weight.permute(0, 2, 1, 3, 4).reshape(c_out, kd * c_group, kh, kw)
    y = conv2d(columns, weight2d, bias, stride[1:], (h0, w0), dilation[1:], groups)
    y = y.reshape(n, out_depth, c_out, *y.shape[2:]).permute(0, 2, 1, 3, 4).contiguous()
    return _from_5d(name_node(y, "ConvolutionBackward0"), unbatched, False)


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """The transposed 3-D convolution (conv3d's gradient with respect to its input) of input
    (N, C_in, D, H, W) or (C_in, D, H, W) with weight (C_in, C_out / groups, KD, KH, KW): output
    size (n - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1 along each dimension."""
    op = "conv_transpose3d"
    _require_float(op, input, weight, bias)
    x, unbatched = _as_5d(op, input)
    _check_conv(op, x, weight, bias, groups, transposed=True)
    stride, dilation = _at_least(op, "stride", stride, 1), _at_least(op, "dilation", dilation, 1)
    padding, extra = _at_least(op, "padding", padding, 0), _at_least(op, "output_padding", output_padding, 0)
    if any(o >= max(s, d) for o, s, d in zip(extra, stride, dilation, strict=True)):
        raise ArgumentError(f"{op}: output_padding {extra} must be smaller than either stride {stride} or "
                            f"dilation {dilation}")
    kernel = weight.shape[2:]
    sizes = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1
             for n, s, p, d, k, o in zip(x.shape[2:], stride, padding, dilation, kernel, extra, strict=True)]
    if min(sizes) < 1:
        raise ShapeError(f"{op}: input {x.shape}, weight {weight.shape}, stride {stride}, padding {padding}, "
                         f"dilation {dilation} give an output of {_dims(sizes)}")
    n, c_in, in_depth = x.shape[:3]
    _, c_group, kd, kh, kw = weight.shape
    planes = x.permute(0, 2, 1, 3, 4).reshape(n * in_depth, c_in, *x.shape[3:])
    weight2d = weight.permute(0, 2, 1, 3, 4).reshape(c_in, kd * c_group, kh, kw)
    y = conv_transpose2d(planes, weight2d, None, stride[1:], padding[1:], extra[1:], groups, dilation[1:])
    y = y.reshape(n, in_depth, groups, kd, c_group, *y.shape[2:])
    # tap k of input plane i lands at depth i * sd + k * dd of the uncropped output: as rows of sd
    # depths, at row i + (k * dd) // sd, residue (k * dd) % sd
    sd, dd, front = stride[0], dilation[0], padding[0]
    shifts = [k * dd // sd for k in range(kd)]
    rows = max(max(shifts) + in_depth, -(-(front + sizes[0]) // sd))
    residues = []
    for r in range(sd):
        total = None
        for k in (k for k in range(kd) if k * dd % sd == r):
            part, before = y[:, :, :, k], shifts[k]
            if (before, rows - in_depth - before) != (0, 0):
                part = pad(part, (0,) * 8 + (before, rows - in_depth - before))
            total = part if total is None else total + part
        residues.append(_zeros(x, (n, rows, groups, c_group, *y.shape[5:])) if total is None else total)
    depths = stack(residues, 2).reshape(n, rows * sd, groups * c_group, *y.shape[5:])
    out = depths[:, front : front + sizes[0]].permute(0, 2, 1, 3, 4).contiguous()
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1, 1)
    return _from_5d(name_node(out, "ConvolutionBackward0"), unbatched, False)


def _pool_args(
    op: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> tuple[Triple, Triple, Triple, Triple]:
    """A pool's kernel, stride (None or () is the kernel), padding and dilation as triples, checked
    as the 2-D kernels check theirs (padding at most half the kernel, at least one window)."""
    kernel = _at_least(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or stride == () else _at_least(op, "stride", stride, 1)
    padding, dilation = _at_least(op, "padding", padding, 0), _at_least(op, "dilation", dilation, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel, strict=True)):
        raise ArgumentError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    sizes = []
    for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation, strict=True):
        out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        sizes.append(out - 1 if ceil_mode and out > 0 and (out - 1) * s >= n + p else out)  # as PyTorch's
    if min(sizes) < 1 or 0 in x.shape[1:]:
        raise ShapeError(f"{op}: the window does not fit: input shape {x.shape}, kernel_size {kernel}, stride "
                         f"{stride}, padding {padding}, dilation {dilation}, ceil_mode={ceil_mode} give an output "
                         f"of {_dims(sizes)}")
    return kernel, stride, padding, dilation


def _volume_indices(plane_idx: Tensor, depth_idx: Tensor, hw: int) -> Tensor:
    """The argmax of each box as a flat index into its D * H * W volume, from the (H, W) pool's
    indices (N, C * D, OH, OW) (flat in H * W) and the depth pool's (N, C, OD, OH * OW) (flat in
    D * (OH * OW), so also positions in plane_idx viewed as (N, C, D * OH * OW))."""
    n, c, out_depth, columns = depth_idx.shape
    flat = depth_idx.reshape(n, c, out_depth * columns)
    within_plane = gather(plane_idx.reshape(n, c, -1), -1, flat)
    return (within_plane + (flat // columns) * hw).reshape(n, c, out_depth, *plane_idx.shape[2:])


def _separable_max(x: Tensor, plane_pool: Any, depth_pool: Any, return_indices: bool) -> Any:
    """plane_pool (a 2-D max pool, with return_indices) of (N, C * D, H, W), then depth_pool of its
    result as (N, C, D, OH * OW): the pooled values (N, C, OD, OH, OW), and with return_indices the
    flat D * H * W argmax indices."""
    n, c, depth, h, w = x.shape
    plane = plane_pool(x.reshape(n, c * depth, h, w), return_indices)
    values = plane[0] if return_indices else plane
    out_hw = values.shape[2:]
    vol = depth_pool(values.reshape(n, c, depth, math.prod(out_hw)), return_indices)
    if not return_indices:
        return vol.reshape(n, c, vol.shape[2], *out_hw)
    return vol[0].reshape(n, c, vol[0].shape[2], *out_hw), _volume_indices(plane[1], vol[1], h * w)


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over (KD, KH, KW) windows of (N, C, D, H, W) or (C, D, H, W) (stride defaults to the
    kernel); with return_indices also the int64 argmax positions, flat within each D * H * W volume."""
    op = "max_pool3d"
    _require_float(op, input)
    x, unbatched = _as_5d(op, input)
    k, s, p, d = _pool_args(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    out = _separable_max(
        x,
        lambda t, ri: max_pool2d(t, k[1:], s[1:], p[1:], d[1:], ceil_mode, ri),
        lambda t, ri: max_pool2d(t, (k[0], 1), (s[0], 1), (p[0], 0), (d[0], 1), ceil_mode, ri),
        return_indices,
    )
    name_node(out[0] if return_indices else out, "MaxPool3DWithIndicesBackward0")
    return _from_5d(out, unbatched, return_indices)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """max_pool3d's values and indices, whatever return_indices says (as PyTorch's)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over (KD, KH, KW) windows of (N, C, D, H, W) or (C, D, H, W) (stride defaults to the
    kernel); with divisor_override (a nonzero int), each window's sum divided by it instead."""
    op = "avg_pool3d"
    _require_float(op, input)
    x, unbatched = _as_5d(op, input)
    k, s, p, _ = _pool_args(op, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise ArgumentError(f"{op}: divisor_override must not be 0 (None: each window's own divisor)")
    # with divisor_override, both stages sum (a divisor of 1) and the override divides once
    divisor = None if divisor_override is None else 1
    n, c, depth, h, w = x.shape
    plane = avg_pool2d(x.reshape(n, c * depth, h, w), k[1:], s[1:], p[1:], ceil_mode, count_include_pad, divisor)
    out_hw = plane.shape[2:]
    vol = avg_pool2d(plane.reshape(n, c, depth, math.prod(out_hw)), (k[0], 1), (s[0], 1), (p[0], 0), ceil_mode,
                     count_include_pad, divisor)
    out = vol.reshape(n, c, vol.shape[2], *out_hw)
    if divisor_override is not None:
        out = out / divisor_override
    return _from_5d(name_node(out, "AvgPool3DBackward0"), unbatched, False)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling of (N, C, D, H, W) or (C, D, H, W): each window's
    (sum of x ** norm_type) ** (1 / norm_type), computed as PyTorch's (as lp_pool2d)."""
    _require_float("lp_pool3d", input)
    kernel = _at_least("lp_pool3d", "kernel_size", kernel_size, 1)
    return _lp_from_average(avg_pool3d(input.pow(norm_type), kernel, stride, 0, ceil_mode), norm_type,
                            math.prod(kernel))


def _adaptive_triple(op: str, x: Tensor, output_size: Any) -> Triple:
    """An adaptive pool's output_size (an int, or a triple whose None entries keep that input size)."""
    sizes = (output_size,) * 3 if isinstance(output_size, (int, np.integer)) else output_size
    if not isinstance(sizes, (tuple, list)) or len(sizes) != 3:
        raise ArgumentError(f"{op}: output_size must be an int or a tuple of three, got {output_size!r}")
    out = tuple(n if size is None else int(size) for n, size in zip(x.shape[2:], sizes, strict=True))
    if min(out) < 1 or 0 in x.shape[1:]:
        raise ArgumentError(f"{op}: output_size must be >= 1 and the input non-empty, got output_size "
                            f"{output_size!r} for input shape {x.shape}")
    return out  # type: ignore[return-value]


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to output_size (an int or a triple; None
    keeps that size), windows as PyTorch's (from floor(i * D / out) to ceil((i + 1) * D / out))."""
    op = "adaptive_avg_pool3d"
    _require_float(op, input)
    x, unbatched = _as_5d(op, input)
    od, oh, ow = _adaptive_triple(op, x, output_size)
    n, c, depth, h, w = x.shape
    plane = adaptive_avg_pool2d(x.reshape(n, c * depth, h, w), (oh, ow))
    out = adaptive_avg_pool2d(plane.reshape(n, c, depth, oh * ow), (od, oh * ow)).reshape(n, c, od, oh, ow)
    return _from_5d(name_node(out, "AdaptiveAvgPool3DBackward0"), unbatched, False)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) to output_size (an int or a triple; None keeps
    that size), windows as adaptive_avg_pool3d's; with return_indices also the int64 argmax
    positions, flat within each D * H * W volume. The gradient goes to the argmax."""
    op = "adaptive_max_pool3d"
    _require_float(op, input)
    x, unbatched = _as_5d(op, input)
    od, oh, ow = _adaptive_triple(op, x, output_size)
    out = _separable_max(
        x,
        lambda t, ri: adaptive_max_pool2d(t, (oh, ow), ri),
        lambda t, ri: adaptive_max_pool2d(t, (od, oh * ow), ri),
        return_indices,
    )
    name_node(out[0] if return_indices else out, "AdaptiveMaxPool3DBackward0")
    return _from_5d(out, unbatched, return_indices)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """adaptive_max_pool3d's values and indices, whatever return_indices says (as PyTorch's)."""
    return adaptive_max_pool3d(input, output_size, return_indices=True)


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """The partial inverse of max_pool3d(..., return_indices=True): each value of input
    (N, C, D, H, W) or (C, D, H, W) written at its index (flat within an output D * H * W volume) of
    zeros, as PyTorch. The output is (D - 1) * stride - 2 * padding + kernel_size deep (high and
    wide alike), or output_size ((od, oh, ow) or (N, C, od, oh, ow), within a stride of that)."""
    kernel = _triple(kernel_size, "max_unpool3d: kernel_size")
    stride = kernel if stride is None else _triple(stride, "max_unpool3d: stride")
    out = _max_unpool("max_unpool3d", input, indices, kernel, stride, _triple(padding, "max_unpool3d: padding"),
                      output_size)
    return name_node(out, "MaxUnpool3DBackward0")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, D, H, W) or unbatched (C, D, H, W): zero whole channels with
    probability p, scale the rest by 1/(1-p); the identity when not training. Other ranks are
    PyTorch's deprecated use: a warning, then the first dimension's entries dropped whole."""
    _require_tensor("dropout3d", input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout3d: probability has to be between 0 and 1, got {p}")
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    return _dropout("dropout3d", input, p, training, inplace, channels=input.ndim >= 2, unbatched=input.ndim != 5)
