"""Layers with PyTorch's names, arguments, defaults, parameter names and reprs.

Each forward is one call into minigrad.nn.functional; parameters are created
with PyTorch's default initialisation from minigrad's seeded generator.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minigrad.autograd import no_grad
from minigrad.backend import get_backend, resolve_device
from minigrad.creation import _size
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter, UninitializedBuffer, UninitializedParameter, UninitializedTensorMixin
from minigrad.tensor import Tensor, get_default_dtype


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    pair = tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


def _full(shape: tuple[int, ...], value: float, device: str | None, dtype: Any) -> Tensor:
    """A new tensor of value on device (default get_default_device()) with dtype (default get_default_dtype())."""
    device = resolve_device(device)
    data = get_backend(device).full(_size(shape), value, np.dtype(dtype or get_default_dtype()))
    return Tensor._wrap(data, device=device)


def _empty(shape: tuple[int, ...], device: str | None, dtype: Any) -> Parameter:
    """A zero parameter for reset_parameters() to fill."""
    return Parameter(_full(shape, 0.0, device, dtype))


def _affine_parameters(
    module: Module, shape: tuple[int, ...], affine: bool, bias: bool, device: Any, dtype: Any
) -> None:
    """A normalisation layer's weight (ones) and bias (zeros) of shape, as PyTorch's: both None
    without affine, the bias None without bias."""
    if affine:
        module.weight = Parameter(_full(shape, 1.0, device, dtype))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = Parameter(_full(shape, 0.0, device, dtype))
    else:
        module.register_parameter("bias", None)


def _reset_affine(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class Identity(Module):
    """Returns its input; constructor arguments are accepted and ignored, as PyTorch's (so it can
    stand in for any layer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Linear(Module):
    """y = x @ weight.T + bias; weight (out_features, in_features)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty((out_features, in_features), device, dtype)
        if bias:
            self.bias = _empty((out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) weight, U(+-1/sqrt(fan_in)) bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            _init_bias(self.bias, self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y = x1^T A x2 + b for each output feature, as torch.nn.Bilinear: weight (out_features,
    in1_features, in2_features) and bias (out_features,) both U(+-1/sqrt(in1_features))."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = _empty((out_features, in1_features, in2_features), device, dtype)
        if bias:
            self.bias = _empty((out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias U(+-1/sqrt(in1_features))."""
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class _LazyModule:
    """Mixin of the lazy layers (LazyLinear, LazyConvNd, LazyBatchNormNd), as PyTorch's
    LazyModuleMixin: built with the input size 0 and placeholder parameters (empty tensors, so an
    uninitialised module's state_dict has the keys of the layer it becomes), it infers the size
    from its first input, replaces the placeholders with new parameters initialised as the plain
    layer's, and turns into cls_to_become. Build optimizers after that first call (a dry run), as
    PyTorch recommends, or they hold the placeholders."""

    cls_to_become: type[Module]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # the plain layer, with the unknown size 0
        self._uninitialize()

    def _uninitialize(self: Any) -> None:
        """Replace the plain layer's placeholders by nn.UninitializedParameter (every parameter)
        and nn.UninitializedBuffer (the empty buffers: running statistics), as PyTorch's lazy
        layers hold, remembering their shapes (0 where the input decides)."""
        self._lazy_shapes = {}
        for name, param in list(self._parameters.items()):
            if param is not None:
                self._lazy_shapes[name] = tuple(param.shape)
                self._parameters[name] = UninitializedParameter(param.requires_grad, param.device, param.dtype)
        for name, buf in list(self._buffers.items()):
            if buf is not None and buf.numel() == 0:
                self._lazy_shapes[name] = tuple(buf.shape)
                self._buffers[name] = UninitializedBuffer(False, buf.device, buf.dtype)

    def has_uninitialized_params(self: Any) -> bool:
        """Whether a parameter or buffer of this module is still uninitialised, as PyTorch's."""
        return any(isinstance(t, UninitializedTensorMixin) for t in [*self._parameters.values(),
                                                                      *self._buffers.values()])

    def _materialize(self, x: Tensor) -> None:
        """Infer the input size from x and replace the placeholders (in the subclass)."""
        raise NotImplementedError

    def _initialised(self) -> bool:
        """Whether the input size is known (the placeholders have been replaced)."""
        raise NotImplementedError

    def _sizes_from_loaded(self) -> None:
        """Set the input size from parameters load_state_dict materialized (in the subclass)."""
        raise NotImplementedError

    def _lazy_load(self: Any, state_dict: Any, prefix: str) -> None:
        """Before load_state_dict copies: materialize each uninitialised parameter and buffer the
        checkpoint holds with the checkpoint's shape (which must agree with what is known: the
        output size, kernel, ...), as PyTorch's lazy modules; once none is left uninitialised the
        module knows its input size, and its first forward call keeps the loaded values."""
        from minigrad.nn.module import _as_loadable

        loaded = False
        for registry in (self._parameters, self._buffers):
            for name, t in registry.items():
                key = prefix + name
                if not isinstance(t, UninitializedTensorMixin) or key not in state_dict:
                    continue
                shape = getattr(_as_loadable(state_dict[key]), "shape", None)
                if shape is None:
                    continue  # load_state_dict says what is wrong with the value
                shape, known = tuple(shape), self._lazy_shapes.get(name, ())
                if len(shape) != len(known) or any(k and k != s for k, s in zip(known, shape, strict=True)):
                    raise RuntimeError(
                        f"Error(s) in loading state_dict for {type(self).__name__}:\n\tsize mismatch for {key}: "
                        f"copying a param with shape {list(shape)} from checkpoint into a lazy layer expecting "
                        f"{list(known)} (0: any size).")
                t.materialize(shape)
                loaded = True
        if loaded and not self.has_uninitialized_params():
            self._sizes_from_loaded()

    def reset_parameters(self) -> None:
        """The plain layer's initialisation once the size is known; nothing before (no fan-in yet)."""
        if self._initialised():
            super().reset_parameters()  # type: ignore[misc]

    def forward(self: Any, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if not self._initialised():  # else load_state_dict materialized everything: keep the values
            self._materialize(x)
            for name, t in [*self._parameters.items(), *self._buffers.items()]:
                if isinstance(t, UninitializedTensorMixin):  # the shapes known from the start (bias)
                    t.materialize(self._lazy_shapes[name])
            self.reset_parameters()
        self.__class__ = self.cls_to_become
        self.__dict__.pop("_lazy_shapes", None)
        return self.forward(x, *args, **kwargs)


def _fill_placeholder(module: Module, name: str, shape: tuple[int, ...]) -> None:
    """A lazy layer's placeholder module.<name> given shape: an UninitializedParameter materialized
    in place (so an optimizer built before the first call holds the trained object, as in PyTorch),
    anything else replaced by a new parameter of shape."""
    placeholder = getattr(module, name)
    if isinstance(placeholder, UninitializedTensorMixin):
        placeholder.materialize(shape)
    else:
        setattr(module, name, _empty(shape, placeholder.device, placeholder.dtype))


class LazyLinear(_LazyModule, Linear):
    """Linear whose in_features is inferred from the last dimension of the first input (0 and a
    (out_features, 0) placeholder weight until then; see _LazyModule)."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, out_features, bias, device, dtype)

    def _initialised(self) -> bool:
        return self.in_features > 0

    def _materialize(self, x: Tensor) -> None:
        if x.ndim == 0:
            raise ValueError("LazyLinear: expected an input with at least one dimension, got a scalar")
        self.in_features = x.shape[-1]
        _fill_placeholder(self, "weight", (self.out_features, self.in_features))

    def _sizes_from_loaded(self) -> None:
        self.in_features = self.weight.shape[1]


def _init_bias(bias: Tensor, weight: Tensor) -> None:
    fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    init.uniform_(bias, -bound, bound)


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share: the argument checks, the weight (out_channels,
    in_channels / groups, *kernel), or (in_channels, out_channels / groups, *kernel) when
    transposed, the bias, PyTorch's initialisation and repr. `convert` makes the per-dimension
    arguments tuples (_pair for 2-D layers, a 1-tuple for 1-D ones)."""

    def __init__(
        self,
        name: str,
        convert: Any,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        device: Any,
        dtype: Any,
        output_padding: Any = None,
    ) -> None:
        super().__init__()
        transposed = output_padding is not None
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
            )
        modes = ("zeros",) if transposed else _PADDING_MODES
        if padding_mode not in modes:
            raise ValueError(f"{name}: padding_mode must be one of {', '.join(map(repr, modes))}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = convert(kernel_size, f"{name} kernel_size")
        self.stride = convert(stride, f"{name} stride")
        if isinstance(padding, str) and not transposed:
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid', an int or a tuple of ints, got {padding!r}")
            if padding == "same" and set(self.stride) != {1}:
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
        else:
            self.padding = convert(padding, f"{name} padding")
        self.dilation = convert(dilation, f"{name} dilation")
        if transposed:
            self.output_padding = convert(output_padding, f"{name} output_padding")
        self.padding_mode = padding_mode
        self.weight = _empty(self._weight_shape(), device, dtype)
        if bias:
            self.bias = _empty((out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) weight, U(+-1/sqrt(fan_in)) bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            _init_bias(self.bias, self.weight)

    def _weight_shape(self) -> tuple[int, ...]:
        """(out, in / groups, *kernel), or (in, out / groups, *kernel) when transposed."""
        if hasattr(self, "output_padding"):  # transposed
            return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def _padding_widths(self) -> tuple[int, ...]:
        """The padding as F.pad takes it (last dimension first, before and after), for the
        padding modes that pad the input before an unpadded convolution, as PyTorch does."""
        if self.padding == "valid":
            per_dim = [(0, 0)] * len(self.kernel_size)
        elif self.padding == "same":  # the odd one after, as F.conv2d
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size, strict=True)]
            per_dim = [(t // 2, t - t // 2) for t in totals]
        else:
            per_dim = [(p, p) for p in self.padding]
        return tuple(w for pair in reversed(per_dim) for w in pair)

    def extra_repr(self) -> str:
        """PyTorch's repr of the arguments: those left at their defaults are omitted."""
        zeros, ones = (0,) * len(self.kernel_size), (1,) * len(self.kernel_size)
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != zeros:
            s += f", padding={self.padding}"
        if self.dilation != ones:
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", zeros) != zeros:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over NCHW input; weight (out_channels, in_channels / groups, kH, kW).
    padding: an int, a pair, "same" or "valid"; padding_mode zeros, reflect, replicate or circular."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__("Conv2d", _pair, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        x = F.pad(x, self._padding_widths(), mode=self.padding_mode)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class _ConvTransposeNd(_ConvNd):
    """What the transposed convolution layers share: forward's output_size, whose last entries
    (one per spatial dimension) pick output_padding, as PyTorch."""

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        if output_size is None:
            return self.output_padding
        n = len(self.kernel_size)
        size = [int(v) for v in output_size][-n:]
        if len(size) != n:
            raise ValueError(f"{type(self).__name__}: output_size must end with the {n} spatial sizes, got "
                             f"{output_size!r}")
        padding = []
        for d in range(n):
            smallest = ((x.shape[d - n] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            largest = smallest + self.stride[d] - 1  # as PyTorch
            if not smallest <= size[d] <= largest:
                raise ValueError(
                    f"{type(self).__name__}: requested an output size of {tuple(size)}, but valid sizes of "
                    f"dimension {d - n} range from {smallest} to {largest} (for an input of {tuple(x.shape)})"
                )
            padding.append(size[d] - smallest)
        return tuple(padding)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution ("deconvolution", conv2d's gradient with respect to its input) over
    NCHW input; weight (in_channels, out_channels / groups, kH, kW). forward(x, output_size=None):
    output_size (the last two entries are used) picks output_padding, as PyTorch."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__("ConvTranspose2d", _pair, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        return F.conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self._output_padding(x, output_size),
            self.groups, self.dilation,
        )


class _MaxPoolNd(Module):
    """MaxPool2d's and MaxPool3d's settings, forward (the class's _functional) and repr."""

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor) -> Any:
        return self._functional(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolNd):
    """Max over kernel_size windows of (N, C, H, W) (stride defaults to kernel_size)."""

    _functional = staticmethod(F.max_pool2d)


class _AvgPoolNd(Module):
    """AvgPool2d's and AvgPool3d's settings, forward (the class's _functional) and repr."""

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return self._functional(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """Mean over kernel_size windows of (N, C, H, W) (stride defaults to kernel_size); with
    divisor_override, each window's sum divided by it instead."""

    _functional = staticmethod(F.avg_pool2d)


class _LPPoolNd(Module):
    """The settings and repr LPPool1d and LPPool2d share, as PyTorch's _LPPoolNd."""

    def __init__(
        self,
        norm_type: float,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool2d(_LPPoolNd):
    """Power-average pooling over kernel_size windows (F.lp_pool2d)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class _InplaceActivation(Module):
    """An activation with PyTorch's inplace flag (write the result into x) and repr."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return ", ".join(part for part in (self._parameter_repr(), "inplace=True" if self.inplace else "") if part)

    def _parameter_repr(self) -> str:
        """The activation's own parameters, before the inplace flag."""
        return ""


class ReLU(_InplaceActivation):
    """max(x, 0); inplace=True writes the result into x, as in PyTorch."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, self.inplace)


class LeakyReLU(_InplaceActivation):
    """x for x > 0, negative_slope * x otherwise (inplace=True writes the result into x)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def _parameter_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class SiLU(_InplaceActivation):
    """x * sigmoid(x) (swish); inplace=True writes the result into x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x, self.inplace)


class Mish(_InplaceActivation):
    """x * tanh(softplus(x)); inplace=True writes the result into x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.mish(x, self.inplace)


class ELU(_InplaceActivation):
    """x for x > 0, alpha * (exp(x) - 1) otherwise (inplace=True writes the result into x)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha, self.inplace)

    def _parameter_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """exp(x) / sum(exp(x)) along dim."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along dim, computed stably."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, dim=self.dim)


class Flatten(Module):
    """Merge dims start_dim..end_dim into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    Identity in eval mode. inplace=True writes the result into x, as in PyTorch.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, got {p}")
        self.p = p
        self.inplace = inplace

    _functional = staticmethod(F.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self._functional(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Channel dropout of (N, C, H, W): each whole channel zeroed with probability p, the rest
    scaled by 1/(1-p); identity in eval mode."""

    _functional = staticmethod(F.dropout2d)


class Dropout1d(Dropout):
    """Channel dropout of (N, C, L) or (C, L): each whole channel zeroed with probability p, the
    rest scaled by 1/(1-p); identity in eval mode."""

    _functional = staticmethod(F.dropout1d)


class AlphaDropout(Dropout):
    """Dropout for SELU networks: dropped elements set to SELU's negative saturation value, then
    an affine map keeps zero mean and unit variance (F.alpha_dropout); identity in eval mode."""

    _functional = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(Dropout):
    """AlphaDropout of whole channels: each (n, c) slice of (N, C, ...) set to SELU's negative
    saturation value with probability p, then AlphaDropout's affine map (F.feature_alpha_dropout);
    identity in eval mode."""

    _functional = staticmethod(F.feature_alpha_dropout)


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF; approximate='tanh' for the tanh form."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class _AdaptiveAvgPoolNd(Module):
    """AdaptiveAvgPool2d's and AdaptiveAvgPool3d's setting, forward (the class's _functional) and repr."""

    def __init__(self, output_size: int | tuple[int | None, ...]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return self._functional(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed output size (int or (h, w); None keeps that input size)."""

    _functional = staticmethod(F.adaptive_avg_pool2d)


class _AdaptiveMaxPoolNd(Module):
    """AdaptiveMaxPool2d's and AdaptiveMaxPool3d's settings, forward (the class's _functional) and repr."""

    def __init__(self, output_size: int | tuple[int | None, ...], return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, x: Tensor) -> Any:
        return self._functional(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output size (int or (h, w); None keeps that input size); with
    return_indices, forward also returns the argmax positions (for MaxUnpool2d)."""

    _functional = staticmethod(F.adaptive_max_pool2d)


class _MaxUnpoolNd(Module):
    """MaxUnpool2d's and MaxUnpool3d's settings (made tuples by the class's _convert), forward (its
    _functional) and repr."""

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = self._convert(kernel_size, "kernel_size")
        self.stride = self._convert(stride if stride is not None else kernel_size, "stride")
        self.padding = self._convert(padding, "padding")

    def forward(self, input: Tensor, indices: Tensor, output_size: tuple[int, ...] | None = None) -> Tensor:
        return self._functional(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of MaxPool2d(return_indices=True): forward(input, indices, output_size=None)
    puts each value at its index of a zero output (stride defaults to kernel_size)."""

    _convert = staticmethod(_pair)
    _functional = staticmethod(F.max_unpool2d)


class _SlidingBlocks(Module):
    """Unfold's and Fold's window settings and repr."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        dilation: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        stride: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )


class Unfold(_SlidingBlocks):
    """F.unfold as a layer: the sliding blocks of (N, C, H, W) as the columns of (N, C * kh * kw, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)


class Fold(_SlidingBlocks):
    """F.fold as a layer: Unfold's adjoint, columns (N, C * kh * kw, L) summed into (N, C, *output_size)."""

    def __init__(
        self,
        output_size: int | tuple[int, int],
        kernel_size: int | tuple[int, int],
        dilation: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        stride: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, " + super().extra_repr()


class Upsample(Module):
    """F.interpolate as a layer: to size, or by scale_factor, mode "nearest" (default),
    "linear", "bilinear" or "trilinear"."""

    def __init__(
        self,
        size: int | tuple[int, ...] | None = None,
        scale_factor: float | tuple[float, ...] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.size = size
        # stored as floats, as PyTorch (its repr shows scale_factor=2.0)
        self.scale_factor = (tuple(float(f) for f in scale_factor) if isinstance(scale_factor, (tuple, list))
                             else None if scale_factor is None else float(scale_factor))  # fmt: skip
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)  # fmt: skip

    def extra_repr(self) -> str:
        where = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{where}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) to size or by scale_factor (Upsample's "nearest")."""

    def __init__(
        self, size: int | tuple[int, int] | None = None, scale_factor: float | tuple[float, float] | None = None
    ) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) to size or by scale_factor, with align_corners=True as
    PyTorch's (corner pixels map onto corner pixels)."""

    def __init__(
        self, size: int | tuple[int, int] | None = None, scale_factor: float | tuple[float, float] | None = None
    ) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PaddingIndexError(AssertionError, ValueError):
    """An Embedding/EmbeddingBag padding_idx outside [-num_embeddings, num_embeddings): an
    AssertionError, as PyTorch raises, and a ValueError, as minigrad raised before."""


class _EmbeddingTable(Module):
    """What Embedding and EmbeddingBag share: the (num_embeddings, embedding_dim) weight, N(0, 1)
    initialised, padding_idx's row starting at zero; and loading a pretrained table."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None, device: str | None,
                 dtype: Any, unsupported: dict[str, bool]) -> None:
        super().__init__()
        name = type(self).__name__
        for option, given in unsupported.items():
            if given:
                raise NotImplementedError(f"{name}: {option} is not supported")
        if num_embeddings < 1 or embedding_dim < 0:
            raise ValueError(f"{name}: need num_embeddings >= 1 and embedding_dim >= 0, got "
                             f"{num_embeddings}, {embedding_dim}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise PaddingIndexError(f"{name}: padding_idx {padding_idx} out of range for {num_embeddings} rows")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = _empty((num_embeddings, embedding_dim), device, dtype)
        init.normal_(self.weight)
        if padding_idx is not None:
            with no_grad():
                self.weight[padding_idx] = 0.0

    def _load(self, embeddings: Tensor, freeze: bool) -> _EmbeddingTable:
        """This table with the pretrained embeddings' values (padding row too, as PyTorch's
        from_pretrained), trainable unless freeze."""
        with no_grad():
            self.weight.copy_(embeddings)
        self.weight.requires_grad_(not freeze)
        return self

    @staticmethod
    def _pretrained_shape(cls_name: str, embeddings: Tensor) -> tuple[int, int]:
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError(f"{cls_name}.from_pretrained: embeddings must be a 2-D Tensor, got "
                             f"{getattr(embeddings, 'shape', type(embeddings).__name__)}")
        return embeddings.shape[0], embeddings.shape[1]


class Embedding(_EmbeddingTable):
    """A lookup table: int64 indices (any shape) -> rows of weight (num_embeddings, embedding_dim),
    initialised N(0, 1); padding_idx's row starts at zero and gets no gradient, as in PyTorch.
    max_norm renormalises the looked-up rows of weight in place at each forward (F.embedding);
    scale_grad_by_freq divides the gradients by the indices' counts; sparse=True is refused
    (NotImplementedError: minigrad has no sparse tensors)."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        device: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_embeddings, embedding_dim, padding_idx, device, dtype, {"sparse": sparse})
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding holding the 2-D embeddings (frozen unless freeze=False), as PyTorch's."""
        rows, dim = cls._pretrained_shape("Embedding", embeddings)
        table = cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                    device=embeddings.device, dtype=embeddings.dtype)  # fmt: skip
        return table._load(embeddings, freeze)

    def forward(self, x: Tensor) -> Tensor:
        return F.embedding(x, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                           self.sparse)  # fmt: skip

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        s += f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        s += f", max_norm={self.max_norm}" if self.max_norm is not None else ""
        s += f", norm_type={self.norm_type}" if self.norm_type != 2 else ""
        return s + (f", scale_grad_by_freq={self.scale_grad_by_freq}" if self.scale_grad_by_freq else "")


class EmbeddingBag(_EmbeddingTable):
    """Sums, means or maxima of bags of embeddings without building the per-index rows' tensor
    of the bag (F.embedding_bag), as PyTorch's: forward(input, offsets=None,
    per_sample_weights=None) -> (bags, embedding_dim); padding_idx's indices are left out of
    their bags."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: str | None = None,
        dtype: Any = None,
    ) -> None:
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
        super().__init__(num_embeddings, embedding_dim, padding_idx, device, dtype,
                         {"scale_grad_by_freq": scale_grad_by_freq, "sparse": sparse})
        self.mode, self.include_last_offset = mode, include_last_offset
        self.max_norm, self.norm_type = max_norm, norm_type

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An EmbeddingBag holding the 2-D embeddings (frozen unless freeze=False), as PyTorch's."""
        rows, dim = cls._pretrained_shape("EmbeddingBag", embeddings)
        table = cls(rows, dim, max_norm, norm_type, scale_grad_by_freq, mode, sparse, include_last_offset,
                    padding_idx, device=embeddings.device, dtype=embeddings.dtype)  # fmt: skip
        return table._load(embeddings, freeze)

    def forward(self, input: Tensor, offsets: Tensor | None = None,
                per_sample_weights: Tensor | None = None) -> Tensor:
        return F.embedding_bag(input, self.weight, offsets, getattr(self, "max_norm", None),
                               getattr(self, "norm_type", 2.0), mode=self.mode,
                               per_sample_weights=per_sample_weights, include_last_offset=self.include_last_offset,
                               padding_idx=self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        s += f", max_norm={self.max_norm}" if getattr(self, "max_norm", None) is not None else ""
        s += f", norm_type={self.norm_type}" if getattr(self, "norm_type", 2.0) != 2 else ""
        s += f", mode={self.mode!r}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d: normalise over every axis but 1 (channels)."""

    _input_ranks: tuple[int, ...] = ()
    _version = 2  # PyTorch's version 2 added num_batches_tracked
    _defaulted_buffers = ("num_batches_tracked",)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self._make_state(num_features, bias, device, dtype)

    def _make_state(self, num_features: int, bias: bool, device: Any, dtype: Any) -> None:
        """The affine parameters and running statistics for num_features channels."""
        _affine_parameters(self, (num_features,), self.affine, bias, device, dtype)
        if self.track_running_stats:
            self.register_buffer("running_mean", _full((num_features,), 0.0, device, dtype))
            self.register_buffer("running_var", _full((num_features,), 1.0, device, dtype))
            self.register_buffer("num_batches_tracked", _full((), 0.0, device, np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._input_ranks:
            expected = " or ".join(f"{r}D" for r in self._input_ranks)
            raise ValueError(
                f"{type(self).__name__}: expected {expected} input (got {x.ndim}D input)"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input."""

    _input_ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input."""

    _input_ranks = (4,)


class _InstanceNorm(_BatchNorm):
    """Shared by InstanceNorm1d/2d: each sample's channel normalised over its own values (F.instance_norm);
    PyTorch's defaults: no affine parameters, no running statistics."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._input_ranks:
            expected = " or ".join(f"{r}D" for r in self._input_ranks)
            raise ValueError(f"{type(self).__name__}: expected {expected} input (got {x.ndim}D input)")
        unbatched = x.ndim == self._input_ranks[0]
        if unbatched:
            x = x.unsqueeze(0)
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels, got input {x.shape}")
        if x.shape[1] != self.num_features:
            warnings.warn(f"input's size at dim={int(not unbatched)} does not match num_features. You can "
                          "silence this warning by not passing in num_features, which is not used because "
                          "affine=False", stacklevel=2)
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or unbatched (C, L) input."""

    _input_ranks = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W) input."""

    _input_ranks = (3, 4)


def _set_normalized_shape(
    module: Module, normalized_shape: int | tuple[int, ...], eps: float | None, elementwise_affine: bool
) -> tuple[int, ...]:
    """Sets LayerNorm's and RMSNorm's normalized_shape (a tuple), eps and elementwise_affine on module."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    module.normalized_shape, module.eps, module.elementwise_affine = shape, eps, elementwise_affine
    return shape


class LayerNorm(Module):
    """Normalisation over the trailing dimensions normalized_shape (an int or a shape) of each
    sample, then a learned elementwise weight (ones) and bias (zeros) of normalized_shape."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = _set_normalized_shape(self, normalized_shape, eps, elementwise_affine)
        _affine_parameters(self, shape, elementwise_affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing dimensions normalized_shape (an int or a
    shape), then a learned elementwise weight (ones) of normalized_shape; eps None uses the
    input dtype's machine epsilon (F.rms_norm)."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = _set_normalized_shape(self, normalized_shape, eps, elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(_full(shape, 1.0, device, dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalisation of (N, C, ...) over groups of num_channels / num_groups channels, then a
    learned per-channel weight (ones) and bias (zeros) when affine."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class CosineSimilarity(Module):
    """The cosine similarity of two inputs along dim (F.cosine_similarity)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """The p-norm distance of x1 - x2 + eps over the last dimension (F.pairwise_distance)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p  # PyTorch's attribute name
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class LocalResponseNorm(Module):
    """AlexNet's normalisation across size neighbouring channels."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
