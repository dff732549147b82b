"""nn pieces that ported PyTorch course code uses: ParameterList/ParameterDict, unfold/fold (nn.Unfold,
nn.Fold), adaptive_max_pool2d (nn.AdaptiveMaxPool2d) and max_unpool2d (nn.MaxUnpool2d). Values,
indices and gradients are checked against PyTorch when it is installed, and against numpy
references and float64 finite differences always."""

from collections import OrderedDict

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck

try:
    import torch
except ImportError:  # the numpy references and gradchecks below still run
    torch = None

RNG = np.random.default_rng(0)


def f64(values, requires_grad=True):
    return minigrad.tensor(values, dtype=minigrad.float64, requires_grad=requires_grad)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def assert_close(mine, theirs, rtol=1e-6, atol=1e-7):
    got = mine.detach().numpy() if isinstance(mine, minigrad.Tensor) else np.asarray(mine)
    want = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def with_grad(fn, x, weights):
    """fn(x) and the gradient of sum(fn(x) * weights) for x, in minigrad."""
    t = minigrad.tensor(x, requires_grad=True)
    out = fn(t)
    (out * minigrad.tensor(weights)).sum().backward()
    return out, t.grad


def torch_with_grad(fn, x, weights):
    """The same in PyTorch."""
    t = torch.tensor(x, requires_grad=True)
    out = fn(t)
    (out * torch.tensor(weights)).sum().backward()
    return out, t.grad


# --- numpy references --------------------------------------------------------------------------


