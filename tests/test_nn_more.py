"""The layers and functions a PyTorch port reaches for beyond the basics: L1 / smooth L1 / Huber /
KL-divergence losses, SiLU, ELU, Mish, LayerNorm, GroupNorm, normalize and cosine similarity.
Forward values and every gradient (inputs, targets, weight and bias) against PyTorch in float64
(live or recorded), float64 finite differences, PyTorch's reprs and state_dict keys, the errors
for bad input, and what the ONNX exporter makes of the new modules."""

import warnings

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

# PyTorch's own kl_div warns that its "mean" will change meaning one day
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")

TOL = dict(rtol=1e-10, atol=1e-12)


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def _probabilities(*shape):
    """Rows (along dim 1) of a distribution, every entry > 0."""

    def make(rng):
        e = np.exp(rng.standard_normal(shape))
        return e / e.sum(axis=1, keepdims=True)

    return make


def _log_probabilities(*shape):
    return lambda rng: np.log(_probabilities(*shape)(rng))


def _positive(*shape):
    return lambda rng: rng.uniform(0.5, 1.5, shape)


# label -> (fn(F, *tensors), makers of its float64 arguments); every argument gets a gradient
FUNCTIONAL_CASES = {
    "l1_loss": (lambda f, x, t: f.l1_loss(x, t), [_normal(3, 4), _normal(3, 4)]),
    "l1_loss/sum": (lambda f, x, t: f.l1_loss(x, t, reduction="sum"), [_normal(2, 3, 2), _normal(2, 3, 2)]),
    "l1_loss/none": (lambda f, x, t: f.l1_loss(x, t, reduction="none"), [_normal(3, 4), _normal(3, 4)]),
    "smooth_l1_loss": (lambda f, x, t: f.smooth_l1_loss(x, t), [_normal(4, 5), _normal(4, 5)]),
    "smooth_l1_loss/beta0.5/sum": (
        lambda f, x, t: f.smooth_l1_loss(x, t, reduction="sum", beta=0.5),
        [_normal(4, 5), _normal(4, 5)],
    ),
    "smooth_l1_loss/beta0/none": (
        lambda f, x, t: f.smooth_l1_loss(x, t, reduction="none", beta=0.0),
        [_normal(3, 4), _normal(3, 4)],
    ),
    "huber_loss": (lambda f, x, t: f.huber_loss(x, t), [_normal(4, 5), _normal(4, 5)]),
    "huber_loss/delta0.5/none": (
        lambda f, x, t: f.huber_loss(x, t, reduction="none", delta=0.5),
        [_normal(4, 5), _normal(4, 5)],
    ),
    "huber_loss/delta2/sum": (
        lambda f, x, t: f.huber_loss(x, t, reduction="sum", delta=2.0),
        [_normal(4, 5), _normal(4, 5)],
    ),
    "kl_div": (lambda f, x, t: f.kl_div(x, t), [_log_probabilities(3, 4), _probabilities(3, 4)]),
    "kl_div/batchmean": (
        lambda f, x, t: f.kl_div(x, t, reduction="batchmean"),
        [_log_probabilities(3, 4, 2), _probabilities(3, 4, 2)],
    ),
    "kl_div/sum": (lambda f, x, t: f.kl_div(x, t, reduction="sum"), [_log_probabilities(3, 4), _probabilities(3, 4)]),
    "kl_div/none": (lambda f, x, t: f.kl_div(x, t, reduction="none"), [_log_probabilities(3, 4), _probabilities(3, 4)]),
    "kl_div/log_target/batchmean": (
        lambda f, x, t: f.kl_div(x, t, reduction="batchmean", log_target=True),
        [_log_probabilities(3, 4), _log_probabilities(3, 4)],
    ),
    "kl_div/log_target/none": (
        lambda f, x, t: f.kl_div(x, t, reduction="none", log_target=True),
        [_log_probabilities(3, 4), _log_probabilities(3, 4)],
    ),
    "silu": (lambda f, x: f.silu(x), [_normal(3, 5)]),
    "elu": (lambda f, x: f.elu(x), [lambda rng: rng.standard_normal((3, 5)) * 3]),
    "elu/alpha0.3": (lambda f, x: f.elu(x, alpha=0.3), [_normal(2, 3, 4)]),
    "mish": (lambda f, x: f.mish(x), [lambda rng: rng.standard_normal((3, 5)) * 3]),
    "layer_norm/list": (lambda f, x: f.layer_norm(x, [5]), [_normal(3, 5)]),
    "layer_norm/affine": (
        lambda f, x, w, b: f.layer_norm(x, (3, 4), w, b),
        [_normal(2, 3, 4), _positive(3, 4), _normal(3, 4)],
    ),
    "layer_norm/weight-eps": (
        lambda f, x, w: f.layer_norm(x, [4], w, eps=1e-3),
        [lambda rng: rng.standard_normal((2, 3, 4)) * 0.1, _positive(4)],
    ),
    "group_norm/affine": (
        lambda f, x, w, b: f.group_norm(x, 2, w, b),
        [_normal(2, 6, 3, 2), _positive(6), _normal(6)],
    ),
    "group_norm/3d-eps": (lambda f, x: f.group_norm(x, 3, eps=1e-2), [_normal(2, 6, 4)]),
    "group_norm/2d-channelwise": (lambda f, x, w: f.group_norm(x, 4, w), [_normal(3, 4, 2), _positive(4)]),
    "normalize": (lambda f, x: f.normalize(x), [_normal(3, 4)]),
    "normalize/p1-last": (lambda f, x: f.normalize(x, p=1.0, dim=-1), [_normal(2, 3, 4)]),
    "normalize/eps": (lambda f, x: f.normalize(x, dim=0, eps=0.5), [lambda rng: rng.standard_normal((3, 4)) * 0.2]),
    "cosine_similarity": (lambda f, a, b: f.cosine_similarity(a, b), [_normal(3, 4), _normal(3, 4)]),
    "cosine_similarity/broadcast": (
        lambda f, a, b: f.cosine_similarity(a, b, dim=-1),
        [_normal(2, 3, 4), _normal(3, 4)],
    ),
    "cosine_similarity/dim0-eps": (
        lambda f, a, b: f.cosine_similarity(a, b, dim=0, eps=1e-3),
        [_normal(5, 2), _normal(5, 2)],
    ),
}


