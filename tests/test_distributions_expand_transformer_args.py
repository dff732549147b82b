"""Distribution.expand and the Transformer modules' PyTorch arguments, each program run on both
libraries (`program(lib)`, lib minigrad or torch) and compared with PyTorch's results (live, or
recorded in tests/fixtures/torch_reference/test_distributions_expand_transformer_args.npz).
Covers: expand for every family (batch/event shapes as Size, validate_args carried, sample shapes,
log_prob broadcasting, support, mean/variance/stddev/mode/entropy, RuntimeError for shapes that
do not broadcast, gradients to the original parameters), TransformedDistribution expanding its
base where the transforms broadcast it, Independent's and MultivariateNormal's expand;
TransformerEncoder's enable_nested_tensor/use_nested_tensor/mask_check and PyTorch's warnings,
the constructor signatures of the Transformer modules and MultiheadAttention, a float64
Transformer's outputs and gradients with masks and causal hints, and
generate_square_subsequent_mask. Samples cannot match PyTorch's random stream: only their shapes
are compared."""

import inspect
import warnings

import numpy as np
import pytest
from parity import check_program, set_params
from test_porting_round8 import caught_as
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _t(lib, values, requires_grad=False):
    return lib.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ------------------------------------------------------------------- Distribution.expand
def _families(lib):
    """name -> a maker of a distribution of batch shape (2,) (or (2,) + event dims)."""
    D = lib.distributions
    t = lambda v: _t(lib, v)  # noqa: E731
    pair, pos = [0.1, -0.3], [1.5, 2.0]
    return {
        "Normal": lambda: D.Normal(t(pair), t(pos)),
        "Laplace": lambda: D.Laplace(t(pair), t(pos)),
        "Cauchy": lambda: D.Cauchy(t(pair), t(pos)),
        "LogNormal": lambda: D.LogNormal(t(pair), t(pos)),
        "Bernoulli_probs": lambda: D.Bernoulli(probs=t([0.2, 0.7])),
        "Bernoulli_logits": lambda: D.Bernoulli(logits=t([0.2, -0.7])),
        "Geometric": lambda: D.Geometric(probs=t([0.2, 0.7])),
        "Binomial_probs": lambda: D.Binomial(5, probs=t([0.2, 0.7])),
        "Binomial_logits": lambda: D.Binomial(t([4.0, 4.0]), logits=t([0.2, -0.7])),
        "Beta": lambda: D.Beta(t(pos), t([2.5, 3.0])),
        "Gamma": lambda: D.Gamma(t(pos), t([2.5, 3.0])),
        "Exponential": lambda: D.Exponential(t(pos)),
        "Poisson": lambda: D.Poisson(t(pos)),
        "Uniform": lambda: D.Uniform(t([0.0, 1.0]), t([1.0, 3.0])),
        "StudentT": lambda: D.StudentT(t([3.0, 5.0]), t([0.0, 1.0]), t([1.0, 2.0])),
        "Categorical_probs": lambda: D.Categorical(probs=t([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])),
        "Categorical_logits": lambda: D.Categorical(logits=t([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])),
        "Dirichlet": lambda: D.Dirichlet(t([[1.2, 0.3, 2.5], [1.1, 3.1, 0.8]])),
        "MVN_scale_tril": lambda: D.MultivariateNormal(t([[0.0, 1.0], [1.0, 2.0]]),
                                                       scale_tril=t([[1.0, 0.0], [0.5, 2.0]])),
        "MVN_covariance": lambda: D.MultivariateNormal(t([0.0, 1.0]), covariance_matrix=t([[2.0, 0.3], [0.3, 1.0]])),
        "MVN_precision": lambda: D.MultivariateNormal(t([0.0, 1.0]), precision_matrix=t([[2.0, 0.3], [0.3, 1.0]])),
        "Independent": lambda: D.Independent(D.Normal(t([[0.1, -0.3], [0.2, 0.4]]), t(1.0)), 1),
        "Transformed": lambda: D.TransformedDistribution(D.Normal(t(pair), t(pos)),
                                                         [D.AffineTransform(1.0, 2.0), D.ExpTransform()]),
    }


