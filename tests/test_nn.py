"""minigrad.nn: Module machinery, every layer and loss against torch, init, summary."""

import math
from collections import OrderedDict

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import nn
from minigrad.autograd import gradcheck
from minigrad.nn import init
from minigrad.random import manual_seed
from minigrad.summary import summary

torch_reference = TorchReference(__name__)


def _lenet(m):
    """The same LeNet-5-like architecture from minigrad.nn or torch.nn (m)."""
    return m.Sequential(
        OrderedDict(
            conv1=m.Conv2d(1, 6, 5, padding=2),
            bn1=m.BatchNorm2d(6),
            act1=m.ReLU(),
            pool1=m.MaxPool2d(2),
            conv2=m.Conv2d(6, 16, 5),
            act2=m.Tanh(),
            pool2=m.AvgPool2d(2),
            flat=m.Flatten(),
            fc1=m.Linear(16 * 5 * 5, 120),
            drop=m.Dropout(0.25),
            fc2=m.Linear(120, 84),
            act3=m.Sigmoid(),
            fc3=m.Linear(84, 10),
        )
    )


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, bias=False)
        self.norm = nn.BatchNorm2d(3)
        self.heads = nn.ModuleList([nn.Linear(3, 2), nn.Linear(3, 1)])
        self.scale = nn.Parameter(minigrad.tensor(np.ones(1, np.float32)))
        self.register_buffer("steps", minigrad.tensor(np.zeros((), np.int64)))
        self.register_buffer("scratch", minigrad.tensor(np.zeros(2, np.float32)), persistent=False)


# ---- Module machinery ----


def _structure(model):
    """Names and shapes of a model's parameters, its buffers' names, state_dict keys and repr."""
    return {
        "parameters": np.array([f"{n} {tuple(p.shape)}" for n, p in model.named_parameters()]),
        "buffers": np.array([n for n, _ in model.named_buffers()]),
        "state_dict": np.array(list(model.state_dict())),
        "repr": np.array(repr(model)),
    }


def test_names_shapes_and_state_dict_keys_match_torch():
    theirs = torch_reference("structure/lenet", lambda torch: _structure(_lenet(torch.nn)))
    for name, ours in _structure(_lenet(nn)).items():
        assert ours.tolist() == theirs[name].tolist(), name


def test_repr_of_every_layer_matches_torch():
    makes = (
        lambda m: m.Conv2d(
            4, 6, (3, 2), stride=2, padding=(1, 0), dilation=2, groups=2, bias=False
        ),
        lambda m: m.Linear(3, 2, bias=False),
        lambda m: m.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
        lambda m: m.AvgPool2d(2),
        lambda m: m.LeakyReLU(0.2),
        lambda m: m.ReLU(),
        lambda m: m.Softmax(dim=1),
        lambda m: m.LogSoftmax(dim=-1),
        lambda m: m.BatchNorm1d(5, momentum=None, affine=False),
        lambda m: m.LocalResponseNorm(2),
        lambda m: m.Dropout(0.1),
        lambda m: m.Flatten(0, 2),
        lambda m: m.CrossEntropyLoss(),
        lambda m: m.ModuleList([m.Tanh(), m.Sigmoid()]),
    )
    theirs = torch_reference("repr/layers", lambda torch: {"repr": np.array([repr(make(torch.nn)) for make in makes])})
    assert [repr(make(nn)) for make in makes] == theirs["repr"].tolist()


