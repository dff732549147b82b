"""InstanceNorm1d/2d and F.instance_norm: against PyTorch (live or recorded: outputs, input
gradients, running statistics over two training steps, eval mode) with and without affine
parameters and running statistics, batched and unbatched; a numpy reference; finite
differences; bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

CASES = [(cls, shape, kwargs) for cls, shape in [("InstanceNorm2d", (3, 4, 5, 6)), ("InstanceNorm2d", (4, 5, 6)),
                                                  ("InstanceNorm1d", (3, 4, 7)), ("InstanceNorm1d", (4, 7))]
         for kwargs in [{}, {"affine": True}, {"track_running_stats": True},
                        {"affine": True, "track_running_stats": True, "momentum": 0.3}]]


def _run(lib, cls, shape, kwargs, make, affine=None):
    layer = getattr(lib.nn, cls)(4, **kwargs).double()
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    if kwargs.get("affine"):
        layer.load_state_dict({**layer.state_dict(), "weight": make(w).detach(), "bias": make(b).detach()})
    out = {"repr": np.array(repr(layer))}
    for step in range(2):
        x = make(rng.standard_normal(shape) * 3 + 1)
        y = layer(x)
        (y * make(rng.standard_normal(shape)).detach()).sum().backward()
        out.update({f"y{step}": y, f"dx{step}": x.grad})
        if kwargs.get("track_running_stats"):
            out.update({f"mean{step}": layer.running_mean, f"var{step}": layer.running_var})
    layer.eval()
    out["eval"] = layer(make(rng.standard_normal(shape)).detach())
    return out


@pytest.mark.parametrize(("cls", "shape", "kwargs"), CASES, ids=[f"{c} {s} {k}" for c, s, k in CASES])
def test_matches_torch(cls, shape, kwargs):
    want = torch_reference(f"{cls}/{shape}/{kwargs}", lambda torch: _run(
        torch, cls, shape, kwargs, lambda a: torch.tensor(a, requires_grad=True)))
    got = _run(minigrad, cls, shape, kwargs, lambda a: minigrad.tensor(a, requires_grad=True))
    assert str(got.pop("repr").item()) == str(want["repr"])
    for key, value in got.items():
        np.testing.assert_allclose(value.detach().numpy(), want[key], rtol=1e-9, atol=1e-12, err_msg=key)


def test_reference_and_finite_differences():
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    mean, var = x.mean((2, 3), keepdims=True), x.var((2, 3), keepdims=True)
    np.testing.assert_allclose(F.instance_norm(minigrad.tensor(x)).numpy(), (x - mean) / np.sqrt(var + 1e-5),
                               rtol=1e-12)
    w = minigrad.tensor([0.5, 2.0, -1.0], dtype=minigrad.float64, requires_grad=True)
    b = minigrad.tensor([0.1, 0.2, 0.3], dtype=minigrad.float64, requires_grad=True)
    assert gradcheck(lambda a, ww, bb: F.instance_norm(a, weight=ww, bias=bb),
                     [minigrad.tensor(x[:, :, :3, :3], requires_grad=True), w, b])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: nn.InstanceNorm2d(3)(minigrad.randn(2, 3)), ValueError, "expected 3D or 4D"),
        (lambda: nn.InstanceNorm2d(3, affine=True)(minigrad.randn(2, 4, 5, 5)), ValueError, "expected 3 channels"),
        (lambda: F.instance_norm(minigrad.randn(2, 3)), ValueError, "at least 3 dimensions"),
        (lambda: F.instance_norm(minigrad.randn(2, 3, 4), use_input_stats=False), ValueError, "running_mean"),
        (lambda: F.instance_norm(minigrad.randn(2, 3, 4), minigrad.zeros(4), minigrad.ones(4)), ValueError,
         "shape \\(3,\\)"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