_VALUES = {
    "Normal": [[0.5, -1.0]], "Laplace": [[0.5, -1.0]], "Cauchy": [[0.5, -1.0]], "StudentT": [[0.5, -1.0]],
    "LogNormal": [[0.5, 2.0]], "Gamma": [[0.5, 2.0]], "Exponential": [[0.5, 2.0]], "Transformed": [[0.5, 2.0]],
    "Bernoulli_probs": [[1.0, 0.0]], "Bernoulli_logits": [[1.0, 0.0]], "Geometric": [[3.0, 0.0]],
    "Poisson": [[3.0, 0.0]], "Binomial_probs": [[3.0, 4.0]], "Binomial_logits": [[3.0, 4.0]], "Beta": [[0.3, 0.6]],
    "Uniform": [[0.5, 1.5]], "Categorical_probs": [[2, 0]], "Categorical_logits": [[2, 0]],
    "Dirichlet": [[[0.2, 0.3, 0.5]]], "MVN_scale_tril": [[0.5, 0.2]], "MVN_covariance": [[0.5, 0.2]],
    "MVN_precision": [[0.5, 0.2]], "Independent": [[0.5, 0.2]],
}
_MOMENTS = ("mean", "variance", "stddev", "mode", "entropy")


def _expand_program(name):
    def program(lib):
        d = _families(lib)[name]()
        new_shape = (3,) + tuple(d.batch_shape)
        e = d.expand(new_shape)
        out = {
            "types": np.array([type(e).__name__, type(e.batch_shape).__name__, type(e.event_shape).__name__]),
            "shapes": np.array([str(tuple(e.batch_shape)), str(tuple(d.batch_shape)), str(tuple(e.event_shape))]),
            "validate": np.array([e._validate_args, d._validate_args]),
            "samples": np.array([str(tuple(e.sample((4,)).shape)), str(tuple(e.sample().shape))]),
            "support_discrete": np.array(e.support.is_discrete),
            "errors": caught_as({
                "not_broadcast": (RuntimeError, lambda: d.expand((5,) * len(d.batch_shape))),
                "too_few_dims": (RuntimeError, lambda: e.expand(tuple(d.batch_shape)[1:])),
            }),
        }
        # a value in the support, of shape (1,) + batch_shape + event_shape: log_prob broadcasts it
        value = _VALUES[name]
        value = lib.tensor(value) if name.startswith("Categorical") else _t(lib, value)
        out["log_prob"] = e.log_prob(value)
        out["log_prob_d"] = d.log_prob(value)
        for attr in _MOMENTS:
            try:
                v = getattr(e, attr)
                out[attr] = v() if callable(v) else v
            except NotImplementedError:
                out[attr] = np.array("NotImplementedError")
        if e.has_enumerate_support and not isinstance(e, lib.distributions.Independent):
            out["enumerate"] = np.array([str(tuple(e.enumerate_support().shape)),
                                         str(tuple(e.enumerate_support(expand=False).shape))])
        return out
    return program


@pytest.mark.parametrize("name", list(_families(minigrad)))
def test_expand_as_torch(name):
    check(f"expand/{name}", _expand_program(name))


