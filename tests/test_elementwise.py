"""relu, sigmoid, tanh, GELU and their backward; erf, log1p, expm1; bias_add / bias_grad: numpy
references, finite differences; the CPU backend's where against numpy's, bit for bit."""

import math

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, float32_tol, numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from simd_levels import run_tests_at_level
from torch_reference import TorchReference

import minigrad
from minigrad import _C

torch_reference = TorchReference(__name__)

DTYPES = [np.float32, np.float64]


def ref_sigmoid(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return np.exp(-np.logaddexp(0.0, -x))


ACTIVATIONS = {
    # name: (forward, backward, numpy forward, numpy backward from (dy, y))
    "relu": (_C.relu, _C.relu_backward, lambda x: np.maximum(x, 0), lambda dy, y: np.where(y > 0, dy, 0)),
    "sigmoid": (_C.sigmoid, _C.sigmoid_backward, ref_sigmoid, lambda dy, y: dy * y * (1 - y)),
    "tanh": (_C.tanh, _C.tanh_backward, np.tanh, lambda dy, y: dy * (1 - y * y)),
}


def away_from_zero(rng, shape) -> np.ndarray:
    """Normal values pushed out of (-0.1, 0.1): no finite-difference step crosses relu's kink."""
    x = rng.normal(size=shape)
    return np.where(x >= 0, x + 0.1, x - 0.1)


def tol(dtype) -> float:
    return float32_tol(1) if dtype == np.float32 else 1e-14


def ref_gelu(x: np.ndarray, approximate: str) -> tuple[np.ndarray, np.ndarray]:
    """GELU of x and its derivative in float64, from math.erf (or tanh, approximate='tanh')."""
    x = x.astype(np.float64)
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x**3))
        return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    cdf = 0.5 * (1 + np.vectorize(math.erf, otypes=[np.float64])(x / math.sqrt(2)))
    return x * cdf, cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (2, 3, 4, 5), (50_000,)])
def test_gelu_matches_reference(approximate, dtype, shape):
    rng = np.random.default_rng(2)
    x = np.asarray(rng.normal(size=shape) * 3, dtype=dtype)
    dy = np.asarray(rng.normal(size=shape), dtype=dtype)
    want_y, want_slope = ref_gelu(x, approximate)
    y, dx = _C.gelu(x, approximate), _C.gelu_backward(dy, x, approximate)
    assert y.dtype == dx.dtype == dtype and y.shape == dx.shape == shape
    # The float kernels' erf is within 1.5e-7 absolute and their tanh a few ulp: 1e-6 on values
    # of order 1, and the tanh form's slope loses digits to 1 - t^2 where t nears 1.
    atol = 1e-14 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(y, want_y, rtol=tol(dtype), atol=atol)
    np.testing.assert_allclose(dx, dy * want_slope, rtol=tol(dtype), atol=atol if approximate == "none" else 2e-5)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(9,), (2, 3, 4)])
def test_gelu_backward_finite_differences(approximate, shape):
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape) * 2
    w = rng.normal(size=shape)
    numeric = numerical_grad(lambda: float((_C.gelu(x, approximate) * w).sum()), x)
    assert_grad_close(_C.gelu_backward(w, x, approximate), numeric, name=f"gelu {approximate}")


def test_gelu_bad_input():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        _C.gelu(x, "erf")
    with pytest.raises(ValueError, match="gelu_backward: approximate must be 'none' or 'tanh'"):
        _C.gelu_backward(x, x, "Tanh")
    with pytest.raises(TypeError, match="gelu: x must be float32 or float64"):
        _C.gelu(x.astype(np.int64))
    with pytest.raises(ValueError, match="gelu: x must be C-contiguous"):
        _C.gelu(np.zeros((3, 2)).T)
    with pytest.raises(ValueError, match="gelu_backward: x has shape"):
        _C.gelu_backward(x, np.zeros((3, 2)))
    with pytest.raises(TypeError, match="gelu_backward: x has dtype float32"):
        _C.gelu_backward(x, x.astype(np.float32))
    assert _C.gelu(np.zeros((0, 3), np.float32)).shape == (0, 3)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (2, 3, 4, 5), (50_000,)])