def _arguments(label):
    rng = np.random.default_rng(sum(map(ord, label)))  # a seed per case, stable across runs
    return [make(rng) for make in FUNCTIONAL_CASES[label][1]]


def _output_grad(shape):
    return np.random.default_rng(7).uniform(0.5, 1.5, shape)


def _torch_functional(torch, label):
    fn = FUNCTIONAL_CASES[label][0]
    args = [torch.from_numpy(a.copy()).requires_grad_() for a in _arguments(label)]
    y = fn(torch.nn.functional, *args)
    y.backward(torch.from_numpy(_output_grad(tuple(y.shape))))
    return {"y": y, **{f"grad{i}": a.grad for i, a in enumerate(args)}}


@pytest.mark.parametrize("label", sorted(FUNCTIONAL_CASES))
def test_functional_matches_torch(label, device):
    theirs = torch_reference(f"functional/{label}", lambda torch: _torch_functional(torch, label))
    args = [minigrad.tensor(a, requires_grad=True, device=device) for a in _arguments(label)]
    y = FUNCTIONAL_CASES[label][0](F, *args)
    assert y.shape == theirs["y"].shape and y.dtype == theirs["y"].dtype
    np.testing.assert_allclose(y.detach().numpy(), theirs["y"], **TOL)
    y.backward(minigrad.tensor(_output_grad(y.shape), device=device))
    for i, a in enumerate(args):
        np.testing.assert_allclose(a.grad.numpy(), theirs[f"grad{i}"], **TOL, err_msg=f"gradient {i}")


@pytest.mark.parametrize("label", sorted(FUNCTIONAL_CASES))
def test_functional_gradcheck_float64(label, device):
    args = [minigrad.tensor(a, requires_grad=True, device=device) for a in _arguments(label)]
    assert gradcheck(lambda *ts: FUNCTIONAL_CASES[label][0](F, *ts), args)