def unfold_ref(x, kernel_size, dilation, padding, stride):
    """im2col by loops: (N, C, H, W) -> (N, C * kh * kw, L)."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = map(pair, (kernel_size, dilation, padding, stride))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, hp, wp = xp.shape
    oh, ow = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c, kh, kw, oh, ow), x.dtype)
    for i in range(kh):
        for j in range(kw):
            for a in range(oh):
                for b in range(ow):
                    out[:, :, i, j, a, b] = xp[:, :, a * sh + i * dh, b * sw + j * dw]
    return out.reshape(n, c * kh * kw, oh * ow)


def adaptive_max_ref(x, out_h, out_w):
    """Values and flat indices of PyTorch's adaptive windows, the first maximum in row-major order."""
    n, c, h, w = x.shape
    values = np.zeros((n, c, out_h, out_w), x.dtype)
    indices = np.zeros((n, c, out_h, out_w), np.int64)
    for i in range(out_h):
        r0, r1 = i * h // out_h, -(-(i + 1) * h // out_h)
        for j in range(out_w):
            c0, c1 = j * w // out_w, -(-(j + 1) * w // out_w)
            window = x[:, :, r0:r1, c0:c1].reshape(n, c, -1)
            k = window.argmax(-1)
            values[:, :, i, j] = window.max(-1)
            indices[:, :, i, j] = (r0 + k // (c1 - c0)) * w + c0 + k % (c1 - c0)
    return values, indices


# --- unfold and fold ---------------------------------------------------------------------------

# (input shape, kernel_size, dilation, padding, stride): odd sizes, padding, stride, dilation, unbatched
GEOMETRIES = [
    ((2, 3, 5, 7), 3, 1, 0, 1),
    ((1, 2, 6, 5), (2, 3), (2, 1), (1, 2), (2, 3)),
    ((3, 4, 4), 2, 1, 1, 2),
    ((2, 1, 9, 8), (3, 1), 2, (0, 1), (3, 2)),
    ((1, 2, 3, 3), 3, 1, 0, 1),
]


@pytest.mark.parametrize("shape, kernel, dilation, padding, stride", GEOMETRIES)
def test_unfold_matches_reference_and_torch(shape, kernel, dilation, padding, stride):
    x = RNG.standard_normal(shape).astype(np.float32)
    batched = x if x.ndim == 4 else x[None]
    ref = unfold_ref(batched, kernel, dilation, padding, stride)
    ref = ref if x.ndim == 4 else ref[0]
    weights = RNG.standard_normal(ref.shape).astype(np.float32)
    out, grad = with_grad(lambda t: F.unfold(t, kernel, dilation, padding, stride), x, weights)
    assert out.dtype == minigrad.float32
    np.testing.assert_array_equal(out.detach().numpy(), ref)  # copies: exact
    layer = nn.Unfold(kernel, dilation=dilation, padding=padding, stride=stride)
    np.testing.assert_array_equal(layer(minigrad.tensor(x)).numpy(), ref)
    if torch is not None:
        theirs, their_grad = torch_with_grad(
            lambda t: torch.nn.functional.unfold(t, kernel, dilation, padding, stride), x, weights
        )
        assert_close(out, theirs)
        assert_close(grad, their_grad)
        assert repr(layer) == repr(torch.nn.Unfold(kernel, dilation=dilation, padding=padding, stride=stride))


@pytest.mark.parametrize("shape, kernel, dilation, padding, stride", GEOMETRIES)
def test_fold_is_the_adjoint_of_unfold_and_matches_torch(shape, kernel, dilation, padding, stride):
    x = RNG.standard_normal(shape)
    cols_shape = F.unfold(minigrad.tensor(x), kernel, dilation, padding, stride).shape
    cols = RNG.standard_normal(cols_shape).astype(np.float32)
    size = shape[-2:]
    weights = RNG.standard_normal(shape).astype(np.float32)
    out, grad = with_grad(lambda t: F.fold(t, size, kernel, dilation, padding, stride), cols, weights)
    assert out.shape == shape
    # <fold(cols), x> == <cols, unfold(x)>: col2im is im2col's transpose (overlaps add)
    lhs = float((out.detach().numpy().astype(np.float64) * x).sum())
    unfolded = F.unfold(minigrad.tensor(x), kernel, dilation, padding, stride).numpy()
    rhs = float((cols.astype(np.float64) * unfolded).sum())
    assert lhs == pytest.approx(rhs, rel=1e-5, abs=1e-5)
    layer = nn.Fold(size, kernel, dilation=dilation, padding=padding, stride=stride)
    np.testing.assert_array_equal(layer(minigrad.tensor(cols)).numpy(), out.detach().numpy())
    if torch is not None:
        theirs, their_grad = torch_with_grad(
            lambda t: torch.nn.functional.fold(t, size, kernel, dilation, padding, stride), cols, weights
        )
        assert_close(out, theirs, atol=1e-6)
        assert_close(grad, their_grad)
        assert repr(layer) == repr(torch.nn.Fold(size, kernel, dilation=dilation, padding=padding, stride=stride))


def test_fold_counts_overlaps_and_inverts_non_overlapping_unfold():
    ones = minigrad.ones(1, 1, 4, 5)
    counts = F.fold(F.unfold(ones, 2), (4, 5), 2).numpy()[0, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 2, 2, 1], [2, 4, 4, 4, 2], [2, 4, 4, 4, 2], [1, 2, 2, 2, 1]])
    x = minigrad.tensor(RNG.standard_normal((2, 3, 6, 4)).astype(np.float32))
    np.testing.assert_array_equal(F.fold(F.unfold(x, 2, stride=2), (6, 4), 2, stride=2).numpy(), x.numpy())


def test_unfold_copies_infinities_without_nan():
    x = minigrad.tensor([[[[1.0, float("inf")], [-float("inf"), 3.0]]]])
    out = F.unfold(x, 2, padding=1).numpy()
    assert not np.isnan(out).any()
    assert (out == np.inf).sum() == 4 and (out == -np.inf).sum() == 4
    np.testing.assert_array_equal(out, unfold_ref(x.numpy(), 2, 1, 1, 1))


def test_unfold_fold_gradcheck():
    x = f64(RNG.standard_normal((2, 2, 5, 4)))
    assert gradcheck(lambda t: F.unfold(t, (2, 3), dilation=(2, 1), padding=1, stride=(2, 1)), [x])
    assert gradcheck(lambda t: F.unfold(t, 2), [f64(RNG.standard_normal((2, 3, 3)))])  # unbatched
    cols = f64(RNG.standard_normal((2, 2 * 6, 3 * 4)))
    assert gradcheck(lambda t: F.fold(t, (5, 4), (2, 3), dilation=(2, 1), padding=1, stride=(2, 1)), [cols])
    assert gradcheck(lambda t: F.fold(t, (3, 4), 2), [f64(RNG.standard_normal((4, 6)))])  # unbatched