def test_registration_traversal_and_buffers():
    block = Block()
    names = [n for n, _ in block.named_parameters()]
    assert names == [
        "scale", "conv.weight", "norm.weight", "norm.bias",
        "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias",
    ]  # fmt: skip
    assert [n for n, _ in block.named_buffers()] == [
        "steps", "scratch", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked",
    ]  # fmt: skip
    assert "scratch" not in block.state_dict() and "steps" in block.state_dict()
    assert [n for n, _ in block.named_children()] == ["conv", "norm", "heads"]
    assert [type(m).__name__ for m in block.modules()] == [
        "Block", "Conv2d", "BatchNorm2d", "ModuleList", "Linear", "Linear",
    ]  # fmt: skip
    assert len(list(block.parameters(recurse=False))) == 1
    assert "bias" in block.conv._parameters and block.conv.bias is None

    with pytest.raises(TypeError, match="Parameter or None"):
        block.scale = minigrad.tensor(np.ones(1, np.float32))
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    del block.heads
    assert not any(n.startswith("heads") for n, _ in block.named_parameters())
    with pytest.raises(AttributeError, match="heads"):
        block.heads  # noqa: B018


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_eval_apply_zero_grad():
    model = _lenet(nn)
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert model.drop.training
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Sequential" and seen.count("Linear") == 3
    for p in model.parameters():
        p.grad = minigrad.tensor(np.ones(p.shape, np.float32))
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_shares_data_and_load_copies_in_place():
    a, b = Block(), Block()
    weight = b.conv.weight
    b.load_state_dict(a.state_dict())
    assert b.conv.weight is weight  # same Parameter object: optimizers keep working
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)
    # float64 arrays are cast to the parameter's float32
    b.load_state_dict({k: v.numpy().astype(np.float64 if v.dtype.kind == "f" else np.int64)
                       for k, v in a.state_dict().items()})
    assert b.conv.weight.dtype == np.float32


def test_load_state_dict_strict_errors_name_keys_and_shapes():
    model = Block()
    state = dict(model.state_dict())
    state.pop("conv.weight")
    state["extra.weight"] = minigrad.tensor(np.zeros(2, np.float32))
    with pytest.raises(RuntimeError, match="Block") as info:
        model.load_state_dict(state)
    assert '"conv.weight"' in str(info.value) and '"extra.weight"' in str(info.value)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["conv.weight"] and result.unexpected_keys == ["extra.weight"]

    state = dict(model.state_dict())
    state["heads.0.weight"] = minigrad.tensor(np.zeros((2, 4), np.float32))
    with pytest.raises(
        RuntimeError, match=r"size mismatch for heads\.0\.weight.*\(2, 4\).*\(2, 3\)"
    ):
        model.load_state_dict(state, strict=False)


def test_load_state_dict_rejects_a_float_for_an_integer_buffer():
    model = nn.BatchNorm2d(3)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    state["weight"] = np.full(3, 2, np.int64)  # an integer for a float parameter is cast, as PyTorch
    state["num_batches_tracked"] = np.array(2.5)  # a float for an integer buffer would be truncated
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "weight" not in message
    assert "dtype mismatch for num_batches_tracked: copying a float64 value" in message and "int64 buffer" in message
    for key, value in model.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(value.numpy(), before[key], err_msg=key)


def test_sequential_and_module_list_containers():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1], nn.ReLU)
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    with pytest.raises(IndexError, match="Sequential"):
        seq[3]  # noqa: B018
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.Tanh())
    layers.extend([nn.Sigmoid()])
    layers.insert(0, nn.ReLU())
    assert [type(m).__name__ for m in layers] == ["ReLU", "Linear", "Tanh", "Sigmoid"]
    assert [n for n, _ in layers.named_parameters()] == ["1.weight", "1.bias"]
    with pytest.raises(TypeError, match="not a Module"):
        layers.append(3)


def test_to_dtype_keeps_parameter_objects():
    model = Block()
    weight = model.conv.weight
    model.to(np.float64)
    assert model.conv.weight is weight and weight.dtype == np.float64
    assert model.steps.dtype == np.int64  # integer buffers keep their dtype
    model.float().cpu()
    assert weight.dtype == np.float32 and weight.device == "cpu"


# ---- layers against torch: forward, input gradient, every parameter gradient, buffers ----

