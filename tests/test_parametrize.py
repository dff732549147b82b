"""nn.utils.parametrize and nn.utils.parametrizations as PyTorch's: custom parametrizations (one, and
two chained) on Linear with their values, gradients, an SGD step, assignment through right_inverse,
state_dict keys and loads both ways, removal; weight_norm (the parametrizations API) on Linear and
Conv2d, dims 0 / 1 / None; spectral_norm on Linear, Conv2d and ConvTranspose2d in training and eval
mode, after copying PyTorch's random _u and _v; all in float64. Then what needs no PyTorch: the
generated class, is_parametrized, cached(), copies, bad input (the exception types PyTorch raises)."""

import copy
import pickle

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import nn
from minigrad.nn.utils import parametrizations, parametrize

torch_reference = TorchReference(__name__)

RNG = np.random.default_rng(0)
SQUARE_W = np.abs(RNG.standard_normal((3, 3))) + 0.1  # positive: Exp's right_inverse takes its log
LINEAR_W, LINEAR_B = RNG.standard_normal((3, 4)), RNG.standard_normal(3)
CONV_W, CONV_B = RNG.standard_normal((2, 3, 3, 3)), RNG.standard_normal(2)
CONVT_W = RNG.standard_normal((3, 2, 3, 3))  # ConvTranspose2d(3, 2, 3): (in, out, kH, kW)
X_SQUARE, X_LINEAR, X_CONV = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 4)), RNG.standard_normal((2, 3, 5, 5))
_M = np.abs(RNG.standard_normal((3, 3)))
ASSIGNED = _M @ _M.T + 0.1  # symmetric and positive: a value every custom chain can take
LOADED = {"bias": RNG.standard_normal(3), "parametrizations.weight.original": RNG.standard_normal((3, 3))}
TOL = {"rtol": 1e-10, "atol": 1e-10}


def _array(t):
    """A copy of t's values (either library), safe from later in-place updates."""
    return np.array(t.detach().numpy())


def _keys(module):
    return np.array([f"{k} {tuple(v.shape)}" for k, v in module.state_dict().items()])


def _state(module):
    return {f"state {k}": _array(v) for k, v in module.state_dict().items()}


def _load(lib, module, results):
    """Load the `state <key>` entries of results (from _state) into module."""
    module.load_state_dict({k.removeprefix("state "): lib.tensor(v) for k, v in results.items()
                            if k.startswith("state ")})


def _layer(lib, kind, weight=None):
    """A float64 layer of lib with this file's weights (or the given weight)."""
    layer, default_weight, bias = {"square": (lambda: lib.nn.Linear(3, 3), SQUARE_W, LINEAR_B),
                           "linear": (lambda: lib.nn.Linear(4, 3), LINEAR_W, LINEAR_B),
                           "conv": (lambda: lib.nn.Conv2d(3, 2, 3), CONV_W, CONV_B),
                           "convT": (lambda: lib.nn.ConvTranspose2d(3, 2, 3), CONVT_W, CONV_B)}[kind]
    layer = layer().double()
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(default_weight if weight is None else weight))
        layer.bias.copy_(lib.tensor(bias))
    return layer


def _input(kind):
    return {"square": X_SQUARE, "linear": X_LINEAR, "conv": X_CONV, "convT": X_CONV}[kind]


def _custom_parametrizations(lib):
    """This file's parametrizations, as modules of lib, by name."""

    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

        def right_inverse(self, a):
            return a.triu()

    class Exp(lib.nn.Module):
        def forward(self, x):
            return x.exp()

        def right_inverse(self, w):
            return w.log()

    class Double(lib.nn.Module):  # no right_inverse: the original is kept as it is
        def forward(self, x):
            return 2 * x

    return {"symmetric": Symmetric, "exp": Exp, "double": Double}


def _custom_layer(lib, names):
    layer = _layer(lib, "square")
    made = _custom_parametrizations(lib)
    for name in names:
        lib.nn.utils.parametrize.register_parametrization(layer, "weight", made[name]())
    return layer


CUSTOM = {"symmetric": ["symmetric"], "exp": ["exp"], "double": ["double"], "symmetric then exp": ["symmetric", "exp"]}


