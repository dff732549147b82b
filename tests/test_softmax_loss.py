"""softmax, log_softmax and the fused cross-entropy: numpy references, finite differences, torch."""

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, float32_tol, numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from simd_levels import run_tests_at_level
from torch_reference import TorchReference

from minigrad import _C

torch_reference = TorchReference(__name__)

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]


# ---------------------------------------------------------------- references (float64)


def ref_log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def ref_softmax(x: np.ndarray) -> np.ndarray:
    return np.exp(ref_log_softmax(x))


def ref_cross_entropy(logits, target, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    """PyTorch's formula: (1 - ls) * nll + ls * mean over classes of -log_probs; ignored rows 0."""
    lp = ref_log_softmax(logits)
    n, c = lp.shape
    kept = target != ignore_index
    safe_target = np.where(kept, target, 0)
    nll = -lp[np.arange(n), safe_target]
    smooth = -lp.sum(axis=1) / c
    rows = np.where(kept, (1 - label_smoothing) * nll + label_smoothing * smooth, 0.0)
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / kept.sum()


def ref_cross_entropy_grad(logits, target, grad_loss, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    n, c = logits.shape
    kept = target != ignore_index
    smoothed = np.full((n, c), label_smoothing / c)
    smoothed[np.arange(n), np.where(kept, target, 0)] += 1 - label_smoothing
    grad = ref_softmax(logits) - smoothed
    if reduction == "none":
        scale = grad_loss
    elif reduction == "sum":
        scale = np.full(n, float(grad_loss))
    else:
        scale = np.full(n, float(grad_loss) / kept.sum())
    return np.where(kept[:, None], grad * scale[:, None], 0.0)


def tol(dtype, length: int) -> float:
    return float32_tol(length) if dtype == np.float32 else 1e-12


def make_target(rng, n: int, c: int, ignore_index: int | None = None) -> np.ndarray:
    target = rng.integers(0, c, size=n).astype(np.int64)
    if ignore_index is not None and n > 1:
        target[1] = ignore_index
    return target


# ---------------------------------------------------------------- softmax / log_softmax


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (4, 10), (2, 3, 5), (1, 1), (3, 1), (2, 2, 2, 9)])
def test_softmax_forward_matches_numpy(dtype, shape):
    x = np.random.default_rng(0).normal(scale=3, size=shape).astype(dtype)
    y, ly = _C.softmax(x), _C.log_softmax(x)
    assert y.dtype == dtype and y.shape == shape and ly.dtype == dtype and ly.shape == shape
    np.testing.assert_allclose(y, ref_softmax(x), rtol=tol(dtype, shape[-1]), atol=tol(dtype, shape[-1]))
    np.testing.assert_allclose(ly, ref_log_softmax(x), rtol=tol(dtype, shape[-1]), atol=tol(dtype, shape[-1]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_backward_matches_numpy(dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 8)).astype(dtype)
    dy = rng.normal(size=(5, 8)).astype(dtype)
    y, ly = ref_softmax(x), ref_log_softmax(x)
    want = y * (dy - (dy * y).sum(-1, keepdims=True))
    got = _C.softmax_backward(_C.softmax(x), dy)
    np.testing.assert_allclose(got, want, rtol=tol(dtype, 8), atol=tol(dtype, 8))
    want_log = dy - np.exp(ly) * dy.sum(-1, keepdims=True)
    got_log = _C.log_softmax_backward(_C.log_softmax(x), dy)
    np.testing.assert_allclose(got_log, want_log, rtol=tol(dtype, 8), atol=tol(dtype, 8))
    assert got.dtype == dtype and got_log.dtype == dtype


@pytest.mark.parametrize("shape", [(6,), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_backward_finite_differences(shape, log):
    rng = np.random.default_rng(2)
    x = rng.normal(size=shape)
    w = rng.normal(size=shape)
    fwd = _C.log_softmax if log else _C.softmax
    bwd = _C.log_softmax_backward if log else _C.softmax_backward
    numeric = numerical_grad(lambda: float((fwd(x) * w).sum()), x)
    assert_grad_close(bwd(fwd(x), w), numeric, name="log_softmax" if log else "softmax")


def test_softmax_large_logits_are_stable():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4 - 1]])
    for dtype in DTYPES:
        xd = x.astype(dtype)
        y, ly = _C.softmax(xd), _C.log_softmax(xd)
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(ly))
        np.testing.assert_allclose(y, ref_softmax(xd), atol=1e-6)
        np.testing.assert_allclose(ly, ref_log_softmax(xd), rtol=1e-6)
        np.testing.assert_allclose(y.sum(-1), 1, rtol=1e-6)


