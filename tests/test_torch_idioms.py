"""The PyTorch idioms ported code relies on (issue 16): Tensor methods and functions, devices,
.data, .numpy(), truth values; each checked against PyTorch when it is installed, and against a
numpy reference (and float64 finite differences for gradients) always."""

import math

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck

try:
    import torch
except ImportError:  # the numpy references below still run
    torch = None

torch_reference = TorchReference(__name__)


def f64(values, requires_grad=True):
    return minigrad.tensor(values, dtype=minigrad.float64, requires_grad=requires_grad)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))


def functional(lib):
    return F if lib is minigrad else torch.nn.functional


def both(fn, *arrays):
    """fn on minigrad and (when present) torch tensors of the arrays: (minigrad result, torch result or None)."""
    mine = fn(minigrad, *(minigrad.tensor(a) for a in arrays))
    theirs = fn(torch, *(torch.tensor(a) for a in arrays)) if torch is not None else None
    return mine, theirs


def assert_same(mine, theirs, reference=None, rtol=1e-6):
    got = mine.detach().numpy() if isinstance(mine, minigrad.Tensor) else np.asarray(mine)
    if theirs is not None:
        want = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)
    if reference is not None:
        np.testing.assert_allclose(got, reference, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("dim", [None, 0, 2, (0, 2)])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std(name, dim):
    mine, theirs = both(lambda lib, x: getattr(x, name)(dim) if dim is not None else getattr(x, name)(), X)
    ref = getattr(np, name)(X, axis=dim, ddof=1)
    assert_same(mine, theirs, ref)
    mine, theirs = both(lambda lib, x: getattr(x, name)(dim, unbiased=False, keepdim=True), X)
    assert_same(mine, theirs, getattr(np, name)(X, axis=dim, ddof=0, keepdims=True))
    assert gradcheck(lambda x: getattr(x, name)(dim), [f64(X[:2, :2, :3])])


@pytest.mark.parametrize("p", [2, 1, 3, math.inf, -math.inf, 0])
def test_norm(p):
    mine, theirs = both(lambda lib, x: x.norm(p) if lib is minigrad else torch.linalg.vector_norm(x, p), X)
    assert_same(mine, theirs, np.linalg.norm(X.reshape(-1), p))
    mine, theirs = both(lambda lib, x: x.norm(p, dim=1) if lib is minigrad else torch.linalg.vector_norm(x, p, 1), X)
    assert_same(mine, theirs, np.linalg.norm(X, p, axis=1))
    if p not in (0,):
        assert gradcheck(lambda x: x.norm(p, dim=1), [f64(X[:2, :3, :2] + 0.1)])


def test_norm_gradient_at_zero_is_zero():
    x = minigrad.zeros(3, dtype=minigrad.float64, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_any_all_with_dims():
    a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    for dim in (None, 0, 1):
        mine, theirs = both(lambda lib, x, d=dim: x.any() if d is None else x.any(d), a)
        assert_same(mine, theirs, np.any(a, axis=dim))
        mine, theirs = both(lambda lib, x, d=dim: x.all() if d is None else x.all(d), a != 0)
        assert_same(mine, theirs, np.all(a != 0, axis=dim))
    assert minigrad.zeros(0).all().item() is True and minigrad.zeros(0).any().item() is False


@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_topk(descending):
    a = np.array([[3.0, 1.0, 2.0, 5.0], [0.5, -1.0, 7.0, 2.0]])
    x = f64(a)
    values, indices = x.sort(dim=1, descending=descending)
    order = np.argsort(-a if descending else a, axis=1)
    np.testing.assert_array_equal(indices.numpy(), order)
    np.testing.assert_array_equal(values.detach().numpy(), np.take_along_axis(a, order, 1))
    largest = not descending
    top = x.topk(2, dim=1, largest=largest)
    ordered = np.sort(a, 1)[:, ::-1] if largest else np.sort(a, 1)
    np.testing.assert_array_equal(top.values.detach().numpy(), ordered[:, :2])
    assert gradcheck(lambda t: t.topk(2, dim=0).values, [f64(a)])
    if torch is not None:
        tv, ti = torch.tensor(a).sort(dim=1, descending=descending)
        np.testing.assert_array_equal(values.detach().numpy(), tv.numpy())
        np.testing.assert_array_equal(indices.numpy(), ti.numpy())
    with pytest.raises(ValueError, match="topk: k"):
        x.topk(5, dim=1)


def gather_reference(x: np.ndarray, dim: int, idx: np.ndarray) -> np.ndarray:
    """out[pos] = x[pos with pos[dim] replaced by idx[pos]], element by element (negative idx from the end)."""
    out = np.empty(idx.shape, x.dtype)
    for pos in np.ndindex(*idx.shape):
        src = list(pos)
        src[dim] = idx[pos]
        out[pos] = x[tuple(src)]
    return out


def test_gather_reads_any_layout_through_one_flat_index():
    """gather (one flat index into the input's elements) on every dim of a 3-D input with an
    index smaller outside dim, a transposed input, a 0-d input (PyTorch: the element itself),
    empty ones, and take_along_dim's negative positions; the gradient accumulates repeats."""
    x = RNG.standard_normal((3, 4, 5))
    for dim in range(3):
        shape = [2, 3, 4]
        shape[dim] = 6
        idx = RNG.integers(0, x.shape[dim], shape)
        got = minigrad.tensor(x).gather(dim, minigrad.tensor(idx)).numpy()
        np.testing.assert_array_equal(got, gather_reference(x, dim, idx))
    xt = x[:, :, 0].T  # (4, 3), not contiguous
    idx = np.array([[2, 0, 1], [1, 1, 0]])
    np.testing.assert_array_equal(minigrad.tensor(x)[:, :, 0].T.gather(0, minigrad.tensor(idx)).numpy(),
                                  gather_reference(xt, 0, idx))
    scalar = minigrad.tensor(2.5).gather(0, minigrad.tensor(0))
    assert scalar.shape == () and scalar.item() == 2.5
    assert minigrad.zeros(3, 0).gather(1, minigrad.zeros(3, 0, dtype=minigrad.int64)).shape == (3, 0)
    negative = RNG.integers(-4, 4, (3, 4, 5))
    np.testing.assert_array_equal(minigrad.take_along_dim(minigrad.tensor(x), minigrad.tensor(negative), 1).numpy(),
                                  gather_reference(x, 1, negative))
    idx = np.array([[[0, 0], [3, 1]], [[2, 2], [0, 3]]])  # repeats along dim 1
    assert gradcheck(lambda t: t.gather(1, minigrad.tensor(idx)), [f64(x[:2, :, :2].copy())])


def test_sort_puts_nan_last_ascending_first_descending():
    x = minigrad.tensor([1.0, float("nan"), 0.0])
    assert x.sort().indices.tolist() == [2, 0, 1]
    assert x.sort(descending=True).indices.tolist()[0] == 1


def test_gather_scatter_masked_fill():
    a = RNG.standard_normal((3, 4))
    idx = np.array([[0, 3], [2, 2], [1, 0]])
    mine, theirs = both(lambda lib, x, i: x.gather(1, i), a, idx)
    assert_same(mine, theirs, np.take_along_axis(a, idx, 1))
    assert gradcheck(lambda x: x.gather(1, minigrad.tensor(idx)), [f64(a)])  # repeated index 2 accumulates

    src = RNG.standard_normal((3, 2))
    idx2 = np.array([[0, 3], [1, 2], [3, 0]])
    mine, theirs = both(lambda lib, x, i, s: x.scatter(1, i, s), a, idx2, src)
    ref = a.copy()
    np.put_along_axis(ref, idx2, src, 1)
    assert_same(mine, theirs, ref)
    assert gradcheck(lambda x, s: x.scatter(1, minigrad.tensor(idx2), s), [f64(a), f64(src)])
    assert_same(minigrad.tensor(a).scatter(0, minigrad.tensor([[2, 0, 1, 0]]), -1.0),
                torch.tensor(a).scatter(0, torch.tensor([[2, 0, 1, 0]]), -1.0) if torch else None)

    mask = a > 0
    mine, theirs = both(lambda lib, x, m: x.masked_fill(m, -9.0), a, mask)
    assert_same(mine, theirs, np.where(mask, -9.0, a))
    with pytest.raises(TypeError, match="int64"):
        minigrad.tensor(a).gather(1, minigrad.tensor(idx.astype(np.float32)))
    with pytest.raises(IndexError, match="out of bounds"):
        minigrad.tensor(a).gather(1, minigrad.tensor([[4]]))


def test_split_chunk_repeat():
    a = np.arange(14.0).reshape(7, 2)
    for args in ((3,), ([2, 5],), (2, 1)):
        mine, theirs = both(lambda lib, x, args=args: x.split(*args), a)
        assert len(mine) == (len(theirs) if theirs is not None else len(mine))
        for m, t in zip(mine, theirs or mine, strict=True):
            assert_same(m, t)
    for chunks in (1, 2, 3, 7, 9):
        mine, theirs = both(lambda lib, x, n=chunks: x.chunk(n), a)
        assert [m.shape[0] for m in mine] == [t.shape[0] for t in (theirs or mine)]
    for sizes in ((2, 3), (2, 1, 2)):
        mine, theirs = both(lambda lib, x, sizes=sizes: x.repeat(*sizes), a[:2])
        assert_same(mine, theirs, np.tile(a[:2], sizes))
    assert gradcheck(lambda x: x.repeat(2, 1, 3), [f64(a[:2])])
    with pytest.raises(ValueError, match="do not sum"):
        minigrad.tensor(a).split([2, 2])


def test_pad_and_one_hot():
    a = RNG.standard_normal((2, 3, 4))
    for widths in ((1, 2), (1, 0, 2, 3), (0, 1, 1, 0, 2, 2), (-1, 2)):
        mine, theirs = both(lambda lib, x, w=widths: functional(lib).pad(x, w, value=0.5), a)
        assert_same(mine, theirs)
    assert gradcheck(lambda x: F.pad(x, (1, 2, 0, 1)), [f64(a)])
    with pytest.raises(ValueError, match="is not one of"):  # the other modes: tests/test_padding.py
        F.pad(minigrad.tensor(a), (1, 1), mode="wrap")
    labels = np.array([[0, 2], [1, 1]])
    mine, theirs = both(lambda lib, t: functional(lib).one_hot(t, 4), labels)
    assert_same(mine, theirs, np.eye(4, dtype=np.int64)[labels])
    assert F.one_hot(minigrad.tensor([0, 3])).shape == (2, 4)
    with pytest.raises(ValueError, match="labels must lie"):
        F.one_hot(minigrad.tensor([0, 5]), 3)


def test_equal_allclose_logical_ops():
    a, b = f64([1.0, 2.0], False), f64([1.0, 2.0 + 1e-9], False)
    assert minigrad.tensor([1, 2]).equal(minigrad.tensor([1, 2])) and not a.equal(b) and a.allclose(b)
    assert not minigrad.tensor([float("nan")]).allclose(minigrad.tensor([float("nan")]))
    assert minigrad.tensor([float("nan")]).allclose(minigrad.tensor([float("nan")]), equal_nan=True)
    m, n = minigrad.tensor([True, False, True]), minigrad.tensor([True, True, False])
    assert (m & n).tolist() == [True, False, False] and (m | n).tolist() == [True, True, True]
    assert (m ^ n).tolist() == [False, True, True] and (~m).tolist() == [False, True, False]
    assert minigrad.tensor([1.5]).int().dtype == minigrad.int32 and minigrad.tensor([2.0, 0.0]).bool().tolist() == [
        True, False]


def test_gelu_matches_pytorch_and_gradchecks():
    a = np.linspace(-4, 4, 9)
    for approximate in ("none", "tanh"):
        mine, theirs = both(lambda lib, x, how=approximate: functional(lib).gelu(x, approximate=how), a)
        assert_same(mine, theirs, rtol=1e-12)
        assert gradcheck(lambda x, how=approximate: F.gelu(x, approximate=how), [f64(a)])


def test_adaptive_avg_pool_and_embedding():
    a = RNG.standard_normal((2, 3, 7, 6))
    for size in (1, (3, 2), (4, 5), (None, 3)):
        mine, theirs = both(lambda lib, x, size=size: functional(lib).adaptive_avg_pool2d(x, size), a)
        assert_same(mine, theirs)
    for size in ((2, 3), 1):  # 1: global pooling, a mean
        assert gradcheck(lambda x, size=size: F.adaptive_avg_pool2d(x, size), [f64(a[:1, :1, :5, :4])])
    weight = RNG.standard_normal((5, 3))
    idx = np.array([[0, 4, 4], [1, 2, 3]])
    mine, theirs = both(lambda lib, i, w: functional(lib).embedding(i, w), idx, weight)
    assert_same(mine, theirs, weight[idx])
    assert gradcheck(lambda w: F.embedding(minigrad.tensor(idx), w), [f64(weight)])
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(minigrad.tensor([5]), minigrad.tensor(weight))


def test_data_is_an_untracked_tensor_sharing_memory():
    p = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    d = p.data
    assert isinstance(d, minigrad.Tensor) and not d.requires_grad
    p.data -= 0.5 * p.grad.data  # the old-style SGD update
    assert p.tolist() == [0.0, 0.0] and p._version == 0
    assert minigrad.max(minigrad.tensor([[1.0, 3.0], [4.0, 2.0]]).data, 1).indices.tolist() == [1, 0]


def test_numpy_refuses_a_tensor_that_requires_grad():
    p = minigrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        p.numpy()
    assert p.detach().numpy().tolist() == [1.0, 1.0] and p.numpy(force=True).tolist() == [1.0, 1.0]
    assert p.tolist() == [1.0, 1.0] and "requires_grad=True" in repr(p)


def test_truth_value_as_pytorch():
    t = minigrad.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t == t)
    assert bool(minigrad.tensor([3.0]) == 3.0) and not bool(minigrad.tensor(0.0))


def test_device_objects():
    dev = minigrad.device("cuda" if minigrad.cuda.is_available() else "cpu")
    t = minigrad.ones(2).to(dev)
    assert t.device == dev and t.device.type == dev.type
    cpu = minigrad.device("cpu")
    assert cpu == "cpu" and cpu.type == "cpu" and cpu.index is None and repr(cpu) == "device(type='cpu')"
    assert minigrad.device("cuda", 0) == "cuda:0" and minigrad.device("cuda:0").index == 0
    assert minigrad.ones(1).device.type == "cpu" and repr(minigrad.ones(1).device) == "device(type='cpu')"
    with pytest.raises(TypeError):
        minigrad.device(3)


def test_module_dict_and_new_layers():
    from minigrad import nn

    blocks = nn.ModuleDict({"conv": nn.Conv2d(1, 2, 3), "act": nn.GELU()})
    blocks["pool"] = nn.AdaptiveAvgPool2d(1)
    assert list(blocks) == ["conv", "act", "pool"] and "act" in blocks and len(blocks) == 3
    assert [name for name, _ in blocks.named_parameters()] == ["conv.weight", "conv.bias"]
    x = minigrad.randn(2, 1, 5, 5)
    out = blocks["pool"](blocks["act"](blocks["conv"](x)))
    assert out.shape == (2, 2, 1, 1)
    drop = nn.Dropout2d(0.5)
    y = drop(minigrad.ones(4, 8, 3, 3))
    per_channel = y.numpy().reshape(4, 8, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))  # whole channels, scaled by 2
    assert drop.eval()(x) is x
    emb = nn.Embedding(10, 3, padding_idx=0)
    assert np.all(emb.weight.detach().numpy()[0] == 0)
    idx = minigrad.tensor([[0, 2], [2, 9]])
    emb(idx).sum().backward()
    grad = emb.weight.grad.numpy()
    assert np.all(grad[0] == 0) and np.all(grad[2] == 2) and np.all(grad[9] == 1)


