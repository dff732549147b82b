"""nn.TransformerDecoderLayer, TransformerDecoder and Transformer against PyTorch (live or recorded):
PyTorch's float64 weights loaded into minigrad's modules, in eval mode (dropout off), then outputs
and the gradients of every input and parameter to 1e-10, over post-norm and norm_first,
batch_first, unbatched input, gelu and callable activations, no bias, masks (the causal mask of
generate_square_subsequent_mask, bool masks with the is_causal hint, key padding); reprs and
state_dict names; float64 finite differences; initialisation and dropout; bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference, as_array

import minigrad
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

T, S, N, E, FF = 4, 5, 2, 4, 8  # target and source (memory) lengths, batch, d_model, dim_feedforward
TOL = {"rtol": 1e-10, "atol": 1e-11}

LAYERS = {  # name -> lib -> TransformerDecoderLayer keyword arguments (E, 2 heads, FF)
    "post-norm relu": lambda lib: {},
    "norm_first gelu": lambda lib: {"norm_first": True, "activation": "gelu"},
    "batch_first": lambda lib: {"batch_first": True},
    "no bias, norm_first": lambda lib: {"bias": False, "norm_first": True},
    "callable activation, eps": lambda lib: {"activation": lib.nn.functional.silu, "layer_norm_eps": 1e-3},
    "Module activation": lambda lib: {"activation": lib.nn.Tanh()},
    "unbatched": lambda lib: {},
}


def _padding(batch, length, padded_row, count):
    """Key padding: the last count positions of padded_row (all of an unbatched (length,) mask's
    when batch is None) ignored; position 0 never is, so no query is left with no key."""
    if batch is None:
        return np.arange(length) >= length - count
    mask = np.zeros((batch, length), bool)
    mask[padded_row, length - count:] = True
    return mask


MEMORY_MASK = np.arange(T * S).reshape(T, S) % 3 == 2
MEMORY_MASK[:, 0] = False  # every query may attend somewhere

MASKS = {  # name -> (lib, batch or None when unbatched) -> forward keyword arguments
    "none": lambda lib, n: {},
    "causal, key padding": lambda lib, n: {
        "tgt_mask": lib.nn.Transformer.generate_square_subsequent_mask(T, dtype=lib.float64),
        # float, as tgt_mask: PyTorch warns when a layer's two masks are of different kinds
        "tgt_key_padding_mask": np.where(_padding(n, T, 1, 2), -np.inf, 0.0),
        "memory_key_padding_mask": _padding(n, S, 0, 3),
    },
    "bool masks, causal hint": lambda lib, n: {
        "tgt_mask": np.triu(np.ones((T, T), bool), 1),
        "tgt_is_causal": True,
        "memory_mask": MEMORY_MASK,
        "memory_key_padding_mask": _padding(n, S, 1, 2),
    },
}


def _make(lib, a, grad=True):
    """An array as a tensor of lib (torch or minigrad); floats require grad when grad."""
    return lib.tensor(a, requires_grad=grad and a.dtype.kind == "f")


def _shape(length, kwargs, unbatched):
    if unbatched:
        return (length, E)
    return (N, length, E) if kwargs.get("batch_first") else (length, N, E)


def _flat(tensors):
    """Tensors of either library as one flat array (one fixture entry, not one per parameter)."""
    return np.concatenate([t.detach().numpy().ravel() for t in tensors])


def _unflat(flat, like):
    """flat split into arrays shaped as like's tensors (name -> tensor), by name."""
    sizes = np.cumsum([t.numel() for t in like.values()])[:-1]
    return {k: a.reshape(tuple(t.shape)) for (k, t), a in zip(like.items(), np.split(flat, sizes), strict=True)}


def _run(lib, module, inputs, extra):
    """module (eval mode) on inputs with extra forward arguments: its output, the gradients of the
    inputs and (flat, in named_parameters' order) of every parameter, of a weighted sum (a plain
    sum of a LayerNorm's output would have no gradient through it)."""
    module.eval()
    tensors = [_make(lib, a) for a in inputs]
    extra = {k: _make(lib, v, False) if isinstance(v, np.ndarray) else v for k, v in extra.items()}
    y = module(*tensors, **extra)
    weights = np.linspace(-1, 1, int(np.prod(tuple(y.shape)))).reshape(tuple(y.shape))
    (y * _make(lib, weights, False)).sum().backward()
    return {"y": y, **{f"d{i}": t.grad for i, t in enumerate(tensors)},
            "grads": _flat(p.grad for _, p in module.named_parameters())}


