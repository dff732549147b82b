"""Losses: cross-entropy, NLL, MSE, L1, smooth L1 and Huber, KL divergence, binary cross-entropy
(with logits); the margin and embedding losses (margin ranking, cosine embedding, triplet margin,
soft margin, multi margin, multilabel soft margin, hinge embedding) and the Poisson and Gaussian
negative log-likelihoods, composed from differentiable ops."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Function, name_node
from minigrad.backend import get_backend
from minigrad.functional._common import (
    ArgumentError,
    DimIndexError,
    DtypeError,
    NoKernelForDtypeError,
    Number,
    ShapeError,
    _broadcast_shape,
    _from_host,
    _require_float,
    _require_same_device,
    _require_tensor,
    check_target_range,
)
from minigrad.functional.activation import logsigmoid
from minigrad.functional.elementwise import (  # abs: the differentiable one
    abs,
    cast,
    clamp,
    clamp_min,
    exp,
    log,
    minimum,
    neg,
    softplus,
    sqrt,
    where,
)
from minigrad.functional.nn import log_softmax, pairwise_distance, relu
from minigrad.functional.reduce import mean, norm, sum  # the differentiable sum, not the builtin
from minigrad.functional.shape import permute, reshape, unsqueeze
from minigrad.tensor import Tensor, int64, uint8

_REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """The reduction PyTorch's deprecated size_average= / reduce= keywords stand for, with its warning."""
    reduction = "none" if reduce is False else "mean" if size_average is not False else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                  UserWarning, stacklevel=3)
    return reduction


