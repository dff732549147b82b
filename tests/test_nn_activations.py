"""The activations of minigrad.functional.activation and their modules (Hardtanh, ReLU6, Hardsigmoid,
Hardswish, LogSigmoid, Softsign, Softmin, SELU, CELU, PReLU, Threshold, Tanhshrink, Softshrink,
Hardshrink, GLU, Softmax2d), Unflatten and PixelShuffle/PixelUnshuffle.

Values and gradients against PyTorch (live or recorded) on inputs that sit on every kink and
bound, where PyTorch's one-sided choices decide the gradient; values against numpy references;
float64 finite differences at smooth points; nan passing through; module reprs; bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference, as_array, assert_matches

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

# every kink and bound of the functions below (0, +-0.5, +-1, +-3, 6, the threshold 0.5), and far out
X = np.array([-100.0, -25.0, -7.0, -3.5, -3.0, -2.0, -1.0, -0.5, -0.25, 0.0,
              0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 25.0, 100.0])
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


# name -> (fn(F, x): the call with torch.nn.functional or minigrad.nn.functional, numpy reference)
CASES = {
    "hardtanh": (lambda f, x: f.hardtanh(x), lambda a: np.clip(a, -1, 1)),
    "hardtanh(-2, 3)": (lambda f, x: f.hardtanh(x, -2.0, 3.0), lambda a: np.clip(a, -2, 3)),
    "relu6": (lambda f, x: f.relu6(x), lambda a: np.clip(a, 0, 6)),
    "hardsigmoid": (lambda f, x: f.hardsigmoid(x), lambda a: np.clip(a + 3, 0, 6) / 6),
    "hardswish": (lambda f, x: f.hardswish(x), lambda a: a * np.clip(a + 3, 0, 6) / 6),
    "logsigmoid": (lambda f, x: f.logsigmoid(x), lambda a: -np.logaddexp(0, -a)),
    "softsign": (lambda f, x: f.softsign(x), lambda a: a / (1 + np.abs(a))),
    "softmin": (lambda f, x: f.softmin(x.reshape(4, 5), dim=1),
                lambda a: np.exp(-a.reshape(4, 5) - np.logaddexp.reduce(-a.reshape(4, 5), 1, keepdims=True))),
    "selu": (lambda f, x: f.selu(x),
             lambda a: SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * np.expm1(np.minimum(a, 0)))),
    "celu(0.7)": (lambda f, x: f.celu(x, 0.7), lambda a: np.where(a > 0, a, 0.7 * np.expm1(np.minimum(a, 0) / 0.7))),
    "threshold": (lambda f, x: f.threshold(x, 0.5, -2.0), lambda a: np.where(a > 0.5, a, -2.0)),
    "tanhshrink": (lambda f, x: f.tanhshrink(x), lambda a: a - np.tanh(a)),
    "softshrink": (lambda f, x: f.softshrink(x), lambda a: np.sign(a) * np.maximum(np.abs(a) - 0.5, 0)),
    "softshrink(1)": (lambda f, x: f.softshrink(x, 1.0), lambda a: np.sign(a) * np.maximum(np.abs(a) - 1, 0)),
    "hardshrink": (lambda f, x: f.hardshrink(x), lambda a: np.where(np.abs(a) > 0.5, a, 0)),
    "glu": (lambda f, x: f.glu(x.reshape(2, 10)),
            lambda a: a.reshape(2, 10)[:, :5] * _sigmoid(a.reshape(2, 10)[:, 5:])),
    "glu(dim 0)": (lambda f, x: f.glu(x.reshape(4, 5), 0),
                   lambda a: a.reshape(4, 5)[:2] * _sigmoid(a.reshape(4, 5)[2:])),
    "prelu(one slope)": (lambda f, x: f.prelu(x.reshape(1, 4, 5), x[:1] * 0 + 0.3),
                         lambda a: np.where(a > 0, a, 0.3 * a).reshape(1, 4, 5)),
    "prelu(per channel)": (lambda f, x: f.prelu(x.reshape(1, 4, 5), x[:4] * 0.01),
                           lambda a: np.where(a.reshape(1, 4, 5) > 0, a.reshape(1, 4, 5),
                                              a[:4, None] * 0.01 * a.reshape(1, 4, 5))),
    "pixel_shuffle": (lambda f, x: f.pixel_shuffle(x.reshape(1, 4, 5, 1), 2),
                      lambda a: a.reshape(1, 2, 2, 5, 1).transpose(0, 3, 1, 4, 2).reshape(1, 10, 2)[None]),
    "pixel_unshuffle": (lambda f, x: f.pixel_unshuffle(x.reshape(1, 1, 4, 5)[..., :4], 2),
                        lambda a: a.reshape(4, 5)[:, :4].reshape(2, 2, 2, 2).transpose(1, 3, 0, 2).reshape(1, 4, 2, 2)),
}


def _run(lib, functional, fn, make):
    """Output and the input's gradient of sum(fn(x) * weights), weights 1, 2, ... (distinct)."""
    x = make(X)
    y = fn(functional, x)
    weights = np.arange(1.0, y.numel() + 1).reshape(tuple(y.shape))
    (y * make(weights).detach()).sum().backward()
    return {"y": y, "dx": x.grad}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_values_and_gradients(name, device):
    fn = CASES[name][0]

    def torch_run(torch):
        return _run(torch, torch.nn.functional, fn, lambda a: torch.tensor(a, requires_grad=True))

    want = torch_reference(f"function/{name}", torch_run)
    got = _run(minigrad, F, fn, lambda a: minigrad.tensor(a, device=device, requires_grad=True))
    # PyTorch's own zeros differ in sign between its vectorised and scalar loops for softshrink
    assert_matches(as_array(got["y"]), want["y"], name, zero_signs=not name.startswith("softshrink"))
    # some of PyTorch's float64 backward kernels use float32 constants (hardsigmoid's 1/6, celu's
    # 1/alpha): its gradients are off by up to 1e-7 there; finite differences check ours below
    np.testing.assert_allclose(as_array(got["dx"]), want["dx"], rtol=1e-6, atol=1e-12, err_msg=f"{name} dx")


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_numpy(name, dtype):
    fn, ref = CASES[name]
    got = fn(F, minigrad.tensor(X.astype(dtype)))
    assert got.dtype == dtype
    np.testing.assert_allclose(got.numpy(), ref(X), rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-30)