def _run_custom(lib, names):
    layer = _custom_layer(lib, names)
    original = layer.parametrizations.weight.original
    results = {"keys": _keys(layer), "class": np.array(type(layer).__name__), "weight": _array(layer.weight),
               "original": _array(original)}
    xs = lib.tensor(X_SQUARE, requires_grad=True)
    out = layer(xs)
    (out * out).sum().backward()
    results.update({"out": _array(out), "dx": _array(xs.grad), "d original": _array(original.grad)})
    lib.optim.SGD(layer.parameters(), lr=0.1).step()
    results.update({"after step": _array(layer(lib.tensor(X_SQUARE))), **_state(layer)})
    if "double" not in names:  # Double has no right_inverse
        layer.weight = lib.tensor(ASSIGNED)
        results.update({"assigned weight": _array(layer.weight), "assigned original": _array(original)})
    layer.load_state_dict({k: lib.tensor(v) for k, v in LOADED.items()})
    results["loaded out"] = _array(layer(lib.tensor(X_SQUARE)))
    lib.nn.utils.parametrize.remove_parametrizations(layer, "weight")
    results.update({"removed keys": _keys(layer), "removed class": np.array(type(layer).__name__),
                    "removed weight": _array(layer.weight)})
    return results


@pytest.mark.parametrize("name", sorted(CUSTOM))
def test_custom_parametrization_as_torch(name):
    want = torch_reference(f"custom/{name}", lambda torch: _run_custom(torch, CUSTOM[name]))
    got = _run_custom(minigrad, CUSTOM[name])
    assert got.keys() == want.keys()
    for key in ("keys", "class", "removed keys", "removed class"):
        assert got[key].tolist() == want[key].tolist(), key
    for key in got.keys() - {"keys", "class", "removed keys", "removed class"}:
        np.testing.assert_allclose(got[key], want[key], **TOL, err_msg=key)
    fresh = _custom_layer(minigrad, CUSTOM[name])
    _load(minigrad, fresh, want)  # PyTorch's state_dict after its SGD step
    np.testing.assert_allclose(_array(fresh(minigrad.tensor(X_SQUARE))), want["after step"], **TOL)


def _run_remove(lib, leave_parametrized):
    layer = _custom_layer(lib, ["symmetric"])
    original = layer.parametrizations.weight.original
    lib.nn.utils.parametrize.remove_parametrizations(layer, "weight", leave_parametrized=leave_parametrized)
    return {"keys": _keys(layer), "class": np.array(type(layer).__name__), "weight": _array(layer.weight),
            "same parameter": np.array(layer.weight is original),
            "parametrized": np.array(lib.nn.utils.parametrize.is_parametrized(layer))}


@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_remove_parametrizations_as_torch(leave_parametrized):
    want = torch_reference(f"remove/leave_parametrized={leave_parametrized}",
                           lambda torch: _run_remove(torch, leave_parametrized))
    got = _run_remove(minigrad, leave_parametrized)
    for key in ("keys", "class", "same parameter", "parametrized"):
        assert got[key].tolist() == want[key].tolist(), key
    np.testing.assert_allclose(got["weight"], want["weight"], **TOL)


WEIGHT_NORM = {f"{kind} dim {dim}": (kind, dim) for kind in ("linear", "conv") for dim in (0, 1, None)}


def _run_weight_norm(lib, kind, dim):
    layer = lib.nn.utils.parametrizations.weight_norm(_layer(lib, kind), dim=dim)
    g, v = layer.parametrizations.weight.original0, layer.parametrizations.weight.original1
    xs = lib.tensor(_input(kind), requires_grad=True)
    out = layer(xs)
    (out * out).sum().backward()
    results = {"keys": _keys(layer), "weight": _array(layer.weight), "out": _array(out), "dx": _array(xs.grad),
               "dg": _array(g.grad), "dv": _array(v.grad)}
    lib.optim.SGD(layer.parameters(), lr=0.1).step()
    results.update({"after step": _array(layer(lib.tensor(_input(kind)))), **_state(layer)})
    lib.nn.utils.parametrize.remove_parametrizations(layer, "weight")
    return {**results, "removed keys": _keys(layer), "removed weight": _array(layer.weight)}


@pytest.mark.parametrize("name", sorted(WEIGHT_NORM))
def test_weight_norm_as_torch(name):
    kind, dim = WEIGHT_NORM[name]
    want = torch_reference(f"weight_norm/{name}", lambda torch: _run_weight_norm(torch, kind, dim))
    got = _run_weight_norm(minigrad, kind, dim)
    assert got.keys() == want.keys()
    for key in ("keys", "removed keys"):
        assert got[key].tolist() == want[key].tolist(), key
    for key in got.keys() - {"keys", "removed keys"}:
        np.testing.assert_allclose(got[key], want[key], **TOL, err_msg=key)
    fresh = parametrizations.weight_norm(_layer(minigrad, kind), dim=dim)
    _load(minigrad, fresh, want)  # PyTorch's g and v after its SGD step
    np.testing.assert_allclose(_array(fresh(minigrad.tensor(_input(kind)))), want["after step"], **TOL)


