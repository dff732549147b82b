"""max/avg pooling forward and backward against numpy references, finite differences, torch."""

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad
import minigrad.nn.functional as F
from minigrad import _C, nn
from minigrad.backend import get_backend


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def out_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling_output_shape; a ceil-mode window starts in the input or left pad."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    k = pair(kernel_size)
    s = k if stride is None else pair(stride)
    p, d = pair(padding), pair(dilation)
    out = tuple(out_size(shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    return k, s, p, d, out


def max_taps(o, size, k, s, p, d):
    """Input positions of window o along one axis that lie inside the input."""
    return [o * s - p + i * d for i in range(k) if 0 <= o * s - p + i * d < size]


def max_pool_ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The first largest element of each window and its flat index in the plane."""
    n, c, h, w = x.shape
    k, s, p, d, (oh_n, ow_n) = geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    y = np.empty((n, c, oh_n, ow_n))
    idx = np.empty((n, c, oh_n, ow_n), np.int64)
    for oh in range(oh_n):
        for ow in range(ow_n):
            flat = [
                r * w + q
                for r in max_taps(oh, h, k[0], s[0], p[0], d[0])
                for q in max_taps(ow, w, k[1], s[1], p[1], d[1])
            ]
            vals = x.reshape(n, c, h * w)[:, :, flat]
            best = np.argmax(vals, axis=2)  # first occurrence, as PyTorch
            y[:, :, oh, ow] = np.take_along_axis(vals, best[..., None], axis=2)[..., 0]
            idx[:, :, oh, ow] = np.asarray(flat)[best]
    return y, idx


def max_pool_backward_ref(dy, idx, shape):
    dx = np.zeros((shape[0], shape[1], shape[2] * shape[3]))
    for i in range(shape[0]):
        for j in range(shape[1]):
            np.add.at(dx[i, j], idx[i, j].ravel(), dy[i, j].ravel())
    return dx.reshape(shape)


def avg_windows(shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override=None):
    """Yield (oh, ow, rows, cols, divisor) as PyTorch: the padded window is cut at the end of the
    right padding; the divisor counts that padded window, or only the input elements, or is
    divisor_override when given."""
    k, s, p, _, (oh_n, ow_n) = geometry(shape, kernel_size, stride, padding, 1, ceil_mode)
    for oh in range(oh_n):
        for ow in range(ow_n):
            lo = [(oh, ow)[i] * s[i] - p[i] for i in range(2)]
            hi = [min(lo[i] + k[i], shape[2 + i] + p[i]) for i in range(2)]
            padded = (hi[0] - lo[0]) * (hi[1] - lo[1])
            rows = slice(max(lo[0], 0), min(hi[0], shape[2]))
            cols = slice(max(lo[1], 0), min(hi[1], shape[3]))
            inside = (rows.stop - rows.start) * (cols.stop - cols.start)
            yield oh, ow, rows, cols, divisor_override or (padded if count_include_pad else inside)


def avg_pool_ref(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    _, _, _, _, out = geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    y = np.empty(x.shape[:2] + out)
    for oh, ow, rows, cols, divisor in avg_windows(
        x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    ):
        y[:, :, oh, ow] = x[:, :, rows, cols].sum(axis=(2, 3)) / divisor
    return y


def avg_pool_backward_ref(
    dy, shape, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    dx = np.zeros(shape)
    for oh, ow, rows, cols, divisor in avg_windows(
        shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    ):
        dx[:, :, rows, cols] += (dy[:, :, oh, ow] / divisor)[:, :, None, None]
    return dx


def distinct_input(rng, shape):
    """Values 0.1 apart in random order: no ties, and finite differences never cross a kink."""
    return rng.permutation(np.arange(np.prod(shape)) * 0.1 - 3.0).reshape(shape)


def has_empty_window(shape, kernel_size, stride, padding, dilation, ceil_mode):
    k, s, p, d, out = geometry(shape, kernel_size, stride, padding, dilation, ceil_mode)
    return any(
        not max_taps(o, shape[2 + i], k[i], s[i], p[i], d[i])
        for i in range(2)
        for o in range(out[i])
    )


def check_max(x, kernel_size, stride, padding, dilation, ceil_mode, rng):
    args = (kernel_size, stride, padding, dilation, ceil_mode)
    y_ref, idx_ref = max_pool_ref(x, *args)
    dy = rng.standard_normal(y_ref.shape)
    dx_ref = max_pool_backward_ref(dy, idx_ref, x.shape)
    for dtype in (np.float64, np.float32):
        y, idx = _C.max_pool2d_forward(x.astype(dtype), *args)
        assert y.dtype == dtype and idx.dtype == np.int64
        np.testing.assert_array_equal(idx, idx_ref)
        np.testing.assert_array_equal(y, y_ref.astype(dtype))
        values_only, none = _C.max_pool2d_forward(x.astype(dtype), *args, need_indices=False)
        assert none is None
        np.testing.assert_array_equal(values_only, y)
        dx = _C.max_pool2d_backward(dy.astype(dtype), idx, x.shape)
        assert dx.dtype == dtype
        tol = 1e-12 if dtype == np.float64 else 1e-5  # sums of a few dy where windows overlap
        np.testing.assert_allclose(dx, dx_ref, rtol=tol, atol=tol)


def check_avg(x, kernel_size, stride, padding, ceil_mode, count_include_pad, rng):
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad)
    y_ref = avg_pool_ref(x, *args)
    dy = rng.standard_normal(y_ref.shape)
    dx_ref = avg_pool_backward_ref(dy, x.shape, *args)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        y = _C.avg_pool2d_forward(x.astype(dtype), *args)
        dx = _C.avg_pool2d_backward(dy.astype(dtype), x.shape, *args)
        assert y.dtype == dx.dtype == dtype
        np.testing.assert_allclose(y, y_ref, rtol=tol, atol=tol)
        np.testing.assert_allclose(dx, dx_ref, rtol=tol, atol=tol)


# (shape, kernel_size, stride, padding, ceil_mode)
CASES = [
    ((2, 3, 8, 8), 2, None, 0, False),  # LeNet-style 2x2
    ((2, 3, 9, 7), 2, None, 0, False),  # 2x2 on odd sizes: the last row and column dropped
    ((1, 2, 7, 5), 2, None, 0, True),  # 2x2 in ceil mode: edge windows half outside
    ((1, 1, 1, 1), 1, None, 0, False),  # 1x1 image, batch 1
    ((1, 2, 1, 1), 3, 1, 1, False),  # 1x1 image inside padding
    ((2, 2, 5, 4), (5, 4), None, 0, False),  # kernel equal to the image
    ((2, 2, 9, 11), 2, (4, 5), 0, False),  # stride larger than the kernel
    ((2, 2, 7, 9), (3, 2), (2, 3), (1, 1), False),  # odd, non-square
    ((2, 2, 7, 9), (3, 2), (2, 3), (1, 1), True),  # ceil mode
    ((1, 3, 6, 5), 3, 2, 1, True),  # ceil-mode window beyond the right padding
    ((1, 2, 5, 5), 2, 2, 1, True),  # last ceil window would start in the right padding: dropped
    ((2, 1, 4, 6), (4, 1), (1, 3), (2, 0), True),
]


@pytest.mark.parametrize("shape,kernel_size,stride,padding,ceil_mode", CASES)
@pytest.mark.parametrize("dilation", [1, 2])
def test_max_pool_matches_reference(shape, kernel_size, stride, padding, ceil_mode, dilation):
    rng = np.random.default_rng(0)
    x = distinct_input(rng, shape)
    args = (kernel_size, stride, padding, dilation, ceil_mode)
    if (
        geometry(shape, *args)[4][0] < 1
        or geometry(shape, *args)[4][1] < 1
        or has_empty_window(shape, *args)
    ):
        with pytest.raises(ValueError, match="max_pool2d_forward"):
            _C.max_pool2d_forward(x, *args)
        return
    check_max(x, *args, rng)


@pytest.mark.parametrize("shape,kernel_size,stride,padding,ceil_mode", CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_matches_reference(
    shape, kernel_size, stride, padding, ceil_mode, count_include_pad
):
    rng = np.random.default_rng(1)
    check_avg(
        rng.standard_normal(shape), kernel_size, stride, padding, ceil_mode, count_include_pad, rng
    )


@st.composite
def pool_configs(draw, dilated):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    dh, dw = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated else (1, 1)
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 5))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 5))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    return shape, (kh, kw), stride, (ph, pw), (dh, dw), draw(st.booleans())


@settings(max_examples=80, deadline=None)
@given(pool_configs(dilated=True), st.integers(0, 2**31))
def test_max_pool_hypothesis(config, seed):
    shape, kernel_size, stride, padding, dilation, ceil_mode = config
    args = (kernel_size, stride, padding, dilation, ceil_mode)
    assume(not has_empty_window(shape, *args))
    rng = np.random.default_rng(seed)
    check_max(distinct_input(rng, shape), *args, rng)


@settings(max_examples=80, deadline=None)
@given(pool_configs(dilated=False), st.booleans(), st.integers(0, 2**31))
def test_avg_pool_hypothesis(config, count_include_pad, seed):
    shape, kernel_size, stride, padding, _, ceil_mode = config
    rng = np.random.default_rng(seed)
    check_avg(
        rng.standard_normal(shape), kernel_size, stride, padding, ceil_mode, count_include_pad, rng
    )


@pytest.mark.parametrize(
    "shape,kernel_size,stride,padding,dilation,ceil_mode",
    [
        ((2, 2, 6, 7), 2, None, 0, 1, False),
        ((1, 2, 7, 6), (3, 2), (2, 1), (1, 1), (1, 2), True),
        ((2, 1, 5, 5), 3, 2, 1, 2, True),
    ],
)
def test_max_pool_finite_differences(shape, kernel_size, stride, padding, dilation, ceil_mode):
    rng = np.random.default_rng(2)
    x = distinct_input(rng, shape)
    args = (kernel_size, stride, padding, dilation, ceil_mode)
    y, idx = _C.max_pool2d_forward(x, *args)
    dy = rng.standard_normal(y.shape)
    dx = _C.max_pool2d_backward(dy, idx, x.shape)
    assert_grad_close(
        dx, numerical_grad(lambda: float(np.sum(_C.max_pool2d_forward(x, *args)[0] * dy)), x)
    )


@pytest.mark.parametrize(
    "shape,kernel_size,stride,padding,ceil_mode,count_include_pad",
    [
        ((2, 2, 6, 7), 2, None, 0, False, True),
        ((1, 2, 7, 6), (3, 2), (2, 1), (1, 1), True, True),
        ((2, 1, 5, 6), 3, 2, 1, True, False),
    ],
)
def test_avg_pool_finite_differences(
    shape, kernel_size, stride, padding, ceil_mode, count_include_pad
):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad)
    dy = rng.standard_normal(_C.avg_pool2d_forward(x, *args).shape)
    dx = _C.avg_pool2d_backward(dy, x.shape, *args)
    assert_grad_close(
        dx, numerical_grad(lambda: float(np.sum(_C.avg_pool2d_forward(x, *args) * dy)), x)
    )


def test_max_pool_nan_and_ties_as_pytorch():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [np.nan, 2.0, -np.inf, -np.inf]]]])
    y, idx = _C.max_pool2d_forward(x, 2)
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 4  # NaN propagates
    assert y[0, 0, 0, 1] == 3.0 and idx[0, 0, 0, 1] == 2  # first of the tied maxima
    y, idx = _C.max_pool2d_forward(np.full((1, 1, 2, 2), -np.inf), 2)
    assert y[0, 0, 0, 0] == -np.inf and idx[0, 0, 0, 0] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "kernel,stride,padding",
    [((3, 2), (2, 1), (1, 1)), ((2, 2), (2, 2), (0, 0))],  # general; 2x2 stride 2 (its own kernel)
)
@pytest.mark.parametrize("shape,nan_rate", [((2, 3, 9, 11), 0.1), ((2, 2, 8, 37), 0.01)])
def test_max_pool_nans_in_edge_and_inner_windows(dtype, kernel, stride, padding, shape, nan_rate):
    """Several NaNs per window, ties and padding: the last NaN of a window wins,
    else the first maximum, in border windows and in the row-wise inner ones alike.
    Rows of 18 windows of 2x2: several SIMD steps (float32: four windows each) and a
    scalar tail, with a NaN in some of either and none in most rows."""
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 3, size=shape).astype(dtype)  # many ties; odd sizes
    x[rng.random(x.shape) < nan_rate] = np.nan
    height, width = shape[2:]
    y, idx = _C.max_pool2d_forward(x, kernel, stride, padding)
    ref_y = np.empty_like(y)
    ref_idx = np.empty_like(idx)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    for n, c, oh, ow in np.ndindex(*y.shape):
        best, best_i = -np.inf, None
        for i in range(oh * sh - ph, oh * sh - ph + kh):
            for j in range(ow * sw - pw, ow * sw - pw + kw):
                if 0 <= i < height and 0 <= j < width:
                    v = x[n, c, i, j]
                    if best_i is None:
                        best_i = i * width + j
                    if v > best or np.isnan(v):
                        best, best_i = v, i * width + j
        ref_y[n, c, oh, ow], ref_idx[n, c, oh, ow] = best, best_i
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(y, ref_y)  # NaNs compare equal here
    assert np.isnan(y).any()
    np.testing.assert_array_equal(_C.max_pool2d_forward(x, kernel, stride, padding, need_indices=False)[0], ref_y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("args", [(2,), ((3, 2), (2, 1), (1, 1), 1, True)])  # the 2x2 kernel; the general one
def test_max_pool_fused_relu(device, dtype, args):
    """relu=True, on each device: the values of np.maximum(y, 0) with NaN kept, the same indices."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 9, 11)).astype(dtype)
    x[rng.random(x.shape) < 0.05] = np.nan
    y, idx = _C.max_pool2d_forward(x, *args)
    be = get_backend(device)
    y_relu, idx_relu = (be.to_numpy(a) for a in be.max_pool2d_forward(be.from_numpy(x), *args, relu=True))
    np.testing.assert_array_equal(idx_relu, idx)
    np.testing.assert_array_equal(y_relu, np.where(np.isnan(y), y, np.maximum(y, 0)))
    assert np.isnan(y_relu).any() and (y_relu == 0).any()
    # values only (what inference asks for): the same values, no indices
    values, none = be.max_pool2d_forward(be.from_numpy(x), *args, relu=True, need_indices=False)
    assert none is None
    np.testing.assert_array_equal(be.to_numpy(values), y_relu)


def test_pooling_without_gradient_skips_the_indices_and_keeps_the_values():
    """Under no_grad (and for inputs that need no gradient) max pooling asks the kernel for values
    only; with a gradient wanted it keeps the indices its backward routes through."""
    import minigrad
    import minigrad.nn.functional as F

    rng = np.random.default_rng(9)
    x = minigrad.tensor(rng.standard_normal((2, 3, 8, 9)).astype(np.float32), requires_grad=True)
    for pool in (lambda t: F.max_pool2d(t, 2), lambda t: F.relu_max_pool2d(t, 2), lambda t: F.max_pool2d(t, 3, 2, 1)):
        y = pool(x)
        assert y.grad_fn.indices is not None
        with minigrad.no_grad():
            y_inference = pool(x)
        y_detached = pool(x.detach())
        np.testing.assert_array_equal(y_inference.numpy(), y.detach().numpy())
        np.testing.assert_array_equal(y_detached.numpy(), y.detach().numpy())
        y.sum().backward()
        assert np.count_nonzero(x.grad.numpy()) > 0
        x.grad = None


def test_large_plane_count_threads():
    """Enough planes for several threads; the result equals the reference."""
    rng = np.random.default_rng(4)
    x = distinct_input(rng, (8, 16, 24, 24))
    check_max(x, 3, 2, 1, 1, True, rng)
    check_avg(x, 3, 2, 1, True, False, rng)


TORCH_CONFIGS = [
    # (shape, kernel_size, stride, padding, dilation, ceil_mode, count_include_pad)
    ((2, 3, 8, 8), 2, None, 0, 1, False, True),
    ((2, 3, 7, 9), (3, 2), (2, 3), (1, 1), 1, True, True),
    ((2, 3, 7, 9), (3, 2), (2, 3), (1, 1), 1, True, False),
    ((1, 2, 6, 5), 3, 2, 1, 1, True, False),
    ((1, 2, 11, 10), (3, 4), (2, 3), (1, 2), (2, 1), True, True),
    ((2, 2, 5, 5), 5, 1, 2, 1, False, False),
]


@pytest.mark.parametrize(
    "shape,kernel_size,stride,padding,dilation,ceil_mode,count_include_pad", TORCH_CONFIGS
)
def test_matches_torch(shape, kernel_size, stride, padding, dilation, ceil_mode, count_include_pad):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(5)
    x = distinct_input(rng, shape)
    xt = torch.tensor(x, requires_grad=True)
    yt, it = functional.max_pool2d(
        xt, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True
    )
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dy))
    y, idx = _C.max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(idx, it.numpy())
    np.testing.assert_allclose(
        _C.max_pool2d_backward(dy, idx, shape), xt.grad.numpy(), rtol=1e-12, atol=1e-12
    )

    if dilation != 1:
        return
    xt = torch.tensor(x, requires_grad=True)
    yt = functional.avg_pool2d(xt, kernel_size, stride, padding, ceil_mode, count_include_pad)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dy))
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad)
    np.testing.assert_allclose(
        _C.avg_pool2d_forward(x, *args), yt.detach().numpy(), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        _C.avg_pool2d_backward(dy, shape, *args), xt.grad.numpy(), rtol=1e-12, atol=1e-12
    )