def accepts_legacy_reduction(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Let fn take PyTorch's deprecated size_average= and reduce= keywords, which old course code
    still passes (the VAE tutorial's ``binary_cross_entropy(..., size_average=False)``): given,
    they override reduction, as in PyTorch."""

    @functools.wraps(fn)
    def wrapper(*args: Any, size_average: bool | None = None, reduce: bool | None = None, **kwargs: Any) -> Tensor:
        if size_average is not None or reduce is not None:
            kwargs["reduction"] = legacy_reduction(size_average, reduce)
        return fn(*args, **kwargs)

    return wrapper


def _check_reduction(op: str, reduction: str, allowed: tuple[str, ...] = _REDUCTIONS) -> None:
    if reduction not in allowed:
        *first, last = (repr(r) for r in allowed)
        raise ValueError(f"{op}: reduction must be {', '.join(first)} or {last}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str, node: str | None = None) -> Tensor:
    """loss reduced; with node, the result's node printed as that name (PyTorch's fused loss
    node, "MseLossBackward0", whatever the reduction)."""
    if reduction == "mean":
        loss = mean(loss)
    elif reduction == "sum":
        loss = sum(loss)
    return loss if node is None else name_node(loss, node)

# --- losses -------------------------------------------------------------------------------------


def _classes_last(input: Tensor, target: Tensor, op: str) -> tuple[Tensor, Tensor, tuple]:
    """(N, C, d1, ...) logits and (N, d1, ...) targets as (N*d, C) and (N*d,); also the
    per-element loss shape. (C,) with a 0-d target becomes (1, C)."""
    if input.ndim == 1:
        return unsqueeze(input, 0), reshape(target, (1,)), ()
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have a class dimension, got shape {input.shape}")
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:  # PyTorch: ValueError for another batch size, RuntimeError for (N, 1) targets
        raise ShapeError(
            f"{op}: target shape {target.shape} does not match input shape {input.shape} (expected {expected})"
        )
    if input.ndim == 2:
        return input, target, expected
    moved = permute(input, (0, *range(2, input.ndim), 1))
    return reshape(moved, (-1, input.shape[1])), reshape(target, (-1,)), expected


def _loss_shaped(loss: Tensor, reduction: str, loss_shape: tuple) -> Tensor:
    """A class-index loss's result: with reduction "none", the per-element losses in loss_shape,
    reshaped only where that changes the shape, so that a (N, C) input's node stays
    NllLossBackward0, as PyTorch's."""
    return reshape(loss, loss_shape) if reduction == "none" and loss.shape != loss_shape else loss


class CrossEntropyOp(Function):
    """Fused log-softmax + NLL kernel, forward and backward."""

    __slots__ = ("args",)

    def forward(self, logits, target, reduction, label_smoothing, ignore_index):
        self.args = (reduction, label_smoothing, ignore_index)
        loss, log_probs = self.be.cross_entropy_forward(logits, target, reduction, label_smoothing, ignore_index)
        self.saved = (log_probs, target)
        return loss

    def backward(self, g):
        log_probs, target = self.saved
        return (self.be.cross_entropy_backward(log_probs, target, g, *self.args),)


def _class_indices(op: str, input: Tensor, target: Tensor, alternative: str = "") -> Tensor:
    """target as int64 class indices: PyTorch's cross_entropy and nll_loss take int64 ("Long")
    targets, and uint8 ("Byte") ones for a (C,) or (N, C) input (not for (N, C, d...), whose
    kernel takes Long only); DtypeError naming op (and the alternative form it takes) otherwise."""
    if target.dtype == uint8 and input.ndim <= 2:
        return cast(target, int64)
    if target.dtype != int64:
        raise DtypeError(f"{op}: target must be int64 class indices (or uint8 ones for an input of at most 2 "
                         f"dimensions){alternative}, got {target.dtype} for input shape {input.shape}")
    return target


@accepts_legacy_reduction
def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits (N, C[, d...]) against int64 class indices (N[, d...])
    or class probabilities shaped like input."""
    _require_float("cross_entropy", input)
    _require_same_device("cross_entropy", input, target, weight)
    _require_tensor("cross_entropy", target)
    _check_reduction("cross_entropy", reduction)
    if label_smoothing > 1.0:  # PyTorch's check; a negative (or NaN) smoothing is no smoothing there
        raise ArgumentError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if not label_smoothing > 0.0:
        label_smoothing = 0.0
    if target.dtype.kind == "f":
        if target.shape != input.shape:  # PyTorch reads these as misplaced class indices: a RuntimeError
            raise ShapeError(
                f"cross_entropy: probability target shape {target.shape} does not match input shape {input.shape}"
            )
        class_dim = 0 if input.ndim == 1 else 1
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / input.shape[class_dim]
        logp = log_softmax(input, class_dim)
        if weight is not None:
            shape = [1] * input.ndim
            shape[class_dim] = -1
            logp = logp * reshape(weight, shape)
        loss = neg(sum(target * logp, class_dim))
        return _reduce(loss, reduction)
    if target.shape == input.shape:  # PyTorch reads a target of input's shape as class probabilities
        raise DtypeError(f"cross_entropy: Expected floating point type for target with class probabilities, "
                         f"got {target.dtype}")
    target = _class_indices("cross_entropy", input, target, " or float probabilities")
    if weight is not None:
        return _weighted_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)
    logits, flat_target, loss_shape = _classes_last(input, target, "cross_entropy")
    try:
        loss = CrossEntropyOp.apply(
            logits,
            target=flat_target._data,
            reduction=reduction,
            label_smoothing=float(label_smoothing),
            ignore_index=ignore_index,
        )
    except ValueError:  # the kernel checks the targets; PyTorch's error for a bad one is an IndexError
        check_target_range("cross_entropy", flat_target.numpy(), logits.shape[1], ignore_index)
        raise
    return _loss_shaped(loss, reduction, loss_shape)


def _weighted_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor, ignore_index: int, reduction: str, label_smoothing: float
) -> Tensor:
    """cross_entropy with class weights and class-index targets, as PyTorch: the weighted NLL of
    the log-softmax, mixed with label_smoothing / C times the smoothing term: per element
    -sum_c weight[c] * logp[c] (0 where the target is ignore_index), summed, or for "mean" divided
    by the summed weights of the counted targets (the NLL's divisor)."""
    class_dim = 0 if input.ndim == 1 else 1
    logp = log_softmax(input, class_dim)
    loss = nll_loss(logp, target, weight, ignore_index, reduction)  # checks target and weight
    if not label_smoothing:
        return loss
    shape = [1] * input.ndim
    shape[class_dim] = -1
    counted = target != ignore_index
    smooth = where(counted, neg(sum(logp * reshape(weight, shape), class_dim)), 0.0)
    if reduction == "mean":
        smooth = sum(smooth) / sum(where(counted, weight.detach()[where(counted, target, 0)], 0.0))
    else:
        smooth = _reduce(smooth, reduction)
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / input.shape[class_dim])


class NLLLossOp(Function):
    """-input[i, target[i]] * weight[target[i]], ignoring ignore_index; mean divides by the
    summed weights of the counted rows, as PyTorch."""

    __slots__ = ("reduction",)

    def forward(self, logp, weight, target, ignore_index, reduction):
        be = self.be
        n, c = logp.shape
        valid = be.compare("ne", target, ignore_index)
        safe = be.where(valid, target, be.full((), 0, int64))
        w = be.astype(valid, logp.dtype)
        if weight is not None:
            w = be.mul(w, be.getitem(weight, safe))
        rows = be.arange(0, n, 1, int64)
        losses = be.neg(be.mul(be.getitem(logp, (rows, safe)), w))
        self.reduction = reduction
        if reduction == "mean":
            total = be.sum(w, None, False)
            self.saved = (w, rows, safe, (n, c), total)
            return be.div(be.sum(losses, None, False), total)
        self.saved = (w, rows, safe, (n, c), None)
        return losses if reduction == "none" else be.sum(losses, None, False)

    def backward(self, g):
        w, rows, safe, shape, total = self.saved
        be = self.be
        coef = be.neg(be.mul(w, g))
        if total is not None:  # every row ignored: total 0, and so is every gradient (not 0 / 0)
            coef = be.div(coef, be.where(be.compare("eq", total, 0), 1, total))
        return be.index_add(shape, w.dtype, (rows, safe), coef), None


@accepts_legacy_reduction
def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C[, d...]) at int64 targets."""
    _require_float("nll_loss", input, weight)
    _require_same_device("nll_loss", input, target, weight)
    _require_tensor("nll_loss", target)
    _check_reduction("nll_loss", reduction)
    target = _class_indices("nll_loss", input, target)
    logp, flat_target, loss_shape = _classes_last(input, target, "nll_loss")
    c = logp.shape[1]
    check_target_range("nll_loss", flat_target.numpy(), c, ignore_index)
    if weight is not None and weight.shape != (c,):
        raise ShapeError(f"nll_loss: weight shape {weight.shape} does not match {c} classes")
    loss = NLLLossOp.apply(logp, weight, target=flat_target._data, ignore_index=ignore_index, reduction=reduction)
    return _loss_shaped(loss, reduction, loss_shape)


def _check_pointwise(op: str, input: Tensor, target: Tensor, warn: bool = True, target_kinds: str = "f") -> None:
    """The checks of a loss computed elementwise from input and target, as PyTorch's: a floating
    input, a target of one of the numpy dtype kinds target_kinds (PyTorch promotes integer and
    bool targets in mse_loss, say: "fiub"), shapes that broadcast; with warn, a UserWarning when
    the shapes differ (a (N, 1) input against a (N,) target broadcasts to (N, N), rarely what was
    meant)."""
    _require_float(op, input)
    _require_tensor(op, target)
    if target.dtype.kind not in target_kinds:
        _require_float(op, target)
    if target.shape != input.shape:
        _broadcast_shape(op, input.shape, target.shape)
        if warn:
            warnings.warn(
                f"{op}: using a target size {target.shape} that is different to the input size {input.shape}; "
                "this will likely lead to incorrect results due to broadcasting. "
                "Please ensure they have the same size.",
                UserWarning,
                stacklevel=3,
            )


def _minus_target(input: Tensor, target: Tensor) -> Tensor:
    """input - target, a bool target as 0s and 1s of input's dtype (PyTorch's losses take one,
    though its `-` refuses bool tensors)."""
    return input - (target.to(input.dtype) if target.dtype.kind == "b" else target)


@accepts_legacy_reduction
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced."""
    _check_reduction("mse_loss", reduction)
    _check_pointwise("mse_loss", input, target, target_kinds="fiub")
    diff = _minus_target(input, target)
    return _reduce(diff * diff, reduction, "MseLossBackward0")