def test_empty_batch_and_unbatched_shapes():
    assert F.unfold(minigrad.zeros(0, 3, 5, 5), 2).shape == (0, 12, 16)
    assert F.fold(minigrad.zeros(0, 12, 16), 5, 2).shape == (0, 3, 5, 5)
    assert F.fold(minigrad.zeros(12, 16), 5, 2).shape == (3, 5, 5)


def test_unfold_fold_bad_input_raises():
    x = minigrad.zeros(2, 3, 5, 5)
    with pytest.raises(RuntimeError, match="unfold: expected a 3-D or 4-D input"):
        F.unfold(minigrad.zeros(5, 5), 2)
    with pytest.raises(RuntimeError, match="non-empty"):
        F.unfold(minigrad.zeros(2, 0, 5, 5), 2)
    with pytest.raises(RuntimeError, match="must be positive"):
        F.unfold(x, 0)
    with pytest.raises(RuntimeError, match="must be positive"):
        F.unfold(x, 2, stride=0)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.unfold(x, 2, padding=-1)
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        F.unfold(x, (2, 2, 2))
    with pytest.raises(RuntimeError, match="at least one"):
        F.unfold(x, 6)
    with pytest.raises(TypeError, match="floating-point"):
        F.unfold(minigrad.zeros(2, 3, 5, 5, dtype=minigrad.int64), 2)
    cols = F.unfold(x, 2)
    with pytest.raises(RuntimeError, match="fold: expected a 2-D or 3-D input"):
        F.fold(x, 5, 2)
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(cols[:, :5], 5, 2)
    with pytest.raises(RuntimeError, match="sliding blocks"):
        F.fold(cols, (6, 5), 2)
    with pytest.raises(ValueError, match="output_size must be an int or a pair"):
        F.fold(cols, (5, 5, 5), 2)


# --- adaptive_max_pool2d -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (3, 6, 4), (1, 2, 8, 8)])
@pytest.mark.parametrize("output_size", [1, 2, 3, (None, 2), (3, None), (4, 5), (2, 7)])
def test_adaptive_max_pool2d_matches_reference_and_torch(shape, output_size):
    # few distinct values: windows with ties, where the gradient must go to the first maximum only
    x = RNG.integers(0, 4, shape).astype(np.float32)
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size
    out_h, out_w = out_h or shape[-2], out_w or shape[-1]
    batched = x if x.ndim == 4 else x[None]
    ref_values, ref_indices = adaptive_max_ref(batched, out_h, out_w)
    if x.ndim == 3:
        ref_values, ref_indices = ref_values[0], ref_indices[0]
    weights = RNG.standard_normal(ref_values.shape).astype(np.float32)
    out, grad = with_grad(lambda t: F.adaptive_max_pool2d(t, output_size), x, weights)
    values, indices = F.adaptive_max_pool2d(minigrad.tensor(x), output_size, return_indices=True)
    np.testing.assert_array_equal(out.detach().numpy(), ref_values)
    np.testing.assert_array_equal(values.numpy(), ref_values)
    assert indices.dtype == minigrad.int64
    np.testing.assert_array_equal(indices.numpy(), ref_indices)
    # the gradient lands on the returned indices, adding up where windows overlap
    planes = ref_indices.reshape(-1, out_h * out_w)
    want = np.zeros((planes.shape[0], shape[-2] * shape[-1]), np.float32)
    np.add.at(want, (np.arange(planes.shape[0])[:, None], planes), weights.reshape(planes.shape))
    np.testing.assert_allclose(grad.numpy(), want.reshape(shape), rtol=1e-6)
    if torch is not None:
        theirs, their_grad = torch_with_grad(lambda t: torch.nn.functional.adaptive_max_pool2d(t, output_size), x,
                                             weights)
        _, their_indices = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), output_size, True)
        assert_close(out, theirs)
        assert_close(grad, their_grad)
        np.testing.assert_array_equal(indices.numpy(), their_indices.numpy())


