"""Recurrent layers as PyTorch's: RNN, LSTM, GRU (layers, bidirectional, batch_first, dropout
between layers, unbatched input, PackedSequence input, LSTM's proj_size) and RNNCell, LSTMCell, GRUCell, with
PyTorch's parameter names, shapes, gate order and initialisation, so state_dicts load either way.

Each layer and direction multiplies the whole input sequence by W_ih in one matmul, then steps
through time with one (N, H) x (H, G H) matmul per step. A layer's steps are one op
(_RecurrentSequenceOp) that runs back through time itself: an LSTM or GRU layer's time loop is
one kernel call each way (lstm_sequence / gru_sequence and their backward), an RNN step a
matmul and an activation; the cells' steps are composed ops (LSTMCell's gates one op).

With create_graph the fused ops' gradients come from their steps recomputed with differentiable
ops (_composed_step) from the saved values, so they can be differentiated again; the fused
kernels themselves run unchanged."""

from __future__ import annotations

import math
from typing import Any

from minigrad import functional as MF
from minigrad.autograd import Function, no_grad
from minigrad.creation import zeros
from minigrad.functional import derivatives as _derivatives
from minigrad.functional._common import ShapeError
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.layers import _empty
from minigrad.nn.module import Module
from minigrad.nn.utils.rnn import PackedSequence
from minigrad.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_TANH_GATE = {"RNN_TANH": 0, "LSTM": 2, "GRU": 2}  # the gate activated by tanh; the others by sigmoid


def _part(be: Any, a: Any, first: int, count: int, n: int) -> Any:
    """Gates [first, first + count) of a (N, gates * n)."""
    return be.getitem(a, (slice(None), slice(first * n, (first + count) * n)))


def _recurrent_step(mode: str, be: Any, x_proj: Any, h_proj: Any, h: Any, c: Any) -> tuple:
    """One RNN or LSTM step after its matmuls, on backend arrays: their sum x_proj + h_proj
    (x_proj None: h_proj holds it already) (N, gates * H, PyTorch's gate order), h and (LSTM) c
    (N, H) -> (h', c' (LSTM; else None), what _recurrent_step_backward needs)."""
    pre = h_proj if x_proj is None else be.add(x_proj, h_proj)
    if mode == "LSTM":  # one kernel: the activations, c' and h'
        h_next, c_next, acts, tanh_c = be.lstm_cell(pre, c)
        return h_next, c_next, (acts, c, tanh_c)
    h_next = be.tanh(pre) if mode == "RNN_TANH" else be.relu(pre)
    return h_next, None, (h_next,)


def _recurrent_step_backward(mode: str, be: Any, dh: Any, dc: Any, saved: tuple) -> tuple:
    """From the gradients of h' and (LSTM) c': those of the pre-activations and (LSTM) of c."""
    if mode == "LSTM":
        return be.lstm_cell_backward(dh, dc, *saved)
    (h_next,) = saved
    return be.tanh_backward(dh, h_next) if mode == "RNN_TANH" else be.relu_backward(dh, h_next), None


# The steps of a layer are one op (PyTorch fuses them as well): composed of chunks, sigmoids,
# tanhs and products, an LSTM step took a dozen nodes, and each step's slice of the sequence's
# input projection a zero-filled gradient of the whole sequence; an LSTM training step ran at a
# third of PyTorch's speed.


class _LSTMCellOp(Function):
    """LSTMCell: x_proj, h_proj, c -> [h' | c'] (N, 2H)."""

    __slots__ = ()

    def forward(self, x_proj, h_proj, c):
        h, c_next, self.saved = _recurrent_step("LSTM", self.be, x_proj, h_proj, None, c)
        return self.be.concatenate([h, c_next], 1)

    def backward(self, grad):
        be, n = self.be, self.saved[1].shape[-1]
        dh, dc_next = _part(be, grad, 0, 1, n), _part(be, grad, 1, 1, n)
        dgates, dc = _recurrent_step_backward("LSTM", be, dh, dc_next, self.saved)
        return dgates, dgates, dc