def test_nan_passes_through():
    nan = minigrad.tensor([np.nan, 1.0])
    for name, (fn, _) in CASES.items():
        if name.startswith(("pixel", "glu", "softmin", "prelu", "threshold")):
            continue  # threshold maps nan to value, as PyTorch; the others are checked by shape above
        assert np.isnan(fn(F, nan).numpy()[0]), name


# nan and the infinities, where PyTorch's backward kernels decide case by case (hardswish passes a
# nan's gradient, hardtanh does not), and the bounds again
EDGES = np.array([np.nan, np.inf, -np.inf, -3.0, 3.0, 0.0, 6.0, -1.0, 1.0])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # hardswish(-inf) is -inf * 0: nan
@pytest.mark.parametrize("name", ["hardtanh", "relu6", "hardsigmoid", "hardswish"])
def test_values_and_gradients_at_nan_and_infinities_match_torch(name):
    fn = CASES[name][0]

    def run(functional, make):
        x = make(EDGES)
        fn(functional, x).sum().backward()
        # PyTorch's gradient at NaN depends on its kernel's path, so on the CPU's vector width
        # (hardswish: 1 on AVX-512, NaN on AVX2, 1 for a lone element): not compared
        return {"y": fn(functional, x.detach()), "dx": x.grad[1:]}

    want = torch_reference(f"edges/{name}", lambda torch: run(torch.nn.functional,
                                                               lambda a: torch.tensor(a, requires_grad=True)))
    got = run(F, lambda a: minigrad.tensor(a, requires_grad=True))
    np.testing.assert_array_equal(as_array(got["y"]), want["y"], err_msg=name)
    np.testing.assert_allclose(as_array(got["dx"]), want["dx"], rtol=1e-6, atol=1e-12, err_msg=f"{name} dx")


