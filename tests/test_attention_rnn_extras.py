"""nn.MultiheadAttention's add_bias_kv / add_zero_attn and nn.LSTM's proj_size, against PyTorch:
every program runs on both libraries (`program(lib)`, lib minigrad or torch) with the same float64
weights (tests/parity.set_params: seeded numpy, in parameter order) and is compared with PyTorch's
results (live, or recorded in tests/fixtures/torch_reference/test_attention_rnn_extras.npz):
outputs, attention weights, the gradients of the inputs and of every parameter, state_dict names
and shapes. Also float64 finite-difference gradients on tiny cases, a double backward through
the projected LSTM, and torch state_dicts loaded into minigrad (live only)."""

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from parity import check_program, set_params
from torch_reference import TorchReference

import minigrad
from minigrad import nn
from minigrad.nn.rnn import RNNBase

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-10):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _weighted_sum(lib, t):
    """A loss whose gradient differs per element: t times a fixed ramp, summed."""
    return (t * lib.tensor(np.linspace(-1.0, 1.0, t.numel()).reshape(tuple(t.shape)))).sum()


def _state(model):
    return {"names": np.array(list(model.state_dict())),
            "shapes": np.array(["x".join(map(str, v.shape)) for v in model.state_dict().values()])}


# ------------------------------------------------------------------- MultiheadAttention
_E, _HEADS, _L, _S, _N = 6, 2, 3, 4, 2
_BOOL_MASK = np.zeros((_L, _S), bool)
_BOOL_MASK[0, 1] = _BOOL_MASK[2, 0] = True
_BOOL_MASK[1, :] = True  # a query that may attend to no source key (only the added ones)
_PADDING = np.zeros((_N, _S), bool)
_PADDING[0, :] = True  # a fully padded sequence
_PADDING[1, 3] = True
_FLOAT_MASK = np.random.default_rng(11).standard_normal((_N * _HEADS, _L, _S))
_FLOAT_PADDING = np.random.default_rng(12).standard_normal((_N, _S))

_MHA_CASES = {
    "bias_kv": ({"add_bias_kv": True}, {}),
    "zero_attn": ({"add_zero_attn": True}, {}),
    "both": ({"add_bias_kv": True, "add_zero_attn": True}, {}),
    "bias_kv_bool_masks": ({"add_bias_kv": True}, {"attn_mask": _BOOL_MASK, "key_padding_mask": _PADDING}),
    "zero_attn_bool_masks": ({"add_zero_attn": True}, {"attn_mask": _BOOL_MASK, "key_padding_mask": _PADDING}),
    "both_kdim_vdim_batch_first": ({"add_bias_kv": True, "add_zero_attn": True, "kdim": 5, "vdim": 3,
                                    "batch_first": True},
                                   {"attn_mask": _BOOL_MASK, "key_padding_mask": _PADDING}),
    "both_float_masks_per_head": ({"add_bias_kv": True, "add_zero_attn": True},
                                  {"attn_mask": _FLOAT_MASK, "key_padding_mask": _FLOAT_PADDING,
                                   "average_attn_weights": False}),
    "bias_kv_float_2d_mask": ({"add_bias_kv": True}, {"attn_mask": _FLOAT_MASK[0]}),
    "both_no_weights": ({"add_bias_kv": True, "add_zero_attn": True},
                        {"need_weights": False, "key_padding_mask": _PADDING, "attn_mask": _BOOL_MASK}),
    "zero_attn_no_weights": ({"add_zero_attn": True}, {"need_weights": False, "key_padding_mask": _PADDING}),
    "both_no_bias": ({"add_bias_kv": True, "add_zero_attn": True, "bias": False}, {"attn_mask": _BOOL_MASK}),
    "both_unbatched": ({"add_bias_kv": True, "add_zero_attn": True, "kdim": 5},
                       {"unbatched": True, "attn_mask": _BOOL_MASK, "key_padding_mask": _PADDING[1]}),
    "bias_kv_unbatched_batch_first": ({"add_bias_kv": True, "batch_first": True},
                                      {"unbatched": True, "average_attn_weights": False}),
}