@accepts_legacy_reduction
def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced."""
    _check_reduction("l1_loss", reduction)
    _check_pointwise("l1_loss", input, target, target_kinds="fiu")
    return _reduce(abs(input - target), reduction)


def _quadratic_near_zero(input: Tensor, target: Tensor, threshold: float, scale: float) -> Tensor:
    """With z = |input - target|: 0.5 z^2 * scale / threshold where z < threshold, and
    scale * (z - 0.5 threshold) elsewhere (the two pieces meet with equal slopes at threshold)."""
    z = abs(_minus_target(input, target))
    # the quadratic piece reads threshold where it is not taken, so its gradient there is 0, not
    # 0 * inf at z = inf; a nan z takes it, and the gradient is nan, as PyTorch's
    linear = z >= threshold
    near = where(linear, threshold, z)
    return where(linear, (z - 0.5 * threshold) * scale, near * near * (0.5 * scale / threshold))


@accepts_legacy_reduction
def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 z^2 / beta where z = |input - target| < beta, z - 0.5 beta elsewhere, reduced; beta = 0
    is l1_loss."""
    _check_reduction("smooth_l1_loss", reduction)
    _check_pointwise("smooth_l1_loss", input, target, target_kinds="fiub")
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return _reduce(_quadratic_near_zero(input, target, beta, 1.0), reduction, "SmoothL1LossBackward0")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 z^2 where z = |input - target| < delta, delta (z - 0.5 delta) elsewhere, reduced: delta
    times smooth_l1_loss with beta = delta."""
    _check_reduction("huber_loss", reduction)
    _check_pointwise("huber_loss", input, target, target_kinds="fiub")
    if delta <= 0:
        raise ArgumentError(f"huber_loss: delta must be positive, got {delta}")
    target = _in_input_dtype(input, target)
    return _reduce(_quadratic_near_zero(input, target, delta, delta), reduction, "HuberLossBackward0")


def _in_input_dtype(input: Tensor, target: Tensor) -> Tensor:
    """A float target in input's dtype: PyTorch's huber and soft margin losses come in input's
    dtype (their kernels write into a tensor like input), where smooth_l1 and mse promote."""
    if isinstance(target, Tensor) and target.dtype.kind == "f" and target.dtype != input.dtype:
        return cast(target, input.dtype)
    return target


@accepts_legacy_reduction
def kl_div(input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence of the distribution input (log-probabilities) from target, pointwise
    target * (log(target) - input) (0 where target is 0), or exp(target) * (target - input) when
    target holds log-probabilities too (log_target). reduction "batchmean" divides the sum by the
    batch size input.shape[0], the KL divergence's definition; "mean", as in PyTorch, by the
    number of elements, with PyTorch's UserWarning that "batchmean" is the definition's (torch.kl_div,
    the op, gives none: minigrad.kl_div calls kl_div_op)."""
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            stacklevel=3,  # the caller's line, as PyTorch's (past accepts_legacy_reduction's wrapper)
        )
    return kl_div_op(input, target, reduction, log_target)


