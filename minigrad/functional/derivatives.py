"""Each op's gradient as differentiable ops, for backward and grad with create_graph=True.

A Function's own backward works on backend arrays and is not recorded. With create_graph, the
engine asks graph_backward(node, grad) instead: the formula registered here for the node's class
computes the same gradients from minigrad ops on tensors, so they land on the tape and can be
differentiated again (gradient penalties, Hessian-vector products, physics-informed losses,
MAML). The tensors a formula uses stand for the node's inputs and output: they wrap the arrays the
node saved and carry the node's edges (graph_input, graph_output), so a second backward reaches
the original graph through them.

An op with no formula here still gives its first-order gradient under create_graph, as a tensor
whose node raises if a later backward reaches it (PyTorch's "derivative ... is not implemented"),
never a silently wrong higher derivative. Each formula reads the node's saved arrays as the op's
backward does; tests/test_create_graph.py checks that both give the same first derivatives.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad import autograd as _autograd
from minigrad.autograd import Function
from minigrad.functional import decompositions as _decompositions
from minigrad.functional import elementwise as ew
from minigrad.functional import linalg as la
from minigrad.functional import loss as _loss
from minigrad.functional import nn as _nn
from minigrad.functional import reduce as _reduce
from minigrad.functional import shape as _shape
from minigrad.functional import special as _special
from minigrad.functional.activation import HardsigmoidOp, HardswishOp, HardtanhOp, LogSigmoidOp
from minigrad.functional.ctc import CtcLossOp
from minigrad.tensor import Tensor

Grads = Sequence[Tensor | None]


# --- the tensors a formula works on -----------------------------------------------------------


def graph_input(fn: Function, i: int, array: Any) -> Tensor:
    """Input i of fn, whose value the node saved as array: the leaf itself, a tensor carrying the
    edge to the node that made it, or a constant when it needs no gradient."""
    edge = fn.next[i]
    if isinstance(edge, Tensor):
        return edge
    t = Tensor._make(array, fn.be.device)
    if edge is not None:
        t.grad_fn, t._requires_grad = edge, True
    return t


def graph_output(fn: Function, array: Any) -> Tensor:
    """fn's output (saved as array) as a tensor that fn made."""
    t = Tensor._make(array, fn.be.device)
    t.grad_fn, t._requires_grad = fn, True
    return t


def _constant(fn: Function, array: Any) -> Tensor:
    return Tensor._make(array, fn.be.device)


def _scalar(fn: Function, value: float, dtype: Any) -> Tensor:
    """A 0-d constant on fn's device."""
    return _constant(fn, fn.be.full((), value, dtype))


def _sum_to(t: Tensor, shape: tuple) -> Tensor:
    """t summed down to shape (the operand's shape before broadcasting)."""
    shape = tuple(shape)
    if t.shape == shape:
        return t
    lead = t.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and t.shape[i + lead] != 1)
    return t.sum(axes, keepdim=True).reshape(shape)


def _shape_of(saved: Any) -> tuple:
    return saved if isinstance(saved, tuple) else tuple(saved.shape)


def _wanted(fn: Function, *grads: Callable[[], Tensor]) -> list[Tensor | None]:
    """grads[i]() for each input that wants a gradient, None for the others."""
    return [make() if fn.needs_grad(i) else None for i, make in enumerate(grads)]


# --- formulas ---------------------------------------------------------------------------------

_FORMULAS: dict[type, Callable[[Any, Tensor], Grads]] = {}


def register_formula(*classes: type) -> Callable:
    """Decorator: formula(fn, g) -> one gradient (or None) per input of fn, the create_graph
    gradient of the given op classes (ops defined outside functional/ register theirs with it)."""

    def register(formula: Callable) -> Callable:
        for cls in classes:
            _FORMULAS[cls] = formula
        return formula

    return register


_formula = register_formula


@_formula(ew.AddOp)
def _add(fn, g):
    sa, sb = fn.saved
    return _wanted(fn, lambda: _sum_to(g, sa), lambda: _sum_to(g, sb))


@_formula(ew.ScaledAddOp)
def _scaled_add(fn, g):
    sa, sb = fn.saved
    return _wanted(fn, lambda: _sum_to(g, sa), lambda: _sum_to(g * fn.alpha, sb))


@_formula(ew.SubOp)
def _sub(fn, g):
    sa, sb = fn.saved
    return _wanted(fn, lambda: _sum_to(g, sa), lambda: _sum_to(-g, sb))


@_formula(ew.MulOp)
def _mul(fn, g):
    a, b = fn.saved  # each saved only when the other operand wants a gradient
    return _wanted(fn, lambda: _sum_to(g * graph_input(fn, 1, b), _shape_of(a)),
                   lambda: _sum_to(g * graph_input(fn, 0, a), _shape_of(b)))


@_formula(ew.DivOp)
def _div(fn, g):
    a, b = fn.saved
    over_b = g / graph_input(fn, 1, b)
    return _wanted(fn, lambda: _sum_to(over_b, _shape_of(a)),
                   lambda: _sum_to(-over_b * graph_input(fn, 0, a) / graph_input(fn, 1, b), b.shape))