def test_kl_div_zero_target_and_float32_elu_match_torch():
    """Zero target entries contribute 0 (PyTorch's xlogy), with finite gradients; ELU of tiny
    negative float32 inputs keeps their digits (exp(x) - 1 would not)."""
    rng = np.random.default_rng(3)
    x = np.log(_probabilities(3, 4)(rng))
    t = _probabilities(3, 4)(rng)
    t[0, 1] = t[2, 3] = 0.0
    tiny = -np.logspace(-8, 1, 12).astype(np.float32)

    def compute(torch):
        xt = torch.from_numpy(x.copy()).requires_grad_()
        loss = torch.nn.functional.kl_div(xt, torch.from_numpy(t), reduction="batchmean")
        loss.backward()
        et = torch.from_numpy(tiny.copy()).requires_grad_()
        elu = torch.nn.functional.elu(et)
        elu.sum().backward()
        return {"kl": loss, "kl.grad": xt.grad, "elu": elu, "elu.grad": et.grad}

    theirs = torch_reference("kl_div_zero_target-elu_float32", compute)
    xm, tm = minigrad.tensor(x, requires_grad=True), minigrad.tensor(t, requires_grad=True)
    loss = F.kl_div(xm, tm, reduction="batchmean")
    loss.backward()
    np.testing.assert_allclose(loss.item(), theirs["kl"], **TOL)
    np.testing.assert_allclose(xm.grad.numpy(), theirs["kl.grad"], **TOL)
    assert np.isfinite(tm.grad.numpy()).all()
    em = minigrad.tensor(tiny, requires_grad=True)
    elu = F.elu(em)
    elu.sum().backward()
    assert elu.dtype == minigrad.float32
    np.testing.assert_allclose(elu.detach().numpy(), theirs["elu"], rtol=1e-6)
    np.testing.assert_allclose(em.grad.numpy(), theirs["elu.grad"], rtol=1e-6)


def test_elu_of_large_inputs_has_finite_gradients():
    x = minigrad.tensor(np.array([-800.0, -1.0, 0.0, 1.0, 800.0]), requires_grad=True)
    y = F.elu(x, alpha=2.0)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), [-2.0, 2 * np.expm1(-1.0), 0.0, 1.0, 800.0], rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 2 * np.exp(-1.0), 2.0, 1.0, 1.0], rtol=1e-15)


@pytest.mark.parametrize("name", ["silu", "elu", "mish"])
def test_inplace_activations_match_torch(name):
    x = np.random.default_rng(4).standard_normal((3, 4)) * 2

    def run(lib, fn):
        xt = lib.tensor(x, requires_grad=True)
        h = xt * 1.5
        out = fn(h, inplace=True)
        assert out is h
        (out * out).sum().backward()
        return h, xt.grad

    theirs = torch_reference(
        f"inplace/{name}",
        lambda torch: dict(zip(["y", "grad"], run(torch, getattr(torch.nn.functional, name)), strict=True)),
    )
    y, grad = run(minigrad, getattr(F, name))
    np.testing.assert_allclose(y.detach().numpy(), theirs["y"], **TOL)
    np.testing.assert_allclose(grad.numpy(), theirs["grad"], **TOL)


# ---- modules: forward, input gradients, weight and bias gradients, state_dict keys, reprs ----

# label -> (make(nn), shapes of the inputs); parameters are set to seeded values before comparing
MODULE_CASES = {
    "L1Loss": (lambda m: m.L1Loss(), [(3, 4), (3, 4)]),
    "L1Loss-sum": (lambda m: m.L1Loss(reduction="sum"), [(3, 4), (3, 4)]),
    "SmoothL1Loss": (lambda m: m.SmoothL1Loss(beta=0.5), [(3, 4), (3, 4)]),
    "HuberLoss": (lambda m: m.HuberLoss(reduction="none", delta=0.8), [(3, 4), (3, 4)]),
    "KLDivLoss": (lambda m: m.KLDivLoss(reduction="batchmean", log_target=True), [(3, 4), (3, 4)]),
    "SiLU": (lambda m: m.SiLU(), [(3, 4)]),
    "ELU": (lambda m: m.ELU(alpha=0.7), [(3, 4)]),
    "Mish": (lambda m: m.Mish(), [(3, 4)]),
    "LayerNorm": (lambda m: m.LayerNorm(4), [(2, 3, 4)]),
    "LayerNorm-2d": (lambda m: m.LayerNorm((3, 4), eps=1e-3), [(2, 3, 4)]),
    "LayerNorm-nobias": (lambda m: m.LayerNorm(4, bias=False), [(3, 4)]),
    "LayerNorm-noaffine": (lambda m: m.LayerNorm([4], elementwise_affine=False), [(3, 4)]),
    "GroupNorm": (lambda m: m.GroupNorm(2, 6), [(2, 6, 3, 3)]),
    "GroupNorm-1group": (lambda m: m.GroupNorm(1, 4, eps=1e-3), [(3, 4, 5)]),
    "GroupNorm-noaffine": (lambda m: m.GroupNorm(3, 6, affine=False), [(2, 6, 2)]),
    "GroupNorm-nobias": (lambda m: m.GroupNorm(3, 6, bias=False), [(2, 6, 2)]),
    "CosineSimilarity": (lambda m: m.CosineSimilarity(dim=-1, eps=1e-6), [(3, 5), (3, 5)]),
}