def test_activation_matches_numpy(name, dtype, shape):
    fwd, bwd, ref_fwd, ref_bwd = ACTIVATIONS[name]
    rng = np.random.default_rng(0)
    x = np.asarray(away_from_zero(rng, shape) * 3, dtype=dtype)  # asarray: shape () gives a numpy scalar
    dy = np.asarray(rng.normal(size=shape), dtype=dtype)
    y = fwd(x)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, ref_fwd(x.astype(np.float64)), rtol=tol(dtype), atol=tol(dtype))
    dx = bwd(dy, y)
    assert dx.dtype == dtype and dx.shape == shape
    want = ref_bwd(dy.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(dx, want, rtol=tol(dtype), atol=tol(dtype))


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(9,), (2, 3, 4)])
def test_activation_backward_finite_differences(name, shape):
    fwd, bwd, _, _ = ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    x = away_from_zero(rng, shape)
    w = rng.normal(size=shape)
    numeric = numerical_grad(lambda: float((fwd(x) * w).sum()), x)
    assert_grad_close(bwd(w, fwd(x)), numeric, name=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = np.array([-1e4, -1000, -80, -30, 0, 30, 80, 1000, 1e4], dtype=dtype)
    with np.errstate(under="ignore"):
        want = ref_sigmoid(x)
    y = _C.sigmoid(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=0)
    assert y[4] == 0.5 and y[-1] == 1 and y[0] == 0
    np.testing.assert_allclose(_C.tanh(x)[[0, -1]], [-1, 1])


def test_relu_keeps_nan_and_zeroes_negatives():
    y = _C.relu(np.array([np.nan, -1.0, 0.0, 2.0]))
    assert np.isnan(y[0])
    np.testing.assert_array_equal(y[1:], [0, 0, 2])
    np.testing.assert_array_equal(_C.relu_backward(np.ones(4), np.array([1.0, 0.0, -1.0, 3.0])), [1, 0, 0, 1])


@pytest.mark.parametrize("name", ["erf", "log1p", "expm1"])
def test_math_kernels_keep_0d_tensors(name):
    # the CPU backend once passed numpy.ascontiguousarray(x), which makes a 0-d array 1-d
    y = getattr(minigrad, name)(minigrad.tensor(0.5, dtype=minigrad.float64))
    assert y.shape == () and y.item() == getattr(math, name)(0.5)


@pytest.mark.parametrize("name", ["log1p", "expm1"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [9, 50_001])  # one slice; several threads, an odd tail
def test_log1p_expm1_match_math(name, dtype, n):
    fn, ref = getattr(_C, name), getattr(math, name)
    rng = np.random.default_rng(5)
    x = (rng.normal(size=n) * 3).astype(dtype)
    x[:9] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1.0, -2.0, 100.0]
    y = fn(x)
    assert y.dtype == dtype and y.shape == x.shape

    def exact(v: float) -> float:  # math's, with numpy's inf/nan where math raises
        try:
            return ref(v)
        except (ValueError, OverflowError):
            return float(getattr(np, name)(np.float64(v)))

    with np.errstate(all="ignore"):
        want = np.array([exact(v) for v in x.astype(np.float64)]).astype(dtype)  # expm1(100): inf in float32
    np.testing.assert_allclose(y, want, rtol=tol(dtype), atol=0, equal_nan=True)
    assert np.signbit(y[4]) and y[5] == x[5]  # -0 keeps its sign; tiny inputs are themselves
    assert fn(np.zeros((0, 3), dtype)).shape == (0, 3)
    with pytest.raises(TypeError, match=f"{name}: x must be float32 or float64"):
        fn(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=f"{name}: x must be C-contiguous"):
        fn(np.zeros((4, 4), dtype)[:, ::2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [9, 50_001])  # one slice; several threads, an odd tail
def test_erf_matches_math_erf(dtype, n):
    rng = np.random.default_rng(4)
    x = (rng.normal(size=n) * 3).astype(dtype)
    x[:7] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -7.0]
    y = _C.erf(x)
    assert y.dtype == dtype and y.shape == x.shape
    want = np.array([math.erf(v) for v in x.astype(np.float64)])
    np.testing.assert_allclose(y, want, rtol=tol(dtype), atol=0, equal_nan=True)
    assert np.signbit(y[4]) and y[5] > 0  # -0 keeps its sign; tiny inputs keep their size (2 x / sqrt(pi))
    assert _C.erf(np.zeros((0, 3), dtype)).shape == (0, 3)
    with pytest.raises(TypeError, match="erf: x must be float32 or float64"):
        _C.erf(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="erf: x must be C-contiguous"):
        _C.erf(np.zeros((4, 4), dtype)[:, ::2])


@pytest.mark.parametrize("slope", [0.01, 0.2, 0.0, -0.5, 1.5])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [9, 50_001])  # one slice; several threads, an odd tail
def test_leaky_relu_matches_numpy(slope, dtype, n):
    rng = np.random.default_rng(6)
    x = (rng.normal(size=n) * 4).astype(dtype)
    x[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30]
    dy = rng.normal(size=n).astype(dtype)
    s = dtype(slope)
    with np.errstate(invalid="ignore"):  # -inf * 0
        np.testing.assert_array_equal(_C.leaky_relu(x, slope), np.where(x > 0, x, x * s))  # nan stays nan
    np.testing.assert_array_equal(_C.leaky_relu_backward(dy, x, slope), np.where(x > 0, dy, dy * s))
    with pytest.raises(ValueError, match="leaky_relu_backward: x has shape"):
        _C.leaky_relu_backward(dy, x[:-1], slope)
    with pytest.raises(TypeError, match="leaky_relu: x must be float32 or float64"):
        _C.leaky_relu(np.zeros(3, np.int64), slope)


def test_leaky_relu_finite_differences():
    x = away_from_zero(np.random.default_rng(7), (4, 6))
    w = np.random.default_rng(8).normal(size=x.shape)
    numeric = numerical_grad(lambda: float((_C.leaky_relu(x, 0.2) * w).sum()), x)
    assert_grad_close(_C.leaky_relu_backward(w, x, 0.2), numeric, name="leaky_relu")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [9, 50_001])  # one slice; several threads, an odd tail
def test_hardtanh_matches_numpy(dtype, n):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=n) * 4).astype(dtype)
    x[:7] = [np.nan, np.inf, -np.inf, 0.0, 6.0, -0.0, 5.0]  # nan, infinities and the bounds
    dy = rng.normal(size=n).astype(dtype)
    y = _C.hardtanh(x, 0.0, 6.0)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, np.clip(x, 0, 6))  # nan stays nan
    np.testing.assert_array_equal(_C.hardtanh_backward(dy, x, 0.0, 6.0), np.where((x > 0) & (x < 6), dy, 0))
    with pytest.raises(ValueError, match="hardtanh_backward: x has shape"):
        _C.hardtanh_backward(dy, x[:-1], 0.0, 6.0)
    with pytest.raises(TypeError, match="hardtanh: x must be float32 or float64"):
        _C.hardtanh(np.zeros(3, np.int64), 0.0, 6.0)


def test_activations_against_torch():
    x = np.random.default_rng(2).normal(scale=4, size=(4, 6))
    names = ("relu", "sigmoid", "tanh")
    want = torch_reference("activations", lambda torch: {n: getattr(torch, n)(torch.from_numpy(x)) for n in names})
    np.testing.assert_allclose(_C.relu(x), want["relu"], rtol=1e-15)
    np.testing.assert_allclose(_C.sigmoid(x), want["sigmoid"], rtol=1e-14)
    np.testing.assert_allclose(_C.tanh(x), want["tanh"], rtol=1e-14)


# ---------------------------------------------------------------- lstm_cell


