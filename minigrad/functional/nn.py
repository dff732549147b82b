"""Neural-network ops: linear, convolution, pooling, activations, softmax, dropout, normalisation."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import backends
from minigrad import random as _random
from minigrad.autograd import Function, is_grad_enabled, name_node, no_grad
from minigrad.backend import get_backend
from minigrad.functional._common import (
    ArgumentError,
    DimIndexError,
    DtypeError,
    NoKernelForDtypeError,
    NotImplementedArgumentError,
    ShapeError,
    _broadcast_shape,
    _dim,
    _from_host,
    _require_float,
    _require_same_device,
    _require_same_dtype,
    _require_tensor,
    numpy_aliases,
)
from minigrad.functional.elementwise import _float, clamp, expm1, mul, rsqrt, sign, softplus, where
from minigrad.functional.elementwise import abs as _abs  # the differentiable abs, not the builtin
from minigrad.functional.linalg import _matmul_node, matmul
from minigrad.functional.reduce import mean, norm
from minigrad.functional.reduce import sum as _sum  # the differentiable sum, not the builtin
from minigrad.functional.shape import (
    IndexOp,
    cat,
    expand,
    gather,
    index,
    index_add,
    index_put,
    index_select,
    pad,
    reshape,
    scatter,
    stack,
    unsqueeze,
)
from minigrad.tensor import Tensor, finfo, int64

# --- neural-network ops ------------------------------------------------------------------------


class LinearOp(Function):
    """x (..., in) @ weight (out, in)^T + bias (out,): one GEMM, which adds the bias as it writes."""

    __slots__ = ()

    def forward(self, x, weight, bias):
        be = self.be
        flat = x.ndim != 2  # 2-D inputs skip the reshapes (a Linear call's overhead was ~20 us at 1 thread)
        # the rows' count, not -1: numpy cannot infer it next to a 0
        x2 = be.reshape(x, (math.prod(x.shape[:-1]), x.shape[-1])) if flat else x
        y = be.linear(x2, weight, bias)
        # x only for the weight's gradient, the weight only for x's
        self.saved = (x2 if self.needs_grad(1) else None, weight if self.needs_grad(0) else weight.shape, x.shape)
        return be.reshape(y, x.shape[:-1] + (weight.shape[0],)) if flat else y

    def backward(self, g):
        x2, weight, x_shape = self.saved
        be = self.be
        out_features = weight[0] if isinstance(weight, tuple) else weight.shape[0]
        g2 = be.reshape(g, (math.prod(x_shape[:-1]), out_features))
        gx = be.reshape(be.matmul(g2, weight), x_shape) if self.needs_grad(0) else None
        gw = be.matmul(be.permute(g2, (1, 0)), x2) if self.needs_grad(1) else None
        gb = be.bias_grad(g2) if self.needs_grad(2) else None
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, weight (out_features, in_features) as PyTorch; a 1-D weight
    (in_features,) gives input @ weight (one feature fewer). bias is added as PyTorch adds it: with
    addmm to the output flattened to (rows, out_features) for a 2-D input, and for a contiguous
    one of other dims with a bias that is 1-D or squeezes to 1-D; else in place to the output.
    Either way it must broadcast to that shape without growing it (PyTorch's fused addmm refuses a
    bias with a 1-D weight, but for one element added to a 1-D or 3-D or more input)."""
    _require_float("linear", input, weight, bias)
    _require_tensor("linear", weight)
    if weight.ndim not in (1, 2):
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features) or 1-D, got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise ShapeError(
            f"linear: input shape {input.shape} has "
            f"{input.shape[-1] if input.ndim else 0} features but weight shape "
            f"{weight.shape} expects {weight.shape[-1]}"
        )
    if weight.dtype != input.dtype or (bias is not None and bias.dtype != input.dtype):
        raise DtypeError(
            f"linear: input, weight and bias must share a dtype, got "
            f"{input.dtype}, {weight.dtype}" + (f", {bias.dtype}" if bias is not None else "")
        )
    if weight.ndim == 1:
        if bias is not None and (input.ndim == 2 or bias.ndim == 1 or bias.numel() != 1):
            raise RuntimeError("linear: mat2 must be a matrix, got 1-D tensor (PyTorch's addmm of a 1-D weight "
                               "and this bias)")
        out = matmul(input, weight)
        return out if bias is None else _add_bias(out, bias, flattened=False)
    fused = bias is not None and bias.shape == (weight.shape[0],)
    out = LinearOp.apply(input, weight, bias if fused else None)
    if bias is None:  # PyTorch's last node: that of its matmul
        return name_node(out, _matmul_node(input.ndim, 2))
    flattened = input.ndim != 2 and _added_to_flattened(input, bias)
    if not fused:
        out = _add_bias(out, bias, flattened)
    if input.ndim == 2:  # a Linear layer's usual call: PyTorch's AddmmBackward0,
        return out if fused else name_node(out, "AddmmBackward0")  # LinearOp's own name (_TORCH_OP_NAMES)
    # PyTorch's last node: the view of its addmm back to input's batch dims, or its in-place add
    return name_node(out, "ViewBackward0" if flattened else "AddBackward0")


def _added_to_flattened(input: Tensor, bias: Tensor) -> bool:
    """Whether PyTorch's linear adds bias with addmm to the output flattened to 2-D, for an input of
    other than 2 dims: for a bias of one dimension (or of one of size other than 1), both contiguous."""
    return (bias.ndim == 1 or sum(n != 1 for n in bias.shape) == 1) and bias.is_contiguous() \
        and input.is_contiguous()


