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


CONV_PADDINGS = [  # Conv2d keyword arguments beside padding_mode; kernel (2, 4): an uneven 'same' split
    {"kernel_size": 3, "padding": 1},
    {"kernel_size": 3, "padding": (2, 1), "stride": 2},
    {"kernel_size": (2, 4), "padding": "same"},
    {"kernel_size": 3, "padding": "same", "dilation": (1, 2)},
    {"kernel_size": (2, 4), "padding": "valid"},
]


@pytest.mark.parametrize("conv", CONV_PADDINGS, ids=str)
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_padding_modes_match_torch(conv, padding_mode):
    """Conv2d's padding_mode pads the input first (as PyTorch); 'same' splits an odd total with
    the extra row and column after. Weights, output, both gradients and the repr against PyTorch."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 8))

    def torch_conv(torch):
        layer = torch.nn.Conv2d(3, 4, padding_mode=padding_mode, **conv).double()
        xt = torch.tensor(x, requires_grad=True)
        y = layer(xt)
        y.backward(torch.tensor(np.random.default_rng(4).standard_normal(tuple(y.shape))))
        return {"weight": layer.weight, "bias": layer.bias, "y": y, "dx": xt.grad, "dweight": layer.weight.grad,
                "repr": np.array(repr(layer))}

    want = torch_reference(f"conv2d/{padding_mode}/{conv}", torch_conv)
    layer = nn.Conv2d(3, 4, padding_mode=padding_mode, **conv).double()
    layer.load_state_dict({"weight": minigrad.tensor(want["weight"]), "bias": minigrad.tensor(want["bias"])})
    assert repr(layer) == str(want["repr"])
    xm = minigrad.tensor(x, requires_grad=True)
    y = layer(xm)
    np.testing.assert_allclose(y.detach().numpy(), want["y"], rtol=1e-10, atol=1e-12)
    y.backward(minigrad.tensor(np.random.default_rng(4).standard_normal(y.shape)))
    np.testing.assert_allclose(xm.grad.numpy(), want["dx"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), want["dweight"], rtol=1e-10, atol=1e-12)
    if padding_mode != "zeros":  # the padded-then-unpadded path, in finite differences
        small = minigrad.tensor(x[:1, :, :5, :6], requires_grad=True)
        assert gradcheck(layer, [small])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"padding": "full"}, "padding must be 'same', 'valid'"),
        ({"padding": "same", "stride": 2}, "not supported for strided"),
        ({"padding_mode": "mirror"}, "padding_mode must be one of"),
    ],
)
def test_conv2d_bad_padding(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.Conv2d(3, 4, 3, **kwargs)


def test_conv2d_reflect_padding_wider_than_input():
    layer = nn.Conv2d(1, 1, 5, padding=3, padding_mode="reflect")
    with pytest.raises(ValueError, match="reflect widths"):
        layer(minigrad.zeros(1, 1, 3, 3))
