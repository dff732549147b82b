"""The scan kernels (_C.cumsum and its CUDA twin): against a sequential float64 reference bit for
bit, forward and reverse, along every axis; thread-count independence; the autograd node's
finite-difference gradient; bad input. The CUDA twin: tests/test_cuda_backend.py."""

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from thread_counts import assert_same_at_thread_counts

import minigrad
from minigrad import _C

DTYPES = [np.float32, np.float64]
SHAPES = [(1,), (7,), (3, 5), (40, 1, 3), (4, 17, 33), (2, 3, 4, 5), (0, 3), (5, 0), (300, 70)]


def reference(x: np.ndarray, dim: int, reverse: bool) -> np.ndarray:
    """numpy's cumsum (a sequential loop) in float64, cast back: the kernels' contract."""
    if reverse:
        return np.flip(reference(np.flip(x, dim), dim, False), dim)
    return np.cumsum(x, axis=dim, dtype=np.float64).astype(x.dtype)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_cumsum_matches_sequential_reference(shape, dtype, reverse):
    x = (np.random.default_rng(0).standard_normal(shape) * 10).astype(dtype)
    for dim in range(-len(shape), len(shape)):
        y = _C.cumsum(x, dim, reverse)
        assert y.dtype == dtype and y.shape == shape
        np.testing.assert_array_equal(y, reference(x, dim, reverse), err_msg=f"dim {dim}")


def test_cumsum_of_a_0d_array_and_special_values():
    assert _C.cumsum(np.array(2.5, np.float32), 0) == 2.5 and _C.cumsum(np.array(2.5), -1).shape == ()
    x = np.array([1.0, np.inf, 2.0, -np.inf, np.nan, 1.0], np.float32)
    np.testing.assert_array_equal(_C.cumsum(x, 0), [1.0, np.inf, np.inf, np.nan, np.nan, np.nan])
    big = np.full(4, 3e38, np.float32)  # the double sum does not overflow; the float result does
    np.testing.assert_array_equal(_C.cumsum(big, 0), np.array([3e38, np.inf, np.inf, np.inf], np.float32))


def test_cumsum_does_not_depend_on_thread_count():
    x = np.random.default_rng(1).standard_normal((130, 700)).astype(np.float32)
    assert_same_at_thread_counts(lambda: [_C.cumsum(x, dim, reverse) for dim in (0, 1) for reverse in (False, True)])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_gradient_finite_differences(dim):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((4, 5, 3)), rng.standard_normal((4, 5, 3))
    t = minigrad.tensor(x, requires_grad=True)
    (minigrad.cumsum(t, dim) * minigrad.tensor(w)).sum().backward()
    numeric = numerical_grad(lambda: float((_C.cumsum(x, dim) * w).sum()), x)
    assert_grad_close(t.grad.numpy(), numeric, name=f"cumsum dim {dim}")
    np.testing.assert_array_equal(t.grad.numpy(), _C.cumsum(np.ascontiguousarray(w), dim, True))


def test_cumsum_bad_input():
    with pytest.raises(ValueError, match="cumsum: dim 1 is out of range for an array of 1 dimensions"):
        _C.cumsum(np.zeros(3), 1)
    with pytest.raises(ValueError, match="cumsum: dim -3 is out of range for an array of 2 dimensions"):
        _C.cumsum(np.zeros((2, 3)), -3)
    with pytest.raises(ValueError, match="cumsum: dim 1 is out of range for an array of 0 dimensions"):
        _C.cumsum(np.array(1.0), 1)
    with pytest.raises(TypeError, match="cumsum: x must be float32 or float64, got int64"):
        _C.cumsum(np.zeros(3, np.int64), 0)
    with pytest.raises(ValueError, match="cumsum: x must be C-contiguous"):
        _C.cumsum(np.zeros((3, 4))[:, ::2], 0)
    with pytest.raises(TypeError, match="cumsum: x must be a numpy.ndarray"):
        _C.cumsum([1.0, 2.0], 0)