LAYER_CASES = [
    ("Linear", lambda m: m.Linear(5, 3), (4, 5)),
    ("Linear-nobias-3d", lambda m: m.Linear(5, 3, bias=False), (2, 4, 5)),
    ("Conv2d", lambda m: m.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    (
        "Conv2d-all",
        lambda m: m.Conv2d(
            4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2, bias=False
        ),
        (2, 4, 9, 8),
    ),  # fmt: skip
    ("Conv2d-1x1", lambda m: m.Conv2d(2, 3, 1, stride=3), (1, 2, 1, 1)),
    ("MaxPool2d", lambda m: m.MaxPool2d(2), (2, 3, 6, 4)),
    ("MaxPool2d-pad", lambda m: m.MaxPool2d(3, stride=2, padding=1, dilation=1), (1, 2, 7, 5)),
    (
        "MaxPool2d-ceil-dil",
        lambda m: m.MaxPool2d(2, stride=2, dilation=2, ceil_mode=True),
        (1, 2, 7, 7),
    ),
    ("AvgPool2d", lambda m: m.AvgPool2d(2), (2, 3, 6, 4)),
    ("AvgPool2d-pad", lambda m: m.AvgPool2d(3, 2, 1, count_include_pad=False), (1, 2, 7, 5)),
    ("AvgPool2d-ceil", lambda m: m.AvgPool2d(2, ceil_mode=True), (1, 2, 5, 5)),
    ("ReLU", lambda m: m.ReLU(), (3, 4)),
    ("LeakyReLU", lambda m: m.LeakyReLU(0.2), (3, 4, 2)),
    ("Sigmoid", lambda m: m.Sigmoid(), (3, 4)),
    ("Tanh", lambda m: m.Tanh(), (3, 4)),
    ("Softmax", lambda m: m.Softmax(dim=1), (3, 5)),
    ("Softmax-mid", lambda m: m.Softmax(dim=1), (2, 4, 3)),
    ("LogSoftmax", lambda m: m.LogSoftmax(dim=-1), (2, 3, 5)),
    ("Flatten", lambda m: m.Flatten(), (2, 3, 2, 2)),
    ("Flatten-range", lambda m: m.Flatten(0, 1), (2, 3, 2)),
    ("BatchNorm1d", lambda m: m.BatchNorm1d(4), (6, 4)),
    ("BatchNorm1d-3d", lambda m: m.BatchNorm1d(4, momentum=None), (5, 4, 3)),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3), (4, 3, 3, 2)),
    ("BatchNorm2d-noaffine", lambda m: m.BatchNorm2d(3, affine=False, momentum=0.3), (2, 3, 2, 2)),
    ("BatchNorm2d-nostats", lambda m: m.BatchNorm2d(3, track_running_stats=False), (2, 3, 2, 2)),
    ("LocalResponseNorm", lambda m: m.LocalResponseNorm(3), (2, 5, 3, 3)),
    ("LocalResponseNorm-args", lambda m: m.LocalResponseNorm(2, 1e-2, 0.5, 2.0), (1, 4, 2, 3)),
    ("Dropout-eval", lambda m: m.Dropout(0.5).eval(), (3, 4)),
    ("Identity", lambda m: m.Identity(), (3, 4)),
]


def _torch_layer(torch, make, shape, dtype, passes):
    """PyTorch's layer from its seeded init: its state_dict, then per pass (inputs from _layer_inputs,
    _output_grad) the output, the input gradient, every parameter gradient and the buffers."""
    theirs = make(torch.nn)
    if dtype == np.float64:
        theirs = theirs.double()
    results = {f"init/{k}": v.clone() for k, v in theirs.state_dict().items()}  # buffers change in place
    for i, x in enumerate(_layer_inputs(shape, dtype, passes)):
        theirs.zero_grad()
        xt = torch.from_numpy(x.copy()).requires_grad_()
        yt = theirs(xt)
        yt.backward(torch.from_numpy(_output_grad(i, tuple(yt.shape), dtype)))
        results |= {f"{i}/y": yt, f"{i}/x.grad": xt.grad}
        results |= {f"{i}/grad/{n}": p.grad for n, p in theirs.named_parameters()}
        results |= {f"{i}/buffer/{n}": b.clone() for n, b in theirs.named_buffers()}
    return results


def _layer_inputs(shape, dtype, passes):
    """Per pass an input from seeded numpy."""
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(passes)]


def _output_grad(i, y_shape, dtype):
    return np.random.default_rng(100 + i).standard_normal(y_shape).astype(dtype)