def _pre_activations(be: Any, mode: str, acts: Any) -> Any:
    """The pre-activations of saved gate activations acts (..., gates * H) (RNN_TANH, LSTM, GRU; a
    GRU's n gate: x_n + r h_n), as logit and atanh (1 - a is exact where a is near 1, so these
    give back the activations to rounding; a saturated one, exactly 0 or 1, gives an infinite
    pre-activation, whose activation, slope and curvature are those the kernels used)."""
    gates = _GATES[mode]
    n = acts.shape[-1] // gates
    rows = be.reshape(acts, (-1, gates * n))
    parts = []
    for k in range(gates):
        a = _part(be, rows, k, 1, n)
        log_complement = be.log1p(be.neg(a))
        if k == _TANH_GATE[mode]:
            parts.append(be.mul(be.sub(be.log1p(a), log_complement), 0.5))
        else:
            parts.append(be.sub(be.log(a), log_complement))
    return be.reshape(be.concatenate(parts, 1), acts.shape)


@_derivatives.register_formula(_LSTMCellOp)
def _lstm_cell_on_tape(fn: _LSTMCellOp, g: Tensor) -> list[Tensor | None]:
    """The step only reads x_proj + h_proj, neither of them saved: x_proj stands for the whole
    pre-activation (from the saved activations), h_proj for zeros."""
    be, (acts, c, _) = fn.be, fn.saved
    pre = _pre_activations(be, "LSTM", acts)

    def recompute(x_proj: Tensor, h_proj: Tensor, c: Tensor) -> Tensor:
        return MF.cat(_composed_step("LSTM", x_proj, h_proj, None, c), 1)

    return _derivatives.gradients_by_recomputation(fn, g, (pre, be.full(pre.shape, 0, pre.dtype), c), recompute)