def test_lambda_and_one_cycle_lr_match_pytorch():
    from minigrad import nn, optim

    def run(lib, make):
        """lr and momentum after each of 12 steps, lib being minigrad or torch."""
        ours = lib is minigrad
        param = nn.Parameter(minigrad.zeros(1)) if ours else lib.nn.Parameter(lib.zeros(1))
        opt = (optim if ours else lib.optim).SGD([param], lr=0.1, momentum=0.9)
        sched = make(optim.lr_scheduler if ours else lib.optim.lr_scheduler, opt)
        lrs, momenta = [], []
        for _ in range(12):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
            momenta.append(opt.param_groups[0]["momentum"])
        return {"lr": lrs, "momentum": momenta}

    makers = {
        "LambdaLR": lambda m, opt: m.LambdaLR(opt, lambda e: 0.9**e),
        "OneCycleLR": lambda m, opt: m.OneCycleLR(opt, max_lr=1.0, total_steps=13),
        "OneCycleLR-linear-three-phase": lambda m, opt: m.OneCycleLR(
            opt, max_lr=0.5, epochs=13, steps_per_epoch=1, anneal_strategy="linear", three_phase=True
        ),
    }
    for name, make in makers.items():
        theirs = torch_reference(f"scheduler/{name}", lambda lib, make=make: run(lib, make))
        mine = run(minigrad, make)
        np.testing.assert_allclose(mine["lr"], theirs["lr"], rtol=1e-12)
        np.testing.assert_allclose(mine["momentum"], theirs["momentum"], rtol=1e-12)


