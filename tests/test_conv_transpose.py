"""conv_transpose2d and nn.ConvTranspose2d (conv2d's input gradient as a layer), and unbatched
(C, H, W) input to the conv and pooling functions: against a plain numpy scatter reference, PyTorch
(live or recorded: output and all three gradients), float64 finite differences, bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)


def reference_conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation):
    """Every input pixel scatters weight * value into the output (float64, plain loops)."""
    n, c_in, h, wd = x.shape
    _, c_out_g, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    # the full canvas (no cropping by padding), cropped at the end
    full = np.zeros((n, c_out_g * groups, oh + 2 * ph, ow + 2 * pw))
    c_in_g = c_in // groups
    for ci in range(c_in):
        g = ci // c_in_g
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for bb in range(kw):
                        r, c = i * sh + a * dh, j * sw + bb * dw
                        if r < full.shape[2] and c < full.shape[3]:
                            full[:, g * c_out_g:(g + 1) * c_out_g, r, c] += x[:, ci, i, j, None] * w[ci, :, a, bb]
    out = full[:, :, ph:ph + oh, pw:pw + ow]
    return out if b is None else out + b[None, :, None, None]


# (name, input shape, weight shape, bias, kwargs of conv_transpose2d)
CASES = [
    ("plain", (2, 3, 4, 5), (3, 2, 3, 3), True, {}),
    ("stride 2", (2, 3, 4, 5), (3, 2, 3, 3), True, {"stride": 2}),
    ("stride, padding, output_padding", (2, 3, 4, 5), (3, 4, 3, 3), True,
     {"stride": 2, "padding": 1, "output_padding": 1}),
    ("rectangular, dilation", (1, 2, 5, 4), (2, 3, 3, 2), False,
     {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "dilation": (1, 2)}),
    ("groups", (2, 4, 3, 3), (4, 3, 2, 2), True, {"groups": 2, "stride": 2}),
    ("output_padding >= stride (dilation 3)", (1, 2, 3, 4), (2, 2, 3, 3), True,
     {"stride": 2, "dilation": 3, "output_padding": 2, "padding": 2}),
    ("1x1 stride 2", (2, 4, 3, 3), (4, 5, 1, 1), True, {"stride": 2}),
    ("DCGAN-like 4x4 s2 p1", (2, 8, 4, 4), (8, 4, 4, 4), False, {"stride": 2, "padding": 1}),
]


def _arrays(case):
    _, xs, ws, bias, _ = case
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * case[4].get("groups", 1)) if bias else None
    return x, w, b


def _run(lib, functional, case, make):
    x, w, b = (None if a is None else make(a) for a in _arrays(case))
    y = functional.conv_transpose2d(x, w, b, **case[4])
    g = np.random.default_rng(1).standard_normal(tuple(y.shape))
    y.backward(make(g).detach())
    return {"y": y, "dx": x.grad, "dw": w.grad, **({"db": b.grad} if b is not None else {})}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(case, device):
    want = torch_reference(
        f"conv_transpose2d/{case[0]}",
        lambda torch: _run(torch, torch.nn.functional, case, lambda a: torch.tensor(a, requires_grad=True)),
    )
    got = _run(minigrad, F, case, lambda a: minigrad.tensor(a, device=device, requires_grad=True))
    for key, value in want.items():
        np.testing.assert_allclose(got[key].detach().numpy(), value, rtol=1e-10, atol=1e-10, err_msg=key)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_reference(case, dtype):
    x, w, b = _arrays(case)
    kw = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1, **case[4]}
    pair = {k: (v, v) if isinstance(v, int) and k != "groups" else v for k, v in kw.items()}
    want = reference_conv_transpose2d(x, w, b, pair["stride"], pair["padding"], pair["output_padding"], kw["groups"],
                                      pair["dilation"])
    t = lambda a: None if a is None else minigrad.tensor(a.astype(dtype))  # noqa: E731
    got = F.conv_transpose2d(t(x), t(w), t(b), **case[4])
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("case", CASES[:6], ids=[c[0] for c in CASES[:6]])
def test_gradients_by_finite_differences(case):
    x, w, b = _arrays(case)
    tensors = [minigrad.tensor(a[:1] if i == 0 else a, requires_grad=True) for i, a in enumerate((x, w, b))
               if a is not None]
    if b is None:
        assert gradcheck(lambda xx, ww: F.conv_transpose2d(xx, ww, None, **case[4]), tensors)
    else:
        assert gradcheck(lambda xx, ww, bb: F.conv_transpose2d(xx, ww, bb, **case[4]), tensors)


def test_unbatched_and_empty_batch():
    x, w, b = _arrays(CASES[2])
    kw = CASES[2][4]
    batched = F.conv_transpose2d(minigrad.tensor(x), minigrad.tensor(w), minigrad.tensor(b), **kw).numpy()
    single = F.conv_transpose2d(minigrad.tensor(x[1]), minigrad.tensor(w), minigrad.tensor(b), **kw)
    np.testing.assert_allclose(single.numpy(), batched[1], rtol=1e-12)
    empty = minigrad.tensor(x[:0], requires_grad=True)
    y = F.conv_transpose2d(empty, minigrad.tensor(w), minigrad.tensor(b), **kw)
    assert y.shape == (0, *batched.shape[1:])
    y.sum().backward()
    assert empty.grad.shape == x[:0].shape


def test_module_matches_torch():
    x = np.random.default_rng(2).standard_normal((2, 4, 5, 5))

    def torch_run(torch):
        layers = [torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1).double(),
                  torch.nn.ConvTranspose2d(4, 6, (3, 2), groups=2, bias=False, dilation=2).double()]
        out = {}
        for i, layer in enumerate(layers):
            out.update({f"{i}/{k}": v for k, v in layer.state_dict().items()})
            out[f"{i}/repr"] = np.array(repr(layer))
            out[f"{i}/y"] = layer(torch.tensor(x))
        out["sized"] = layers[0](torch.tensor(x), output_size=[2, 6, 10, 9])
        return out

    want = torch_reference("module/ConvTranspose2d", torch_run)
    layers = [nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1).double(),
              nn.ConvTranspose2d(4, 6, (3, 2), groups=2, bias=False, dilation=2).double()]
    for i, layer in enumerate(layers):
        assert repr(layer) == str(want[f"{i}/repr"])
        state = {k: minigrad.tensor(want[f"{i}/{k}"]) for k in layer.state_dict()}
        assert {k: v.shape for k, v in state.items()} == {k: v.shape for k, v in layer.state_dict().items()}
        layer.load_state_dict(state)
        np.testing.assert_allclose(layer(minigrad.tensor(x)).detach().numpy(), want[f"{i}/y"], rtol=1e-12)
    sized = layers[0](minigrad.tensor(x), output_size=[2, 6, 10, 9])
    np.testing.assert_allclose(sized.detach().numpy(), want["sized"], rtol=1e-12)


def test_module_initialisation_scale():
    """PyTorch's default init: kaiming_uniform(a=sqrt(5)) over fan_in = weight.size(1) * kH * kW."""
    minigrad.manual_seed(0)
    layer = nn.ConvTranspose2d(16, 32, 3)
    bound = 1 / np.sqrt(32 * 9)
    assert np.abs(layer.weight.detach().numpy()).max() <= bound
    assert np.abs(layer.weight.detach().numpy()).max() > 0.9 * bound
    assert np.abs(layer.bias.detach().numpy()).max() <= bound


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x, w: F.conv_transpose2d(x, w[:2]), ValueError, "input has 3 channels"),
        (lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=2), ValueError, "smaller than either"),
        (lambda x, w: F.conv_transpose2d(x, w, stride=0), ValueError, "must be >= 1"),
        (lambda x, w: F.conv_transpose2d(x, w, padding=-1), ValueError, ">= 0"),
        (lambda x, w: F.conv_transpose2d(x, w, groups=2), ValueError, "groups=2"),
        (lambda x, w: F.conv_transpose2d(x, w, minigrad.zeros(3)), ValueError, "bias must have shape"),
        (lambda x, w: F.conv_transpose2d(x, w, padding=5), ValueError, "give an output of"),
        (lambda x, w: F.conv_transpose2d(x[0, 0], w), ValueError, "3-D or 4-D"),
        (lambda x, w: F.conv_transpose2d(x, w[0]), ValueError, "weight must be 4-D"),
        (lambda x, w: F.conv_transpose2d(x, w, stride=(1, 2, 3)), ValueError, "pair of ints"),
        (lambda x, w: F.conv_transpose2d(x.long(), w), TypeError, "conv_transpose2d"),
        (lambda x, w: nn.ConvTranspose2d(3, 2, 3, padding_mode="reflect"), ValueError, "padding_mode"),
        (lambda x, w: nn.ConvTranspose2d(3, 2, 3, groups=2), ValueError, "groups=2"),
        (lambda x, w: nn.ConvTranspose2d(3, 2, 3, stride=2)(x, output_size=(20, 20)), ValueError, "valid sizes"),
    ],
)
def test_bad_input(call, error, match):
    x, w = minigrad.tensor(np.ones((1, 3, 4, 4))), minigrad.tensor(np.ones((3, 2, 3, 3)))
    with pytest.raises(error, match=match):
        call(x, w)


UNBATCHED = [  # (name, fn(F, x)): 2-D ops PyTorch also runs on one (C, H, W) image
    ("conv2d", lambda f, x: f.conv2d(x, (x[:, :3, :3] * 0.5).unsqueeze(0), padding=1)),
    ("max_pool2d", lambda f, x: f.max_pool2d(x, 2)),
    ("max_pool2d indices", lambda f, x: f.max_pool2d(x, 3, 2, 1, return_indices=True)[1]),
    ("avg_pool2d", lambda f, x: f.avg_pool2d(x, 3, 2, 1)),
    ("adaptive_avg_pool2d", lambda f, x: f.adaptive_avg_pool2d(x, (2, 3))),
]


@pytest.mark.parametrize(("name", "fn"), UNBATCHED, ids=[u[0] for u in UNBATCHED])
def test_unbatched_input_matches_torch(name, fn):
    x = np.random.default_rng(3).standard_normal((3, 6, 7))
    want = torch_reference(f"unbatched/{name}", lambda torch: {"y": fn(torch.nn.functional, torch.tensor(x))})
    got = fn(F, minigrad.tensor(x))
    np.testing.assert_allclose(got.numpy(), want["y"], rtol=1e-12)
    assert got.shape == want["y"].shape