def kl_div_op(input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """kl_div without its warning about reduction "mean" (torch.kl_div, the op underneath)."""
    _check_reduction("kl_div", reduction, (*_REDUCTIONS, "batchmean"))
    _check_pointwise("kl_div", input, target, warn=False)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        # target * log(target) with 0 at target == 0 (PyTorch's xlogy): log(1) there keeps both
        # the value and the gradient finite; a negative target still gives nan, as in PyTorch
        loss = target * log(where(target == 0, 1.0, target)) - target * input
    if reduction == "batchmean":
        return sum(loss) / input.shape[0] if input.ndim else sum(loss)
    return _reduce(loss, reduction)


class BinaryCrossEntropyOp(Function):
    """The log terms are clamped at -100 after the log, as PyTorch (clamping x at exp(-100) first
    gives -99.98 in float32, where exp(-100) is subnormal; log 0 = -inf is silent on every backend)."""

    __slots__ = ()

    def forward(self, x, target):
        be = self.be
        log_x = be.clamp(be.log(x), -100.0, None)
        log_1mx = be.clamp(be.log(be.sub(1, x)), -100.0, None)
        self.saved = (x, target)
        return be.neg(be.add(be.mul(target, log_x), be.mul(be.sub(1, target), log_1mx)))

    def backward(self, g):
        x, t = self.saved
        be = self.be
        denom = be.clamp(be.mul(x, be.sub(1, x)), 1e-12, None)
        return (be.div(be.mul(g, be.sub(x, t)), denom),)


class BinaryCrossEntropyWithLogitsOp(Function):
    """Stable form: (1 - t) x + L (log1p(exp(-|x|)) + max(-x, 0)), L = 1 + (pos_weight - 1) t."""

    __slots__ = ()

    def forward(self, x, target, pos_weight):
        be = self.be
        softplus_neg = be.add(be.log1p(be.exp(be.neg(be.abs(x)))), be.clamp(be.neg(x), 0, None))
        scale = 1 if pos_weight is None else be.add(be.mul(be.sub(pos_weight, 1), target), 1)
        self.saved = (x, target, scale)
        return be.add(be.mul(be.sub(1, target), x), be.mul(scale, softplus_neg))

    def backward(self, g):
        x, t, scale = self.saved
        be = self.be
        sig_neg = be.sigmoid(be.neg(x))  # = 1 - sigmoid(x)
        return (be.mul(g, be.sub(be.sub(1, t), be.mul(scale, sig_neg))),)


def _binary_target(op: str, input: Tensor, target: Tensor) -> Any:
    _require_float(op, input, target)
    if target.requires_grad:
        raise NotImplementedError(f"{op}: the gradient with respect to target is not supported")
    if target.shape != input.shape:
        raise ValueError(f"{op}: target shape {target.shape} does not match input shape {input.shape}")
    return cast(target, input.dtype)._data


@accepts_legacy_reduction
def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """-(t log x + (1 - t) log(1 - x)) for probabilities x, log terms clamped at -100."""
    _check_reduction("binary_cross_entropy", reduction)
    t = _binary_target("binary_cross_entropy", input, target)
    if target.dtype != input.dtype:  # PyTorch refuses here (its _with_logits twin casts the target)
        raise RuntimeError(f"binary_cross_entropy: Found dtype {target.dtype} but expected {input.dtype} (the "
                           "target's dtype must be the input's)")
    be = get_backend(input.device)
    for name, data in (("input", input._data), ("target", target._data)):  # as PyTorch's checks (NaN fails them)
        in_range = bool(be.compare("ge", data, 0).all()) and bool(be.compare("le", data, 1).all())
        if not (be.all_finite(data) and in_range):
            raise ArgumentError(f"binary_cross_entropy: all elements of {name} should be between 0 and 1")
    loss = BinaryCrossEntropyOp.apply(input, target=t)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "BinaryCrossEntropyBackward0")