def _add_bias(out: Tensor, bias: Tensor, flattened: bool) -> Tensor:
    """out + bias, for linear: added to out flattened to (rows, out_features) (PyTorch's addmm), or
    to out itself (PyTorch's in-place add); bias must broadcast to that shape without growing it."""
    shape = (math.prod(out.shape[:-1]), out.shape[-1]) if flattened else out.shape
    try:
        fits = np.broadcast_shapes(shape, bias.shape) == shape
    except ValueError:
        fits = False
    if not fits:
        where = " (the output flattened to 2-D, to which PyTorch's addmm adds it)" if flattened else ""
        raise ShapeError(f"linear: bias shape {bias.shape} does not broadcast to the output shape {shape}{where}")
    return reshape(reshape(out, shape) + bias, out.shape) if flattened else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x1^T A x2 + b for each of weight's out_features matrices A, as torch.nn.functional.bilinear:
    input1 (..., in1_features) and input2 (..., in2_features) with the same leading dims, weight
    (out_features, in1_features, in2_features), bias (out_features,); (..., out_features)."""
    _require_float("bilinear", input1, input2, weight, bias)
    _require_same_dtype("bilinear", input1, input2, weight, bias)
    if input1.ndim != input2.ndim or input1.ndim == 0:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    for a, b in zip(input1.shape[:-1], input2.shape[:-1], strict=True):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {a} and {b}")
    if weight.ndim != 3:
        raise RuntimeError("bilinear(): weight must be 3-D (out_features, in1_features, in2_features), got shape "
                           f"{tuple(weight.shape)}")
    out_features, in1, in2 = weight.shape
    for which, got, expected in (("input1", input1.shape[-1], in1), ("input2", input2.shape[-1], in2)):
        if got != expected:
            raise RuntimeError(f"bilinear(): {which} size does not match weight size: got {got} but expected "
                               f"{expected}")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_features):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {tuple(bias.shape)} but expected "
                           f"({out_features},)")
    lead = tuple(input1.shape[:-1])
    # x1 (B, in1) @ A as (in1, out * in2): each x1^T A_o as a row (B, out, in2), then dotted with x2
    mixed = input1.reshape(-1, in1) @ weight.permute(1, 0, 2).reshape(in1, out_features * in2)
    out = _sum(mixed.reshape(-1, out_features, in2) * unsqueeze(input2.reshape(-1, in2), 1), 2)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, out_features)


def same_padding(weight_shape: Sequence[int], dilation: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """(before, after) rows and columns of padding that keep a stride-1 convolution's output the
    size of its input: dilation * (k - 1) in all, split as PyTorch does (the odd one after)."""
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    totals = (dh * (weight_shape[2] - 1), dw * (weight_shape[3] - 1))
    return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]


def _conv_padding(input: Tensor, padding: Any, weight_shape: tuple, dilation: Any, stride: Any) -> tuple[Tensor, Any]:
    """PyTorch's 'valid' and 'same' paddings as numbers; an uneven 'same' split pads input's
    bottom and right edges by the odd row and column first."""
    if padding == "valid":
        return input, 0
    if padding == "same":
        if stride not in (1, (1, 1)):
            raise ArgumentError("conv2d: padding='same' is not supported for strided convolutions")
        (top, bottom), (left, right) = same_padding(weight_shape, dilation)
        if (bottom, right) != (top, left):
            input = pad(input, (0, right - left, 0, bottom - top))
        return input, (top, left)
    if isinstance(padding, str):
        raise ArgumentError(f"conv2d: padding must be 'valid', 'same', an int or a pair of ints, got {padding!r}")
    return input, padding


class Conv2dOp(Function):
    __slots__ = ("stride", "padding", "dilation", "groups")

    def forward(self, x, weight, bias, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.saved = (x, weight)
        return self.be.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)

    def backward(self, g):
        x, weight = self.saved
        return self.be.conv2d_backward(
            g,
            x,
            weight,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.needs_grad(0),
            self.needs_grad(1),
            self.needs_grad(2),
        )


def _batched(apply: Any, input: Tensor) -> Tensor:
    """apply(input) for the 4-D kernels. An unbatched (C, H, W) input runs as a batch of one, as in
    PyTorch. The kernels refuse an empty batch, which PyTorch accepts: then apply runs on one
    zero image after the empty ones and its result is dropped, so the checks, the output shape and
    the (zero) gradients are those of a real call. The kernels' shape checks (channels, a window
    larger than the input) raise ValueError; they come out as ShapeError, a RuntimeError too, as
    PyTorch's ("Given groups=1, weight of size ...")."""
    if input.ndim == 3:
        return _batched(apply, unsqueeze(input, 0)).squeeze(0)
    try:
        if input.ndim != 4 or input.shape[0] != 0:
            return apply(input)
        one = Tensor._make(get_backend(input.device).full((1, *input.shape[1:]), 0, input.dtype), input.device)
        return apply(cat([input, one]))[:0]
    except ShapeError:
        raise
    except ValueError as exc:
        raise ShapeError(str(exc)) from exc


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution of input (N, C_in, H, W) with weight (C_out, C_in/groups, KH, KW)."""
    _require_float("conv2d", input, weight, bias)
    _require_tensor("conv2d", weight)
    input, padding = _conv_padding(input, padding, weight.shape, dilation, stride)
    _require_same_dtype("conv2d", input, weight, bias)  # a RuntimeError, as PyTorch's (the kernel's: TypeError)
    return _batched(
        lambda x: Conv2dOp.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups),
        input,
    )


def _pair_arg(value: Any, name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair (the conv and pool arguments)."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


class ConvTranspose2dOp(Function):
    """The transposed convolution is conv2d's input gradient: of the convolution (same weight,
    stride, padding, dilation, groups) whose input has this op's output shape, with x as its
    output gradient. Its own gradients are conv2d's forward (for x) and weight gradient."""

    __slots__ = ("stride", "padding", "dilation", "groups")

    def forward(self, x, weight, bias, stride, padding, dilation, groups, out_hw):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.saved = (x, weight)
        be = self.be
        # the convolution's input: only its shape is read, as no weight gradient is asked for
        canvas = be.empty((x.shape[0], weight.shape[1] * groups, *out_hw), x.dtype)
        y = be.conv2d_backward(x, canvas, weight, stride, padding, dilation, groups, True, False, False)[0]
        return y if bias is None else be.bias_add(y, bias)

    def backward(self, g):
        x, weight = self.saved
        be, args = self.be, (self.stride, self.padding, self.dilation, self.groups)
        gx = be.conv2d_forward(g, weight, None, *args) if self.needs_grad(0) else None
        gw = be.conv2d_backward(x, g, weight, *args, False, True, False)[1] if self.needs_grad(1) else None
        gb = be.bias_grad(g) if self.needs_grad(2) else None
        return gx, gw, gb


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """The transposed convolution ("deconvolution"; conv2d's gradient with respect to its input)
    of input (N, C_in, H, W) with weight (C_in, C_out / groups, KH, KW): output (N, C_out, OH, OW),
    OH = (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1 (OW alike).
    output_padding adds rows and columns at the bottom and right (< stride or < dilation)."""
    _require_float("conv_transpose2d", input, weight, bias)
    _require_tensor("conv_transpose2d", weight)
    if weight.ndim != 4:
        raise ShapeError(f"conv_transpose2d: weight must be 4-D (C_in, C_out / groups, KH, KW), got {weight.shape}")
    if input.ndim not in (3, 4):
        raise ShapeError(f"conv_transpose2d: input must be 3-D or 4-D (N, C_in, H, W), got shape {input.shape}")
    if not isinstance(groups, (int, np.integer)) or groups < 1 or weight.shape[0] % groups:
        raise ArgumentError(f"conv_transpose2d: groups={groups} must be a positive divisor of C_in={weight.shape[0]}")
    if input.shape[-3] != weight.shape[0]:
        raise ShapeError(
            f"conv_transpose2d: input has {input.shape[-3]} channels, weight {tuple(weight.shape)} "
            f"expects {weight.shape[0]}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[1] * groups,):
        raise ShapeError(
            f"conv_transpose2d: bias must have shape ({weight.shape[1] * groups},) (the output channels), "
            f"got {tuple(bias.shape)}"
        )
    stride, padding = _pair_arg(stride, "conv_transpose2d: stride"), _pair_arg(padding, "conv_transpose2d: padding")
    dilation = _pair_arg(dilation, "conv_transpose2d: dilation")
    output_padding = _pair_arg(output_padding, "conv_transpose2d: output_padding")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(output_padding) < 0:
        raise ArgumentError(
            f"conv_transpose2d: stride {stride} and dilation {dilation} must be >= 1, padding {padding} and "
            f"output_padding {output_padding} >= 0"
        )
    if any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation, strict=True)):
        raise ArgumentError(
            f"conv_transpose2d: output_padding {output_padding} must be smaller than either stride {stride} "
            f"or dilation {dilation}"
        )
    out_hw = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(input.shape[-2:], stride, padding, dilation, weight.shape[2:], output_padding,
                                    strict=True)
    )
    if min(out_hw) < 1:
        raise ShapeError(
            f"conv_transpose2d: input {tuple(input.shape)}, weight {tuple(weight.shape)}, stride {stride}, "
            f"padding {padding}, dilation {dilation} give an output of {out_hw[0]} x {out_hw[1]}"
        )
    # output_padding >= stride (allowed when dilation is larger) makes the equivalent convolution's
    # output a row or column longer than input: zero rows and columns of input stand in for it
    extra = [o // s for o, s in zip(output_padding, stride, strict=True)]
    if any(extra):
        input = pad(input, (0, extra[1], 0, extra[0]))
    _require_same_dtype("conv_transpose2d", input, weight, bias)  # as conv2d's
    return _batched(
        lambda x: ConvTranspose2dOp.apply(
            x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups, out_hw=out_hw
        ),
        input,
    )


class MaxPool2dOp(Function):
    __slots__ = ("indices", "windows")
    relu = False  # the kernel's fused ReLU (ReLUMaxPool2dOp)

    def forward(self, x, kernel_size, stride, padding, dilation, ceil_mode):
        # the argmax indices only for the backward pass (None when x needs no gradient)
        y, self.indices = self.be.max_pool2d_forward(
            x, kernel_size, stride, padding, dilation, ceil_mode, relu=self.relu, need_indices=self.needs_grad(0)
        )
        self.saved = (x.shape,)
        self.windows = (kernel_size, stride, dilation)  # parsed only where the deterministic switch asks
        return y

    def _windows_overlap(self) -> bool:
        kernel_size, stride, dilation = self.windows
        kernel, dilations = _pair_arg(kernel_size, "kernel_size"), _pair_arg(dilation, "dilation")
        strides = kernel if stride is None or stride == () else _pair_arg(stride, "stride")
        return any(s < (k - 1) * d + 1 for k, s, d in zip(kernel, strides, dilations, strict=True))

    def _input_grad(self, g, shape):
        # CUDA adds the gradients of overlapping windows in atomics, in no fixed order
        if self.be.device == "cuda" and backends.are_deterministic_algorithms_enabled() and self._windows_overlap():
            backends.alert_not_deterministic("max_pool2d_backward_cuda")
        return self.be.max_pool2d_backward(g, self.indices, shape)

    def backward(self, g):
        return (self._input_grad(g, self.saved[0]),)


class ReLUMaxPool2dOp(MaxPool2dOp):
    """max_pool2d(relu(x)) as relu(max_pool2d(x)) in one kernel pass: the same values, and
    the same gradients (relu is monotone, so both pick the same window maxima; a window
    whose maximum is <= 0 passes no gradient either way). The ReLU runs on the pooled
    output, a quarter of x for 2x2 windows, instead of on all of x forward and backward."""

    __slots__ = ()
    relu = True

    def forward(self, x, kernel_size, stride, padding, dilation, ceil_mode):
        y = super().forward(x, kernel_size, stride, padding, dilation, ceil_mode)
        self.saved = (x.shape, y)  # y for the ReLU's gradient
        return y

    def backward(self, g):
        shape, y = self.saved
        return (self._input_grad(self.be.relu_backward(g, y), shape),)


def relu_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """max_pool2d(relu(input), ...), fused: what conv -> ReLU -> max-pool blocks compute."""
    return _apply_max_pool(ReLUMaxPool2dOp, "relu_max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def _apply_max_pool(cls, name: str, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode) -> Tensor:
    _require_float(name, input)
    return _batched(
        lambda x: cls.apply(
            x, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        ),
        input,
    )


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over windows of (N, C, H, W); with return_indices also the int64 argmax positions
    within each input H*W plane."""
    if return_indices and input.ndim == 3:  # unbatched: the indices come from the batch of one's node
        out, idx = max_pool2d(unsqueeze(input, 0), kernel_size, stride, padding, dilation, ceil_mode, True)
        return out.squeeze(0), idx.squeeze(0)
    out = _apply_max_pool(MaxPool2dOp, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return out
    fn = out.grad_fn
    if input.numel() == 0:
        idx = get_backend(input.device).full(out.shape, 0, np.int64)
    elif fn is None:  # not recorded: the indices were dropped with the node, compute them again
        _, idx = get_backend(input.device).max_pool2d_forward(
            input._data, kernel_size, stride, padding, dilation, ceil_mode
        )
    else:
        idx = fn.indices
    return out, Tensor._make(idx, input.device)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """max_pool2d's values and indices, whatever return_indices says (as PyTorch's)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


class AvgPool2dOp(Function):
    __slots__ = ("args",)

    def forward(self, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        self.args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.saved = (x.shape,)
        return self.be.avg_pool2d_forward(x, *self.args)

    def backward(self, g):
        return (self.be.avg_pool2d_backward(g, self.saved[0], *self.args),)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over windows of (N, C, H, W); with divisor_override (a nonzero int), each window's
    sum divided by it instead, as PyTorch."""
    _require_float("avg_pool2d", input)
    return _batched(
        lambda x: AvgPool2dOp.apply(
            x,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
        ),
        input,
    )


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling of (N, C, H, W): each window's (sum of x ** norm_type) ** (1 / norm_type),
    computed as PyTorch does, from the window mean times the window size (so a window that
    ceil_mode cuts short scales as PyTorch's)."""
    _require_float("lp_pool2d", input)
    kh, kw = _pair_arg(kernel_size, "lp_pool2d: kernel_size")
    return _lp_from_average(avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode), norm_type, kh * kw)


def _lp_from_average(out: Tensor, norm_type: float, window: int) -> Tensor:
    """Power-average pooling from the window means of x ** norm_type (out) over windows of window
    elements, as PyTorch's lp_pool2d/3d (negative means, from odd powers, give 0)."""
    return (sign(out) * relu(_abs(out))).mul(window).pow(1.0 / norm_type)


class _Activation(Function):
    """y = be.<kernel>(x); backward from y through the fused be.<kernel>_backward(dy, y)."""

    __slots__ = ()
    kernel = ""

    def forward(self, x):
        y = getattr(self.be, self.kernel)(x)
        self.saved = (y,)
        return y

    def backward(self, g):
        return (getattr(self.be, self.kernel + "_backward")(g, self.saved[0]),)


class ReLUOp(_Activation):
    __slots__ = ()
    kernel = "relu"


class SigmoidOp(_Activation):
    __slots__ = ()
    kernel = "sigmoid"


class TanhOp(_Activation):
    __slots__ = ()
    kernel = "tanh"


class LeakyReLUOp(Function):
    """x where x > 0, else slope * x: the leaky_relu kernels (backward from x)."""

    __slots__ = ("slope",)

    def forward(self, x, slope):
        self.slope = slope
        self.saved = (x,)
        return self.be.leaky_relu(x, slope)

    def backward(self, g):
        return (self.be.leaky_relu_backward(g, self.saved[0], self.slope),)


def _clamp_at_zero(input: Tensor) -> Tensor:
    return clamp(input, min=0)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0); inplace=True writes it into input and returns input. Integer tensors are
    clamped, as PyTorch's."""
    if isinstance(input, Tensor) and input.dtype.kind in "iu":
        return input._inplace("relu", _clamp_at_zero) if inplace else _clamp_at_zero(input)
    _require_float("relu", input)
    if inplace:
        return input._inplace("relu", ReLUOp.apply)
    return ReLUOp.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input where positive, else negative_slope * input; inplace=True writes it into input."""
    _require_float("leaky_relu", input)
    if inplace:
        return input._inplace("leaky_relu", lambda x: LeakyReLUOp.apply(x, slope=negative_slope))
    return LeakyReLUOp.apply(input, slope=negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    _require_tensor("sigmoid", input)
    return SigmoidOp.apply(_float(input))


def tanh(input: Tensor) -> Tensor:
    _require_tensor("tanh", input)
    return TanhOp.apply(_float(input))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """input * sigmoid(input) (swish); inplace=True writes it into input."""
    _require_float("silu", input)
    if inplace:
        return input._inplace("silu", silu)
    return name_node(input * sigmoid(input), "SiluBackward0")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """input where positive, alpha * (exp(input) - 1) elsewhere; inplace=True writes it into input."""
    _require_float("elu", input)
    if inplace:
        return input._inplace("elu", lambda x: elu(x, alpha))
    # clamped: the negative branch is computed and differentiated everywhere, so it must stay finite
    # where input > 0 (1 - tanh(x / 2) reaches 0), or its zero gradient there would become nan
    return name_node(where(input > 0, input, expm1(clamp(input, max=0.0)) * alpha), "EluBackward0")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """input * tanh(softplus(input)); inplace=True writes it into input."""
    _require_float("mish", input)
    if inplace:
        return input._inplace("mish", mish)
    return input * tanh(softplus(input))


def _swap_last(ndim: int, dim: int) -> tuple[int, ...]:
    """The permutation exchanging dim and the last axis (its own inverse)."""
    axes = list(range(ndim))
    axes[dim], axes[-1] = axes[-1], axes[dim]
    return tuple(axes)


class _Softmax(Function):
    """(log-)softmax over dim through be.<kernel> and be.<kernel>_backward(y, dy); the kernels work
    on the last axis, so dim is moved there."""

    __slots__ = ("axes",)
    kernel = ""

    def forward(self, x, dim):
        be = self.be
        self.axes = None if dim == x.ndim - 1 else _swap_last(x.ndim, dim)
        if self.axes is not None:
            x = be.permute(x, self.axes)
        y = getattr(self.be, self.kernel)(x)
        self.saved = (y,)
        return y if self.axes is None else be.permute(y, self.axes)

    def backward(self, g):
        be = self.be
        if self.axes is not None:
            g = be.permute(g, self.axes)
        dx = getattr(self.be, self.kernel + "_backward")(self.saved[0], g)
        return (dx if self.axes is None else be.permute(dx, self.axes),)


class SoftmaxOp(_Softmax):
    __slots__ = ()
    kernel = "softmax"


class LogSoftmaxOp(_Softmax):
    __slots__ = ()
    kernel = "log_softmax"


def _softmax_dim(input: Tensor, dim: int | None, op: str) -> int:
    if dim is None:  # PyTorch's legacy implicit choice, and its warning (stacklevel: the caller of softmax)
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X "
                      "as an argument.", UserWarning, stacklevel=4)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return _dim(dim, input.ndim, op)


@numpy_aliases
def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) over dim, numerically stable; with dtype, of input cast to it first
    (_stacklevel only completes PyTorch's signature)."""
    if dtype is not None:
        input = input.to(dtype)
    _require_float("softmax", input)
    if input.ndim == 0:
        return softmax(unsqueeze(input, 0), 0).reshape(())
    return SoftmaxOp.apply(input, dim=_softmax_dim(input, dim, "softmax"))