def _slow_power_iteration(shape, dim):
    """A weight whose matrix (dim first, the rest flattened) has its two largest singular values
    close, 1 and 0.97, so that power iteration still moves after the 16 steps of registration."""
    rows = shape[dim]
    left, _, right = np.linalg.svd(RNG.standard_normal((rows, int(np.prod(shape)) // rows)), full_matrices=False)
    singular = np.linspace(1.0, 0.5, rows)
    singular[1] = 0.97
    matrix = (left * singular) @ right
    return np.moveaxis(matrix.reshape(rows, *np.delete(shape, dim)), 0, dim)


SPECTRAL_W = {"linear": _slow_power_iteration((3, 4), 0), "conv": _slow_power_iteration((2, 3, 3, 3), 0),
              "convT": _slow_power_iteration((3, 2, 3, 3), 1)}
# (layer, mode at registration and in the forward calls, n_power_iterations)
SPECTRAL = {"linear train": ("linear", "train", 1), "linear eval": ("linear", "eval", 1),
            "conv train": ("conv", "train", 2), "conv eval": ("conv", "eval", 1),
            "convT train": ("convT", "train", 1)}  # fmt: skip


def _run_spectral(lib, kind, mode, n_power_iterations, initial=None):
    """spectral_norm's results; initial: PyTorch's state right after registration (its random _u, _v),
    loaded before the forward calls. Training mode ends with a forward in eval mode."""
    layer = _layer(lib, kind, SPECTRAL_W[kind]).train(mode == "train")
    lib.nn.utils.parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations)
    results = {"keys": _keys(layer), "dim": np.array(layer.parametrizations.weight[0].dim)}
    results.update({f"initial {k}": v for k, v in _state(layer).items()})
    if initial is not None:
        _load(lib, layer, {k.removeprefix("initial "): v for k, v in initial.items() if k.startswith("initial ")})
    xs = lib.tensor(_input(kind), requires_grad=True)
    outs = [layer(xs) for _ in range(3)]
    sum((out * out).sum() for out in outs).backward()
    results.update({f"out {i}": _array(out) for i, out in enumerate(outs)})
    sn = layer.parametrizations.weight
    results.update({"dx": _array(xs.grad), "d original": _array(sn.original.grad), "u": _array(sn[0]._u),
                    "v": _array(sn[0]._v)})
    layer.eval()
    return {**results, "eval out": _array(layer(xs)), "eval u": _array(sn[0]._u)}


@pytest.mark.parametrize("name", sorted(SPECTRAL))
def test_spectral_norm_as_torch(name):
    want = torch_reference(f"spectral_norm/{name}", lambda torch: _run_spectral(torch, *SPECTRAL[name]))
    got = _run_spectral(minigrad, *SPECTRAL[name], initial=want)
    for key in ("keys", "dim"):
        assert got[key].tolist() == want[key].tolist(), key
    for key in ("dx", "d original", "u", "v", "eval out", "eval u", "out 0", "out 1", "out 2"):
        np.testing.assert_allclose(got[key], want[key], **TOL, err_msg=key)
    if SPECTRAL[name][1] == "eval":  # no power iteration in eval mode
        np.testing.assert_array_equal(got["u"], want["initial state parametrizations.weight.0._u"])


def test_spectral_norm_without_torch_buffers():
    """minigrad's own initialisation: unit _u and _v, sigma the largest singular value after the
    15 + 1 power iterations of registration (a well-separated spectrum converges)."""
    minigrad.manual_seed(0)
    layer = parametrizations.spectral_norm(_layer(minigrad, "linear"))
    sn = layer.parametrizations.weight[0]
    np.testing.assert_allclose([np.linalg.norm(_array(sn._u)), np.linalg.norm(_array(sn._v))], [1.0, 1.0])
    np.testing.assert_allclose(np.linalg.norm(_array(layer.weight), 2), 1.0, rtol=1e-3)


def test_generated_class_and_queries():
    layer = nn.Linear(3, 3)
    assert not parametrize.is_parametrized(layer)
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    parametrize.register_parametrization(layer, "weight", _custom_parametrizations(minigrad)["symmetric"]())
    assert type(layer).__name__ == "ParametrizedLinear" and isinstance(layer, nn.Linear)
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert not parametrize.is_parametrized(layer, "bias")
    assert isinstance(layer.parametrizations.weight, parametrize.ParametrizationList)
    assert isinstance(layer.parametrizations.weight, nn.ModuleList)
    assert type(nn.Linear(3, 3)) is nn.Linear  # the class swap is this module's alone
    assert [n for n, _ in layer.named_parameters()] == ["bias", "parametrizations.weight.original"]
    replica = copy.deepcopy(layer)
    assert type(replica) is type(layer) and replica.parametrizations.weight.original is not layer.weight
    np.testing.assert_array_equal(_array(replica.weight), _array(layer.weight))
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(layer)
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear and not parametrize.is_parametrized(layer)


def test_module_modes_reach_the_parametrizations():
    layer = nn.Linear(3, 3).eval()
    parametrize.register_parametrization(layer, "weight", _custom_parametrizations(minigrad)["double"]())
    assert not layer.parametrizations.weight[0].training
    layer.train()
    assert layer.parametrizations.weight[0].training


def test_cached():
    calls = []

    class Counted(nn.Module):
        def forward(self, x):
            calls.append(1)
            return 2 * x

    layer = parametrize.register_parametrization(nn.Linear(3, 3).double(), "weight", Counted())
    original = layer.parametrizations.weight.original
    assert layer.weight is not layer.weight and len(calls) == 3  # 1 at registration
    x = minigrad.tensor(X_SQUARE)
    with parametrize.cached():
        with parametrize.cached():  # nested: the cache lives until the outermost context ends
            out = layer(x) + layer(x)
            assert layer.weight is layer.weight
        assert layer.weight is layer.weight
    assert len(calls) == 4
    out.sum().backward()
    np.testing.assert_allclose(_array(original.grad), 4 * np.ones((3, 5)) @ X_SQUARE)
    layer.weight  # noqa: B018
    assert len(calls) == 5  # the cache was dropped


def test_assignment():
    made = _custom_parametrizations(minigrad)
    layer = parametrize.register_parametrization(_layer(minigrad, "square"), "weight", made["exp"]())
    original = layer.parametrizations.weight.original
    layer.weight = minigrad.tensor(ASSIGNED)
    assert layer.parametrizations.weight.original is original  # updated in place
    np.testing.assert_allclose(_array(original), np.log(ASSIGNED), **TOL)
    with pytest.raises(KeyError, match="already exists"):  # as PyTorch: a Parameter cannot replace the property
        layer.weight = nn.Parameter(minigrad.tensor(ASSIGNED))
    parametrize.register_parametrization(layer, "weight", made["double"]())
    with pytest.raises(RuntimeError, match="Double does not implement right_inverse"):
        layer.weight = minigrad.tensor(ASSIGNED)


def test_weight_norm_remove_keeps_the_parametrized_value():
    layer = parametrizations.weight_norm(_layer(minigrad, "linear"))
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    parametrize.remove_parametrizations(layer, "weight")
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.requires_grad and layer.weight.is_leaf
    np.testing.assert_allclose(_array(layer.weight), LINEAR_W, **TOL)


def test_bad_input():
    made = _custom_parametrizations(minigrad)
    layer = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element with name "
                                         "'kernel'"):
        parametrize.register_parametrization(layer, "kernel", made["double"]())
    with pytest.raises(ValueError, match="with name 'in_features'"):  # an attribute, not a tensor
        parametrize.register_parametrization(layer, "in_features", made["double"]())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize.remove_parametrizations(layer, "weight")
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'kernel'"):
        parametrizations.spectral_norm(layer, "kernel")
    with pytest.raises(ValueError, match="with name 'kernel'"):
        parametrizations.weight_norm(layer, "kernel")
    with pytest.raises(ValueError, match="n_power_iterations to be positive"):
        parametrizations.spectral_norm(layer, n_power_iterations=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        parametrizations.spectral_norm(layer, dim=2)
    no_bias = nn.Linear(3, 3, bias=False)
    with pytest.raises(ValueError, match="registered as None"):
        parametrize.register_parametrization(no_bias, "bias", made["double"]())

    class Transpose(nn.Module):
        def forward(self, x):
            return x.T

    wide = nn.Linear(4, 3)
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(wide, "weight", Transpose())
    assert type(wide) is nn.Linear and "weight" in wide._parameters  # left as it was
    parametrize.register_parametrization(wide, "weight", Transpose(), unsafe=True)
    assert wide.weight.shape == (4, 3)
    parametrize.register_parametrization(layer, "weight", made["double"]())
    with pytest.raises(ValueError, match="may not change the shape"):  # checked when chaining too
        parametrize.register_parametrization(layer, "weight", nn.Flatten(0))
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        parametrize.remove_parametrizations(layer, "bias")