@accepts_legacy_reduction
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """binary_cross_entropy(sigmoid(input), target), computed stably from logits."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    if isinstance(input, Tensor) and isinstance(target, Tensor) and input.dtype.kind == target.dtype.kind == "f" \
            and target.dtype != input.dtype:
        # PyTorch's loss comes in the target's dtype (its first op is 1 - target, then in-place ops
        # on that); the gradient still reaches input in input's dtype
        input = input.to(target.dtype)
    t = _binary_target("binary_cross_entropy_with_logits", input, target)
    if pos_weight is not None and _broadcast_shape(
            "binary_cross_entropy_with_logits", input.shape, tuple(pos_weight.shape)) != input.shape:
        raise ShapeError(f"binary_cross_entropy_with_logits: pos_weight of shape {tuple(pos_weight.shape)} does not "
                         f"broadcast to the input's shape {input.shape}")  # PyTorch: RuntimeError
    pw = None if pos_weight is None else cast(pos_weight, input.dtype)._data
    loss = BinaryCrossEntropyWithLogitsOp.apply(input, target=t, pos_weight=pw)
    if weight is not None:
        loss = loss * cast(weight, loss.dtype)  # the loss keeps its dtype, as PyTorch's
    return _reduce(loss, reduction, "BinaryCrossEntropyWithLogitsBackward0")


# --- margin and embedding losses, Poisson and Gaussian NLL: composites of differentiable ops -------


def _broadcast_all(op: str, *tensors: Tensor) -> tuple[int, ...]:
    """The shape the tensors broadcast to; ValueError naming op when they do not."""
    shape: tuple[int, ...] = ()
    for t in tensors:
        _require_tensor(op, t)
        shape = _broadcast_shape(op, shape, t.shape)
    return shape


def _same_ndim(op: str, **tensors: Tensor) -> None:
    """ValueError naming op when the tensors differ in their number of dimensions, as PyTorch."""
    if len({t.ndim for t in tensors.values()}) > 1:
        shapes = ", ".join(f"{name} {t.shape}" for name, t in tensors.items())
        raise ShapeError(f"{op}: the tensors must have the same number of dimensions, got shapes {shapes}")


@accepts_legacy_reduction
def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, *, reduction: str = "mean"
) -> Tensor:
    """max(0, -target * (input1 - input2) + margin) elementwise (broadcasting), reduced: target 1
    asks for input1 to rank above input2 by margin, -1 for the opposite, as torch's."""
    op = "margin_ranking_loss"
    _check_reduction(op, reduction)
    _require_float(op, input1, input2)
    _broadcast_all(op, input1, input2, target)
    _same_ndim(op, input1=input1, input2=input2, target=target)
    return _reduce(clamp_min(neg(target) * (input1 - input2) + margin, 0), reduction)


