"""F.pad in every mode and the padding layers: against PyTorch (live or recorded), float64 finite
differences (reflect and circular reuse input elements, so their gradients accumulate), bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

MODES = ["constant", "reflect", "replicate", "circular"]
CASES = [  # (input shape, pad): 1, 2 and 3 padded dimensions, with and without a batch, crops
    ((2, 5), (2, 3)),
    ((2, 3, 5), (-2, 3)),
    ((2, 3, 5), (3, -2)),
    ((2, 3, 5), (0, 0, -1, 2)),
    ((1, 2, 4, 5), (1, 2, 3, 0)),
    ((1, 2, 4, 5), (3, 3, 3, 3)),
    ((1, 1, 3, 4, 5), (1, 1, 2, 2, 1, 0)),
    ((2, 4, 5), (4, -1)),
    ((2, 5), (-2, -2)),
    ((0, 3, 5), (1, 1)),
]


def _inputs(shape, pad):
    """The input and, from the padded shape, the output gradient (seeded numpy)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    out_shape = list(shape)
    for k in range(len(pad) // 2):
        out_shape[-1 - k] += pad[2 * k] + pad[2 * k + 1]
    return x, rng.standard_normal(out_shape)


def _torch_pad(torch, x, g, pad, mode):
    xt = torch.tensor(x, requires_grad=True)
    y = torch.nn.functional.pad(xt, pad, mode=mode)
    y.backward(torch.tensor(g))
    return {"y": y, "x.grad": xt.grad}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("shape", "pad"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_pad_matches_torch(shape, pad, mode, device):
    x, g = _inputs(shape, pad)
    want = torch_reference(f"pad/{mode}/{shape}/{pad}", lambda torch: _torch_pad(torch, x, g, pad, mode))
    xm = minigrad.tensor(x, requires_grad=True, device=device)
    y = F.pad(xm, pad, mode=mode)
    np.testing.assert_allclose(y.detach().numpy(), want["y"], rtol=1e-12, atol=1e-12)
    y.backward(minigrad.tensor(g, device=device))
    np.testing.assert_allclose(xm.grad.numpy(), want["x.grad"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_gradcheck_float64(mode, device):
    rng = np.random.default_rng(1)
    x = minigrad.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True, device=device)
    widest = (3, 3, 2, 2) if mode == "reflect" else (4, 4, 3, 3)  # each input element used several times
    for pad in [(1, 2), widest, (-1, 2, 2, -1)]:
        assert gradcheck(lambda t, pad=pad: F.pad(t, pad, mode=mode), [x])


def test_pad_1d_reference():
    x = minigrad.tensor([[0.0, 1.0, 2.0, 3.0]])
    assert F.pad(x, (2, 3), mode="reflect").tolist() == [[2, 1, 0, 1, 2, 3, 2, 1, 0]]
    assert F.pad(x, (2, 3), mode="replicate").tolist() == [[0, 0, 0, 1, 2, 3, 3, 3, 3]]
    assert F.pad(x, (2, 3), mode="circular").tolist() == [[2, 3, 0, 1, 2, 3, 0, 1, 2]]
    assert F.pad(x, (1, 1), value=7.0).tolist() == [[7, 0, 1, 2, 3, 7]]


@pytest.mark.parametrize(
    ("shape", "pad", "mode", "value", "match"),
    [
        ((2, 3), (1, 1), "wrap", None, "is not one of"),
        ((2, 3), (1,), "reflect", None, "two per dimension"),
        ((2, 3), (1, 1), "reflect", 1.0, "takes no value"),
        ((4,), (1, 1), "reflect", None, "do not fit a 1-d tensor"),
        ((1, 2, 3, 4), (1, 1), "replicate", None, "do not fit a 4-d tensor"),
        ((1, 1, 1, 2, 3, 4), (1,) * 8, "circular", None, "do not fit"),
        ((2, 3, 4), (4, 0), "reflect", None, "less than the size 4"),
        ((2, 3, 4), (0, 0, 3, 0), "reflect", None, "less than the size 3 of dimension 1"),
        ((2, 3, 4), (5, 0), "circular", None, "more than once"),
        ((2, 3, 4), (-2, 3), "circular", None, "more than once"),
        ((2, 3, 0), (1, 1), "reflect", None, "non-empty"),
        ((2, 3, 5), (-5, 0), "replicate", None, "leave nothing"),
    ],
)
def test_pad_bad_input(shape, pad, mode, value, match):
    with pytest.raises(ValueError, match=match):
        F.pad(minigrad.zeros(*shape), pad, mode=mode, value=value)


LAYERS = [
    ("ReflectionPad2d", lambda m: m.ReflectionPad2d(2)),
    ("ReplicationPad2d", lambda m: m.ReplicationPad2d((1, 2, 3, 0))),
    ("ZeroPad2d", lambda m: m.ZeroPad2d((1, 0, 2, -1))),
    ("ConstantPad2d", lambda m: m.ConstantPad2d(1, 3.5)),
]


@pytest.mark.parametrize(("name", "make"), LAYERS, ids=[c[0] for c in LAYERS])
def test_padding_layers_match_torch(name, make):
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))

    def torch_layer(torch):
        layer = make(torch.nn)
        return {"y": layer(torch.tensor(x)), "repr": np.array(repr(layer)), "3d": layer(torch.tensor(x[0]))}

    want = torch_reference(f"layer/{name}", torch_layer)
    layer = make(nn)
    assert repr(layer) == str(want["repr"])
    np.testing.assert_array_equal(layer(minigrad.tensor(x)).numpy(), want["y"])
    np.testing.assert_array_equal(layer(minigrad.tensor(x[0])).numpy(), want["3d"])


def test_padding_layer_bad_widths():
    with pytest.raises(ValueError, match="4 widths"):
        nn.ReflectionPad2d((1, 2))