@numpy_aliases
def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """log(softmax(x)) over dim, computed stably; with dtype, of input cast to it first."""
    if dtype is not None:
        input = input.to(dtype)
    _require_float("log_softmax", input)
    if input.ndim == 0:
        return log_softmax(unsqueeze(input, 0), 0).reshape(())
    return LogSoftmaxOp.apply(input, dim=_softmax_dim(input, dim, "log_softmax"))


class DropoutOp(Function):
    """x times a mask of mask_shape (x's, or (N, C, 1, 1) to drop whole channels), broadcast."""

    __slots__ = ()

    def forward(self, x, p, mask_shape):
        mask = self.be.dropout_mask(_random.generator(), mask_shape, p, x.dtype)
        self.saved = (mask,)
        return self.be.mul(x, mask)

    def backward(self, g):
        return (self.be.mul(g, self.saved[0]),)


def _dropout_applies(op: str, input: Tensor, p: float, training: bool) -> bool:
    """Whether a dropout op changes input (training, p > 0); checks p and the dtype."""
    if not 0.0 <= p <= 1.0:  # nn.functional's: a ValueError; torch.dropout's and the like: a RuntimeError
        raise ArgumentError(f"{op}: probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return False
    _require_float(op, input)
    return True


def _dropout(
    op: str, input: Tensor, p: float, training: bool, inplace: bool, channels: bool, unbatched: bool = False
) -> Tensor:
    """Elementwise dropout, or with channels whole channels of (N, C, ...) ((C, ...) when unbatched)."""
    if not _dropout_applies(op, input, p, training):
        return input
    if inplace:
        return input._inplace(op, lambda x: _dropout(op, x, p, training, False, channels, unbatched))
    if p == 1.0:
        return mul(input, 0.0)
    if channels and input.ndim < 2:
        raise ShapeError(f"{op}: expected (N, C, ...) or (C, ...) input, got shape {input.shape}")
    lead = 1 if unbatched else 2
    mask_shape = input.shape[:lead] + (1,) * (input.ndim - lead) if channels else input.shape
    return DropoutOp.apply(input, p=p, mask_shape=mask_shape)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p);
    the identity when not training. Masks come from minigrad.manual_seed's generator."""
    return _dropout("dropout", input, p, training, inplace, channels=False)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, H, W): zero whole channels with probability p, scale the rest."""
    return _dropout("dropout2d", input, p, training, inplace, channels=True)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, L) or unbatched (C, L): zero whole channels with probability p,
    scale the rest by 1/(1-p); the identity when not training."""
    if input.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected (N, C, L) or (C, L) input, got shape {input.shape}")
    return _dropout("dropout1d", input, p, training, inplace, channels=True, unbatched=input.ndim == 2)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Channel dropout of input (N, C, ...) of any rank >= 2 (the first two dimensions taken for N
    and C): each (n, c) slice zeroed with probability p, the rest scaled by 1 / (1 - p), as
    torch.feature_dropout; the identity when not train."""
    _require_feature_rank(input, p, train)
    return _dropout("feature_dropout", input, p, train, False, channels=True)


def _require_feature_rank(input: Tensor, p: float, training: bool) -> None:
    """PyTorch's feature dropouts' check of a training call's input (after p's)."""
    _require_tensor("feature dropout", input)
    if training and 0.0 <= p <= 1.0 and input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")


# SELU's -scale * alpha: the value a dropped unit takes, as PyTorch's alpha dropout
_ALPHA_PRIME = 1.7580993408473766


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's zero mean and unit variance: each element set to -alpha' with
    probability p, then all scaled by a and shifted by b, as PyTorch (a = 1 / sqrt((alpha'^2 p + 1)
    (1 - p)), b = alpha' a p); the identity when not training, zeros for p = 1."""
    return _alpha_dropout("alpha_dropout", input, p, training, inplace, feature=False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """alpha_dropout of whole channels: each (n, c) slice of input (N, C, ...) set to -alpha' with
    probability p (one draw per slice), then all scaled and shifted as alpha_dropout's, as PyTorch
    (whose feature dropout takes the first two dimensions for N and C at every rank); the identity
    when not training, zeros for p = 1."""
    _require_feature_rank(input, p, training)
    return _alpha_dropout("feature_alpha_dropout", input, p, training, inplace, feature=True)


def _alpha_dropout(op: str, input: Tensor, p: float, training: bool, inplace: bool, feature: bool) -> Tensor:
    """alpha_dropout, drawing one keep-or-drop per element or (feature) per (n, c) slice."""
    if not _dropout_applies(op, input, p, training):
        return input
    if inplace:
        return input._inplace(op, lambda x: _alpha_dropout(op, x, p, training, False, feature))
    if p == 1.0:
        return mul(input, 0.0)
    be = get_backend(input.device)
    shape = input.shape[:2] + (1,) * (input.ndim - 2) if feature else input.shape
    # the dropout mask's nonzeros are exactly the kept elements
    keep = Tensor._make(be.dropout_mask(_random.generator(), shape, p, input.dtype), input.device) != 0
    keep = keep.to(input.dtype)
    a = 1.0 / math.sqrt((_ALPHA_PRIME**2 * p + 1) * (1 - p))
    return input * (keep * a) + ((keep - 1) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p)


class BatchNormOp(Function):
    __slots__ = ("training", "eps")

    def forward(self, x, weight, bias, running_mean, running_var, training, momentum, eps):
        self.training, self.eps = training, eps
        y, save_mean, save_invstd = self.be.batch_norm_forward(
            x, weight, bias, running_mean, running_var, training, momentum, eps
        )
        self.saved = (x, weight, save_mean, save_invstd)
        return y

    def backward(self, g):
        x, weight, save_mean, save_invstd = self.saved
        dx, dw, db = self.be.batch_norm_backward(g, x, weight, save_mean, save_invstd, self.training)
        return dx, dw, db


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization over axis 1 of (N, C, ...): batch statistics when training (and the
    running statistics updated in place), the running statistics otherwise."""
    _require_float("batch_norm", input, weight, bias)
    _require_same_device("batch_norm", input, running_mean, running_var, weight, bias)
    if input.ndim < 2:
        raise DimIndexError(f"batch_norm: expected input (N, C, ...), got shape {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ArgumentError("batch_norm: running_mean and running_var are needed when not training")
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (input.shape[1],):  # a layer for another channel count: PyTorch's RuntimeError
            raise ShapeError(f"batch_norm: {name} should contain {input.shape[1]} elements (the channels of input "
                             f"shape {input.shape}), not shape {t.shape}")
        if t is not None and t.dtype != input.dtype:  # a float32 layer given float64 input: PyTorch's RuntimeError
            raise DtypeError(f"batch_norm: {name} dtype {t.dtype} differs from the input's {input.dtype}")
    if training and input.numel() == 0:
        # PyTorch: an empty batch normalizes to an empty result and leaves the running statistics
        # as they were; the kernel's eval path gives that, given stand-in statistics
        be, stats_shape = get_backend(input.device), (input.shape[1],)
        running_mean = Tensor._make(be.full(stats_shape, 0, input.dtype), input.device)
        running_var = Tensor._make(be.full(stats_shape, 1, input.dtype), input.device)
        training = False
    if training and input.numel() // input.shape[1] <= 1:
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training, got input shape {input.shape}"
        )
    return BatchNormOp.apply(
        input,
        weight,
        bias,
        running_mean=None if running_mean is None else running_mean._data,
        running_var=None if running_var is None else running_var._data,
        training=training,
        momentum=momentum,
        eps=eps,
    )


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta, as PyTorch
    (composed from existing ops: zero-padded channel window sums)."""
    _require_float("local_response_norm", input)
    if input.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected input (N, C, ...) with 3 or more dimensions, got shape {input.shape}"
        )
    channels = input.shape[1]
    square = input * input
    before, after = size // 2, (size - 1) // 2
    pad_shape = list(input.shape)
    parts = []
    for n in (before, after):
        pad_shape[1] = n
        parts.append(_zeros(input, tuple(pad_shape)))
    padded = cat([parts[0], square, parts[1]], 1)
    window = padded[:, 0:channels]
    for i in range(1, size):
        window = window + padded[:, i : i + channels]
    div = (window * (alpha / size) + k) ** beta
    return input / div