def test_softmax_threaded_rows_match_numpy():
    # Enough work to take the OpenMP path; the result must not depend on the thread count.
    x = np.random.default_rng(3).normal(size=(700, 64))
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        one = _C.log_softmax(x)
        _C.set_num_threads(2)
        two = _C.log_softmax(x)
    finally:
        _C.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(two, ref_log_softmax(x), atol=1e-12)


def test_softmax_against_torch():
    x = np.random.default_rng(4).normal(size=(3, 4, 6))
    want = torch_reference(
        "softmax",
        lambda torch: {name: getattr(torch, name)(torch.from_numpy(x), -1) for name in ("softmax", "log_softmax")},
    )
    np.testing.assert_allclose(_C.softmax(x), want["softmax"], atol=1e-14)
    np.testing.assert_allclose(_C.log_softmax(x), want["log_softmax"], atol=1e-14)


# ---------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2, 1.0])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_matches_numpy(dtype, reduction, label_smoothing, ignore):
    rng = np.random.default_rng(5)
    n, c = 6, 7
    logits = rng.normal(scale=2, size=(n, c)).astype(dtype)
    target = make_target(rng, n, c, ignore_index=-100 if ignore else None)
    loss, log_probs = _C.cross_entropy_forward(logits, target, reduction, label_smoothing)
    assert loss.dtype == dtype and log_probs.dtype == dtype
    assert loss.shape == ((n,) if reduction == "none" else ())
    t = tol(dtype, n * c)
    np.testing.assert_allclose(log_probs, ref_log_softmax(logits), rtol=t, atol=t)
    np.testing.assert_allclose(loss, ref_cross_entropy(logits, target, reduction, label_smoothing), rtol=t, atol=t)

    grad_loss = rng.normal(size=n).astype(dtype) if reduction == "none" else np.array(1.7, dtype=dtype)
    dlogits = _C.cross_entropy_backward(log_probs, target, grad_loss, reduction, label_smoothing)
    want = ref_cross_entropy_grad(logits, target, grad_loss, reduction, label_smoothing)
    assert dlogits.dtype == dtype and dlogits.shape == (n, c)
    np.testing.assert_allclose(dlogits, want, rtol=t, atol=t)
    if ignore:
        assert np.all(dlogits[1] == 0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("ignore_index", [None, -100, 2])
def test_cross_entropy_backward_finite_differences(reduction, label_smoothing, ignore_index):
    rng = np.random.default_rng(6)
    n, c = 5, 4
    logits = rng.normal(size=(n, c))
    target = make_target(rng, n, c, ignore_index)
    ii = -100 if ignore_index is None else ignore_index
    w = rng.normal(size=n) if reduction == "none" else np.array(0.7)

    def f() -> float:
        loss, _ = _C.cross_entropy_forward(logits, target, reduction, label_smoothing, ii)
        return float((loss * w).sum())

    _, log_probs = _C.cross_entropy_forward(logits, target, reduction, label_smoothing, ii)
    analytic = _C.cross_entropy_backward(log_probs, target, w, reduction, label_smoothing, ii)
    assert_grad_close(analytic, numerical_grad(f, logits), name=f"cross_entropy {reduction}")


def test_cross_entropy_large_logits_are_stable():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [0.0, 0.0, 1e4]])
    target = np.array([0, 0, 1], dtype=np.int64)
    for dtype in DTYPES:
        loss, log_probs = _C.cross_entropy_forward(logits.astype(dtype), target, "none")
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(log_probs))
        np.testing.assert_allclose(loss, [0.0, 2e4, 1e4], rtol=1e-6)
        grad = _C.cross_entropy_backward(log_probs, target, np.ones(3, dtype=dtype), "none")
        np.testing.assert_allclose(grad, [[0, 0, 0], [-1, 1, 0], [0, -1, 1]], atol=1e-6)


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    logits = np.zeros((2, 3))
    target = np.array([-100, -100], dtype=np.int64)
    loss, log_probs = _C.cross_entropy_forward(logits, target)
    assert np.isnan(loss)
    grad = _C.cross_entropy_backward(log_probs, target, np.array(1.0))
    np.testing.assert_array_equal(grad, 0)
    total, _ = _C.cross_entropy_forward(logits, target, "sum")
    assert total == 0