@_formula(ew.PowOp)
def _pow(fn, g):
    a, b, out = fn.saved
    be = fn.be
    base, exponent = graph_input(fn, 0, a), graph_input(fn, 1, b)

    def grad_base():  # a ** (b - 1), with a ** 0 where b == 0 (its term is 0 there, not 0 * inf)
        b_zero = _constant(fn, be.astype(be.compare("eq", b, 0), a.dtype))
        return _sum_to(g * exponent * base ** (exponent - 1 + b_zero), a.shape)

    def grad_exponent():  # log 1 where a == 0 and b >= 0, as the array rule
        base_zero = _constant(fn, be.logical("logical_and", be.compare("eq", a, 0), be.compare("ge", b, 0)))
        log_base = ew.where(base_zero, _scalar(fn, 1, a.dtype), base).log()
        return _sum_to(g * graph_output(fn, out) * log_base, b.shape)

    return _wanted(fn, grad_base, grad_exponent)


@_formula(ew.PowScalarOp)
def _pow_scalar(fn, g):
    (a,) = fn.saved
    p = fn.exponent
    if p == 0:
        return [_constant(fn, fn.be.full(a.shape, 0, g.dtype))]
    return [g * (graph_input(fn, 0, a) ** (p - 1) * p)]


@_formula(ew.NegOp)
def _neg(fn, g):
    return [-g]


@_formula(ew.ExpOp)
def _exp(fn, g):
    return [g * graph_output(fn, fn.saved[0])]


@_formula(ew.LogOp)
def _log(fn, g):
    return [g / graph_input(fn, 0, fn.saved[0])]


@_formula(ew.SqrtOp)
def _sqrt(fn, g):
    return [g / (graph_output(fn, fn.saved[0]) * 2)]


@_formula(ew.CloneOp)
def _identity(fn, g):
    return [g]


@_formula(ew.CastOp)
def _cast(fn, g):
    return [g if g.dtype == fn.in_dtype else ew.CastOp.apply(g, dtype=fn.in_dtype)]


@_formula(ew.ToDeviceOp)
def _to_device(fn, g):
    return [ew.ToDeviceOp.apply(g, device=fn.be.device)]


def _shared(fn, g: Tensor) -> Tensor:
    """g (for a reduction, with the reduced axes kept as size 1) times the slope, or share, the
    op's array rule gives each input element, read by applying that rule to ones: 0 or 1 (relu,
    clamp, a max's picked index), a leaky slope, a dropout scale, an even split among a max's
    ties. These are constant around each point, so their product with g is the whole recorded
    gradient; where one is 0 so is the gradient (not 0 * inf)."""
    share = fn.backward(fn.be.full(g.shape, 1, g.dtype))[0]
    return ew.where(_constant(fn, fn.be.compare("ne", share, 0)), g * _constant(fn, share), _scalar(fn, 0, g.dtype))


@_formula(ew.AbsOp, ew.ClampOp, _nn.ReLUOp, _nn.LeakyReLUOp, HardtanhOp, HardsigmoidOp, _nn.DropoutOp)
def _piecewise_linear(fn, g):
    return [_shared(fn, g)]


@_formula(ew.SignOp, ew.RoundOp, ew.ZeroGradientOp)
def _zero(fn, g):
    """Ops whose gradient is 0 everywhere: constant zeros."""
    return [None if z is None else _constant(fn, z) for z in fn.backward(g._data)]


class _TensorMath:
    """The backend methods the math derivatives (elementwise._MATH_DERIVATIVES) call, on tensors
    and numbers, so that the one table serves arrays and create_graph alike."""

    add = staticmethod(lambda a, b: a + b)
    sub = staticmethod(lambda a, b: a - b)
    mul = staticmethod(lambda a, b: a * b)
    div = staticmethod(lambda a, b: a / b)
    neg = staticmethod(lambda a: -a)
    sqrt = staticmethod(lambda a: a.sqrt())
    exp = staticmethod(lambda a: a.exp())
    sin = staticmethod(lambda a: a.sin())
    cos = staticmethod(lambda a: a.cos())
    sinh = staticmethod(lambda a: a.sinh())
    cosh = staticmethod(lambda a: a.cosh())

    @staticmethod
    def compare(op: str, a: Tensor, b: Any) -> Tensor:
        return getattr(a.detach(), f"__{op}__")(b)

    @staticmethod
    def where(cond: Tensor, a: Any, b: Any) -> Tensor:
        return ew.where(cond, a, b)


@_formula(ew.MathOp, ew.ComposedMathOp)
def _math(fn, g):
    a, out = fn.saved
    a = None if a is None else graph_input(fn, 0, a)
    out = None if out is None else graph_output(fn, out)
    return [g * ew._MATH_DERIVATIVES[fn.function](_TensorMath, a, out)]


@_formula(ew.WhereOp)
def _where(fn, g):
    cond, sa, sb = fn.saved
    cond, zero = _constant(fn, cond), _scalar(fn, 0, g.dtype)
    return _wanted(fn, lambda: _sum_to(ew.where(cond, g, zero), sa), lambda: _sum_to(ew.where(cond, zero, g), sb))