def test_adaptive_max_pool2d_gradcheck_module_and_empty_batch():
    x = f64(RNG.standard_normal((2, 2, 5, 7)))
    assert gradcheck(lambda t: F.adaptive_max_pool2d(t, (3, 4)), [x])  # uneven windows
    assert gradcheck(lambda t: F.adaptive_max_pool2d(t, (None, 2)), [f64(RNG.standard_normal((2, 4, 6)))])
    layer = nn.AdaptiveMaxPool2d((None, 3), return_indices=True)
    values, indices = layer(minigrad.tensor(RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)))
    assert values.shape == indices.shape == (2, 3, 4, 3)
    assert F.adaptive_max_pool2d(minigrad.zeros(0, 3, 5, 7), 2).shape == (0, 3, 2, 2)
    if torch is not None:
        assert repr(layer) == repr(torch.nn.AdaptiveMaxPool2d((None, 3), return_indices=True))


def test_adaptive_max_pool2d_bad_input_raises():
    with pytest.raises(RuntimeError, match="3-D or 4-D"):
        F.adaptive_max_pool2d(minigrad.zeros(5, 5), 2)
    with pytest.raises(RuntimeError, match="non-empty"):
        F.adaptive_max_pool2d(minigrad.zeros(2, 3, 0, 5), 2)
    with pytest.raises(ValueError, match="output_size must be >= 1"):
        F.adaptive_max_pool2d(minigrad.zeros(2, 3, 5, 5), 0)
    with pytest.raises(ValueError, match="an int or a pair"):
        F.adaptive_max_pool2d(minigrad.zeros(2, 3, 5, 5), (3, 3, 3))
    with pytest.raises(TypeError, match="floating-point"):
        F.adaptive_max_pool2d(minigrad.zeros(2, 3, 5, 5, dtype=minigrad.int64), 2)


# --- max_unpool2d ------------------------------------------------------------------------------

# (input shape, kernel_size, stride, padding, output_size)
UNPOOLS = [
    ((2, 3, 4, 6), 2, None, 0, None),
    ((2, 3, 5, 7), 2, None, 0, (5, 7)),
    ((1, 2, 7, 5), 3, 2, 1, None),
    ((1, 2, 8, 7), (3, 2), (2, 1), (1, 0), (1, 2, 8, 7)),
    ((3, 5, 5), 2, 1, 0, None),  # unbatched, overlapping windows
]


@pytest.mark.parametrize("shape, kernel, stride, padding, output_size", UNPOOLS)
def test_max_unpool2d_inverts_max_pool2d_like_torch(shape, kernel, stride, padding, output_size):
    x = RNG.standard_normal(shape).astype(np.float32)
    pooled, indices = F.max_pool2d(minigrad.tensor(x), kernel, stride, padding, return_indices=True)
    size = output_size[-2:] if output_size else shape[-2:]
    weights = RNG.standard_normal(shape[:-2] + tuple(size)).astype(np.float32)
    out, grad = with_grad(lambda t: F.max_unpool2d(t, indices, kernel, stride, padding, output_size),
                          pooled.numpy(), weights)
    assert out.shape == shape[:-2] + tuple(size)
    lead = pooled.shape[:-2]
    ref = np.zeros(lead + (size[0] * size[1],), np.float32)
    np.put_along_axis(ref, indices.numpy().reshape(lead + (-1,)), pooled.numpy().reshape(lead + (-1,)), -1)
    np.testing.assert_array_equal(out.detach().numpy(), ref.reshape(out.shape))
    np.testing.assert_array_equal(  # each value's gradient is the output gradient at its index
        grad.numpy(), np.take_along_axis(weights.reshape(lead + (-1,)), indices.numpy().reshape(lead + (-1,)), -1)
        .reshape(pooled.shape))
    layer = nn.MaxUnpool2d(kernel, stride, padding)
    np.testing.assert_array_equal(layer(pooled, indices, output_size).numpy(), out.detach().numpy())
    if torch is not None:
        their_pooled, their_indices = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, stride, padding,
                                                                     return_indices=True)
        np.testing.assert_array_equal(indices.numpy(), their_indices.numpy())
        theirs, their_grad = torch_with_grad(
            lambda t: torch.nn.functional.max_unpool2d(t, their_indices, kernel, stride, padding, output_size),
            their_pooled.numpy(), weights)
        assert_close(out, theirs)
        assert_close(grad, their_grad)
        assert repr(layer) == repr(torch.nn.MaxUnpool2d(kernel, stride, padding))