def ref_lstm_cell(gates, c):
    """PyTorch's LSTM step after its matmuls, gate order (i, f, g, o), in float64."""
    g64 = gates.astype(np.float64)
    i, f, g, o = np.split(g64, 4, axis=1)
    i, f, g, o = ref_sigmoid(i), ref_sigmoid(f), np.tanh(g), ref_sigmoid(o)
    c_next = f * c + i * g
    return o * np.tanh(c_next), c_next, np.concatenate([i, f, g, o], 1), np.tanh(c_next)


# Ragged hidden sizes: the vector loops' tails, rows that are not whole vectors.
LSTM_SHAPES = [(1, 1), (3, 5), (2, 16), (5, 37), (32, 128)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LSTM_SHAPES)
def test_lstm_cell_matches_reference(dtype, shape):
    N, H = shape
    rng = np.random.default_rng(N * 100 + H)
    gates = (rng.normal(scale=3, size=(N, 4 * H))).astype(dtype)
    c = rng.normal(size=(N, H)).astype(dtype)
    got = _C.lstm_cell(gates, c)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    for name, a, b in zip(("h", "c_next", "acts", "tanh_c"), got, ref_lstm_cell(gates, c), strict=True):
        assert a.dtype == dtype and a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=name)
    dh, dc_next = rng.normal(size=(2, N, H)).astype(dtype)
    h, c_next, acts, tanh_c = got
    dgates, dc = _C.lstm_cell_backward(dh, dc_next, acts, c, tanh_c)
    i, f, g, o = np.split(acts.astype(np.float64), 4, axis=1)
    t = tanh_c.astype(np.float64)
    dct = dc_next + dh * o * (1 - t * t)
    want = np.concatenate([dct * g * i * (1 - i), dct * c * f * (1 - f), dct * i * (1 - g * g),
                           dh * t * o * (1 - o)], 1)
    np.testing.assert_allclose(dgates, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(dc, dct * f, rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2, 9)])
def test_lstm_cell_finite_differences(shape):
    """float64: lstm_cell_backward is the gradient of sum(w_h h + w_c c_next) for the gates and c."""
    N, H = shape
    rng = np.random.default_rng(7)
    gates, c = rng.normal(scale=2, size=(N, 4 * H)), rng.normal(size=(N, H))
    w_h, w_c = rng.normal(size=(2, N, H))

    def loss():
        h, c_next, _, _ = _C.lstm_cell(gates, c)
        return float((w_h * h).sum() + (w_c * c_next).sum())

    _, _, acts, tanh_c = _C.lstm_cell(gates, c)
    dgates, dc = _C.lstm_cell_backward(w_h, w_c, acts, c, tanh_c)
    assert_grad_close(dgates, numerical_grad(loss, gates), name="dgates")
    assert_grad_close(dc, numerical_grad(loss, c), name="dc")


