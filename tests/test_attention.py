"""scaled_dot_product_attention and nn.MultiheadAttention: against PyTorch (live or recorded:
outputs, attention weights, every gradient) over masks (bool and float, causal, key padding),
batch_first, kdim/vdim, no bias and unbatched input; a numpy reference of the attention; float64
finite differences; initialisation; bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

RNG = np.random.default_rng(0)
Q, K, V = RNG.standard_normal((2, 3, 4, 8)), RNG.standard_normal((2, 3, 5, 8)), RNG.standard_normal((2, 3, 5, 6))
BOOL_MASK = RNG.random((4, 5)) > 0.3
BOOL_MASK[:, 0] = True  # every query may attend somewhere
FLOAT_MASK = RNG.standard_normal((4, 5))
BLOCKED_ROW = BOOL_MASK.copy()
BLOCKED_ROW[2] = False  # that query may attend to nothing: PyTorch's safe softmax gives it 0

SDPA = {  # name -> (keyword arguments, key/value length)
    "plain": ({}, 5),
    "causal": ({"is_causal": True}, 4),
    "scale": ({"scale": 0.3}, 5),
    "bool mask": ({"attn_mask": BOOL_MASK}, 5),
    "float mask": ({"attn_mask": FLOAT_MASK}, 5),
    "bool mask, a row blocked": ({"attn_mask": BLOCKED_ROW}, 5),
}


def _sdpa_run(functional, name, make):
    kwargs, length = SDPA[name]
    q, k, v = make(Q), make(K[:, :, :length]), make(V[:, :, :length])
    extra = {key: make(value).detach() if isinstance(value, np.ndarray) else value for key, value in kwargs.items()}
    y = functional.scaled_dot_product_attention(q, k, v, **extra)
    (y * make(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape))).detach()).sum().backward()
    return {"y": y, "dq": q.grad, "dk": k.grad, "dv": v.grad}


@pytest.mark.parametrize("name", sorted(SDPA))
def test_sdpa_matches_torch(name, device):
    want = torch_reference(f"sdpa/{name}", lambda torch: _sdpa_run(
        torch.nn.functional, name, lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f")))
    got = _sdpa_run(F, name, lambda a: minigrad.tensor(a, device=device, requires_grad=a.dtype.kind == "f"))
    for key, value in want.items():
        np.testing.assert_allclose(got[key].detach().numpy(), value, rtol=1e-10, atol=1e-12, err_msg=key)


def test_sdpa_matches_numpy_and_finite_differences():
    scores = Q @ K.swapaxes(-1, -2) / np.sqrt(8) + FLOAT_MASK
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    got = F.scaled_dot_product_attention(*(minigrad.tensor(a) for a in (Q, K, V)),
                                         attn_mask=minigrad.tensor(FLOAT_MASK))
    np.testing.assert_allclose(got.numpy(), weights @ V, rtol=1e-12)
    small = [minigrad.tensor(a[:1, :1], requires_grad=True) for a in (Q, K, V)]
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=False), small)


MHA = [  # (name, constructor keyword arguments, query/key/value shapes)
    ("self", {}, [(5, 3, 8)] * 3),
    ("cross, batch_first", {"batch_first": True}, [(3, 5, 8), (3, 6, 8), (3, 6, 8)]),
    ("kdim, vdim", {"kdim": 4, "vdim": 6}, [(5, 3, 8), (6, 3, 4), (6, 3, 6)]),
    ("no bias", {"bias": False}, [(5, 3, 8), (6, 3, 8), (6, 3, 8)]),
    ("unbatched", {}, [(5, 8), (6, 8), (6, 8)]),
]
MASKS = {  # name -> forward keyword arguments for batch n (None: unbatched), L queries and S keys
    "none": lambda n, L, S: {},
    "key padding": lambda n, L, S: {"key_padding_mask": np.arange(S) >= S - 2 if n is None
                                    else (np.arange(n * S) % 7 == 3).reshape(n, S)},
    "bool attn_mask": lambda n, L, S: {"attn_mask": np.arange(L * S).reshape(L, S) % 4 == 1},
    "float attn_mask, per-head weights": lambda n, L, S: {"attn_mask": np.linspace(-1, 1, L * S).reshape(L, S),
                                                          "average_attn_weights": False},
    "causal hint": lambda n, L, S: {"attn_mask": np.triu(np.ones((L, S), bool), 1), "is_causal": True},
    "no weights": lambda n, L, S: {"need_weights": False},
}


def _mha_run(lib, kwargs, shapes, mask, make, state=None):
    layer = lib.nn.MultiheadAttention(8, 2, **kwargs).double()
    if state is not None:
        layer.load_state_dict({k: make(v).detach() for k, v in state.items()})
    rng = np.random.default_rng(1)
    inputs = [make(rng.standard_normal(s)) for s in shapes]
    batch_axis = 0 if kwargs.get("batch_first") else 1
    n = None if len(shapes[0]) == 2 else shapes[0][batch_axis]
    lengths = [s[0] if len(s) == 2 else s[1 - batch_axis] for s in shapes[:2]]
    extra = {k: make(v).detach() if isinstance(v, np.ndarray) else v for k, v in MASKS[mask](n, *lengths).items()}
    out, weights = layer(*inputs, **extra)
    loss = (out * out).sum() + (0 if weights is None else weights.sum())
    loss.backward()
    result = {"out": out, **{f"d{i}": t.grad for i, t in enumerate(inputs)},
              **{f"grad/{k}": p.grad for k, p in layer.named_parameters()}}
    if weights is not None:
        result["weights"] = weights
    return layer, result


@pytest.mark.parametrize(("name", "kwargs", "shapes"), MHA, ids=[m[0] for m in MHA])
@pytest.mark.parametrize("mask", sorted(MASKS))
def test_multihead_attention_matches_torch(name, kwargs, shapes, mask):
    def torch_run(torch):
        torch.manual_seed(0)
        make = lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f")  # noqa: E731
        layer, result = _mha_run(torch, kwargs, shapes, mask, make)
        return {**{f"param/{k}": v for k, v in layer.state_dict().items()}, "repr": np.array(repr(layer)), **result}

    want = torch_reference(f"mha/{name}/{mask}", torch_run)
    state = {k[len("param/"):]: v for k, v in want.items() if k.startswith("param/")}
    make = lambda a: minigrad.tensor(a, requires_grad=a.dtype.kind == "f")  # noqa: E731
    layer, got = _mha_run(minigrad, kwargs, shapes, mask, make, state)
    assert repr(layer) == str(want["repr"])
    assert sorted(layer.state_dict()) == sorted(state)
    assert sorted(got) == sorted(k for k in want if not k.startswith(("param/", "repr")))
    for key, value in got.items():
        np.testing.assert_allclose(value.detach().numpy(), want[key], rtol=1e-9, atol=1e-12, err_msg=key)


def test_multihead_attention_init_and_dropout():
    minigrad.manual_seed(0)
    layer = nn.MultiheadAttention(16, 4, dropout=0.5)
    bound = np.sqrt(6 / (16 + 48))  # xavier_uniform_ over the (48, 16) in_proj_weight
    w = layer.in_proj_weight.detach().numpy()
    assert w.max() <= bound and w.max() > 0.9 * bound
    assert not layer.in_proj_bias.detach().numpy().any() and not layer.out_proj.bias.detach().numpy().any()
    x = minigrad.randn(4, 2, 16)
    assert not np.allclose(layer(x, x, x)[0].detach().numpy(), layer(x, x, x)[0].detach().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x, x, x)[0].detach().numpy(), layer(x, x, x)[0].detach().numpy())


def test_multihead_attention_unbatched_input_ignores_batch_first():
    """An unbatched (L, E) query is the same sequence whatever batch_first says, as in PyTorch."""
    minigrad.manual_seed(0)
    seq_first = nn.MultiheadAttention(8, 2)
    batch_first = nn.MultiheadAttention(8, 2, batch_first=True)
    batch_first.load_state_dict(seq_first.state_dict())
    q, kv = minigrad.randn(5, 8), minigrad.randn(6, 8)
    for got, want in zip(batch_first(q, kv, kv), seq_first(q, kv, kv), strict=True):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: nn.MultiheadAttention(10, 3), ValueError, "divisible by num_heads"),
        (lambda: nn.MultiheadAttention(8, 2, add_bias_kv=True)(*[minigrad.randn(5, 3, 8)] * 3,
                                                               attn_mask=minigrad.zeros(5, 6)),
         ValueError, r"attn_mask must have shape \(5, 5\)"),
        (lambda: nn.MultiheadAttention(8, 2)(*[minigrad.randn(5, 3, 7)] * 3), ValueError, "7 features"),
        (lambda: nn.MultiheadAttention(8, 2)(minigrad.randn(5, 3, 8), minigrad.randn(6, 2, 8), minigrad.randn(6, 2, 8)),
         ValueError, "share"),
        (lambda: nn.MultiheadAttention(8, 2, batch_first=True)(minigrad.randn(3, 5, 8), minigrad.randn(2, 6, 8),
                                                               minigrad.randn(2, 6, 8)),
         ValueError, r"must share \(N, S\) with query's batch 3"),
        (lambda: nn.MultiheadAttention(8, 2)(*[minigrad.randn(5, 3, 8)] * 3, attn_mask=minigrad.zeros(4, 4)),
         ValueError, "attn_mask must have shape"),
        (lambda: nn.MultiheadAttention(8, 2)(*[minigrad.randn(5, 3, 8)] * 3, key_padding_mask=minigrad.zeros(3, 4)),
         ValueError, "key_padding_mask must have shape"),
        (lambda: nn.MultiheadAttention(8, 2)(*[minigrad.randn(5, 3, 8)] * 3, is_causal=True), RuntimeError,
         "is_causal"),
        (lambda: F.scaled_dot_product_attention(minigrad.randn(2, 4), minigrad.randn(2, 5), minigrad.randn(2, 4)),
         ValueError, "do not fit"),
        (lambda: F.scaled_dot_product_attention(*[minigrad.randn(2, 4)] * 3, attn_mask=minigrad.ones(2, 2),
                                                is_causal=True), ValueError, "not both"),
        (lambda: F.scaled_dot_product_attention(minigrad.randn(4), minigrad.randn(4), minigrad.randn(4)),
         ValueError, "at least 2 dimensions"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


ENCODER = [  # (name, TransformerEncoderLayer keyword arguments)
    ("post-norm relu", {}),
    ("pre-norm gelu batch_first", {"norm_first": True, "activation": "gelu", "batch_first": True}),
    ("no bias", {"bias": False}),
]


@pytest.mark.parametrize(("name", "kwargs"), ENCODER, ids=[e[0] for e in ENCODER])
def test_transformer_encoder_matches_torch(name, kwargs):
    """PyTorch's weights in minigrad's layer and 2-layer encoder (+ final LayerNorm): the same outputs
    (training, dropout 0, with a causal bool mask and key padding; and in eval) and input gradients."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5, 8) if kwargs.get("batch_first") else (5, 3, 8))
    causal = np.triu(np.ones((5, 5), bool), 1)
    padding = np.zeros((3, 5), bool)
    padding[1, 3:] = True
    weights = rng.standard_normal(x.shape)

    def run(lib, make, state=None):
        layer = lib.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kwargs).double()
        encoder = lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8).double(), enable_nested_tensor=False)
        if state is not None:
            encoder.load_state_dict({k: make(v).detach() for k, v in state.items()})
        xs = make(x)
        y = encoder(xs, mask=make(causal).detach(), src_key_padding_mask=make(padding).detach())
        (y * make(weights).detach()).sum().backward()  # a plain sum after the final LayerNorm has ~0 gradient
        encoder.eval()
        evaluated = encoder(make(x).detach())
        return encoder, {"y": y, "dx": xs.grad, "eval": evaluated, "layer repr": np.array(repr(layer))}

    def torch_run(torch):
        torch.manual_seed(0)
        encoder, result = run(torch, lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f"))
        return {**{f"param/{k}": v for k, v in encoder.state_dict().items()}, **result}

    want = torch_reference(f"transformer encoder/{name}", torch_run)
    state = {k[len("param/"):]: v for k, v in want.items() if k.startswith("param/")}
    encoder, got = run(minigrad, lambda a: minigrad.tensor(a, requires_grad=a.dtype.kind == "f"), state)
    assert sorted(encoder.state_dict()) == sorted(state)
    assert str(got.pop("layer repr").item()) == str(want["layer repr"])
    assert np.abs(want["dx"]).max() > 1e-3  # the check is not vacuous
    for key, value in got.items():
        np.testing.assert_allclose(value.detach().numpy(), want[key], rtol=1e-10, atol=1e-11, err_msg=key)


def test_transformer_encoder_bad_input():
    with pytest.raises(ValueError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="num_layers"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 0)
    layers = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 2).layers
    assert layers[0].linear1.weight is not layers[1].linear1.weight  # copies, as PyTorch's deepcopy
