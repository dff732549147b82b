"""The 3-D layers (conv3d, conv_transpose3d, the 3-D pools, max_unpool3d, lp_pool3d, dropout3d,
interpolate of 5-D input and their modules, BatchNorm3d, InstanceNorm3d), composed from the 2-D
kernels: against plain numpy references, float64 finite differences, and PyTorch (live or recorded
in tests/fixtures/torch_reference/test_nn3d.npz: values, gradients, second-order gradients, reprs,
state_dict keys, exception classes, a small 3-D CNN's SGD losses)."""

import math
import warnings

import numpy as np
import pytest
from parity import check_program, set_params
from test_porting_round8 import caught_as
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

RNG = np.random.default_rng(3)
X = RNG.standard_normal((2, 4, 4, 5, 4))
XM = X[:, :, :3, :4, :3]  # the modules' input (a small fixture)
W = RNG.standard_normal((6, 2, 3, 2, 3))  # groups=2 conv3d weight
WT = RNG.standard_normal((4, 3, 3, 2, 2))  # conv_transpose3d weight (C_in, C_out / groups, ...)
B = RNG.standard_normal(6)


def check(key, program, rtol=1e-10):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


# ------------------------------------------------------------------- numpy references
def _taps(n, k, s, p, d, o):
    """The input positions window o reads along a dimension of n (padding dropped)."""
    return [o * s - p + d * t for t in range(k) if 0 <= o * s - p + d * t < n]


def _pool_size(n, k, s, p, d, ceil_mode):
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def conv3d_ref(x, w, b=None, stride=(1, 1, 1), padding=(0, 0, 0), dilation=(1, 1, 1), groups=1):
    """A sum over the kernel's taps of channel contractions of strided input slices."""
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    geometry = list(zip(x.shape[2:], w.shape[2:], stride, dilation, strict=True))
    out = [(n - d * (k - 1) - 1) // s + 1 for n, k, s, d in geometry]
    y = np.zeros((x.shape[0], w.shape[0], *out))
    cg, og = w.shape[1], w.shape[0] // groups
    for g in range(groups):
        inputs, outputs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for tap in np.ndindex(*w.shape[2:]):
            window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                           for t, o, (_, _, s, d) in zip(tap, out, geometry, strict=True))
            y[:, outputs] += np.einsum("ncdhw,oc->nodhw", x[(slice(None), inputs, *window)],
                                       w[(outputs, slice(None), *tap)])
    return y if b is None else y + b[:, None, None, None]


def conv_transpose3d_ref(x, w, b=None, stride=(1, 1, 1), padding=(0, 0, 0), output_padding=(0, 0, 0), groups=1,
                         dilation=(1, 1, 1)):
    """Each input element times the kernel, added at its strided place; then the padding cropped."""
    cg, og = x.shape[1] // groups, w.shape[1]
    full = [(n - 1) * s + d * (k - 1) + 1 + o
            for n, s, d, k, o in zip(x.shape[2:], stride, dilation, w.shape[2:], output_padding, strict=True)]
    y = np.zeros((x.shape[0], og * groups, *full))
    for g in range(groups):
        for tap in np.ndindex(*w.shape[2:]):
            place = tuple(slice(t * d, t * d + (n - 1) * s + 1, s) for t, d, n, s in zip(tap, dilation, x.shape[2:],
                                                                                         stride, strict=True))
            y[(slice(None), slice(g * og, (g + 1) * og), *place)] += np.einsum(
                "ncdhw,co->nodhw", x[:, g * cg:(g + 1) * cg], w[(slice(g * cg, (g + 1) * cg), slice(None), *tap)])
    y = y[(slice(None), slice(None), *(slice(p, f - p) for p, f in zip(padding, full, strict=True)))]
    return y if b is None else y + b[:, None, None, None]


def max_pool3d_ref(x, k, s, p, d, ceil_mode):
    """Each box's max and the flat D*H*W position of its first maximum in (d, h, w) order."""
    sizes = x.shape[2:]
    out = [_pool_size(*a, ceil_mode) for a in zip(sizes, k, s, p, d, strict=True)]
    values, indices = np.empty(x.shape[:2] + tuple(out)), np.empty(x.shape[:2] + tuple(out), np.int64)
    for o in np.ndindex(*out):
        taps = [np.array(_taps(*a)) for a in zip(sizes, k, s, p, d, o, strict=True)]
        box = x[(slice(None), slice(None), *np.ix_(*taps))].reshape(*x.shape[:2], -1)
        flat = np.ravel_multi_index(np.ix_(*taps), sizes).reshape(-1)
        values[(..., *o)], indices[(..., *o)] = box.max(-1), flat[box.argmax(-1)]
    return values, indices