# ---- bad input: every check raises, naming the op ----

X = np.zeros((2, 3, 6, 6))

BAD_WINDOW = [
    (TypeError, dict(x=X.tolist())),
    (TypeError, dict(x=X.astype(np.int64))),
    (TypeError, dict(kernel_size=(2, 2, 2))),
    (TypeError, dict(kernel_size=2.0)),
    (TypeError, dict(stride="2")),
    (ValueError, dict(x=X[0])),
    (ValueError, dict(x=np.zeros((2, 3, 6, 12))[..., ::2])),
    (ValueError, dict(x=np.zeros((2, 0, 6, 6)))),
    (ValueError, dict(kernel_size=0)),
    (ValueError, dict(kernel_size=(2, -1))),
    (ValueError, dict(stride=0)),
    (ValueError, dict(padding=-1)),
    (ValueError, dict(kernel_size=3, padding=2)),  # more than half the kernel
    (ValueError, dict(kernel_size=(2, 4), padding=(1, 3))),
    (ValueError, dict(kernel_size=7)),  # larger than the image
    (ValueError, dict(kernel_size=2**40)),
    (ValueError, dict(stride=2**70)),
]


@pytest.mark.parametrize(
    "error,changes",
    BAD_WINDOW
    + [
        (ValueError, dict(dilation=0)),
        (ValueError, dict(kernel_size=3, dilation=3)),
        (TypeError, dict(dilation=None)),
    ],
)
def test_max_forward_rejects(error, changes):
    args = dict(x=X, kernel_size=2, stride=None, padding=0, dilation=1, ceil_mode=False)
    args.update(changes)
    with pytest.raises(error, match="max_pool2d_forward"):
        _C.max_pool2d_forward(**args)


