"""nn.utils.weight_norm / remove_weight_norm as PyTorch's (the torch.nn.utils API): parameter names,
shapes and order, outputs and the gradients of g, v and the input in float64 (Linear and Conv2d,
dim 0 / 1 / None), a training step updating g and v, removal, bad input."""

import warnings

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import nn

torch_reference = TorchReference(__name__)

RNG = np.random.default_rng(0)
LINEAR_W, LINEAR_B = RNG.standard_normal((3, 4)), RNG.standard_normal(3)
CONV_W, CONV_B = RNG.standard_normal((2, 3, 3, 3)), RNG.standard_normal(2)
X_LINEAR, X_CONV = RNG.standard_normal((5, 4)), RNG.standard_normal((2, 3, 5, 5))
CASES = {"linear dim 0": ("linear", 0), "linear dim 1": ("linear", 1), "linear dim None": ("linear", None),
         "conv dim 0": ("conv", 0), "conv dim -1": ("conv", -1)}  # fmt: skip


def _run(lib, kind, dim):
    layer = (lib.nn.Linear(4, 3) if kind == "linear" else lib.nn.Conv2d(3, 2, 3)).double()
    weight, bias, x = (LINEAR_W, LINEAR_B, X_LINEAR) if kind == "linear" else (CONV_W, CONV_B, X_CONV)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(weight))
        layer.bias.copy_(lib.tensor(bias))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch: the torch.nn.utils API is deprecated
        lib.nn.utils.weight_norm(layer, dim=dim)
    xs = lib.tensor(x, requires_grad=True)
    out = layer(xs)
    (out * out).sum().backward()
    grads = {"out": out, "dx": xs.grad, "dg": layer.weight_g.grad, "dv": layer.weight_v.grad}
    names = np.array([f"{n} {tuple(p.shape)}" for n, p in layer.named_parameters()])
    opt = lib.optim.SGD(layer.parameters(), lr=0.1)
    opt.step()
    after = layer(lib.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.nn.utils.remove_weight_norm(layer)
    return {**grads, "names": names, "after step": after,
            "removed": np.array([n for n, _ in layer.named_parameters()]), "weight": layer.weight}


@pytest.mark.parametrize("name", sorted(CASES))
def test_weight_norm_as_torch(name):
    want = torch_reference(f"weight_norm/{name}", lambda torch: _run(torch, *CASES[name]))
    got = _run(minigrad, *CASES[name])
    assert got["names"].tolist() == want["names"].tolist()
    assert sorted(got["removed"].tolist()) == sorted(want["removed"].tolist())
    for key in ("out", "dx", "dg", "dv", "after step", "weight"):
        np.testing.assert_allclose(got[key].detach().numpy(), want[key], rtol=1e-12, atol=1e-12, err_msg=key)


def test_bad_input():
    layer = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="has no parameter 'kernel'"):
        nn.utils.weight_norm(layer, "kernel")
    nn.utils.weight_norm(layer)
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        nn.utils.weight_norm(layer)
    with pytest.raises(ValueError, match="weight_norm of 'bias' not found"):
        nn.utils.remove_weight_norm(layer, "bias")