def test_max_unpool2d_gradcheck_and_modules_round_trip():
    x = f64(RNG.standard_normal((2, 2, 5, 4)))
    _, indices = F.max_pool2d(x.detach(), 2, return_indices=True)
    pooled = f64(RNG.standard_normal(indices.shape))
    assert gradcheck(lambda t: F.max_unpool2d(t, indices, 2, output_size=(5, 4)), [pooled])
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    y = minigrad.tensor(RNG.uniform(0.1, 1.0, (1, 2, 5, 4)).astype(np.float32))
    restored = unpool(*pool(y), output_size=y.shape)
    kept = restored.numpy() != 0
    assert kept.sum() == 2 * 2 * 2 and np.array_equal(restored.numpy()[kept], y.numpy()[kept])
    np.testing.assert_array_equal(pool(restored)[0].numpy(), pool(y)[0].numpy())


def test_max_unpool2d_bad_input_raises():
    pooled, indices = F.max_pool2d(minigrad.randn(2, 3, 5, 5), 2, return_indices=True)
    with pytest.raises(RuntimeError, match="invalid max index 1[0-9]"):  # 5x5 indices, 4x4 default output
        F.max_unpool2d(pooled, indices, 2)
    with pytest.raises(RuntimeError, match="invalid max index -"):
        F.max_unpool2d(pooled, indices - 100, 2, output_size=(5, 5))
    with pytest.raises(RuntimeError, match="indices shape"):
        F.max_unpool2d(pooled, indices[:, :2], 2, output_size=(5, 5))
    with pytest.raises(TypeError, match="int64"):
        F.max_unpool2d(pooled, indices.float(), 2, output_size=(5, 5))
    with pytest.raises(RuntimeError, match="3-D or 4-D"):
        F.max_unpool2d(pooled[0, 0], indices[0, 0], 2)
    with pytest.raises(ValueError, match="dim 0 must be between 2 and 6"):
        F.max_unpool2d(pooled, indices, 2, output_size=(7, 5))
    with pytest.raises(ValueError, match="2 or 4 elements"):
        F.max_unpool2d(pooled, indices, 2, output_size=(5,))
    with pytest.raises(TypeError, match="floating-point"):
        F.max_unpool2d(indices, indices, 2)


# --- ParameterList and ParameterDict -----------------------------------------------------------


def test_parameter_list_registers_converts_and_indexes():
    given = minigrad.randn(2, 3)
    params = nn.ParameterList([given, nn.Parameter(minigrad.zeros(3))])
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    given.fill_(3.0)  # the Parameter shares the tensor's data, as PyTorch's
    assert params[0].detach().numpy().tolist() == [[3.0] * 3] * 2
    assert [name for name, _ in params.named_parameters()] == ["0", "1"]
    params.append(minigrad.ones(4))
    params.extend([minigrad.ones(5)])
    params += [nn.Parameter(minigrad.ones(6))]
    assert len(params) == 5 and [p.shape for p in params] == [(2, 3), (3,), (4,), (5,), (6,)]
    assert params[-1].shape == (6,) and [p.shape for p in params[1:4:2]] == [(3,), (5,)]
    params[1] = minigrad.full((7,), 2.0)
    assert isinstance(params[1], nn.Parameter) and params.state_dict()["1"].shape == (7,)
    assert list(params.state_dict()) == ["0", "1", "2", "3", "4"]
    with pytest.raises(IndexError, match="out of range"):
        params[5]
    with pytest.raises(TypeError, match="iterable"):
        params.extend(minigrad.ones(2))
    with pytest.raises(RuntimeError, match="should not be called"):
        params(minigrad.ones(2))
    if torch is not None:
        theirs = torch.nn.ParameterList([torch.zeros(3), torch.zeros(2, 3, dtype=torch.float64)])
        ours = nn.ParameterList([minigrad.zeros(3), minigrad.zeros(2, 3, dtype=minigrad.float64)])
        assert repr(ours) == repr(theirs).replace("torch.", "minigrad.")