def _check_affine(op: str, input: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple) -> None:
    """A normalisation's optional weight and bias have the given shape and input's dtype."""
    for name, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        if t.shape != shape:  # PyTorch: RuntimeError
            raise ShapeError(f"{op}: expected {name} of shape {shape}, got {t.shape} (input shape {input.shape})")
        if t.dtype != input.dtype:  # PyTorch: "mixed dtype (CPU): all inputs must share same datatype."
            raise DtypeError(f"{op}: {name} dtype {t.dtype} differs from the input's {input.dtype}")


class LayerNormOp(Function):
    """(x - mean) / sqrt(var + eps) * weight + bias over x's trailing normalized_ndim dimensions,
    var the biased variance, in one kernel each way (the layer_norm_forward/backward kernels)."""

    __slots__ = ("normalized_ndim", "eps")

    def forward(self, x, weight, bias, normalized_ndim, eps):
        self.normalized_ndim, self.eps = normalized_ndim, eps
        y, save_mean, save_invstd = self.be.layer_norm_forward(x, weight, bias, normalized_ndim, eps)
        self.saved = (x, weight, save_mean, save_invstd)
        return y

    def backward(self, g):
        x, weight, save_mean, save_invstd = self.saved
        param_grads = self.needs_grad(1) or self.needs_grad(2)
        return self.be.layer_norm_backward(g, x, weight, save_mean, save_invstd, self.normalized_ndim, param_grads)


