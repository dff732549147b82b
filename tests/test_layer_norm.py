"""layer_norm forward/backward kernels (_C and _C.cuda): numpy reference, float64 finite
differences, PyTorch, thread-count determinism and bad input; F.layer_norm / F.group_norm through
them (gradcheck)."""

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from thread_counts import assert_same_at_thread_counts
from torch_reference import TorchReference

import minigrad
from minigrad import _C
from minigrad.nn import functional as F

torch_reference = TorchReference(__name__)
cuda_only = pytest.mark.skipif(not minigrad.cuda.is_available(), reason="no usable CUDA device (or emulator)")

DTYPES = [np.float32, np.float64]
# (shape, normalized_ndim): rows of 1 and of more than a vector block, odd tails, 1-D input
CASES = [((6, 5), 1), ((4, 3, 7), 2), ((2, 3, 4, 5), 1), ((3, 1), 1), ((7,), 1), ((2, 300), 1), ((5, 2, 1100), 1),
         ((1, 3, 4), 3)]  # fmt: skip


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def make_case(shape, k, dtype, seed=0, affine=(True, True)):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    normalized = shape[len(shape) - k :]
    weight = rng.standard_normal(normalized).astype(dtype) if affine[0] else None
    bias = rng.standard_normal(normalized).astype(dtype) if affine[1] else None
    return x, weight, bias


# ---------------------------------------------------------------- references (float64)


def ref_forward(x, weight, bias, k, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    x = x.astype(np.float64)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    invstd = 1 / np.sqrt(var + eps)
    y = (x - mean) * invstd
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    lead = x.shape[: x.ndim - k]
    return y, mean.reshape(lead), invstd.reshape(lead)


def ref_backward(dy, x, weight, mean, invstd, k):
    axes = tuple(range(x.ndim - k, x.ndim))
    lead_axes = tuple(range(x.ndim - k))
    dy, x = dy.astype(np.float64), x.astype(np.float64)
    stat = mean.shape + (1,) * k
    xhat = (x - mean.reshape(stat)) * invstd.reshape(stat)
    g = dy if weight is None else dy * weight
    n = np.prod(x.shape[x.ndim - k :])
    dx = invstd.reshape(stat) * (g - g.sum(axes, keepdims=True) / n - xhat * (g * xhat).sum(axes, keepdims=True) / n)
    return dx, (dy * xhat).sum(lead_axes), dy.sum(lead_axes)


# ---------------------------------------------------------------- forward and backward


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)], ids=str)
def test_forward_and_backward_match_numpy(dtype, case, affine):
    shape, k = case
    x, weight, bias = make_case(shape, k, dtype, affine=affine)
    y, mean, invstd = _C.layer_norm_forward(x, weight, bias, k, 1e-5)
    want_y, want_mean, want_invstd = ref_forward(x, weight, bias, k)
    assert y.dtype == mean.dtype == invstd.dtype == dtype and y.shape == shape
    assert mean.shape == invstd.shape == shape[: len(shape) - k]
    np.testing.assert_allclose(y, want_y, **tol(dtype))
    np.testing.assert_allclose(mean, want_mean, **tol(dtype))
    np.testing.assert_allclose(invstd, want_invstd, **tol(dtype))

    dy = np.random.default_rng(9).standard_normal(shape).astype(dtype)
    for param_grads in (True, False):
        dx, dweight, dbias = _C.layer_norm_backward(dy, x, weight, mean, invstd, k, param_grads)
        want_dx, want_dw, want_db = ref_backward(dy, x, weight, mean.astype(np.float64), invstd.astype(np.float64), k)
        t = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else tol(dtype)
        np.testing.assert_allclose(dx, want_dx, **t)
        if param_grads:
            assert dweight.shape == dbias.shape == shape[len(shape) - k :]
            np.testing.assert_allclose(dweight, want_dw, **t)
            np.testing.assert_allclose(dbias, want_db, **t)
        else:
            assert dweight is None and dbias is None


@pytest.mark.parametrize("case", [((5, 4), 1), ((2, 3, 3), 2)], ids=str)
def test_backward_finite_differences(case):
    shape, k = case
    x, weight, bias = make_case(shape, k, np.float64, seed=4)
    w = np.random.default_rng(5).standard_normal(shape)

    def f() -> float:
        return float((_C.layer_norm_forward(x, weight, bias, k, 1e-3)[0] * w).sum())

    _, mean, invstd = _C.layer_norm_forward(x, weight, bias, k, 1e-3)
    dx, dweight, dbias = _C.layer_norm_backward(w, x, weight, mean, invstd, k)
    assert_grad_close(dx, numerical_grad(f, x), name="dx")
    assert_grad_close(dweight, numerical_grad(f, weight), name="dweight")
    assert_grad_close(dbias, numerical_grad(f, bias), name="dbias")