def test_lstm_cell_bad_input():
    g, c = np.zeros((2, 8), np.float32), np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="gates must be \\(N, 4 \\* hidden_size\\)"):
        _C.lstm_cell(np.zeros((2, 6), np.float32), c)
    with pytest.raises(ValueError, match="gates must be 2-D|gates must have 2"):
        _C.lstm_cell(np.zeros(8, np.float32), c)
    with pytest.raises(ValueError, match="c"):
        _C.lstm_cell(g, np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        _C.lstm_cell(g, c.astype(np.float64))
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.lstm_cell(g.astype(np.int64), c)
    with pytest.raises(ValueError, match="contiguous"):
        _C.lstm_cell(np.zeros((2, 16), np.float32)[:, ::2], c)
    with pytest.raises(TypeError):
        _C.lstm_cell([[0.0] * 8] * 2, c)
    _, _, acts, tanh_c = _C.lstm_cell(g, c)
    with pytest.raises(ValueError, match="dh"):
        _C.lstm_cell_backward(np.zeros((3, 2), np.float32), c, acts, c, tanh_c)
    with pytest.raises(ValueError, match="acts must be"):
        _C.lstm_cell_backward(c, c, np.zeros((2, 7), np.float32), c, tanh_c)
    with pytest.raises(TypeError, match="dtype"):
        _C.lstm_cell_backward(c, c, acts, c, tanh_c.astype(np.float64))
    h, c_next, _, _ = _C.lstm_cell(np.zeros((0, 8), np.float32), np.zeros((0, 2), np.float32))
    assert h.shape == c_next.shape == (0, 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shape", [(1, 1, 1), (4, 3, 5), (6, 2, 17)])
def test_lstm_sequence_matches_steps(dtype, reverse, shape):
    """lstm_sequence is the loop of gemm (accumulating h W_hh^T into the step's gates) and
    lstm_cell, in time order or reversed; its gates are written in place."""
    L, N, H = shape
    rng = np.random.default_rng(L * 10 + H)
    gates = rng.normal(size=(L, N, 4 * H)).astype(dtype)
    w_t = (rng.normal(size=(H, 4 * H)) / np.sqrt(H)).astype(dtype)
    h0, c0 = rng.normal(size=(2, N, H)).astype(dtype)
    h, c = h0, c0
    want = {k: np.empty((L, N, 4 * H if k == "acts" else H), dtype) for k in ("h", "c", "acts", "tanh_c")}
    for t in range(L - 1, -1, -1) if reverse else range(L):
        h, c, acts, tanh_c = _C.lstm_cell(gates[t] + _C.gemm(h, w_t), c)
        for k, v in zip(("h", "c", "acts", "tanh_c"), (h, c, acts, tanh_c), strict=True):
            want[k][t] = v
    work = gates.copy()
    got = _C.lstm_sequence(work, w_t, h0, c0, reverse)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for name, g in zip(("h", "c", "acts", "tanh_c"), got, strict=True):
        np.testing.assert_allclose(g, want[name], rtol=tol, atol=tol, err_msg=name)
    assert not np.array_equal(work, gates)  # accumulated into in place


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shape", [(1, 2, 3), (5, 3, 4)])
def test_lstm_sequence_backward_finite_differences(reverse, shape):
    """float64: lstm_sequence_backward gives the gradients of sum(w_hs hs) + sum(w_h h_n) +
    sum(w_c c_n) for the gates (with both biases), h0 and c0."""
    L, N, H = shape
    rng = np.random.default_rng(L + H)
    gates, w_t = rng.normal(size=(L, N, 4 * H)), rng.normal(size=(H, 4 * H)) / np.sqrt(H)
    h0, c0, w_h, w_c = rng.normal(size=(4, N, H))
    w_hs = rng.normal(size=(L, N, H))
    last = 0 if reverse else L - 1

    def loss():
        hs, cs, _, _ = _C.lstm_sequence(gates.copy(), w_t, h0, c0, reverse)
        return float((w_hs * hs).sum() + (w_h * hs[last]).sum() + (w_c * cs[last]).sum())

    hs, cs, acts, tanh_cs = _C.lstm_sequence(gates.copy(), w_t, h0, c0, reverse)
    grad_hs = w_hs.copy()
    dgates, dh0, dc0 = _C.lstm_sequence_backward(w_hs[last] + w_h, w_c, grad_hs, acts, cs, tanh_cs, c0,
                                                 np.ascontiguousarray(w_t.T), reverse)
    assert_grad_close(dgates, numerical_grad(loss, gates), name="dgates")
    assert_grad_close(dh0, numerical_grad(loss, h0), name="dh0")
    assert_grad_close(dc0, numerical_grad(loss, c0), name="dc0")


def test_lstm_sequence_bad_input():
    g, w = np.zeros((3, 2, 8), np.float32), np.zeros((2, 8), np.float32)
    s = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="gates must be \\(L, N, 4"):
        _C.lstm_sequence(np.zeros((3, 2, 6), np.float32), w, s, s)
    with pytest.raises(ValueError, match="w_t"):
        _C.lstm_sequence(g, np.zeros((8, 2), np.float32), s, s)
    with pytest.raises(ValueError, match="c0"):
        _C.lstm_sequence(g, w, s, np.zeros((3, 2), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        _C.lstm_sequence(g, w, s.astype(np.float64), s)
    frozen = g.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _C.lstm_sequence(frozen, w, s, s)
    with pytest.raises(ValueError, match="3"):
        _C.lstm_sequence(g[0], w, s, s)
    hs, cs, acts, tanh_cs = _C.lstm_sequence(np.zeros((0, 2, 8), np.float32), w, s, s)
    assert hs.shape == (0, 2, 2) and acts.shape == (0, 2, 8)
    hs, cs, acts, tanh_cs = _C.lstm_sequence(g.copy(), w, s, s)
    w_hh = np.zeros((8, 2), np.float32)
    with pytest.raises(ValueError, match="empty"):
        _C.lstm_sequence_backward(s, s, hs[:0].copy(), acts[:0], cs[:0], tanh_cs[:0], s, w_hh)
    with pytest.raises(ValueError, match="grad_hs"):
        _C.lstm_sequence_backward(s, s, hs[:2].copy(), acts, cs, tanh_cs, s, w_hh)
    with pytest.raises(ValueError, match="w_hh"):
        _C.lstm_sequence_backward(s, s, hs.copy(), acts, cs, tanh_cs, s, w_hh.T.copy())
    with pytest.raises(ValueError, match="writeable"):
        hs.flags.writeable = False
        _C.lstm_sequence_backward(s, s, hs, acts, cs, tanh_cs, s, w_hh)
    # The buffers written in place must not alias what the loop reads.
    with pytest.raises(ValueError, match="gates must not share memory"):
        _C.lstm_sequence(g, g.reshape(-1)[:16].reshape(2, 8), s, s)
    grad_hs = cs.copy()
    with pytest.raises(ValueError, match="grad_hs must not share memory"):
        _C.lstm_sequence_backward(grad_hs[0], s, grad_hs, acts, cs, tanh_cs, s, w_hh)


def ref_gru_cell(x_proj, h_proj, h):
    """PyTorch's GRU step after its matmuls, gate order (r, z, n), in float64."""
    x_proj, h_proj, h = (a.astype(np.float64) for a in (x_proj, h_proj, h))
    xr, xz, xn = np.split(x_proj, 3, axis=1)
    hr, hz, hn = np.split(h_proj, 3, axis=1)
    r, z = ref_sigmoid(xr + hr), ref_sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return n + z * (h - n), np.concatenate([r, z, n], 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LSTM_SHAPES)
def test_gru_cell_matches_reference(dtype, shape):
    N, H = shape
    rng = np.random.default_rng(N * 100 + H + 1)
    x_proj, h_proj = rng.normal(scale=2, size=(2, N, 3 * H)).astype(dtype)
    h = rng.normal(size=(N, H)).astype(dtype)
    h_next, acts = _C.gru_cell(x_proj, h_proj, h)
    want_h, want_acts = ref_gru_cell(x_proj, h_proj, h)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(h_next, want_h, rtol=tol, atol=tol)
    np.testing.assert_allclose(acts, want_acts, rtol=tol, atol=tol)
    assert h_next.dtype == acts.dtype == dtype


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2, 9)])
def test_gru_cell_finite_differences(shape):
    """float64: gru_cell_backward is the gradient of sum(w h_next) for x_proj and h_proj, and
    dh_direct for h other than through h_proj."""
    N, H = shape
    rng = np.random.default_rng(11)
    x_proj, h_proj = rng.normal(scale=2, size=(2, N, 3 * H))
    h, w = rng.normal(size=(2, N, H))
    loss = lambda: float((w * _C.gru_cell(x_proj, h_proj, h)[0]).sum())  # noqa: E731
    _, acts = _C.gru_cell(x_proj, h_proj, h)
    dx, dhp, direct = _C.gru_cell_backward(w, acts, h_proj, h)
    assert_grad_close(dx, numerical_grad(loss, x_proj), name="dx_proj")
    assert_grad_close(dhp, numerical_grad(loss, h_proj), name="dh_proj")
    assert_grad_close(direct, numerical_grad(loss, h), name="dh_direct")