def _scale_shift(input: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple) -> Tensor:
    """input * weight + bias, each viewed as shape to broadcast (an absent one skipped)."""
    if weight is not None:
        input = input * weight.reshape(shape)
    if bias is not None:
        input = input + bias.reshape(shape)
    return input


def _normalized_shape(op: str, input: Tensor, normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    """normalized_shape as a tuple, checked to be non-empty and to end input's shape."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(
        int(n) for n in normalized_shape
    )
    if not shape:
        raise ArgumentError(f"{op}: normalized_shape must have at least one dimension, got ()")
    k = len(shape)
    if input.ndim < k or input.shape[input.ndim - k :] != shape:
        raise ShapeError(
            f"{op}: normalized_shape {shape} expects input of shape (*, {', '.join(map(str, shape))}), "
            f"got {input.shape}"
        )
    return shape


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing dimensions normalized_shape: (x - mean) / sqrt(var + eps) with
    the biased variance, then * weight + bias (both of normalized_shape), as PyTorch."""
    _require_float("layer_norm", input, weight, bias)
    shape = _normalized_shape("layer_norm", input, normalized_shape)
    _check_affine("layer_norm", input, weight, bias, shape)
    return LayerNormOp.apply(input, weight, bias, normalized_ndim=len(shape), eps=eps)


def rms_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """Root-mean-square normalisation over the trailing dimensions normalized_shape:
    input / sqrt(mean(input^2) + eps) * weight, as PyTorch; eps None is finfo(input.dtype).eps."""
    _require_float("rms_norm", input, weight)
    shape = _normalized_shape("rms_norm", input, normalized_shape)
    _check_affine("rms_norm", input, weight, None, shape)
    eps = finfo(input.dtype).eps if eps is None else eps
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * rsqrt(mean(input * input, axes, keepdim=True) + eps)
    return _scale_shift(out, weight, None, shape)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise (N, C, ...) over each group of C / num_groups channels together with the other
    dimensions (biased variance), then * weight + bias per channel (both (C,)), as PyTorch."""
    _require_float("group_norm", input, weight, bias)
    if input.ndim < 2:
        raise ShapeError(f"group_norm: expected input (N, C, ...) with at least 2 dimensions, got shape {input.shape}")
    n, c = input.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise ShapeError(
            f"group_norm: the {c} channels of input shape {input.shape} are not divisible by num_groups={num_groups}"
        )
    _check_affine("group_norm", input, weight, bias, (c,))
    grouped = input.reshape(n, num_groups, c // num_groups * math.prod(input.shape[2:]))
    out = LayerNormOp.apply(grouped, None, None, normalized_ndim=1, eps=eps).reshape(input.shape)
    return _scale_shift(out, weight, bias, (c,) + (1,) * (input.ndim - 2))


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each sample's channel of (N, C, ...) over its own values (use_input_stats), or with
    the running statistics (C,); then * weight + bias per channel. As PyTorch, this is batch_norm
    over (1, N C, ...), the running statistics updated with the average over the samples."""
    _require_float("instance_norm", input, weight, bias)
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, ...) with at least 3 dimensions, got {input.shape}")
    n, c = input.shape[:2]
    _check_affine("instance_norm", input, weight, bias, (c,))
    if (running_mean is None) != (running_var is None) or (not use_input_stats and running_mean is None):
        raise ValueError("instance_norm: give running_mean and running_var together (both needed when "
                         "use_input_stats is False)")
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and tuple(stat.shape) != (c,):
            raise ShapeError(f"instance_norm: {name} must have shape ({c},), got {tuple(stat.shape)}")
    per_instance = [None if s is None else s.detach().repeat(n) for s in (running_mean, running_var)]
    out = batch_norm(input.reshape(1, n * c, *input.shape[2:]), *per_instance, None, None, use_input_stats, momentum,
                     eps).reshape(input.shape)
    if use_input_stats and running_mean is not None:
        with no_grad():
            running_mean.copy_(per_instance[0].reshape(n, c).mean(0))
            running_var.copy_(per_instance[1].reshape(n, c).mean(0))
    return _scale_shift(out, weight, bias, (c,) + (1,) * (input.ndim - 2))


# Spatial dims each interpolating mode resizes (the input is (N, C, *spatial)).
_LINEAR_MODES = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_NEAREST_MODES = {"nearest": 0.0, "nearest-exact": 0.5}  # the offset of an output index before scaling


def _cubic_weights(t: Any) -> list[Any]:
    """The cubic convolution weights (A = -0.75, PyTorch's and OpenCV's) of the taps at -1, 0, 1, 2
    for the fractions t, a host array or a Tensor (then differentiable), operation by operation as
    ATen's get_cubic_upsample_coefficients: interpolate's and grid_sample's bicubic modes."""
    a = -0.75

    def near(x: Any) -> Any:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Any) -> Any:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1.0), near(t), near(1.0 - t), far((1.0 - t) + 1.0)]


def _per_dim(value: Any, n: int, name: str, kind: type) -> list:
    """An int/float or a sequence of n of them, as a list of n."""
    values = list(value) if isinstance(value, (tuple, list)) else [value] * n
    if len(values) != n:
        raise ValueError(f"interpolate: {name} must have {n} elements for {n} spatial dims, got {value!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or (
            kind is int and not float(v).is_integer()
        ):
            raise TypeError(f"interpolate: {name} must hold {kind.__name__}s, got {value!r}")
        if not v > 0:
            raise ArgumentError(f"interpolate: {name} must be positive, got {value!r}")
    return [kind(v) for v in values]