@_formula(ew.MaximumOp)
def _maximum(fn, g):
    """The array rule's split (the picked operand, half each at ties) is constant around each
    point: applied to g it is g times fixed shares."""
    a, b = fn.saved
    be = fn.be
    ones = be.full(g.shape, 1, g.dtype)
    shared = be.where(be.compare("eq", a, b), 0.5, ones)
    lose_a, lose_b = ("lt", "gt") if fn.largest else ("gt", "lt")
    return _wanted(fn, lambda: _sum_to(g * _constant(fn, be.where(be.compare(lose_a, a, b), 0, shared)), a.shape),
                   lambda: _sum_to(g * _constant(fn, be.where(be.compare(lose_b, a, b), 0, shared)), b.shape))


@_formula(ew.SoftplusOp)
def _softplus(fn, g):
    scaled, linear = fn.saved
    # scaled = beta * x: differentiable through x, which is scaled / beta
    x = graph_input(fn, 0, fn.be.div(scaled, fn.beta))
    return [ew.where(_constant(fn, linear), g, g * _nn.sigmoid(x * fn.beta))]


# --- reductions and shapes --------------------------------------------------------------------


def _unreduce(t: Tensor, shape: tuple, axes: Sequence[int] | None, keepdim: bool) -> Tensor:
    """t, reduced over axes of shape, with those axes back as size 1 (for broadcasting)."""
    if keepdim:
        return t
    axes = range(len(shape)) if axes is None else axes
    return t.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))


@_formula(_reduce.SumOp)
def _sum(fn, g):
    (shape,) = fn.saved
    return [_unreduce(g, shape, fn.axes, fn.keepdim).expand(shape)]


@_formula(_reduce.MeanOp)
def _mean(fn, g):
    (shape,) = fn.saved
    n = math.prod(shape) if fn.axes is None else math.prod(shape[ax] for ax in fn.axes)
    return [(_unreduce(g, shape, fn.axes, fn.keepdim) / n).expand(shape)]


@_formula(_reduce.NormOp)
def _norm(fn, g):
    a, out = fn.saved
    be = fn.be
    x, norm = graph_input(fn, 0, a), graph_output(fn, out)
    g, norm = _unreduce(g, a.shape, fn.axes, fn.keepdim), _unreduce(norm, a.shape, fn.axes, fn.keepdim)
    zero = _constant(fn, be.astype(be.compare("eq", be.reshape(out, norm.shape), 0), a.dtype))
    return [x * (g / (norm + zero))]  # 0 where the norm is 0, as the array rule


@_formula(_reduce.MaxMinOp)
def _max_min(fn, g):
    if fn.dim is None:
        return [_shared(fn, g)]
    shape, idx = fn.saved
    return [_shared(fn, g if fn.keepdim else g.reshape(idx.shape))]


@_formula(_reduce.AmaxOp)
def _amax(fn, g):
    return [_shared(fn, g.reshape(fn.saved[1].shape))]


@_formula(_reduce.CumsumOp)
def _cumsum(fn, g):
    return [g.flip(fn.dim).cumsum(fn.dim).flip(fn.dim)]  # running sums from the end


@_formula(_shape.ReshapeOp)
def _reshape(fn, g):
    return [g.reshape(fn.saved[0])]


@_formula(_shape.PermuteOp)
def _permute(fn, g):
    inverse = [0] * len(fn.axes)
    for i, ax in enumerate(fn.axes):
        inverse[ax] = i
    return [g.permute(tuple(inverse))]


@_formula(_shape.ExpandOp)
def _expand(fn, g):
    return [_sum_to(g, fn.saved[0])]


@_formula(_shape.CatOp)
def _cat(fn, g):
    starts = itertools.accumulate(fn.saved, initial=0)
    lead = (slice(None),) * fn.dim
    return [g[lead + (slice(start, start + n),)] if fn.needs_grad(i) else None
            for i, (start, n) in enumerate(zip(starts, fn.saved, strict=False))]


@_formula(_shape.PadOp)
def _pad(fn, g):
    return [_shape.IndexOp.apply(g, index=fn.inside)]


class _IndexGradOp(Function):
    """The gradient of input[index] (IndexOp's backward) as an op: g put at index into zeros of
    the input's shape. Its own gradient is input[index] again, so each is the other's."""

    __slots__ = ("index",)

    def forward(self, g, shape, dtype, index):
        self.index = index
        node = _shape.IndexOp.__new__(_shape.IndexOp)
        node.be, node.index, node.saved = self.be, index, (shape, dtype)
        return node.backward(g)[0]

    def backward(self, g):
        return (self.be.getitem(g, self.index),)


@_formula(_shape.IndexOp)
def _index(fn, g):
    shape, dtype = fn.saved
    return [_IndexGradOp.apply(g, shape=shape, dtype=dtype, index=fn.index)]


_FORMULAS[_IndexGradOp] = lambda fn, g: [_shape.IndexOp.apply(g, index=fn.index)]


@_formula(_shape.IndexPutOp)
def _index_put(fn, g):
    (values_shape,) = fn.saved
    return _wanted(fn, lambda: _shape.IndexPutOp.apply(g, _scalar(fn, 0, g.dtype), index=fn.index),
                   lambda: _sum_to(_shape.IndexOp.apply(g, index=fn.index), values_shape))