def test_gru_cell_bad_input():
    x, h = np.zeros((2, 6), np.float32), np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="x_proj must be \\(N, 3"):
        _C.gru_cell(np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32), h)
    with pytest.raises(ValueError, match="h_proj"):
        _C.gru_cell(x, np.zeros((2, 9), np.float32), h)
    with pytest.raises(ValueError, match="h"):
        _C.gru_cell(x, x, np.zeros((3, 2), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        _C.gru_cell(x, x.astype(np.float64), h)
    with pytest.raises(ValueError, match="contiguous"):
        _C.gru_cell(np.zeros((2, 12), np.float32)[:, ::2], x, h)
    _, acts = _C.gru_cell(x, x, h)
    with pytest.raises(ValueError, match="acts must be"):
        _C.gru_cell_backward(h, np.zeros((2, 5), np.float32), x, h)
    with pytest.raises(ValueError, match="dh"):
        _C.gru_cell_backward(np.zeros((1, 2), np.float32), acts, x, h)
    h_next, acts = _C.gru_cell(np.zeros((0, 6)), np.zeros((0, 6)), np.zeros((0, 2)))
    assert h_next.shape == (0, 2) and acts.shape == (0, 6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 1, 1), (4, 3, 5), (6, 2, 17)])
def test_gru_sequence_matches_steps(dtype, reverse, bias, shape):
    """gru_sequence is the loop of gemm (h W_hh^T + b_hh, kept per step) and gru_cell, in time
    order or reversed."""
    L, N, H = shape
    rng = np.random.default_rng(L * 10 + H)
    x_proj = rng.normal(size=(L, N, 3 * H)).astype(dtype)
    w_t = (rng.normal(size=(H, 3 * H)) / np.sqrt(H)).astype(dtype)
    b_hh = rng.normal(size=3 * H).astype(dtype) if bias else None
    h = h0 = rng.normal(size=(N, H)).astype(dtype)
    want = {"h": np.empty((L, N, H), dtype), "acts": np.empty_like(x_proj), "h_proj": np.empty_like(x_proj)}
    for t in range(L - 1, -1, -1) if reverse else range(L):
        h_proj = _C.gemm(h, w_t) + (b_hh if bias else 0)
        h, acts = _C.gru_cell(x_proj[t], h_proj, h)
        want["h"][t], want["acts"][t], want["h_proj"][t] = h, acts, h_proj
    got = _C.gru_sequence(x_proj, w_t, b_hh, h0, reverse)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for name, g in zip(("h", "acts", "h_proj"), got, strict=True):
        np.testing.assert_allclose(g, want[name], rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shape", [(1, 2, 3), (5, 3, 4)])
def test_gru_sequence_backward_finite_differences(reverse, shape):
    """float64: gru_sequence_backward gives the gradients of sum(w_hs hs) + sum(w_h h_n) for x_proj,
    h_proj (through b_hh: its gradient is the sum of dh_proj over steps and rows) and h0."""
    L, N, H = shape
    rng = np.random.default_rng(L + H)
    x_proj, w_t = rng.normal(size=(L, N, 3 * H)), rng.normal(size=(H, 3 * H)) / np.sqrt(H)
    b_hh, (h0, w_h), w_hs = rng.normal(size=3 * H), rng.normal(size=(2, N, H)), rng.normal(size=(L, N, H))
    last = 0 if reverse else L - 1

    def loss():
        hs = _C.gru_sequence(x_proj, w_t, b_hh, h0, reverse)[0]
        return float((w_hs * hs).sum() + (w_h * hs[last]).sum())

    hs, acts, h_projs = _C.gru_sequence(x_proj, w_t, b_hh, h0, reverse)
    grad_hs = w_hs.copy()
    dx_proj, dh_proj, dh0 = _C.gru_sequence_backward(w_hs[last] + w_h, grad_hs, acts, h_projs, hs, h0,
                                                     np.ascontiguousarray(w_t.T), reverse)
    assert_grad_close(dx_proj, numerical_grad(loss, x_proj), name="dx_proj")
    assert_grad_close(dh_proj.sum((0, 1)), numerical_grad(loss, b_hh), name="db_hh")
    assert_grad_close(dh0, numerical_grad(loss, h0), name="dh0")


def test_gru_sequence_bad_input():
    x, w, s = np.zeros((3, 2, 6), np.float32), np.zeros((2, 6), np.float32), np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="x_proj must be \\(L, N, 3"):
        _C.gru_sequence(np.zeros((3, 2, 5), np.float32), w, None, s)
    with pytest.raises(ValueError, match="w_t"):
        _C.gru_sequence(x, np.zeros((6, 2), np.float32), None, s)
    with pytest.raises(ValueError, match="b_hh must have shape \\(6,\\)"):
        _C.gru_sequence(x, w, np.zeros(5, np.float32), s)
    with pytest.raises(TypeError, match="dtype"):
        _C.gru_sequence(x, w, None, s.astype(np.float64))
    hs, acts, h_projs = _C.gru_sequence(np.zeros((0, 2, 6), np.float32), w, None, s)
    assert hs.shape == (0, 2, 2) and acts.shape == h_projs.shape == (0, 2, 6)
    hs, acts, h_projs = _C.gru_sequence(x, w, None, s)
    w_hh = np.zeros((6, 2), np.float32)
    with pytest.raises(ValueError, match="empty"):
        _C.gru_sequence_backward(s, hs[:0].copy(), acts[:0], h_projs[:0], hs[:0], s, w_hh)
    with pytest.raises(ValueError, match="grad_hs"):
        _C.gru_sequence_backward(s, hs[:2].copy(), acts, h_projs, hs, s, w_hh)
    with pytest.raises(ValueError, match="grad_hs must not share memory"):
        _C.gru_sequence_backward(s, hs, acts, h_projs, hs, s, w_hh)
    frozen = hs.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _C.gru_sequence_backward(s, frozen, acts, h_projs, hs, s, w_hh)


