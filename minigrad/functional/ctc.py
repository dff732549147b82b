"""The connectionist temporal classification (CTC) loss, as torch.nn.functional.ctc_loss: the
forward-backward recursion of Graves et al. (2006) in log space, on the host in float64."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minigrad.autograd import Function
from minigrad.functional._common import _from_host, _require_float, _require_tensor
from minigrad.functional.elementwise import where
from minigrad.functional.reduce import mean, sum  # the differentiable sum, not the builtin
from minigrad.functional.shape import squeeze, unsqueeze
from minigrad.tensor import Tensor

_CHECKING = " (while checking arguments for ctc_loss_allocate_outputs)"  # PyTorch's suffix of these errors


def _logaddexp3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.logaddexp(a, b), c)


def _shifted(values: np.ndarray, by: int) -> np.ndarray:
    """values moved by `by` states along the last axis (right for by > 0), -inf where none comes in."""
    out = np.full_like(values, -np.inf)
    if by > 0:
        out[..., by:] = values[..., :-by]
    else:
        out[..., :by] = values[..., -by:]
    return out


class CtcLossOp(Function):
    """The negative log-likelihood of each target sequence (N,) under log_probs (T, N, C).

    states (N, L) holds each extended target (blank, l1, blank, l2, ..., blank), padded with
    blanks; ends (N,) the index of its last state (2 * target length). backward gives PyTorch's
    gradient, exp(lp) - exp(log(alpha beta) + nll - lp) times the incoming gradient: the gradient
    through a log_softmax that made lp, not the plain derivative with respect to lp; 0 from each
    input length on, and for infinite losses with zero_infinity."""

    __slots__ = ("args",)

    def forward(self, log_probs, states, ends, input_lengths, zero_infinity):
        lp = self.be.to_numpy(log_probs).astype(np.float64)
        emit = np.take_along_axis(lp, states[None], axis=2)  # (T, N, L): each state's label's log-probability
        # the state two back may be skipped to unless it has the same label (a blank, or a repeat)
        skip = np.zeros(states.shape, bool)
        skip[:, 2:] = states[:, 2:] != states[:, :-2]
        log_alpha = np.full(emit.shape, -np.inf)
        log_alpha[0, :, 0] = emit[0, :, 0]
        if states.shape[1] > 1:
            log_alpha[0, :, 1] = np.where(ends > 0, emit[0, :, 1], -np.inf)
        for t in range(1, lp.shape[0]):
            prev = log_alpha[t - 1]
            log_alpha[t] = emit[t] + _logaddexp3(prev, _shifted(prev, 1), np.where(skip, _shifted(prev, 2), -np.inf))
        batch = np.arange(states.shape[0])
        last = log_alpha[np.maximum(input_lengths - 1, 0), batch]
        end_minus_one = np.where(ends > 0, last[batch, np.maximum(ends - 1, 0)], -np.inf)
        nll = -np.logaddexp(last[batch, ends], end_minus_one)
        # no frames: probability 1 for the empty target, 0 for any other
        nll[input_lengths == 0] = np.where(ends[input_lengths == 0] == 0, -0.0, np.inf)
        self.args = (states, ends, input_lengths, zero_infinity)
        if self.needs_grad(0):
            self.saved = (log_probs, emit, skip, log_alpha, nll)
        return self.be.from_numpy(nll.astype(log_probs.dtype))

    def backward(self, g):
        log_probs, emit, skip, log_alpha, nll = self.saved
        states, ends, input_lengths, zero_infinity = self.args
        lp = self.be.to_numpy(log_probs).astype(np.float64)
        steps, batch_size, classes = lp.shape
        batch = np.arange(batch_size)
        # beta_t(s): the log-probability of the rest of the sequence from state s at frame t, lp[t] included
        log_beta = np.full(emit.shape, -np.inf)
        skip_ahead = np.zeros(skip.shape, bool)  # from state s, s + 2 may be skipped to
        skip_ahead[:, :-2] = skip[:, 2:]
        has_labels = ends > 0
        for t in range(steps - 1, -1, -1):
            beta = log_beta[t + 1] if t + 1 < steps else np.full(emit.shape[1:], -np.inf)
            beta = emit[t] + _logaddexp3(beta, _shifted(beta, -1), np.where(skip_ahead, _shifted(beta, -2), -np.inf))
            start = np.full(emit.shape[1:], -np.inf)
            start[batch, ends] = emit[t, batch, ends]
            start[batch[has_labels], ends[has_labels] - 1] = emit[t, batch[has_labels], ends[has_labels] - 1]
            last = (t == input_lengths - 1)[:, None]
            log_beta[t] = np.where(last, start, np.where((t < input_lengths - 1)[:, None], beta, -np.inf))
        # log of sum of alpha * beta over the states of each label, by a log-sum-exp per label
        both = log_alpha + log_beta
        where_label = (np.arange(steps)[:, None, None], batch[None, :, None], states[None])
        peak = np.full(lp.shape, -np.inf)
        np.maximum.at(peak, where_label, both)
        peak = np.where(np.isfinite(peak), peak, 0.0)
        total = np.zeros(lp.shape)
        np.add.at(total, where_label, np.exp(both - peak[where_label]))
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = np.exp(lp) - np.exp(np.log(total) + peak + nll[:, None] - lp)
        grad = grad * self.be.to_numpy(g).astype(np.float64)[:, None]
        grad[np.arange(steps)[:, None] >= input_lengths[None]] = 0.0
        if zero_infinity:
            grad[:, np.isinf(nll)] = 0.0
        return (self.be.from_numpy(grad.astype(log_probs.dtype)),)


def _lengths(name: str, lengths: Tensor | Sequence[int], batch_size: int) -> np.ndarray:
    """input_lengths or target_lengths (an integer tensor, or a tuple or list of ints) as int64 (N,)."""
    if isinstance(lengths, Tensor):
        if lengths.dtype.kind not in "iu":
            raise RuntimeError(f"{name} must be integral")
        values = lengths._host().reshape(-1).astype(np.int64)
    elif isinstance(lengths, (tuple, list)) and all(isinstance(v, (int, np.integer)) for v in lengths):
        values = np.array(lengths, dtype=np.int64).reshape(-1)
    else:
        raise TypeError(f"ctc_loss(): argument '{name}' must be a tensor or a tuple of ints, got "
                        f"{type(lengths).__name__}")
    if values.size != batch_size:
        raise RuntimeError(f"{name} must be of size batch_size")
    return values


def _check_at_least_zero(name: str, lengths: np.ndarray) -> None:
    if (lengths < 0).any():
        raise RuntimeError(f"Expected {name} to have value at least 0, but got value {lengths[lengths < 0][0]}"
                           + _CHECKING)


def _target_rows(targets: np.ndarray, target_lengths: np.ndarray) -> list[np.ndarray]:
    """Each sequence's labels, from padded (N, S) targets or 1-D ones concatenated, checked as PyTorch."""
    _check_at_least_zero("target_lengths", target_lengths)
    batch_size = target_lengths.size
    if targets.ndim == 1:
        if targets.size != target_lengths.sum():
            raise RuntimeError(f"Expected tensor to have size {target_lengths.sum()} at dimension 0, but got size "
                               f"{targets.size} for argument #2 'targets'" + _CHECKING)
        return np.split(targets, np.cumsum(target_lengths)[:-1])
    if targets.ndim != 2:
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {targets.ndim}-dimensional tensor for argument #2 "
                           "'targets'" + _CHECKING)
    if targets.shape[0] != batch_size:
        raise RuntimeError(f"Expected tensor to have size {batch_size} at dimension 0, but got size "
                           f"{targets.shape[0]} for argument #2 'targets'" + _CHECKING)
    longest = int(target_lengths.max(initial=0))
    if targets.shape[1] < longest:
        raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension 1, but got size "
                           f"{targets.shape[1]} for argument #2 'targets'" + _CHECKING)
    return [row[:n] for row, n in zip(targets, target_lengths, strict=True)]


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """The CTC loss of log_probs (T, N, C) (or unbatched (T, C)), log_softmax outputs, against
    targets: padded (N, S) or the N sequences concatenated (sum(target_lengths),), class indices
    other than blank. input_lengths and target_lengths (N,) are integer tensors or tuples of ints.
    reduction "mean" divides each loss by its target length (at least 1) and averages; "sum" sums;
    "none" gives the (N,) losses. An impossible alignment costs inf; zero_infinity makes it 0 (its
    gradient too). As torch.nn.functional.ctc_loss, including its gradient (see CtcLossOp)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _require_float("ctc_loss", log_probs)
    _require_tensor("ctc_loss", targets)
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"ctc_loss: log_probs must be (T, N, C) or unbatched (T, C), got shape {log_probs.shape}")
    batched = log_probs.ndim == 3
    if not batched:
        log_probs = unsqueeze(log_probs, 1)
    steps, batch_size, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    in_lengths = _lengths("input_lengths", input_lengths, batch_size)
    tg_lengths = _lengths("target_lengths", target_lengths, batch_size)
    rows = _target_rows(targets._host().astype(np.int64), tg_lengths)
    _check_at_least_zero("input_lengths", in_lengths)
    if (in_lengths > steps).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got value "
                           f"{in_lengths[in_lengths > steps][0]}" + _CHECKING)
    states = np.full((batch_size, 2 * int(tg_lengths.max(initial=0)) + 1), blank, dtype=np.int64)
    for state_row, labels in zip(states, rows, strict=True):
        if ((labels < 0) | (labels >= classes)).any():
            raise IndexError(f"ctc_loss: target {labels[(labels < 0) | (labels >= classes)][0]} is out of range "
                             f"for {classes} classes")
        state_row[1:2 * labels.size:2] = labels
    loss = CtcLossOp.apply(log_probs, states=states, ends=2 * tg_lengths, input_lengths=in_lengths,
                           zero_infinity=zero_infinity)
    if zero_infinity:
        loss = where(loss == np.inf, 0.0, loss)
    if reduction == "mean":
        return mean(loss / _from_host(np.maximum(tg_lengths, 1).astype(loss.dtype), loss))
    if reduction == "sum":
        return sum(loss)
    return loss if batched else squeeze(loss, 0)
