"""PyTorch's rank, search and NaN-ignoring reductions: quantile/nanquantile, kthvalue, mode,
searchsorted/bucketize, histc, take/take_along_dim, nansum/nanmean/nanmedian. Each is checked against a
numpy reference always, against PyTorch when it is installed (values, indices, dtypes and gradients),
with float64 finite differences where it is differentiable, on every device, and with its bad inputs."""

import math
import warnings

import numpy as np
import pytest
from parity import as_array, assert_same, f64

import minigrad
from minigrad.autograd import gradcheck

try:
    import torch
except ImportError:  # the numpy references still run
    torch = None

RNG = np.random.default_rng(0)
INF, NAN = math.inf, math.nan
X = RNG.standard_normal((3, 4, 5))  # distinct values: finite differences never cross a tie
TIES = RNG.integers(0, 4, (3, 6)).astype(np.float32)
SPECIAL = np.array([[1.0, NAN, 2.0, NAN, -INF], [2.0, 2.0, 1.0, 1.0, 3.0], [INF, -INF, 0.0, 3.0, 0.0]])
ALL_NAN = np.array([[NAN, NAN, NAN], [NAN, 1.0, NAN]])


def lib_tensor(lib, value):
    """value (an array, or anything else passed as is) as lib's tensor."""
    return lib.tensor(value) if isinstance(value, np.ndarray) else value


def both(fn, *args, reference=None, rtol=1e-6):
    """fn(lib, *args) on minigrad and, when installed, PyTorch (arrays become each one's tensors): the
    results must agree with each other and with the numpy reference (when given). Returns minigrad's."""
    with np.errstate(all="ignore"):  # the CPU backend's numpy warns of inf - inf
        mine = fn(minigrad, *(lib_tensor(minigrad, a) for a in args))
    if reference is not None:
        assert_same(mine, reference, rtol)
    if torch is not None:
        assert_same(mine, fn(torch, *(lib_tensor(torch, a) for a in args)), rtol)
    return mine


def gradients(fn, array):
    """The gradient of fn(lib, x) (weighted by fixed random numbers) for the float64 array, from
    minigrad, and checked against PyTorch's when installed. Returns minigrad's."""
    def grad(lib):
        x = lib.tensor(np.asarray(array, np.float64), requires_grad=True)
        out = fn(lib, x)
        weights = np.random.default_rng(1).standard_normal(tuple(out.shape))
        (out * lib.tensor(weights)).sum().backward()
        return as_array(x.grad)

    with np.errstate(all="ignore"):
        mine = grad(minigrad)
    if torch is not None:
        np.testing.assert_allclose(mine, grad(torch), rtol=1e-10, atol=1e-12)
    return mine


def raises(error, match, fn, *args, **kwargs):
    """fn(*args, **kwargs) raises error with a message matching match."""
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)


# --- quantile, nanquantile ---------------------------------------------------------------------------

INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]
QUANTILE_INPUTS = [X.astype(np.float32), TIES, SPECIAL, ALL_NAN, np.arange(6.0)]
Q = np.array([0.0, 0.25, 0.5, 0.8, 1.0])