@accepts_legacy_reduction
def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, *, reduction: str = "mean"
) -> Tensor:
    """For pairs of rows (N, D) (or one pair of vectors (D,), with a 0-d target), 1 - cos where
    target is 1 and max(0, cos - margin) where it is -1 (0 for other targets), reduced; cos is
    their cosine computed as PyTorch's, with 1e-12 added to each squared norm."""
    op = "cosine_embedding_loss"
    _check_reduction(op, reduction)
    _require_float(op, input1, input2)
    _require_tensor(op, target)
    d = target.ndim
    if d > 1:
        raise ShapeError(f"{op}: target must be 0-d or 1-D (one label per pair), got shape {target.shape}")
    if not input1.ndim == input2.ndim == d + 1:
        raise ShapeError(f"{op}: a {d}-d target needs {d + 1}-d inputs, got shapes {input1.shape} and {input2.shape}")
    _broadcast_all(op, input1, input2)
    squared_norms = (sum(input1 * input1, d) + 1e-12) * (sum(input2 * input2, d) + 1e-12)
    cos = sum(input1 * input2, d) / sqrt(squared_norms)
    _broadcast_all(op, cos, target)
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, clamp_min(cos - margin, 0), 0.0)
    return _reduce(loss, reduction)


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    """The p-norm of x1 - x2 + eps over the last dimension, as torch.pairwise_distance."""
    return norm(x1 - x2 + eps, p, -1)


@accepts_legacy_reduction
def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    *,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(anchor, positive) - d(anchor, negative) + margin), reduced, with d the p-norm
    distance over the last dimension (of the difference plus eps, as torch.pairwise_distance);
    swap uses the smaller of d(anchor, negative) and d(positive, negative), as torch's."""
    op = "triplet_margin_loss"
    _check_reduction(op, reduction)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    _require_float(op, anchor, positive, negative)
    _same_ndim(op, anchor=anchor, positive=positive, negative=negative)
    _broadcast_all(op, anchor, positive, negative)
    return _reduce(_triplet_hinge(lambda x1, x2: _pairwise_distance(x1, x2, p, eps), anchor, positive, negative,
                                  margin, swap), reduction)


def _triplet_hinge(
    distance: Callable[[Tensor, Tensor], Tensor],
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float,
    swap: bool,
) -> Tensor:
    """The triplet losses' max(0, margin + d(anchor, positive) - d(anchor, negative)); swap takes
    the smaller of d(anchor, negative) and d(positive, negative)."""
    d_positive = distance(anchor, positive)
    d_negative = distance(anchor, negative)
    if swap:
        d_negative = minimum(d_negative, distance(positive, negative))
    return clamp_min(margin + d_positive - d_negative, 0)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), reduced, as torch's: d is
    distance_function (pairwise_distance when None; any function of two tensors giving distances);
    swap uses the smaller of d(anchor, negative) and d(positive, negative)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) > 1:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of dimensions, but "
            "got: anchor {}D, positive {}D, and negative {}D inputs".format(*dims)
        )
    distance = pairwise_distance if distance_function is None else distance_function
    return _reduce(_triplet_hinge(distance, anchor, positive, negative, margin, swap), reduction)