def test_large_offset_rows_keep_their_precision():
    """Rows of 1e4 + noise: the mean is taken first, so float32 keeps the noise's digits."""
    rng = np.random.default_rng(3)
    x = (1e4 + rng.standard_normal((8, 256))).astype(np.float32)
    y, _, _ = _C.layer_norm_forward(x, None, None, 1, 1e-5)
    np.testing.assert_allclose(y, ref_forward(x, None, None, 1)[0], rtol=0, atol=2e-3)


def test_results_do_not_depend_on_the_thread_count():
    x, weight, bias = make_case((300, 700), 1, np.float32, seed=2)  # several slices and threads
    dy = np.random.default_rng(3).standard_normal(x.shape).astype(np.float32)

    def both_passes():
        forward = _C.layer_norm_forward(x, weight, bias, 1, 1e-5)
        return forward + _C.layer_norm_backward(dy, x, weight, forward[1], forward[2], 1)

    assert_same_at_thread_counts(both_passes)


def test_empty_inputs():
    for shape, k in (((0, 4), 1), ((3, 0), 1), ((2, 0, 3), 2)):
        x = np.zeros(shape, np.float32)
        w = np.ones(shape[len(shape) - k :], np.float32)
        y, mean, invstd = _C.layer_norm_forward(x, w, None, k)
        assert y.shape == shape and mean.shape == shape[: len(shape) - k]
        dx, dweight, dbias = _C.layer_norm_backward(x, x, w, mean, invstd, k)
        assert dx.shape == shape
        np.testing.assert_array_equal(dweight, np.zeros_like(w))
        np.testing.assert_array_equal(dbias, np.zeros_like(w))


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple), data=st.data(),
       seed=st.integers(0, 2**31))  # fmt: skip
def test_shapes_property(shape, data, seed):
    k = data.draw(st.integers(1, len(shape)))
    x, weight, bias = make_case(shape, k, np.float64, seed=seed)
    y, mean, invstd = _C.layer_norm_forward(x, weight, bias, k)
    want_y, want_mean, want_invstd = ref_forward(x, weight, bias, k)
    np.testing.assert_allclose(y, want_y, atol=1e-9)
    dy = np.random.default_rng(seed).standard_normal(shape)
    for got, want in zip(_C.layer_norm_backward(dy, x, weight, mean, invstd, k),
                         ref_backward(dy, x, weight, want_mean, want_invstd, k), strict=True):  # fmt: skip
        np.testing.assert_allclose(got, want, atol=1e-8)


# ---------------------------------------------------------------- the functional ops


@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)], ids=str)
def test_layer_norm_gradcheck(affine):
    x, weight, bias = make_case((3, 2, 4), 2, np.float64, seed=6, affine=affine)
    inputs = [minigrad.tensor(a, requires_grad=True) for a in (x, weight, bias) if a is not None]
    it = iter(inputs[1:])
    w = next(it) if affine[0] else None
    b = next(it) if affine[1] else None
    assert minigrad.autograd.gradcheck(lambda x, *_: F.layer_norm(x, (2, 4), w, b, eps=1e-3), inputs)


def test_group_norm_gradcheck():
    x, weight, bias = (np.random.default_rng(7).standard_normal(s) for s in ((2, 4, 3, 2), (4,), (4,)))
    inputs = [minigrad.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    assert minigrad.autograd.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b, eps=1e-3), inputs)


def _torch_norms(torch, x, weight, bias, dy):
    tx = torch.tensor(x, requires_grad=True)
    tw, tb = (torch.tensor(a, requires_grad=True) for a in (weight, bias))
    ty = torch.nn.functional.layer_norm(tx, weight.shape, tw, tb, eps=1e-4)
    ty.backward(torch.from_numpy(dy))
    results = {"layer/y": ty, "layer/dx": tx.grad, "layer/dweight": tw.grad, "layer/dbias": tb.grad}
    tx.grad = None
    groups = torch.tensor(x.reshape(x.shape[0], 6, -1), requires_grad=True)
    gy = torch.nn.functional.group_norm(groups, 3, eps=1e-4)
    gy.backward(torch.from_numpy(dy.reshape(groups.shape)))
    return results | {"group/y": gy, "group/dx": groups.grad}


