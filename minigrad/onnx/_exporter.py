"""Trace a model's forward pass and write it as an ONNX graph.

How it works: the model runs once on the example input in eval mode, without a tape, inside
``minigrad.autograd.trace``; every Function applied is recorded with its input tensors, keyword
parameters and result. Each record becomes ONNX nodes (``_EMITTERS``, one function per op class).
A few modules whose forward is a composition of many small ops (LocalResponseNorm) are written as
one ONNX operator instead: a forward hook records them over their inner ops. Only the records the
outputs depend on are written.

Values are named when they are made, so an in-place op (``ReLU(inplace=True)``, ``x += y``) is
followed: a tensor whose version changed since it was named takes the name of the op result that
was written into it. Tensors the trace did not make are the inputs, the model's parameters and
buffers (initializers named by their state_dict keys), or constants made in forward (initializers
with the values they had).

The batch axis: with a dynamic batch (the default), Reshape and Expand keep axis 0 from their
input (0 / 1 in the shape), so any batch size runs. Other axes are fixed at the example's sizes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.autograd import no_grad, trace
from minigrad.backend import get_backend
from minigrad.functional import activation as A
from minigrad.functional import elementwise as E
from minigrad.functional import linalg as LA
from minigrad.functional import nn as NN
from minigrad.functional import reduce as R
from minigrad.functional import shape as S
from minigrad.nn import LocalResponseNorm, Module
from minigrad.tensor import Tensor

MIN_OPSET = 13  # Softmax over one axis, ReduceSum with axes as an input
DEFAULT_OPSET = 17


class UnsupportedOperatorError(RuntimeError):
    """An op in the traced forward pass has no ONNX translation."""


def _host(t: Tensor) -> np.ndarray:
    """t's values as a numpy array (without Tensor.numpy's rules for tensors that require grad)."""
    return get_backend(t.device).to_numpy(t._data)


@dataclass
class _Record:
    """One traced op: its class, its inputs (tensors and their value names), parameters, result."""

    op: Any  # a Function subclass, or a module class for a module written as one node
    tensors: tuple  # input tensors (None for an absent optional input)
    names: list  # the input tensors' value names (None for an absent one)
    params: dict
    result: Tensor
    out: str


class _Graph:
    """The ONNX nodes, initializers and value names being built."""

    def __init__(self, helper: Any, numpy_helper: Any, opset: int, state: Mapping[int, str]) -> None:
        self.helper, self.numpy_helper = helper, numpy_helper
        self.opset = opset
        self._state = state  # id of a parameter / buffer array -> its state_dict key
        self.nodes: list = []
        self.initializers: dict[str, Any] = {}
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"/{hint}_{self._count}"

    def node(self, op_type: str, inputs: Sequence[str | None], output: str | None = None, **attrs: Any) -> str:
        """Append a node; returns its (single) output name."""
        output = output or self.fresh(op_type)
        names = [name or "" for name in inputs]
        while names and not names[-1]:  # trailing absent optional inputs are left out
            names.pop()
        self.nodes.append(self.helper.make_node(op_type, names, [output], name=output.lstrip("/"), **attrs))
        return output

    def initializer(self, name: str, array: np.ndarray) -> str:
        if name not in self.initializers:
            self.initializers[name] = self.numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def array(self, array: Any, device: str) -> str:
        """A device array passed to an op as a parameter (BatchNorm's running stats): named by
        its state_dict key when it is a buffer's."""
        name = self._state.get(id(array)) or self.fresh("buffer")
        return self.initializer(name, get_backend(device).to_numpy(array))

    def const(self, array: Any, dtype: Any = np.int64) -> str:
        """A new initializer holding array (shapes and axes are int64)."""
        return self.initializer(self.fresh("Constant"), np.asarray(array, dtype=dtype))


# --- op translations: emit(graph, record) writes nodes whose last output is record.out ---------


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


def _emit_linear(g: _Graph, r: _Record) -> None:
    x, weight, bias = r.names
    if r.tensors[0].ndim == 2:
        g.node("Gemm", [x, weight, bias], r.out, transB=1)
        return
    y = g.node("MatMul", [x, g.node("Transpose", [weight], perm=[1, 0])], None if bias else r.out)
    if bias:
        g.node("Add", [y, bias], r.out)


def _emit_conv(g: _Graph, r: _Record) -> None:
    p = r.params
    ph, pw = _pair(p["padding"])
    g.node(
        "Conv",
        r.names,
        r.out,
        kernel_shape=list(r.tensors[1].shape[2:]),
        strides=list(_pair(p["stride"])),
        pads=[ph, pw, ph, pw],
        dilations=list(_pair(p["dilation"])),
        group=p["groups"],
    )


def _pool_geometry(r: _Record, dilated: bool) -> dict:
    """kernel_shape, strides, pads (and dilations) of a pooling record. ceil_mode is written as
    extra end padding computed from the traced output size, which is exactly PyTorch's rule
    (a last window must start inside the input), whatever the runtime's ceil_mode does."""
    p = r.params
    kernel = _pair(p["kernel_size"])
    stride = _pair(p["stride"] if p["stride"] is not None else p["kernel_size"])
    pad = _pair(p["padding"])
    dilation = _pair(p.get("dilation", 1))
    ends = []
    for i in range(2):
        size, out = r.tensors[0].shape[2 + i], r.result.shape[2 + i]
        covered = (out - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
        ends.append(pad[i] + max(0, covered - size - 2 * pad[i]))
    attrs = {"kernel_shape": list(kernel), "strides": list(stride), "pads": [pad[0], pad[1], *ends]}
    if dilated:
        attrs["dilations"] = list(dilation)
    return attrs


def _emit_conv_transpose(g: _Graph, r: _Record) -> None:
    """output_padding from the traced output size (the op keeps the size, not the padding)."""
    p, x, weight = r.params, r.tensors[0], r.tensors[1]
    geometry = zip(p["out_hw"], x.shape[2:], p["stride"], p["padding"], p["dilation"], weight.shape[2:], strict=True)
    output_padding = [o - ((n - 1) * s - 2 * pad + d * (k - 1) + 1) for o, n, s, pad, d, k in geometry]
    ph, pw = p["padding"]
    g.node(
        "ConvTranspose",
        r.names,
        r.out,
        kernel_shape=list(weight.shape[2:]),
        strides=list(p["stride"]),
        pads=[ph, pw, ph, pw],
        dilations=list(p["dilation"]),
        group=p["groups"],
        output_padding=output_padding,
    )


def _emit_max_pool(g: _Graph, r: _Record) -> None:
    g.node("MaxPool", r.names, r.out, **_pool_geometry(r, dilated=True))


def _emit_relu_max_pool(g: _Graph, r: _Record) -> None:
    g.node("Relu", [g.node("MaxPool", r.names, **_pool_geometry(r, dilated=True))], r.out)


def _emit_avg_pool(g: _Graph, r: _Record) -> None:
    if r.params["divisor_override"] is not None:
        raise UnsupportedOperatorError("avg_pool2d with divisor_override: ONNX AveragePool has no such divisor")
    attrs = _pool_geometry(r, dilated=False)
    pad = _pair(r.params["padding"])
    if attrs["pads"][2:] != list(pad):  # ceil_mode added windows: let the runtime clip them
        attrs["pads"][2:] = list(pad)
        attrs["ceil_mode"] = 1
    g.node("AveragePool", r.names, r.out, count_include_pad=int(r.params["count_include_pad"]), **attrs)


def _emit_batch_norm(g: _Graph, r: _Record) -> None:
    p = r.params
    if p["training"]:
        raise UnsupportedOperatorError(
            "BatchNorm with batch statistics at inference (track_running_stats=False) cannot be exported"
        )
    x, weight, bias = r.names
    dtype = r.tensors[0].dtype
    channels = r.tensors[0].shape[1]
    weight = weight or g.const(np.ones(channels), dtype)
    bias = bias or g.const(np.zeros(channels), dtype)
    mean, var = (g.array(p[key], r.tensors[0].device) for key in ("running_mean", "running_var"))
    g.node("BatchNormalization", [x, weight, bias, mean, var], r.out, epsilon=float(p["eps"]))


def _emit_layer_norm(g: _Graph, r: _Record) -> None:
    """LayerNormalization from opset 17; before it, the formula from ReduceMean, Sub, Mul, Add,
    Sqrt and Div (axes an attribute below opset 18)."""
    x, weight, bias = r.names
    shape, k, eps = r.tensors[0].shape, r.params["normalized_ndim"], float(r.params["eps"])
    dtype = r.tensors[0].dtype
    if g.opset >= 17:
        scale = weight or g.const(np.ones(shape[len(shape) - k :]), dtype)
        g.node("LayerNormalization", [x, scale, bias], r.out, axis=-k, epsilon=eps)
        return
    axes = list(range(len(shape) - k, len(shape)))
    centred = g.node("Sub", [x, g.node("ReduceMean", [x], axes=axes, keepdims=1)])
    variance = g.node("ReduceMean", [g.node("Mul", [centred, centred])], axes=axes, keepdims=1)
    std = g.node("Sqrt", [g.node("Add", [variance, g.const(eps, dtype)])])
    steps = [("Div", std), ("Mul", weight), ("Add", bias)]
    steps = [(op, operand) for op, operand in steps if operand]
    y = centred
    for i, (op, operand) in enumerate(steps):
        y = g.node(op, [y, operand], r.out if i == len(steps) - 1 else None)


def _emit_lrn(g: _Graph, r: _Record) -> None:
    """PyTorch sums squares over channels [c - size//2, c + (size-1)//2]; ONNX's LRN over
    [c - (size-1)//2, c + size//2]: the same for odd sizes. An even size is written as a 1x1
    convolution of x*x with a banded 0/1 matrix (the channel window sums), then the formula."""
    m = r.params["module"]
    x = r.names[0]
    if m.size % 2:
        g.node("LRN", [x], r.out, size=m.size, alpha=float(m.alpha), beta=float(m.beta), bias=float(m.k))
        return
    shape, dtype = r.tensors[0].shape, r.tensors[0].dtype
    c = np.arange(shape[1])
    offset = c[None, :] - c[:, None]  # input channel - output channel
    band = ((offset >= -(m.size // 2)) & (offset <= (m.size - 1) // 2)).astype(dtype)
    band = band.reshape(shape[1], shape[1], *([1] * (len(shape) - 2)))
    window = g.node("Conv", [g.node("Mul", [x, x]), g.const(band, dtype)])
    scaled = g.node("Add", [g.node("Mul", [window, g.const(m.alpha / m.size, dtype)]), g.const(m.k, dtype)])
    g.node("Div", [x, g.node("Pow", [scaled, g.const(m.beta, dtype)])], r.out)


def _emit_softmax(op_type: str) -> Callable[[_Graph, _Record], None]:
    return lambda g, r: g.node(op_type, r.names, r.out, axis=r.params["dim"])


def _emit_reshape(g: _Graph, r: _Record) -> None:
    """Axis 0 is taken from the input (0) when it is unchanged, or inferred (-1) when the
    reshape merges it with the axes after it, so the batch size can change."""
    old, new = r.tensors[0].shape, list(r.result.shape)
    if old and new and old[0] > 0:
        if new[0] == old[0]:
            new[0] = 0
        elif new[0] % old[0] == 0:
            new[0] = -1
    g.node("Reshape", [r.names[0], g.const(new)], r.out)


def _emit_expand(g: _Graph, r: _Record) -> None:
    """Axes the input already has at full size are written as 1 (kept from the input)."""
    old, new = r.tensors[0].shape, list(r.result.shape)
    lead = len(new) - len(old)
    shape = [1 if i >= lead and old[i - lead] == n else n for i, n in enumerate(new)]
    g.node("Expand", [r.names[0], g.const(shape)], r.out)


def _reduce(g: _Graph, r: _Record, op_type: str, axes: Sequence[int] | None, keepdim: bool) -> None:
    axes = list(range(r.tensors[0].ndim)) if axes is None else list(axes)
    if g.opset >= 18 or op_type == "ReduceSum":  # axes became an input (ReduceSum's at opset 13)
        g.node(op_type, [r.names[0], g.const(axes)], r.out, keepdims=int(keepdim))
    else:
        g.node(op_type, r.names, r.out, axes=axes, keepdims=int(keepdim))


def _emit_sum_mean(op_type: str) -> Callable[[_Graph, _Record], None]:
    return lambda g, r: _reduce(g, r, op_type, r.params["axes"], r.params["keepdim"])


def _emit_max_min(g: _Graph, r: _Record) -> None:
    """The values of max/min (over everything, or over dim; the indices of max(dim) are not
    an op on the tape)."""
    p = r.params
    _reduce(g, r, "ReduceMax" if p["largest"] else "ReduceMin", None if p["dim"] is None else [p["dim"]],
            p["keepdim"])


_INT64_MAX = 2**63 - 1


def _emit_index(g: _Graph, r: _Record) -> None:
    """x[...] with ints, slices of positive step, None and Ellipsis: Slice, Squeeze for the ints,
    Unsqueeze for the Nones. Bounds stay as written (None: to the end), so slicing keeps the
    batch axis dynamic."""
    index = r.params["index"]
    items = list(index) if isinstance(index, tuple) else [index]
    if not S._is_basic(tuple(items)):
        raise UnsupportedOperatorError(
            f"minigrad.onnx.export: indexing with {index!r:.80} is not exported (only ints, slices, None and ...)"
        )
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (r.tensors[0].ndim - sum(i is not None for i in items) + 1)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = kept = 0  # the input axis an item indexes, the output axes made so far
    for item in items:
        if item is None:
            unsqueeze.append(kept)
            kept += 1
            continue
        if isinstance(item, slice):
            kept += 1
            step = 1 if item.step is None else int(item.step)
            if step <= 0:
                raise UnsupportedOperatorError(f"minigrad.onnx.export: slice step {step} is not exported")
            start, stop = 0 if item.start is None else int(item.start), item.stop
            end = _INT64_MAX if stop is None else int(stop)
        else:
            start, step = int(item), 1
            end = _INT64_MAX if start == -1 else start + 1
            squeeze.append(axis)
        if item != slice(None):
            starts.append(start)
            ends.append(end)
            axes.append(axis)
            steps.append(step)
        axis += 1
    chain = [("Slice", [starts, ends, axes, steps]), ("Squeeze", [squeeze]), ("Unsqueeze", [unsqueeze])]
    chain = [(op, args) for op, args in chain if args[0]] or [("Identity", [])]
    x = r.names[0]
    for i, (op, args) in enumerate(chain):
        x = g.node(op, [x, *(g.const(a) for a in args)], r.out if i == len(chain) - 1 else None)


def _emit_same(op_type: str, **attrs: Any) -> Callable[[_Graph, _Record], None]:
    return lambda g, r: g.node(op_type, r.names, r.out, **attrs)


def _emit_matmul(g: _Graph, r: _Record) -> None:
    """MatMul, then Mul by alpha where the product was scaled (attention's scores)."""
    alpha = r.params.get("alpha", 1.0)
    if alpha == 1:
        g.node("MatMul", r.names, r.out)
        return
    g.node("Mul", [g.node("MatMul", r.names), g.const(alpha, r.tensors[0].dtype)], r.out)


def _emit_clamp(g: _Graph, r: _Record) -> None:
    dtype = r.tensors[0].dtype
    bounds = [None if r.params[k] is None else g.const(r.params[k], dtype) for k in ("low", "high")]
    g.node("Clip", [r.names[0], *bounds], r.out)


def _emit_pad(g: _Graph, r: _Record) -> None:
    """Constant padding (F.pad's other modes reach export as index gathers, which it refuses)."""
    widths = r.params["widths"]
    pads = [before for before, _ in widths] + [after for _, after in widths]
    value = g.const(r.params["value"], r.tensors[0].dtype)
    g.node("Pad", [r.names[0], g.const(pads), value], r.out, mode="constant")


# MathOp's functions: an ONNX op, or ops composed (ONNX has no expm1, log1p, log2, log10)
_MATH_OPS = {name: name.capitalize() for name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "erf")}


def _emit_math(g: _Graph, r: _Record) -> None:
    name, (x,), dtype = r.params["function"], r.names, r.tensors[0].dtype
    if name in _MATH_OPS:
        g.node(_MATH_OPS[name], [x], r.out)
    elif name == "expm1":
        g.node("Sub", [g.node("Exp", [x]), g.const(1, dtype)], r.out)
    elif name == "log1p":
        g.node("Log", [g.node("Add", [x, g.const(1, dtype)])], r.out)
    else:  # log2, log10
        g.node("Div", [g.node("Log", [x]), g.const(math.log(2.0 if name == "log2" else 10.0), dtype)], r.out)


def _emit_sign(g: _Graph, r: _Record) -> None:
    """ONNX Sign keeps NaN; PyTorch's (and minigrad's) sign is 0 there."""
    (x,), dtype = r.names, r.tensors[0].dtype
    if dtype.kind != "f":
        g.node("Sign", [x], r.out)
        return
    g.node("Where", [g.node("IsNaN", [x]), g.const(0, dtype), g.node("Sign", [x])], r.out)


def _emit_cast(g: _Graph, r: _Record) -> None:
    to = g.helper.np_dtype_to_tensor_dtype(np.dtype(r.params["dtype"]))
    g.node("Cast", r.names, r.out, to=to)


_EMITTERS: dict[Any, Callable[[_Graph, _Record], None]] = {
    NN.LinearOp: _emit_linear,
    NN.Conv2dOp: _emit_conv,
    NN.ConvTranspose2dOp: _emit_conv_transpose,
    NN.MaxPool2dOp: _emit_max_pool,
    NN.ReLUMaxPool2dOp: _emit_relu_max_pool,
    NN.AvgPool2dOp: _emit_avg_pool,
    NN.BatchNormOp: _emit_batch_norm,
    NN.LayerNormOp: _emit_layer_norm,
    NN.ReLUOp: _emit_same("Relu"),
    NN.SigmoidOp: _emit_same("Sigmoid"),
    NN.TanhOp: _emit_same("Tanh"),
    NN.LeakyReLUOp: lambda g, r: g.node("LeakyRelu", r.names, r.out, alpha=float(r.params["slope"])),
    NN.SoftmaxOp: _emit_softmax("Softmax"),
    NN.LogSoftmaxOp: _emit_softmax("LogSoftmax"),
    S.ReshapeOp: _emit_reshape,
    S.PermuteOp: lambda g, r: g.node("Transpose", r.names, r.out, perm=list(r.params["axes"])),
    S.ExpandOp: _emit_expand,
    S.CatOp: lambda g, r: g.node("Concat", r.names, r.out, axis=r.params["dim"]),
    S.PadOp: _emit_pad,
    E.AddOp: _emit_same("Add"),
    E.SubOp: _emit_same("Sub"),
    E.MulOp: _emit_same("Mul"),
    E.DivOp: _emit_same("Div"),
    E.PowOp: _emit_same("Pow"),
    E.PowScalarOp: lambda g, r: g.node(
        "Pow", [r.names[0], g.const(r.params["exponent"], r.tensors[0].dtype)], r.out
    ),
    E.NegOp: _emit_same("Neg"),
    E.ExpOp: _emit_same("Exp"),
    E.LogOp: _emit_same("Log"),
    E.SqrtOp: _emit_same("Sqrt"),
    E.AbsOp: _emit_same("Abs"),
    E.MathOp: _emit_math,
    E.SignOp: _emit_sign,
    E.ClampOp: _emit_clamp,
    A.HardtanhOp: _emit_clamp,
    A.HardsigmoidOp: lambda g, r: g.node("HardSigmoid", r.names, r.out, alpha=1 / 6, beta=0.5),
    # HardSwish itself is opset 14: x * HardSigmoid(x) also reads at 13
    A.HardswishOp: lambda g, r: g.node(
        "Mul", [r.names[0], g.node("HardSigmoid", r.names, alpha=1 / 6, beta=0.5)], r.out
    ),
    E.CastOp: _emit_cast,
    E.CloneOp: _emit_same("Identity"),
    LA.MatMulOp: _emit_matmul,
    R.SumOp: _emit_sum_mean("ReduceSum"),
    R.MeanOp: _emit_sum_mean("ReduceMean"),
    R.MaxMinOp: _emit_max_min,
    S.IndexOp: _emit_index,
    LocalResponseNorm: _emit_lrn,
}

SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(cls.__name__ for cls in _EMITTERS))
"""The op classes (and modules written as one node) export translates."""

# Modules written as one ONNX node instead of their inner ops.
_WHOLE_MODULES = (LocalResponseNorm,)


# --- tracing -------------------------------------------------------------------------------------


class _Tracer:
    """Records ops as they run and names every value."""

    def __init__(self, model: Module, inputs: Sequence[Tensor], input_names: Sequence[str]) -> None:
        self.records: list[_Record] = []
        self._names: dict[int, tuple[str, int, Tensor]] = {}  # id -> (name, version, tensor kept alive)
        self.state: dict[int, str] = {}  # id of a parameter / buffer (or its array) -> state_dict key
        self.used_state: dict[str, np.ndarray] = {}
        self.constants: dict[str, np.ndarray] = {}
        self._count = 0
        for t, name in zip(inputs, input_names, strict=True):
            self._set_name(t, name)
        for key, t in (*model.named_parameters(), *model.named_buffers()):
            if t is not None:
                self.state[id(t)] = self.state[id(t._data)] = key

    def _set_name(self, t: Tensor, name: str) -> None:
        self._names[id(t)] = (name, t._version_counter.value, t)

    def name(self, t: Tensor) -> str:
        entry = self._names.get(id(t))
        if entry is not None and entry[2] is t:
            if entry[1] == t._version_counter.value:
                return entry[0]
            return self._written_into(t)
        key = self.state.get(id(t))
        if key is not None:
            self.used_state[key] = _host(t)
            return key
        self._count += 1
        name = f"/constant_{self._count}"
        self.constants[name] = _host(t).copy()
        self._set_name(t, name)
        return name

    def _written_into(self, t: Tensor) -> str:
        """t changed in place since it was named: the latest op that took t and made a result
        equal to t's values now is the in-place op (ReLU(inplace=True), +=)."""
        now = _host(t)
        for r in reversed(self.records):
            if any(x is t for x in r.tensors) and r.result.shape == t.shape and np.array_equal(_host(r.result), now):
                self._set_name(t, r.out)
                return r.out
        raise UnsupportedOperatorError(
            f"minigrad.onnx.export: a tensor of shape {t.shape} was changed in place by code that is not an op "
            "(e.g. an assignment t[...] = v); use out-of-place ops in forward to export"
        )

    def add(self, op: Any, tensors: tuple, params: dict, result: Tensor) -> None:
        """Record op(tensors, **params) -> result (autograd.trace's hook)."""
        names = [None if t is None else self.name(t) for t in tensors]
        self._count += 1
        out = f"/{getattr(op, '__name__', 'op').removesuffix('Op')}_{self._count}"
        self.records.append(_Record(op, tuple(tensors), names, params, result, out))
        self._set_name(result, out)

    def module_hook(self, module: Module, args: tuple, output: Tensor) -> None:
        """Record a module of _WHOLE_MODULES as one op over its inner ones (a forward hook)."""
        self.add(type(module), (args[0],), {"module": module}, output)


def _require_onnx() -> tuple[Any, Any, Any]:
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError(
            'minigrad.onnx.export needs the onnx package: pip install "minigrad[onnx]" (or pip install onnx)'
        ) from None
    return onnx, helper, numpy_helper


def _as_tensors(value: Any, what: str) -> list[Tensor]:
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    if not items or not all(isinstance(t, Tensor) for t in items):
        raise TypeError(f"minigrad.onnx.export: {what} must be a Tensor or a tuple of Tensors, got {value!r:.80}")
    return items


def _names(names: Sequence[str] | None, count: int, default: str, what: str) -> list[str]:
    if names is None:
        return [default] if count == 1 else [f"{default}_{i}" for i in range(count)]
    names = list(names)
    if len(names) != count or len(set(names)) != count:
        raise ValueError(f"minigrad.onnx.export: {what} needs {count} distinct names, got {names}")
    return names


def _dynamic_axes(
    dynamic_axes: Mapping[str, Any] | None, names: Sequence[str]
) -> dict[str, dict[int, str]]:
    """name -> {axis: symbolic name}; the default makes axis 0 of every input and output 'batch'."""
    if dynamic_axes is None:
        return {name: {0: "batch"} for name in names}
    result: dict[str, dict[int, str]] = {}
    for name, axes in dynamic_axes.items():
        if name not in names:
            raise ValueError(f"minigrad.onnx.export: dynamic_axes names {name!r}, not an input or output ({names})")
        axes = dict(axes) if isinstance(axes, Mapping) else {a: f"{name}_dynamic_axes_{a}" for a in axes}
        if set(axes) - {0}:
            raise ValueError(
                f"minigrad.onnx.export: only axis 0 (the batch) can be dynamic, got axes {sorted(axes)} for {name!r}"
            )
        result[name] = axes
    return result


def export(
    model: Module,
    args: Tensor | tuple[Tensor, ...],
    f: str | os.PathLike,
    *,
    opset_version: int = DEFAULT_OPSET,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None,
    check: bool = True,
) -> Any:
    """Write model as an ONNX file at f, tracing its forward pass on the example input(s) args.

    As torch.onnx.export: the model runs in eval mode during export (its mode is restored after),
    parameters and buffers are stored in the file as initializers (named by their state_dict
    keys). input_names/output_names default to "input"/"output" ("input_0", ... for several).
    dynamic_axes maps an input or output name to its dynamic axes ({0: "batch"} or [0]); only
    axis 0 can be dynamic. The default (None) makes axis 0 of every input and output a dynamic
    "batch" axis; pass {} for a graph fixed at the example's shapes. opset_version is 13 or more
    (default 17). With check (default), onnx.checker.check_model validates the file.

    Returns the onnx.ModelProto written. Raises UnsupportedOperatorError naming an op that has
    no ONNX translation, ImportError when the onnx package is not installed.
    """
    onnx, helper, numpy_helper = _require_onnx()
    if not isinstance(model, Module):
        raise TypeError(f"minigrad.onnx.export: model must be a minigrad.nn.Module, got {type(model).__name__}")
    if not MIN_OPSET <= opset_version <= onnx.defs.onnx_opset_version():
        raise ValueError(
            f"minigrad.onnx.export: opset_version must lie in [{MIN_OPSET}, {onnx.defs.onnx_opset_version()}] "
            f"(this onnx package's newest), got {opset_version}"
        )
    inputs = _as_tensors(args, "args")
    in_names = _names(input_names, len(inputs), "input", "input_names")

    tracer = _Tracer(model, inputs, in_names)
    training = {m: m.training for m in model.modules()}
    handles = [m.register_forward_hook(tracer.module_hook) for m in model.modules() if isinstance(m, _WHOLE_MODULES)]
    try:
        model.eval()
        with no_grad(), trace(tracer.add):
            result = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in training.items():
            object.__setattr__(m, "training", mode)
    outputs = _as_tensors(result, "the model's output")
    out_names = _names(output_names, len(outputs), "output", "output_names")
    if set(in_names) & set(out_names):
        raise ValueError(f"minigrad.onnx.export: input and output names overlap: {set(in_names) & set(out_names)}")
    dynamic = _dynamic_axes(dynamic_axes, [*in_names, *out_names])

    graph = _Graph(helper, numpy_helper, opset_version, tracer.state)
    output_values = [tracer.name(t) for t in outputs]
    records = _needed(tracer.records, output_values)
    rename = _name_outputs(records, output_values, out_names)
    for record in records:
        emit = _EMITTERS.get(record.op)
        if emit is None:
            raise UnsupportedOperatorError(
                f"minigrad.onnx.export: op {record.op.__name__} (in {type(model).__name__}.forward) has no ONNX "
                f"translation; supported: {', '.join(SUPPORTED_OPS)}"
            )
        emit(graph, record)
    for value, name in zip(output_values, out_names, strict=True):
        if rename.get(value) != name:  # an input, a constant, or another output's value
            graph.node("Identity", [rename.get(value, value)], name)
    used = {name for n in graph.nodes for name in n.input}
    batch = inputs[0].shape[0] if inputs[0].ndim else 0
    for name, array in [*tracer.used_state.items(), *tracer.constants.items()]:
        if name not in used:
            continue
        if name in tracer.constants and array.ndim and array.shape[0] == batch > 1 and any(
            0 in dynamic.get(n, {}) for n in in_names
        ):
            raise UnsupportedOperatorError(
                f"minigrad.onnx.export: a tensor of shape {array.shape} that the traced ops did not make (argmax, "
                "a comparison, a new tensor sized by the input, ...) would be fixed in the file for batch size "
                f"{batch}; compute it with exportable ops, or export a fixed batch with dynamic_axes={{}}"
            )
        graph.initializer(name, array)

    def value_info(name: str, t: Tensor) -> Any:
        shape = [dynamic.get(name, {}).get(i, n) for i, n in enumerate(t.shape)]
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(t.dtype), shape)

    onnx_graph = helper.make_graph(
        graph.nodes,
        type(model).__name__,
        [value_info(n, t) for n, t in zip(in_names, inputs, strict=True)],
        [value_info(n, t) for n, t in zip(out_names, outputs, strict=True)],
        initializer=list(graph.initializers.values()),
    )
    proto = helper.make_model(
        onnx_graph, producer_name="minigrad", opset_imports=[helper.make_opsetid("", opset_version)]
    )
    proto.ir_version = min(proto.ir_version, _IR_VERSIONS.get(opset_version, proto.ir_version))
    if check:
        onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(f))
    return proto


# The IR version each opset shipped with, so runtimes that know the opset read the file.
_IR_VERSIONS = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10}


def _name_outputs(records: list[_Record], values: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    """Give the records that make the outputs the output names; returns old name -> new name."""
    made = {r.out for r in records}
    rename: dict[str, str] = {}
    for value, name in zip(values, names, strict=True):
        if value in made and value not in rename:
            rename[value] = name
    for r in records:
        r.out = rename.get(r.out, r.out)
        r.names = [rename.get(n, n) for n in r.names]
    return rename


def _needed(records: list[_Record], outputs: Sequence[str]) -> list[_Record]:
    """The records the outputs depend on, in the order they ran."""
    producer = {r.out: r for r in records}
    needed: set[str] = set()
    stack = [name for name in outputs if name in producer]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        stack.extend(n for n in producer[name].names if n in producer and n not in needed)
    return [r for r in records if r.out in needed]