def avg_pool3d_ref(x, k, s, p, ceil_mode, count_include_pad, divisor_override=None):
    """Each box's sum over the divisor PyTorch uses (the window within the padded input, or its
    part within the input, or divisor_override)."""
    sizes = x.shape[2:]
    out = [_pool_size(n, kk, ss, pp, 1, ceil_mode) for n, kk, ss, pp in zip(sizes, k, s, p, strict=True)]
    y = np.empty(x.shape[:2] + tuple(out))
    for o in np.ndindex(*out):
        taps = [_taps(n, kk, ss, pp, 1, oo) for n, kk, ss, pp, oo in zip(sizes, k, s, p, o, strict=True)]
        padded = math.prod(min(oo * ss - pp + kk, n + pp) - (oo * ss - pp) for n, kk, ss, pp, oo in
                           zip(sizes, k, s, p, o, strict=True))
        divisor = divisor_override or (padded if count_include_pad else math.prod(map(len, taps)))
        y[(..., *o)] = x[(slice(None), slice(None), *np.ix_(*taps))].sum((2, 3, 4)) / divisor
    return y


def adaptive_pool3d_ref(x, out, reduce):
    """reduce over PyTorch's adaptive windows, floor(i n / out) to ceil((i + 1) n / out)."""
    y = np.empty(x.shape[:2] + tuple(out))
    for o in np.ndindex(*out):
        box = tuple(slice(i * n // m, -(-(i + 1) * n // m)) for i, n, m in zip(o, x.shape[2:], out, strict=True))
        y[(..., *o)] = reduce(x[(slice(None), slice(None), *box)], axis=(2, 3, 4))
    return y


def trilinear_ref(x, out):
    """Linear interpolation along each spatial axis in turn (align_corners=False)."""
    for axis, m in enumerate(out, start=2):
        n = x.shape[axis]
        pos = np.maximum((np.arange(m) + 0.5) * n / m - 0.5, 0)
        lo = np.minimum(np.floor(pos).astype(int), n - 1)
        hi, frac = np.minimum(lo + 1, n - 1), (pos - np.floor(pos)).reshape([-1 if a == axis else 1
                                                                            for a in range(x.ndim)])
        x = np.take(x, lo, axis) * (1 - frac) + np.take(x, hi, axis) * frac
    return x


def test_conv3d_against_numpy():
    t = minigrad.tensor
    np.testing.assert_allclose(F.conv3d(t(X), t(W), t(B), (2, 1, 2), (1, 2, 0), (1, 2, 1), 2).numpy(),
                               conv3d_ref(X, W, B, (2, 1, 2), (1, 2, 0), (1, 2, 1), 2), rtol=1e-12, atol=1e-12)
    w = RNG.standard_normal((3, 4, 2, 3, 3))
    np.testing.assert_allclose(F.conv3d(t(X[0]), t(w), padding=1).numpy(), conv3d_ref(X[:1], w, padding=(1, 1, 1))[0],
                               rtol=1e-12, atol=1e-12)
    # float32 against the float64 reference
    got = F.conv3d(t(X, dtype=minigrad.float32), t(w, dtype=minigrad.float32), stride=2).numpy()
    np.testing.assert_allclose(got, conv3d_ref(X, w, stride=(2, 2, 2)), rtol=1e-4, atol=1e-4)


def test_conv_transpose3d_against_numpy():
    t = minigrad.tensor
    args = ((2, 3, 1), (1, 0, 1), (1, 2, 0), 2, (1, 1, 2))
    np.testing.assert_allclose(F.conv_transpose3d(t(X), t(WT), t(B), *args).numpy(),
                               conv_transpose3d_ref(X, WT, B, *args), rtol=1e-12, atol=1e-12)
    args = ((3, 1, 2), (2, 1, 0), (2, 0, 1), 1, (3, 1, 2))  # output_padding >= stride where dilation allows
    np.testing.assert_allclose(F.conv_transpose3d(t(X[1]), t(WT), None, *args).numpy(),
                               conv_transpose3d_ref(X[1:], WT, None, *args)[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("k", "s", "p", "d", "ceil_mode"), [
    ((2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False),
    ((3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 2, 1), True),
    ((2, 3, 2), (1, 2, 3), (1, 1, 1), (2, 1, 1), True),
])
def test_pools_against_numpy(k, s, p, d, ceil_mode):
    x = minigrad.tensor(X)
    values, indices = F.max_pool3d(x, k, s, p, d, ceil_mode, return_indices=True)
    want_values, want_indices = max_pool3d_ref(X, k, s, p, d, ceil_mode)
    np.testing.assert_array_equal(values.numpy(), want_values)
    np.testing.assert_array_equal(indices.numpy(), want_indices)
    for include in (True, False):
        np.testing.assert_allclose(F.avg_pool3d(x, k, s, p, ceil_mode, include).numpy(),
                                   avg_pool3d_ref(X, k, s, p, ceil_mode, include), rtol=1e-12)
    np.testing.assert_allclose(F.avg_pool3d(x, k, s, p, ceil_mode, divisor_override=5).numpy(),
                               avg_pool3d_ref(X, k, s, p, ceil_mode, True, 5), rtol=1e-12)


def test_max_pool3d_ties_pick_the_first_in_depth_height_width_order():
    x = np.zeros((1, 1, 4, 4, 4))
    x[0, 0, 1, 0, 1] = x[0, 0, 0, 1, 1] = x[0, 0, 1, 1, 0] = 1.0  # three maxima in the first box
    _, indices = F.max_pool3d(minigrad.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), max_pool3d_ref(x, (2,) * 3, (2,) * 3, (0,) * 3, (1,) * 3, False)[1])
    assert indices.numpy()[0, 0, 0, 0, 0] == 1 * 4 + 1  # (d, h, w) = (0, 1, 1)


@pytest.mark.parametrize("out", [(3, 4, 2), (5, 3, 5), (1, 1, 1), (2, 5, 4)])
def test_adaptive_pools_against_numpy(out):
    x = minigrad.tensor(X)
    np.testing.assert_allclose(F.adaptive_avg_pool3d(x, out).numpy(), adaptive_pool3d_ref(X, out, np.mean),
                               rtol=1e-12)
    values, indices = F.adaptive_max_pool3d(x, out, return_indices=True)
    np.testing.assert_array_equal(values.numpy(), adaptive_pool3d_ref(X, out, np.max))
    flat = X.reshape(*X.shape[:2], -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, indices.numpy().reshape(*X.shape[:2], -1), -1),
                                  values.numpy().reshape(*X.shape[:2], -1))


def test_interpolate_5d_against_numpy():
    x = minigrad.tensor(X)
    np.testing.assert_allclose(F.interpolate(x, size=(7, 4, 9), mode="trilinear").numpy(),
                               trilinear_ref(X, (7, 4, 9)), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=2).numpy(),
                                  X.repeat(2, 2).repeat(2, 3).repeat(2, 4))
    np.testing.assert_allclose(F.interpolate(x, size=(2, 3, 5), mode="area").numpy(),
                               adaptive_pool3d_ref(X, (2, 3, 5), np.mean), rtol=1e-12)
    np.testing.assert_array_equal(nn.Upsample(scale_factor=(1, 2, 1))(x).numpy(), X.repeat(2, 3))


def test_max_unpool3d_inverts_max_pool3d():
    values, indices = F.max_pool3d(minigrad.tensor(X), 2, return_indices=True)
    out = F.max_unpool3d(values, indices, 2, output_size=X.shape[2:]).numpy()
    want = np.zeros_like(X).reshape(*X.shape[:2], -1)
    np.put_along_axis(want, indices.numpy().reshape(*X.shape[:2], -1), values.numpy().reshape(*X.shape[:2], -1), -1)
    np.testing.assert_array_equal(out, want.reshape(X.shape))
    values, indices = nn.MaxPool3d(2, return_indices=True)(minigrad.tensor(X[:, :, :, :4]))
    assert nn.MaxUnpool3d(2)(values, indices).shape == (2, 4, 4, 4, 4)


# ------------------------------------------------------------------- the functional ops against PyTorch
# name -> (fn(F, x, w, wt, b), differentiable inputs among x, w, wt, b by position)
CASES = {
    "conv3d": (lambda f, x, w, wt, b: f.conv3d(x, w, b, (2, 1, 2), (1, 2, 0), (1, 2, 1), 2), (0, 1, 3)),
    "conv3d(same)": (lambda f, x, w, wt, b: f.conv3d(x, w[:4], padding="same", dilation=(2, 1, 1), groups=2), (0, 1)),
    "conv3d(valid, unbatched)": (lambda f, x, w, wt, b: f.conv3d(x[1], w, b, padding="valid", groups=2), (0, 1, 3)),
    "conv_transpose3d": (lambda f, x, w, wt, b: f.conv_transpose3d(x, wt, b, (2, 3, 1), (1, 0, 1), (1, 2, 0), 2),
                         (0, 2, 3)),
    "conv_transpose3d(dilation)": (lambda f, x, w, wt, b: f.conv_transpose3d(x, wt, None, (3, 1, 2), (2, 1, 0),
                                                                             (2, 0, 1), 1, (3, 1, 2)), (0, 2)),
    "conv_transpose3d(k2 s2, unbatched)": (lambda f, x, w, wt, b: f.conv_transpose3d(x[0], wt[..., :2, :2, :2],
                                                                                     stride=2), (0, 2)),
    "max_pool3d": (lambda f, x, w, wt, b: f.max_pool3d(x, (3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 2, 1), True), (0,)),
    "max_pool3d(unbatched)": (lambda f, x, w, wt, b: f.max_pool3d(x[0], 2), (0,)),
    "avg_pool3d": (lambda f, x, w, wt, b: f.avg_pool3d(x, (3, 2, 2), (2, 1, 2), (1, 1, 0), True, False), (0,)),
    "avg_pool3d(divisor_override)": (lambda f, x, w, wt, b: f.avg_pool3d(x, 2, 1, 1, divisor_override=3), (0,)),
    "lp_pool3d": (lambda f, x, w, wt, b: f.lp_pool3d(x, 2, (2, 3, 2), ceil_mode=True), (0,)),
    "adaptive_avg_pool3d": (lambda f, x, w, wt, b: f.adaptive_avg_pool3d(x, (3, None, 2)), (0,)),
    "adaptive_avg_pool3d(unbatched)": (lambda f, x, w, wt, b: f.adaptive_avg_pool3d(x[1], 1), (0,)),
    "adaptive_max_pool3d": (lambda f, x, w, wt, b: f.adaptive_max_pool3d(x, (3, 4, 2)), (0,)),
    "interpolate(trilinear)": (lambda f, x, w, wt, b: f.interpolate(x, scale_factor=(1.5, 2, 0.7), mode="trilinear"),
                               (0,)),
    "interpolate(trilinear, align_corners)": (
        lambda f, x, w, wt, b: f.interpolate(x, size=(4, 9, 3), mode="trilinear", align_corners=True), (0,)),
    "interpolate(nearest-exact)": (lambda f, x, w, wt, b: f.interpolate(x, size=(7, 4, 8), mode="nearest-exact"),
                                   (0,)),
    "interpolate(area)": (lambda f, x, w, wt, b: f.interpolate(x, size=(3, 4, 2), mode="area"), (0,)),
}


def _run(functional, name, make):
    fn, inputs = CASES[name]
    arrays = [make(a) for a in (X, W, WT, B)]
    y = fn(functional, *arrays)
    y.backward(make(np.random.default_rng(1).standard_normal(tuple(y.shape))).detach())
    return {"y": y, **{f"d{i}": arrays[i].grad for i in inputs}}


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's, on an even kernel's uneven padding
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, device):
    want = torch_reference(name, lambda torch: _run(torch.nn.functional, name,
                                                   lambda a: torch.tensor(a, requires_grad=True)))
    got = _run(F, name, lambda a: minigrad.tensor(a, device=device, requires_grad=True))
    for key, value in want.items():
        np.testing.assert_allclose(got[key].detach().cpu().numpy(), value, rtol=1e-10, atol=1e-12, err_msg=key)


