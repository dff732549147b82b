"""More torch.nn layers that ported course code uses: RMSNorm (F.rms_norm), the 1-D padding layers
and CircularPad2d, UpsamplingNearest2d/UpsamplingBilinear2d, PairwiseDistance
(F.pairwise_distance), Dropout1d (F.dropout1d), AlphaDropout (F.alpha_dropout), Identity's
ignored arguments and LazyLinear. Values, gradients, reprs and state_dict names are compared with
PyTorch when it is installed; numpy references and float64 gradchecks always run."""

import math

import numpy as np
import pytest
from parity import as_array, assert_same, f64

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck

try:
    import torch
except ImportError:  # the numpy references and gradchecks below still run
    torch = None

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def forward_backward(module, x, weights, lib):
    """module(x) and the gradient of sum(module(x) * weights) for x, in minigrad or torch (lib)."""
    t = lib.tensor(x, requires_grad=True)
    out = module(t)
    (out * lib.tensor(weights)).sum().backward()
    return out, t.grad


def assert_matches_torch(mine, theirs, x, rtol=1e-5):
    """Same repr, state_dict names, output and input gradient as the PyTorch module."""
    assert repr(mine) == repr(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    out, grad = forward_backward(mine, x, np.ones(1, np.float32), minigrad)
    weights = RNG.standard_normal(out.shape).astype(np.float32)
    out, grad = forward_backward(mine, x, weights, minigrad)
    their_out, their_grad = forward_backward(theirs, x, weights, torch)
    assert_same(out, their_out, rtol)
    assert_same(grad, their_grad, rtol)


# --- RMSNorm -----------------------------------------------------------------------------------


def rms_norm_ref(x, k, weight=None, eps=None):
    axes = tuple(range(x.ndim - k, x.ndim))
    eps = np.finfo(x.dtype).eps if eps is None else eps
    out = x / np.sqrt((x.astype(np.float64) ** 2).mean(axes, keepdims=True) + eps)
    return (out if weight is None else out * weight).astype(x.dtype)


@pytest.mark.parametrize("shape, normalized, eps", [((4, 6), 6, None), ((2, 3, 4, 5), (4, 5), 1e-5), ((3,), [3], 0.1)])
def test_rms_norm_matches_reference_and_torch(shape, normalized, eps):
    x = randn(*shape)
    k = 1 if isinstance(normalized, int) else len(normalized)
    w = randn(*shape[len(shape) - k :])
    got = F.rms_norm(minigrad.tensor(x), normalized, minigrad.tensor(w), eps)
    np.testing.assert_allclose(got.numpy(), rms_norm_ref(x, k, w, eps), rtol=1e-5, atol=1e-6)
    layer = nn.RMSNorm(normalized, eps=eps)
    assert layer.weight.shape == shape[len(shape) - k :] and np.all(layer.weight.detach().numpy() == 1)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    if torch is not None:
        theirs = torch.nn.RMSNorm(normalized, eps=eps)
        assert_matches_torch(layer, theirs, x)
        want = torch.nn.functional.rms_norm(torch.tensor(x), list(w.shape), torch.tensor(w), eps)
        assert_same(got, want, 1e-5)


def test_rms_norm_without_affine_default_eps_and_gradcheck():
    layer = nn.RMSNorm([2, 3], elementwise_affine=False)
    assert layer.weight is None and list(layer.state_dict()) == []
    assert repr(layer) == "RMSNorm((2, 3), eps=None, elementwise_affine=False)"
    x = f64(RNG.standard_normal((4, 2, 3)))
    np.testing.assert_allclose(layer(x).detach().numpy(), rms_norm_ref(x.detach().numpy(), 2), rtol=1e-12)
    w = f64(RNG.standard_normal(3))
    assert gradcheck(lambda t, v: F.rms_norm(t, 3, v, 1e-3), [x, w])
    assert gradcheck(lambda t: F.rms_norm(t, (2, 3)), [x])
    # eps None is the input dtype's epsilon: an all-zero row stays zero, with no NaN
    zero = nn.RMSNorm(3)(minigrad.zeros(2, 3))
    assert zero.dtype == minigrad.float32 and not np.any(zero.detach().numpy())


def test_rms_norm_bad_input_raises():
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.RMSNorm(4)(minigrad.randn(2, 3))
    with pytest.raises(ValueError, match="weight of shape"):
        F.rms_norm(minigrad.randn(2, 4), (4,), minigrad.ones(3))
    with pytest.raises(ValueError, match="at least one dimension"):
        F.rms_norm(minigrad.randn(2, 4), ())
    with pytest.raises(TypeError, match="floating-point"):
        F.rms_norm(minigrad.tensor([[1, 2]]), 2)


# --- padding -----------------------------------------------------------------------------------

NP_MODES = {"ZeroPad1d": "constant", "ConstantPad1d": "constant", "ReflectionPad1d": "reflect",
            "ReplicationPad1d": "edge", "CircularPad1d": "wrap"}  # fmt: skip
PAD_CASES = [
    ("ZeroPad1d", (2,), (2, 3, 5)),
    ("ConstantPad1d", ((1, 3), 0.5), (3, 4)),
    ("ConstantPad1d", ((-1, 2), -2.0), (2, 2, 4)),
    ("ReflectionPad1d", ((3, 1),), (2, 3, 5)),
    ("ReflectionPad1d", (2,), (3, 4)),
    ("ReplicationPad1d", ((0, 4),), (1, 2, 3)),
    ("ReplicationPad1d", (2,), (2, 5)),
    ("CircularPad1d", ((1, 3),), (2, 3, 4)),
    ("CircularPad1d", (3,), (2, 3)),
]


@pytest.mark.parametrize("name, args, shape", PAD_CASES)
def test_pad1d_matches_numpy_and_torch(name, args, shape):
    x = randn(*shape)
    layer = getattr(nn, name)(*args)
    left, right = layer.padding
    fill = {"constant_values": args[1]} if name == "ConstantPad1d" else {}
    kept = x[..., max(0, -left) : x.shape[-1] - max(0, -right)]  # negative widths crop
    want = np.pad(kept, [(0, 0)] * (x.ndim - 1) + [(max(0, left), max(0, right))], NP_MODES[name], **fill)
    np.testing.assert_array_equal(layer(minigrad.tensor(x)).numpy(), want)
    if torch is not None:
        assert_matches_torch(layer, getattr(torch.nn, name)(*args), x)


def test_circular_pad2d_matches_numpy_and_torch():
    x = randn(2, 3, 4, 5)
    layer = nn.CircularPad2d((1, 2, 3, 0))
    want = np.pad(x, [(0, 0), (0, 0), (3, 0), (1, 2)], "wrap")
    np.testing.assert_array_equal(layer(minigrad.tensor(x)).numpy(), want)
    assert repr(nn.CircularPad2d(1)) == "CircularPad2d((1, 1, 1, 1))"
    if torch is not None:
        assert_matches_torch(layer, torch.nn.CircularPad2d((1, 2, 3, 0)), x)


def test_pad1d_reprs_gradcheck_and_bad_input():
    assert repr(nn.ZeroPad1d((1, 2))) == "ZeroPad1d((1, 2))" and nn.ZeroPad1d(1).value == 0.0
    assert repr(nn.ConstantPad1d(2, 1.5)) == "ConstantPad1d(padding=(2, 2), value=1.5)"
    x = f64(RNG.standard_normal((2, 2, 4)))
    for layer in (nn.ReflectionPad1d((3, 2)), nn.ReplicationPad1d((2, 5)), nn.CircularPad1d((4, 1)),
                  nn.ConstantPad1d((1, -1), 3.0)):  # fmt: skip
        assert gradcheck(layer, [x])
    with pytest.raises(ValueError, match="int or 2 widths"):
        nn.ZeroPad1d((1, 2, 3))
    with pytest.raises(ValueError, match="less than the size"):
        nn.ReflectionPad1d(3)(minigrad.randn(1, 2, 3))  # PyTorch: RuntimeError
    with pytest.raises(ValueError, match="more than once"):
        nn.CircularPad1d(4)(minigrad.randn(1, 2, 3))  # PyTorch: RuntimeError
    for layer in (nn.ReflectionPad1d(1), nn.ReplicationPad1d(1), nn.CircularPad1d(1)):
        with pytest.raises(ValueError, match="do not fit|expected 2D or 3D input"):
            layer(minigrad.randn(3))  # PyTorch: NotImplementedError


# --- upsampling --------------------------------------------------------------------------------


def bilinear_align_corners_ref(x, out_h, out_w):
    """Bilinear resize of (N, C, H, W) with corners aligned, by loops."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, out_h, out_w), np.float64)
    for i in range(out_h):
        src_y = i * (h - 1) / (out_h - 1) if out_h > 1 else 0.0
        y0 = min(int(math.floor(src_y)), h - 1)
        y1, dy = min(y0 + 1, h - 1), src_y - y0
        for j in range(out_w):
            src_x = j * (w - 1) / (out_w - 1) if out_w > 1 else 0.0
            x0 = min(int(math.floor(src_x)), w - 1)
            x1, dx = min(x0 + 1, w - 1), src_x - x0
            top = x[:, :, y0, x0] * (1 - dx) + x[:, :, y0, x1] * dx
            bottom = x[:, :, y1, x0] * (1 - dx) + x[:, :, y1, x1] * dx
            out[:, :, i, j] = top * (1 - dy) + bottom * dy
    return out.astype(x.dtype)


@pytest.mark.parametrize("kwargs, out_hw", [({"scale_factor": 2}, (6, 8)), ({"size": (5, 7)}, (5, 7)),
                                            ({"size": 1}, (1, 1))])  # fmt: skip
def test_upsampling_layers_match_references_and_torch(kwargs, out_hw):
    x = randn(2, 3, 3, 4)
    nearest, bilinear = nn.UpsamplingNearest2d(**kwargs), nn.UpsamplingBilinear2d(**kwargs)
    rows = np.arange(out_hw[0]) * 3 // out_hw[0]
    cols = np.arange(out_hw[1]) * 4 // out_hw[1]
    np.testing.assert_array_equal(nearest(minigrad.tensor(x)).numpy(), x[:, :, rows][:, :, :, cols])
    got = bilinear(minigrad.tensor(x)).numpy()
    np.testing.assert_allclose(got, bilinear_align_corners_ref(x, *out_hw), rtol=1e-5, atol=1e-6)
    assert bilinear.align_corners is True and nearest.mode == "nearest"
    if torch is not None:
        assert_matches_torch(nearest, torch.nn.UpsamplingNearest2d(**kwargs), x)
        assert_matches_torch(bilinear, torch.nn.UpsamplingBilinear2d(**kwargs), x)


def test_upsampling_gradcheck_and_bad_input():
    x = f64(RNG.standard_normal((1, 2, 3, 2)))
    assert gradcheck(nn.UpsamplingBilinear2d(size=(4, 5)), [x])
    assert gradcheck(nn.UpsamplingNearest2d(scale_factor=2), [x])
    with pytest.raises(ValueError):
        nn.UpsamplingBilinear2d(scale_factor=2)(minigrad.randn(2, 3, 4))  # bilinear needs 4-D input
    with pytest.raises(ValueError):
        nn.UpsamplingNearest2d()(minigrad.randn(1, 1, 2, 2))  # neither size nor scale_factor


# --- PairwiseDistance --------------------------------------------------------------------------


PAIRWISE_CASES = [
    (((4, 5), (4, 5)), 2.0, False),
    (((3, 4), (4,)), 1.0, True),
    (((2, 3, 4), (3, 4)), 3.0, False),
    (((5,), (5,)), 2.0, True),
]


@pytest.mark.parametrize("shapes, p, keepdim", PAIRWISE_CASES)
def test_pairwise_distance_matches_reference_and_torch(shapes, p, keepdim):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    layer = nn.PairwiseDistance(p=p, keepdim=keepdim)
    got = layer(minigrad.tensor(a), minigrad.tensor(b))
    want = (np.abs(a.astype(np.float64) - b + 1e-6) ** p).sum(-1, keepdims=keepdim) ** (1 / p)
    np.testing.assert_allclose(got.numpy(), want.astype(np.float32), rtol=1e-5)
    assert_same(F.pairwise_distance(minigrad.tensor(a), minigrad.tensor(b), p, 1e-6, keepdim), got)
    if torch is not None:
        theirs = torch.nn.PairwiseDistance(p=p, keepdim=keepdim)
        assert repr(layer) == repr(theirs) == "PairwiseDistance()"
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        ma, mb = minigrad.tensor(a, requires_grad=True), minigrad.tensor(b, requires_grad=True)
        theirs(ta, tb).sum().backward()
        out = layer(ma, mb)
        out.sum().backward()
        assert_same(out, theirs(ta, tb), 1e-5)
        assert_same(ma.grad, ta.grad, 1e-5)
        assert_same(mb.grad, tb.grad, 1e-5)


def test_pairwise_distance_gradcheck_and_bad_input():
    a, b = f64(RNG.standard_normal((3, 4))), f64(RNG.standard_normal((3, 4)))
    assert gradcheck(lambda u, v: F.pairwise_distance(u, v, 3.0, keepdim=True), [a, b])
    assert gradcheck(nn.PairwiseDistance(), [a, b])
    with pytest.raises(ValueError, match="broadcast"):
        F.pairwise_distance(minigrad.randn(3, 4), minigrad.randn(3, 5))
    with pytest.raises(TypeError, match="floating-point"):
        F.pairwise_distance(minigrad.tensor([1, 2]), minigrad.tensor([1, 3]))


# --- Dropout1d and AlphaDropout ----------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 16, 10), (16, 10)])
def test_dropout1d_zeroes_whole_channels(shape):
    minigrad.manual_seed(0)
    x = minigrad.tensor(np.ones(shape, np.float32), requires_grad=True)
    layer = nn.Dropout1d(0.25)
    out = layer(x)
    out.sum().backward()
    y = out.detach().numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert np.all(y == y[..., :1])  # one draw per channel
    assert 0 < np.count_nonzero(y[..., 0] == 0) < y[..., 0].size
    np.testing.assert_array_equal(x.grad.numpy(), y)  # the gradient is the mask
    inplace = minigrad.tensor(np.ones(shape, np.float32))
    assert F.dropout1d(inplace, 0.5, inplace=True) is inplace
    assert np.all(inplace.numpy() == inplace.numpy()[..., :1])  # channels, in place
    layer.eval()
    assert layer(x) is x
    assert repr(layer) == "Dropout1d(p=0.25, inplace=False)"
    if torch is not None:
        assert repr(layer) == repr(torch.nn.Dropout1d(0.25))


def test_alpha_dropout_formula_statistics_and_torch():
    p, alpha = 0.3, 1.7580993408473766
    a = 1 / math.sqrt((alpha**2 * p + 1) * (1 - p))
    minigrad.manual_seed(0)
    x = minigrad.tensor(RNG.standard_normal(20000), dtype=minigrad.float64, requires_grad=True)
    out = nn.AlphaDropout(p)(x)
    out.sum().backward()
    xs, y, g = x.detach().numpy(), out.detach().numpy(), x.grad.numpy()
    kept = g != 0
    np.testing.assert_allclose(g[kept], a)  # the gradient is a where kept, 0 where dropped
    np.testing.assert_allclose(y[kept], a * xs[kept] + alpha * a * p)
    np.testing.assert_allclose(y[~kept], -alpha * a + alpha * a * p)
    assert abs(kept.mean() - (1 - p)) < 0.02
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1) < 0.05  # SELU's moments are kept
    layer = nn.AlphaDropout(0.2)
    assert repr(layer) == "AlphaDropout(p=0.2, inplace=False)"
    assert layer.eval()(x) is x and F.alpha_dropout(x, 0.5) is x  # functional default: not training
    np.testing.assert_array_equal(F.alpha_dropout(x, 1.0, True).detach().numpy(), 0)
    if torch is not None:
        assert repr(layer) == repr(torch.nn.AlphaDropout(0.2))
        torch.manual_seed(0)  # PyTorch's mask differs; its values take the same two forms
        ty = torch.nn.functional.alpha_dropout(torch.tensor(xs), p, True).numpy()
        t_kept = np.isclose(ty, a * xs + alpha * a * p)
        np.testing.assert_allclose(ty[~t_kept], -alpha * a + alpha * a * p)


def test_channel_and_alpha_dropout_bad_input():
    with pytest.raises(ValueError, match="expected"):
        F.dropout1d(minigrad.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="expected"):
        nn.Dropout1d()(minigrad.randn(4))
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.AlphaDropout(p)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.alpha_dropout(minigrad.randn(3), p, True)
    with pytest.raises(TypeError, match="floating-point"):
        F.alpha_dropout(minigrad.tensor([1, 2]), 0.5, True)


# --- Identity and LazyLinear -------------------------------------------------------------------


def test_identity_ignores_constructor_arguments():
    layer = nn.Identity(54, unused_argument1=0.1, unused_argument2=False)
    x = minigrad.randn(2, 3)
    assert layer(x) is x and repr(layer) == "Identity()" and list(layer.state_dict()) == []


def test_lazy_linear_infers_in_features_then_is_a_linear():
    minigrad.manual_seed(0)
    layer = nn.LazyLinear(3)
    assert repr(layer) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert nn.LazyLinear(3, bias=False).bias is None
    x = RNG.standard_normal((4, 2, 50)).astype(np.float32)
    out = layer(minigrad.tensor(x))
    assert type(layer) is nn.Linear and layer.in_features == 50
    assert repr(layer) == "Linear(in_features=50, out_features=3, bias=True)"
    w, b = layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()
    assert w.shape == (3, 50) and b.shape == (3,) and w.dtype == np.float32
    bound = 1 / math.sqrt(50)  # PyTorch's init from the inferred fan-in
    assert np.all(np.abs(w) <= bound) and np.all(np.abs(b) <= bound) and w.std() > bound / 3
    np.testing.assert_allclose(out.detach().numpy(), x @ w.T + b, rtol=1e-5, atol=1e-6)
    # parameters built after the first call are the ones an optimizer trains
    opt = minigrad.optim.SGD(layer.parameters(), lr=0.1)
    layer(minigrad.tensor(x)).sum().backward()
    opt.step()
    assert not np.array_equal(layer.weight.detach().numpy(), w)
    if torch is not None:
        theirs = torch.nn.LazyLinear(3)
        assert repr(nn.LazyLinear(3)) == repr(theirs)
        theirs(torch.tensor(x))
        assert repr(layer) == repr(theirs) and list(layer.state_dict()) == list(theirs.state_dict())


def test_lazy_linear_gradcheck_and_bad_input():
    layer = nn.LazyLinear(2, dtype=minigrad.float64)
    x = f64(RNG.standard_normal((3, 4)))
    layer(x)
    assert gradcheck(lambda t, w, b: F.linear(t, w, b), [x, layer.weight, layer.bias])
    with pytest.raises(ValueError, match="at least one dimension"):
        nn.LazyLinear(2)(minigrad.tensor(1.0))


def test_new_names_are_exported():
    for name in ("RMSNorm", "ZeroPad1d", "ConstantPad1d", "ReflectionPad1d", "ReplicationPad1d", "CircularPad1d",
                 "CircularPad2d", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PairwiseDistance", "Dropout1d",
                 "AlphaDropout", "LazyLinear"):  # fmt: skip
        assert name in nn.__all__ and hasattr(nn, name)
    for name in ("rms_norm", "pairwise_distance", "dropout1d", "alpha_dropout"):
        assert name in F.__all__ and hasattr(F, name)
    assert as_array(F.rms_norm(minigrad.ones(2), 2)).dtype == np.float32


def test_new_layers_on_device_match_cpu(device):
    x = randn(2, 3, 4)
    layers = [nn.RMSNorm(4), nn.ReflectionPad1d((2, 1)), nn.CircularPad1d(2), nn.ConstantPad1d(1, 2.0),
              nn.UpsamplingBilinear2d(scale_factor=2)]  # fmt: skip
    for layer in layers:
        inputs = x[None] if isinstance(layer, nn.UpsamplingBilinear2d) else x
        want = layer(minigrad.tensor(inputs)).detach().numpy()
        got = layer.to(device)(minigrad.tensor(inputs, device=device))
        assert got.device == minigrad.tensor(inputs, device=device).device
        np.testing.assert_allclose(got.detach().cpu().numpy(), want, rtol=1e-5, atol=1e-6)
    d = F.pairwise_distance(minigrad.tensor(x, device=device), minigrad.tensor(x[:1], device=device), keepdim=True)
    np.testing.assert_allclose(d.cpu().numpy(), F.pairwise_distance(minigrad.tensor(x), minigrad.tensor(x[:1]),
                                                                    keepdim=True).numpy(), rtol=1e-5)  # fmt: skip
    minigrad.manual_seed(0)
    for fn in (F.dropout1d, F.alpha_dropout):
        y = fn(minigrad.tensor(x, device=device), 0.5, True).cpu().numpy()
        assert y.shape == x.shape and np.isfinite(y).all()


# ---------------------------------------------------------------------------- LPPool1d / LPPool2d
def lp_pool_reference(x, p, kh, kw, sh, sw):
    """(sum of x ** p over each whole window) ** (1 / p) on (N, C, H, W), no ceil mode."""
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw].astype(np.float64)
            out[:, :, i, j] = (window**p).sum(axis=(2, 3)) ** (1.0 / p)
    return out


@pytest.mark.parametrize("norm_type, kernel, stride", [(2, 2, None), (3.0, (2, 3), (1, 2)), (1, 3, 2)])
def test_lp_pool2d_matches_reference_and_torch(norm_type, kernel, stride):
    x = np.abs(randn(2, 3, 7, 8)) + 0.1
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    mine = nn.LPPool2d(norm_type, kernel, stride)
    np.testing.assert_allclose(mine(minigrad.tensor(x)).numpy(), lp_pool_reference(x, norm_type, kh, kw, sh, sw),
                               rtol=1e-4)
    if torch is not None:
        assert_matches_torch(mine, torch.nn.LPPool2d(norm_type, kernel, stride), x)
        assert_matches_torch(nn.LPPool2d(norm_type, kernel, stride, ceil_mode=True),
                             torch.nn.LPPool2d(norm_type, kernel, stride, ceil_mode=True), x)


def test_lp_pool1d_matches_reference_and_torch():
    x = np.abs(randn(2, 3, 9)) + 0.1
    mine = nn.LPPool1d(2, 3, 2)
    expected = lp_pool_reference(x[:, :, None, :], 2, 1, 3, 1, 2)[:, :, 0, :]
    np.testing.assert_allclose(mine(minigrad.tensor(x)).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(F.lp_pool1d(minigrad.tensor(x), 2, 3).numpy(),
                               lp_pool_reference(x[:, :, None, :], 2, 1, 3, 1, 3)[:, :, 0, :], rtol=1e-5)
    if torch is not None:
        assert_matches_torch(mine, torch.nn.LPPool1d(2, 3, 2), x)


def test_lp_pool_gradcheck_and_bad_input():
    x = minigrad.tensor(np.abs(RNG.standard_normal((1, 2, 5, 5))) + 0.5, requires_grad=True)
    assert gradcheck(lambda t: F.lp_pool2d(t, 2, 2, 1), [x])
    assert gradcheck(lambda t: F.lp_pool2d(t, 3.0, (2, 3), ceil_mode=True), [x])
    y = minigrad.tensor(np.abs(RNG.standard_normal((2, 3, 6))) + 0.5, requires_grad=True)
    assert gradcheck(lambda t: F.lp_pool1d(t, 2, 2), [y])
    with pytest.raises(TypeError):
        F.lp_pool2d(minigrad.ones(1, 1, 4, 4, dtype=minigrad.int64), 2, 2)
    with pytest.raises(ValueError, match="kernel_size"):
        F.lp_pool2d(minigrad.ones(1, 1, 4, 4), 2, (1, 2, 3))