def _torch_cross_entropy(torch, logits, target, grad_loss, **options):
    tl = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tl, torch.from_numpy(target), **options)
    loss.backward(torch.from_numpy(grad_loss))
    return {"loss": loss, "dlogits": tl.grad}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_against_torch(reduction, label_smoothing, ignore_index):
    rng = np.random.default_rng(7)
    n, c = 8, 5
    logits = rng.normal(scale=3, size=(n, c))
    target = make_target(rng, n, c, ignore_index)
    target[3] = ignore_index
    grad_loss = rng.normal(size=n) if reduction == "none" else np.array(1.3)
    options = dict(reduction=reduction, label_smoothing=label_smoothing, ignore_index=ignore_index)
    want = torch_reference(
        f"cross_entropy/{sorted(options.items())}",
        lambda torch: _torch_cross_entropy(torch, logits, target, grad_loss, **options),
    )
    loss, log_probs = _C.cross_entropy_forward(logits, target, reduction, label_smoothing, ignore_index)
    np.testing.assert_allclose(loss, want["loss"], rtol=1e-12, atol=1e-12)
    dlogits = _C.cross_entropy_backward(log_probs, target, grad_loss, reduction, label_smoothing, ignore_index)
    np.testing.assert_allclose(dlogits, want["dlogits"], rtol=1e-12, atol=1e-12)


def test_cross_entropy_threaded_matches_numpy_and_is_deterministic():
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(4000, 10)).astype(np.float32)
    target = make_target(rng, 4000, 10)
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        one, _ = _C.cross_entropy_forward(logits, target)
        _C.set_num_threads(2)
        two, _ = _C.cross_entropy_forward(logits, target)
    finally:
        _C.set_num_threads(before)
    assert one == two
    np.testing.assert_allclose(two, ref_cross_entropy(logits, target), rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 6),
    c=st.integers(1, 9),
    reduction=st.sampled_from(REDUCTIONS),
    label_smoothing=st.sampled_from([0.0, 0.1, 0.5]),
    seed=st.integers(0, 2**31),
)
def test_cross_entropy_shapes_property(n, c, reduction, label_smoothing, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c))
    target = make_target(rng, n, c)
    loss, log_probs = _C.cross_entropy_forward(logits, target, reduction, label_smoothing)
    np.testing.assert_allclose(loss, ref_cross_entropy(logits, target, reduction, label_smoothing), atol=1e-12)
    grad_loss = rng.normal(size=n) if reduction == "none" else np.array(0.5)
    np.testing.assert_allclose(
        _C.cross_entropy_backward(log_probs, target, grad_loss, reduction, label_smoothing),
        ref_cross_entropy_grad(logits, target, grad_loss, reduction, label_smoothing),
        atol=1e-12,
    )
    np.testing.assert_allclose(_C.softmax(logits), ref_softmax(logits), atol=1e-12)


# ---------------------------------------------------------------- bad input