def _mha_program(options, call):
    call = dict(call)
    unbatched = call.pop("unbatched", False)

    def program(lib):
        attention = set_params(lib.nn.MultiheadAttention(_E, _HEADS, **options).double(), lib, 3, scale=0.5)
        kdim, vdim = options.get("kdim", _E), options.get("vdim", _E)
        batch_first = options.get("batch_first", False)
        rng = np.random.default_rng(4)

        def shaped(length, features):
            if unbatched:
                return (length, features)
            return (_N, length, features) if batch_first else (length, _N, features)

        q, k, v = (lib.tensor(rng.standard_normal(shaped(n, f)), requires_grad=True)
                   for n, f in ((_L, _E), (_S, kdim), (_S, vdim)))
        kwargs = {name: lib.tensor(value) if isinstance(value, np.ndarray) else value for name, value in call.items()}
        out, weights = attention(q, k, v, **kwargs)
        loss = _weighted_sum(lib, out)
        if weights is not None:  # nan where a query attends to nothing (none here: the added keys)
            loss = loss + _weighted_sum(lib, weights**2)
        loss.backward()
        results = {"out": out, "dq": q.grad, "dk": k.grad, "dv": v.grad, **_state(attention)}
        if weights is not None:
            results["weights"] = weights
        results.update({f"d_{name}": p.grad for name, p in attention.named_parameters()})
        return results
    return program


@pytest.mark.parametrize("case", list(_MHA_CASES))
def test_multihead_attention_bias_kv_zero_attn_as_torch(case):
    options, call = _MHA_CASES[case]
    check(f"mha/{case}", _mha_program(options, call))


def _mha_init_program(lib):
    """PyTorch's parameter order and state_dict, bias_k / bias_v absent (None) without add_bias_kv,
    and their xavier_normal_ spread (std sqrt(2 / (E + E)) for a (1, 1, E) tensor)."""
    lib.manual_seed(0)
    big = lib.nn.MultiheadAttention(4096, 8, add_bias_kv=True)
    plain = lib.nn.MultiheadAttention(8, 2, add_zero_attn=True)
    return {
        "params": np.array([name for name, _ in big.named_parameters()]),
        "std": np.array([float(p.detach().std()) for p in (big.bias_k, big.bias_v)]).round(2),
        "mean_small": np.array([abs(float(p.detach().mean())) < 0.01 for p in (big.bias_k, big.bias_v)]),
        "absent": np.array([plain.bias_k is None, plain.bias_v is None, plain.add_zero_attn, big.add_zero_attn]),
        "plain_params": np.array([name for name, _ in plain.named_parameters()]),
    }


def test_multihead_attention_bias_kv_parameters_as_torch():
    check("mha/init", _mha_init_program)


def test_multihead_attention_extras_finite_differences():
    """float64 gradients of the query, key, bias_k and bias_v, with both extras and a padding mask."""
    attention = set_params(nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True).double(), minigrad, 5)
    rng = np.random.default_rng(6)
    data = {"query": rng.standard_normal((2, 2, 4)), "key": rng.standard_normal((3, 2, 4)),
            "bias_k": attention.bias_k.detach().numpy().copy(), "bias_v": attention.bias_v.detach().numpy().copy()}
    padding = minigrad.tensor(np.array([[False, False, True], [True, True, True]]))
    ramp = minigrad.tensor(np.linspace(-1, 1, 16).reshape(2, 2, 4))

    def loss(track=False):
        with minigrad.no_grad():
            attention.bias_k.copy_(minigrad.tensor(data["bias_k"]))
            attention.bias_v.copy_(minigrad.tensor(data["bias_v"]))
        q, k = (minigrad.tensor(data[name], requires_grad=track) for name in ("query", "key"))
        out, weights = attention(q, k, k, key_padding_mask=padding)
        total = (out * ramp).sum() + (weights**2).sum()
        return (total, q, k) if track else float(total)

    attention.zero_grad()
    total, q, k = loss(True)
    total.backward()
    analytic = {"query": q.grad, "key": k.grad, "bias_k": attention.bias_k.grad, "bias_v": attention.bias_v.grad}
    for name, grad in analytic.items():
        assert_grad_close(grad.numpy(), numerical_grad(loss, data[name]), name=name)