def test_trunc_normal_and_inference_mode():
    from minigrad.nn import init

    minigrad.manual_seed(0)
    w = init.trunc_normal_(minigrad.empty(20000), mean=1.0, std=2.0, a=-1.0, b=2.0)
    values = w.numpy()
    assert values.min() >= -1.0 and values.max() <= 2.0
    # the mean of N(1, 4) truncated to [-1, 2]: mu + sigma (phi(alpha) - phi(beta)) / (Phi(beta) - Phi(alpha))
    alpha, beta = -1.0, 0.5
    phi = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (alpha, beta)]
    big_phi = [0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (alpha, beta)]
    assert abs(values.mean() - (1 + 2 * (phi[0] - phi[1]) / (big_phi[1] - big_phi[0]))) < 0.03
    x = minigrad.ones(2, requires_grad=True)
    with minigrad.inference_mode():
        assert not (x * 2).requires_grad
    with minigrad.inference_mode(False):
        assert (x * 2).requires_grad


def test_clip_grad_and_parameter_vectors():
    from minigrad import nn
    from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

    layer = nn.Linear(3, 2)
    (layer(minigrad.ones(4, 3)) * 10).sum().backward()
    grads = np.concatenate([p.grad.numpy().reshape(-1) for p in layer.parameters()])
    total = clip_grad_norm_(layer.parameters(), max_norm=1.0)
    assert abs(total.item() - np.linalg.norm(grads)) < 1e-4
    clipped = np.concatenate([p.grad.numpy().reshape(-1) for p in layer.parameters()])
    assert abs(np.linalg.norm(clipped) - 1.0) < 1e-4
    assert abs(clip_grad_norm_(layer.parameters(), 5.0, norm_type=math.inf).item() - np.abs(clipped).max()) < 1e-6
    clip_grad_value_(layer.parameters(), 0.1)
    assert all(np.abs(p.grad.numpy()).max() <= 0.1 for p in layer.parameters())
    vec = parameters_to_vector(layer.parameters())
    assert vec.shape == (8,)
    vector_to_parameters(minigrad.arange(8.0), layer.parameters())
    assert layer.weight.detach().numpy().reshape(-1).tolist() == [0, 1, 2, 3, 4, 5]
    layer.weight.grad = minigrad.tensor(np.full((2, 3), np.nan, np.float32))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(layer.parameters(), 1.0, error_if_nonfinite=True)