def test_against_torch():
    x, weight, bias = make_case((4, 6, 5), 2, np.float64, seed=8)
    dy = np.random.default_rng(9).standard_normal(x.shape)
    want = torch_reference("layer_and_group_norm", lambda torch: _torch_norms(torch, x, weight, bias, dy))
    tx, tw, tb = (minigrad.tensor(a, requires_grad=True) for a in (x, weight, bias))
    y = F.layer_norm(tx, weight.shape, tw, tb, eps=1e-4)
    y.backward(minigrad.tensor(dy))
    for name, got in (("y", y), ("dx", tx.grad), ("dweight", tw.grad), ("dbias", tb.grad)):
        np.testing.assert_allclose(got.detach().numpy(), want[f"layer/{name}"], rtol=1e-12, atol=1e-12, err_msg=name)
    groups = minigrad.tensor(x.reshape(4, 6, 5), requires_grad=True)
    gy = F.group_norm(groups, 3, eps=1e-4)
    gy.backward(minigrad.tensor(dy))
    np.testing.assert_allclose(gy.detach().numpy(), want["group/y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(groups.grad.numpy(), want["group/dx"], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- bad input


def test_bad_input():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"layer_norm_forward: normalized_ndim must lie in \[1, 2\]"):
        _C.layer_norm_forward(x, None, None, 0)
    with pytest.raises(ValueError, match=r"layer_norm_forward: normalized_ndim must lie in \[1, 2\]"):
        _C.layer_norm_forward(x, None, None, 3)
    with pytest.raises(ValueError, match=r"layer_norm_forward: weight must have shape \(3,\), got \(4,\)"):
        _C.layer_norm_forward(x, np.zeros(4, np.float32), None, 1)
    with pytest.raises(TypeError, match="layer_norm_forward: bias has dtype float64"):
        _C.layer_norm_forward(x, None, np.zeros(3), 1)
    with pytest.raises(TypeError, match="layer_norm_forward: x must be float32 or float64"):
        _C.layer_norm_forward(x.astype(np.int32), None, None, 1)
    with pytest.raises(ValueError, match="layer_norm_forward: x must be C-contiguous"):
        _C.layer_norm_forward(np.zeros((3, 4), np.float32).T, None, None, 1)
    with pytest.raises(ValueError, match="layer_norm_backward: dy has shape"):
        _C.layer_norm_backward(np.zeros((4, 2), np.float32), x, None, np.zeros(4, np.float32),
                               np.zeros(4, np.float32), 1)  # fmt: skip
    with pytest.raises(ValueError, match=r"layer_norm_backward: save_mean must have shape \(4,\)"):
        _C.layer_norm_backward(x, x, None, np.zeros(3, np.float32), np.zeros(4, np.float32), 1)
    with pytest.raises(TypeError, match="layer_norm_backward: save_mean and save_invstd must be numpy arrays"):
        _C.layer_norm_backward(x, x, None, None, np.zeros(4, np.float32), 1)


# ---------------------------------------------------------------- CUDA twin


@cuda_only
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES + [((70, 3), 1), ((0, 4), 1)], ids=str)
@pytest.mark.parametrize("affine", [(True, True), (False, True), (False, False)], ids=str)
def test_cuda_matches_cpu(dtype, case, affine):
    shape, k = case
    x, weight, bias = make_case(shape, k, dtype, seed=3, affine=affine)
    dy = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    dev = _C.cuda.from_numpy
    opt = lambda a: None if a is None else dev(a)  # noqa: E731
    cpu = _C.layer_norm_forward(x, weight, bias, k, 1e-5)
    gpu = _C.cuda.layer_norm_forward(dev(x), opt(weight), opt(bias), k, 1e-5)
    for c, g in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(g.to_numpy(), c, **tol(dtype))
    cpu_grads = _C.layer_norm_backward(dy, x, weight, cpu[1], cpu[2], k)
    gpu_grads = _C.cuda.layer_norm_backward(dev(dy), dev(x), opt(weight), gpu[1], gpu[2], k)
    t = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else tol(dtype)
    for c, g in zip(cpu_grads, gpu_grads, strict=True):
        np.testing.assert_allclose(g.to_numpy(), c, **t)
    with pytest.raises(TypeError, match="layer_norm_backward: save_mean and save_invstd must be device arrays"):
        _C.cuda.layer_norm_backward(dev(dy), dev(x), None, None, gpu[2], k)
