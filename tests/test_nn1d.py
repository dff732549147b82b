"""The 1-D layers (conv1d, conv_transpose1d, max_pool1d, avg_pool1d, adaptive_avg_pool1d and
their modules), built on the 2-D kernels: against numpy references, PyTorch (live or recorded:
outputs and gradients), float64 finite differences, reprs, bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 4, 11))
W = RNG.standard_normal((6, 2, 3))  # groups=2 conv1d weight
WT = RNG.standard_normal((4, 3, 3))  # conv_transpose1d weight
B = RNG.standard_normal(6)

# name -> (fn(F, x, w, wt, b), differentiable inputs among x, w, wt, b by position)
CASES = {
    "conv1d": (lambda f, x, w, wt, b: f.conv1d(x, w, b, stride=2, padding=1, groups=2), (0, 1, 3)),
    "conv1d(same, dilation)": (lambda f, x, w, wt, b: f.conv1d(x, w, padding="same", dilation=2, groups=2), (0, 1)),
    "conv1d(valid, tuple args)": (lambda f, x, w, wt, b: f.conv1d(x, w, None, (3,), "valid", (1,), 2), (0, 1)),
    "conv1d(unbatched)": (lambda f, x, w, wt, b: f.conv1d(x[0], w, b, padding=2, groups=2), (0, 1, 3)),
    "conv_transpose1d": (lambda f, x, w, wt, b: f.conv_transpose1d(x, wt, b[:3], 2, 1, 1), (0, 2, 3)),
    "conv_transpose1d(dilation)": (lambda f, x, w, wt, b: f.conv_transpose1d(x, wt, dilation=2, stride=3), (0, 2)),
    "max_pool1d": (lambda f, x, w, wt, b: f.max_pool1d(x, 3, 2, 1, ceil_mode=True), (0,)),
    "max_pool1d(dilation)": (lambda f, x, w, wt, b: f.max_pool1d(x, 2, 1, 0, 3), (0,)),
    "avg_pool1d": (lambda f, x, w, wt, b: f.avg_pool1d(x, 3, 2, 1, count_include_pad=False), (0,)),
    "avg_pool1d(ceil)": (lambda f, x, w, wt, b: f.avg_pool1d(x, 4, ceil_mode=True), (0,)),
    "adaptive_avg_pool1d": (lambda f, x, w, wt, b: f.adaptive_avg_pool1d(x, 4), (0,)),
    "adaptive_avg_pool1d(unbatched)": (lambda f, x, w, wt, b: f.adaptive_avg_pool1d(x[1], 3), (0,)),
}


def _run(functional, name, make):
    fn, _ = CASES[name]
    arrays = [make(a) for a in (X, W, WT, B)]
    y = fn(functional, *arrays)
    y.backward(make(np.random.default_rng(1).standard_normal(tuple(y.shape))).detach())
    return {"y": y, **{f"d{i}": arrays[i].grad for i in CASES[name][1]}}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, device):
    want = torch_reference(f"{name}", lambda torch: _run(torch.nn.functional, name,
                                                        lambda a: torch.tensor(a, requires_grad=True)))
    got = _run(F, name, lambda a: minigrad.tensor(a, device=device, requires_grad=True))
    for key, value in want.items():
        np.testing.assert_allclose(got[key].detach().numpy(), value, rtol=1e-10, atol=1e-12, err_msg=key)


def test_max_pool1d_indices_match_torch():
    want = torch_reference("max_pool1d indices", lambda torch: {
        "i": torch.nn.functional.max_pool1d(torch.tensor(X), 3, 2, 1, return_indices=True)[1]})
    y, idx = F.max_pool1d(minigrad.tensor(X), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), want["i"])
    np.testing.assert_array_equal(y.numpy(), np.take_along_axis(X, idx.numpy(), -1))


def test_against_numpy_references():
    """conv1d as a sum over taps, the pools as window reductions (float64, plain numpy)."""
    x, w = X[:, :2], RNG.standard_normal((3, 2, 3))
    want = sum(np.einsum("ncl,oc->nol", x[:, :, k:k + 9], w[:, :, k]) for k in range(3))
    np.testing.assert_allclose(F.conv1d(minigrad.tensor(x), minigrad.tensor(w)).numpy(), want, rtol=1e-12)
    windows = np.lib.stride_tricks.sliding_window_view(X, 3, -1)[..., ::2, :]
    np.testing.assert_allclose(F.max_pool1d(minigrad.tensor(X), 3, 2).numpy(), windows.max(-1))
    np.testing.assert_allclose(F.avg_pool1d(minigrad.tensor(X), 3, 2).numpy(), windows.mean(-1), rtol=1e-12)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(minigrad.tensor(X[..., :10]), 5).numpy(),
                               X[..., :10].reshape(2, 4, 5, 2).mean(-1), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_by_finite_differences(name):
    fn, inputs = CASES[name]
    base = [X[:1, :, :7], W, WT, B]  # a short input keeps the check fast
    if "unbatched" in name:
        base[0] = X[:, :, :7]

    def call(*chosen):
        arrays = [minigrad.tensor(a) for a in base]
        for position, t in zip(inputs, chosen, strict=True):
            arrays[position] = t
        return fn(F, *arrays)

    assert gradcheck(call, [minigrad.tensor(base[i], requires_grad=True) for i in inputs])


MODULES = [
    ("Conv1d(reflect)", lambda m: m.Conv1d(4, 6, 3, padding=1, padding_mode="reflect")),
    ("Conv1d(same, no bias)", lambda m: m.Conv1d(4, 6, 4, padding="same", bias=False)),
    ("Conv1d(circular, tuples)", lambda m: m.Conv1d(4, 6, (3,), stride=(2,), dilation=2, padding=2,
                                                    padding_mode="circular")),
    ("ConvTranspose1d", lambda m: m.ConvTranspose1d(4, 6, 3, stride=2, output_padding=1, groups=2)),
    ("MaxPool1d", lambda m: m.MaxPool1d(2)),
    ("AvgPool1d", lambda m: m.AvgPool1d(3, 2)),
    ("AdaptiveAvgPool1d", lambda m: m.AdaptiveAvgPool1d(5)),
]


@pytest.mark.parametrize(("name", "make"), MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, make):
    def torch_run(torch):
        layer = make(torch.nn).double()
        return {**layer.state_dict(), "y": layer(torch.tensor(X)), "repr": np.array(repr(layer))}

    want = torch_reference(f"module/{name}", torch_run)
    layer = make(nn).double()
    assert repr(layer) == str(want["repr"])
    state = layer.state_dict()
    assert all(tuple(state[k].shape) == want[k].shape for k in state)
    layer.load_state_dict({k: minigrad.tensor(want[k]) for k in state})
    np.testing.assert_allclose(layer(minigrad.tensor(X)).detach().numpy(), want["y"], rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x: F.conv1d(x, minigrad.zeros(3, 4, 3, 3)), ValueError, "weight must be 3-D"),
        (lambda x: F.conv1d(x[0, 0], minigrad.zeros(3, 4, 3)), ValueError, "2-D \\(C, L\\) or 3-D"),
        (lambda x: F.conv1d(x, minigrad.zeros(3, 4, 3), stride=(1, 2)), ValueError, "tuple of one int"),
        (lambda x: F.conv1d(x, minigrad.zeros(3, 5, 3, dtype=minigrad.float64)), ValueError, "channels"),
        (lambda x: F.conv_transpose1d(x, minigrad.zeros(4, 3, 3), stride=2, output_padding=2), ValueError,
         "smaller than"),
        (lambda x: F.max_pool1d(x, 20), ValueError, "kernel|output|window|size"),
        (lambda x: nn.Conv1d(4, 6, 3, padding="full"), ValueError, "padding must be"),
        (lambda x: nn.Conv1d(4, 6, 3, stride=2, padding="same"), ValueError, "strided"),
        (lambda x: nn.Conv1d(4, 6, 3, groups=4), ValueError, "groups=4"),
        (lambda x: nn.ConvTranspose1d(4, 6, 3, padding_mode="reflect"), ValueError, "padding_mode"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(minigrad.tensor(X))