def test_multihead_attention_torch_state_dict_loads():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    for options in ({"add_bias_kv": True}, {"add_bias_kv": True, "add_zero_attn": True, "kdim": 5, "vdim": 3}):
        theirs = torch.nn.MultiheadAttention(_E, _HEADS, **options).double()
        ours = nn.MultiheadAttention(_E, _HEADS, **options).double()
        ours.load_state_dict({name: minigrad.tensor(t.numpy()) for name, t in theirs.state_dict().items()})
        rng = np.random.default_rng(1)
        arrays = [rng.standard_normal((_L, _N, _E)), rng.standard_normal((_S, _N, options.get("kdim", _E))),
                  rng.standard_normal((_S, _N, options.get("vdim", _E)))]
        want = theirs(*(torch.tensor(a) for a in arrays))
        got = ours(*(minigrad.tensor(a) for a in arrays))
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_multihead_attention_extras_mask_shapes_checked_before_padding():
    attention = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True)
    x = minigrad.randn(3, 2, 4)
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        attention(x, x, x, attn_mask=minigrad.zeros(3, 5))  # the padded shape is not the caller's
    with pytest.raises(ValueError, match="key_padding_mask must have shape"):
        attention(x, x, x, key_padding_mask=minigrad.zeros(2, 5, dtype=minigrad.bool))


# ------------------------------------------------------------------- LSTM proj_size
_LSTM_CASES = {
    "one_layer": ({"num_layers": 1}, {}),
    "one_layer_no_hx": ({"num_layers": 1}, {"hx": False}),
    "two_layers_bidirectional": ({"num_layers": 2, "bidirectional": True}, {}),
    "batch_first_no_bias": ({"num_layers": 2, "batch_first": True, "bias": False}, {}),
    "bidirectional_batch_first": ({"bidirectional": True, "batch_first": True}, {}),
    "unbatched": ({"num_layers": 2, "bidirectional": True}, {"unbatched": True}),
    "packed": ({"num_layers": 2, "bidirectional": True}, {"packed": True}),
    "packed_no_hx": ({"num_layers": 1, "bidirectional": True}, {"packed": True, "hx": False}),
    "single_step": ({"num_layers": 1, "bidirectional": True}, {"length": 1}),
}
_I, _H, _P, _T, _B = 3, 5, 2, 5, 3


def _lstm_program(options, call):
    def program(lib):
        lstm = set_params(lib.nn.LSTM(_I, _H, proj_size=_P, **options).double(), lib, 7, scale=0.5)
        directions = 2 if options.get("bidirectional") else 1
        layers = options.get("num_layers", 1)
        unbatched, packed = call.get("unbatched", False), call.get("packed", False)
        length = call.get("length", _T)
        rng = np.random.default_rng(8)
        if unbatched:
            shape = (length, _I)
        else:
            shape = (_B, length, _I) if options.get("batch_first") else (length, _B, _I)
        x = lib.tensor(rng.standard_normal(shape), requires_grad=True)
        batch = () if unbatched else (_B,)
        h0 = lib.tensor(rng.standard_normal((directions * layers, *batch, _P)), requires_grad=True)
        c0 = lib.tensor(rng.standard_normal((directions * layers, *batch, _H)), requires_grad=True)
        source = lib.nn.utils.rnn.pack_padded_sequence(x, [_T - 2, _T, _T - 1], enforce_sorted=False) if packed else x
        out, (h_n, c_n) = lstm(source, (h0, c0) if call.get("hx", True) else None)
        if packed:
            out = lib.nn.utils.rnn.pad_packed_sequence(out)[0]
        (_weighted_sum(lib, out) + _weighted_sum(lib, h_n**2) + _weighted_sum(lib, c_n)).backward()
        results = {"out": out, "h_n": h_n, "c_n": c_n, "dx": x.grad, "repr": np.array(repr(lstm)), **_state(lstm)}
        if call.get("hx", True):
            results.update({"dh0": h0.grad, "dc0": c0.grad})
        results.update({f"d_{name}": p.grad for name, p in lstm.named_parameters()})
        return results
    return program


@pytest.mark.parametrize("case", list(_LSTM_CASES))
def test_lstm_proj_size_as_torch(case):
    options, call = _LSTM_CASES[case]
    check(f"lstm/{case}", _lstm_program(options, call))