@_formula(_shape.CopySlicesOp)
def _copy_slices(fn, g):
    return _wanted(fn, lambda: _shape.CopySlicesOp.apply(g, _scalar(fn, 0, g.dtype), take=fn.take), lambda: fn.take(g))


@_formula(_shape.IndexAddOp)
def _index_add(fn, g):
    return _wanted(fn, lambda: g, lambda: _shape.IndexOp.apply(g, index=fn.index))


# --- products ---------------------------------------------------------------------------------


@_formula(la.MatMulOp)
def _matmul(fn, g):
    a, b = fn.saved
    return _wanted(fn, lambda: _sum_to(la._scaled_matmul(g, graph_input(fn, 1, b).mT, fn.alpha), _shape_of(a)),
                   lambda: _sum_to(la._scaled_matmul(graph_input(fn, 0, a).mT, g, fn.alpha), _shape_of(b)))


@_formula(_nn.LinearOp)
def _linear(fn, g):
    x2, weight, x_shape = fn.saved  # x as rows (when the weight wants a gradient), the weight (when x does)
    rows = g.reshape((math.prod(x_shape[:-1]), g.shape[-1]))
    return _wanted(
        fn,
        lambda: (rows @ graph_input(fn, 1, weight)).reshape(x_shape),
        lambda: rows.T @ graph_input(fn, 0, fn.be.reshape(x2, x_shape)).reshape(x2.shape),
        lambda: rows.sum(0),
    )


# --- activations, softmax, losses -------------------------------------------------------------


@_formula(_nn.SigmoidOp)
def _sigmoid(fn, g):
    y = graph_output(fn, fn.saved[0])
    return [g * y * (1 - y)]


@_formula(_nn.TanhOp)
def _tanh(fn, g):
    y = graph_output(fn, fn.saved[0])
    return [g * (1 - y * y)]


@_formula(LogSigmoidOp)
def _log_sigmoid(fn, g):
    return [g * _nn.sigmoid(-graph_input(fn, 0, fn.saved[0]))]


@_formula(HardswishOp)
def _hardswish(fn, g):
    (a,) = fn.saved
    be = fn.be
    x = graph_input(fn, 0, a)
    inside = ew.where(_constant(fn, be.compare("lt", a, 3.0)), x / 3 + 0.5, _scalar(fn, 1, a.dtype))
    return [g * ew.where(_constant(fn, be.compare("le", a, -3.0)), _scalar(fn, 0, a.dtype), inside)]


@_formula(_nn.GELUOp)
def _gelu(fn, g):
    x = graph_input(fn, 0, fn.saved[0])
    if fn.approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        inner = k * (x + 0.044715 * x**3)
        t = inner.tanh()
        return [g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x))]
    cdf = 0.5 * (1 + ew.erf(x / math.sqrt(2)))
    return [g * (cdf + x * (-0.5 * x * x).exp() / math.sqrt(2 * math.pi))]


def _softmax_output(fn) -> Tensor:
    """A softmax node's output, the saved array taken back from the last axis to dim."""
    y = fn.saved[0]
    return graph_output(fn, y if fn.axes is None else fn.be.permute(y, fn.axes))


def _softmax_dim(fn) -> int:
    return -1 if fn.axes is None else fn.axes.index(len(fn.axes) - 1)


@_formula(_nn.SoftmaxOp)
def _softmax(fn, g):
    y, dim = _softmax_output(fn), _softmax_dim(fn)
    return [y * (g - (g * y).sum(dim, keepdim=True))]


@_formula(_nn.LogSoftmaxOp)
def _log_softmax(fn, g):
    y, dim = _softmax_output(fn), _softmax_dim(fn)
    return [g - y.exp() * g.sum(dim, keepdim=True)]


@_formula(_loss.CrossEntropyOp)
def _cross_entropy(fn, g):
    """g (per row, or one number) times s (softmax(x) - q), q the smoothed one-hot target and s
    1 on the rows counted (over their number for "mean"), 0 on ignored ones. Only softmax(x)
    depends on x; it is differentiated through the saved log-probabilities, which are x less a
    constant per row and so stand for x under softmax (which ignores such shifts, in value and
    derivative alike)."""
    log_probs, target = fn.saved
    reduction, _, ignore_index = fn.args
    be = fn.be
    counted = be.astype(be.compare("ne", target, ignore_index), g.dtype)
    if reduction == "mean":
        total = be.sum(counted, None, False)
        counted = be.div(counted, be.where(be.compare("eq", total, 0), 1, total))
    at_one = fn.backward(be.full(g.shape, 1, g.dtype))[0]
    softmax = _nn.softmax(graph_input(fn, 0, log_probs), 1)
    change = (softmax - _constant(fn, be.exp(log_probs))) * _constant(fn, be.reshape(counted, (-1, 1)))
    per_row = g.reshape(g.shape + (1,)) if g.ndim else g
    return [per_row * (_constant(fn, at_one) + change)]


@_formula(_loss.BinaryCrossEntropyOp)
def _binary_cross_entropy(fn, g):
    x, target = fn.saved
    p = graph_input(fn, 0, x)
    return [g * (p - _constant(fn, target)) / (p * (1 - p)).clamp(min=1e-12)]