def test_parameter_dict_registers_converts_and_behaves_like_a_dict():
    params = nn.ParameterDict({"b": minigrad.zeros(2), "a": nn.Parameter(minigrad.ones(3))})
    assert list(params) == ["a", "b"]  # a plain dict is taken sorted, as PyTorch
    assert all(isinstance(v, nn.Parameter) for v in params.values())
    params["c"] = minigrad.ones(4)
    params.update([("z", minigrad.ones(1)), ("y", minigrad.ones(1))])  # pairs keep their order
    params.update(OrderedDict([("x", minigrad.ones(1))]))
    assert list(params.keys()) == ["a", "b", "c", "z", "y", "x"]
    assert [name for name, _ in params.named_parameters()] == list(params.keys())
    assert "c" in params and "q" not in params and len(params) == 6
    assert params["c"].shape == (4,) and dict(params.items())["a"] is params["a"]
    assert params.get("q") is None and params.pop("z").shape == (1,) and "z" not in params
    del params["y"]
    assert list(params.state_dict()) == ["a", "b", "c", "x"]
    with pytest.raises(KeyError):
        params["q"]
    with pytest.raises(TypeError, match="strings"):
        params[1] = minigrad.ones(1)
    with pytest.raises(ValueError, match="2 is required"):
        params.update([("a", minigrad.ones(1), 3)])
    params.clear()
    assert len(params) == 0 and list(params.parameters()) == []
    if torch is not None:
        theirs = torch.nn.ParameterDict({"w": torch.zeros(2, 3), "v": torch.zeros(1, dtype=torch.float64)})
        ours = nn.ParameterDict({"w": minigrad.zeros(2, 3), "v": minigrad.zeros(1, dtype=minigrad.float64)})
        assert repr(ours) == repr(theirs).replace("torch.", "minigrad.")


def test_replacing_a_parameter_or_module_keeps_its_place():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    model[0].weight = nn.Parameter(minigrad.zeros(3, 2))
    setattr(model, "0", nn.Linear(2, 3))
    model[2].weight = nn.Parameter(minigrad.zeros(1, 3))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    mixed = nn.ParameterList([minigrad.ones(2), "not a tensor"])  # other objects are kept, unregistered
    assert mixed[1] == "not a tensor" and [name for name, _ in mixed.named_parameters()] == ["0"]


class Held(nn.Module):
    """A model whose weights live in a ParameterList and a ParameterDict."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ParameterList([minigrad.randn(3, 4) * 0.5, minigrad.randn(4, 1) * 0.5])
        self.extra = nn.ParameterDict({"bias": minigrad.zeros(1), "scale": minigrad.ones(1)})

    def forward(self, x):
        h = F.relu(x @ self.layers[0])
        return (h @ self.layers[1]) * self.extra["scale"] + self.extra["bias"]


def test_optimizer_steps_and_state_dict_round_trip():
    minigrad.manual_seed(0)
    model = Held()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0", "layers.1", "extra.bias", "extra.scale"]
    assert list(model.state_dict()) == names
    before = [p.detach().numpy().copy() for p in model.parameters()]
    optimizer = minigrad.optim.SGD(model.parameters(), lr=0.1)
    F.mse_loss(model(minigrad.randn(8, 3)), minigrad.randn(8, 1)).backward()
    optimizer.step()
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, model.parameters(), strict=True))
    copy = Held()
    copy.load_state_dict(model.state_dict())
    for (name, p), (_, q) in zip(model.named_parameters(), copy.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
    if torch is not None:
        class TorchHeld(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = torch.nn.ParameterList([torch.zeros(3, 4), torch.zeros(4, 1)])
                self.extra = torch.nn.ParameterDict({"bias": torch.zeros(1), "scale": torch.ones(1)})

        theirs = TorchHeld()
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
        assert list(theirs.state_dict()) == names


def test_model_holding_parameter_containers_trains():
    minigrad.manual_seed(0)
    x = minigrad.randn(64, 3)
    y = (x[:, :1] - 2 * x[:, 1:2]).relu() + 0.5
    model = Held()
    optimizer = minigrad.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(150):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