def _module_inputs(label):
    rng = np.random.default_rng(sum(map(ord, label)))
    return [rng.standard_normal(shape) for shape in MODULE_CASES[label][1]]


def _module_state(label, keys_and_shapes):
    rng = np.random.default_rng(1)
    return {k: rng.uniform(0.5, 1.5, shape) for k, shape in keys_and_shapes}


def _torch_module(torch, label):
    module = MODULE_CASES[label][0](torch.nn).double()
    state = _module_state(label, [(k, tuple(v.shape)) for k, v in module.state_dict().items()])
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    inputs = [torch.from_numpy(x).requires_grad_() for x in _module_inputs(label)]
    y = module(*inputs)
    y.backward(torch.from_numpy(_output_grad(tuple(y.shape))))
    return {
        "y": y,
        "repr": np.array(repr(module)),
        "state_dict": np.array(list(module.state_dict()), dtype=str),
        **{f"state/{k}": v for k, v in state.items()},
        **{f"grad/input{i}": x.grad for i, x in enumerate(inputs)},
        **{f"grad/{n}": p.grad for n, p in module.named_parameters()},
    }


@pytest.mark.parametrize("label", sorted(MODULE_CASES))
def test_module_matches_torch(label, device):
    theirs = torch_reference(f"module/{label}", lambda torch: _torch_module(torch, label))
    ours = MODULE_CASES[label][0](nn).double()
    assert repr(ours) == str(theirs["repr"])
    assert list(ours.state_dict()) == theirs["state_dict"].tolist()
    ours.load_state_dict({k[len("state/") :]: v for k, v in theirs.items() if k.startswith("state/")})
    ours.to(device)
    inputs = [minigrad.tensor(x, requires_grad=True, device=device) for x in _module_inputs(label)]
    y = ours(*inputs)
    np.testing.assert_allclose(y.detach().numpy(), theirs["y"], **TOL)
    y.backward(minigrad.tensor(_output_grad(y.shape), device=device))
    for i, x in enumerate(inputs):
        np.testing.assert_allclose(x.grad.numpy(), theirs[f"grad/input{i}"], **TOL)
    names = sorted(n for n, _ in ours.named_parameters())  # the recording keeps results sorted by name
    assert names == sorted(k[len("grad/") :] for k in theirs if k.startswith("grad/") and "/input" not in k)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs[f"grad/{name}"], **TOL, err_msg=name)


REPR_MAKES = [
    lambda m: m.L1Loss(),
    lambda m: m.SmoothL1Loss(beta=0.5),
    lambda m: m.HuberLoss(delta=2.0),
    lambda m: m.KLDivLoss(reduction="batchmean"),
    lambda m: m.SiLU(),
    lambda m: m.SiLU(inplace=True),
    lambda m: m.ELU(),
    lambda m: m.ELU(0.5, inplace=True),
    lambda m: m.Mish(),
    lambda m: m.LayerNorm(4),
    lambda m: m.LayerNorm((3, 4), eps=1e-3, elementwise_affine=False),
    lambda m: m.LayerNorm(4, bias=False),
    lambda m: m.GroupNorm(2, 4),
    lambda m: m.GroupNorm(2, 4, eps=1e-3, affine=False),
    lambda m: m.CosineSimilarity(dim=0),
    lambda m: m.Sequential(m.Linear(3, 4), m.LayerNorm(4), m.SiLU()),
]