# ---------------------------------------------------------------- bias


def ref_bias_add(x, bias):
    return x + bias.reshape((1, -1) + (1,) * (x.ndim - 2))


def ref_bias_grad(dy):
    return dy.astype(np.float64).sum(axis=(0,) + tuple(range(2, dy.ndim)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 10), (1, 1), (3, 5, 7), (2, 3, 4, 5), (1, 6, 1, 1), (5, 1, 3, 3), (64, 40, 32)])
def test_bias_add_and_grad_match_numpy(dtype, shape):
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape).astype(dtype)
    bias = rng.normal(size=shape[1]).astype(dtype)
    y = _C.bias_add(x, bias)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, ref_bias_add(x, bias), rtol=tol(dtype))
    db = _C.bias_grad(x)
    assert db.dtype == dtype and db.shape == (shape[1],)
    reduced = x.size // shape[1]
    t = float32_tol(reduced) if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(db, ref_bias_grad(x), rtol=t, atol=t)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2, 3)])
def test_bias_finite_differences(shape):
    rng = np.random.default_rng(4)
    x = rng.normal(size=shape)
    bias = rng.normal(size=shape[1])
    w = rng.normal(size=shape)

    def f() -> float:
        return float((_C.bias_add(x, bias) * w).sum())

    assert_grad_close(_C.bias_grad(w), numerical_grad(f, bias), name="dbias")
    assert_grad_close(w, numerical_grad(f, x), name="dx")


def test_bias_grad_does_not_depend_on_thread_count():
    dy = np.random.default_rng(5).normal(size=(128, 40, 7, 7)).astype(np.float32)
    before = _C.get_num_threads()
    try:
        _C.set_num_threads(1)
        one = _C.bias_grad(dy)
        _C.set_num_threads(2)
        two = _C.bias_grad(dy)
    finally:
        _C.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**31),
)
def test_bias_shapes_property(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(dtype)
    bias = rng.normal(size=shape[1]).astype(dtype)
    np.testing.assert_allclose(_C.bias_add(x, bias), ref_bias_add(x, bias), rtol=tol(dtype))
    np.testing.assert_allclose(_C.bias_grad(x), ref_bias_grad(x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activation_bad_input(name):
    fwd = getattr(_C, name)
    bwd = getattr(_C, name + "_backward")
    x = np.zeros((2, 3))
    with pytest.raises(TypeError, match=f"{name}: x must be float32 or float64"):
        fwd(x.astype(np.int32))
    with pytest.raises(TypeError, match=f"{name}: x must be a numpy.ndarray"):
        fwd([1.0, 2.0])
    with pytest.raises(ValueError, match=f"{name}: x must be C-contiguous"):
        fwd(np.zeros((3, 2)).T)
    with pytest.raises(ValueError, match=f"{name}_backward: y has shape"):
        bwd(x, np.zeros((3, 2)))
    with pytest.raises(TypeError, match=f"{name}_backward: y has dtype float32"):
        bwd(x, x.astype(np.float32))
    with pytest.raises(ValueError, match=f"{name}_backward: dy must be C-contiguous"):
        bwd(np.zeros((3, 2)).T, x)
    with pytest.raises(TypeError, match=f"{name}_backward: dy must be float32"):
        bwd(x.astype(np.float16), x)


def test_bias_bad_input():
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"bias_add: bias must have shape \(3,\)"):
        _C.bias_add(x, np.zeros(4))
    with pytest.raises(ValueError, match=r"bias_add: bias must have shape \(3,\)"):
        _C.bias_add(x, np.zeros((1, 3)))
    with pytest.raises(TypeError, match="bias_add: bias has dtype float32"):
        _C.bias_add(x, np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="bias_add: bias must be C-contiguous"):
        _C.bias_add(x, np.zeros(6)[::2])
    with pytest.raises(ValueError, match="bias_add: x must have at least 2 dimensions"):
        _C.bias_add(np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="bias_add: x must be float32 or float64"):
        _C.bias_add(x.astype(np.int64), np.zeros(3))
    with pytest.raises(TypeError, match="bias_add: bias must be a numpy.ndarray"):
        _C.bias_add(x, None)
    with pytest.raises(ValueError, match="bias_grad: dy must have at least 2 dimensions"):
        _C.bias_grad(np.zeros(3))
    with pytest.raises(ValueError, match="bias_grad: dy must be C-contiguous"):
        _C.bias_grad(np.zeros((4, 3)).T)
    with pytest.raises(TypeError, match="bias_grad: dy must be float32 or float64"):
        _C.bias_grad(np.zeros((2, 3), dtype=np.int32))


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(DTYPES),
    st.sampled_from(["full", "0-d a", "0-d b", "zero b", "minus zero b", "strided"]),
    st.integers(0, 2**31),
)
def test_cpu_backend_where_matches_numpy_bit_for_bit(dtype, kind, seed):
    """The CPU backend's where selects float bits with integer masks for a bool mask and float
    arrays of its shape (or 0-d): nan payloads, -0 and infinities come through as numpy's where."""
    from minigrad.backend.cpu import _where

    rng = np.random.default_rng(seed)
    shape = (3, 4, 6)
    a, b = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    a.flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
    b.flat[4:7] = [-0.0, np.nan, np.inf]
    cond = rng.random(shape) > 0.5
    if kind == "0-d a":
        a = np.array(2.5, dtype)
    elif kind in ("0-d b", "zero b", "minus zero b"):
        b = np.array({"0-d b": -7.0, "zero b": 0.0, "minus zero b": -0.0}[kind], dtype)
    elif kind == "strided":
        a, b, cond = a[:, ::2], b[:, ::2], cond[:, ::2]
    got, want = _where(cond, a, b), np.where(cond, a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


def test_float_activation_accuracy_and_special_values():
    """The float kernels compute exp, tanh and erf with polynomials (vectorised): sigmoid and tanh
    within a few ulp of float64 over a dense grid of the whole range, subnormal or 0 below it, and
    nan, +-inf, -0 and underflow as PyTorch; erf within 4e-7 (PyTorch's form: 1.5e-7 and the
    rounding), relative 1e-6 below 0.5, where a series keeps tiny values."""
    x = np.linspace(-87.3, 88.0, 1_000_001, dtype=np.float32)
    for fwd, ref, ulps in ((_C.sigmoid, ref_sigmoid(x), 4), (_C.tanh, np.tanh(x.astype(np.float64)), 8)):
        got = fwd(x).astype(np.float64)
        spacing = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        assert np.max(np.abs(got - ref) / spacing) <= ulps, fwd.__name__
    # Where the exact sigmoid is subnormal: at most the smallest normal float's distance from it.
    tiny = np.linspace(-110.0, -87.3, 100_001, dtype=np.float32)
    got = _C.sigmoid(tiny)
    assert np.all(got >= 0)
    assert np.max(np.abs(got - ref_sigmoid(tiny))) <= np.finfo(np.float32).tiny
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, -87.0, -100.0, 1e-30], dtype=np.float32)
    s, t = _C.sigmoid(special), _C.tanh(special)
    assert np.isnan(s[0]) and np.isnan(t[0])
    np.testing.assert_array_equal(s[1:], [1.0, 0.0, 0.5, 0.5, np.float32(ref_sigmoid(np.float64(-87.0))), 0.0, 0.5])
    np.testing.assert_array_equal(t[1:], np.array([1.0, -1.0, -0.0, 0.0, -1.0, -1.0, 1e-30], np.float32))
    assert np.signbit(t[3]) and not np.signbit(t[4])
    # Every length, so that each vector width's tail and every slice boundary runs.
    for n in range(1, 70):
        np.testing.assert_array_equal(_C.sigmoid(x[:n]), _C.sigmoid(x[:n].copy()))
        np.testing.assert_array_equal(_C.sigmoid(special[np.arange(n) % 8]), s[np.arange(n) % 8])
        np.testing.assert_array_equal(_C.tanh(special[np.arange(n) % 8]), t[np.arange(n) % 8])
    grid = np.linspace(-6.0, 6.0, 200_001, dtype=np.float32)
    exact = np.array([math.erf(v) for v in grid.astype(np.float64)])
    got = _C.erf(grid).astype(np.float64)
    assert np.max(np.abs(got - exact)) <= 4e-7
    inner = np.abs(grid) < 0.5
    np.testing.assert_allclose(got[inner], exact[inner], rtol=1e-6, atol=0)
    # log1p and expm1 (Cephes' log and the exp's reduction with a series): within 3 ulp of
    # float64 over their ranges (measured 2.3 and 1.4; PyTorch's Sleef 0.6 and 1.0)
    for fn, ref, x in ((_C.log1p, np.log1p, np.concatenate([np.linspace(-0.99999, 100.0, 400_001, dtype=np.float32),
                                                              np.logspace(-30, 38, 100_001, dtype=np.float32)])),
                       (_C.expm1, np.expm1, np.concatenate([np.linspace(-100.0, 88.72, 400_001, dtype=np.float32),
                                                              np.logspace(-30, 1.9, 100_001, dtype=np.float32)]))):
        want = ref(x.astype(np.float64))
        spacing = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
        assert np.max(np.abs(fn(x) - want) / spacing) <= 3, fn.__name__
    edges = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, -1.0, -2.0, 88.73, -200.0], np.float32)
    with np.errstate(all="ignore"):
        for fn, ref in ((_C.log1p, np.log1p), (_C.expm1, np.expm1)):
            np.testing.assert_array_equal(fn(edges), ref(edges))
            assert np.signbit(fn(edges)[3])
            for n in range(1, 70):
                np.testing.assert_array_equal(fn(edges[np.arange(n) % 9]), ref(edges[np.arange(n) % 9]))
    e = _C.erf(special)
    assert np.isnan(e[0]) and np.signbit(e[3])
    np.testing.assert_array_equal(e[1:], np.array([1.0, -1.0, -0.0, 0.0, -1.0, -1.0, 1.1283792e-30], np.float32))
    for n in range(1, 70):
        np.testing.assert_array_equal(_C.erf(special[np.arange(n) % 8]), e[np.arange(n) % 8])