@_formula(_loss.BinaryCrossEntropyWithLogitsOp)
def _binary_cross_entropy_with_logits(fn, g):
    x, target, scale = fn.saved
    logits, t = graph_input(fn, 0, x), _constant(fn, target)
    scale = scale if isinstance(scale, (int, float)) else _constant(fn, scale)
    return [g * ((1 - t) - scale * _nn.sigmoid(-logits))]


@_formula(_loss.NLLLossOp)
def _nll_loss(fn, g):
    """Linear in the log-probabilities: -g w / total put at each row's target (w the counted rows'
    class weights, total their sum for "mean")."""
    w, rows, safe, shape, total = fn.saved
    be = fn.be
    coef = be.neg(w) if total is None else be.div(be.neg(w), be.where(be.compare("eq", total, 0), 1, total))
    return [_IndexGradOp.apply(g * _constant(fn, coef), shape=shape, dtype=w.dtype, index=(rows, safe)), None]


@_formula(CtcLossOp)
def _ctc_loss(fn, g):
    """First order only, as PyTorch: its ctc_loss gradient (the fused _ctc_loss_backward) has no
    derivative either, and a second backward raises PyTorch's message."""
    return _first_order_only(fn, g, "derivative for aten::_ctc_loss_backward is not implemented")


def _normalized_grads(fn, g: Tensor, stats_axes: tuple, param_axes: tuple, param_shape: tuple) -> Grads:
    """Batch and layer norm: y = x_hat * weight + bias, x_hat = (x - mean) * invstd over
    stats_axes (mean and invstd from x itself, or for batch norm in eval the running statistics,
    constants), weight and bias broadcast as param_shape and their gradients summed over
    param_axes."""
    x_array, weight, save_mean, save_invstd = fn.saved
    be = fn.be
    x = graph_input(fn, 0, x_array)
    scale = None if weight is None else graph_input(fn, 1, weight).reshape(param_shape)
    from_batch = getattr(fn, "training", True)
    if from_batch:
        centered = x - x.mean(stats_axes, keepdim=True)
        invstd = ((centered * centered).mean(stats_axes, keepdim=True) + fn.eps) ** -0.5
    else:
        mean = _constant(fn, be.reshape(save_mean, param_shape))
        centered, invstd = x - mean, _constant(fn, be.reshape(save_invstd, param_shape))
    x_hat = centered * invstd

    def grad_x():
        g_hat = g if scale is None else g * scale  # the gradient reaching x_hat
        if not from_batch:
            return g_hat * invstd
        return invstd * (g_hat - g_hat.mean(stats_axes, keepdim=True)
                         - x_hat * (g_hat * x_hat).mean(stats_axes, keepdim=True))

    return _wanted(fn, grad_x, lambda: (g * x_hat).sum(param_axes), lambda: g.sum(param_axes))


@_formula(_nn.BatchNormOp)
def _batch_norm(fn, g):
    axes = (0, *range(2, g.ndim))
    return _normalized_grads(fn, g, axes, axes, (1, g.shape[1]) + (1,) * (g.ndim - 2))


@_formula(_nn.LayerNormOp)
def _layer_norm(fn, g):
    lead = g.ndim - fn.normalized_ndim
    return _normalized_grads(fn, g, tuple(range(lead, g.ndim)), tuple(range(lead)), g.shape[lead:])


@_formula(_nn.EmbeddingOp)
def _embedding(fn, g):
    shape, dtype = fn.saved
    scale = fn.be.from_numpy(np.ascontiguousarray(fn.grad_scale[..., None], dtype=g.dtype))
    return [_IndexGradOp.apply(g * _constant(fn, scale), shape=shape, dtype=dtype, index=fn.index)]


# --- convolution and pooling ------------------------------------------------------------------


class _Conv2dWeightGradOp(Function):
    """A convolution's weight gradient from its input x and output gradient g, as an op: its own
    gradients are the input gradient with g (for x) and the convolution of x (for g)."""

    __slots__ = ("args", "weight_shape")

    def forward(self, x, g, args, weight_shape):
        self.args, self.weight_shape = args, weight_shape
        self.saved = (x, g)
        canvas = self.be.empty(weight_shape, x.dtype)  # only its shape is read
        return self.be.conv2d_backward(g, x, canvas, *args, False, True, False)[1]

    def backward(self, h):
        x, g = self.saved
        gx = self.be.conv2d_backward(g, x, h, *self.args, True, False, False)[0] if self.needs_grad(0) else None
        gg = self.be.conv2d_forward(x, h, None, *self.args) if self.needs_grad(1) else None
        return gx, gg


def _conv_args(fn) -> dict:
    return {"stride": fn.stride, "padding": fn.padding, "dilation": fn.dilation, "groups": fn.groups}


@_formula(_nn.Conv2dOp)
def _conv2d(fn, g):
    x, weight = fn.saved
    args = _conv_args(fn)
    return _wanted(
        fn,
        lambda: _nn.ConvTranspose2dOp.apply(g, graph_input(fn, 1, weight), None, **args, out_hw=tuple(x.shape[2:])),
        lambda: _Conv2dWeightGradOp.apply(graph_input(fn, 0, x), g, args=tuple(args.values()),
                                          weight_shape=tuple(weight.shape)),
        lambda: g.sum((0, 2, 3)),
    )