def _expand_more_program(lib):
    """expand of an expanded distribution, of one with a batch dim of 1, of a scalar one; lazy
    probs/logits staying lazy; validate_args checks of the new instance; repr."""
    D = lib.distributions
    c = D.Categorical(probs=_t(lib, [0.2, 0.3, 0.5]))
    ce = c.expand((2, 4))
    b = D.Bernoulli(logits=_t(lib, [[0.3]])).expand((2, 3))
    n = D.Normal(0.0, 1.0).expand([2, 3]).expand((5, 2, 3))
    u = D.Uniform(_t(lib, [0.0]), _t(lib, [2.0]), validate_args=True).expand((3,))
    off = D.Uniform(_t(lib, [0.0]), _t(lib, [2.0]), validate_args=False).expand((3,))
    return {
        "lazy": np.array(["logits" in ce.__dict__, "probs" in b.__dict__, "probs" in ce.__dict__]),
        "shapes": np.array([str(tuple(x)) for x in (ce.probs.shape, ce.logits.shape, ce.param_shape, ce.event_shape,
                                                     b.param_shape, b.probs.shape, n.batch_shape)]),
        "normal_lp": n.log_prob(_t(lib, 0.5)),
        "uniform": caught_as({"outside": (ValueError, lambda: u.log_prob(_t(lib, [3.0]))),
                              "off": (ValueError, lambda: off.log_prob(_t(lib, [3.0])))}),
        "off_lp": off.log_prob(_t(lib, [3.0, 1.0, 0.5])),
        "repr": np.array([repr(D.Normal(_t(lib, [0.0]), _t(lib, [1.0])).expand((2,))).replace(lib.__name__, "lib")]),
    }


def test_expand_more_as_torch():
    check("expand_more", _expand_more_program)


def _expand_grad_program(lib):
    """Gradients through expanded distributions reach the original parameters."""
    D = lib.distributions
    loc, scale = _t(lib, [0.1, -0.3], True), _t(lib, [1.0, 2.0], True)
    n = D.Normal(loc, scale).expand((3, 2))
    lp = n.log_prob(_t(lib, [[0.5], [1.0], [2.0]]))
    (lp.sum() + n.entropy().sum() + n.mean.sum() + n.rsample((2,)).sum() * 0).backward()
    probs = _t(lib, [[0.2, 0.3, 0.5]], True)
    c = D.Categorical(probs=probs).expand((4,))
    c.log_prob(lib.tensor([0, 1, 2, 2])).sum().backward()
    tril = _t(lib, [[1.0, 0.0], [0.5, 2.0]], True)
    mloc = _t(lib, [0.0, 1.0], True)
    m = D.MultivariateNormal(mloc, scale_tril=tril).expand((3,))
    (m.log_prob(_t(lib, [[0.5, 0.2], [1.0, 1.0], [0.0, -1.0]])).sum() + m.entropy().sum()).backward()
    a, bb = _t(lib, [1.5, 2.0], True), _t(lib, [2.5, 3.0], True)
    (D.Beta(a, bb).expand((2, 2)).log_prob(_t(lib, [[0.3], [0.6]])).sum()).backward()
    return {"loc": loc.grad, "scale": scale.grad, "probs": probs.grad, "tril": tril.grad, "mloc": mloc.grad,
            "a": a.grad, "b": bb.grad, "lp": lp}


def test_expand_gradients_as_torch():
    check("expand_grad", _expand_grad_program)


def _transformed_broadcast_program(lib):
    """TransformedDistribution expanding its base where the transforms broadcast its shape (and
    its own expand), log_prob, samples and gradients."""
    D = lib.distributions
    loc, scale = _t(lib, [0.1, -0.3], True), _t(lib, [1.0, 2.0], True)
    td = D.TransformedDistribution(D.Normal(loc, scale),
                                   [D.AffineTransform(_t(lib, [[0.0], [1.0], [2.0]]), 2.0), D.ExpTransform()])
    lp = td.log_prob(_t(lib, [[1.0, 2.0]]).exp())
    lp.sum().backward()
    e = td.expand((4, 3, 2))
    coupled = D.TransformedDistribution(D.Normal(_t(lib, [0.1, -0.3]), _t(lib, [1.0, 2.0])),
                                        [D.AffineTransform(_t(lib, [[0.0, 1.0]] * 3), 2.0, event_dim=1)])
    ce = coupled.expand((2, 3))
    return {
        "shapes": np.array([str(tuple(x)) for x in (td.batch_shape, td.base_dist.batch_shape, e.batch_shape,
                                                     e.base_dist.batch_shape, td.sample((5,)).shape,
                                                     e.rsample((2, 1)).shape)]),
        "lp": lp, "loc": loc.grad, "scale": scale.grad, "e_lp": e.log_prob(_t(lib, 3.0)),
        "coupled": np.array([str(tuple(x)) for x in (coupled.batch_shape, coupled.event_shape,
                                                      ce.base_dist.batch_shape)]),
        "coupled_base": np.array([type(coupled.base_dist).__name__, type(ce.base_dist).__name__]),
        "coupled_lp": ce.log_prob(_t(lib, [0.5, 0.2])), "cdf": e.cdf(_t(lib, 3.0)),
    }