def test_float32_exp_paths_accuracy_masks_and_nan():
    """The float kernels take exp with a vectorised polynomial (no nan kept: rows holding a nan go
    through libm): rows of every length within a few ulp of float64, -inf masks give exact zeros,
    and a nan, an all -inf row or a +inf logit give nan rows, as libm (and PyTorch). The lengths
    cross the vector loops' steps (32 floats) and the sums' blocks (1024)."""
    rng = np.random.default_rng(5)
    for cols in (1, 7, 8, 9, 31, 32, 33, 64, 1000, 1024, 1025, 3000):
        x = (rng.standard_normal((6, cols)) * 5).astype(np.float32)  # x - max rounds by |x - max| 2^-24
        x[1, 1::3] = -np.inf  # attention masks (never the whole row)
        x64 = x.astype(np.float64)
        want = ref_softmax(x64)
        np.testing.assert_allclose(_C.softmax(x), want, rtol=5e-6, atol=1e-37)
        assert np.all(_C.softmax(x)[1, 1::3] == 0)
        np.testing.assert_allclose(_C.log_softmax(x)[np.isfinite(x)], ref_log_softmax(x64)[np.isfinite(x)],
                                   rtol=2e-6, atol=2e-6)
        dy = rng.standard_normal(x.shape).astype(np.float32)
        y = _C.log_softmax(x)
        want_dx = dy - np.exp(y.astype(np.float64)) * dy.sum(1, keepdims=True)
        np.testing.assert_allclose(_C.log_softmax_backward(y, dy), want_dx, rtol=1e-5, atol=1e-5)
    special = np.array([[1, np.nan, 2], [-np.inf] * 3, [np.inf, 1, 2], [-np.inf, 0, 1]], np.float32)
    for fn in (_C.softmax, _C.log_softmax):
        got = fn(special)
        assert np.isnan(got[:3]).all() and not np.isnan(got[3]).any(), fn.__name__
    lp = _C.log_softmax(special)
    dx = _C.log_softmax_backward(lp, np.ones_like(lp))
    assert np.isnan(dx[:3]).all() and np.isfinite(dx[3]).all()
    # A nan or +inf anywhere in a long row: inside a vector step, in the tail.
    for where in (0, 31, 1024, 2999):
        for value in (np.nan, np.inf):
            row = rng.standard_normal((1, 3000)).astype(np.float32)
            row[0, where] = value
            for fn in (_C.softmax, _C.log_softmax):
                assert np.isnan(fn(row)).all(), (fn.__name__, where, value)
        loss, _ = _C.cross_entropy_forward(row, np.array([1]))
        assert np.isnan(loss)


@pytest.mark.parametrize("level", ["avx2", "generic"])
def test_float32_exp_paths_at_lower_simd_levels(level, tmp_path):
    """The float softmax rows are compiled per instruction set; the lower levels run the test
    above in a subprocess."""
    assert "1 passed" in run_tests_at_level(level, __file__, "test_float32_exp_paths_accuracy_masks_and_nan", tmp_path)


def test_softmax_bad_input():
    x = np.zeros((2, 3))
    with pytest.raises(TypeError, match="softmax"):
        _C.softmax(x.astype(np.int32))
    with pytest.raises(TypeError, match="log_softmax"):
        _C.log_softmax([[1.0, 2.0]])
    with pytest.raises(ValueError, match="softmax.*at least 1 dimension"):
        _C.softmax(np.array(1.0))
    with pytest.raises(ValueError, match="log_softmax.*C-contiguous"):
        _C.log_softmax(np.zeros((3, 4))[:, ::2])
    with pytest.raises(ValueError, match="softmax_backward.*dy has shape"):
        _C.softmax_backward(x, np.zeros((3, 2)))
    with pytest.raises(TypeError, match="log_softmax_backward.*dy has dtype"):
        _C.log_softmax_backward(x, x.astype(np.float32))
    with pytest.raises(ValueError, match="softmax_backward.*C-contiguous"):
        _C.softmax_backward(x, np.zeros((3, 2)).T)


