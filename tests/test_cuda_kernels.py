"""CUDA kernels of the gemm, conv, pool and softmax_loss families and the LSTM step (_C.cuda.*),
each checked against its CPU twin (_C.*) on the same inputs: same results
(float32 within a tolerance scaled by the reduction length, float64 tight),
same argument checks.

Runs on a real GPU or on the SIMT emulator (tools/build_emulated.sh, then
PYTHONPATH=build/emulated/pkg pytest); skips elsewhere. Sizes stay small so the
file runs in well under a minute on the emulator.
"""

import numpy as np
import pytest
from gradcheck_utils import float32_tol
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import _C

pytestmark = pytest.mark.skipif(
    not _C.build_info()["cuda"] or not _C.cuda.is_available(),
    reason="needs a CUDA build with a device (or the EMULATE build)",
)

DTYPES = [np.float32, np.float64]


def dev(a):
    return _C.cuda.from_numpy(np.asarray(a))


def host(a):
    return None if a is None else a.to_numpy()


def rand(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def assert_close(got, want, dtype, length=1):
    """got (device result, on the host) against the CPU kernel's want."""
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = float32_tol(length) if dtype == np.float32 else 1e-12 * max(1.0, np.sqrt(length))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# ---- gemm ---------------------------------------------------------------------

GEMM_SIZES = [(1, 1, 1), (15, 16, 17), (16, 16, 16), (17, 33, 15), (33, 17, 65), (65, 65, 33), (1, 65, 64), (64, 1, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("mnk", GEMM_SIZES)
def test_gemm_matches_cpu(dtype, trans_a, trans_b, mnk):
    M, N, K = mnk
    a = rand((K, M) if trans_a else (M, K), dtype, 1)
    b = rand((N, K) if trans_b else (K, N), dtype, 2)
    got = _C.cuda.gemm(dev(a), dev(b), trans_a=trans_a, trans_b=trans_b).to_numpy()
    assert_close(got, _C.gemm(a, b, trans_a=trans_a, trans_b=trans_b), dtype, K)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_alpha_beta_out(dtype):
    M, N, K = 17, 35, 20
    a, b, c = rand((M, K), dtype, 3), rand((N, K), dtype, 4), rand((M, N), dtype, 5)
    out = dev(c)
    ret = _C.cuda.gemm(dev(a), dev(b), trans_b=True, alpha=0.5, beta=-2.0, out=out)
    assert ret is out
    assert_close(out.to_numpy(), _C.gemm(a, b, trans_b=True, alpha=0.5, beta=-2.0, out=c.copy()), dtype, K)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_bias_matches_cpu(dtype):
    """The bias added as the product is written: tiles with ragged edges, beta 0 and not, a batch,
    and K == 0 (bias alone)."""
    for M, N, K in [(17, 35, 20), (1, 65, 64), (64, 1, 1)]:
        a, b, c, bias = rand((M, K), dtype, 3), rand((N, K), dtype, 4), rand((M, N), dtype, 5), rand((N,), dtype, 6)
        for beta in (0.0, -2.0):
            out = dev(c)
            _C.cuda.gemm(dev(a), dev(b), trans_b=True, beta=beta, out=out, bias=dev(bias))
            want = _C.gemm(a, b, trans_b=True, beta=beta, out=c.copy(), bias=bias)
            assert_close(out.to_numpy(), want, dtype, K)
    stack, bias = rand((3, 6, 7), dtype, 7), rand((5,), dtype, 8)
    b = rand((7, 5), dtype, 9)
    assert_close(_C.cuda.gemm(dev(stack), dev(b), bias=dev(bias)).to_numpy(), _C.gemm(stack, b, bias=bias), dtype, 7)
    empty = _C.cuda.gemm(dev(np.ones((3, 0), dtype)), dev(np.ones((0, 5), dtype)), bias=dev(bias)).to_numpy()
    np.testing.assert_array_equal(empty, np.broadcast_to(bias, (3, 5)))
    with pytest.raises(ValueError, match="gemm.*bias"):  # N is 5
        _C.cuda.gemm(dev(rand((6, 7), dtype, 11)), dev(b), bias=dev(rand((4,), dtype, 10)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_two_batch_axes_match_cpu(dtype, trans_b):
    """(B1, B2, rows, cols) operands (the products in groups of B2, GemmBatch.group), one shared
    2-D operand, and a 4-D out."""
    a = rand((2, 3, 5, 6), dtype, 12)
    b = rand((2, 3, 4, 6) if trans_b else (2, 3, 6, 4), dtype, 13)
    shared = rand((4, 6) if trans_b else (6, 4), dtype, 14)
    for other in (b, shared):
        got = _C.cuda.gemm(dev(a), dev(other), trans_b=trans_b).to_numpy()
        assert got.shape == (2, 3, 5, 4)
        assert_close(got, _C.gemm(a, other, trans_b=trans_b), dtype, 6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_beta_zero_ignores_nan_and_alpha_zero_skips_inputs(dtype):
    a, b = rand((5, 7), dtype, 6), rand((7, 3), dtype, 7)
    out = dev(np.full((5, 3), np.nan, dtype))
    _C.cuda.gemm(dev(a), dev(b), out=out)
    assert_close(out.to_numpy(), a @ b, dtype, 7)
    nan_a = np.full((5, 7), np.nan, dtype)
    c = rand((5, 3), dtype, 8)
    out = dev(c)
    _C.cuda.gemm(dev(nan_a), dev(b), alpha=0.0, beta=3.0, out=out)
    assert_close(out.to_numpy(), 3.0 * c, dtype)


def test_gemm_empty_dimensions():
    zero_k = _C.cuda.gemm(dev(np.zeros((3, 0), np.float64)), dev(np.zeros((0, 2), np.float64)))
    np.testing.assert_array_equal(zero_k.to_numpy(), np.zeros((3, 2)))
    a, b = np.zeros((4, 0), np.float32), np.zeros((0, 3), np.float32)
    c = rand((4, 3), np.float32, 9)
    out = dev(c)
    _C.cuda.gemm(dev(a), dev(b), beta=2.0, out=out)
    np.testing.assert_array_equal(out.to_numpy(), 2.0 * c)
    assert _C.cuda.gemm(dev(np.zeros((0, 5), np.float32)), dev(np.zeros((5, 2), np.float32))).shape == (0, 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shapes", [((3, 5, 4), (3, 4, 6)), ((5, 4), (3, 4, 6)), ((3, 5, 4), (4, 6)), ((0, 2, 3), (0, 3, 2))]
)
def test_gemm_batches_match_cpu(dtype, shapes):
    a, b = rand(shapes[0], dtype, 1), rand(shapes[1], dtype, 2)
    assert_close(_C.cuda.gemm(dev(a), dev(b)).to_numpy(), _C.gemm(a, b), dtype, a.shape[-1])
    with pytest.raises(ValueError, match="gemm: batch sizes differ"):
        _C.cuda.gemm(dev(rand((2, 5, 4), dtype, 1)), dev(rand((3, 4, 6), dtype, 2)))


def test_gemm_bad_input():
    a32, b32 = dev(np.ones((3, 4), np.float32)), dev(np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match="gemm.*inner dimensions"):
        _C.cuda.gemm(a32, a32)
    with pytest.raises(TypeError, match="gemm"):
        _C.cuda.gemm(a32, dev(np.ones((4, 5), np.float64)))
    with pytest.raises(TypeError, match="gemm"):
        _C.cuda.gemm(np.ones((3, 4), np.float32), b32)
    with pytest.raises(TypeError, match="gemm"):
        _C.cuda.gemm(dev(np.ones((3, 4), np.int64)), b32)
    with pytest.raises(ValueError, match="gemm.*dimensions"):
        _C.cuda.gemm(dev(np.ones(4, np.float32)), b32)
    with pytest.raises(ValueError, match="gemm.*beta"):
        _C.cuda.gemm(a32, b32, beta=1.0)
    with pytest.raises(ValueError, match="gemm.*shape"):
        _C.cuda.gemm(a32, b32, out=dev(np.ones((5, 3), np.float32)))
    with pytest.raises(ValueError, match="gemm.*share memory"):
        square = dev(np.ones((4, 4), np.float32))
        _C.cuda.gemm(square, square, out=square)


# ---- conv2d -------------------------------------------------------------------

# (N, C_in, H, W, C_out, KH, KW, stride, padding, dilation, groups, bias)
CONV_CASES = [
    (1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, True),  # 1x1 image, pointwise
    (2, 3, 7, 6, 5, 3, 3, 1, 1, 1, 1, True),
    (1, 4, 9, 8, 6, 3, 2, (2, 1), (1, 0), 1, 2, False),  # groups, non-square
    (2, 3, 8, 8, 4, 1, 1, 1, 0, 1, 1, False),  # pointwise: no im2col
    (1, 6, 7, 7, 6, 3, 3, 2, 1, 1, 6, True),  # depthwise
    (2, 2, 9, 10, 3, 3, 3, 1, 2, 2, 1, True),  # dilation + padding
    (1, 2, 5, 5, 3, 5, 5, 1, 0, 1, 1, True),  # kernel = image
    (2, 3, 6, 7, 2, 2, 2, 3, 0, 1, 1, False),  # stride > kernel
    (1, 2, 1, 1, 2, 3, 3, 1, 1, 1, 2, True),  # 1x1 image, padding only around it
    (3, 4, 5, 4, 4, 2, 3, (1, 2), (1, 1), (2, 1), 2, True),
    (1, 17, 6, 5, 33, 3, 3, 1, 1, 1, 1, True),  # GEMM tile edges: K = 153, M = 33
]


def conv_args(case, dtype, seed=0):
    N, C, H, W, C_out, KH, KW, stride, padding, dilation, groups, has_bias = case
    x = rand((N, C, H, W), dtype, seed)
    w = rand((C_out, C // groups, KH, KW), dtype, seed + 1)
    b = rand((C_out,), dtype, seed + 2) if has_bias else None
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_cpu(dtype, case):
    x, w, b, kw = conv_args(case, dtype)
    k_len = w[0].size
    y = _C.conv2d_forward(x, w, b, **kw)
    got = _C.cuda.conv2d_forward(dev(x), dev(w), None if b is None else dev(b), **kw).to_numpy()
    assert_close(got, y, dtype, k_len)

    dy = rand(y.shape, dtype, 7)
    want = _C.conv2d_backward(dy, x, w, **kw)
    got = [host(g) for g in _C.cuda.conv2d_backward(dev(dy), dev(x), dev(w), **kw)]
    assert_close(got[0], want[0], dtype, w.shape[0] * w[0, 0].size)
    assert_close(got[1], want[1], dtype, x.shape[0] * y[0, 0].size)
    assert_close(got[2], want[2], dtype, x.shape[0] * y[0, 0].size)
    assert np.any(got[1] != 0)


def test_conv2d_backward_need_flags_and_determinism():
    x, w, _, kw = conv_args(CONV_CASES[9], np.float32)
    dy = rand(_C.conv2d_forward(x, w, None, **kw).shape, np.float32, 3)
    args = (dev(dy), dev(x), dev(w))
    dx, dw, db = _C.cuda.conv2d_backward(*args, **kw, need_input_grad=False, need_bias_grad=False)
    assert dx is None and db is None and dw.shape == w.shape
    dx, dw, db = _C.cuda.conv2d_backward(*args, **kw, need_weight_grad=False)
    assert dw is None and dx.shape == x.shape and db.shape == (w.shape[0],)
    first = [g.to_numpy() for g in _C.cuda.conv2d_backward(*args, **kw)]
    second = [g.to_numpy() for g in _C.cuda.conv2d_backward(*args, **kw)]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_conv2d_bad_input():
    x, w = dev(np.ones((1, 4, 5, 5), np.float32)), dev(np.ones((2, 2, 3, 3), np.float32))
    with pytest.raises(ValueError, match="conv2d_forward.*groups"):
        _C.cuda.conv2d_forward(x, w, groups=3)
    with pytest.raises(ValueError, match="conv2d_forward.*shape\\[1\\]"):
        _C.cuda.conv2d_forward(x, w)
    with pytest.raises(TypeError, match="conv2d_forward"):
        _C.cuda.conv2d_forward(x, dev(np.ones((2, 2, 3, 3), np.float64)), groups=2)
    with pytest.raises(ValueError, match="conv2d_forward.*empty"):
        _C.cuda.conv2d_forward(dev(np.ones((0, 4, 5, 5), np.float32)), w, groups=2)
    with pytest.raises(ValueError, match="conv2d_forward.*does not fit"):
        _C.cuda.conv2d_forward(dev(np.ones((1, 4, 2, 2), np.float32)), w, groups=2)
    with pytest.raises(ValueError, match="conv2d_forward.*stride"):
        _C.cuda.conv2d_forward(x, w, groups=2, stride=0)
    with pytest.raises(ValueError, match="conv2d_forward.*bias"):
        _C.cuda.conv2d_forward(x, w, dev(np.ones(3, np.float32)), groups=2)
    with pytest.raises(TypeError, match="conv2d_forward"):
        _C.cuda.conv2d_forward(np.ones((1, 4, 5, 5), np.float32), w, groups=2)
    with pytest.raises(ValueError, match="conv2d_backward.*dy"):
        _C.cuda.conv2d_backward(dev(np.ones((1, 2, 4, 4), np.float32)), x, w, groups=2)


# ---- pooling ------------------------------------------------------------------

# (shape, kernel_size, stride, padding, dilation, ceil_mode)
MAX_POOL_CASES = [
    ((1, 1, 1, 1), 1, None, 0, 1, False),
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((1, 2, 7, 9), 3, 2, 1, 1, True),
    ((2, 1, 9, 7), (3, 2), (2, 1), (1, 0), (2, 1), False),
    ((1, 3, 6, 5), 2, 3, 1, 1, True),  # stride > kernel
    ((1, 1, 5, 6), (5, 6), None, 0, 1, False),  # kernel = image
    ((2, 2, 10, 11), 3, 1, 1, 2, True),  # overlapping windows
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pool2d_matches_cpu(dtype, case):
    shape, k, s, p, d, ceil = case
    x = rand(shape, dtype, 11)
    y, idx = _C.max_pool2d_forward(x, k, s, p, d, ceil)
    gy, gidx = _C.cuda.max_pool2d_forward(dev(x), k, s, p, d, ceil)
    np.testing.assert_array_equal(gy.to_numpy(), y)
    np.testing.assert_array_equal(gidx.to_numpy(), idx)
    assert gidx.dtype == np.int64
    dy = rand(y.shape, dtype, 12)
    want = _C.max_pool2d_backward(dy, idx, shape)
    got = _C.cuda.max_pool2d_backward(dev(dy), gidx, shape).to_numpy()
    assert_close(got, want, dtype, 9)


def test_max_pool2d_nan_and_ties_like_cpu():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 1] = np.nan
    y, idx = _C.max_pool2d_forward(x, 2)
    gy, gidx = _C.cuda.max_pool2d_forward(dev(x), 2)
    np.testing.assert_array_equal(gy.to_numpy(), y)
    np.testing.assert_array_equal(gidx.to_numpy(), idx)


def test_max_pool2d_bad_input():
    x = dev(np.ones((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="max_pool2d_forward.*padding"):
        _C.cuda.max_pool2d_forward(x, 2, padding=2)
    with pytest.raises(ValueError, match="max_pool2d_forward.*does not fit"):
        _C.cuda.max_pool2d_forward(x, 5)
    with pytest.raises(ValueError, match="max_pool2d_forward.*only padding"):
        _C.cuda.max_pool2d_forward(dev(np.ones((1, 1, 2, 2), np.float32)), 2, stride=1, padding=1, dilation=3)
    with pytest.raises(ValueError, match="max_pool2d_forward.*dimensions"):
        _C.cuda.max_pool2d_forward(dev(np.ones((4, 4), np.float32)), 2)
    with pytest.raises(TypeError, match="max_pool2d_forward"):
        _C.cuda.max_pool2d_forward(dev(np.ones((1, 1, 4, 4), np.int64)), 2)
    dy = dev(np.ones((1, 1, 2, 2), np.float32))
    bad = np.zeros((1, 1, 2, 2), np.int64)
    bad[0, 0, 1, 0] = 16
    with pytest.raises(ValueError, match="max_pool2d_backward.*found 16 at flat position 2"):
        _C.cuda.max_pool2d_backward(dy, dev(bad), (1, 1, 4, 4))
    bad[0, 0, 1, 0] = -1
    with pytest.raises(ValueError, match="max_pool2d_backward.*found -1"):
        _C.cuda.max_pool2d_backward(dy, dev(bad), (1, 1, 4, 4))
    with pytest.raises(TypeError, match="max_pool2d_backward"):
        _C.cuda.max_pool2d_backward(dy, dev(np.zeros((1, 1, 2, 2), np.float32)), (1, 1, 4, 4))
    with pytest.raises(ValueError, match="max_pool2d_backward.*batch or channels"):
        _C.cuda.max_pool2d_backward(dy, dev(np.zeros((1, 1, 2, 2), np.int64)), (1, 2, 4, 4))


# (shape, kernel_size, stride, padding, ceil_mode, count_include_pad)
AVG_POOL_CASES = [
    ((1, 1, 1, 1), 1, None, 0, False, True),
    ((2, 3, 8, 8), 2, None, 0, False, True),
    ((1, 2, 7, 9), 3, 2, 1, True, True),
    ((1, 2, 7, 9), 3, 2, 1, True, False),
    ((2, 1, 9, 7), (3, 2), (2, 1), (1, 0), False, False),
    ((1, 3, 6, 5), 2, 3, 1, True, True),
    ((2, 2, 10, 11), 3, 1, 1, False, True),  # overlapping windows
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", AVG_POOL_CASES)
def test_avg_pool2d_matches_cpu(dtype, case):
    shape, k, s, p, ceil, cip = case
    x = rand(shape, dtype, 13)
    y = _C.avg_pool2d_forward(x, k, s, p, ceil, cip)
    assert_close(_C.cuda.avg_pool2d_forward(dev(x), k, s, p, ceil, cip).to_numpy(), y, dtype, 9)
    dy = rand(y.shape, dtype, 14)
    want = _C.avg_pool2d_backward(dy, shape, k, s, p, ceil, cip)
    assert_close(_C.cuda.avg_pool2d_backward(dev(dy), shape, k, s, p, ceil, cip).to_numpy(), want, dtype, 9)


def test_avg_pool2d_bad_input():
    with pytest.raises(ValueError, match="avg_pool2d_forward.*padding"):
        _C.cuda.avg_pool2d_forward(dev(np.ones((1, 1, 4, 4), np.float32)), 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d_backward.*shape"):
        _C.cuda.avg_pool2d_backward(dev(np.ones((1, 1, 3, 2), np.float32)), (1, 1, 4, 4), 2)
    with pytest.raises(TypeError, match="avg_pool2d_backward.*input_shape"):
        _C.cuda.avg_pool2d_backward(dev(np.ones((1, 1, 2, 2), np.float32)), (1, 4, 4), 2)


# ---- softmax and cross-entropy ------------------------------------------------

SOFTMAX_SHAPES = [(1,), (3, 1), (5, 33), (2, 3, 257), (4, 600)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_matches_cpu(dtype, shape, name):
    x = rand(shape, dtype, 21) * 5 + 100  # a large shift: the max subtraction matters
    y = getattr(_C, name)(x)
    gy = getattr(_C.cuda, name)(dev(x))
    assert_close(gy.to_numpy(), y, dtype, shape[-1])
    dy = rand(shape, dtype, 22)
    want = getattr(_C, name + "_backward")(y, dy)
    got = getattr(_C.cuda, name + "_backward")(gy, dev(dy)).to_numpy()
    assert_close(got, want, dtype, shape[-1])


def test_softmax_bad_input():
    with pytest.raises(ValueError, match="softmax.*dimension"):
        _C.cuda.softmax(dev(np.array(1.0, np.float32)))
    with pytest.raises(TypeError, match="log_softmax"):
        _C.cuda.log_softmax(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="softmax_backward"):
        _C.cuda.softmax_backward(dev(np.ones((2, 3), np.float32)), dev(np.ones((3, 2), np.float32)))
    with pytest.raises(TypeError, match="log_softmax_backward"):
        _C.cuda.log_softmax_backward(dev(np.ones(3, np.float32)), dev(np.ones(3, np.float64)))


CE_CASES = [  # (N, C, reduction, label_smoothing, ignore_index, ignored rows)
    (1, 1, "mean", 0.0, -100, []),
    (7, 10, "mean", 0.0, -100, []),
    (7, 10, "sum", 0.1, -100, [2]),
    (7, 10, "none", 0.2, 3, [0, 5]),
    (33, 300, "mean", 0.05, -1, [1, 4, 30]),
    (3, 5, "mean", 0.0, -100, [0, 1, 2]),  # all ignored: 0/0 = nan, as the CPU
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CE_CASES)
def test_cross_entropy_matches_cpu(dtype, case):
    N, C, red, ls, ignore, ignored = case
    logits = rand((N, C), dtype, 31) * 3
    target = np.random.default_rng(32).integers(0, C, N).astype(np.int64)
    target[ignored] = ignore
    kw = dict(reduction=red, label_smoothing=ls, ignore_index=ignore)
    loss, lp = _C.cross_entropy_forward(logits, target, **kw)
    gloss, glp = _C.cuda.cross_entropy_forward(dev(logits), dev(target), **kw)
    assert_close(glp.to_numpy(), lp, dtype, C)
    assert_close(gloss.to_numpy(), loss, dtype, N * C)
    grad = rand(loss.shape, dtype, 33)
    want = _C.cross_entropy_backward(lp, target, grad, **kw)
    got = _C.cuda.cross_entropy_backward(glp, dev(target), dev(grad), **kw).to_numpy()
    assert_close(got, want, dtype, C)


def test_cross_entropy_bad_input():
    logits = dev(np.zeros((3, 4), np.float32))
    for bad in (4, -2):
        with pytest.raises(ValueError, match="cross_entropy_forward.*target\\[1\\]"):
            _C.cuda.cross_entropy_forward(logits, dev(np.array([0, bad, 1], np.int64)))
    target = dev(np.array([0, 1, 2], np.int64))
    with pytest.raises(TypeError, match="cross_entropy_forward.*int64"):
        _C.cuda.cross_entropy_forward(logits, dev(np.array([0, 1, 2], np.float32)))
    with pytest.raises(ValueError, match="cross_entropy_forward.*shape"):
        _C.cuda.cross_entropy_forward(logits, dev(np.array([0, 1], np.int64)))
    with pytest.raises(ValueError, match="cross_entropy_forward.*reduction"):
        _C.cuda.cross_entropy_forward(logits, target, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy_forward.*label_smoothing"):
        _C.cuda.cross_entropy_forward(logits, target, label_smoothing=1.5)
    with pytest.raises(ValueError, match="cross_entropy_forward.*class"):
        _C.cuda.cross_entropy_forward(dev(np.zeros((3, 0), np.float32)), target)
    _, lp = _C.cuda.cross_entropy_forward(logits, target)
    with pytest.raises(ValueError, match="cross_entropy_backward.*grad_loss"):
        _C.cuda.cross_entropy_backward(lp, target, dev(np.ones(3, np.float32)))
    with pytest.raises(TypeError, match="cross_entropy_backward"):
        _C.cuda.cross_entropy_backward(lp, target, dev(np.array(1.0)))
    with pytest.raises(ValueError, match="cross_entropy_backward.*target\\[0\\]"):
        _C.cuda.cross_entropy_backward(lp, dev(np.array([9, 1, 2], np.int64)), dev(np.array(1.0, np.float32)))


def test_softmax_and_cross_entropy_empty_like_cpu():
    for shape in [(0, 5), (3, 0)]:
        x = np.zeros(shape, np.float32)
        for name in ["softmax", "log_softmax"]:
            assert getattr(_C.cuda, name)(dev(x)).shape == shape
    logits, target = np.zeros((0, 4), np.float64), np.zeros(0, np.int64)
    for red in ["mean", "sum", "none"]:
        loss, lp = _C.cross_entropy_forward(logits, target, reduction=red)
        gloss, glp = _C.cuda.cross_entropy_forward(dev(logits), dev(target), reduction=red)
        np.testing.assert_array_equal(gloss.to_numpy(), loss)
        assert glp.shape == (0, 4)
        got = _C.cuda.cross_entropy_backward(glp, dev(target), dev(np.ones_like(loss)), reduction=red)
        assert got.shape == (0, 4)


def test_conv2d_in_several_image_chunks():
    # 8.3 MB of float64 im2col columns per image: conv.cu's 16 MB budget makes chunks of 2 + 1 images.
    x, w, b = rand((3, 4, 170, 170), np.float64, 41), rand((2, 4, 3, 3), np.float64, 42), rand((2,), np.float64, 43)
    y = _C.conv2d_forward(x, w, b, padding=1)
    assert_close(_C.cuda.conv2d_forward(dev(x), dev(w), dev(b), padding=1).to_numpy(), y, np.float64, 36)
    dy = rand(y.shape, np.float64, 44)
    want = _C.conv2d_backward(dy, x, w, padding=1)
    got = _C.cuda.conv2d_backward(dev(dy), dev(x), dev(w), padding=1)
    for g, ref in zip(got, want, strict=True):
        assert_close(g.to_numpy(), ref, np.float64, dy[:, 0].size)


# ---- random geometries (hypothesis) ---------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 70), st.integers(1, 70), st.integers(1, 70), st.booleans(), st.booleans(), st.integers(0, 99))
def test_gemm_random_shapes(M, N, K, trans_a, trans_b, seed):
    a = rand((K, M) if trans_a else (M, K), np.float32, seed)
    b = rand((N, K) if trans_b else (K, N), np.float32, seed + 1)
    got = _C.cuda.gemm(dev(a), dev(b), trans_a=trans_a, trans_b=trans_b).to_numpy()
    assert_close(got, _C.gemm(a, b, trans_a=trans_a, trans_b=trans_b), np.float32, K)


@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 5))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 5))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    n, has_bias = draw(st.integers(1, 3)), draw(st.booleans())
    return (n, c_in, h, w, c_out, kh, kw, (sh, sw), (ph, pw), (dh, dw), groups, has_bias)


@settings(max_examples=30, deadline=None)
@given(conv_cases(), st.integers(0, 99))
def test_conv2d_random_geometry(case, seed):
    x, w, b, kw = conv_args(case, np.float64, seed)
    y = _C.conv2d_forward(x, w, b, **kw)
    assert_close(_C.cuda.conv2d_forward(dev(x), dev(w), None if b is None else dev(b), **kw).to_numpy(), y, np.float64)
    dy = rand(y.shape, np.float64, seed + 3)
    want = _C.conv2d_backward(dy, x, w, **kw)
    for g, ref in zip(_C.cuda.conv2d_backward(dev(dy), dev(x), dev(w), **kw), want, strict=True):
        assert_close(g.to_numpy(), ref, np.float64)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.booleans(),
    st.booleans(),
    st.integers(0, 6),
    st.integers(0, 6),
    st.integers(0, 99),
)
def test_pool2d_random_geometry(kh, kw, sh, sw, dilation, ceil_mode, count_include_pad, extra_h, extra_w, seed):
    ph, pw = kh // 2, kw // 2
    h = max(1, dilation * (kh - 1) + 1 - 2 * ph) + extra_h
    w = max(1, dilation * (kw - 1) + 1 - 2 * pw) + extra_w
    shape = (2, 2, h, w)
    x = rand(shape, np.float64, seed)
    args = ((kh, kw), (sh, sw), (ph, pw))
    try:
        y, idx = _C.max_pool2d_forward(x, *args, dilation, ceil_mode)
    except ValueError:  # a window of padding only: the device must refuse it too
        with pytest.raises(ValueError, match="max_pool2d_forward"):
            _C.cuda.max_pool2d_forward(dev(x), *args, dilation, ceil_mode)
    else:
        gy, gidx = _C.cuda.max_pool2d_forward(dev(x), *args, dilation, ceil_mode)
        np.testing.assert_array_equal(gy.to_numpy(), y)
        np.testing.assert_array_equal(gidx.to_numpy(), idx)
        dy = rand(y.shape, np.float64, seed + 1)
        got = _C.cuda.max_pool2d_backward(dev(dy), gidx, shape).to_numpy()
        assert_close(got, _C.max_pool2d_backward(dy, idx, shape), np.float64)
    y = _C.avg_pool2d_forward(x, *args, ceil_mode, count_include_pad)
    assert_close(_C.cuda.avg_pool2d_forward(dev(x), *args, ceil_mode, count_include_pad).to_numpy(), y, np.float64)
    dy = rand(y.shape, np.float64, seed + 2)
    want = _C.avg_pool2d_backward(dy, shape, *args, ceil_mode, count_include_pad)
    got = _C.cuda.avg_pool2d_backward(dev(dy), shape, *args, ceil_mode, count_include_pad).to_numpy()
    assert_close(got, want, np.float64)


# ---- lstm_cell (elementwise family) ---------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (4, 33)])
def test_lstm_cell_matches_cpu(dtype, shape):
    N, H = shape
    gates, c = 3 * rand((N, 4 * H), dtype, 1), rand((N, H), dtype, 2)
    want = _C.lstm_cell(gates, c)
    got = _C.cuda.lstm_cell(dev(gates), dev(c))
    for a, b in zip(got, want, strict=True):
        assert_close(host(a), b, dtype)
    dh, dc_next = rand((N, H), dtype, 3), rand((N, H), dtype, 4)
    h, c_next, acts, tanh_c = want
    want_back = _C.lstm_cell_backward(dh, dc_next, acts, c, tanh_c)
    got_back = _C.cuda.lstm_cell_backward(dev(dh), dev(dc_next), dev(acts), dev(c), dev(tanh_c))
    for a, b in zip(got_back, want_back, strict=True):
        assert_close(host(a), b, dtype)


def test_lstm_cell_bad_input():
    g, c = dev(np.zeros((2, 8), np.float32)), dev(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="gates must be"):
        _C.cuda.lstm_cell(dev(np.zeros((2, 6), np.float32)), c)
    with pytest.raises(ValueError, match="c"):
        _C.cuda.lstm_cell(g, dev(np.zeros((3, 2), np.float32)))
    with pytest.raises(TypeError, match="dtype"):
        _C.cuda.lstm_cell(g, dev(np.zeros((2, 2), np.float64)))
    with pytest.raises(TypeError):
        _C.cuda.lstm_cell(np.zeros((2, 8), np.float32), c)  # a host array


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_sequence_matches_cpu(dtype, reverse):
    L, N, H = 4, 3, 5
    gates, w_t = rand((L, N, 4 * H), dtype, 1), rand((H, 4 * H), dtype, 2) / 3
    h0, c0 = rand((N, H), dtype, 3), rand((N, H), dtype, 4)
    dev_gates = dev(gates)
    got = _C.cuda.lstm_sequence(dev_gates, dev(w_t), dev(h0), dev(c0), reverse)
    want = _C.lstm_sequence(gates, w_t, h0, c0, reverse)  # writes gates in place, as on the device
    for a, b in zip(got, want, strict=True):
        assert_close(host(a), b, dtype, H)
    assert_close(host(dev_gates), gates, dtype, H)
    hs, cs, acts, tanh_cs = want
    dh, dc, grad_hs = rand((N, H), dtype, 5), rand((N, H), dtype, 6), rand((L, N, H), dtype, 7)
    w_hh = np.ascontiguousarray(w_t.T)
    got_back = _C.cuda.lstm_sequence_backward(dev(dh), dev(dc), dev(grad_hs), dev(acts), dev(cs), dev(tanh_cs),
                                              dev(c0), dev(w_hh), reverse)
    for a, b in zip(got_back, _C.lstm_sequence_backward(dh, dc, grad_hs, acts, cs, tanh_cs, c0, w_hh, reverse),
                    strict=True):
        assert_close(host(a), b, dtype, 4 * H)
    with pytest.raises(ValueError, match="lstm_sequence"):
        _C.cuda.lstm_sequence(dev(gates), dev(w_t), dev(h0), dev(rand((N + 1, H), dtype, 4)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reverse", [False, True])
def test_gru_sequence_matches_cpu(dtype, reverse):
    L, N, H = 4, 3, 5
    x_proj, w_t, b_hh, h0 = (rand(shape, dtype, seed) for seed, shape in
                             enumerate([(L, N, 3 * H), (H, 3 * H), (3 * H,), (N, H)]))  # fmt: skip
    want = _C.gru_sequence(x_proj, w_t, b_hh, h0, reverse)
    got = _C.cuda.gru_sequence(dev(x_proj), dev(w_t), dev(b_hh), dev(h0), reverse)
    for a, b in zip(got, want, strict=True):
        assert_close(host(a), b, dtype, 3 * H)
    hs, acts, h_projs = want
    dh, grad_hs, w_hh = rand((N, H), dtype, 5), rand((L, N, H), dtype, 6), np.ascontiguousarray(w_t.T)
    got_back = _C.cuda.gru_sequence_backward(dev(dh), dev(grad_hs), dev(acts), dev(h_projs), dev(hs), dev(h0),
                                             dev(w_hh), reverse)
    for a, b in zip(got_back, _C.gru_sequence_backward(dh, grad_hs, acts, h_projs, hs, h0, w_hh, reverse),
                    strict=True):
        assert_close(host(a), b, dtype, 3 * H)
    assert_close(host(_C.cuda.gru_sequence(dev(x_proj), dev(w_t), None, dev(h0), reverse)[0]),
                 _C.gru_sequence(x_proj, w_t, None, h0, reverse)[0], dtype, 3 * H)
    with pytest.raises(ValueError, match="gru_sequence"):
        _C.cuda.gru_sequence(dev(x_proj), dev(w_t), None, dev(rand((N + 1, H), dtype, 4)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (4, 33)])
def test_gru_cell_matches_cpu(dtype, shape):
    N, H = shape
    x_proj, h_proj, h = 2 * rand((N, 3 * H), dtype, 1), 2 * rand((N, 3 * H), dtype, 2), rand((N, H), dtype, 3)
    want = _C.gru_cell(x_proj, h_proj, h)
    for a, b in zip(_C.cuda.gru_cell(dev(x_proj), dev(h_proj), dev(h)), want, strict=True):
        assert_close(host(a), b, dtype)
    dh = rand((N, H), dtype, 4)
    got_back = _C.cuda.gru_cell_backward(dev(dh), dev(want[1]), dev(h_proj), dev(h))
    for a, b in zip(got_back, _C.gru_cell_backward(dh, want[1], h_proj, h), strict=True):
        assert_close(host(a), b, dtype)
    with pytest.raises(ValueError, match="gru_cell"):
        _C.cuda.gru_cell(dev(x_proj), dev(h_proj), dev(rand((N + 1, H), dtype, 3)))