def test_transformed_distribution_broadcasts_base_as_torch():
    check("transformed_broadcast", _transformed_broadcast_program)


def test_expand_subclass_with_own_init_needs_own_expand():
    for lib in (minigrad, pytest.importorskip("torch")):
        D = lib.distributions

        class MyNormal(D.Normal):
            def __init__(self, loc):
                super().__init__(loc, 1.0)

        class Plain(D.Normal):
            pass

        with pytest.raises(NotImplementedError, match="must also define a custom .expand"):
            MyNormal(_t(lib, [0.0])).expand((2,))
        assert type(Plain(_t(lib, [0.0]), 1.0).expand((2,))) is Plain
        with pytest.raises(NotImplementedError):
            D.Distribution(validate_args=False).expand((2,))


# ------------------------------------------------------------------- Transformer modules
_SIGNED = ("Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "MultiheadAttention")


def _signatures_program(lib):
    out = {}
    for name in _SIGNED:
        for method in ("__init__", "forward"):
            params = inspect.signature(getattr(getattr(lib.nn, name), method)).parameters.values()
            # a callable default (activation=F.relu) by its name: the function objects differ
            out[f"{name}.{method}"] = np.array([
                f"{p.name}={getattr(p.default, '__name__', p.default)!r}" for p in params])
    return out


def test_transformer_signatures_as_torch():
    check("signatures", _signatures_program)


def _caught_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


def _nested_tensor_program(lib):
    """TransformerEncoder's enable_nested_tensor, use_nested_tensor and mask_check, and the
    warning PyTorch gives for each reason its fast path would not apply."""
    nn = lib.nn
    layer = lambda **kw: nn.TransformerEncoderLayer(4, kw.pop("nhead", 2), 8, **kw)  # noqa: E731
    cases = {
        "default": lambda: nn.TransformerEncoder(layer(), 1),
        "batch_first": lambda: nn.TransformerEncoder(layer(batch_first=True), 1),
        "norm_first": lambda: nn.TransformerEncoder(layer(batch_first=True, norm_first=True), 1),
        "odd_heads": lambda: nn.TransformerEncoder(layer(batch_first=True, nhead=1), 2),
        "activation": lambda: nn.TransformerEncoder(layer(batch_first=True, activation=lambda x: x), 1),
        "gelu_module": lambda: nn.TransformerEncoder(layer(batch_first=True, activation=nn.GELU()), 1),
        "no_bias": lambda: nn.TransformerEncoder(layer(batch_first=True, bias=False), 1),
        "disabled": lambda: nn.TransformerEncoder(layer(), 1, enable_nested_tensor=False, mask_check=False),
        "not_layer": lambda: nn.TransformerEncoder(nn.Identity(), 1),
        "transformer": lambda: nn.Transformer(4, 2, 1, 1, 8).encoder,
        "transformer_bf": lambda: nn.Transformer(4, 2, 1, 1, 8, batch_first=True).encoder,
    }
    out = {}
    for name, make in cases.items():
        encoder, caught = _caught_warnings(make)
        out[name] = np.array(caught + [str(encoder.enable_nested_tensor), str(encoder.use_nested_tensor),
                                       str(encoder.mask_check)])
    out["relu_or_gelu"] = np.array([layer(activation=a).activation_relu_or_gelu
                                    for a in ("relu", "gelu", nn.ReLU(), lib.nn.functional.gelu, lib.tanh)])
    return out


def test_transformer_encoder_nested_tensor_attributes_as_torch():
    check("nested_tensor", _nested_tensor_program)


def _transformer_program(lib):
    """A float64 Transformer with the same weights in both libraries: outputs with masks and
    causal hints (src/tgt/memory masks, key padding masks), gradients, and the masks' warnings."""
    lib.manual_seed(0)
    model = lib.nn.Transformer(d_model=4, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=6,
                               dropout=0.0, dtype=lib.float64)
    set_params(model, lib, seed=3)
    model.eval()
    rng = np.random.default_rng(4)
    src = _t(lib, rng.standard_normal((5, 2, 4)), True)
    tgt = _t(lib, rng.standard_normal((3, 2, 4)), True)
    src_mask = lib.nn.Transformer.generate_square_subsequent_mask(5, dtype=lib.float64)
    tgt_mask = lib.nn.Transformer.generate_square_subsequent_mask(3, device="cpu", dtype=lib.float64)
    src_pad = lib.tensor([[False, False, False, False, True], [False, False, False, False, False]])
    mem_pad = lib.tensor([[False, False, True, False, False], [False, False, False, False, False]])
    plain = model(src, tgt)
    masked, caught = _caught_warnings(lambda: model(
        src, tgt, src_mask=src_mask, tgt_mask=tgt_mask, src_key_padding_mask=src_pad,
        memory_key_padding_mask=mem_pad, src_is_causal=True, tgt_is_causal=True))
    masked.pow(2).sum().backward()
    float_pad = lib.zeros(2, 5, dtype=lib.float64).masked_fill(src_pad, float("-inf"))
    same = model(src, tgt, src_mask=src_mask, src_key_padding_mask=float_pad, tgt_mask=tgt_mask,
                 memory_key_padding_mask=mem_pad)
    memory = model.encoder(src, mask=src_mask, is_causal=True)
    decoded = model.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=lib.zeros(3, 5, dtype=lib.float64),
                            tgt_is_causal=True, memory_is_causal=False)
    layer = model.encoder.layers[0]
    layer_out, layer_caught = _caught_warnings(lambda: layer(src, src_mask=src_mask, src_key_padding_mask=src_pad,
                                                             is_causal=True))
    return {
        "plain": plain, "masked": masked, "same": same, "memory": memory, "decoded": decoded, "layer": layer_out,
        "src_grad": src.grad, "tgt_grad": tgt.grad, "keys": np.array(list(model.state_dict())),
        "warnings": np.array(caught + layer_caught + ["end"]),
        "src_mask": src_mask, "mask_default": lib.nn.Transformer.generate_square_subsequent_mask(2),
        "errors": caught_as({
            "int_pad": (AssertionError, lambda: model.encoder(src, src_key_padding_mask=lib.zeros(2, 5).long())),
            "causal_no_mask": (RuntimeError, lambda: model.encoder(src, is_causal=True)),
            "batch": (RuntimeError, lambda: model(src, tgt[:, :1])),
            "features": (RuntimeError, lambda: model(src[..., :2], tgt[..., :2])),
        }),
    }


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_float64_with_masks_as_torch():
    check("transformer", _transformer_program)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_generate_square_subsequent_mask_is_static():
    assert isinstance(inspect.getattr_static(minigrad.nn.Transformer, "generate_square_subsequent_mask"),
                      staticmethod)
    mask = minigrad.nn.Transformer(4, 2, 1, 1, 8).generate_square_subsequent_mask(3, dtype=minigrad.float64)
    assert mask.dtype == minigrad.float64 and mask.device.type == "cpu"