def _compare_with_torch(key, make, shape, dtype, device="cpu", passes=2):
    ref = torch_reference(key, lambda torch: _torch_layer(torch, make, shape, dtype, passes))
    ours = make(nn)
    if dtype == np.float64:
        ours = ours.double()
    ours.load_state_dict({k[len("init/") :]: v for k, v in ref.items() if k.startswith("init/")})
    ours.to(device)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    for i, x in enumerate(_layer_inputs(shape, dtype, passes)):  # several passes: running stats evolve
        ours.zero_grad()
        xm = minigrad.tensor(x.copy(), requires_grad=True, device=device)
        ym = ours(xm)
        np.testing.assert_allclose(ym.detach().numpy(), ref[f"{i}/y"], **tol)
        ym.backward(minigrad.tensor(_output_grad(i, ym.shape, dtype), device=device))
        np.testing.assert_allclose(xm.grad.numpy(), ref[f"{i}/x.grad"], **tol)
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), ref[f"{i}/grad/{name}"], **tol, err_msg=name)
        for name, b in ours.named_buffers():
            np.testing.assert_allclose(b.numpy(), ref[f"{i}/buffer/{name}"], **tol, err_msg=name)


@pytest.mark.parametrize(("label", "make", "shape"), LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_matches_torch(label, make, shape, dtype, device):
    _compare_with_torch(f"layer/{label}/{np.dtype(dtype).name}", make, shape, dtype, device)


BATCH_NORM_EVAL_CASES = [
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3), (4, 3, 2, 2)),
    ("BatchNorm1d", lambda m: m.BatchNorm1d(2, momentum=None), (5, 2)),
]


def _batch_norm_eval_inputs(shape):
    """Three training batches, then one evaluation batch."""
    rng = np.random.default_rng(1)
    return [rng.standard_normal(shape) * 2 + 1 for _ in range(3)], rng.standard_normal(shape)


def _torch_batch_norm_eval(torch, make, shape):
    theirs = make(torch.nn).double()
    train, x = _batch_norm_eval_inputs(shape)
    for batch in train:
        theirs(torch.from_numpy(batch))
    return {"y": theirs.eval()(torch.from_numpy(x))}


@pytest.mark.parametrize(("label", "make", "shape"), BATCH_NORM_EVAL_CASES, ids=[c[0] for c in BATCH_NORM_EVAL_CASES])
def test_batch_norm_eval_uses_running_stats_like_torch(label, make, shape):
    expected = torch_reference(f"batch_norm_eval/{label}", lambda torch: _torch_batch_norm_eval(torch, make, shape))
    ours = make(nn).double()
    train, x = _batch_norm_eval_inputs(shape)
    for batch in train:
        ours(minigrad.tensor(batch))
    assert ours.num_batches_tracked.item() == 3
    ours.eval()
    np.testing.assert_allclose(ours(minigrad.tensor(x)).detach().numpy(), expected["y"], rtol=1e-10)
    with pytest.raises(ValueError, match="expected"):
        ours(minigrad.tensor(np.zeros((2,) * (3 if len(shape) == 4 else 4))))