def test_float_gelu_accuracy_and_special_values():
    """The float GELU and its slope through the polynomial erf, exp and tanh: within 1e-6 of
    float64 (relative above 1) over a dense grid, the slope of the tanh form within 5e-6, where
    1 - t^2 cancels (4.2e-6 measured; PyTorch's Sleef tanh: 1.0e-6); nan, +-inf and tiny values
    as PyTorch's formulas give them (x Phi(x): -inf * 0 is nan), at every length."""
    grid = np.linspace(-12.0, 12.0, 200_001, dtype=np.float32)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30, -100.0, 100.0], dtype=np.float32)
    ones = np.ones_like(special)
    for approximate, slope_tol in (("none", 1e-6), ("tanh", 5e-6)):
        want_y, want_slope = ref_gelu(grid, approximate)
        assert np.all(np.abs(_C.gelu(grid, approximate) - want_y) <= 1e-6 * np.maximum(1, np.abs(want_y)))
        assert np.max(np.abs(_C.gelu_backward(np.ones_like(grid), grid, approximate) - want_slope)) <= slope_tol
        y, slope = _C.gelu(special, approximate), _C.gelu_backward(ones, special, approximate)
        np.testing.assert_array_equal(y, np.array([np.nan, np.inf, np.nan, 0.0, 0.0, 5e-31, -0.0, 100.0], np.float32))
        np.testing.assert_array_equal(slope, np.array([np.nan, np.nan, np.nan, 0.5, 0.5, 0.5, 0.0, 1.0], np.float32))
        for n in range(1, 70):
            picked = special[np.arange(n) % 8]
            np.testing.assert_array_equal(_C.gelu(picked, approximate), y[np.arange(n) % 8])
            np.testing.assert_array_equal(_C.gelu_backward(ones[:1].repeat(n), picked, approximate),
                                          slope[np.arange(n) % 8])