@_formula(_nn.ConvTranspose2dOp)
def _conv_transpose2d(fn, g):
    x, weight = fn.saved  # x plays the convolution's output gradient, g its input
    args = _conv_args(fn)
    return _wanted(
        fn,
        lambda: _nn.Conv2dOp.apply(g, graph_input(fn, 1, weight), None, **args),
        lambda: _Conv2dWeightGradOp.apply(g, graph_input(fn, 0, x), args=tuple(args.values()),
                                          weight_shape=tuple(weight.shape)),
        lambda: g.sum((0, 2, 3)),
    )


@_formula(_Conv2dWeightGradOp)
def _conv2d_weight_grad(fn, h):
    x, g = fn.saved
    stride, padding, dilation, groups = fn.args
    args = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return _wanted(
        fn,
        lambda: _nn.ConvTranspose2dOp.apply(graph_input(fn, 1, g), h, None, **args, out_hw=tuple(x.shape[2:])),
        lambda: _nn.Conv2dOp.apply(graph_input(fn, 0, x), h, None, **args),
    )


class _LinearGradOp(Function):
    """The gradient of an op linear in its one input (avg_pool2d; max_pool2d at fixed argmax
    positions) as an op: forward is that op's array backward, and its own gradient is the op's
    forward map, applied by `transposed` (arrays) and `transposed_graph` (tensors)."""

    __slots__ = ("node", "transposed", "transposed_graph")

    def forward(self, g, node, transposed, transposed_graph):
        self.node, self.transposed, self.transposed_graph = node, transposed, transposed_graph
        return node.backward(g)[0]

    def backward(self, h):
        return (self.transposed(h),)


_FORMULAS[_LinearGradOp] = lambda fn, h: [fn.transposed_graph(h)]


@_formula(_nn.AvgPool2dOp)
def _avg_pool2d(fn, g):
    be, args = fn.be, fn.args
    return [_LinearGradOp.apply(g, node=fn, transposed=lambda h: be.avg_pool2d_forward(h, *args),
                                transposed_graph=lambda h: _nn.AvgPool2dOp.apply(h, *args))]


@_formula(la.DiagonalOp)
def _diagonal(fn, g):
    be, (offset, dim1, dim2) = fn.be, fn.args
    return [_LinearGradOp.apply(g, node=fn, transposed=lambda h: be.diagonal(h, offset, dim1, dim2),
                                transposed_graph=lambda h: la.DiagonalOp.apply(h, offset=offset, dim1=dim1, dim2=dim2))]


@_formula(_nn.MaxPool2dOp, _nn.ReLUMaxPool2dOp)
def _max_pool2d(fn, g):
    """g put back at the argmax positions (those of a window maximum above 0 with the fused ReLU);
    its own gradient takes h at those positions."""
    if fn.relu:
        y = fn.saved[1]
        g = g * _constant(fn, fn.be.relu_backward(fn.be.full(y.shape, 1, y.dtype), y))
    flat_index = Tensor._make(fn.indices, fn.be.device).flatten(2)
    out_shape = tuple(g.shape)

    def gather(h: Tensor) -> Tensor:
        return h.flatten(2).gather(2, flat_index).reshape(out_shape)

    def gather_array(h: Any) -> Any:
        return gather(Tensor._make(h, fn.be.device))._data

    return [_LinearGradOp.apply(g, node=fn, transposed=gather_array, transposed_graph=gather)]


# --- host ops: atan2, remainder/fmod, frexp, scatter_reduce, special functions ----------------


@_formula(ew.Atan2Op)
def _atan2(fn, g):
    """(b, -a) g / (a^2 + b^2), 0 where a^2 + b^2 is 0 (as the array rule; the recorded division
    never sees that 0, so the second derivative there is 0 too, where PyTorch's is NaN)."""
    a, b = fn.saved
    be = fn.be
    y, x = graph_input(fn, 0, a), graph_input(fn, 1, b)
    origin = _constant(fn, be.compare("eq", be.add(be.mul(a, a), be.mul(b, b)), 0))
    one, zero = _scalar(fn, 1, g.dtype), _scalar(fn, 0, g.dtype)
    scaled = g * ew.where(origin, zero, 1 / ew.where(origin, one, y * y + x * x))
    return _wanted(fn, lambda: _sum_to(scaled * x, a.shape), lambda: _sum_to(-scaled * y, b.shape))


@_formula(ew.DivModOp)
def _div_mod(fn, g):
    """remainder and fmod: g for a, -g q for b with q = a / b rounded as the op rounds (floor,
    trunc), piecewise constant and so a constant here, as PyTorch's."""
    shape_a, a, b = fn.saved
    be = fn.be

    def grad_other():
        if fn.how == "remainder":
            quotient = ew._host_divide(be, "floor_divide", a, b)
        else:
            quotient = ew._round_array(be, be.div(a, b), "trunc")
        return _sum_to(-g * _constant(fn, quotient), b.shape)

    return _wanted(fn, lambda: _sum_to(g, shape_a), grad_other)


@_formula(ew.FrexpOp)
def _frexp(fn, g):
    return [g / _constant(fn, fn.saved[0])]  # 2 ** exponent: piecewise constant


