"""batch_norm forward/backward: numpy reference, finite differences, torch (running-stat update included)."""

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, float32_tol, numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_reference import TorchReference

from minigrad import _C

torch_reference = TorchReference(__name__)

DTYPES = [np.float32, np.float64]
SHAPES = [(6, 3), (4, 3, 5), (2, 3, 4, 5), (1, 2, 3, 3), (5, 1)]


# ---------------------------------------------------------------- references (float64)


def axes(x: np.ndarray) -> tuple:
    return (0,) + tuple(range(2, x.ndim))


def per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def ref_forward(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Returns (y, mean, invstd, new_running_mean, new_running_var)."""
    x = x.astype(np.float64)
    if training:
        mean, var = x.mean(axis=axes(x)), x.var(axis=axes(x))
        count = x.size // x.shape[1]
        new_rm = None if running_mean is None else (1 - momentum) * running_mean + momentum * mean
        new_rv = None if running_var is None else (1 - momentum) * running_var + momentum * var * count / (count - 1)
    else:
        mean, var = running_mean.astype(np.float64), running_var.astype(np.float64)
        new_rm, new_rv = running_mean, running_var
    invstd = 1 / np.sqrt(var + eps)
    y = (x - per_channel(mean, x.ndim)) * per_channel(invstd, x.ndim)
    if weight is not None:
        y = y * per_channel(weight, x.ndim)
    if bias is not None:
        y = y + per_channel(bias, x.ndim)
    return y, mean, invstd, new_rm, new_rv


def ref_backward(dy, x, weight, mean, invstd, training):
    dy, x = dy.astype(np.float64), x.astype(np.float64)
    xhat = (x - per_channel(mean, x.ndim)) * per_channel(invstd, x.ndim)
    dbias = dy.sum(axis=axes(x))
    dweight = (dy * xhat).sum(axis=axes(x))
    w = np.ones(x.shape[1]) if weight is None else weight
    scale = per_channel(w * invstd, x.ndim)
    if not training:
        return dy * scale, dweight, dbias
    count = x.size // x.shape[1]
    dx = scale * (dy - per_channel(dbias, x.ndim) / count - xhat * per_channel(dweight, x.ndim) / count)
    return dx, dweight, dbias


def make_case(shape, dtype, seed=0, affine=True):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.normal(size=shape) * 2 + 0.5).astype(dtype)
    weight = rng.uniform(0.5, 1.5, size=c).astype(dtype) if affine else None
    bias = rng.normal(size=c).astype(dtype) if affine else None
    running_mean = rng.normal(size=c).astype(dtype)
    running_var = rng.uniform(0.5, 2, size=c).astype(dtype)
    return x, weight, bias, running_mean, running_var


def tol(dtype, shape) -> float:
    return float32_tol(int(np.prod(shape)) // shape[1]) if dtype == np.float32 else 1e-11


# ---------------------------------------------------------------- forward


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_forward_matches_numpy(dtype, shape, training, affine):
    x, weight, bias, rm, rv = make_case(shape, dtype, affine=affine)
    want_y, want_mean, want_invstd, want_rm, want_rv = ref_forward(x, weight, bias, rm, rv, training, 0.2, 1e-4)
    rm_before, rv_before = rm.copy(), rv.copy()
    y, save_mean, save_invstd = _C.batch_norm_forward(x, weight, bias, rm, rv, training, 0.2, 1e-4)
    assert y.dtype == dtype and save_mean.dtype == dtype and save_invstd.dtype == dtype
    assert y.shape == shape and save_mean.shape == (shape[1],) and save_invstd.shape == (shape[1],)
    t = tol(dtype, shape)
    np.testing.assert_allclose(y, want_y, rtol=t, atol=t)
    np.testing.assert_allclose(save_mean, want_mean, rtol=t, atol=t)
    np.testing.assert_allclose(save_invstd, want_invstd, rtol=t, atol=t)
    if training:
        np.testing.assert_allclose(rm, want_rm, rtol=t, atol=t)
        np.testing.assert_allclose(rv, want_rv, rtol=t, atol=t)
    else:
        np.testing.assert_array_equal(rm, rm_before)
        np.testing.assert_array_equal(rv, rv_before)


def test_training_without_running_stats_leaves_them_alone():
    x, weight, bias, _, _ = make_case((4, 3, 2), np.float64)
    y, mean, invstd = _C.batch_norm_forward(x, weight, bias, None, None, True)
    want_y, want_mean, want_invstd, _, _ = ref_forward(x, weight, bias, None, None, True)
    np.testing.assert_allclose(y, want_y, atol=1e-12)
    np.testing.assert_allclose(mean, want_mean, atol=1e-12)
    np.testing.assert_allclose(invstd, want_invstd, atol=1e-12)


@pytest.mark.parametrize("where", [0, 2])  # the value the channel's sums are shifted by, and another
def test_nan_in_a_channel_reaches_both_running_statistics(where):
    """As PyTorch: a NaN in a training batch makes that channel's running mean and variance NaN
    (the variance's clamp at 0 against rounding once turned NaN into 0) and leaves the others."""
    x, weight, bias, rm, rv = make_case((3, 2, 4), np.float64)
    x[where % 3, 0, where] = np.nan
    _C.batch_norm_forward(x, weight, bias, rm, rv, True)
    assert np.isnan(rm[0]) and np.isnan(rv[0])
    assert np.isfinite(rm[1]) and np.isfinite(rv[1])


def test_forward_large_offset_keeps_precision_in_float32():
    x = (1000 + np.random.default_rng(1).normal(size=(64, 4))).astype(np.float32)
    y, _, _ = _C.batch_norm_forward(x, None, None, None, None, True)
    want, *_ = ref_forward(x, None, None, None, None, True)
    np.testing.assert_allclose(y, want, atol=2e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_variance_is_exact_when_the_first_value_is_a_far_outlier_or_the_mean_dwarfs_the_spread(dtype):
    """The statistics take one pass over values shifted by each channel's first one: an outlier
    there, a mean 1e6 spreads away, and a constant channel keep the two-pass float64 variance."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 3, 5, 5))
    x[0, 0, 0, 0] = 1e7  # the shift of channel 0 is 1e7 spreads from its mean
    x[:, 1] += 1e6  # |mean| / std = 1e6
    x[:, 2] = 7.25  # variance 0
    x = x.astype(dtype)
    _, mean, invstd = _C.batch_norm_forward(x, None, None, None, None, True, eps=0.0 if dtype == np.float64 else 1e-5)
    x64 = x.astype(np.float64)
    want_mean = x64.mean(axis=(0, 2, 3))
    want_var = x64.var(axis=(0, 2, 3))
    np.testing.assert_allclose(mean, want_mean, rtol=1e-12 if dtype == np.float64 else 1e-7)
    if dtype == np.float64:
        np.testing.assert_allclose(1 / invstd[:2] ** 2, want_var[:2], rtol=1e-9)
        assert np.isinf(invstd[2])  # a constant channel with eps 0
    else:
        np.testing.assert_allclose(1 / invstd.astype(np.float64) ** 2, want_var + 1e-5, rtol=1e-6)


def test_forward_threaded_matches_numpy_and_is_deterministic():
    x, weight, bias, rm, rv = make_case((16, 8, 32, 32), np.float32, seed=2)
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        one = _C.batch_norm_forward(x, weight, bias, None, None, True)
        _C.set_num_threads(2)
        two = _C.batch_norm_forward(x, weight, bias, None, None, True)
        dy = np.random.default_rng(3).normal(size=x.shape).astype(np.float32)
        back_two = _C.batch_norm_backward(dy, x, weight, two[1], two[2])
        _C.set_num_threads(1)
        back_one = _C.batch_norm_backward(dy, x, weight, two[1], two[2])
    finally:
        _C.set_num_threads(before)
    for a, b in zip(one + back_one, two + back_two, strict=True):
        np.testing.assert_array_equal(a, b)
    want_y, *_ = ref_forward(x, weight, bias, None, None, True)
    np.testing.assert_allclose(two[0], want_y, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(5, 7, 33, 31), (301, 129)])  # 2 threads split mid-plane / mid-row
def test_eval_forward_threaded_matches_numpy(shape):
    x, weight, bias, rm, rv = make_case(shape, np.float64, seed=4)
    before = _C.get_num_threads()
    try:
        outputs = []
        for threads in (1, 2):
            _C.set_num_threads(threads)
            outputs.append(_C.batch_norm_forward(x, weight, bias, rm, rv, False))
    finally:
        _C.set_num_threads(before)
    want_y, want_mean, want_invstd, _, _ = ref_forward(x, weight, bias, rm, rv, False)
    for y, mean, invstd in outputs:
        np.testing.assert_allclose(y, want_y, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(mean, rm)
        np.testing.assert_allclose(invstd, want_invstd, rtol=1e-15)
    for a, b in zip(*outputs, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- backward


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_backward_matches_numpy(dtype, shape, training, affine):
    x, weight, bias, rm, rv = make_case(shape, dtype, affine=affine)
    _, mean, invstd = _C.batch_norm_forward(x, weight, bias, rm, rv, training)
    dy = np.random.default_rng(9).normal(size=shape).astype(dtype)
    dx, dweight, dbias = _C.batch_norm_backward(dy, x, weight, mean, invstd, training)
    want_dx, want_dw, want_db = ref_backward(
        dy, x, weight, mean.astype(np.float64), invstd.astype(np.float64), training
    )
    t = tol(dtype, shape)
    assert dx.dtype == dtype and dx.shape == shape
    np.testing.assert_allclose(dx, want_dx, rtol=t, atol=t)
    if affine:
        np.testing.assert_allclose(dweight, want_dw, rtol=t, atol=t)
        np.testing.assert_allclose(dbias, want_db, rtol=t, atol=t)
    else:
        assert dweight is None and dbias is None


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_backward_finite_differences(shape, training):
    x, weight, bias, rm, rv = make_case(shape, np.float64, seed=4)
    w = np.random.default_rng(5).normal(size=shape)

    def f() -> float:
        # Fresh running stats each call: in training they are updated in place.
        y, _, _ = _C.batch_norm_forward(x, weight, bias, rm.copy(), rv.copy(), training)
        return float((y * w).sum())

    _, mean, invstd = _C.batch_norm_forward(x, weight, bias, rm.copy(), rv.copy(), training)
    dx, dweight, dbias = _C.batch_norm_backward(w, x, weight, mean, invstd, training)
    assert_grad_close(dx, numerical_grad(f, x), name="dx")
    assert_grad_close(dweight, numerical_grad(f, weight), name="dweight")
    assert_grad_close(dbias, numerical_grad(f, bias), name="dbias")


# ---------------------------------------------------------------- torch


def _torch_batch_norm(torch, x, weight, bias, rm, rv, dy):
    """F.batch_norm: three training steps (output and running stats after each), the gradients of the
    last, then eval mode (output, input gradient)."""
    F = torch.nn.functional
    t_rm, t_rv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    tx = torch.tensor(x, requires_grad=True)
    tw = None if weight is None else torch.tensor(weight, requires_grad=True)
    tb = None if bias is None else torch.tensor(bias, requires_grad=True)
    results = {}
    for step in range(3):  # running stats accumulate over steps
        ty = F.batch_norm(tx, t_rm, t_rv, tw, tb, training=True, momentum=0.3, eps=1e-3)
        results |= {f"{step}/y": ty, f"{step}/running_mean": t_rm.clone(), f"{step}/running_var": t_rv.clone()}
    ty.backward(torch.from_numpy(dy))
    results["dx"] = tx.grad
    if tw is not None:  # copies: the eval backward below accumulates into these
        results |= {"dweight": tw.grad.clone(), "dbias": tb.grad.clone()}
    tx.grad = None
    ty = F.batch_norm(tx, t_rm, t_rv, tw, tb, training=False, eps=1e-3)
    ty.backward(torch.from_numpy(dy))
    return results | {"eval/y": ty, "eval/dx": tx.grad}


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 7), (3, 4, 5, 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_against_torch(shape, affine):
    x, weight, bias, rm, rv = make_case(shape, np.float64, seed=6, affine=affine)
    dy = np.random.default_rng(7).normal(size=shape)
    want = torch_reference(
        f"batch_norm/{shape}/affine={affine}", lambda torch: _torch_batch_norm(torch, x, weight, bias, rm, rv, dy)
    )
    for step in range(3):
        y, mean, invstd = _C.batch_norm_forward(x, weight, bias, rm, rv, True, 0.3, 1e-3)
        np.testing.assert_allclose(y, want[f"{step}/y"], rtol=1e-12, atol=1e-12, err_msg=f"step {step}")
        np.testing.assert_allclose(rm, want[f"{step}/running_mean"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rv, want[f"{step}/running_var"], rtol=1e-12, atol=1e-12)
    dx, dweight, dbias = _C.batch_norm_backward(dy, x, weight, mean, invstd, True)
    np.testing.assert_allclose(dx, want["dx"], rtol=1e-10, atol=1e-10)
    if affine:
        np.testing.assert_allclose(dweight, want["dweight"], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dbias, want["dbias"], rtol=1e-10, atol=1e-10)

    # eval: running statistics, and the simple affine backward.
    y, mean, invstd = _C.batch_norm_forward(x, weight, bias, rm, rv, False, 0.3, 1e-3)
    np.testing.assert_allclose(y, want["eval/y"], rtol=1e-12, atol=1e-12)
    dx, _, _ = _C.batch_norm_backward(dy, x, weight, mean, invstd, False)
    np.testing.assert_allclose(dx, want["eval/dx"], rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=2, max_size=4).map(tuple),
    training=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_shapes_property(shape, training, seed):
    if training and np.prod(shape) // shape[1] < 2:
        shape = (2,) + shape[1:]
    x, weight, bias, rm, rv = make_case(shape, np.float64, seed=seed)
    want_y, want_mean, want_invstd, _, _ = ref_forward(x, weight, bias, rm, rv, training)
    y, mean, invstd = _C.batch_norm_forward(x, weight, bias, rm, rv, training)
    np.testing.assert_allclose(y, want_y, atol=1e-10)
    dy = np.random.default_rng(seed).normal(size=shape)
    for got, want in zip(
        _C.batch_norm_backward(dy, x, weight, mean, invstd, training),
        ref_backward(dy, x, weight, want_mean, want_invstd, training),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, atol=1e-9)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1, 1), (1, 2, 1)])
def test_one_value_per_channel_in_training_is_rejected(shape):
    x = np.zeros(shape)
    with pytest.raises(ValueError, match="batch_norm_forward: Expected more than 1 value per channel"):
        _C.batch_norm_forward(x, None, None, None, None, True)
    y, _, _ = _C.batch_norm_forward(x, None, None, np.zeros(shape[1]), np.ones(shape[1]), False)
    assert y.shape == shape


def test_forward_bad_input():
    op = "batch_norm_forward"
    x, weight, bias, rm, rv = make_case((4, 3, 2), np.float64)
    with pytest.raises(ValueError, match=f"{op}: running_mean and running_var are required when not training"):
        _C.batch_norm_forward(x, weight, bias, None, None, False)
    with pytest.raises(ValueError, match=f"{op}: running_mean and running_var must both"):
        _C.batch_norm_forward(x, weight, bias, rm, None, True)
    with pytest.raises(ValueError, match=f"{op}: x must have at least 2 dimensions"):
        _C.batch_norm_forward(np.zeros(4), None, None, None, None, True)
    with pytest.raises(TypeError, match=f"{op}: x must be float32 or float64"):
        _C.batch_norm_forward(x.astype(np.int32), None, None, None, None, True)
    with pytest.raises(ValueError, match=f"{op}: x must be C-contiguous"):
        _C.batch_norm_forward(np.zeros((3, 4)).T, None, None, None, None, True)
    with pytest.raises(ValueError, match=rf"{op}: weight must have shape \(3,\)"):
        _C.batch_norm_forward(x, np.ones(4), bias, rm, rv, True)
    with pytest.raises(TypeError, match=f"{op}: bias has dtype float32"):
        _C.batch_norm_forward(x, weight, bias.astype(np.float32), rm, rv, True)
    with pytest.raises(ValueError, match=f"{op}: running_var must be C-contiguous"):
        _C.batch_norm_forward(x, weight, bias, rm, np.ones(6)[::2], True)
    with pytest.raises(TypeError, match=f"{op}: running_mean must be a numpy.ndarray"):
        _C.batch_norm_forward(x, weight, bias, [0.0, 0.0, 0.0], rv, True)
    read_only = rm.copy()
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match=f"{op}: running_mean must be writeable"):
        _C.batch_norm_forward(x, weight, bias, read_only, rv, True)
    _C.batch_norm_forward(x, weight, bias, read_only, rv, False)  # eval only reads them


def test_backward_bad_input():
    op = "batch_norm_backward"
    x, weight, bias, rm, rv = make_case((4, 3, 2), np.float64)
    _, mean, invstd = _C.batch_norm_forward(x, weight, bias, rm, rv, True)
    with pytest.raises(ValueError, match=f"{op}: dy has shape"):
        _C.batch_norm_backward(np.zeros((4, 3)), x, weight, mean, invstd)
    with pytest.raises(TypeError, match=f"{op}: dy has dtype float32"):
        _C.batch_norm_backward(x.astype(np.float32), x, weight, mean, invstd)
    with pytest.raises(ValueError, match=rf"{op}: save_mean must have shape \(3,\)"):
        _C.batch_norm_backward(x, x, weight, mean[:2], invstd)
    with pytest.raises(TypeError, match=f"{op}: save_invstd has dtype float32"):
        _C.batch_norm_backward(x, x, weight, mean, invstd.astype(np.float32))
    with pytest.raises(TypeError, match=f"{op}: save_mean and save_invstd must be numpy arrays"):
        _C.batch_norm_backward(x, x, weight, None, invstd)
    with pytest.raises(ValueError, match=f"{op}: x must have at least 2 dimensions"):
        _C.batch_norm_backward(np.zeros(3), np.zeros(3), None, mean, invstd)
    with pytest.raises(ValueError, match=f"{op}: dy must be C-contiguous"):
        _C.batch_norm_backward(np.zeros((3, 4)).T, np.zeros((4, 3)), None, mean, invstd)