# smooth points only (none on a kink or bound above), 20 of them as CASES reshape X
SMOOTH = np.resize([-4.2, -2.7, -1.3, -0.7, -0.1, 0.2, 0.8, 1.7, 2.4, 4.4, 6.5, 7.3], 20)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_by_finite_differences(name):
    fn = CASES[name][0]
    assert gradcheck(lambda t: fn(F, t), [minigrad.tensor(SMOOTH, requires_grad=True)])


def test_prelu_module_learns_its_slopes_as_torch():
    x = np.random.default_rng(0).standard_normal((3, 4, 2, 2))

    def torch_run(torch):
        layer = torch.nn.PReLU(4, init=0.1).double()
        y = layer(torch.tensor(x))
        y.pow(2).sum().backward()
        return {"y": y, "dweight": layer.weight.grad, "repr": np.array(repr(layer))}

    want = torch_reference("module/PReLU(4, init=0.1)", torch_run)
    layer = nn.PReLU(4, init=0.1).double()
    y = layer(minigrad.tensor(x))
    y.pow(2).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), want["y"], rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), want["dweight"], rtol=1e-12)
    assert repr(layer) == str(want["repr"])
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    slopes = minigrad.tensor([0.1, -0.2, 0.3, 0.4], dtype=minigrad.float64, requires_grad=True)
    assert gradcheck(lambda a, w: F.prelu(a, w), [minigrad.tensor(x[:1] + 0.05, requires_grad=True), slopes])


MODULES = [  # (name, make(nn)): constructed alike in both libraries
    ("Hardtanh", lambda m: m.Hardtanh(-2.0, 3.0)),
    ("ReLU6", lambda m: m.ReLU6()),
    ("ReLU6(inplace)", lambda m: m.ReLU6(inplace=True)),
    ("Hardsigmoid", lambda m: m.Hardsigmoid()),
    ("Hardswish", lambda m: m.Hardswish()),
    ("LogSigmoid", lambda m: m.LogSigmoid()),
    ("Softsign", lambda m: m.Softsign()),
    ("Softmin", lambda m: m.Softmin(dim=1)),
    ("SELU", lambda m: m.SELU()),
    ("CELU", lambda m: m.CELU(alpha=0.5)),
    ("Threshold", lambda m: m.Threshold(0.1, 20.0)),
    ("Tanhshrink", lambda m: m.Tanhshrink()),
    ("Softshrink", lambda m: m.Softshrink(0.25)),
    ("Hardshrink", lambda m: m.Hardshrink()),
    ("GLU", lambda m: m.GLU(dim=1)),
    ("Softmax2d", lambda m: m.Softmax2d()),
    ("PReLU", lambda m: m.PReLU()),
    ("Unflatten", lambda m: m.Unflatten(1, (2, 2))),
    ("PixelShuffle", lambda m: m.PixelShuffle(2)),
    ("PixelUnshuffle", lambda m: m.PixelUnshuffle(2)),
]


@pytest.mark.parametrize(("name", "make"), MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, make):
    x = np.random.default_rng(1).standard_normal((2, 4, 6, 6))

    def torch_run(torch):
        layer = make(torch.nn).double()
        return {"y": layer(torch.tensor(x)), "repr": np.array(repr(layer))}

    want = torch_reference(f"module/{name}", torch_run)
    layer = make(nn).double()
    assert repr(layer) == str(want["repr"])
    xm = minigrad.tensor(x)
    np.testing.assert_allclose(layer(xm).detach().numpy(), want["y"], rtol=1e-12, atol=1e-15)
    if "inplace" in name:
        np.testing.assert_allclose(xm.numpy(), want["y"], rtol=1e-12)  # written into x