class _RecurrentSequenceOp(Function):
    """One layer and direction over the whole sequence: x_proj = x W_ih^T + b_ih (L, N, gates * H),
    W_hh, b_hh (or None), h0 and (LSTM) c0 (N, H) -> [outputs (L rows); h_n; c_n (LSTM)] (L + 1
    or L + 2, N, H). The backward pass runs back through time itself, W_hh's gradient one matmul
    over all steps. LSTM and RNN steps accumulate h W_hh^T into x_proj's memory: the caller passes
    a projection of its own that nothing else reads (then b_hh None: b_ih carries both biases)."""

    __slots__ = ("mode", "reverse")

    def forward(self, x_proj, w_hh, b_hh, h0, c0, mode, reverse):
        be, length = self.be, x_proj.shape[0]
        self.mode, self.reverse = mode, reverse
        w_t = be.contiguous(be.permute(w_hh, (1, 0)))  # once, not a transposed pack per step
        shape = (1, *h0.shape)
        last = 0 if reverse else length - 1
        # LSTM and GRU layers: the time loop in one kernel call each way, no Python between steps
        # (a 35-step layer spent about as long in Python as in its kernels).
        if mode == "GRU":
            h0 = be.contiguous(h0)
            hs, acts, h_projs = be.gru_sequence(x_proj, w_t, b_hh, h0, reverse)
            self.saved = ((hs, acts, h_projs, h0, reverse), w_hh, b_hh)
            return be.concatenate([hs, be.reshape(be.getitem(hs, last), shape)], 0)
        # LSTM and RNN steps read only x_proj + h_proj: each step's matmul accumulates into its
        # slice of x_proj in place (a copy took a pass over the sequence's gates, 5% of an LSTM
        # language model's inference).
        if b_hh is not None:
            x_proj = be.add(x_proj, b_hh)
        if mode == "LSTM":
            h0, c0 = be.contiguous(h0), be.contiguous(c0)
            hs, cs, acts, tanh_cs = be.lstm_sequence(x_proj, w_t, h0, c0, reverse)
            self.saved = ((hs, cs, acts, tanh_cs, h0, c0, reverse), w_hh, b_hh)
            return be.concatenate([hs, *(be.reshape(be.getitem(a, last), shape) for a in (hs, cs))], 0)
        # RNN: a matmul and an activation per step (the layers refuse empty sequences, as PyTorch).
        h, outputs, steps = h0, [None] * length, []
        for t in range(length - 1, -1, -1) if reverse else range(length):
            # the result is x_t, or a copy where getitem copies (then x_t is not read again)
            pre = be.gemm(be.contiguous(h), w_t, beta=1.0, out=be.getitem(x_proj, t))
            h_prev = h
            h, _, saved = _recurrent_step(mode, be, None, pre, h, None)
            steps.append((t, h_prev, saved))
            outputs[t] = h
        self.saved = (steps, w_hh, b_hh)
        return be.concatenate([be.reshape(a, shape) for a in (*outputs, h)], 0)

    def backward(self, grad):
        be, (steps, w_hh, b_hh) = self.be, self.saved
        has_bias = b_hh is not None
        if isinstance(steps, tuple):  # a layer's saved states (lstm_sequence, gru_sequence), not a list of steps
            return (self._lstm_backward if self.mode == "LSTM" else self._gru_backward)(grad, steps, w_hh, has_bias)
        length = len(steps)
        dh = be.getitem(grad, length)
        n, width = dh.shape[0], w_hh.shape[0]
        d_pre_at, h_prev_at = [None] * length, [None] * length
        for t, h_prev, saved in reversed(steps):
            dh = be.add(dh, be.getitem(grad, t))
            d_pre_at[t], _ = _recurrent_step_backward(self.mode, be, dh, None, saved)
            h_prev_at[t] = h_prev
            dh = be.matmul(d_pre_at[t], w_hh)
        dx_proj = be.concatenate([be.reshape(d, (1, n, width)) for d in d_pre_at], 0)
        d_pre = be.reshape(dx_proj, (length * n, width))
        dw_hh = be.matmul(be.permute(d_pre, (1, 0)), be.concatenate(h_prev_at, 0))
        return dx_proj, dw_hh, be.sum(d_pre, 0, False) if has_bias else None, dh, None

    def _lstm_backward(self, grad, states, w_hh, has_bias):
        """lstm_sequence's backward: one lstm_sequence_backward call, then W_hh's gradient."""
        be = self.be
        hs, cs, acts, tanh_cs, h0, c0, reverse = states
        dh, grad_hs = self._state_grads(grad, acts.shape[0], reverse)
        dc = be.contiguous(be.getitem(grad, acts.shape[0] + 1))
        dgates, dh0, dc0 = be.lstm_sequence_backward(dh, dc, grad_hs, acts, cs, tanh_cs, c0, be.contiguous(w_hh),
                                                     reverse)
        return (dgates, *self._hh_grads(dgates, hs, h0, reverse, has_bias), dh0, dc0)

    def _gru_backward(self, grad, states, w_hh, has_bias):
        """gru_sequence's backward: one gru_sequence_backward call, then W_hh's and b_hh's gradients."""
        be = self.be
        hs, acts, h_projs, h0, reverse = states
        dh, grad_hs = self._state_grads(grad, acts.shape[0], reverse)
        dx_proj, dh_proj, dh0 = be.gru_sequence_backward(dh, grad_hs, acts, h_projs, hs, h0, be.contiguous(w_hh),
                                                         reverse)
        return (dx_proj, *self._hh_grads(dh_proj, hs, h0, reverse, has_bias), dh0, None)

    def _state_grads(self, grad, length, reverse):
        """From the op's output gradient (L + 1 or L + 2 rows): the last step's whole dh (h_n is
        also its output) and a copy of the outputs' gradients (the sequence kernels write it)."""
        be = self.be
        dh = be.add(be.getitem(grad, length), be.getitem(grad, 0 if reverse else length - 1))
        return dh, be.copy(be.getitem(grad, slice(0, length)))

    def _hh_grads(self, dh_proj, hs, h0, reverse, has_bias):
        """W_hh's and b_hh's gradients from the steps' h_proj gradients (L, N, G) and states."""
        be = self.be
        length, n, width = dh_proj.shape
        h_prev = _previous_states(be, hs, h0, reverse)
        dh_proj_2d = be.reshape(dh_proj, (length * n, width))
        dw_hh = be.matmul(be.permute(dh_proj_2d, (1, 0)), be.reshape(h_prev, (length * n, h0.shape[-1])))
        return dw_hh, be.sum(dh_proj_2d, 0, False) if has_bias else None