def test_dropout_is_inverted_and_random_in_training(device):
    manual_seed(0)
    drop = nn.Dropout(0.3)
    x = minigrad.tensor(np.ones((200, 50), np.float32), requires_grad=True, device=device)
    y = drop(x)
    values = y.detach().numpy()
    kept = values != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(values[kept], 1 / 0.7, rtol=1e-6)
    y.backward(minigrad.tensor(np.ones((200, 50), np.float32), device=device))
    np.testing.assert_allclose(x.grad.numpy(), values, rtol=1e-6)  # gradient through the same mask
    assert not np.array_equal(drop(x).detach().numpy(), values)  # a new mask each call
    drop.eval()
    np.testing.assert_array_equal(drop(x).detach().numpy(), x.detach().numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


GRADCHECK_CASES = [
    (lambda: nn.Linear(3, 2), (2, 3)),
    (lambda: nn.Conv2d(2, 2, 3, padding=1, stride=2, groups=2), (1, 2, 5, 4)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    (lambda: nn.LocalResponseNorm(3, alpha=0.5), (1, 4, 2, 2)),
    (lambda: nn.AvgPool2d(2, padding=1, count_include_pad=False), (1, 1, 3, 3)),
    (
        lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.LogSoftmax(dim=1)),
        (2, 3),
    ),
]


@pytest.mark.parametrize(("make", "shape"), GRADCHECK_CASES, ids=lambda c: getattr(c, "__name__", None))
def test_layer_gradcheck_float64(make, shape, device):
    manual_seed(1)
    layer = make().double().to(device)
    x = minigrad.tensor(np.random.default_rng(2).standard_normal(shape), requires_grad=True, device=device)
    assert gradcheck(lambda inp, *params: layer(inp), [x, *layer.parameters()])


# ---- losses against torch ----

LOSS_CASES = [
    ("CrossEntropyLoss", dict(), "classes"),
    ("CrossEntropyLoss", dict(reduction="sum", label_smoothing=0.2), "classes"),
    ("CrossEntropyLoss", dict(reduction="none", ignore_index=1), "classes"),
    ("CrossEntropyLoss", dict(ignore_index=2, label_smoothing=0.1), "classes"),
    ("NLLLoss", dict(), "log_probs"),
    ("NLLLoss", dict(reduction="none", ignore_index=0), "log_probs"),
    ("NLLLoss", dict(reduction="sum"), "log_probs"),
    ("MSELoss", dict(), "regression"),
    ("MSELoss", dict(reduction="sum"), "regression"),
    ("MSELoss", dict(reduction="none"), "regression"),
    ("BCELoss", dict(), "probabilities"),
    ("BCELoss", dict(reduction="none"), "probabilities"),
    ("BCEWithLogitsLoss", dict(), "binary"),
    ("BCEWithLogitsLoss", dict(reduction="sum"), "binary"),
]


def _loss_inputs(kind, dtype, rng):
    n, c = 6, 4
    if kind in ("classes", "log_probs"):
        x = rng.standard_normal((n, c)) * 2
        if kind == "log_probs":
            x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
        return x.astype(dtype), np.array([0, 1, 2, 3, 1, 2], np.int64)
    if kind == "probabilities":
        return rng.uniform(0.05, 0.95, (n, c)).astype(dtype), rng.uniform(0, 1, (n, c)).astype(dtype)
    if kind == "binary":
        return rng.standard_normal((n, c)).astype(dtype) * 3, (rng.uniform(0, 1, (n, c)) > 0.5).astype(dtype)
    return rng.standard_normal((n, c)).astype(dtype), rng.standard_normal((n, c)).astype(dtype)


def _torch_loss(torch, name, kwargs, x, target, g):
    xt = torch.from_numpy(x.copy()).requires_grad_()
    loss = getattr(torch.nn, name)(**kwargs)(xt, torch.from_numpy(target))
    loss.backward(torch.from_numpy(g))
    return {"loss": loss, "x.grad": xt.grad}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "kwargs", "kind"), LOSS_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in LOSS_CASES])  # fmt: skip
def test_loss_matches_torch(name, kwargs, kind, dtype, device):
    x, target = _loss_inputs(kind, dtype, np.random.default_rng(3))
    xm = minigrad.tensor(x.copy(), requires_grad=True, device=device)
    ours = getattr(nn, name)(**kwargs)(xm, minigrad.tensor(target, device=device))
    g = np.random.default_rng(4).uniform(0.5, 1.5, ours.shape).astype(dtype)
    key = f"loss/{name}-{sorted(kwargs.items())}/{np.dtype(dtype).name}"
    theirs = torch_reference(key, lambda torch: _torch_loss(torch, name, kwargs, x, target, g))
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    assert ours.shape == theirs["loss"].shape
    np.testing.assert_allclose(ours.detach().numpy(), theirs["loss"], **tol)
    ours.backward(minigrad.tensor(g, device=device))
    np.testing.assert_allclose(xm.grad.numpy(), theirs["x.grad"], **tol)


def test_loss_gradcheck_and_bad_reduction():
    x = minigrad.tensor(np.random.default_rng(5).standard_normal((3, 4)), requires_grad=True)
    y = minigrad.tensor(np.array([0, 3, 1], np.int64))
    assert gradcheck(lambda inp: nn.CrossEntropyLoss(label_smoothing=0.1)(inp, y), [x])
    target = minigrad.tensor(np.random.default_rng(6).uniform(0, 1, (3, 4)))
    assert gradcheck(lambda inp: nn.BCEWithLogitsLoss()(inp, target), [x])
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


# ---- init ----