def quietly(fn, *args, **kwargs):
    """numpy's fn(*args, **kwargs) without its warnings (all-NaN slices, empty means)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def numpy_quantile(a, q, dim, keepdim, interpolation, ignore_nan):
    """np.quantile (or nanquantile), except where a rank falls on an element: PyTorch interpolates
    between that element and itself (NaN for an infinity: inf - inf), numpy with the next one."""
    fn = np.nanquantile if ignore_nan else np.quantile
    out, low, high = (quietly(fn, a, q, axis=dim, keepdims=keepdim, method=how)
                      for how in (interpolation, "lower", "higher"))
    on_element = np.where(np.isinf(low) & (interpolation in ("linear", "midpoint")), NAN, low)
    return np.asarray(np.where(low == high, on_element, out), a.dtype)


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("k", range(len(QUANTILE_INPUTS)))
def test_quantile_matches_numpy_and_pytorch(name, interpolation, k):
    a = QUANTILE_INPUTS[k]
    for dim in [None, *range(-a.ndim, a.ndim)]:
        for keepdim in (False, True):
            for q in (0.3, Q.astype(a.dtype)):
                ref = numpy_quantile(a, q, dim, keepdim, interpolation, name == "nanquantile")
                both(lambda lib, x, qs, d=dim, kd=keepdim: getattr(lib, name)(x, qs, d, kd,
                                                                              interpolation=interpolation),
                     a, q, reference=ref, rtol=1e-5)
    mine = both(lambda lib, x: getattr(x, name)(0.5, 0, True, interpolation=interpolation), a)
    assert mine.dtype == minigrad.tensor(a).dtype


def test_quantile_rounding_and_shapes():
    x = np.arange(5.0, dtype=np.float32)  # ranks 0.5, 1.5, 2.5, 3.5: nearest rounds halves to even
    both(lambda lib, t, q: lib.quantile(t, q, interpolation="nearest"), x,
         np.array([0.125, 0.375, 0.625, 0.875], np.float32), reference=np.array([0.0, 2.0, 2.0, 4.0], np.float32))
    both(lambda lib, t: lib.quantile(t, 0.5, 0, True), np.array(2.5), reference=np.array(2.5))  # 0-d stays 0-d
    both(lambda lib, t, q: lib.quantile(t, q, 1), X[:2], np.zeros(0), reference=np.zeros((0, 2, 5)))  # no q's
    both(lambda lib, t, q: lib.quantile(t, q, None, True), X, np.array([0.5]), reference=np.quantile(X, [0.5], None,
                                                                                                     keepdims=True))
    q = minigrad.tensor(0.5, dtype=minigrad.float64)
    assert minigrad.quantile(minigrad.tensor(X), q, 1, True).shape == (3, 1, 5)


def test_quantile_gradients():
    q = f64([0.1, 0.45, 0.7])  # ranks between elements, away from kinks
    for interpolation in INTERPOLATIONS:
        for dim in (None, 1, -1):
            assert gradcheck(lambda x, d=dim, how=interpolation: minigrad.quantile(x, 0.3, d, interpolation=how),
                             [f64(X[:2, :3])])
    assert gradcheck(lambda x, qs: minigrad.quantile(x, qs, 1), [f64(X[:2, :3]), q])  # linear: in q too
    assert gradcheck(lambda x, qs: minigrad.nanquantile(x, qs, 0), [f64(np.where(X[:3, 0] > 1, NAN, X[:3, 0])), q])
    for name in ("quantile", "nanquantile"):
        for how in INTERPOLATIONS:  # ties and NaNs: the gradient goes where PyTorch's does
            gradients(lambda lib, x, n=name, h=how: getattr(lib, n)(x, lib.tensor(Q), 1, interpolation=h), SPECIAL)
            gradients(lambda lib, x, n=name, h=how: getattr(lib, n)(x, 0.4, 0, interpolation=h), TIES)
    qs = f64([0.3, 0.5])
    minigrad.quantile(f64([[1.0, 5.0, 2.0, 4.0]]), qs, 1, interpolation="midpoint").sum().backward()
    assert qs.grad is None  # only linear interpolation depends on q smoothly, as PyTorch
    if torch is not None:
        qt = torch.tensor([0.3, 0.5], dtype=torch.float64, requires_grad=True)
        torch.quantile(torch.tensor([[1.0, 5.0, 2.0, 4.0]], dtype=torch.float64), qt, 1).sum().backward()
        qm = f64([0.3, 0.5])
        minigrad.quantile(f64([[1.0, 5.0, 2.0, 4.0]], False), qm, 1).sum().backward()
        np.testing.assert_allclose(qm.grad.numpy(), qt.grad.numpy())


def test_quantile_errors():
    x = minigrad.tensor(X.astype(np.float32))
    for fn in (minigrad.quantile, minigrad.nanquantile):
        for q in (1.5, -0.1, NAN, minigrad.tensor([0.5, 1.5]), minigrad.tensor([NAN])):
            raises(ValueError, r"range \[0, 1\]", fn, x, q)
        raises(ValueError, "scalar or 1-D", fn, x, minigrad.tensor([[0.5]]))
        raises(TypeError, "dtype", fn, x, minigrad.tensor([0.5], dtype=minigrad.float64))
        raises(TypeError, "float or a tensor", fn, x, [0.5])
        raises(TypeError, "floating-point", fn, minigrad.tensor([1, 2]), 0.5)
        raises(ValueError, "interpolation", fn, x, 0.5, interpolation="bad")
        raises(ValueError, "non-empty", fn, minigrad.zeros(0, 3), 0.5, 1)
        raises(IndexError, "out of range", fn, x, 0.5, 3)


# --- kthvalue --------------------------------------------------------------------------------------


def numpy_kthvalue(a, k, dim, keepdim):
    values = np.take(np.sort(a, axis=dim), [k - 1], axis=dim)  # numpy sorts NaN last too
    return values if keepdim else values.squeeze(dim)


def check_picked(result, a, dim, keepdim):
    """The indices point at elements equal to the values (or NaN where they are NaN)."""
    values, indices = as_array(result)
    if a.ndim == 0:
        assert indices == 0
        return
    picked = np.take_along_axis(a, indices if keepdim else np.expand_dims(indices, dim), dim)
    assert_same(picked if keepdim else picked.squeeze(dim), values)


SELECT_INPUTS = [X.astype(np.float32), TIES, SPECIAL, RNG.integers(0, 3, (2, 5, 3)), np.array(2.5)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("k", range(len(SELECT_INPUTS)))
def test_kthvalue_matches_numpy_and_pytorch(k, keepdim):
    a = SELECT_INPUTS[k]
    for dim in range(-max(a.ndim, 1), max(a.ndim, 1)):
        for kth in range(1, (a.shape[dim] if a.ndim else 1) + 1):
            result = both(lambda lib, x, d=dim, j=kth: lib.kthvalue(x, j, d, keepdim), a)  # ties: PyTorch's index
            assert_same(result.values, numpy_kthvalue(a, kth, dim, keepdim) if a.ndim else a)
            check_picked(result, a, dim, keepdim)
            assert type(result).__name__ == "kthvalue" and result.indices.dtype == minigrad.int64  # PyTorch's name
    both(lambda lib, x: x.kthvalue(1), a)  # the method; the last dim by default


def test_kthvalue_replays_pytorchs_choice_among_ties():
    rng = np.random.default_rng(2)
    for n in (2, 3, 9, 17, 40):
        a = rng.integers(0, 3, (8, n)).astype(np.float64)
        a[rng.random(a.shape) < 0.2] = NAN  # NaNs tie with each other too
        for kth in {1, n // 2 + 1, n}:
            check_picked(both(lambda lib, x, j=kth: lib.kthvalue(x, j), a), a, -1, False)


def test_kthvalue_empty_gradients_and_errors():
    both(lambda lib, x: lib.kthvalue(x, 2, 1), np.zeros((0, 3)), reference=(np.zeros(0), np.zeros(0, np.int64)))
    for dim in (0, -1):
        assert gradcheck(lambda x, d=dim: minigrad.kthvalue(x, 2, d).values, [f64(X[:3, :4, 0])])
    gradients(lambda lib, x: lib.kthvalue(x, 3, 1, True).values, TIES)  # to the index PyTorch returns
    gradients(lambda lib, x: lib.kthvalue(x, 4, 1).values, SPECIAL)
    x = minigrad.tensor(TIES)
    raises(ValueError, "out of range", minigrad.kthvalue, x, 0)
    raises(ValueError, "out of range", minigrad.kthvalue, x, 7)
    raises(ValueError, "out of range", minigrad.kthvalue, minigrad.zeros(0, 3), 4, 1)
    raises(TypeError, "k must be an int", minigrad.kthvalue, x, 2.0)
    raises(TypeError, "dim must be an int", minigrad.kthvalue, x, 1, None)
    raises(TypeError, "bool", minigrad.kthvalue, minigrad.tensor([True, False]), 1)
    raises(IndexError, "out of range", minigrad.kthvalue, x, 1, 2)
    raises(IndexError, "non-zero size", minigrad.kthvalue, minigrad.zeros(0, 3), 1, 0)


# --- mode ----------------------------------------------------------------------------------------------


def numpy_mode(a, dim, keepdim):
    """The smallest most frequent value of each slice and its last index (no NaNs)."""
    def value(s):
        values, counts = np.unique(s, return_counts=True)
        return values[np.argmax(counts)]

    values = np.apply_along_axis(value, dim, a)
    last = np.apply_along_axis(lambda s: np.flatnonzero(s == value(s))[-1], dim, a)
    if keepdim:
        values, last = np.expand_dims(values, dim), np.expand_dims(last, dim)
    return values.astype(a.dtype), last.astype(np.int64)


MODE_INPUTS = [TIES, RNG.integers(0, 3, (2, 16, 3)), X.astype(np.float32), RNG.integers(0, 2, (4, 5)).astype(bool),
               np.array([[2.0, INF, INF, -INF, 2.0], [0.0, -0.0, 1.0, 1.0, 0.0]])]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("k", range(len(MODE_INPUTS)))
def test_mode_matches_numpy_and_pytorch(k, keepdim):
    a = MODE_INPUTS[k]
    for dim in range(-a.ndim, a.ndim):
        result = both(lambda lib, x, d=dim: lib.mode(x, d, keepdim), a, reference=numpy_mode(a, dim, keepdim))
        assert type(result).__name__ == "mode"  # PyTorch's name
    both(lambda lib, x: x.mode(), a)


def test_mode_long_slices_nan_and_scalars():
    a = RNG.integers(0, 4, (5, 40))  # beyond 16 elements PyTorch's index among equals follows its C++ sort
    result = both(lambda lib, x: lib.mode(x).values, a, reference=numpy_mode(a, -1, False)[0])
    assert_same(minigrad.mode(minigrad.tensor(a)), numpy_mode(a, -1, False))
    check_picked(minigrad.mode(minigrad.tensor(a)), a, -1, False)
    assert result.dtype == minigrad.int64
    for row, want in [([1.0, 1.0, NAN], (1.0, 1)), ([NAN, 2.0, 2.0, 1.0], (2.0, 2)), ([NAN, NAN, NAN], (NAN, 0))]:
        both(lambda lib, x: lib.mode(x), np.array(row), reference=(np.array(want[0]), np.array(want[1])))
    both(lambda lib, x: lib.mode(x, 0, True), np.array(3.0), reference=(np.array(3.0), np.array(0)))
    both(lambda lib, x: lib.mode(x, 0), np.zeros((2, 0)), reference=(np.zeros(0), np.zeros(0, np.int64)))


def test_mode_gradients_and_errors():
    assert gradcheck(lambda x: minigrad.mode(x, 1).values, [f64(X[:3, :4, 0])])  # distinct: the smallest
    gradients(lambda lib, x: lib.mode(x, 0).values, TIES)
    raises(IndexError, "non-zero size", minigrad.mode, minigrad.zeros(2, 0))
    raises(IndexError, "out of range", minigrad.mode, minigrad.zeros(2, 3), 2)
    raises(TypeError, "dim must be an int", minigrad.mode, minigrad.zeros(2, 3), None)


# --- searchsorted, bucketize ---------------------------------------------------------------------------

SEQUENCE = np.array([-INF, 1.0, 2.0, 2.0, 2.0, 3.5, 7.0, INF], np.float32)
POINTS = np.array([[2.0, -1.0, 3.5], [8.0, INF, -INF], [NAN, 1.0, 0.0]], np.float32)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_matches_numpy_and_pytorch(right):
    side = "right" if right else "left"
    ref = np.searchsorted(SEQUENCE, POINTS, side=side)
    both(lambda lib, s, v: lib.searchsorted(s, v, right=right), SEQUENCE, POINTS, reference=ref)
    both(lambda lib, s, v: lib.searchsorted(s, v, side=side), SEQUENCE, POINTS, reference=ref)
    both(lambda lib, s, v: lib.searchsorted(s, v, side=side, right=right), SEQUENCE, POINTS, reference=ref)
    both(lambda lib, s: lib.searchsorted(s, 2.0, right=right), SEQUENCE, reference=np.searchsorted(SEQUENCE, 2.0, side))
    both(lambda lib, s: lib.searchsorted(s, 2, right=right), np.arange(5), reference=np.searchsorted(np.arange(5), 2,
                                                                                                  side))
    both(lambda lib, s, v: lib.bucketize(v, s, right=right), SEQUENCE, POINTS, reference=ref)
    both(lambda lib, s: lib.bucketize(3.5, s, right=right), SEQUENCE, reference=np.searchsorted(SEQUENCE, 3.5, side))
    rows = np.sort(RNG.integers(0, 5, (2, 3, 6)), axis=-1)  # N-D: one sequence per leading index
    values = RNG.integers(-1, 6, (2, 3, 4)).astype(np.float64)  # promoted with int64 to float64
    ref = np.array([[np.searchsorted(rows[i, j], values[i, j], side) for j in range(3)] for i in range(2)])
    both(lambda lib, s, v: lib.searchsorted(s, v, right=right), rows, values, reference=ref)
    order = np.argsort(rows, axis=-1, kind="stable")[..., ::-1].copy()  # a sorter over a shuffled sequence
    shuffled = np.take_along_axis(rows, order, -1)
    back = np.argsort(order, axis=-1)
    both(lambda lib, s, v, o: lib.searchsorted(s, v, right=right, sorter=o), shuffled, values, back, reference=ref)


def test_searchsorted_edges():
    both(lambda lib, s, v: lib.searchsorted(s, v), np.zeros(0), POINTS, reference=np.zeros((3, 3), np.int64))
    both(lambda lib, s, v: lib.searchsorted(s, v), SEQUENCE, np.zeros((0, 2)), reference=np.zeros((0, 2), np.int64))
    both(lambda lib, s, v: lib.searchsorted(s, v), SEQUENCE, np.array(2.5), reference=np.array(5))
    both(lambda lib, s, v: lib.searchsorted(s, v), np.arange(4), np.array([1.5]), reference=np.array([2]))
    # NaNs in the sequence: PyTorch's binary search (!(pivot >= value) goes right), not numpy's order
    nan_tail = np.array([1.0, NAN, NAN])
    both(lambda lib, s, v: lib.searchsorted(s, v), nan_tail, np.array([0.0, 1.0, 2.0, NAN]),
         reference=np.array([3, 3, 3, 3]))
    unsorted = np.array([3.0, 1.0, 2.0])  # not checked, as PyTorch: the binary search's answer
    both(lambda lib, s, v: lib.searchsorted(s, v), unsorted, np.array([2.5, 0.0]), reference=np.array([3, 0]))


def test_searchsorted_errors():
    s, v = minigrad.tensor(SEQUENCE), minigrad.tensor(POINTS)
    raises(ValueError, "side must be", minigrad.searchsorted, s, v, side="middle")
    raises(ValueError, "contradict", minigrad.searchsorted, s, v, side="left", right=True)
    raises(TypeError, "int32", minigrad.searchsorted, s, v, out_int32=True)
    raises(TypeError, "int32", minigrad.bucketize, v, s, out_int32=True)
    raises(ValueError, "at least one dimension", minigrad.searchsorted, minigrad.tensor(1.0), v)
    raises(ValueError, "leading|share", minigrad.searchsorted, minigrad.zeros(2, 3), minigrad.zeros(3, 2))
    raises(ValueError, "share", minigrad.searchsorted, minigrad.zeros(2, 3), minigrad.zeros(2))
    raises(ValueError, "share", minigrad.searchsorted, minigrad.zeros(2, 3), 1.0)
    raises(TypeError, "tensor or a number", minigrad.searchsorted, s, [1.0])
    raises(TypeError, "bool", minigrad.searchsorted, minigrad.tensor([False, True]), minigrad.tensor([True]))
    raises(TypeError, "int64", minigrad.searchsorted, s, v, sorter=minigrad.zeros(8))
    raises(ValueError, "shape", minigrad.searchsorted, s, v, sorter=minigrad.tensor([0, 1]))
    raises(IndexError, "out of range", minigrad.searchsorted, s, v, sorter=minigrad.arange(1, 9))
    raises(ValueError, "1-D", minigrad.bucketize, v, minigrad.zeros(2, 3))
    raises(ValueError, "1-D", minigrad.bucketize, v, minigrad.tensor(1.0))


# --- histc -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histc_matches_numpy_and_pytorch(dtype):
    halves = (RNG.integers(0, 16, (4, 5)) / 2).astype(dtype)  # on bin edges and inside bins
    for bins, low, high in [(8, 0, 8), (3, 0, 0), (5, 1, 6), (1, 0, 0), (16, -1, 3)]:
        lo, hi = (halves.min(), halves.max()) if low == high else (low, high)
        ref = np.histogram(halves, bins, (lo, hi))[0].astype(dtype)
        both(lambda lib, x, b=bins, m=low, n=high: lib.histc(x, b, m, n), halves, reference=ref)
        both(lambda lib, x, b=bins, m=low, n=high: x.histc(bins=b, min=m, max=n), halves, reference=ref)
    noise = RNG.standard_normal(1000).astype(dtype)  # the positions' rounding, as PyTorch's
    both(lambda lib, x: lib.histc(x), noise, reference=np.histogram(noise, 100)[0].astype(dtype))
    both(lambda lib, x: lib.histc(x, 7, -1.3, 2.1), noise)


def test_histc_edges_and_errors():
    both(lambda lib, x: lib.histc(x, 4), np.array([2.0, 2.0], np.float32), reference=np.array([0, 0, 2, 0],
                                                                                              np.float32))
    both(lambda lib, x: lib.histc(x, 4), np.zeros(0, np.float32), reference=np.zeros(4, np.float32))  # [-1, 1]
    both(lambda lib, x: lib.histc(x, 4, 0, 4), np.array([1.0, 2.0, NAN, INF, -1.0, 4.0], np.float32),
         reference=np.array([0, 1, 1, 1], np.float32))  # NaN and values outside left out
    both(lambda lib, x: lib.histc(x, 2, 1.5, 1.5), np.array([1.0, 2.0, 3.0], np.float32),
         reference=np.array([1, 2], np.float32))  # min == max: the data's range
    both(lambda lib, x: lib.histc(x, 3, 0, 3), np.array(1.0, np.float32), reference=np.array([0, 1, 0], np.float32))
    assert not minigrad.histc(f64([1.0, 2.0])).requires_grad
    raises(ValueError, "bins", minigrad.histc, minigrad.zeros(3), 0)
    raises(ValueError, "bins", minigrad.histc, minigrad.zeros(3), 2.5)
    raises(TypeError, "floating-point", minigrad.histc, minigrad.tensor([1, 2]))
    raises(ValueError, "not finite", minigrad.histc, minigrad.tensor([1.0, NAN]))
    raises(ValueError, "not finite", minigrad.histc, minigrad.tensor([1.0, INF]))
    raises(ValueError, "not finite", minigrad.histc, minigrad.tensor([1.0]), 4, 0, INF)
    raises(ValueError, "larger than min", minigrad.histc, minigrad.tensor([1.0]), 4, 3, 1)


# --- take, take_along_dim ---------------------------------------------------------------------------------


def test_take_matches_numpy_and_pytorch():
    a = X[:2, :3].astype(np.float32)
    for index in (np.array([[0, -1], [5, 2]]), np.array(4), np.zeros((0, 2), np.int64), np.array([3, 3, -24])):
        both(lambda lib, x, i: lib.take(x, i), a, index, reference=np.take(a, index))
        both(lambda lib, x, i: x.take(i), a, index, reference=np.take(a, index))
    both(lambda lib, x, i: lib.take(x, i), np.array(5.0), np.array([0, 0, -1]), reference=np.full(3, 5.0))
    both(lambda lib, x, i: lib.take(x, i), np.zeros(0), np.zeros(0, np.int64), reference=np.zeros(0))
    assert gradcheck(lambda x: minigrad.take(x, minigrad.tensor([[0, 5], [5, -1]])), [f64(X[:2, :3])])
    gradients(lambda lib, x: lib.take(x, lib.tensor([[0, 5], [5, 2]])), X[:2, :3])  # repeats accumulate


def test_take_errors():
    a = minigrad.zeros(2, 3)
    raises(IndexError, "out of range", minigrad.take, a, minigrad.tensor([6]))
    raises(IndexError, "out of range", minigrad.take, a, minigrad.tensor([-7]))
    raises(IndexError, "empty", minigrad.take, minigrad.zeros(0), minigrad.tensor([0]))
    raises(TypeError, "int64", minigrad.take, a, minigrad.tensor([1.0]))
    raises(TypeError, "int64", minigrad.take, a, [1])


TAKE_ALONG = [  # input shape, indices, dim
    ((3, 4), np.argsort(X[:3, :4, 0], axis=1), 1),
    ((3, 4), np.array([[2, -1, 0]]).T, -1),  # negative: from the end
    ((3, 4), np.array([[0, 2, 1, 1, 2]]).T, 0),  # indices broadcast along dim 1
    ((1, 4), np.array([[0, 1], [1, 0], [3, 3]]), 1),  # input broadcast along dim 0
    ((3, 1, 5), np.array([[[0], [0]]]), 2),  # both broadcast
    ((0, 3), np.zeros((0, 2), np.int64), 1),  # no slices
    ((2, 3), np.array([5, 0, -6]), None),  # flattened
    ((), np.array(0), None),
]


@pytest.mark.parametrize("shape,indices,dim", TAKE_ALONG)
def test_take_along_dim_matches_numpy_and_pytorch(shape, indices, dim):
    a = X.reshape(-1)[: math.prod(shape)].reshape(shape).astype(np.float32)
    if dim is None:
        ref = np.take(a.reshape(-1), indices.reshape(-1))
    else:  # numpy broadcasts outside dim too
        ref = np.take_along_axis(a, indices, dim)
    if dim is None and indices.min() < 0:  # PyTorch rejects negatives without dim; minigrad counts from the end
        assert_same(minigrad.take_along_dim(minigrad.tensor(a), minigrad.tensor(indices)), ref)
        return
    both(lambda lib, x, i: lib.take_along_dim(x, i, dim), a, indices, reference=ref)
    both(lambda lib, x, i: x.take_along_dim(i, dim=dim), a, indices, reference=ref)
    if a.size and a.ndim:
        assert gradcheck(lambda x: minigrad.take_along_dim(x, minigrad.tensor(indices), dim), [f64(a)])
        gradients(lambda lib, x: lib.take_along_dim(x, lib.tensor(indices), dim), a)


def test_take_along_dim_errors():
    a = minigrad.zeros(2, 3)
    raises(ValueError, "dimensions", minigrad.take_along_dim, a, minigrad.tensor([0]), 1)
    raises(TypeError, "int64", minigrad.take_along_dim, a, minigrad.tensor([[0.0]]), 1)
    raises(ValueError, "take_along_dim.*broadcast", minigrad.take_along_dim, a, minigrad.tensor([[0, 1]] * 3), 1)
    raises(IndexError, "out of bounds", minigrad.take_along_dim, a, minigrad.tensor([[3]]), 1)
    raises(IndexError, "out of range", minigrad.take_along_dim, a, minigrad.tensor([[0]]), 2)
    raises(IndexError, "out of bounds", minigrad.take_along_dim, a, minigrad.tensor([6]))
    raises(IndexError, "0-d", minigrad.take_along_dim, minigrad.tensor(3.0), minigrad.tensor(0), 0)


# --- nansum, nanmean, nanmedian ----------------------------------------------------------------------------

WITH_NANS = np.where(X > 0.8, NAN, X).astype(np.float32)
NAN_INPUTS = [WITH_NANS, SPECIAL, ALL_NAN, np.zeros((0, 3), np.float32), np.array(NAN)]
NAN_DIMS = [None, 0, -1, (0, 1), (), (-1, 0)]


def valid_dims(dims, ndim):
    """dims when a tensor of ndim dimensions has them (a 0-d tensor takes 0, -1 and ())."""
    items = [] if dims is None else [dims] if isinstance(dims, int) else list(dims)
    return all(-max(ndim, 1) <= d < max(ndim, 1) for d in items) and (ndim or len(items) <= 1)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("k", range(len(NAN_INPUTS)))
def test_nansum_nanmean_match_numpy_and_pytorch(k, keepdim):
    a = NAN_INPUTS[k]
    for dims in NAN_DIMS:
        if not valid_dims(dims, a.ndim):
            continue
        axes = None if dims == () or a.ndim == 0 else dims
        ref_mean = quietly(np.nanmean, a, axes, keepdims=keepdim)
        both(lambda lib, x, d=dims: lib.nansum(x, d, keepdim), a,
             reference=quietly(np.nansum, a, axes, keepdims=keepdim).astype(a.dtype), rtol=1e-5)
        both(lambda lib, x, d=dims: lib.nanmean(x, d, keepdim), a, reference=ref_mean.astype(a.dtype), rtol=1e-5)
        both(lambda lib, x, d=dims: x.nansum(d, keepdim, dtype=lib.float64), a, rtol=1e-5)
        both(lambda lib, x, d=dims: x.nanmean(d, keepdim), a, rtol=1e-5)


def test_nansum_integers_and_gradients():
    ints = RNG.integers(-5, 5, (3, 4))
    both(lambda lib, x: lib.nansum(x, 1), ints, reference=ints.sum(1))
    both(lambda lib, x: lib.nansum(x), ints.astype(bool), reference=np.array(ints.astype(bool).sum()))
    both(lambda lib, x: lib.nansum(x, dtype=lib.float32), ints, reference=np.array(ints.sum(), np.float32))
    with_nans = np.where(X > 0.8, NAN, X)[:2, :3]
    for dims in (None, 1, (0, 2)):
        assert gradcheck(lambda x, d=dims: minigrad.nansum(x, d), [f64(with_nans)])
        assert gradcheck(lambda x, d=dims: minigrad.nanmean(x, d), [f64(with_nans)])
        grad = gradients(lambda lib, x, d=dims: lib.nanmean(x, d, True), with_nans)
        assert (grad[np.isnan(with_nans)] == 0).all()
    raises(TypeError, "floating-point", minigrad.nanmean, minigrad.tensor([1, 2]))
    raises(TypeError, "expected a Tensor", minigrad.nansum, [1.0, 2.0])


def lower_nanmedian(a, axis=None, keepdims=False):
    """numpy's reference: the lower middle number (NaNs left out), NaN for none."""
    if axis is None:
        a, axis = a.reshape(-1), 0

    def lower(s):
        s = np.sort(s[~np.isnan(s)])
        return s[(s.size - 1) // 2] if s.size else NAN

    values = np.apply_along_axis(lower, axis, a) if a.size else np.full(np.delete(a.shape, axis), NAN)
    values = values.astype(a.dtype)
    return np.expand_dims(values, axis) if keepdims else values


@pytest.mark.parametrize("k", range(len(NAN_INPUTS)))
def test_nanmedian_matches_numpy_and_pytorch(k):
    a = NAN_INPUTS[k]
    both(lambda lib, x: lib.nanmedian(x), a, reference=np.array(lower_nanmedian(a), a.dtype))
    both(lambda lib, x: x.nanmedian(), a, reference=np.array(lower_nanmedian(a), a.dtype))
    for dim in range(-max(a.ndim, 1), max(a.ndim, 1)):
        if a.ndim and a.shape[dim] == 0:
            raises(IndexError, "non-zero size", minigrad.nanmedian, minigrad.tensor(a), dim)
            continue
        for keepdim in (False, True):
            values, indices = minigrad.nanmedian(minigrad.tensor(a), dim, keepdim)
            assert_same(values, lower_nanmedian(a, dim, keepdim) if a.ndim else a)
            only_nans = np.isnan(a).all(axis=dim, keepdims=keepdim) if a.ndim else np.isnan(a)
            assert (as_array(indices)[only_nans] == 0).all()  # a slice of NaNs only: its first NaN
            if torch is not None and not only_nans.any():  # PyTorch's index there follows its C++ library
                assert_same((values, indices), torch.nanmedian(torch.tensor(a), dim, keepdim))
            check_picked((values, indices), a, dim, keepdim)


def test_nanmedian_gradients_and_errors():
    with_nans = np.where(X > 0.8, NAN, X)[:3, :4, 0]
    assert gradcheck(lambda x: minigrad.nanmedian(x), [f64(with_nans)])
    for dim in (0, -1):
        assert gradcheck(lambda x, d=dim: minigrad.nanmedian(x, d).values, [f64(with_nans)])
    for values in ([1.0, 2.0, 2.0, NAN, 2.0], [NAN, NAN], [3.0, NAN, 1.0]):  # shared by ties, or by the NaNs
        gradients(lambda lib, x: lib.nanmedian(x), np.array(values))
    gradients(lambda lib, x: lib.nanmedian(x, 1).values, SPECIAL)
    both(lambda lib, x: lib.nanmedian(x), RNG.integers(0, 5, 7))
    raises(TypeError, "bool", minigrad.nanmedian, minigrad.tensor([True, False]))
    raises(TypeError, "keepdim", minigrad.nanmedian, minigrad.zeros(3), keepdim=True)
    raises(RuntimeError, "empty", minigrad.nanmedian, minigrad.zeros(0, dtype=minigrad.int64))
    raises(IndexError, "out of range", minigrad.nanmedian, minigrad.zeros(2, 3), 2)


# --- on every device ---------------------------------------------------------------------------------------------


def test_on_device(device):
    """Every op runs where its tensors are, with the CPU's results and gradients."""
    def run(dev):
        x = minigrad.tensor(np.where(X > 1.2, NAN, X), device=dev, requires_grad=True)
        ties = minigrad.tensor(TIES, device=dev, requires_grad=True)
        seq = minigrad.tensor(SEQUENCE, device=dev)
        q = minigrad.tensor([0.2, 0.9], dtype=minigrad.float64, device=dev)
        index = minigrad.tensor([[0, -1], [3, 3]], device=dev)
        differentiable = [
            minigrad.quantile(x, q, 1), minigrad.nanquantile(x, 0.4, -1, True, interpolation="nearest"),
            minigrad.kthvalue(ties, 3).values, minigrad.mode(ties, 0).values, minigrad.nanmedian(x),
            minigrad.nanmedian(x, 2).values, minigrad.nansum(x, (0, 2)), minigrad.nanmean(x, -1),
            minigrad.take(x, index), minigrad.take_along_dim(ties, index[:1], 1),
        ]
        total = sum((out * (i + 1)).nansum() for i, out in enumerate(differentiable))
        total.backward()
        other = [minigrad.kthvalue(ties, 3).indices, minigrad.mode(ties, 0).indices,
                 minigrad.searchsorted(seq, minigrad.tensor(POINTS, device=dev), right=True),
                 minigrad.bucketize(minigrad.tensor(POINTS, device=dev), seq), minigrad.histc(ties, 5)]
        assert all(t.device == dev for t in differentiable + other)
        return [t.detach().cpu().numpy() for t in differentiable + other + [x.grad, ties.grad]]

    for got, want in zip(run(device), run("cpu"), strict=True):
        assert_same(got, want, rtol=1e-12)