@accepts_legacy_reduction
def soft_margin_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)) for targets 1 and -1 (target broadcast to input's shape),
    reduced, as torch's; computed as softplus, so large margins give their value, not inf."""
    op = "soft_margin_loss"
    _check_reduction(op, reduction)
    _require_float(op, input)
    if _broadcast_all(op, input, target) != input.shape:
        raise ShapeError(f"{op}: target shape {target.shape} does not broadcast to input shape {input.shape}")
    return _reduce(softplus(neg(_in_input_dtype(input, target)) * input), reduction)


@accepts_legacy_reduction
def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    *,
    reduction: str = "mean",
) -> Tensor:
    """The multi-class hinge loss of scores (N, C) (or (C,)) at int64 classes (N,) (or 0-d), as
    torch's: for each sample, the sum over the other classes i of
    weight[y] * max(0, margin - x[y] + x[i]) ** p, divided by C; p is 1 or 2."""
    op = "multi_margin_loss"
    _check_reduction(op, reduction)
    _require_float(op, input, weight)
    _require_tensor(op, target)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, got {p}")
    if target.dtype != int64:
        raise DtypeError(f"{op}: target must be int64 class indices, got {target.dtype}")  # RuntimeError too
    if input.ndim > 2 or (input.ndim and input.shape[-1] == 0):
        raise ShapeError(f"{op}: expected a non-empty (C,) or (N, C) input, got shape {input.shape}")
    c = input.shape[-1] if input.ndim else 1
    x = reshape(input, (-1, c))
    n = x.shape[0]
    if target.ndim > 1 or target.numel() != n:
        raise ShapeError(f"{op}: target must hold one class for each of the {n} samples, got shape {target.shape}")
    labels = target._host().reshape(-1, 1)
    if labels.size and (labels.min() < 0 or labels.max() >= c):
        # PyTorch's RuntimeError (a ValueError before)
        raise ArgumentError(f"{op}: target {int(labels[(labels < 0) | (labels >= c)][0])} is out of range for {c} "
                            "classes")
    if weight is not None and weight.shape != (c,):
        raise ShapeError(f"{op}: weight shape {weight.shape} does not match {c} classes")
    hinge = relu(x - x[np.arange(n)[:, None], labels] + margin)  # no gradient at 0, as PyTorch
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight[labels]
    others = _from_host(np.arange(c) != labels, x)
    return _reduce(reshape(sum(where(others, hinge, 0.0), 1) / c, target.shape), reduction)