@_formula(_shape.ScatterReduceOp)
def _scatter_reduce(fn, g):
    """PyTorch's scatter_reduce_backward on tensors (the array rule's terms): sum, mean, amax and
    amin are linear in g with coefficients constant around each point; prod divides the products
    through the input's zeros, and like PyTorch refuses a second derivative for src where more
    than one zero of src meets at one place."""
    a, s, out = fn.saved
    be, index, reduce, include_self = fn.be, fn.index, fn.reduce, fn.include_self
    x, src = be.to_numpy(a), be.to_numpy(s)
    count = np.zeros(x.shape, np.int64)
    np.add.at(count, index, 1)
    hit = count > 0

    def constant(array: np.ndarray) -> Tensor:
        return _constant(fn, be.from_numpy(np.ascontiguousarray(array)))

    def gather(t: Tensor) -> Tensor:
        return _shape.IndexOp.apply(t, index=index)

    def product_into(into: Tensor, values: Tensor) -> Tensor:
        return _shape.ScatterReduceOp.apply(into, values, index=index, reduce="prod", include_self=include_self)

    one = _scalar(fn, 1, g.dtype)
    if reduce == "prod":
        self_t, src_t = graph_input(fn, 0, a), graph_input(fn, 1, s)

        def grad_self():
            unzeroed = ew.where(constant(x == 0), one, self_t)
            return g * product_into(unzeroed, src_t) / unzeroed

        def grad_src():
            zero = src == 0
            zeros_here = np.zeros(x.shape, np.int64)
            np.add.at(zeros_here, index, zero)
            single = zero & (zeros_here[index] == 1)
            without = product_into(self_t, ew.where(constant(single), one, src_t))
            grad = ew.where(constant(single), gather(g * without),
                            gather(g * graph_output(fn, out)) / ew.where(constant(zero), one, src_t))
            if (zeros_here[index] > 1).any():
                return _refusing(fn, g, grad._data, "scatter_reduce(): Double backward is unsupported for src when "
                                 ">1 zeros in src are scattered to the same position in self")
            return grad
    else:  # linear in g: g / n for sum and mean, shared by the ties for amax and amin
        if reduce in ("sum", "mean"):
            taken_self, taken_src = None, None
            share = g if reduce == "sum" else g / constant(np.maximum(count + include_self, 1).astype(x.dtype))
        else:  # the elements equal to the result (self only where it took part)
            result = be.to_numpy(out)
            self_is = (x == result) & (include_self | ~hit)
            src_is = src == result[index]
            ties = self_is.astype(x.dtype)
            np.add.at(ties, index, src_is)
            share = g / constant(ties)
            taken_self, taken_src = constant(self_is.astype(x.dtype)), constant(src_is.astype(x.dtype))

        def grad_self():
            return share if taken_self is None else share * taken_self

        def grad_src():
            return gather(share) if taken_src is None else gather(share) * taken_src

    if include_self:
        return _wanted(fn, grad_self, grad_src)
    return _wanted(fn, lambda: ew.where(constant(hit), _scalar(fn, 0, g.dtype), grad_self()), grad_src)


@_formula(_special.SpecialOp)
def _special_function(fn, g):
    x, out = fn.saved  # float64 on the host
    be = fn.be
    derivative = _special.GRAPH_DERIVATIVES[fn.function]
    return [g * derivative(graph_input(fn, 0, _special._to_device(be, x, g.dtype)),
                           graph_output(fn, _special._to_device(be, out, g.dtype)))]


@_formula(_special.PolygammaOp)
def _polygamma(fn, g):
    x = graph_input(fn, 0, _special._to_device(fn.be, fn.saved[0], g.dtype))
    return [g * _special.polygamma(fn.n + 1, x)]


# --- linear algebra (minigrad.linalg's host factorizations and solvers) ------------------------


class HostPullback:
    """The pullback of one output of a host op (functional/decompositions._HostOp): called on the
    output's float64 gradient it gives the inputs' (the node's backward); for create_graph,
    `graph(*inputs, g)` gives the same gradients from differentiable minigrad ops on tensors that
    stand for the inputs (whose float64 values are `inputs`), or None where it has no formula
    (the gradient is then first order only)."""

    __slots__ = ("arrays", "inputs", "graph")

    def __init__(self, arrays: Callable, inputs: tuple[np.ndarray, ...],
                 graph: Callable[..., Sequence[Tensor | None] | None]) -> None:
        self.arrays, self.inputs, self.graph = arrays, inputs, graph

    def __call__(self, g: np.ndarray) -> Any:
        return self.arrays(g)


@_formula(_decompositions.InvOp, _decompositions.DetOp, _decompositions.SlogdetOp, _decompositions.SolveOp,
          _decompositions.SolveTriangularOp, _decompositions.CholeskyOp, _decompositions.CholeskySolveOp,
          _decompositions.EighOp, _decompositions.LuFactorOp,
          _decompositions.SvdOp, _decompositions.QrOp, _decompositions.PinvOp, _decompositions.MatrixExpOp)