def _previous_states(be: Any, hs: Any, h0: Any, reverse: bool) -> Any:
    """Each step's h_prev in time order (L, N, H): h0, then the outputs hs shifted by one step."""
    later = be.getitem(hs, slice(1, None) if reverse else slice(0, hs.shape[0] - 1))
    h_prev = [later, be.reshape(h0, (1, *h0.shape))]
    return be.concatenate(h_prev if reverse else h_prev[::-1], 0)


def _sequence_values(fn: _RecurrentSequenceOp) -> tuple[Any, Any, Any | None]:
    """From a sequence node's saved arrays: its input projection x_proj (L, N, gates * H) (never
    saved, and an LSTM's or RNN's overwritten: recovered as the pre-activations, from the
    activations, less what the step added to it), h0 and (LSTM) c0."""
    be, mode, (states, w_hh, b_hh) = fn.be, fn.mode, fn.saved
    if mode == "GRU":  # x_r = pre_r - h_r, x_z likewise, x_n = pre_n - r h_n (h_projs: each step's h W_hh^T + b_hh)
        _, acts, h_projs, h0, _ = states
        n, shape = h0.shape[-1], acts.shape
        acts, h_projs = be.reshape(acts, (-1, 3 * n)), be.reshape(h_projs, (-1, 3 * n))
        r_h_n = be.mul(_part(be, acts, 0, 1, n), _part(be, h_projs, 2, 1, n))
        added = be.concatenate([_part(be, h_projs, 0, 2, n), r_h_n], 1)
        return be.reshape(be.sub(_pre_activations(be, mode, acts), added), shape), h0, None
    c0 = None
    if mode == "LSTM":
        hs, _, acts, _, h0, c0, _ = states
        pre = _pre_activations(be, mode, acts)
    else:  # RNN: steps of (t, h_prev, (h')) in the order they ran
        h0 = states[0][1]
        hs = be.concatenate([be.reshape(h, (1, *h.shape)) for _, _, (h,) in sorted(states, key=lambda s: s[0])], 0)
        # relu: h' where positive; where not, the step's slope is 0 whatever the value (_sequence_on_tape)
        pre = _pre_activations(be, mode, hs) if mode == "RNN_TANH" else hs
    h_proj = be.matmul(_previous_states(be, hs, h0, fn.reverse), be.permute(w_hh, (1, 0)))
    return be.sub(pre, h_proj if b_hh is None else be.add(h_proj, b_hh)), h0, c0


