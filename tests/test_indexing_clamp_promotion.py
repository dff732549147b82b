"""Regressions from an audit against PyTorch: a list index written under autograd, uint8 masks,
clamp with tensor bounds (values, gradients, dtypes) and integer inputs to float-only unary ops.
Expected values are PyTorch 2.13's, written out."""

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad

import minigrad as mg


@pytest.mark.parametrize("grad_in", ["target", "value"])
def test_list_index_assignment_under_autograd_writes_whole_rows(grad_in):
    w = mg.zeros(3, 3, requires_grad=grad_in == "target")
    y = w * 1
    v = mg.tensor(5.0, requires_grad=grad_in == "value")
    y[[0, 2]] = v
    np.testing.assert_array_equal(y.detach().numpy(), [[5, 5, 5], [0, 0, 0], [5, 5, 5]])
    y.sum().backward()
    leaf = w if grad_in == "target" else v
    expected = [[0, 0, 0], [1, 1, 1], [0, 0, 0]] if grad_in == "target" else 6.0
    np.testing.assert_array_equal(leaf.grad.numpy(), expected)


def test_list_index_assignment_on_1d_tensor_under_autograd():
    y = mg.zeros(4, requires_grad=True) * 1
    y[[1, 3]] = 2.0
    np.testing.assert_array_equal(y.detach().numpy(), [0, 2, 0, 2])


def test_uint8_index_is_a_mask_with_a_warning():
    x = mg.tensor([10.0, 20.0, 30.0, 40.0])
    mask = mg.tensor([1, 0, 1, 1], dtype=mg.uint8)
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        np.testing.assert_array_equal(x[mask].numpy(), [10, 30, 40])
    y = mg.zeros(4, requires_grad=True) * 1
    with pytest.warns(UserWarning, match="uint8"):
        y[mask] = 3.0
    np.testing.assert_array_equal(y.detach().numpy(), [3, 0, 3, 3])
    np.testing.assert_array_equal(x[mg.tensor([0, 2])].numpy(), [10, 30])  # int64 stays indices


def test_clamp_with_tensor_bounds_values_and_gradients():
    x = mg.tensor([0.5, -1.0, 2.0, 0.0], requires_grad=True)
    low = mg.tensor([0.0, 0.0, 0.0, 0.0], requires_grad=True)
    high = mg.tensor(1.0, requires_grad=True)
    y = x.clamp(min=low, max=high)
    np.testing.assert_array_equal(y.detach().numpy(), [0.5, 0.0, 1.0, 0.0])
    (y * mg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 0, 4])  # a tie with min goes to input
    np.testing.assert_array_equal(low.grad.numpy(), [0, 2, 0, 0])
    assert high.grad.item() == 3.0


def test_clamp_tensor_bounds_broadcast_and_finite_differences():
    rng = np.random.default_rng(0)
    x0, lo0, hi0 = rng.standard_normal((3, 4)), rng.standard_normal(4) - 0.5, rng.standard_normal((3, 1)) + 0.5
    x, lo, hi = (mg.tensor(a, requires_grad=True) for a in (x0, lo0, hi0))
    weights = rng.standard_normal((3, 4))
    (mg.clamp(x, lo, hi) * mg.tensor(weights)).sum().backward()

    def loss():
        return float((np.minimum(np.maximum(x0, lo0), hi0) * weights).sum())

    for leaf, array in ((x, x0), (lo, lo0), (hi, hi0)):
        assert_grad_close(leaf.grad.numpy(), numerical_grad(loss, array))


def test_clamp_dtypes_as_pytorch():
    assert mg.tensor([1, 2]).clamp(min=1.5).dtype == mg.float32
    np.testing.assert_array_equal(mg.tensor([1, 2]).clamp(min=1.5).numpy(), [1.5, 2.0])
    assert mg.tensor([1, 5]).clamp(0, 3).dtype == mg.int64
    assert mg.clamp(mg.tensor([1, 5]), mg.tensor([2, 2]), mg.tensor([4, 4])).tolist() == [2, 4]


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh"])
def test_float_unary_ops_promote_integer_tensors(name):
    out = getattr(mg, name)(mg.tensor([1, 4]))
    assert out.dtype == mg.float32
    expected = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh,
                "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name](np.array([1.0, 4.0]))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert getattr(mg.tensor([True, False]), name)().dtype == mg.float32


@pytest.mark.parametrize("op", ["gather", "scatter", "scatter_add"])
@pytest.mark.parametrize("bad", [-1, 3])
def test_gather_and_scatter_refuse_indices_outside_the_dimension(op, bad):
    x, index = mg.ones(2, 3), mg.tensor([[0, bad]])
    call = {"gather": lambda: x.gather(1, index), "scatter": lambda: x.scatter(1, index, 2.0),
            "scatter_add": lambda: x.scatter_add(1, index, mg.ones(1, 2))}[op]
    with pytest.raises(IndexError, match=f"index {bad} is out of bounds for dimension 1 with size 3"):
        call()


def test_take_along_dim_still_wraps_negative_indices():
    x = mg.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(mg.take_along_dim(x, mg.tensor([[-1], [0]]), 1).numpy(), [[2.0], [3.0]])


def test_chunk_of_an_empty_dimension_gives_the_chunks_asked_for():
    pieces = mg.zeros(0, 2).chunk(3)
    assert len(pieces) == 3 and all(p.shape == (0, 2) for p in pieces)