def _compare(key, build, inputs, extra):
    """build(lib) -> module, run in PyTorch (weights, state_dict names and repr recorded) and in
    minigrad with PyTorch's weights: the same repr, state_dict names, outputs and gradients."""
    def torch_run(torch):
        module = build(torch)
        return {"state": _flat(module.state_dict().values()), "state keys": np.array(list(module.state_dict())),
                "repr": np.array(repr(module)), **_run(torch, module, inputs, extra(torch))}

    want = dict(torch_reference(key, torch_run))
    module = build(minigrad)
    assert repr(module) == str(want.pop("repr"))
    assert list(module.state_dict()) == want.pop("state keys").tolist()  # PyTorch's names, in its order
    module.load_state_dict({k: minigrad.tensor(v) for k, v in _unflat(want.pop("state"), module.state_dict()).items()})
    got = _run(minigrad, module, inputs, extra(minigrad))
    assert sorted(got) == sorted(want)
    params = dict(module.named_parameters())  # the flat gradients by parameter, so a mismatch names it
    for results in (got, want):
        results.update({f"grad/{k}": v for k, v in _unflat(results.pop("grads"), params).items()})
    for name, value in got.items():
        np.testing.assert_allclose(as_array(value), want[name], **TOL, err_msg=f"{key}: {name}")


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("masks", list(MASKS))
def test_decoder_layer_matches_torch(layer, masks):
    unbatched = layer == "unbatched"
    rng = np.random.default_rng(0)
    kwargs = LAYERS[layer](minigrad)
    inputs = [rng.standard_normal(_shape(T, kwargs, unbatched)), rng.standard_normal(_shape(S, kwargs, unbatched))]
    _compare(f"decoder layer/{layer}/{masks}",
             lambda lib: lib.nn.TransformerDecoderLayer(E, 2, FF, dtype=lib.float64, **LAYERS[layer](lib)),
             inputs, lambda lib: MASKS[masks](lib, None if unbatched else N))


STACKS = {  # name -> TransformerDecoderLayer / Transformer keyword arguments
    "post-norm relu": {},
    "norm_first gelu batch_first": {"norm_first": True, "activation": "gelu", "batch_first": True},
}


@pytest.mark.parametrize("name", list(STACKS))
def test_decoder_stack_matches_torch(name):
    """Two layers (deep copies, one then changed, so mixing them up shows) and a final LayerNorm,
    with a causal mask and key padding."""
    kwargs = STACKS[name]
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal(_shape(T, kwargs, False)), rng.standard_normal(_shape(S, kwargs, False))]

    def build(lib):
        layer = lib.nn.TransformerDecoderLayer(E, 2, FF, dtype=lib.float64, **kwargs)
        decoder = lib.nn.TransformerDecoder(layer, 2, norm=lib.nn.LayerNorm(E, dtype=lib.float64))
        with lib.no_grad():
            decoder.layers[1].linear1.weight.mul_(-0.5)
        return decoder

    _compare(f"decoder/{name}", build, inputs, lambda lib: MASKS["causal, key padding"](lib, N))


TRANSFORMERS = {**STACKS, "no bias, unbatched": {"bias": False}}


@pytest.mark.parametrize("name", list(TRANSFORMERS))
@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # PyTorch's, for batch_first=False
def test_transformer_matches_torch(name):
    """The whole encoder-decoder (2 + 2 layers, final LayerNorms) with source and memory key padding
    and a causal target mask: output and the gradients of src, tgt and every parameter."""
    kwargs = TRANSFORMERS[name]
    unbatched = "unbatched" in name
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal(_shape(S, kwargs, unbatched)), rng.standard_normal(_shape(T, kwargs, unbatched))]
    n = None if unbatched else N

    def masks(lib):
        padding = _padding(n, S, 1, 2)
        return {"tgt_mask": lib.nn.Transformer.generate_square_subsequent_mask(T, dtype=lib.float64),
                "src_key_padding_mask": padding, "memory_key_padding_mask": padding}

    _compare(f"transformer/{name}",
             lambda lib: lib.nn.Transformer(E, 2, 2, 2, FF, dtype=lib.float64, **kwargs), inputs, masks)


def test_generate_square_subsequent_mask_matches_torch():
    def torch_run(torch):
        mask = torch.nn.Transformer.generate_square_subsequent_mask
        return {"default": mask(4), "float64": mask(3, dtype=torch.float64), "one": mask(1)}

    want = torch_reference("generate_square_subsequent_mask", torch_run)
    mask = nn.Transformer.generate_square_subsequent_mask
    got = {"default": mask(4), "float64": mask(3, dtype=minigrad.float64), "one": mask(1, device="cpu")}
    for key, value in got.items():
        assert value.numpy().dtype == want[key].dtype, key
        np.testing.assert_array_equal(value.numpy(), want[key], err_msg=key)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_gradcheck(norm_first):
    """Finite differences through a tiny float64 layer, with a causal mask and memory key padding."""
    minigrad.manual_seed(0)
    layer = nn.TransformerDecoderLayer(4, 2, 6, norm_first=norm_first, dtype=minigrad.float64).eval()
    rng = np.random.default_rng(3)
    tgt, memory = (minigrad.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 2, 4), (2, 2, 4)))
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=minigrad.float64)
    padding = minigrad.tensor(np.array([[False, False], [False, True]]))
    assert gradcheck(lambda t, m: layer(t, m, tgt_mask=mask, memory_key_padding_mask=padding), [tgt, memory])