def test_inplace_functions_write_into_the_input():
    for fn in (F.relu6, F.hardtanh, F.hardsigmoid, F.hardswish, F.selu, F.celu):
        x = minigrad.tensor(X.copy())
        y = fn(x, inplace=True)
        assert y is x
        np.testing.assert_allclose(x.numpy(), fn(minigrad.tensor(X)).numpy())
    x = minigrad.tensor(X.copy())
    F.threshold(x, 0.5, -2.0, inplace=True)
    np.testing.assert_array_equal(x.numpy(), np.where(X > 0.5, X, -2.0))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x: F.glu(x[:5]), ValueError, "must be even"),
        (lambda x: F.glu(x.sum()), ValueError, "0-d"),
        (lambda x: F.hardtanh(x, 2.0, 1.0), ValueError, "cannot be greater"),
        (lambda x: nn.Hardtanh(2.0, 1.0), ValueError, "cannot be greater"),
        (lambda x: F.prelu(x.reshape(2, 10), x[:3]), ValueError, "1 or 10 values"),
        (lambda x: F.softshrink(x, -1.0), ValueError, "lambd must be >= 0"),
        (lambda x: F.celu(x, 0.0), ValueError, "alpha must not be 0"),
        (lambda x: F.pixel_shuffle(x.reshape(1, 5, 4, 1), 2), ValueError, "divisible by upscale_factor"),
        (lambda x: F.pixel_shuffle(x.reshape(4, 5), 2), ValueError, "at least 3 dimensions"),
        (lambda x: F.pixel_shuffle(x.reshape(1, 4, 5, 1), 0), ValueError, "positive int"),
        (lambda x: F.pixel_unshuffle(x.reshape(1, 1, 4, 5), 2), ValueError, "divisible by downscale_factor"),
        (lambda x: nn.Softmax2d()(x), ValueError, "3-D or 4-D"),
        (lambda x: nn.Unflatten(0, (3, 3))(x), ValueError, "shape"),
        (lambda x: nn.Unflatten(3, (2, 10))(x), IndexError, "out of range"),
        (lambda x: nn.Unflatten(0, "ab"), TypeError, "tuple of ints"),
        (lambda x: nn.PReLU(0), ValueError, "num_parameters"),
        (lambda x: F.relu6(minigrad.tensor([True, False])), TypeError, "floating-point"),
        (lambda x: F.gelu(minigrad.tensor([1, 2])), NotImplementedError, "floating-point"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(minigrad.tensor(X))


def test_integer_relu_hardtanh_threshold_as_pytorch():
    """PyTorch clamps integer tensors (bounds and threshold values to their integer parts) and keeps
    their dtype; the float-only activations raise NotImplementedError for them (and relu etc. for
    bool). Expected values are PyTorch 2.13's."""
    x = minigrad.arange(-3, 4)
    np.testing.assert_array_equal(F.relu(x).numpy(), [0, 0, 0, 0, 1, 2, 3])
    np.testing.assert_array_equal(minigrad.relu(x).numpy(), [0, 0, 0, 0, 1, 2, 3])
    np.testing.assert_array_equal(F.relu6(x * 3).numpy(), [0, 0, 0, 0, 3, 6, 6])
    np.testing.assert_array_equal(F.hardtanh(x, -1.5, 1.5).numpy(), [-1, -1, -1, 0, 1, 1, 1])
    np.testing.assert_array_equal(F.threshold(x, 0.5, 9.7).numpy(), [9, 9, 9, 9, 1, 2, 3])
    np.testing.assert_array_equal(F.threshold(x, 1, -2).numpy(), [-2, -2, -2, -2, -2, 2, 3])
    y = minigrad.arange(-3, 4, dtype=minigrad.int32)
    assert F.relu(y, inplace=True) is y
    assert y.dtype == minigrad.int32 and F.threshold(y, 0, 1.5).dtype == minigrad.int32
    np.testing.assert_array_equal(y.numpy(), [0, 0, 0, 0, 1, 2, 3])
    for call in (F.gelu, F.silu, F.elu, F.leaky_relu, F.softplus, lambda t: F.softmax(t, 0)):
        with pytest.raises(NotImplementedError):
            call(x)
    with pytest.raises(RuntimeError):
        F.relu(minigrad.tensor([True, False]))