def _fma_reference(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """a + alpha * b rounded once: exact rational arithmetic, then one rounding to a's dtype."""
    from fractions import Fraction

    alpha = Fraction(float(a.dtype.type(alpha)))
    exact = [Fraction(float(x)) + alpha * Fraction(float(y)) for x, y in zip(a.ravel(), b.ravel(), strict=True)]
    if a.dtype == np.float64:
        return np.array([float(v) for v in exact]).reshape(a.shape)
    # float32: the float64 nearest the exact value may sit on a float32 tie; round from the exact value
    out = np.empty(a.size, np.float32)
    for i, v in enumerate(exact):
        low = np.float32(float(v))
        candidates = [low, np.nextafter(low, np.float32(np.inf)), np.nextafter(low, np.float32(-np.inf))]
        out[i] = min(candidates, key=lambda c: (abs(Fraction(float(c)) - v), int(np.float32(c).view(np.int32)) & 1))
    return out.reshape(a.shape)


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_scaled_rounds_once(dtype):
    """add_scaled (torch.add / sub with alpha): a + alpha * b rounded once, as an fma, against exact
    arithmetic, at every length around the vector widths; specials as IEEE's fma gives them."""
    rng = np.random.default_rng(31)
    for n in (0, 1, 7, 8, 9, 16, 17, 33, 100):
        a, b = (rng.standard_normal(n).astype(dtype) for _ in range(2))
        for alpha in (-0.01, 0.3, 1e-8):
            np.testing.assert_array_equal(_C.add_scaled(a, b, alpha), _fma_reference(a, b, alpha))
    a = np.array([np.inf, 1.0, np.nan, 0.0, -0.0, 3.0], dtype)
    b = np.array([1.0, np.inf, 1.0, -0.0, 0.0, -3.0], dtype)
    np.testing.assert_array_equal(_C.add_scaled(a, b, 1.0), np.array([np.inf, np.inf, np.nan, 0.0, 0.0, 0.0], dtype))
    assert _C.add_scaled(np.array(2.0, dtype), np.array(3.0, dtype), 0.5).shape == ()
    # threaded slices; alpha -0.5 makes the float64 sum exact, so one rounding of it is the fma
    big = rng.standard_normal(300_001).astype(np.float32)
    np.testing.assert_array_equal(_C.add_scaled(big, big[::-1].copy(), -0.5),
                                  (big.astype(np.float64) - 0.5 * big[::-1]).astype(np.float32))


def test_add_scaled_bad_input():
    a = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="add_scaled: b has dtype float64 but a has dtype float32"):
        _C.add_scaled(a, np.ones(3), 1.0)
    with pytest.raises(ValueError, match="add_scaled: b has shape"):
        _C.add_scaled(a, np.ones(4, np.float32), 1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        _C.add_scaled(np.ones(3, np.int64), np.ones(3, np.int64), 1.0)
    with pytest.raises(ValueError, match="contiguous"):
        _C.add_scaled(np.ones(6, np.float32)[::2], a, 1.0)


def test_add_with_alpha_uses_the_fused_kernel_and_its_gradient():
    """torch.add / sub / add_ with alpha: one rounding, broadcasting, float64 too; gradients alpha * g."""
    rng = np.random.default_rng(32)
    a, b = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    got = minigrad.add(minigrad.tensor(a), minigrad.tensor(b), alpha=-0.01).numpy()
    np.testing.assert_array_equal(got, _fma_reference(a, np.broadcast_to(b, a.shape).copy(), -0.01))
    got = minigrad.sub(minigrad.tensor(a.astype(np.float64)), minigrad.tensor(b.astype(np.float64)), alpha=0.3).numpy()
    np.testing.assert_array_equal(got, _fma_reference(a.astype(np.float64), np.broadcast_to(b, a.shape).astype(
        np.float64), -0.3))
    x, y = (minigrad.tensor(v.astype(np.float64), requires_grad=True) for v in (a, b))
    assert minigrad.autograd.gradcheck(lambda p, q: minigrad.sub(p, q, alpha=2.5), [x, y])


@pytest.mark.parametrize("level", ["avx2", "generic"])
def test_add_scaled_at_lower_simd_levels(level, tmp_path):
    out = run_tests_at_level(level, __file__, "test_add_scaled_rounds_once", tmp_path)
    assert "2 passed" in out


@pytest.mark.parametrize("level", ["avx2", "generic"])
def test_float_activations_at_lower_simd_levels(level, tmp_path):
    """The float sigmoid, tanh, erf, log1p, expm1 and GELU loops are compiled per instruction set;
    MINIGRAD_SIMD caps the level at import, so the lower levels run the two tests above in a
    subprocess."""
    out = run_tests_at_level(level, __file__, "test_float_activation_accuracy_and_special_values or "
                             "test_float_gelu_accuracy_and_special_values", tmp_path)
    assert "2 passed" in out


def test_floor_divide_is_recorded_but_refuses_backward_as_pytorch():
    """PyTorch records x // y (the result requires grad, grad_fn <NotImplemented>) and raises on
    backward; div with a rounding mode has gradient 0 (DivBackward2). minigrad left // off the
    tape, so a loss mixing it in silently lost nothing but PyTorch's error."""
    x = minigrad.tensor([3.5, -2.0], requires_grad=True)
    for quotient in (x // 2, minigrad.floor_divide(2.0, x), x.floor_divide(x)):
        assert quotient.requires_grad and quotient.grad_fn.name() == "NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
            (x + quotient).sum().backward()
    np.testing.assert_array_equal((x // 2).detach().numpy(), [1.0, -1.0])
    x.grad = None  # the refused backwards may have reached x first
    rounded = minigrad.div(x, 2, rounding_mode="floor")
    assert rounded.grad_fn.name() == "DivBackward2"
    rounded.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    assert not (minigrad.tensor([7, 8]) // 2).requires_grad  # integers: nothing recorded
    with minigrad.no_grad():
        assert not (x // 2).requires_grad