def test_max_forward_rejects_windows_of_padding_only():
    # Dilation 3 puts the taps of the first window at -1 and 2, both outside a 2-pixel axis
    # (PyTorch returns -inf and an index outside the plane).
    with pytest.raises(ValueError, match="max_pool2d_forward.*padding"):
        _C.max_pool2d_forward(np.zeros((1, 1, 2, 2)), 2, 1, 1, 3)


@pytest.mark.parametrize("error,changes", BAD_WINDOW)
def test_avg_forward_rejects(error, changes):
    args = dict(x=X, kernel_size=2, stride=None, padding=0, ceil_mode=False, count_include_pad=True)
    args.update(changes)
    with pytest.raises(error, match="avg_pool2d_forward"):
        _C.avg_pool2d_forward(**args)


@pytest.mark.parametrize(
    "error,changes",
    [(e, c) for e, c in BAD_WINDOW if "x" not in c]
    + [
        (TypeError, dict(dy=np.zeros((2, 3, 3, 3), np.float32).tolist())),
        (TypeError, dict(dy=np.zeros((2, 3, 3, 3), np.int32))),
        (ValueError, dict(dy=np.zeros((2, 3, 3, 4)))),
        (ValueError, dict(dy=np.zeros((2, 3, 3)))),
        (ValueError, dict(dy=np.zeros((2, 3, 3, 6))[..., ::2])),
        (TypeError, dict(input_shape=(2, 3, 6))),
        (TypeError, dict(input_shape=(2, 3, 6, 6.0))),
        (TypeError, dict(input_shape=7)),
        (ValueError, dict(input_shape=(2, 3, 0, 6))),
        (ValueError, dict(input_shape=(2, 3, 2**40, 2**40))),
        (ValueError, dict(input_shape=(1, 3, 6, 6))),
    ],
)
def test_avg_backward_rejects(error, changes):
    args = dict(
        dy=np.zeros((2, 3, 3, 3)),
        input_shape=X.shape,
        kernel_size=2,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
    )
    args.update(changes)
    with pytest.raises(error, match="avg_pool2d_backward"):
        _C.avg_pool2d_backward(**args)