@_derivatives.register_formula(_RecurrentSequenceOp)
def _sequence_on_tape(fn: _RecurrentSequenceOp, g: Tensor) -> list[Tensor | None]:
    """The layer's steps recomputed with differentiable ops from the saved values."""
    mode, reverse, (states, w_hh, b_hh) = fn.mode, fn.reverse, fn.saved
    x_proj, h0, c0 = _sequence_values(fn)
    activations: list[Any] = [None] * x_proj.shape[0]  # the steps' own: tanh, relu
    if mode == "RNN_RELU":  # relu as its slope, 0 or 1, where the kernel took it (the recomputed 0s may round up)
        for t, _, (h,) in states:
            active = Tensor._make(fn.be.compare("gt", h, 0), fn.be.device)
            activations[t] = lambda pre, active=active: MF.where(active, pre, 0.0)

    def recompute(x_proj: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor, c0: Tensor | None) -> Tensor:
        h, c, outputs = h0, c0, [None] * x_proj.shape[0]
        for t in reversed(range(len(outputs))) if reverse else range(len(outputs)):
            h, c = _composed_step(mode, x_proj[t], F.linear(h, w_hh, b_hh), h, c, activations[t])
            outputs[t] = h
        return MF.stack([*outputs, h] + ([c] if mode == "LSTM" else []))

    return _derivatives.gradients_by_recomputation(fn, g, (x_proj, w_hh, b_hh, h0, c0), recompute)


def _composed_step(mode: str, x_proj: Tensor, h_proj: Tensor, h: Tensor | None, c: Tensor | None,
                   activation: Any = None) -> tuple[Tensor, Tensor | None]:
    """One step of differentiable ops from its projections x_proj = x W_ih^T + b_ih and h_proj =
    h W_hh^T + b_hh (N, gates * H), h and (LSTM) c (N, H) -> (h', c' (LSTM; else None)): the GRU
    and RNN cells, and the fused ops' steps recomputed for create_graph. activation replaces an
    RNN's tanh or relu."""
    if mode == "LSTM":
        i, f, g, o = (x_proj + h_proj).chunk(4, -1)
        c_next = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
        return F.sigmoid(o) * F.tanh(c_next), c_next
    if mode == "GRU":
        xr, xz, xn = x_proj.chunk(3, -1)
        hr, hz, hn = h_proj.chunk(3, -1)
        r, z = F.sigmoid(xr + hr), F.sigmoid(xz + hz)
        n = F.tanh(xn + r * hn)
        return (1 - z) * n + z * h, None
    if activation is None:
        activation = F.tanh if mode == "RNN_TANH" else F.relu
    return activation(x_proj + h_proj), None


def _cell_step(mode: str, x_proj: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor | None):
    """One step: x_proj = x W_ih^T + b_ih (precomputed), h (N, H), c (N, H) for LSTM; -> (h', c')."""
    h_proj = F.linear(h, w_hh, b_hh)
    if mode == "LSTM":
        state = _LSTMCellOp.apply(x_proj, h_proj, c)
        return state[:, : c.shape[-1]], state[:, c.shape[-1] :]
    return _composed_step(mode, x_proj, h_proj, h, c)