def test_transformer_init_and_dropout():
    minigrad.manual_seed(0)
    model = nn.Transformer(E, 2, 1, 1, FF, dropout=0.5)
    linear1 = model.decoder.layers[0].linear1.weight.detach().numpy()  # (FF, E)
    # xavier_uniform_ over every matrix: bound sqrt(6 / (E + FF)), past Linear's own 1 / sqrt(E)
    assert 1 / np.sqrt(E) < np.abs(linear1).max() <= np.sqrt(6 / (E + FF))
    for name, p in model.named_parameters():
        if p.ndim > 1:
            assert np.abs(p.detach().numpy()).max() <= np.sqrt(6 / sum(p.shape)), name
    assert not model.decoder.layers[0].multihead_attn.in_proj_bias.detach().numpy().any()
    assert (model.d_model, model.nhead, model.batch_first) == (E, 2, False)
    src, tgt = minigrad.randn(S, 2, E), minigrad.randn(T, 2, E)
    assert not np.allclose(model(src, tgt).detach().numpy(), model(src, tgt).detach().numpy())
    model.eval()
    np.testing.assert_array_equal(model(src, tgt).detach().numpy(), model(src, tgt).detach().numpy())


def test_transformer_custom_encoder_decoder_and_clones():
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, 2, FF), 1)
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, 2, FF), 3)
    model = nn.Transformer(E, 2, custom_encoder=encoder, custom_decoder=decoder)
    assert model.encoder is encoder and model.decoder is decoder
    assert len(decoder.layers) == decoder.num_layers == 3
    assert decoder.layers[0].linear1.weight is not decoder.layers[1].linear1.weight  # copies, as PyTorch's
    assert tuple(model(minigrad.randn(S, 2, E), minigrad.randn(T, 2, E)).shape) == (T, 2, E)


def _layer():
    return nn.TransformerDecoderLayer(E, 2, FF)


def _forward(**masks):
    """A fresh layer on well-shaped tgt and memory, with masks."""
    return _layer()(minigrad.randn(T, N, E), minigrad.randn(S, N, E), **masks)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: nn.TransformerDecoderLayer(E, 2, activation="tanh"), ValueError,
         "TransformerDecoderLayer: activation should be relu/gelu"),
        (lambda: nn.TransformerDecoderLayer(10, 3), ValueError, "divisible by num_heads"),
        (lambda: nn.TransformerDecoder(_layer(), 0), ValueError, "TransformerDecoder: num_layers"),
        (lambda: _layer()(minigrad.randn(T, N, E), minigrad.randn(S, N + 1, E)), ValueError, "share"),
        (lambda: _layer()(minigrad.randn(T, N, E), minigrad.randn(S, N, 7)), ValueError, "key has 7 features"),
        (lambda: _layer()(minigrad.randn(T, E), minigrad.randn(S, N, E)), ValueError, "must all be batched"),
        (lambda: _forward(tgt_mask=minigrad.zeros(T, S)), ValueError, r"attn_mask must have shape \(4, 4\)"),
        (lambda: _forward(memory_key_padding_mask=minigrad.zeros(N, T)), ValueError,
         r"key_padding_mask must have shape \(2, 5\)"),
        (lambda: _forward(tgt_is_causal=True), RuntimeError, "is_causal"),
        (lambda: _forward(memory_mask=minigrad.zeros(T, S, dtype=minigrad.int64)), TypeError, "bool or floating"),
        (lambda: nn.Transformer(E, 2, 1, 1, FF)(minigrad.randn(S, N, E), minigrad.randn(T, N + 1, E)), RuntimeError,
         "batch number of src and tgt must be equal, got 2 and 3"),
        (lambda: nn.Transformer(E, 2, 1, 1, FF)(minigrad.randn(S, N, E), minigrad.randn(T, N, E + 1)), RuntimeError,
         "feature number of src and tgt must be equal to d_model 4, got 4 and 5"),
        (lambda: nn.Transformer(E, 2, 1, 1, FF)(minigrad.randn(S, N, E), minigrad.randn(T, E)), RuntimeError,
         "must both be batched"),
        (lambda: nn.Transformer(E, 2, 1, 1, FF)(np.zeros((S, N, E)), minigrad.randn(T, N, E)), RuntimeError,
         "src must be a 2-D or 3-D Tensor"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