def _host_factorization(fn, g):
    """The output's HostPullback.graph, on tensors standing for the node's inputs (in the node's dtype)."""
    pullback = fn.pullback
    grads = None
    if isinstance(pullback, HostPullback):
        inputs = [graph_input(fn, i, fn.be.from_numpy(np.ascontiguousarray(a, dtype=fn.dtype)))
                  for i, a in enumerate(pullback.inputs)]
        grads = pullback.graph(*inputs, g)
    if grads is None:
        return _first_order_only(fn, g)
    return [grad if fn.needs_grad(i) else None for i, grad in enumerate(grads)]


# --- gradients through a recomputation ---------------------------------------------------------


class _StandIn(Function):
    """An identity node in front of an input of a recomputed forward (backward_to_stand_ins): a
    copy of the input's value (or of `value`, the value the recomputation needs), whose gradient
    goes on to the input."""

    __slots__ = ()

    def forward(self, a, value=None):
        return self.be.copy(a if value is None else value)

    def backward(self, g):
        return (g,)


_FORMULAS[_StandIn] = lambda fn, g: [g]


def stand_in(t: Tensor, value: Any = None) -> Tensor:
    """t behind a node of its own, for backward_to_stand_ins; value (an array of t's shape and
    dtype) replaces t's value where the recomputation needs another one."""
    return _StandIn.apply(t, value=value)


def backward_to_stand_ins(outputs: Sequence[Tensor], grads: Sequence[Tensor], stand_ins: Sequence[Tensor],
                          create_graph: bool, leaves: Sequence[Tensor] = ()) -> list[Tensor | None]:
    """The gradients (weighted by grads) of outputs, computed from stand_ins (stand_in) and leaves,
    with respect to those (None where none reaches one), as autograd.grad: the pass stops at the
    stand-ins, whose edges are cut meanwhile, so that it neither walks nor runs the graph before
    them. They are restored after: with create_graph, a later backward through the gradients goes
    on through each stand-in to what it stands for."""
    nodes = [s.grad_fn for s in stand_ins]
    edges = [node.next for node in nodes]
    for node in nodes:
        node.next = [None]
    try:
        return list(_autograd.grad(list(outputs), [*stand_ins, *leaves], list(grads), create_graph=create_graph,
                                   allow_unused=True))
    finally:
        for node, edge in zip(nodes, edges, strict=True):
            node.next = edge


def gradients_by_recomputation(fn: Function, g: Tensor, values: Sequence[Any],
                               recompute: Callable[..., Tensor]) -> list[Tensor | None]:
    """A fused op's create_graph gradients: recompute(*inputs) writes fn's forward with
    differentiable ops, on tensors of the given values standing for fn's inputs (None for an
    absent one), and g is backpropagated through it with create_graph. values are what the
    recomputation needs, which the node may have saved in another form (pre-activations from
    activations, say)."""
    inputs = [None if value is None else graph_input(fn, i, value) for i, value in enumerate(values)]
    wanted = [i for i, t in enumerate(inputs) if t is not None and fn.needs_grad(i)]
    for i in wanted:
        inputs[i] = stand_in(inputs[i], values[i])
    grads = backward_to_stand_ins([recompute(*inputs)], [g], [inputs[i] for i in wanted], create_graph=True)
    result: list[Tensor | None] = [None] * len(values)
    for i, grad in zip(wanted, grads, strict=True):
        result[i] = grad
    return result


# --- the engine's entry -----------------------------------------------------------------------


class _RaisesOnBackward(Function):
    """The node of a gradient that must not be differentiated again: a backward reaching it
    raises its message."""

    __slots__ = ("message",)

    def backward(self, grad):
        raise RuntimeError(self.message)


def not_differentiable_again(array: Any, device: str, edges: list, message: str) -> Tensor:
    """array as a tensor on the tape, with edges (nodes or leaves) to what it was computed from,
    whose differentiation raises RuntimeError(message) instead of missing a derivative."""
    node = _RaisesOnBackward.__new__(_RaisesOnBackward)
    node.be, node.next, node.saved, node.versions = _autograd.get_backend(device), edges, (), None
    node.seq, node.retained, node.hooks, node.message = next(_autograd._sequence), None, None, message
    return graph_output(node, array)


def _refusing(fn: Function, g: Tensor, grad: Any, message: str) -> Tensor:
    """grad (an array gradient of fn's inputs) as a tensor whose differentiation raises message."""
    edges = [g.grad_fn or g if g._requires_grad else None, *fn.next]
    return not_differentiable_again(grad, fn.be.device, edges, message)


def _first_order_only(fn: Function, g: Tensor, message: str | None = None) -> list[Tensor | None]:
    """fn's array gradients, each as a tensor whose differentiation raises message (by default: the
    op has no formula)."""
    if message is None:
        message = (f"the derivative of {fn.name()}'s gradient is not implemented in minigrad: create_graph=True "
                   "gave its first-order gradient, which cannot be differentiated again")
    return [None if grad is None else _refusing(fn, g, grad, message) for grad in fn.backward(g._data)]


def graph_backward(fn: Function, g: Tensor) -> list[Tensor | None]:
    """fn's input gradients for the output gradient g, recorded on the tape (grad mode is on)."""
    if isinstance(fn, _autograd._CustomFunctionNode):
        return fn.gradients(g, True)
    formula = _FORMULAS.get(type(fn))
    if formula is None:
        return _first_order_only(fn, g)
    return list(formula(fn, g))