def test_calculate_gain_and_fans_match_torch():
    cases = [("linear",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",), ("leaky_relu", 0.2), ("selu",)]
    cases.append(("conv2d",))
    theirs = torch_reference(
        "calculate_gain", lambda torch: {"gains": np.array([torch.nn.init.calculate_gain(*args) for args in cases])}
    )
    assert [init.calculate_gain(*args) for args in cases] == pytest.approx(theirs["gains"].tolist())
    w = minigrad.tensor(np.zeros((6, 4, 3, 2), np.float32))
    assert init._calculate_fan_in_and_fan_out(w) == (24, 36)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(minigrad.tensor(np.zeros(5, np.float32)))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_default_init_bounds_and_seeding():
    manual_seed(0)
    a = nn.Conv2d(3, 8, 5)
    manual_seed(0)
    b = nn.Conv2d(3, 8, 5)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    bound = 1 / math.sqrt(3 * 5 * 5)  # kaiming_uniform_(a=sqrt(5)) and the bias share it
    for p in (a.weight, a.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound
    lin = nn.Linear(400, 50)
    assert abs(lin.weight.detach().numpy().std() - 1 / math.sqrt(3 * 400)) < 2e-3  # U(-b, b) has std b/sqrt(3)


@pytest.mark.parametrize(
    ("fill", "expected_std"),
    [
        (lambda t: init.xavier_normal_(t, gain=2.0), 2.0 * math.sqrt(2 / (200 + 300))),
        (lambda t: init.xavier_uniform_(t), math.sqrt(2 / (200 + 300))),
        (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 200)),
        (
            lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
            math.sqrt(2 / 300),
        ),
        (lambda t: init.normal_(t, 1.0, 0.5), 0.5),
        (lambda t: init.uniform_(t, -1.0, 1.0), 1 / math.sqrt(3)),
    ],
)
def test_init_distributions(fill, expected_std):
    manual_seed(3)
    t = nn.Parameter(minigrad.tensor(np.zeros((300, 200), np.float32)))
    assert fill(t) is t
    assert abs(t.detach().numpy().std() - expected_std) < 0.03 * expected_std
    init.constant_(t, 0.25)
    assert np.all(t.detach().numpy() == 0.25)
    init.zeros_(t)
    init.ones_(t)
    assert np.all(t.detach().numpy() == 1.0)


# ---- summary ----


def test_summary_table_counts_and_leaves_model_untouched():
    model = _lenet(nn)
    model.conv1.requires_grad_(False)
    lines = []
    info = summary(model, (1, 28, 28), print_fn=lines.append)
    theirs = torch_reference(
        "total_params/lenet", lambda torch: {"total": np.array(sum(p.numel() for p in _lenet(torch.nn).parameters()))}
    )
    assert info.total_params == theirs["total"]
    assert info.non_trainable_params == 6 * 25 + 6
    assert info.trainable_params == info.total_params - info.non_trainable_params
    rows = {row.name: row for row in info.layers}
    assert list(rows) == [n for n, m in model.named_modules() if n and not list(m.children())]
    assert rows["conv1"].output_shape == (1, 6, 28, 28) and rows["conv1"].num_params == 156
    assert rows["pool2"].output_shape == (1, 16, 5, 5) and rows["flat"].output_shape == (1, 400)
    assert rows["fc3"].num_params == 84 * 10 + 10
    text = lines[0]
    assert "conv1 (Conv2d)" in text and "[-1, 6, 28, 28]" in text
    assert f"Total params: {info.total_params:,}" in text
    assert str(info) == text
    assert model.training and model.drop.training  # modes restored
    assert model.bn1.num_batches_tracked.item() == 0  # no statistics recorded
    assert all(not m._forward_hooks for m in model.modules())


def test_linear_with_zero_features_works_as_in_pytorch():
    # issue 13, defect 9: nn.Linear(0, 3) failed with a reshape error
    layer = nn.Linear(0, 3)
    x = minigrad.ones(2, 0, requires_grad=True)
    y = layer(x)
    assert y.shape == (2, 3)
    y.sum().backward()
    assert x.grad.shape == (2, 0) and layer.weight.grad.shape == (3, 0)
    assert nn.Linear(3, 0)(minigrad.ones(2, 3)).shape == (2, 0)