def _projected_sequence(x_proj: Tensor, w_hh: Tensor, w_recurrent: Tensor, w_hr: Tensor, h0: Tensor, c0: Tensor,
                        reverse: bool) -> tuple[Tensor, Tensor, Tensor]:
    """An LSTM layer and direction with proj_size: x_proj (L, N, 4H) (both biases in), W_hh (4H, P),
    W_hr (P, H), h0 (N, P), c0 (N, H) -> outputs (L, N, P), h_n (N, P), c_n (N, H). Each step's h
    is the cell's o * tanh(c) (N, H) projected by W_hr, so the next step's h W_hh^T is that cell
    output times w_recurrent = W_hh W_hr (4H, H): the fused sequence op runs on the cell outputs,
    from a zero start, with h0 W_hh^T added to the first step's x_proj; its outputs and last cell
    output are then projected in one matmul."""
    length = x_proj.shape[0]
    first = length - 1 if reverse else 0
    start = x_proj[first : first + 1] + F.linear(h0, w_hh).unsqueeze(0)
    parts = [x_proj[:first], start] if reverse else [start, x_proj[1:]]
    x_proj = MF.cat([p for p in parts if p.shape[0]])
    cell0 = zeros((h0.shape[0], w_hh.shape[0] // 4), dtype=c0.dtype, device=c0.device)
    state = _RecurrentSequenceOp.apply(x_proj, w_recurrent, None, cell0, c0, mode="LSTM", reverse=reverse)
    projected = F.linear(state[: length + 1], w_hr)  # the outputs and h_n
    return projected[:length], projected[length], state[length + 1]


def _joined(state: Tensor | None, start: Tensor, rows: int) -> Tensor:
    """state's rows followed by start's up to `rows` (start's first `rows` when state is None)."""
    if state is None:
        return start[:rows]
    return MF.cat([state, start[state.shape[0] : rows]]) if state.shape[0] < rows else state


def _check_input_size(layer: str, x: Tensor, input_size: int) -> None:
    if x.shape[-1] != input_size:
        raise ShapeError(f"{layer}: input.size(-1) must be equal to input_size. Expected {input_size}, "
                         f"got {x.shape[-1]}")


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(hidden_size, int) or hidden_size < 1:
            raise ValueError(f"{name}: hidden_size must be a positive int, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size or hidden_size  # h's size (the projection's, with proj_size)
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            for suffix in ("", "_reverse") if bidirectional else ("",):
                layer_input = input_size if layer == 0 else real_hidden_size * (2 if bidirectional else 1)
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, real_hidden_size)}
                if bias:
                    shapes.update({"bias_ih": (gate_size,), "bias_hh": (gate_size,)})
                if proj_size:  # PyTorch's order: after the biases
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for kind, shape in shapes.items():
                    attr = f"{kind}_l{layer}{suffix}"
                    setattr(self, attr, _empty(shape, device, dtype))
                    self._flat_weights_names.append(attr)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name in self._flat_weights_names:
            init.uniform_(getattr(self, name), -bound, bound)

    def _weights(self, layer: int, suffix: str) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        get = lambda kind: getattr(self, f"{kind}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _run_direction(self, x: Tensor, h: Tensor, c: Tensor | None, layer: int, reverse: bool,
                       batch_sizes: list[int] | None):
        """One layer and direction -> outputs and the last (h, c) (N, H). x is (L, N, I), or with
        batch_sizes a PackedSequence's data (T, I) (outputs then (T, H) in the packed order)."""
        suffix = "_reverse" if reverse else ""
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, suffix)
        if self.mode != "GRU" and b_hh is not None:  # their steps read x_proj + h_proj only: b_hh joins b_ih
            b_ih, b_hh = b_ih + b_hh, None
        x_proj = F.linear(x, w_ih, b_ih)  # the whole sequence at once
        w_hr = getattr(self, f"weight_hr_l{layer}{suffix}") if self.proj_size else None
        if batch_sizes is not None:
            return self._run_packed(x_proj, w_hh, b_hh, h, c, reverse, batch_sizes, w_hr)
        if w_hr is not None:
            return _projected_sequence(x_proj, w_hh, w_hh @ w_hr, w_hr, h, c, reverse)
        state = _RecurrentSequenceOp.apply(x_proj, w_hh, b_hh, h, c, mode=self.mode, reverse=reverse)
        length = x.shape[0]
        return state[:length], state[length], (state[length + 1] if self.mode == "LSTM" else None)

    def _run_packed(self, x_proj: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor, c0: Tensor | None,
                    reverse: bool, batch_sizes: list[int], w_hr: Tensor | None = None):
        """Packed steps, longest sequences first: each run of steps with the same batch size is one
        sequence op on the rows still running (a prefix of the batch). Forward, a run's rows carry
        their state on and the rows past it keep their last one; in reverse, the runs go from the
        last step back, rows joining with their h0 as their sequences' last steps come up."""
        runs, row = [], 0  # (steps, batch, first data row)
        for t, b in enumerate(batch_sizes):
            if t and b == batch_sizes[t - 1]:
                runs[-1][0] += 1
            else:
                runs.append([1, b, row])
            row += b
        lstm = self.mode == "LSTM"
        w_recurrent = None if w_hr is None else w_hh @ w_hr
        outputs: list[Tensor | None] = [None] * len(runs)
        h = c = None
        for i in reversed(range(len(runs))) if reverse else range(len(runs)):
            steps, b, row = runs[i]
            if reverse:  # rows [len(h), b) start here, from h0
                h, c = _joined(h, h0, b), (_joined(c, c0, b) if lstm else None)
                start_h, start_c = h, c
            else:
                h = h0 if h is None else h
                c = (c0 if c is None else c) if lstm else None
                start_h, start_c = h[:b], (c[:b] if lstm else None)
            seq = x_proj[row : row + steps * b].reshape(steps, b, x_proj.shape[-1])
            if w_hr is not None:
                out, new_h, new_c = _projected_sequence(seq, w_hh, w_recurrent, w_hr, start_h, start_c, reverse)
                outputs[i] = out.reshape(steps * b, out.shape[-1])
            else:
                state = _RecurrentSequenceOp.apply(seq, w_hh, b_hh, start_h, start_c, mode=self.mode, reverse=reverse)
                outputs[i] = state[:steps].reshape(steps * b, state.shape[-1])
                new_h, new_c = state[steps], (state[steps + 1] if lstm else None)
            if reverse or b == h.shape[0]:
                h, c = new_h, new_c
            else:  # rows [b, N) ended before this run
                h = MF.cat([new_h, h[b:]])
                c = MF.cat([new_c, c[b:]]) if lstm else None
        return MF.cat(outputs), h, c

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> tuple[Tensor | PackedSequence, Any]:
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            batch_sizes = input.batch_sizes.tolist()
            if input.data.ndim != 2:
                raise ValueError(f"{name}: a PackedSequence's data must be (T, H_in), got shape {input.data.shape}")
            _check_input_size(name, input.data, self.input_size)
            x, unbatched = input.data, False
            batch = batch_sizes[0]
        else:
            batch_sizes = None
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, got {type(input).__name__}")
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: expected input of 2 (L, H_in) or 3 dimensions, got shape {input.shape}")
            _check_input_size(name, input, self.input_size)
            unbatched = input.ndim == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
            if x.shape[0] == 0:
                raise RuntimeError(f"{name}: Expected sequence length to be larger than 0 in RNN")
            batch = x.shape[1]
        if x.dtype != self.weight_ih_l0.dtype:  # PyTorch's check and message (a ValueError, before any product)
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype ({self.weight_ih_l0.dtype}). "
                             f"Convert input: input.to({self.weight_ih_l0.dtype}), or convert model: "
                             f"model.to({x.dtype})")
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, batch, self.hidden_size)
        h0, c0 = self._initial_state(hx, state_shape, x, unbatched, self.proj_size)
        if packed and hx is not None and input.sorted_indices is not None:  # hx is in the caller's batch order
            h0 = h0.index_select(1, input.sorted_indices)
            c0 = None if c0 is None else c0.index_select(1, input.sorted_indices)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for d in range(directions):
                k = layer * directions + d
                out, h, c = self._run_direction(x, h0[k], None if c0 is None else c0[k], layer, bool(d), batch_sizes)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if directions == 1 else MF.cat(outs, -1)
        states = [MF.stack(h_n)] + ([MF.stack(c_n)] if self.mode == "LSTM" else [])
        if packed:
            output = PackedSequence(x, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                states = [s.index_select(1, input.unsorted_indices) for s in states]
        else:
            output = x.squeeze(1) if unbatched else (x.transpose(0, 1) if self.batch_first else x)
            if unbatched:
                states = [s.squeeze(1) for s in states]
        return output, (tuple(states) if self.mode == "LSTM" else states[0])

    def _initial_state(self, hx: Any, shape: tuple[int, int, int], x: Tensor, unbatched: bool, proj_size: int = 0):
        """(h0, c0) as (layers * directions, N, H) tensors (zeros when hx is None); with proj_size,
        h0 is (layers * directions, N, proj_size)."""
        name = type(self).__name__
        h_shape = (*shape[:2], proj_size) if proj_size else shape
        if hx is None:
            empty = zeros(shape, dtype=x.dtype, device=x.device)
            h0 = zeros(h_shape, dtype=x.dtype, device=x.device) if proj_size else empty
            return h0, (empty if self.mode == "LSTM" else None)
        states = hx if self.mode == "LSTM" else (hx,)
        if self.mode == "LSTM" and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
        out = []
        for state, want in zip(states, (h_shape, shape)):  # noqa: B905 (one state for RNN and GRU)
            if not isinstance(state, Tensor):
                raise TypeError(f"{name}: hidden states must be Tensors, got {type(state).__name__}")
            state = state.unsqueeze(1) if unbatched else state
            if tuple(state.shape) != want:
                size = "proj_size" if want is not shape else "H"
                raise ShapeError(f"{name}: expected hidden state of shape {want} (layers * directions, N, {size}), "
                                 f"got {tuple(state.shape)}{' (unbatched: N = 1 added)' if unbatched else ''}")
            out.append(state)
        return out[0], (out[1] if self.mode == "LSTM" else None)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu); forward(input,
    h_0=None) -> (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (tanh or relu)")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o as PyTorch); forward(input, (h_0, c_0)=None) ->
    (output, (h_n, c_n)). With 0 < proj_size < hidden_size, h is the cell output projected by
    weight_hr_l{k} (proj_size, hidden_size): output and h_n have proj_size features per direction."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n as PyTorch); forward(input, h_0=None) -> (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


class RNNCellBase(Module):
    """One step of a recurrence: weight_ih, weight_hh, bias_ih, bias_hh as PyTorch's cells."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gate_size = _GATES[self.mode] * hidden_size
        self.weight_ih = _empty((gate_size, input_size), device, dtype)
        self.weight_hh = _empty((gate_size, hidden_size), device, dtype)
        if bias:
            self.bias_ih = _empty((gate_size,), device, dtype)
            self.bias_hh = _empty((gate_size,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with no_grad():
            for p in self.parameters():
                init.uniform_(p, -bound, bound)

    def _step(self, input: Tensor, h: Tensor | None, c: Tensor | None):
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input of 1 (H_in) or 2 (N, H_in) dimensions, got "
                             f"{getattr(input, 'shape', type(input).__name__)}")
        _check_input_size(name, input, self.input_size)
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        states = []
        for state in (h, c):
            if state is None:
                states.append(zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device))
                continue
            state = state.unsqueeze(0) if unbatched else state
            if tuple(state.shape) != (x.shape[0], self.hidden_size):
                raise ShapeError(f"{name}: hidden state must have shape {(x.shape[0], self.hidden_size)}, "
                                 f"got {tuple(state.shape)}")
            states.append(state)
        h, c = _cell_step(self.mode, F.linear(x, self.weight_ih, self.bias_ih), states[0],
                          states[1] if self.mode == "LSTM" else None, self.weight_hh, self.bias_hh)
        squeeze = (lambda t: t.squeeze(0)) if unbatched else (lambda t: t)  # noqa: E731
        return squeeze(h), (None if c is None else squeeze(c))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r} (tanh or relu)")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias, device,
                         dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, None)[0]

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else f"{s}, nonlinearity={self.nonlinearity}"


class LSTMCell(RNNCellBase):
    """One LSTM step: forward(input, (h, c)=None) -> (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTMCell: hx must be a tuple (h, c)")
        h, c = self._step(input, *(hx if hx is not None else (None, None)))
        return h, c  # type: ignore[return-value]


class GRUCell(RNNCellBase):
    """One GRU step: forward(input, h=None) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, None)[0]
