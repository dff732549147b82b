"""The CPU sum kernel (_C.sum, csrc/cpu/reduce.cpp): against a float64 reference over every run
of adjacent axes, keepdims, empty and 0-d arrays, special values; thread-count independence; the
CPU backend's use of it (non-adjacent axes and other dtypes go to numpy); the autograd node's
finite-difference gradient; bad input. The CUDA backend's sum is _C.cuda.sum
(tests/test_cuda_backend.py)."""

import itertools

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from thread_counts import assert_same_at_thread_counts

import minigrad
from minigrad import _C

SHAPES = [(1,), (7,), (1000,), (3, 5), (40, 1, 3), (4, 17, 33), (2, 3, 4, 5), (0, 3), (5, 0), (300, 1100), (3, 2100)]


def adjacent_runs(ndim: int) -> list:
    """None, and every run of adjacent axes as an int (length 1) or a tuple."""
    runs = [None]
    for first in range(ndim):
        for last in range(first, ndim):
            runs.append(first if first == last else tuple(range(first, last + 1)))
    return runs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_sum_matches_float64_reference(shape, dtype):
    x = (np.random.default_rng(0).standard_normal(shape) + 0.25).astype(dtype)
    # Blocks summed across lanes, in T: for float32 about the error of 32 adds, relative to the sum of |x|.
    tol = 1e-6 if dtype == np.float32 else 1e-14
    for axis, keepdims in itertools.product(adjacent_runs(len(shape)), (False, True)):
        got = _C.sum(x, axis, keepdims)
        want = np.sum(x.astype(np.float64), axis=axis, keepdims=keepdims)
        scale = np.sum(np.abs(x.astype(np.float64)), axis=axis, keepdims=keepdims)
        assert got.dtype == dtype and got.shape == want.shape, (axis, keepdims)
        assert np.all(np.abs(got - want) <= tol * scale + 1e-30), (axis, keepdims)


def test_sum_of_0d_arrays_negative_axes_and_special_values():
    assert _C.sum(np.array(2.5, np.float32)).shape == () and _C.sum(np.array(2.5)) == 2.5
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    np.testing.assert_array_equal(_C.sum(x, -1), x.sum(-1))
    np.testing.assert_array_equal(_C.sum(x, (-2, -1)), x.sum((1, 2)))
    np.testing.assert_array_equal(_C.sum(x, (2, 1), True), x.sum((1, 2), keepdims=True))
    np.testing.assert_array_equal(_C.sum(x, (np.int64(0), 1)), x.sum((0, 1)))  # numpy's integers too
    np.testing.assert_array_equal(_C.sum(x, ()), x)  # no axis: each element its own sum, as numpy
    row = np.ones(3000, np.float32)
    for value, want in [(np.nan, np.nan), (np.inf, np.inf), (-np.inf, -np.inf)]:
        special = row.copy()
        special[1234] = value
        np.testing.assert_array_equal(_C.sum(special), np.float32(want))
        np.testing.assert_array_equal(_C.sum(special.reshape(30, 100), 0)[34], np.float32(want))
    mixed = row.copy()
    mixed[[5, 2500]] = [np.inf, -np.inf]
    assert np.isnan(_C.sum(mixed))
    np.testing.assert_array_equal(_C.sum(np.zeros((0, 3), np.float32)), np.float32(0))


def test_sum_is_more_accurate_than_one_float_chain():
    x = np.full(2**20, 0.1, np.float32)  # a float running sum drifts by percent here
    exact = float(np.sum(x.astype(np.float64)))
    assert abs(float(_C.sum(x)) - exact) <= 1e-6 * exact
    assert abs(float(_C.sum(x.reshape(2**14, 64), 0)[0]) - exact / 64) <= 1e-6 * exact / 64


def test_sum_does_not_depend_on_thread_count():
    x = np.random.default_rng(1).standard_normal((130, 7000)).astype(np.float32)
    assert_same_at_thread_counts(lambda: [_C.sum(x, axis) for axis in (None, 0, 1)] + [_C.sum(x.reshape(-1))])


def test_backend_sum_uses_the_kernel_where_it_can():
    backend = minigrad.backend.get_backend("cpu")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 7, 8)).astype(np.float32)
    for axis in [None, 0, 2, (0, 1), (1, 2), (0, 2), (2, 0)]:  # (0, 2) and (2, 0): not adjacent, numpy's
        got = backend.sum(x, axis, False)
        np.testing.assert_allclose(got, np.sum(x.astype(np.float64), axis=axis), rtol=1e-5, atol=1e-5)
    strided = x[:, ::2]  # not contiguous: numpy's
    np.testing.assert_allclose(backend.sum(strided, 1, True), np.sum(strided, 1, keepdims=True), rtol=1e-6)
    ints = np.arange(12).reshape(3, 4)
    assert backend.sum(ints, 1, False).dtype == np.int64
    np.testing.assert_array_equal(backend.sum(ints, None, False), 66)


@pytest.mark.parametrize("dim", [None, 0, 1, (1, 2)])
def test_sum_gradient_finite_differences(dim):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5, 3))
    w = rng.standard_normal(np.sum(x, axis=dim).shape)
    t = minigrad.tensor(x, requires_grad=True)
    (minigrad.sum(t, dim) * minigrad.tensor(w)).sum().backward()
    numeric = numerical_grad(lambda: float((_C.sum(x, dim) * w).sum()), x)
    assert_grad_close(t.grad.numpy(), numeric, name=f"sum dim {dim}")


def test_sum_bad_input():
    with pytest.raises(ValueError, match=r"sum: axes \(0, 2\) are not adjacent"):
        _C.sum(np.zeros((2, 3, 4)), (0, 2))
    with pytest.raises(ValueError, match="sum: axis 2 is out of range for 2 dimensions"):
        _C.sum(np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match="sum: repeated axis"):
        _C.sum(np.zeros((2, 3)), (1, 1))
    for bad_axis in (1.5, True, np.True_, "1", (0, 1.0)):
        with pytest.raises(TypeError, match="sum: axis must be None, an int or a tuple of ints"):
            _C.sum(np.zeros((2, 3)), bad_axis)
    with pytest.raises(TypeError, match="sum: x must be float32 or float64, got int64"):
        _C.sum(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="sum: x must be C-contiguous"):
        _C.sum(np.zeros((3, 4))[:, ::2])
    with pytest.raises(TypeError, match="sum: x must be a numpy.ndarray"):
        _C.sum([1.0, 2.0])