@accepts_legacy_reduction
def multilabel_margin_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """The multi-class multi-label hinge loss of scores (N, C) (or (C,), or 0-d) at the int64
    classes in target (input's shape: each row's classes, ended by the first -1), as torch's:
    for each sample, the sum over its target classes j (repeats counted again) and the other
    classes i of max(0, 1 - (x[j] - x[i])), divided by C."""
    op = "multilabel_margin_loss"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _require_float(op, input, error=NoKernelForDtypeError)
    _require_tensor(op, target)
    if input.ndim > 2 or (input.ndim and input.shape[-1] == 0):
        raise ShapeError("Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                         f"{list(input.shape)}")
    if target.shape != input.shape:
        raise ShapeError(f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}")
    if target.dtype != int64:
        raise DtypeError(f"{op}: expected scalar type Long but found {target.dtype}")
    c = input.shape[-1] if input.ndim else 1
    x = reshape(input, (-1, c))
    labels = target._host().reshape(-1, c)
    if labels.size and (labels.min() < -1 or labels.max() >= c):
        raise ArgumentError("argument #2 'target' is out of range")
    # each row's classes: those before its first -1, counted with their repeats
    listed = np.cumprod(labels != -1, axis=1).astype(bool)
    counts = np.zeros(labels.shape)
    rows = np.broadcast_to(np.arange(labels.shape[0])[:, None], labels.shape)
    np.add.at(counts, (rows[listed], labels[listed]), 1.0)
    weights = counts[:, :, None] * (counts == 0)[:, None, :]  # (N, j, i): j listed, i not a target
    hinge = relu(1 - unsqueeze(x, -1) + unsqueeze(x, -2))  # (N, j, i); no gradient at 0, as PyTorch
    loss = sum(hinge * _from_host(weights.astype(x.dtype), x), (1, 2)) / c
    return _reduce(reshape(loss, input.shape[:-1]), reduction)


@accepts_legacy_reduction
def multilabel_soft_margin_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, *, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of the logits input (..., C) against 0/1 targets, optionally weighted
    per class, averaged over the last (class) dimension, then reduced, as torch's."""
    op = "multilabel_soft_margin_loss"
    _check_reduction(op, reduction)
    _require_float(op, input, weight)
    if input.ndim == 0:
        raise DimIndexError(f"{op}: input must have a class dimension, got a 0-d tensor")
    _broadcast_all(op, input, target, *(w for w in (weight,) if w is not None))
    loss = neg(target * logsigmoid(input) + (1 - target) * logsigmoid(neg(input)))
    if weight is not None:
        loss = loss * weight
    return _reduce(sum(loss, -1) / input.shape[-1], reduction)


@accepts_legacy_reduction
def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    *,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
    """The negative log-likelihood of target under a Poisson distribution of mean input (log mean
    with log_input): exp(input) - target * input, or input - target * log(input + eps); full adds
    Stirling's approximation of log(target!) where target > 1. Reduced, as torch's."""
    op = "poisson_nll_loss"
    _check_reduction(op, reduction)
    _require_float(op, input)
    _broadcast_all(op, input, target)
    loss = exp(input) - target * input if log_input else input - target * log(input + eps)
    if full:
        counted = target > 1
        t = where(counted, target, 1.0)  # 1 where not counted: finite values and gradients there
        loss = loss + where(counted, t * log(t) - t + 0.5 * log(2 * math.pi * t), 0.0)
    return _reduce(loss, reduction)


def _gaussian_variance(op: str, input: Tensor, var: Tensor | float) -> Tensor:
    """var as a tensor broadcasting to input, by PyTorch's rules: input's shape; input's shape
    without its last dimension (then unsqueezed); or input's shape with one dimension of size 1;
    a number means that variance everywhere. ValueError for negative entries or another shape."""
    if isinstance(var, Number):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        return Tensor._make(get_backend(input.device).full(input.shape, float(var), input.dtype), input.device)
    _require_float(op, var)
    if bool((var < 0).any()):
        raise ValueError(f"{op}: var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        return unsqueeze(var, -1)
    differing = [v for i, v in zip(input.shape, var.shape, strict=False) if i != v]
    if var.ndim != input.ndim or differing != [1]:
        raise ValueError(f"{op}: var shape {var.shape} is incorrect for input shape {input.shape}")
    return var


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """The negative log-likelihood of target under Gaussians of mean input and variance var:
    0.5 (log(var) + (input - target)^2 / var), plus 0.5 log(2 pi) with full; reduced, as torch's.
    var (see _gaussian_variance for its shapes) is clamped at eps, its gradient passing through
    the clamp unchanged, as PyTorch's (which clamps it in place under no_grad)."""
    op = "gaussian_nll_loss"
    _check_reduction(op, reduction)
    _require_float(op, input, target)
    var = _gaussian_variance(op, input, var)
    _broadcast_all(op, input, target, var)
    var = (var - var.detach()) + clamp(var.detach(), min=eps)  # the clamped values, var's gradient
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@accepts_legacy_reduction
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, *, reduction: str = "mean") -> Tensor:
    """input where target is 1, max(0, margin - input) where it is -1 (broadcasting; both for
    other targets, as torch's), reduced."""
    op = "hinge_embedding_loss"
    _check_reduction(op, reduction)
    _require_float(op, input)
    _broadcast_all(op, input, target)
    return _reduce(where(target != 1, clamp_min(margin - input, 0), 0.0) + where(target != -1, input, 0.0), reduction)