def test_reprs_and_default_parameters_match_torch():
    def compute(torch):
        modules = [make(torch.nn) for make in REPR_MAKES]
        return {
            "repr": np.array([repr(m) for m in modules]),
            "params": np.array([f"{i} {n} {tuple(p.shape)} {p.sum().item()}"
                                for i, m in enumerate(modules) for n, p in m.named_parameters()
                                if not n.startswith("0.")]),  # fmt: skip
        }

    theirs = torch_reference("reprs", compute)
    modules = [make(nn) for make in REPR_MAKES]
    assert [repr(m) for m in modules] == theirs["repr"].tolist()
    ours = [f"{i} {n} {tuple(p.shape)} {p.sum().item()}"
            for i, m in enumerate(modules) for n, p in m.named_parameters() if not n.startswith("0.")]  # fmt: skip
    assert ours == theirs["params"].tolist()


def test_layer_norm_module_options_and_reset():
    norm = nn.LayerNorm(3, dtype=minigrad.float64)
    assert norm.normalized_shape == (3,) and norm.weight.dtype == minigrad.float64
    with minigrad.no_grad():
        norm.weight.fill_(2.0)
        norm.bias.fill_(1.0)
    norm.reset_parameters()
    np.testing.assert_array_equal(norm.weight.detach().numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(norm.bias.detach().numpy(), [0.0, 0.0, 0.0])
    x = minigrad.randn(2, 3)
    np.testing.assert_array_equal(F.layer_norm(x, 3).numpy(), F.layer_norm(x, (3,)).numpy())  # an int, as the module
    group = nn.GroupNorm(2, 4)
    assert group.weight.shape == (4,) and group.bias.shape == (4,) and group.weight.dtype == minigrad.float32
    out = group(minigrad.randn(0, 4, 3))  # an empty batch, as PyTorch
    assert out.shape == (0, 4, 3)


@pytest.mark.parametrize("label", ["LayerNorm", "GroupNorm", "SiLU", "ELU", "Mish"])
def test_module_gradcheck_float64(label):
    module = MODULE_CASES[label][0](nn).double()
    state = _module_state(label, [(k, tuple(v.shape)) for k, v in module.state_dict().items()])
    module.load_state_dict(state)
    (x,) = [minigrad.tensor(a, requires_grad=True) for a in _module_inputs(label)]
    assert gradcheck(lambda inp, *params: module(inp), [x, *module.parameters()])


def test_loss_modules_take_targets_gradient():
    rng = np.random.default_rng(5)
    x, t = (minigrad.tensor(rng.standard_normal((3, 4)), requires_grad=True) for _ in range(2))
    for loss in (nn.L1Loss(), nn.SmoothL1Loss(beta=0.3), nn.HuberLoss(delta=0.3)):
        assert gradcheck(loss, [x, t])
    logp = minigrad.tensor(np.log(_probabilities(3, 4)(rng)), requires_grad=True)
    p = minigrad.tensor(_probabilities(3, 4)(rng), requires_grad=True)
    assert gradcheck(lambda a, b: nn.KLDivLoss(reduction="batchmean")(a, b), [logp, p])


# ---- bad input ----


def test_normalization_errors():
    x = minigrad.randn(2, 3)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\) expects input of shape \(\*, 4\)"):
        F.layer_norm(x, (4,))
    with pytest.raises(ValueError, match=r"normalized_shape \(2, 3, 1\)"):
        F.layer_norm(x, (2, 3, 1))  # more dimensions than the input has
    with pytest.raises(ValueError, match="at least one dimension"):
        F.layer_norm(x, ())
    with pytest.raises(ValueError, match=r"layer_norm: expected weight of shape \(3,\), got \(2,\)"):
        F.layer_norm(x, 3, weight=minigrad.ones(2))
    with pytest.raises(ValueError, match=r"layer_norm: expected bias of shape \(3,\)"):
        F.layer_norm(x, 3, bias=minigrad.ones(3, 1))
    with pytest.raises(TypeError, match="layer_norm: weight dtype float64 differs"):
        F.layer_norm(x, 3, weight=minigrad.ones(3, dtype=minigrad.float64))
    with pytest.raises(RuntimeError, match="layer_norm: weight dtype float64 differs"):  # PyTorch's class
        F.layer_norm(x, 3, weight=minigrad.ones(3, dtype=minigrad.float64))
    with pytest.raises(ValueError, match=r"expects input of shape \(\*, 5\), got \(2, 3\)"):
        nn.LayerNorm(5)(x)
    with pytest.raises(TypeError, match="layer_norm: expected a floating-point tensor"):
        F.layer_norm(minigrad.tensor([[1, 2]]), 2)

    y = minigrad.randn(2, 6, 3)
    with pytest.raises(ValueError, match=r"group_norm: the 6 channels of input shape \(2, 6, 3\) are not divisible by "
                                         r"num_groups=4"):  # fmt: skip
        F.group_norm(y, 4)
    with pytest.raises(ValueError, match="num_groups=0"):
        F.group_norm(y, 0)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        F.group_norm(minigrad.randn(6), 2)
    with pytest.raises(ValueError, match=r"group_norm: expected weight of shape \(6,\), got \(3,\)"):
        F.group_norm(y, 3, weight=minigrad.ones(3))
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(0, 6)
    with pytest.raises(ValueError, match="not divisible by num_groups=2"):
        nn.GroupNorm(2, 4)(minigrad.randn(2, 3, 5))  # the input has other channels than the layer

    with pytest.raises(IndexError, match="normalize: dim 1 is out of range"):
        F.normalize(minigrad.randn(3))  # dim=1 of a vector
    with pytest.raises(ValueError, match=r"cosine_similarity: shapes \(2, 3\) and \(2, 4\) cannot be broadcast"):
        F.cosine_similarity(x, minigrad.randn(2, 4))
    with pytest.raises(IndexError, match="cosine_similarity: dim 2 is out of range"):
        nn.CosineSimilarity(dim=2)(x, x)