def test_cross_entropy_forward_bad_input():
    logits = np.zeros((3, 4))
    target = np.array([0, 1, 3], dtype=np.int64)
    op = "cross_entropy_forward"
    with pytest.raises(ValueError, match=rf"{op}: target\[1\] = 4 is out of range for 4 classes"):
        _C.cross_entropy_forward(logits, np.array([0, 4, 1], dtype=np.int64))
    with pytest.raises(ValueError, match=rf"{op}: target\[2\] = -1 is out of range"):
        _C.cross_entropy_forward(logits, np.array([0, 1, -1], dtype=np.int64))
    with pytest.raises(ValueError, match=rf"{op}: target\[0\] = -100 is out of range"):
        _C.cross_entropy_forward(logits, np.array([-100, 1, 1], dtype=np.int64), ignore_index=0)
    with pytest.raises(TypeError, match=f"{op}: target must be int64"):
        _C.cross_entropy_forward(logits, target.astype(np.int32))
    with pytest.raises(TypeError, match=f"{op}: target must be int64"):
        _C.cross_entropy_forward(logits, target.astype(np.float64))
    with pytest.raises(TypeError, match=f"{op}: logits must be float32 or float64"):
        _C.cross_entropy_forward(logits.astype(np.int64), target)
    with pytest.raises(ValueError, match=f"{op}: target must have shape"):
        _C.cross_entropy_forward(logits, target[:2])
    with pytest.raises(ValueError, match=f"{op}: target must have shape"):
        _C.cross_entropy_forward(logits, target.reshape(3, 1))
    with pytest.raises(ValueError, match=f"{op}: target must be C-contiguous"):
        _C.cross_entropy_forward(logits, np.zeros(6, dtype=np.int64)[::2])
    with pytest.raises(ValueError, match=f"{op}: logits must have 2 dimensions"):
        _C.cross_entropy_forward(np.zeros(4), np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match=f"{op}: logits needs at least one class"):
        _C.cross_entropy_forward(np.zeros((3, 0)), target)
    with pytest.raises(ValueError, match=f"{op}: logits must be C-contiguous"):
        _C.cross_entropy_forward(np.zeros((4, 3)).T, target)
    with pytest.raises(ValueError, match=f"{op}: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        _C.cross_entropy_forward(logits, target, "avg")
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=f"{op}: label_smoothing must be in"):
            _C.cross_entropy_forward(logits, target, "mean", bad)
    with pytest.raises(TypeError, match=f"{op}: target must be a numpy.ndarray"):
        _C.cross_entropy_forward(logits, [0, 1, 3])


def test_cross_entropy_backward_bad_input():
    logits = np.zeros((3, 4))
    target = np.array([0, 1, 3], dtype=np.int64)
    _, log_probs = _C.cross_entropy_forward(logits, target)
    op = "cross_entropy_backward"
    with pytest.raises(ValueError, match=rf"{op}: target\[0\] = 9 is out of range for 4 classes"):
        _C.cross_entropy_backward(log_probs, np.array([9, 1, 1], dtype=np.int64), np.array(1.0))
    with pytest.raises(ValueError, match=f"{op}: grad_loss.*must have shape \\(\\)"):
        _C.cross_entropy_backward(log_probs, target, np.ones(3))
    with pytest.raises(ValueError, match=f"{op}: grad_loss.*must have shape \\(3,\\)"):
        _C.cross_entropy_backward(log_probs, target, np.array(1.0), "none")
    with pytest.raises(ValueError, match=f"{op}: grad_loss must be C-contiguous"):
        _C.cross_entropy_backward(log_probs, target, np.ones(6)[::2], "none")
    with pytest.raises(TypeError, match=f"{op}: grad_loss has dtype float32"):
        _C.cross_entropy_backward(log_probs, target, np.array(1.0, dtype=np.float32))
    with pytest.raises(TypeError, match=f"{op}: grad_loss must be a numpy.ndarray"):
        _C.cross_entropy_backward(log_probs, target, 1.0)
    with pytest.raises(TypeError, match=f"{op}: target must be int64"):
        _C.cross_entropy_backward(log_probs, target.astype(np.uint8), np.array(1.0))
    with pytest.raises(ValueError, match=f"{op}: reduction must be"):
        _C.cross_entropy_backward(log_probs, target, np.array(1.0), "max")
    with pytest.raises(ValueError, match=f"{op}: log_probs must have 2 dimensions"):
        _C.cross_entropy_backward(log_probs[None], target, np.array(1.0))