def _indices_program(lib):
    f, x = lib.nn.functional, lib.tensor(X)
    return {"max_pool3d": f.max_pool3d(x, (3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 2, 1), True, True)[1],
            "max_pool3d_with_indices": f.max_pool3d_with_indices(x[0], 2)[1],
            "adaptive_max_pool3d": f.adaptive_max_pool3d(x, (3, 4, 2), True)[1],
            "adaptive_max_pool3d_with_indices": f.adaptive_max_pool3d_with_indices(x, 2)[1],
            "module": lib.nn.MaxPool3d(2, return_indices=True)(x)[1],
            "top_level": lib.max_pool3d(x, 2, 1)}


def test_indices_and_top_level_functions_as_torch():
    check("indices", _indices_program)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_by_finite_differences(name):
    fn, inputs = CASES[name]
    # a small input keeps the check fast (two samples where the case takes one unbatched)
    base = [X[:2 if "unbatched" in name else 1, :, :3, :4, :3], W, WT, B]

    def call(*chosen):
        arrays = [minigrad.tensor(a) for a in base]
        for position, t in zip(inputs, chosen, strict=True):
            arrays[position] = t
        return fn(F, *arrays)

    assert gradcheck(call, [minigrad.tensor(base[i], requires_grad=True) for i in inputs])