IDX = np.zeros((2, 3, 3, 3), np.int64)


@pytest.mark.parametrize(
    "error,changes",
    [
        (TypeError, dict(dy=np.zeros((2, 3, 3, 3)).tolist())),
        (TypeError, dict(dy=np.zeros((2, 3, 3, 3), np.int64))),
        (TypeError, dict(indices=IDX.astype(np.int32))),
        (TypeError, dict(indices=IDX.astype(np.float64))),
        (TypeError, dict(indices=IDX.tolist())),
        (ValueError, dict(indices=np.zeros((2, 3, 3, 6), np.int64)[..., ::2])),
        (ValueError, dict(indices=np.zeros((2, 3, 3, 4), np.int64))),
        (ValueError, dict(dy=np.zeros((2, 3, 3)), indices=IDX[0])),
        (ValueError, dict(dy=np.zeros((2, 3, 3, 6))[..., ::2])),
        (ValueError, dict(input_shape=(2, 4, 6, 6))),
        (ValueError, dict(input_shape=(1, 3, 6, 6))),
        (ValueError, dict(input_shape=(2, 3, 0, 6))),
        (TypeError, dict(input_shape=(2, 3, 6))),
        (TypeError, dict(input_shape="2366")),
        (ValueError, dict(indices=np.where(np.arange(54).reshape(IDX.shape) == 40, 36, IDX))),
        (ValueError, dict(indices=np.where(np.arange(54).reshape(IDX.shape) == 7, -1, IDX))),
        (ValueError, dict(indices=np.full(IDX.shape, 2**62, np.int64))),
    ],
)
def test_max_backward_rejects(error, changes):
    args = dict(dy=np.zeros((2, 3, 3, 3)), indices=IDX, input_shape=X.shape)
    args.update(changes)
    with pytest.raises(error, match="max_pool2d_backward"):
        _C.max_pool2d_backward(**args)