POINTWISE_LOSSES = ["l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "mse_loss"]


@pytest.mark.parametrize("name", POINTWISE_LOSSES)
def test_loss_shape_and_reduction_errors(name):
    fn = getattr(F, name)
    x = minigrad.randn(2, 3)
    with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(2, 4\) cannot be broadcast together"):
        fn(x, minigrad.randn(2, 4))
    with pytest.raises(ValueError, match=rf"{name}: reduction must be 'none', 'mean'.* 'sum'.*, got 'avg'"):
        fn(x, x, reduction="avg")
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor"):
        fn(minigrad.tensor([[1, 2, 3], [4, 5, 6]]), x)  # an integer input (integer targets: see test_porting_round4)


@pytest.mark.parametrize("name", ["l1_loss", "smooth_l1_loss", "huber_loss", "mse_loss"])
def test_losses_warn_when_target_broadcasts_as_torch(name):
    x = minigrad.randn(3, 1)
    with pytest.warns(UserWarning, match=r"target size \(3,\) that is different to the input size \(3, 1\)"):
        out = getattr(F, name)(x, minigrad.randn(3), reduction="none")
    assert out.shape == (3, 3)  # broadcast, as PyTorch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(F, name)(x, minigrad.randn(3, 1))
        # kl_div broadcasts without a warning, as PyTorch (whose reduction "mean", the default, warns
        # that "batchmean" is the definition's: see test_porting_round18)
        F.kl_div(x, minigrad.rand(3), reduction="sum")


def test_loss_argument_errors():
    x = minigrad.randn(2, 3)
    with pytest.raises(ValueError, match="kl_div: reduction must be 'none', 'mean', 'sum' or 'batchmean'"):
        F.kl_div(x, x, reduction="batch")
    with pytest.raises(ValueError, match="l1_loss: reduction must be 'none', 'mean' or 'sum', got 'batchmean'"):
        F.l1_loss(x, x, reduction="batchmean")
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must not be negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
        F.huber_loss(x, x, delta=0.0)
    for make in (lambda: nn.L1Loss(reduction="avg"), lambda: nn.SmoothL1Loss(reduction="avg"),
                 lambda: nn.HuberLoss("avg"), lambda: nn.KLDivLoss(reduction="avg")):  # fmt: skip
        with pytest.raises(ValueError, match="reduction must be"):
            make()
    with pytest.raises(ValueError, match="L1Loss: reduction"):
        nn.L1Loss(reduction="batchmean")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    with pytest.raises(ValueError, match="SmoothL1Loss: beta must not be negative"):
        nn.SmoothL1Loss(beta=-0.1)
    with pytest.raises(ValueError, match="HuberLoss: delta must be positive"):
        nn.HuberLoss(delta=-1.0)


def test_batchmean_of_a_scalar_and_an_empty_batch():
    x, t = minigrad.tensor(-1.0, dtype=minigrad.float64), minigrad.tensor(0.5, dtype=minigrad.float64)
    np.testing.assert_allclose(F.kl_div(x, t, reduction="batchmean").item(), 0.5 * (np.log(0.5) + 1.0))
    empty = minigrad.zeros(0, 3)
    assert np.isnan(F.kl_div(empty, empty, reduction="batchmean").item())  # 0 / 0, as PyTorch


# ---- ONNX export ----


def test_onnx_exports_the_composed_norms_and_refuses_the_rest(tmp_path):
    """LayerNorm and GroupNorm (LayerNormalization from opset 17, the formula before it) and SiLU
    export; ELU (where) and Mish (softplus) do not, and export names the op it cannot write."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from minigrad.onnx import UnsupportedOperatorError, export

    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.GroupNorm(2, 4), nn.SiLU(), nn.Flatten(), nn.Linear(36, 6),
                          nn.LayerNorm(6))  # fmt: skip
    with minigrad.no_grad():
        model[5].weight.copy_(minigrad.rand(6) + 0.5)
        model[5].bias.copy_(minigrad.randn(6))
    x = minigrad.randn(3, 2, 5, 5)  # another batch size
    with minigrad.no_grad():
        want = model.eval()(x).numpy()
    for opset in (13, 17):
        path = tmp_path / f"norms{opset}.onnx"
        export(model, minigrad.randn(2, 2, 5, 5), path, opset_version=opset)
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
        ops = {node.op_type for node in onnx.load(str(path)).graph.node}
        assert ("LayerNormalization" in ops) == (opset >= 17)
        (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})
        np.testing.assert_allclose(got, want, atol=2e-5, err_msg=f"opset {opset}")

    for layer, op in ((nn.ELU(), "WhereOp"), (nn.Mish(), "SoftplusOp")):
        with pytest.raises(UnsupportedOperatorError, match=f"op {op} .*has no ONNX translation"):
            export(nn.Sequential(nn.Linear(3, 3), layer), minigrad.randn(2, 3), tmp_path / "m.onnx")


def test_top_level_names():
    for name in ["L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "SiLU", "ELU", "Mish", "LayerNorm", "GroupNorm",
                 "CosineSimilarity"]:  # fmt: skip
        assert name in nn.__all__ and getattr(nn, name)
    for name in ["l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "silu", "elu", "mish", "layer_norm",
                 "group_norm", "normalize", "cosine_similarity"]:  # fmt: skip
        assert name in F.__all__ and getattr(F, name) is getattr(minigrad.functional, name)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: nn.BatchNorm2d(3),
        lambda: nn.BatchNorm2d(3).eval(),
        lambda: nn.GroupNorm(1, 3),
        lambda: nn.InstanceNorm2d(3, affine=True),
        lambda: nn.LayerNorm((3, 4, 4)),
    ],
)
def test_float32_norm_layer_refuses_float64_input_as_pytorch(layer):
    """A float32 normalisation layer given float64 input (a model whose input was made with
    numpy's default dtype): PyTorch's RuntimeError "mixed dtype (CPU): all inputs must share same
    datatype."; a TypeError too, as minigrad raised before."""
    x = minigrad.ones(2, 3, 4, 4, dtype=minigrad.float64)
    with pytest.raises(RuntimeError, match="dtype float32 differs from the input's float64"):
        layer()(x)
    with pytest.raises(TypeError):
        layer()(x)


def test_layer_sizes_are_checked_as_pytorch():
    """A negative size is PyTorch's RuntimeError (ValueError too, as numpy raised before); a float
    size its TypeError."""
    for make in (lambda: nn.Linear(-1, 3), lambda: nn.Conv2d(3, -4, 3), lambda: nn.BatchNorm2d(-2)):
        with pytest.raises(RuntimeError, match="negative dimension"):
            make()
        with pytest.raises(ValueError):
            make()
    with pytest.raises(TypeError, match="size must be a tuple of ints"):
        nn.Linear(4.0, 3)