def _antialias_weights(n_in: int, n_out: int, scale: float, mode: str) -> np.ndarray:
    """The (n_out, n_in) resampling matrix of interpolate's antialias mode, as ATen's
    _compute_indices_min_size_weights_aa: output i is centred at scale * (i + 0.5); the filter
    (triangle for bilinear, Keys cubic a = -0.5 for bicubic) is widened by scale when
    downscaling; each row's weights are normalised to sum to 1."""
    interp_size = 2 if mode == "bilinear" else 4
    support = interp_size * 0.5 * scale if scale >= 1.0 else interp_size * 0.5
    invscale = 1.0 / scale if scale >= 1.0 else 1.0

    def filt(x: float) -> float:
        x = abs(x)
        if mode == "bilinear":
            return 1.0 - x if x < 1.0 else 0.0
        a = -0.5
        if x < 1.0:
            return ((a + 2) * x - (a + 3)) * x * x + 1
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a if x < 2.0 else 0.0

    matrix = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = scale * (i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xsize = min(int(center + support + 0.5), n_in) - xmin
        w = np.array([filt((j + xmin - center + 0.5) * invscale) for j in range(xsize)])
        total = w.sum()
        matrix[i, xmin:xmin + xsize] = w / total if total != 0.0 else w
    return matrix


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial) to size, or by scale_factor (output
    floor(in * scale_factor)), as torch.nn.functional.interpolate: mode "nearest" (source index
    floor(out_index * scale)), "nearest-exact" (floor((out_index + 0.5) * scale)),
    "linear"/"bilinear"/"trilinear" (linear along each spatial dim in turn, align_corners as
    PyTorch, default False), "bicubic" (4-D input; cubic convolution with A = -0.75 along each
    spatial dim, the taps clamped to the border, as PyTorch) or "area" (3-D to 5-D input: adaptive
    average pooling to the output size). Differentiable: every mode but "area" gathers rows with
    index_select, the linear and cubic ones then blend 2 or 4 of them. antialias (4-D input,
    "bilinear" or "bicubic" only, as PyTorch's): each output pixel averages the input pixels under
    a triangle (Keys cubic, a = -0.5) filter stretched by the downscaling factor (PIL's resampling,
    PyTorch's _upsample_bilinear2d_aa), applied as one matrix per spatial dim."""
    if not (mode in _NEAREST_MODES and input.dtype == np.uint8):  # uint8 images resize by nearest, as PyTorch's
        _require_float("interpolate", input)
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D tensor "
                         "as input")
    spatial = input.ndim - 2
    if spatial < 1:
        raise NotImplementedArgumentError(
            f"interpolate: expected (N, C, ...) with at least 3 dimensions, got shape {input.shape}")
    if mode not in _NEAREST_MODES and mode not in _LINEAR_MODES and mode != "area":
        raise NotImplementedArgumentError("interpolate: mode must be 'nearest', 'nearest-exact', 'linear', "
                                          f"'bilinear', 'bicubic', 'trilinear' or 'area', got {mode!r}")
    if mode in _LINEAR_MODES and _LINEAR_MODES[mode] != spatial:
        need = _LINEAR_MODES[mode] + 2
        raise NotImplementedArgumentError(f"interpolate: mode {mode!r} needs a {need}-D input, got shape {input.shape}")
    if mode == "area" and spatial > 3:
        raise NotImplementedError("interpolate: mode 'area' takes 3-D, 4-D and 5-D inputs only")
    if mode not in _LINEAR_MODES and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with the linear modes")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = list(input.shape[2:])
    if size is not None:
        out_sizes = _per_dim(size, spatial, "size", int)
        scales = [n_in / n_out for n_in, n_out in zip(in_sizes, out_sizes, strict=True)]
    else:
        factors = _per_dim(scale_factor, spatial, "scale_factor", float)
        out_sizes = [math.floor(n_in * f) for n_in, f in zip(in_sizes, factors, strict=True)]
        if min(out_sizes) < 1:
            raise ArgumentError(f"interpolate: scale_factor {scale_factor!r} leaves nothing of input {input.shape}")
        scales = [n_in / n_out if recompute_scale_factor else 1.0 / f
                  for n_in, n_out, f in zip(in_sizes, out_sizes, factors, strict=True)]  # fmt: skip
    if mode == "area":  # PyTorch's area mode is adaptive average pooling
        if spatial == 1:
            return adaptive_avg_pool2d(unsqueeze(input, 2), (1, out_sizes[0])).squeeze(2)
        if spatial == 3:
            from minigrad.functional.nn3d import adaptive_avg_pool3d  # nn3d is built on this module

            return adaptive_avg_pool3d(input, tuple(out_sizes))
        return adaptive_avg_pool2d(input, tuple(out_sizes))
    out = input
    if antialias:
        for axis, (n_in, n_out, scale) in enumerate(zip(in_sizes, out_sizes, scales, strict=True), start=2):
            if align_corners:
                scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
            weights = _from_host(_antialias_weights(n_in, n_out, scale, mode).T.astype(input.dtype), input)
            out = (out.transpose(axis, -1) @ weights).transpose(axis, -1)
        return out
    for axis, (n_in, n_out, scale) in enumerate(zip(in_sizes, out_sizes, scales, strict=True), start=2):
        dst = np.arange(n_out, dtype=np.float64)
        if mode in _NEAREST_MODES:
            src = np.minimum(np.floor((dst + _NEAREST_MODES[mode]) * scale).astype(np.int64), n_in - 1)
            out = index_select(out, axis, _from_host(src, input))
            continue
        if align_corners:
            pos = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:
            pos = (dst + 0.5) * scale - 0.5
            pos = pos if mode == "bicubic" else np.maximum(pos, 0.0)  # cubic's taps are clamped instead
        shape = [1] * input.ndim
        shape[axis] = n_out
        if mode == "bicubic":
            start = np.floor(pos).astype(np.int64)
            weights = _cubic_weights(pos - start)
            taps = [index_select(out, axis, _from_host(np.clip(start + k - 1, 0, n_in - 1), input))
                    * _from_host(w.astype(input.dtype).reshape(shape), input) for k, w in enumerate(weights)]
            out = taps[0] + taps[1] + taps[2] + taps[3]
            continue
        lo = np.minimum(np.floor(pos).astype(np.int64), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = _from_host((pos - lo).astype(input.dtype).reshape(shape), input)
        low = index_select(out, axis, _from_host(lo, input))
        high = index_select(out, axis, _from_host(hi, input))
        out = low + (high - low) * frac
    return out


# torch.nn.functional's deprecated forms of interpolate, with PyTorch's warnings


def _warn_upsample_deprecated(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def upsample(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """interpolate(input, size, scale_factor, mode, align_corners), deprecated as in PyTorch."""
    _warn_upsample_deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(
    input: Tensor, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None
) -> Tensor:
    """interpolate(input, size, scale_factor, mode="nearest"), deprecated as in PyTorch."""
    _warn_upsample_deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(
    input: Tensor, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None
) -> Tensor:
    """interpolate(input, size, scale_factor, mode="bilinear", align_corners=True), deprecated as in
    PyTorch (note align_corners=True, unlike interpolate's default)."""
    _warn_upsample_deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(p-norm of input along dim, eps): unit vectors along dim, a zero vector staying
    zero, as PyTorch."""
    _require_float("normalize", input)
    dim = _dim(dim, input.ndim, "normalize")
    return input / clamp(norm(input, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between x1 and x2 along dim, after broadcasting them: the dot
    product of normalize(x1, dim=dim, eps=eps) and normalize(x2, ...), as PyTorch, so each norm is
    clamped at eps on its own and the result stays within [-1, 1]."""
    _require_float("cosine_similarity", x1, x2)
    shape = _broadcast_shape("cosine_similarity", x1.shape, x2.shape)
    dim = _dim(dim, len(shape), "cosine_similarity")
    x1, x2 = expand(x1, shape), expand(x2, shape)
    return _sum(normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps), dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """The p-norm of x1 - x2 + eps over the last dimension (after broadcasting), as
    torch.pairwise_distance; keepdim keeps that dimension with size 1."""
    from minigrad.functional.loss import _pairwise_distance  # here: loss imports this module

    _require_float("pairwise_distance", x1, x2)
    _broadcast_shape("pairwise_distance", x1.shape, x2.shape)
    out = _pairwise_distance(x1, x2, p, eps)
    return unsqueeze(out, -1) if keepdim else out


def _zeros(like: Tensor, shape: tuple) -> Tensor:
    """A constant zero tensor of shape with like's dtype and device."""
    return Tensor._make(get_backend(like.device).full(shape, 0, like.dtype), like.device)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 (..., num_classes) with a 1 at each label (num_classes=-1: the largest label + 1)."""
    if not isinstance(tensor, Tensor) or tensor.dtype != np.int64:
        raise DtypeError(f"one_hot: expected an int64 tensor, got {getattr(tensor, 'dtype', type(tensor).__name__)}")
    labels = tensor._host()
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ArgumentError(f"one_hot: labels must lie in [0, {num_classes - 1}], found {labels.min()}..{labels.max()}")
    out = (labels[..., None] == np.arange(num_classes)).astype(np.int64)
    return Tensor._wrap(out, device=tensor.device)




class GELUOp(Function):
    """x * Phi(x) (Phi the normal CDF), or its tanh approximation: the fused kernels."""

    __slots__ = ("approximate",)

    def forward(self, x, approximate):
        self.approximate = approximate
        self.saved = (x,)
        return self.be.gelu(x, approximate)

    def backward(self, g):
        return (self.be.gelu_backward(g, self.saved[0], self.approximate),)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x * Phi(x); approximate='tanh' for the tanh form, as PyTorch."""
    _require_float("gelu", input)
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELUOp.apply(input, approximate=approximate)


class EmbeddingOp(IndexOp):
    """weight[index] (index a host array) whose gradient at each looked-up position is multiplied by
    grad_scale (a host array of index's shape): 0 at padding_idx, 1 / count with scale_grad_by_freq."""

    __slots__ = ("grad_scale",)
    _torch_name = Function._torch_name  # EmbeddingBackward0, not an indexing's name

    def forward(self, a, index, grad_scale):
        self.grad_scale = grad_scale
        return super().forward(a, index)

    def backward(self, g):
        scale = self.be.from_numpy(np.ascontiguousarray(self.grad_scale[..., None], dtype=g.dtype))
        return super().backward(self.be.mul(g, scale))


def _embedding_renorm_(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale the given rows of weight whose norm_type-norm exceeds max_norm down to max_norm / (norm
    + 1e-7) times themselves, in place and untracked, as torch.embedding_renorm_ (the scale in
    float64, as PyTorch computes it)."""
    with no_grad():
        index = _from_host(rows.astype(np.int64), weight)
        picked = weight[index]
        norms = norm(picked, norm_type, 1)._host().astype(np.float64)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(weight.dtype)
        weight[index] = picked * _from_host(scale.reshape(-1, 1), weight)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of weight (num_embeddings, dim) picked by the int64 or int32 indices in input:
    input.shape + (dim,), as torch.nn.functional.embedding. The rows at padding_idx get no gradient;
    max_norm first renormalises, in place and untracked, each looked-up row whose norm_type-norm
    exceeds it; scale_grad_by_freq divides each row's gradient by its index's count in input.
    sparse=True (a sparse gradient) is refused: minigrad has no sparse tensors."""
    if not isinstance(input, Tensor) or input.dtype not in (np.int64, np.int32):
        got = getattr(input, "dtype", type(input))
        raise DtypeError(f"embedding: indices must be an int64 or int32 tensor, got {got}")
    _require_tensor("embedding", weight)
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported (minigrad has no sparse tensors)")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, dim), got shape {weight.shape}")
    rows = weight.shape[0]
    picked = input._host()
    if picked.size and (picked.min() < 0 or picked.max() >= rows):
        raise IndexError(f"embedding: index out of range for {rows} embeddings "
                         f"(found {picked.min()}..{picked.max()})")
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= rows
    if max_norm is not None:
        _require_float("embedding", weight)
        _embedding_renorm_(weight, np.unique(picked), max_norm, norm_type)
    if (padding_idx is None and not scale_grad_by_freq) or not (weight.requires_grad and is_grad_enabled()):
        return name_node(weight[input], "EmbeddingBackward0")
    scale = np.ones(picked.shape)
    if scale_grad_by_freq:
        _, inverse, counts = np.unique(picked, return_inverse=True, return_counts=True)
        scale = 1.0 / counts[inverse.reshape(picked.shape)]
    if padding_idx is not None:
        scale = np.where(picked == padding_idx, 0.0, scale)
    return EmbeddingOp.apply(weight, index=(picked.astype(np.int64),), grad_scale=scale)


def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """embedding_bag's indices (flattened) and each one's bag, on the host, and the bag count."""
    indices = input._host()
    if indices.ndim == 2:  # fixed-length bags, one per row
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None when input is 2-D (one bag per row)")
        rows, length = indices.shape
        return indices.reshape(-1), np.repeat(np.arange(rows), length), rows
    if indices.ndim != 1:
        raise ValueError(f"embedding_bag: input must be 1-D (with offsets) or 2-D, got shape {input.shape}")
    if offsets is None:
        raise ValueError("embedding_bag: offsets are required when input is 1-D")
    if not isinstance(offsets, Tensor) or offsets.dtype not in (np.int64, np.int32) or offsets.ndim != 1:
        raise DtypeError(f"embedding_bag: offsets must be a 1-D int64 or int32 tensor, got {offsets!r}")
    starts = offsets._host().astype(np.int64)
    if include_last_offset:
        if starts.size < 1:
            raise ArgumentError("embedding_bag: include_last_offset needs at least one offset")
        starts = starts[:-1]
    if starts.size and (starts[0] != 0 or np.any(np.diff(starts) < 0) or starts[-1] > indices.size):
        raise ArgumentError(f"embedding_bag: offsets must start at 0 and not decrease or pass the input's "
                            f"{indices.size} indices, got {offsets.tolist()}")
    bag = np.searchsorted(starts, np.arange(indices.size), side="right") - 1
    return indices, bag, starts.size


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxima of bags of embeddings (B, dim), as PyTorch's: bags are the rows of a
    2-D input, or runs of a 1-D input starting at offsets. Indices equal to padding_idx are left
    out of their bag (and of a mean's count); an empty bag gives zeros. per_sample_weights (input's
    shape) scale each embedding, with mode "sum". max_norm first renormalises, in place and
    untracked, each looked-up row whose norm_type-norm exceeds it (as F.embedding). Differentiable
    in weight and per_sample_weights."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    for name, unsupported in (("scale_grad_by_freq", scale_grad_by_freq), ("sparse", sparse)):
        if unsupported:
            raise NotImplementedError(f"embedding_bag: {name} is not supported")
    if not isinstance(input, Tensor) or input.dtype not in (np.int64, np.int32):
        raise DtypeError(f"embedding_bag: input must be an int64 or int32 tensor, got {getattr(input, 'dtype', input)}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError("embedding_bag: per_sample_weights are only supported with mode='sum', "
                                      f"got mode={mode!r}")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: per_sample_weights must have input's shape {tuple(input.shape)}, "
                             f"got {tuple(per_sample_weights.shape)}")
    indices, bag, bags = _bags(input, offsets, include_last_offset)
    if max_norm is not None:  # every looked-up row renormalised first, in place, as PyTorch's
        _require_float("embedding_bag", weight)
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            raise IndexError(f"embedding_bag: index out of range for {weight.shape[0]} embeddings "
                             f"(found {indices.min()}..{indices.max()})")
        _embedding_renorm_(weight, np.unique(indices), max_norm, norm_type)
    keep = np.ones(indices.size, bool) if padding_idx is None else indices != padding_idx % weight.shape[0]
    kept = _from_host(indices[keep], input)
    rows = embedding(kept, weight)  # (kept, dim), range-checked
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[_from_host(np.flatnonzero(keep), input)].unsqueeze(1)
    bag = bag[keep]
    dim = weight.shape[1]
    if mode != "max":
        out = index_add(_zeros(weight, (bags, dim)), 0, _from_host(bag, input), rows)
        if mode == "mean":
            counts = np.maximum(np.bincount(bag, minlength=bags), 1).astype(weight.dtype)
            out = out / _from_host(counts.reshape(-1, 1), weight)
        return out
    # max: each bag's rows in a (bags, longest, dim) block padded with -inf, then the maximum
    counts = np.bincount(bag, minlength=bags)
    slot = np.arange(bag.size) - np.concatenate([[0], np.cumsum(counts)[:-1]])[bag]
    block_shape = (bags, max(int(counts.max(initial=0)), 1), dim)
    block = Tensor._make(get_backend(weight.device).full(block_shape, -np.inf, weight.dtype), weight.device)
    block = index_put(block, (_from_host(bag, input), _from_host(slot, input)), rows)
    out = block.max(1)[0]
    return where(_from_host((counts > 0).reshape(-1, 1), weight), out, 0.0)


def _adaptive_size(op: str, spatial: tuple[int, int], output_size: Any) -> tuple[int, int]:
    """An adaptive pool's output_size (an int, or a pair whose None entries keep that input size) as a pair."""
    sizes = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != 2:
        raise ArgumentError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(n if size is None else int(size) for n, size in zip(spatial, sizes, strict=True))
    if min(out) < 1:
        raise ValueError(f"{op}: output_size must be >= 1, got {output_size!r}")
    return out  # type: ignore[return-value]


def _adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling windows along a dimension: floor(i * size / out) to ceil((i + 1) * size / out)."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Average pooling of (N, C, H, W) or (C, H, W) to output_size, windows as PyTorch's
    (from floor(i * H / out) to ceil((i + 1) * H / out)); None keeps that size."""
    _require_float("adaptive_avg_pool2d", input)
    if input.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d: expected (N, C, H, W) or (C, H, W), got shape {input.shape}")
    h, w = input.shape[-2:]
    out_h, out_w = _adaptive_size("adaptive_avg_pool2d", (h, w), output_size)
    if out_h == out_w == 1 and h * w:  # global pooling (ResNet's head): a mean, 10x the pooling kernel's speed
        return mean(input, (-2, -1), True)
    if h % out_h == 0 and w % out_w == 0:  # equal windows: one pooling kernel
        kernel = (h // out_h, w // out_w)
        return avg_pool2d(input, kernel, kernel)
    rows = [input[..., a:b, :].mean(-2, keepdim=True) for a, b in _adaptive_bounds(h, out_h)]
    column = cat(rows, -2)
    return cat([column[..., a:b].mean(-1, keepdim=True) for a, b in _adaptive_bounds(w, out_w)], -1)


def adaptive_max_pool2d(
    input: Tensor, output_size: int | tuple[int | None, int | None], return_indices: bool = False
) -> Any:
    """Max pooling of (N, C, H, W) or (C, H, W) to output_size, windows as adaptive_avg_pool2d's
    (None keeps that size); with return_indices also the int64 argmax positions within each input
    H*W plane (the first maximum in row-major order), as PyTorch. The gradient goes to the argmax."""
    _require_float("adaptive_max_pool2d", input)
    if input.ndim not in (3, 4) or 0 in input.shape[-3:]:
        raise RuntimeError(
            f"adaptive_max_pool2d: expected a 3-D or 4-D input (N, C, H, W) with non-empty C, H and W, "
            f"got shape {input.shape}"
        )
    if input.ndim == 3:
        out = adaptive_max_pool2d(unsqueeze(input, 0), output_size, return_indices)
        return (out[0].squeeze(0), out[1].squeeze(0)) if return_indices else out.squeeze(0)
    h, w = input.shape[-2:]
    out_h, out_w = _adaptive_size("adaptive_max_pool2d", (h, w), output_size)
    if h % out_h == 0 and w % out_w == 0:  # equal windows: one pooling kernel
        kernel = (h // out_h, w // out_w)
        return max_pool2d(input, kernel, kernel, return_indices=return_indices)
    # every window's flat positions, as (out_h, out_w, kh * kw); a smaller window repeats its last
    # row and column, which come after the originals, so the first maximum is a real position
    rows, cols = _adaptive_bounds(h, out_h), _adaptive_bounds(w, out_w)
    kh, kw = max(b - a for a, b in rows), max(b - a for a, b in cols)
    row_pos = np.array([np.minimum(np.arange(a, a + kh), b - 1) for a, b in rows])
    col_pos = np.array([np.minimum(np.arange(a, a + kw), b - 1) for a, b in cols])
    flat = row_pos[:, None, :, None] * w + col_pos[None, :, None, :]
    flat = flat.reshape(out_h, out_w, kh * kw)
    n, c = input.shape[:2]
    windows = index(input.reshape(n, c, h * w), (slice(None), slice(None), flat))
    values, position = windows.max(-1)
    if not return_indices:
        return values
    positions = expand(_from_host(flat, input), (n, c, out_h, out_w, kh * kw))
    return values, gather(positions, -1, unsqueeze(position, -1)).squeeze(-1)


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: int | tuple[int | None, int | None], return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """adaptive_max_pool2d's values and indices, whatever return_indices says (as PyTorch's)."""
    return adaptive_max_pool2d(input, output_size, return_indices=True)


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """The partial inverse of max_pool2d(..., return_indices=True): each value of input (N, C, H, W)
    or (C, H, W) written at its index (flat within an output H*W plane) of zeros, as PyTorch. The
    output is (H - 1) * stride - 2 * padding + kernel_size high (and wide alike), or output_size
    ((oh, ow) or (N, C, oh, ow), within a stride of that). Differentiable in input."""
    kernel = _pair_arg(kernel_size, "max_unpool2d: kernel_size")
    stride = kernel if stride is None else _pair_arg(stride, "max_unpool2d: stride")
    return _max_unpool("max_unpool2d", input, indices, kernel, stride, _pair_arg(padding, "max_unpool2d: padding"),
                       output_size)


def _max_unpool(
    op: str,
    input: Tensor,
    indices: Tensor,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_size: Sequence[int] | None,
) -> Tensor:
    """max_unpool1d/2d/3d over the last len(kernel) dimensions of input (N, C, *spatial) or (C, *spatial)."""
    _require_float(op, input, error=NoKernelForDtypeError)  # PyTorch: "max_unpool2d" not implemented for 'Long'
    nd = len(kernel)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D or {nd + 2}-D input (N, C, ...), got shape {input.shape}")
    if not isinstance(indices, Tensor) or indices.dtype != int64:
        got = getattr(indices, "dtype", type(indices).__name__)
        raise DtypeError(f"{op}: indices must be an int64 tensor, got {got}")  # PyTorch: a RuntimeError
    if indices.shape != input.shape:
        raise RuntimeError(
            f"{op}: indices shape {indices.shape} differs from input shape {input.shape} (they must match)"
        )
    default = [(n - 1) * s - 2 * p + k for n, s, p, k in zip(input.shape[-nd:], stride, padding, kernel, strict=True)]
    size = default
    if output_size is not None:
        size = [int(n) for n in output_size]
        if len(size) == nd + 2:
            size = size[2:]
        if len(size) != nd:
            raise ValueError(
                f"{op}: output_size should be a sequence containing {nd} or {nd + 2} elements, got {output_size!r}"
            )
        for d, (n, n0, s) in enumerate(zip(size, default, stride, strict=True)):
            if not n0 - s < n < n0 + s:
                raise ValueError(
                    f'{op}: invalid output_size "{tuple(output_size)}" '
                    f"(dim {d} must be between {n0 - s} and {n0 + s}, exclusive)"
                )
    if min(size) < 1:
        raise RuntimeError(f"{op}: the output would be {' x '.join(map(str, size))}; it must be at least 1 in "
                           "every dimension")
    plane = math.prod(size)
    found = indices._host()
    if found.size and (found.min() < 0 or found.max() >= plane):
        bad = found.min() if found.min() < 0 else found.max()
        raise RuntimeError(
            f"{op}: found an invalid max index {bad} (outputs are of size {'x'.join(map(str, size))})"
        )
    lead = input.shape[:-nd]
    out = scatter(_zeros(input, (*lead, plane)), -1, indices.reshape(*lead, -1), input.reshape(*lead, -1))
    return out.reshape(*lead, *size)


def _block_geometry(op: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple[tuple[int, int], ...]:
    """unfold's and fold's window arguments as pairs: kernel_size, dilation, padding, stride."""
    pairs = tuple(
        _pair_arg(v, f"{op}: {name}")
        for v, name in ((kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"), (stride, "stride"))
    )
    kernel, dilation, padding, stride = pairs
    if min(kernel) < 1 or min(dilation) < 1 or min(stride) < 1 or min(padding) < 0:
        raise RuntimeError(
            f"{op}: kernel_size {kernel}, dilation {dilation} and stride {stride} must be positive, "
            f"padding {padding} non-negative"
        )
    return pairs


def _block_counts(op: str, spatial: Sequence[int], geometry: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """How many sliding blocks fit along height and width of the (unpadded) spatial size."""
    kernel, dilation, padding, stride = geometry
    counts = tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, d, p, s in zip(spatial, kernel, dilation, padding, stride, strict=True)
    )
    if min(counts) < 1:
        raise RuntimeError(
            f"{op}: spatial size {tuple(spatial)} with kernel_size {kernel}, dilation {dilation}, padding {padding} "
            f"and stride {stride} gives {counts[0]} x {counts[1]} sliding blocks; there must be at least one"
        )
    return counts  # type: ignore[return-value]


def _block_region(i: int, j: int, counts: tuple[int, int], geometry: tuple[tuple[int, int], ...]) -> tuple:
    """The index of (padded) (N, C, H, W) that kernel tap (i, j) reads in every sliding block."""
    _, (dh, dw), _, (sh, sw) = geometry
    oh, ow = counts
    return (slice(None), slice(None), slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
            slice(j * dw, j * dw + (ow - 1) * sw + 1, sw))  # fmt: skip


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """The sliding blocks of (N, C, H, W) (im2col) as (N, C * kh * kw, L), L the number of blocks, each
    column one block in PyTorch's order (channel, then kernel row, then kernel column); (C, H, W) gives
    (C * kh * kw, L). Zero padding, then one strided slice per kernel tap: the values are copies."""
    _require_float("unfold", input)
    if input.ndim not in (3, 4) or 0 in input.shape[-3:]:
        raise RuntimeError(
            f"unfold: expected a 3-D or 4-D input (N, C, H, W) with non-empty C, H and W, got shape {input.shape}"
        )
    if input.ndim == 3:
        return name_node(unfold(unsqueeze(input, 0), kernel_size, dilation, padding, stride).squeeze(0),
                         "Im2ColBackward0")
    geometry = _block_geometry("unfold", kernel_size, dilation, padding, stride)
    (kh, kw), _, (ph, pw), _ = geometry
    counts = _block_counts("unfold", input.shape[2:], geometry)
    padded = pad(input, (pw, pw, ph, ph)) if ph or pw else input
    taps = [padded[_block_region(i, j, counts, geometry)] for i in range(kh) for j in range(kw)]
    n, c = input.shape[:2]
    return name_node(stack(taps, 2).reshape(n, c * kh * kw, counts[0] * counts[1]), "Im2ColBackward0")  # PyTorch's


def fold(
    input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """unfold's adjoint (col2im): the blocks of (N, C * kh * kw, L) summed into (N, C, *output_size)
    where they overlap, padding cropped; (C * kh * kw, L) gives (C, *output_size)."""
    _require_float("fold", input)
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError(
            f"fold: expected a 2-D or 3-D input (N, C * kh * kw, L) with non-empty C * kh * kw and L, "
            f"got shape {input.shape}"
        )
    if input.ndim == 2:
        return name_node(fold(unsqueeze(input, 0), output_size, kernel_size, dilation, padding, stride).squeeze(0),
                         "Col2ImBackward0")
    height, width = _pair_arg(output_size, "fold: output_size")
    geometry = _block_geometry("fold", kernel_size, dilation, padding, stride)
    (kh, kw), _, (ph, pw), _ = geometry
    n, rows, length = input.shape
    if rows % (kh * kw):
        raise RuntimeError(
            f"fold: size {rows} of input's dimension 1 must be divisible by the product of kernel_size {(kh, kw)}"
        )
    counts = _block_counts("fold", (height, width), geometry)
    if length != counts[0] * counts[1]:
        raise RuntimeError(
            f"fold: output_size {(height, width)} with kernel_size {(kh, kw)}, dilation {geometry[1]}, padding "
            f"{(ph, pw)} and stride {geometry[3]} has {counts[0]} * {counts[1]} = {counts[0] * counts[1]} sliding "
            f"blocks, but input's dimension 2 is {length}"
        )
    c = rows // (kh * kw)
    blocks = input.reshape(n, c, kh, kw, *counts)
    canvas = _zeros(input, (n, c, height + 2 * ph, width + 2 * pw))
    out = canvas
    for i in range(kh):
        for j in range(kw):
            out = out + index_put(canvas, _block_region(i, j, counts, geometry), blocks[:, :, i, j])
    return name_node(out[:, :, ph : ph + height, pw : pw + width], "Col2ImBackward0")  # PyTorch's