def _lstm_double_backward_program(lib):
    """create_graph through the projected LSTM: the gradient of a function of x's gradient."""
    lstm = set_params(lib.nn.LSTM(3, 4, proj_size=2, num_layers=2, bidirectional=True).double(), lib, 9, scale=0.4)
    x = lib.tensor(np.random.default_rng(10).standard_normal((4, 2, 3)), requires_grad=True)
    out, (h_n, _) = lstm(x)
    (dx,) = lib.autograd.grad(_weighted_sum(lib, out**2) + h_n.sum(), x, create_graph=True)
    (dx**2).sum().backward()
    return {"dx": dx, "ddx": x.grad, **{f"d_{name}": p.grad for name, p in lstm.named_parameters()}}


def test_lstm_proj_size_double_backward_as_torch():
    check("lstm/double_backward", _lstm_double_backward_program)


def _lstm_errors_program(lib):
    """PyTorch's ValueErrors for proj_size out of range, and the projected hidden state's shape."""
    results = {}
    for name, make in (("equal", lambda: lib.nn.LSTM(3, 4, proj_size=4)),
                       ("negative", lambda: lib.nn.LSTM(3, 4, proj_size=-1))):
        try:
            make()
            results[name] = np.array("")
        except ValueError as exc:
            results[name] = np.array(str(exc))
    lstm = lib.nn.LSTM(3, 4, proj_size=2)
    try:
        lstm(lib.zeros(2, 1, 3), (lib.zeros(1, 1, 4), lib.zeros(1, 1, 4)))
        results["wrong_h0"] = np.array(False)
    except (RuntimeError, ValueError):
        results["wrong_h0"] = np.array(True)
    return results


def test_lstm_proj_size_errors_as_torch():
    check("lstm/errors", _lstm_errors_program)


def test_lstm_proj_size_finite_differences():
    """float64 gradients of x, h0, c0 and a weight of each kind of a tiny projected LSTM."""
    lstm = set_params(nn.LSTM(2, 3, proj_size=2, num_layers=2, bidirectional=True).double(), minigrad, 11, scale=0.6)
    rng = np.random.default_rng(12)
    data = {"x": rng.standard_normal((3, 2, 2)), "h0": rng.standard_normal((4, 2, 2)),
            "c0": rng.standard_normal((4, 2, 3))}
    weights = ("weight_hr_l0", "weight_hh_l1_reverse", "weight_ih_l1", "bias_hh_l0_reverse", "weight_hr_l1_reverse")
    data.update({name: getattr(lstm, name).detach().numpy().copy() for name in weights})

    def loss(track=False):
        with minigrad.no_grad():
            for name in weights:
                getattr(lstm, name).copy_(minigrad.tensor(data[name]))
        x, h0, c0 = (minigrad.tensor(data[name], requires_grad=track) for name in ("x", "h0", "c0"))
        out, (h_n, c_n) = lstm(x, (h0, c0))
        total = _weighted_sum(minigrad, out) + (h_n**2).sum() + _weighted_sum(minigrad, c_n)
        return (total, x, h0, c0) if track else float(total)

    lstm.zero_grad()
    total, x, h0, c0 = loss(True)
    total.backward()
    analytic = {"x": x.grad, "h0": h0.grad, "c0": c0.grad, **{name: getattr(lstm, name).grad for name in weights}}
    for name, grad in analytic.items():
        assert_grad_close(grad.numpy(), numerical_grad(loss, data[name]), name=name)


def test_lstm_proj_size_torch_state_dict_loads():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True).double()
    ours = nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True).double()
    ours.load_state_dict({name: minigrad.tensor(t.numpy()) for name, t in theirs.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((4, 2, 3))
    want_out, (want_h, want_c) = theirs(torch.tensor(x))
    got_out, (got_h, got_c) = ours(minigrad.tensor(x))
    for g, w in ((got_out, want_out), (got_h, want_h), (got_c, want_c)):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_lstm_without_proj_size_unchanged():
    """proj_size=0 keeps PyTorch's parameters (no weight_hr) and the repr without proj_size."""
    lstm = nn.LSTM(3, 5, num_layers=2)
    assert not any(name.startswith("weight_hr") for name in lstm.state_dict())
    assert lstm.weight_hh_l1.shape == (20, 5) and lstm.weight_ih_l1.shape == (20, 5)
    assert repr(lstm) == "LSTM(3, 5, num_layers=2)"
    with pytest.raises(ValueError, match="only supported for LSTM"):
        RNNBase("GRU", 3, 5, proj_size=2)