def test_max_backward_accepts_any_in_range_indices():
    """The backward trusts nothing but the range: overlapping indices add up."""
    dy = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    dx = _C.max_pool2d_backward(dy, np.full((1, 1, 3, 3), 35, np.int64), (1, 1, 6, 6))
    assert dx[0, 0, 5, 5] == 45.0 and np.count_nonzero(dx) == 1


# ---- divisor_override: every window's sum divided by one given nonzero int, as PyTorch ----

# (shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
OVERRIDE_CASES = [
    ((2, 3, 6, 7), 2, None, 0, False, True, 3),
    ((1, 2, 7, 6), (3, 2), (2, 1), (1, 1), True, True, 5),  # ceil mode and padding: the divisor ignores both
    ((2, 1, 5, 6), 3, 2, 1, True, False, -2),  # negative, as PyTorch allows
]


@pytest.mark.parametrize("case", OVERRIDE_CASES)
def test_avg_pool_divisor_override(device, case):
    """F.avg_pool2d and nn.AvgPool2d on each device against the reference, forward and backward."""
    shape, *args = case
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape)
    y_ref = avg_pool_ref(x, *args)
    dy = rng.standard_normal(y_ref.shape)
    dx_ref = avg_pool_backward_ref(dy, shape, *args)
    for dtype, tol in ((minigrad.float64, 1e-12), (minigrad.float32, 1e-5)):
        xt = minigrad.tensor(x, dtype=dtype, device=device, requires_grad=True)
        y = F.avg_pool2d(xt, *args)
        y.backward(minigrad.tensor(dy, dtype=dtype, device=device))
        np.testing.assert_allclose(y.detach().numpy(), y_ref, rtol=tol, atol=tol)
        np.testing.assert_allclose(xt.grad.numpy(), dx_ref, rtol=tol, atol=tol)
    layer = nn.AvgPool2d(*args[:-1], divisor_override=args[-1])
    x64 = minigrad.tensor(x, dtype=minigrad.float64, device=device)
    np.testing.assert_allclose(layer(x64).numpy(), y_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", OVERRIDE_CASES)
def test_avg_pool_divisor_override_finite_differences(case):
    shape, *args = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    dy = rng.standard_normal(_C.avg_pool2d_forward(x, *args).shape)
    dx = _C.avg_pool2d_backward(dy, x.shape, *args)
    assert_grad_close(dx, numerical_grad(lambda: float(np.sum(_C.avg_pool2d_forward(x, *args) * dy)), x))


@pytest.mark.parametrize("case", OVERRIDE_CASES)
def test_avg_pool_divisor_override_matches_torch(case):
    torch = pytest.importorskip("torch")
    shape, *args = case
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.avg_pool2d(xt, *args)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dy))
    xm = minigrad.tensor(x, requires_grad=True)
    y = F.avg_pool2d(xm, *args)
    y.backward(minigrad.tensor(dy))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "error,divisor,match",
    [
        (ValueError, 0, "must not be 0"),  # PyTorch: RuntimeError "divisor must be not zero"
        (TypeError, 2.0, "must be None or an int"),  # PyTorch: TypeError (must be int, not float)
        (TypeError, True, "must be None or an int"),  # PyTorch: TypeError (must be int, not bool)
        (ValueError, 2**70, "is out of range"),
    ],
)
def test_avg_pool_divisor_override_rejects(device, error, divisor, match):
    x = minigrad.zeros(1, 1, 4, 4, device=device)
    with pytest.raises(error, match=f"avg_pool2d_forward: divisor_override {match}"):
        F.avg_pool2d(x, 2, divisor_override=divisor)
    with pytest.raises(error, match=f"avg_pool2d_backward: divisor_override {match}"):
        _C.avg_pool2d_backward(np.zeros((1, 1, 2, 2)), (1, 1, 4, 4), 2, divisor_override=divisor)


def test_avg_pool_divisor_override_is_not_exported_to_onnx(tmp_path):
    pytest.importorskip("onnx")
    from minigrad.onnx import UnsupportedOperatorError, export

    with pytest.raises(UnsupportedOperatorError, match="divisor_override"):
        export(nn.AvgPool2d(2, divisor_override=3), minigrad.randn(1, 1, 4, 4), tmp_path / "m.onnx")