def _second_order_program(lib):
    """A gradient penalty (create_graph) through each composed op: the weight gradients of the
    penalty on the input gradient."""
    f, rng = lib.nn.functional, np.random.default_rng(5)
    x = lib.tensor(rng.standard_normal((1, 2, 4, 5, 4)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((3, 2, 2, 3, 2)), requires_grad=True)
    wt = lib.tensor(rng.standard_normal((2, 3, 2, 2, 3)), requires_grad=True)
    out = {}
    for name, make in {
        "conv3d": lambda: f.conv3d(x, w, padding=1).tanh(),
        "conv_transpose3d": lambda: f.conv_transpose3d(x, wt, stride=2).tanh(),
        "max_pool3d": lambda: f.max_pool3d(f.conv3d(x, w, padding=1).tanh(), 2, 1),
        "avg_pool3d": lambda: f.avg_pool3d(f.conv3d(x, w, padding=1).tanh(), 2, 1, 1, count_include_pad=False),
    }.items():
        (g,) = lib.autograd.grad(make().pow(2).sum(), x, create_graph=True)
        (gw,) = lib.autograd.grad(g.pow(2).sum(), wt if name == "conv_transpose3d" else w)
        out[name] = gw
    return out


def test_second_order_gradients_as_torch():
    check("second_order", _second_order_program)


# ------------------------------------------------------------------- modules
MODULES = {
    "Conv3d(reflect, groups)": lambda m: m.Conv3d(4, 6, 3, padding=1, padding_mode="reflect", groups=2),
    "Conv3d(same, no bias, dilation)": lambda m: m.Conv3d(4, 3, (2, 3, 2), padding="same", dilation=(2, 1, 1),
                                                          bias=False),
    "Conv3d(circular, stride)": lambda m: m.Conv3d(4, 2, (3, 1, 2), stride=(2, 1, 2), padding=(1, 0, 2),
                                                   padding_mode="circular"),
    "Conv3d(replicate)": lambda m: m.Conv3d(4, 2, 2, padding=(0, 1, 1), padding_mode="replicate"),
    "ConvTranspose3d": lambda m: m.ConvTranspose3d(4, 6, (2, 3, 3), stride=2, padding=1, output_padding=1, groups=2),
    "ConvTranspose3d(dilation, no bias)": lambda m: m.ConvTranspose3d(4, 2, 2, dilation=2, bias=False),
    "MaxPool3d": lambda m: m.MaxPool3d(2),
    "MaxPool3d(args)": lambda m: m.MaxPool3d((3, 2, 2), (2, 1, 2), (1, 1, 0), ceil_mode=True),
    "AvgPool3d": lambda m: m.AvgPool3d(2, count_include_pad=False, padding=1),
    "AvgPool3d(divisor_override)": lambda m: m.AvgPool3d((2, 3, 2), divisor_override=7),
    "LPPool3d": lambda m: m.LPPool3d(3, 2),
    "AdaptiveAvgPool3d": lambda m: m.AdaptiveAvgPool3d((2, None, 3)),
    "AdaptiveMaxPool3d": lambda m: m.AdaptiveMaxPool3d(2),
    "BatchNorm3d": lambda m: m.BatchNorm3d(4),
    "BatchNorm3d(no affine, momentum None)": lambda m: m.BatchNorm3d(4, affine=False, momentum=None),
    "InstanceNorm3d": lambda m: m.InstanceNorm3d(4),
    "InstanceNorm3d(affine, running stats)": lambda m: m.InstanceNorm3d(4, affine=True, track_running_stats=True),
    "Dropout3d": lambda m: m.Dropout3d(0.3),
    "Upsample(trilinear)": lambda m: m.Upsample(scale_factor=2, mode="trilinear"),
    "Upsample(nearest, size)": lambda m: m.Upsample(size=(3, 7, 2)),
    "MaxUnpool3d": lambda m: m.MaxUnpool3d(2, padding=(0, 1, 0)),
}


def _module_program(lib, make, dtype):
    """A layer's repr, state_dict keys and shapes, and, with the same parameters (and in train mode
    for one step, then eval), its output and gradients on batched and unbatched input."""
    layer = make(lib.nn).to(dtype)
    set_params(layer, lib, seed=4)
    out = {"repr": np.array(repr(layer)),
           "state": np.array([f"{k}: {list(v.shape)}" for k, v in layer.state_dict().items()], dtype=str)}
    x = lib.tensor(XM, dtype=dtype, requires_grad=True)
    if isinstance(layer, lib.nn.MaxUnpool3d):
        values, indices = lib.nn.functional.max_pool3d(x, 2, padding=(0, 1, 0), return_indices=True)
        y = layer(values, indices, output_size=(3, 4, 3))
    elif isinstance(layer, lib.nn.Dropout3d):
        y = layer.eval()(x)
    else:
        y = layer(x)
    y.backward(lib.tensor(np.random.default_rng(2).standard_normal(tuple(y.shape)), dtype=dtype))
    out.update(y=y, dx=x.grad, **{f"grad_{name}": p.grad for name, p in layer.named_parameters()})
    if not isinstance(layer, (lib.nn.BatchNorm3d, lib.nn.MaxUnpool3d, lib.nn.Upsample)):
        out["unbatched"] = layer(lib.tensor(XM[1], dtype=dtype))
    out.update({f"state_{k}": v for k, v in layer.state_dict().items()})
    if isinstance(layer, (lib.nn.BatchNorm3d, lib.nn.InstanceNorm3d)):
        out["eval"] = layer.eval()(lib.tensor(XM, dtype=dtype))
    return out


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_as_torch(name):
    check(f"module/{name}", lambda lib: _module_program(lib, MODULES[name], lib.float64))


def test_conv_modules_float32_as_torch():
    for name in ("Conv3d(reflect, groups)", "ConvTranspose3d"):
        check(f"module32/{name}", lambda lib, name=name: _module_program(lib, MODULES[name], lib.float32), rtol=2e-5)


def test_default_initialisation_matches_torchs_bounds():
    """kaiming_uniform_(a=sqrt(5)) weights and U(+-1/sqrt(fan_in)) biases, fan_in = C_in/groups * kD kH kW."""
    minigrad.manual_seed(0)
    for layer, fan_in in ((nn.Conv3d(8, 6, (3, 2, 2), groups=2), 4 * 12), (nn.ConvTranspose3d(4, 6, 3), 6 * 27)):
        bound = 1 / math.sqrt(fan_in)
        weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
        assert 0.9 * bound < np.abs(weight).max() <= bound and np.abs(bias).max() <= bound


def _conv_transpose_output_size_program(lib):
    layer = lib.nn.ConvTranspose3d(4, 3, 3, stride=(2, 2, 3), padding=1).double()
    set_params(layer, lib, seed=6)
    x = lib.tensor(XM)
    return {"default": layer(x), "size": layer(x, output_size=(6, 8, 9)),
            "full_size": layer(x[0], output_size=[3, 5, 7, 8])}


def test_conv_transpose3d_output_size_as_torch():
    check("ConvTranspose3d output_size", _conv_transpose_output_size_program)


def test_dropout3d_zeroes_whole_channels():
    minigrad.manual_seed(0)
    x = minigrad.ones(8, 16, 2, 3, 2)
    y = F.dropout3d(x, 0.5).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0.25 < (per_channel[..., 0] == 0).mean() < 0.75
    unbatched = nn.Dropout3d(0.5)(minigrad.ones(16, 2, 3, 2)).numpy().reshape(16, -1)
    assert np.all((unbatched == 0).all(-1) | (unbatched == 2.0).all(-1))
    assert F.dropout3d(x, 0.5, training=False) is x
    inplace = minigrad.ones(2, 4, 2, 2, 2)
    assert F.dropout3d(inplace, 0.5, inplace=True) is inplace
    with pytest.warns(UserWarning, match="Received a 3-D input"):
        rows = F.dropout3d(minigrad.ones(16, 3, 2), 0.5).numpy().reshape(16, -1)
    assert np.all((rows == 0).all(-1) | (rows == 2.0).all(-1))


# ------------------------------------------------------------------- a small 3-D CNN, trained
def _cnn_program(lib, dtype):
    """Conv3d-BatchNorm3d-ReLU-MaxPool3d-Linear with the same weights, a few SGD steps: the losses,
    then the trained parameters and running statistics."""
    nn_ = lib.nn
    model = nn_.Sequential(nn_.Conv3d(2, 4, 3, padding=1), nn_.BatchNorm3d(4), nn_.ReLU(), nn_.MaxPool3d(2),
                           nn_.Flatten(), nn_.Linear(4 * 2 * 3 * 3, 3)).to(dtype)
    set_params(model, lib, seed=7, scale=0.3)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(8)
    x = lib.tensor(rng.standard_normal((6, 2, 4, 6, 6)), dtype=dtype)
    labels = lib.tensor(rng.integers(0, 3, 6))
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return {"losses": np.array(losses), "eval": model(x), **{k: v for k, v in model.state_dict().items()}}


def test_small_3d_cnn_trains_as_torch():
    check("cnn/float64", lambda lib: _cnn_program(lib, lib.float64))
    check("cnn/float32", lambda lib: _cnn_program(lib, lib.float32), rtol=2e-4)


# ------------------------------------------------------------------- bad input
def _mistakes(lib):
    """Mistakes in calling the 3-D layers: name -> (PyTorch's exception class, the mistake)."""
    f, nn_ = lib.nn.functional, lib.nn
    x, w, wt = lib.zeros(2, 4, 5, 6, 6), lib.zeros(3, 4, 3, 3, 3), lib.zeros(4, 3, 3, 3, 3)
    indices = lib.zeros(2, 4, 5, 6, 6, dtype=lib.long)
    return {
        "conv3d_rank": (RuntimeError, lambda: f.conv3d(lib.zeros(4, 6, 6), w)),
        "conv3d_weight_rank": (RuntimeError, lambda: f.conv3d(x, lib.zeros(3, 4, 3, 3))),
        "conv3d_negative_padding": (RuntimeError, lambda: f.conv3d(x, w, padding=-1)),
        "conv3d_kernel_too_large": (RuntimeError, lambda: f.conv3d(x, lib.zeros(3, 4, 7, 3, 3))),
        "conv3d_channels": (RuntimeError, lambda: f.conv3d(x, lib.zeros(3, 5, 3, 3, 3))),
        "conv3d_groups_not_dividing": (RuntimeError, lambda: f.conv3d(x, lib.zeros(3, 2, 3, 3, 3), groups=2)),
        "conv3d_groups_zero": (RuntimeError, lambda: f.conv3d(x, w, groups=0)),
        "conv3d_stride_zero": (RuntimeError, lambda: f.conv3d(x, w, stride=0)),
        "conv3d_same_strided": (RuntimeError, lambda: f.conv3d(x, w, stride=2, padding="same")),
        "conv3d_stride_pair": (RuntimeError, lambda: f.conv3d(x, w, stride=(1, 2))),
        "conv3d_bias": (RuntimeError, lambda: f.conv3d(x, w, lib.zeros(4))),
        "conv3d_dtypes": (RuntimeError, lambda: f.conv3d(x.double(), w)),
        "Conv3d_groups": (ValueError, lambda: nn_.Conv3d(4, 6, 3, groups=4)),
        "Conv3d_padding_mode": (ValueError, lambda: nn_.Conv3d(4, 6, 3, padding_mode="mirror")),
        "Conv3d_channels": (RuntimeError, lambda: nn_.Conv3d(3, 6, 3)(x)),
        "conv_transpose3d_rank": (RuntimeError, lambda: f.conv_transpose3d(lib.zeros(4, 6, 6), wt)),
        "conv_transpose3d_channels": (RuntimeError, lambda: f.conv_transpose3d(x, lib.zeros(3, 3, 3, 3, 3))),
        "conv_transpose3d_output_padding": (RuntimeError, lambda: f.conv_transpose3d(x, wt, stride=2,
                                                                                     output_padding=2)),
        "conv_transpose3d_negative_padding": (RuntimeError, lambda: f.conv_transpose3d(x, wt, padding=-1)),
        "conv_transpose3d_groups": (RuntimeError, lambda: f.conv_transpose3d(x, wt, groups=3)),
        "ConvTranspose3d_output_size": (ValueError, lambda: nn_.ConvTranspose3d(4, 3, 3, stride=2)(
            x, output_size=(11, 15, 13))),
        "max_pool3d_rank": (RuntimeError, lambda: f.max_pool3d(lib.zeros(4, 6, 6), 2)),
        "max_pool3d_kernel_too_large": (RuntimeError, lambda: f.max_pool3d(x, (6, 2, 2))),
        "max_pool3d_negative_padding": (RuntimeError, lambda: f.max_pool3d(x, 2, padding=-1)),
        "max_pool3d_padding_above_half": (RuntimeError, lambda: f.max_pool3d(x, 2, padding=2)),
        "max_pool3d_stride_zero": (RuntimeError, lambda: f.max_pool3d(x, 2, stride=0)),
        "max_pool3d_kernel_pair": (RuntimeError, lambda: f.max_pool3d(x, (2, 2))),
        "avg_pool3d_rank": (RuntimeError, lambda: f.avg_pool3d(lib.zeros(4, 6, 6), 2)),
        "avg_pool3d_kernel_too_large": (RuntimeError, lambda: f.avg_pool3d(x, (6, 2, 2))),
        "avg_pool3d_divisor_zero": (RuntimeError, lambda: f.avg_pool3d(x, 2, divisor_override=0)),
        "adaptive_avg_pool3d_rank": (RuntimeError, lambda: f.adaptive_avg_pool3d(lib.zeros(4, 6, 6), 2)),
        "adaptive_avg_pool3d_pair": (RuntimeError, lambda: f.adaptive_avg_pool3d(x, (2, 2))),
        "adaptive_max_pool3d_rank": (RuntimeError, lambda: f.adaptive_max_pool3d(lib.zeros(4, 6, 6), 2)),
        "max_unpool3d_index": (RuntimeError, lambda: f.max_unpool3d(x, indices + 10**6, 2)),
        "max_unpool3d_indices_shape": (RuntimeError, lambda: f.max_unpool3d(x, indices[..., :5], 2)),
        "max_unpool3d_output_size": (ValueError, lambda: f.max_unpool3d(x, indices, 2, output_size=(3, 3))),
        "max_unpool3d_rank": (RuntimeError, lambda: f.max_unpool3d(x[0, 0], indices[0, 0], 2)),
        "BatchNorm3d_rank": (ValueError, lambda: nn_.BatchNorm3d(4)(x[0])),
        "BatchNorm3d_channels": (RuntimeError, lambda: nn_.BatchNorm3d(3)(x)),
        "InstanceNorm3d_rank": (ValueError, lambda: nn_.InstanceNorm3d(4)(x[0, 0])),
        "InstanceNorm3d_channels": (ValueError, lambda: nn_.InstanceNorm3d(3, affine=True)(x)),
        "dropout3d_p": (ValueError, lambda: f.dropout3d(x, 1.5)),
        "interpolate_bilinear_5d": (NotImplementedError, lambda: f.interpolate(x, size=(2, 3, 3), mode="bilinear")),
    }


def test_bad_input_raises_torchs_exception_classes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's warnings on the way to some of its errors
        check("mistakes", lambda lib: {"caught": caught_as(_mistakes(lib)), "names": np.array(list(_mistakes(lib)))})


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: F.conv3d(x[0, 0], minigrad.zeros(3, 4, 3, 3, 3)), r"4-D \(C, D, H, W\) or 5-D"),
        (lambda x: F.conv3d(x, minigrad.zeros(3, 4, 3, 3)), "weight must be 5-D"),
        (lambda x: F.conv3d(x, minigrad.zeros(3, 4, 3, 3, 3), padding=-1), r"padding must be >= 0, got \(-1, -1, -1\)"),
        (lambda x: F.conv3d(x, minigrad.zeros(3, 4, 7, 3, 3)), r"padded input \(5 x 6 x 6\) is smaller than the "
                                                               r"dilated kernel \(7 x 3 x 3\)"),
        (lambda x: F.conv3d(x, minigrad.zeros(3, 5, 3, 3, 3)), "expects input .N, 5, D, H, W., but got 4 channels"),
        (lambda x: F.conv3d(x, minigrad.zeros(3, 2, 3, 3, 3), groups=2), "groups=2 must divide"),
        (lambda x: F.conv3d(x, minigrad.zeros(3, 4, 3, 3, 3), stride=(1, 2)), "tuple of three ints"),
        (lambda x: F.conv_transpose3d(x, minigrad.zeros(4, 3, 3, 3, 3), stride=2, output_padding=2), "smaller than"),
        (lambda x: F.max_pool3d(x, (6, 2, 2)), "window does not fit"),
        (lambda x: F.max_pool3d(x, 2, padding=2), "at most half the kernel"),
        (lambda x: F.avg_pool3d(x, 2, divisor_override=0), "must not be 0"),
        (lambda x: F.adaptive_max_pool3d(x, (2, 2)), "tuple of three"),
        (lambda x: nn.Conv3d(4, 6, 3, groups=4), "groups=4"),
        (lambda x: nn.Conv3d(4, 6, 3, stride=2, padding="same"), "strided"),
        (lambda x: nn.ConvTranspose3d(4, 6, 3, padding_mode="reflect"), "padding_mode"),
        (lambda x: nn.ConvTranspose3d(4, 3, 3, stride=2)(x, output_size=(11, 15, 13)), "valid sizes of dimension -2"),
    ],
)
def test_bad_input_messages(call, match):
    with pytest.raises((RuntimeError, ValueError), match=match):
        call(minigrad.zeros(2, 4, 5, 6, 6))
