"""F.interpolate and nn.Upsample: nearest and (bi/tri)linear resizing against PyTorch (live or
recorded), values and input gradients, float64 finite differences, every device, bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference, assert_matches

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

rng = np.random.default_rng(7)
IMAGE = rng.standard_normal((2, 3, 5, 7))
SIGNAL = rng.standard_normal((2, 2, 6))
VOLUME = rng.standard_normal((1, 2, 3, 4, 2))

# name -> (input, interpolate keyword arguments)
CASES = {
    "nearest x2": (IMAGE, {"scale_factor": 2}),
    "nearest size": (IMAGE, {"size": (8, 3)}),
    "nearest x1.5": (IMAGE, {"scale_factor": 1.5}),
    "nearest int size": (IMAGE, {"size": 11}),
    "nearest per-dim factors": (IMAGE, {"scale_factor": (0.5, 2.5)}),
    "nearest 1-D": (SIGNAL, {"scale_factor": 3}),
    "nearest 3-D": (VOLUME, {"size": (5, 2, 3)}),
    "bilinear x2": (IMAGE, {"scale_factor": 2, "mode": "bilinear"}),
    "bilinear size": (IMAGE, {"size": (8, 3), "mode": "bilinear"}),
    "bilinear align_corners": (IMAGE, {"size": (8, 13), "mode": "bilinear", "align_corners": True}),
    "bilinear x1.7": (IMAGE, {"scale_factor": 1.7, "mode": "bilinear"}),
    "bilinear x1.7 recompute": (IMAGE, {"scale_factor": 1.7, "mode": "bilinear", "recompute_scale_factor": True}),
    "bilinear to 1x1 align_corners": (IMAGE, {"size": (1, 1), "mode": "bilinear", "align_corners": True}),
    "bilinear shrink": (IMAGE, {"size": (3, 2), "mode": "bilinear"}),
    "linear x2": (SIGNAL, {"scale_factor": 2, "mode": "linear"}),
    "linear align_corners": (SIGNAL, {"size": 4, "mode": "linear", "align_corners": True}),
    "trilinear": (VOLUME, {"scale_factor": (2, 1.5, 2), "mode": "trilinear"}),
}


def _torch_result(name: str, dtype: str) -> dict:
    x, kwargs = CASES[name]
    grad = np.random.default_rng(1).standard_normal

    def compute(torch):
        t = torch.tensor(x.astype(dtype), requires_grad=True)
        y = torch.nn.functional.interpolate(t, **kwargs)
        y.backward(torch.tensor(grad(tuple(y.shape)).astype(dtype)))
        return {"y": y, "dx": t.grad}

    return torch_reference(f"{name}/{dtype}", compute)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, dtype, device):
    x, kwargs = CASES[name]
    want = _torch_result(name, dtype)
    t = minigrad.tensor(x.astype(dtype), requires_grad=True, device=device)
    y = F.interpolate(t, **kwargs)
    y.backward(minigrad.tensor(np.random.default_rng(1).standard_normal(y.shape).astype(dtype), device=device))
    assert y.device == device
    assert_matches(y.detach().numpy(), want["y"], f"{name} y")
    assert_matches(t.grad.numpy(), want["dx"], f"{name} dx")


@pytest.mark.parametrize("name", ["nearest x1.5", "bilinear x1.7", "bilinear align_corners", "trilinear"])
def test_gradients_by_finite_differences(name, device):
    x, kwargs = CASES[name]
    t = minigrad.tensor(x, dtype=minigrad.float64, requires_grad=True, device=device)
    assert gradcheck(lambda a: F.interpolate(a, **kwargs), [t])


def test_upsample_is_interpolate_with_pytorch_repr():
    x = minigrad.tensor(IMAGE)
    up = nn.Upsample(scale_factor=2, mode="bilinear")
    assert repr(up) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert repr(nn.Upsample(size=(3, 4))) == "Upsample(size=(3, 4), mode='nearest')"
    np.testing.assert_array_equal(up(x).numpy(), F.interpolate(x, scale_factor=2, mode="bilinear").numpy())
    assert list(up.parameters()) == [] and up.state_dict() == {}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "exactly one of size and scale_factor"),
        ({"size": 4, "scale_factor": 2}, ValueError, "exactly one"),
        ({"size": (4, 4, 4)}, ValueError, "2 elements"),
        ({"size": 0}, ValueError, "positive"),
        ({"size": 2.5}, TypeError, "ints"),
        ({"scale_factor": -1}, ValueError, "positive"),
        ({"scale_factor": 0.1}, ValueError, "leaves nothing"),
        ({"scale_factor": "2"}, TypeError, "floats"),
        ({"scale_factor": 2, "mode": "cubic"}, ValueError, "mode must be"),
        ({"scale_factor": 2, "mode": "linear"}, ValueError, "needs a 3-D input"),
        ({"scale_factor": 2, "align_corners": True}, ValueError, "align_corners"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        F.interpolate(minigrad.tensor(IMAGE), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        F.interpolate(minigrad.ones(4, 4), scale_factor=2)
    with pytest.raises(TypeError):
        F.interpolate(minigrad.ones(1, 1, 4, 4, dtype=minigrad.int64), scale_factor=2)
