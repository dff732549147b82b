"""Tensor: creation and dtype rules, attributes, operators against numpy, gradients of every
Tensor-level op (float64 gradcheck), broadcasting, indexing, in-place rules."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_reference import TorchReference

import minigrad
from minigrad.autograd import gradcheck
from minigrad.functional.elementwise import MATH_FUNCTIONS

torch_reference = TorchReference(__name__)

rng = np.random.default_rng(0)


def leaf(*shape, low=-2.0, high=2.0):
    return minigrad.tensor(rng.uniform(low, high, shape), dtype=minigrad.float64, requires_grad=True)


# --- creation and dtypes ---------------------------------------------------------------


def test_python_data_dtypes_follow_torch():
    assert minigrad.tensor([1.0, 2.0]).dtype == minigrad.float32
    assert minigrad.tensor(3.5).dtype == minigrad.float32
    assert minigrad.tensor([1, 2]).dtype == minigrad.int64
    assert minigrad.tensor([True, False]).dtype == minigrad.bool
    assert minigrad.tensor(np.zeros(3, np.float64)).dtype == minigrad.float64
    assert minigrad.tensor(np.zeros(3, np.int64)).dtype == minigrad.int64
    assert minigrad.tensor(np.zeros(3, np.int32)).dtype == minigrad.int32  # kept, as torch.tensor does
    assert minigrad.tensor(np.zeros(3, np.uint32)).dtype == minigrad.int64  # no uint32 (PyTorch's is partial)
    assert minigrad.tensor(np.zeros(3, np.uint8)).dtype == minigrad.uint8  # kept, as torch.tensor does
    assert minigrad.tensor(np.zeros(3, np.float16)).dtype == minigrad.float32
    assert minigrad.tensor([1, 2], dtype=minigrad.float64).dtype == minigrad.float64


def test_tensor_copies_but_from_numpy_shares():
    a = np.arange(4.0)
    t, s = minigrad.tensor(a), minigrad.from_numpy(a)
    a[0] = 9.0
    assert t.numpy()[0] == 0.0 and s.numpy()[0] == 9.0
    with pytest.raises(TypeError, match="unsupported dtype"):
        minigrad.from_numpy(np.zeros(2, np.uint32))


def test_creation_functions():
    assert minigrad.zeros(2, 3).shape == (2, 3) and minigrad.zeros((2, 3)).dtype == minigrad.float32
    assert np.all(minigrad.ones(4, dtype=minigrad.float64).numpy() == 1.0)
    assert minigrad.empty(2).shape == (2,)
    f = minigrad.full((2, 2), 7)
    assert f.dtype == minigrad.int64 and np.all(f.numpy() == 7)
    assert minigrad.full((1,), 0.5).dtype == minigrad.float32
    like = minigrad.zeros(3, dtype=minigrad.float64)
    assert minigrad.ones_like(like).dtype == minigrad.float64
    assert np.all(minigrad.zeros_like(like).numpy() == 0)
    assert minigrad.arange(5).dtype == minigrad.int64
    np.testing.assert_allclose(minigrad.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert minigrad.zeros(2, requires_grad=True).requires_grad


def test_random_is_seeded():
    minigrad.manual_seed(123)
    a, b, c = minigrad.randn(3, 4), minigrad.rand(5), minigrad.randint(0, 10, (6,))
    minigrad.manual_seed(123)
    np.testing.assert_array_equal(a.numpy(), minigrad.randn(3, 4).numpy())
    np.testing.assert_array_equal(b.numpy(), minigrad.rand(5).numpy())
    np.testing.assert_array_equal(c.numpy(), minigrad.randint(0, 10, (6,)).numpy())
    assert a.dtype == minigrad.float32 and c.dtype == minigrad.int64
    assert 0 <= c.numpy().min() and c.numpy().max() < 10
    assert 0 <= b.numpy().min() and b.numpy().max() < 1
    assert minigrad.randint(3, (100,)).numpy().max() < 3


def test_int_tensors_never_require_grad():
    with pytest.raises(RuntimeError, match="floating-point"):
        minigrad.tensor([1, 2], requires_grad=True)
    t = minigrad.tensor([1, 2])
    with pytest.raises(RuntimeError, match="floating-point"):
        t.requires_grad_()


def test_attributes_and_conversions():
    t = minigrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and t.size() == (2, 3)
    assert t.size(1) == 3 and t.numel() == 6 and len(t) == 2 and t.device == "cpu"
    assert t.is_leaf and t.grad is None and t.grad_fn is None
    assert t.double().dtype == minigrad.float64 and t.long().dtype == minigrad.int64
    assert t.to(minigrad.float64).dtype == minigrad.float64 and t.cpu() is t and t.to("cpu") is t
    assert t.float() is t
    assert t[1, 2].item() == 6.0 and isinstance(t.sum().item(), float)
    assert t.tolist() == [[1, 2, 3], [4, 5, 6]]
    d = t.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.detach().numpy(), t.detach().numpy())
    c = t.clone()
    assert c.grad_fn is not None and not np.shares_memory(c.detach().numpy(), t.detach().numpy())
    with pytest.raises(RuntimeError, match="cannot be converted"):
        t.item()
    if minigrad.cuda.is_available():
        assert t.to("cuda").device == "cuda"
    else:
        with pytest.raises(RuntimeError, match="not available"):
            t.to("cuda")


def test_repr_like_torch():
    assert repr(minigrad.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(minigrad.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    r = repr(minigrad.tensor([1.0], requires_grad=True) * 2)
    assert r == "tensor([2.], grad_fn=<MulBackward0>)"
    a, b = minigrad.tensor([1.0], requires_grad=True), minigrad.tensor([2.0])
    assert "grad_fn=<MinimumBackward0>" in repr(minigrad.minimum(a, b))  # one op class serves both
    assert "grad_fn=<MaximumBackward0>" in repr(minigrad.maximum(a, b))
    assert "dtype=minigrad.float64" in repr(minigrad.tensor([1.0], dtype=minigrad.float64))


@pytest.mark.parametrize("name", MATH_FUNCTIONS)
def test_repr_of_math_function_results(name):
    # MathOp once kept its function in a field called "name", hiding the grad_fn's name(): repr raised
    y = getattr(minigrad, name)(minigrad.tensor([0.25, 0.5], requires_grad=True))
    assert repr(y).endswith(f"grad_fn=<{name.title()}Backward0>)")


def test_assigning_host_data_moves_it_to_the_device(device):
    t = minigrad.zeros(3, device=device)
    t.data = np.arange(3, dtype=np.float32)
    assert t.device == device and type(t.data) is type(minigrad.zeros(1, device=device).data)
    np.testing.assert_array_equal((t * 2).numpy(), [0, 2, 4])


def test_data_is_settable_and_inplace_helpers():
    t = minigrad.zeros(3, requires_grad=True)
    t.data = np.ones(3, np.float32)
    assert np.all(t.detach().numpy() == 1)
    t.data = minigrad.full((3,), 2.0)
    assert np.all(t.detach().numpy() == 2)
    with pytest.raises(RuntimeError, match="in place"):
        t.zero_()
    with minigrad.no_grad():
        t.zero_().add_(minigrad.ones(3), alpha=3).mul_(2).sub_(1)
        assert np.all(t.detach().numpy() == 5)
        t.fill_(0.5).clamp_(max=0.25)
        assert np.all(t.detach().numpy() == 0.25)
        t.uniform_(-1, 1)
        t.normal_()
        t.copy_(minigrad.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(t.detach().numpy(), [1, 2, 3])
    u = minigrad.zeros(4)
    u[1:3] = 5.0
    np.testing.assert_array_equal(u.numpy(), [0, 5, 5, 0])


# --- forward against numpy ------------------------------------------------------------------

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (2, 2))])
def test_binary_forward_and_broadcast_gradient(name, shapes):
    op, ref = BINARY[name]
    a, b = leaf(*shapes[0]), leaf(*shapes[1], low=0.5, high=2.0)
    np.testing.assert_allclose(op(a, b).detach().numpy(), ref(a.detach().numpy(), b.detach().numpy()))
    gradcheck(op, (a, b))
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


def test_scalar_and_reverse_operators():
    x = leaf(3, low=0.5, high=2)
    xn = x.detach().numpy()
    for got, want in [
        (2 + x, 2 + xn),
        (x + 2, xn + 2),
        (2 - x, 2 - xn),
        (x - 2, xn - 2),
        (3 * x, 3 * xn),
        (x / 4, xn / 4),
        (1 / x, 1 / xn),
        (x**2, xn**2),
        (2**x, 2**xn),
        (-x, -xn),
        (abs(-x), xn),
    ]:
        np.testing.assert_allclose(got.detach().numpy(), want)
        assert got.dtype == minigrad.float64
    f32 = minigrad.ones(2)
    assert (f32 * 2.5).dtype == minigrad.float32 and (f32 + np.float64(1)).dtype == minigrad.float32
    i = minigrad.tensor([1, 2])
    assert (i * 2).dtype == minigrad.int64 and (i * 0.5).dtype == minigrad.float32
    assert (i / 2).dtype == minigrad.float32
    assert (f32 + minigrad.ones(2, dtype=minigrad.float64)).dtype == minigrad.float64
    for fn in (lambda t: 2 - t, lambda t: 1 / t, lambda t: t**3, lambda t: 2**t, lambda t: t**t):
        gradcheck(fn, (x,))


def test_unary_ops_and_gradients():
    x = leaf(2, 3, low=0.2, high=2.0)
    xn = x.detach().numpy()
    cases = [
        (minigrad.exp, np.exp),
        (minigrad.log, np.log),
        (minigrad.sqrt, np.sqrt),
        (lambda t: t.abs(), np.abs),
        (lambda t: t.neg(), np.negative),
        (lambda t: t.clamp(0.5, 1.5), lambda a: np.clip(a, 0.5, 1.5)),
        (lambda t: t.clamp(min=1.0), lambda a: np.maximum(a, 1.0)),
    ]
    for op, ref in cases:
        np.testing.assert_allclose(op(x).detach().numpy(), ref(xn))
    y = leaf(2, 3)
    y.detach().numpy()[np.abs(y.detach().numpy()) < 0.1] = 0.5  # away from the kink of abs
    gradcheck(lambda t: t.abs(), (y,))
    for op, _ in cases[:3]:
        gradcheck(op, (x,))
    z = minigrad.tensor([0.1, 0.7, 1.2, 1.9], dtype=minigrad.float64, requires_grad=True)
    z.clamp(0.5, 1.5).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [0, 1, 1, 0])
    with pytest.raises(ValueError, match="clamp"):
        minigrad.clamp(z)
    promoted = minigrad.exp(minigrad.tensor([1, 2]))  # integer input gives float32, as PyTorch
    assert promoted.dtype == minigrad.float32
    np.testing.assert_allclose(promoted.numpy(), np.exp([1.0, 2.0]), rtol=1e-6)


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean(dim, keepdim):
    x = leaf(2, 3, 4)
    axis = dim if not isinstance(dim, list) else tuple(dim)
    np.testing.assert_allclose(
        x.sum(dim, keepdim).detach().numpy(), x.detach().numpy().sum(axis=axis, keepdims=keepdim)
    )
    np.testing.assert_allclose(
        x.mean(dim, keepdim).detach().numpy(), x.detach().numpy().mean(axis=axis, keepdims=keepdim)
    )
    gradcheck(lambda t: t.sum(dim, keepdim), (x,))
    gradcheck(lambda t: t.mean(dim, keepdim), (x,))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_over_dim(dim, keepdim):
    x = minigrad.tensor(rng.permutation(24).reshape(2, 3, 4) / 7.0, requires_grad=True)  # no ties
    xn = x.detach().numpy()
    values, indices = x.max(dim, keepdim)
    np.testing.assert_allclose(values.detach().numpy(), xn.max(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(indices.numpy(), xn.argmax(axis=dim, keepdims=keepdim))
    assert indices.dtype == minigrad.int64 and not indices.requires_grad
    mv, mi = minigrad.min(x, dim, keepdim)
    np.testing.assert_allclose(mv.detach().numpy(), xn.min(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(mi.numpy(), xn.argmin(axis=dim, keepdims=keepdim))
    gradcheck(lambda t: t.max(dim, keepdim).values, (x,))
    gradcheck(lambda t: t.min(dim, keepdim)[0], (x,))


def test_global_max_min_argmax():
    x = minigrad.tensor([[1.0, 5.0], [5.0, -2.0]], dtype=minigrad.float64, requires_grad=True)
    assert x.max().item() == 5.0 and x.min().item() == -2.0
    assert x.argmax().item() == 1 and x.argmin().item() == 3
    np.testing.assert_array_equal(x.argmax(1).numpy(), [1, 0])
    x.max().backward()  # a tie: shared evenly, as PyTorch
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5], [0.5, 0]])
    y = leaf(3, 4)
    gradcheck(lambda t: t.max(), (y,))
    gradcheck(lambda t: minigrad.min(t), (y,))


@pytest.mark.parametrize(
    "a_shape,b_shape",
    [
        ((3, 4), (4, 5)),
        ((4,), (4, 5)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 5)),
        ((5, 4), (2, 1, 4, 3)),
        ((1, 1), (1, 1)),
    ],
)
def test_matmul_numpy_and_gradients(a_shape, b_shape):
    a, b = leaf(*a_shape), leaf(*b_shape)
    if (len(a_shape) <= 2 and len(b_shape) <= 2) and not hasattr(minigrad._C, "gemm"):
        pytest.skip("_C.gemm is not built yet")
    out = a @ b
    np.testing.assert_allclose(out.detach().numpy(), a.detach().numpy() @ b.detach().numpy(), rtol=1e-12)
    assert out.shape == np.matmul(a.detach().numpy(), b.detach().numpy()).shape
    gradcheck(lambda x, y: x @ y, (a, b))


def test_matmul_shape_errors():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        minigrad.zeros(2, 3) @ minigrad.zeros(4, 5)
    with pytest.raises(ValueError, match="matmul"):
        minigrad.zeros(3) @ minigrad.tensor(2.0)
    with pytest.raises(TypeError, match="matmul"):  # integer products work, as PyTorch's; bool ones do not
        minigrad.tensor([[True, False]]) @ minigrad.tensor([[True], [False]])
    assert (minigrad.tensor([[1, 2]]) @ minigrad.tensor([[1], [2]])).tolist() == [[5]]


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        minigrad.zeros(2, 3) + minigrad.zeros(4)


# --- shape ops -------------------------------------------------------------------------------


def test_shape_ops_forward():
    x = leaf(2, 3, 4)
    xn = x.detach().numpy()
    np.testing.assert_array_equal(x.reshape(4, 6).detach().numpy(), xn.reshape(4, 6))
    np.testing.assert_array_equal(x.view(-1).detach().numpy(), xn.reshape(-1))
    np.testing.assert_array_equal(x.reshape((3, -1)).detach().numpy(), xn.reshape(3, -1))
    np.testing.assert_array_equal(x.flatten(1).detach().numpy(), xn.reshape(2, 12))
    np.testing.assert_array_equal(minigrad.flatten(x).detach().numpy(), xn.reshape(-1))
    np.testing.assert_array_equal(x.transpose(0, 2).detach().numpy(), xn.transpose(2, 1, 0))
    np.testing.assert_array_equal(x.permute(1, 2, 0).detach().numpy(), xn.transpose(1, 2, 0))
    np.testing.assert_array_equal(x.T.detach().numpy(), xn.T)
    np.testing.assert_array_equal(x.mT.detach().numpy(), np.swapaxes(xn, -1, -2))
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x.unsqueeze(1).squeeze().shape == (2, 3, 4) and x.unsqueeze(0).squeeze(0).shape == (2, 3, 4)
    assert x.squeeze(0).shape == (2, 3, 4)
    assert x[:, :1].expand(2, 5, 4).shape == (2, 5, 4)
    assert x.sum(0).t().shape == (4, 3)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(5, 5)
    with pytest.raises(IndexError, match="transpose"):
        x.transpose(0, 3)
    with pytest.raises(ValueError, match="permute"):
        x.permute(0, 0, 1)


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t.reshape(6, 4),
        lambda t: t.transpose(0, 2),
        lambda t: t.permute(2, 0, 1),
        lambda t: t.flatten(),
        lambda t: t.unsqueeze(1).squeeze(1),
        lambda t: t[:, :1].expand(2, 3, 4),
        lambda t: t.T * t.T,
    ],
)
def test_shape_op_gradients(fn):
    gradcheck(fn, (leaf(2, 3, 4),))


@pytest.mark.parametrize(
    "index",
    [
        1,
        (0, 2),
        (slice(None), 1),
        (Ellipsis, slice(1, 3)),
        (None, 1),
        (slice(None, None, -1),),
        np.array([2, 0, 2]),
        (np.array([0, 1, 1]), np.array([3, 3, 0])),
        np.array([True, False, True]),
    ],
)
def test_indexing_forward_and_scatter_gradient(index):
    x = leaf(3, 4)
    idx = index
    np.testing.assert_array_equal(x[idx].detach().numpy(), x.detach().numpy()[idx])
    gradcheck(lambda t: t[idx], (x,))


def test_index_with_tensor_and_repeated_rows_accumulate():
    x = leaf(3, 2)
    rows = minigrad.tensor([0, 0, 2])
    x[rows].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2, 2], [0, 0], [1, 1]])
    with pytest.raises(IndexError, match="index"):
        x[5]


def test_cat_stack_where():
    a, b = leaf(2, 3), leaf(4, 3)
    np.testing.assert_array_equal(
        minigrad.cat([a, b]).detach().numpy(), np.concatenate([a.detach().numpy(), b.detach().numpy()])
    )
    gradcheck(lambda p, q: minigrad.cat([p, q], 0), (a, b))
    c = leaf(2, 3)
    np.testing.assert_array_equal(
        minigrad.stack([a, c], 1).detach().numpy(), np.stack([a.detach().numpy(), c.detach().numpy()], 1)
    )
    gradcheck(lambda p, q: minigrad.stack([p, q], -1), (a, c))
    cond = a > 0
    assert cond.dtype == minigrad.bool and not cond.requires_grad
    np.testing.assert_array_equal(
        minigrad.where(cond, a, c).detach().numpy(),
        np.where(cond.detach().numpy(), a.detach().numpy(), c.detach().numpy()),
    )
    gradcheck(lambda p, q: minigrad.where(cond, p, q), (a, c))
    row = leaf(3)
    gradcheck(lambda p, q: minigrad.where(cond, p, q), (a, row))
    gradcheck(lambda p: minigrad.where(cond, p, 0.0), (a,))
    with pytest.raises(ValueError, match="cat"):
        minigrad.cat([a, leaf(2, 4)])
    with pytest.raises(ValueError, match="stack"):
        minigrad.stack([a, b])


def test_comparisons():
    a = minigrad.tensor([1.0, 2.0, 3.0])
    b = minigrad.tensor([3.0, 2.0, 1.0])
    np.testing.assert_array_equal((a == b).numpy(), [False, True, False])
    np.testing.assert_array_equal((a != b).numpy(), [True, False, True])
    np.testing.assert_array_equal((a < b).numpy(), [True, False, False])
    np.testing.assert_array_equal((a <= 2).numpy(), [True, True, False])
    np.testing.assert_array_equal((a > b).numpy(), [False, False, True])
    np.testing.assert_array_equal((a >= 2).numpy(), [False, True, True])
    assert (a == b).sum().item() == 1 and (a == b).float().dtype == minigrad.float32
    assert len({a, b}) == 2  # hashable by identity


def test_gradient_flows_through_casts():
    x = leaf(3)
    (x.float() * 2).double().sum().backward()
    assert x.grad.dtype == minigrad.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])
    y = minigrad.ones(3, requires_grad=True)
    (y.double() * 3).sum().backward()
    assert y.grad.dtype == minigrad.float32
    np.testing.assert_array_equal(y.grad.numpy(), [3, 3, 3])


@st.composite
def broadcastable_shapes(draw):
    """Two shapes that broadcast: each dimension of the shorter is the other's size or 1."""
    full = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    drop = draw(st.integers(0, len(full)))
    other = [n if draw(st.booleans()) else 1 for n in full[drop:]]
    return (tuple(full), tuple(other)) if draw(st.booleans()) else (tuple(other), tuple(full))


@settings(max_examples=25, deadline=None)
@given(shapes=broadcastable_shapes(), name=st.sampled_from(sorted(BINARY)))
def test_broadcast_gradients_property(shapes, name):
    op, ref = BINARY[name]
    a, b = leaf(*shapes[0]), leaf(*shapes[1], low=0.5, high=2.0)
    np.testing.assert_allclose(op(a, b).detach().numpy(), ref(a.detach().numpy(), b.detach().numpy()))
    gradcheck(op, (a, b))


def test_uint64_past_int64_raises_instead_of_wrapping():
    with pytest.raises(OverflowError, match="int64"):
        minigrad.tensor(np.array([1, 2**63], dtype=np.uint64))
    with pytest.raises(OverflowError, match="int64"):
        minigrad.tensor(np.array([2**64 - 1], dtype=np.uint64), dtype="int64")
    assert minigrad.tensor(np.array([7], dtype=np.uint64)).tolist() == [7]


def test_augmented_assignment_is_in_place_and_trains():
    # issue 13, defect 4: `p -= lr * p.grad` made a new tensor, so the hand-written SGD loop did not train
    p = minigrad.tensor([1.0, -2.0], requires_grad=True)
    before = p
    (p * p).sum().backward()
    with minigrad.no_grad():
        p -= 0.25 * p.grad
    assert p is before and p.is_leaf and p.requires_grad
    np.testing.assert_allclose(p.detach().numpy(), [0.5, -1.0])
    for op in ("__iadd__", "__isub__", "__imul__", "__itruediv__"):
        t = minigrad.tensor([2.0, 4.0])
        view = t.reshape(2)
        assert getattr(t, op)(2.0) is t
        np.testing.assert_allclose(view.numpy(), getattr(np.array([2.0, 4.0]), op)(2.0))


def test_in_place_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    p = minigrad.ones(2, requires_grad=True)
    for update in (lambda: p.__isub__(1.0), lambda: p.add_(1.0), lambda: p.mul_(2.0)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            update()
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 1.0])


def test_in_place_dtype_and_shape_rules_follow_pytorch():
    t = minigrad.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        t /= 2
    with pytest.raises(RuntimeError, match="broadcast shape"):
        t += minigrad.tensor([[1], [2]])
    f = minigrad.zeros(2)
    f += minigrad.tensor([1.5, 2.5], dtype=minigrad.float64)  # same kind: allowed, stays float32
    assert f.dtype == minigrad.float32 and f.tolist() == [1.5, 2.5]


_IN_PLACE_ON_THE_TAPE = {  # (h, w, functional module) -> h changed in place
    "iadd": lambda h, w, F: h.__iadd__(w),
    "isub": lambda h, w, F: h.__isub__(w),
    "imul": lambda h, w, F: h.__imul__(w),
    "itruediv": lambda h, w, F: h.__itruediv__(w),
    "relu_inplace": lambda h, w, F: F.relu(h * w, inplace=True),
}


@pytest.mark.parametrize("case", sorted(_IN_PLACE_ON_THE_TAPE))
def test_in_place_on_the_tape_matches_pytorch(case):
    update = _IN_PLACE_ON_THE_TAPE[case]

    def run(lib):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([1.5, 2.0, -0.5], dtype=lib.float64, requires_grad=True)
        h = x * 3  # a non-leaf: the in-place op is recorded
        h = update(h, w, lib.nn.functional)
        ((h * h).sum() + h.sum()).backward()
        return {"h": h.detach().numpy(), "x.grad": x.grad.numpy(), "w.grad": w.grad.numpy()}

    want = torch_reference(f"in_place_on_the_tape/{case}", run)
    for name, got in run(minigrad).items():
        np.testing.assert_allclose(got, want[name], rtol=1e-12, err_msg=name)


def test_in_place_with_an_argument_that_requires_grad_joins_the_tape():
    buf = minigrad.zeros(2, dtype=minigrad.float64)
    x = minigrad.tensor([1.0, 2.0], dtype=minigrad.float64, requires_grad=True)
    buf += x * x
    assert buf.requires_grad and not buf.is_leaf
    buf.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_relu_inplace_changes_its_input():
    # issue 13, defect 9: F.relu(x, inplace=True) left x unchanged
    x = minigrad.tensor([-1.0, 2.0])
    out = minigrad.nn.functional.relu(x, inplace=True)
    assert out is x and x.tolist() == [0.0, 2.0]
    y = minigrad.tensor([-1.0, 3.0])
    minigrad.nn.ReLU(inplace=True)(y)
    assert y.tolist() == [0.0, 3.0]
    z = minigrad.tensor([-2.0, 3.0])
    minigrad.nn.functional.leaky_relu(z, 0.5, inplace=True)
    assert z.tolist() == [-1.0, 3.0]


def test_sizes_must_be_non_negative_integers():
    # issue 13, defect 9: ones(2.5) gave shape (2,)
    for make in (minigrad.ones, minigrad.zeros, minigrad.empty, minigrad.rand, minigrad.randn):
        with pytest.raises(TypeError, match="tuple of ints"):
            make(2.5)
        with pytest.raises(ValueError, match="negative dimension"):
            make(2, -1)
        assert make(np.int64(2), 0).shape == (2, 0)


def test_contiguous_goes_through_the_backend():
    t = minigrad.arange(6.0).reshape(2, 3)
    assert t.is_contiguous() and t.contiguous() is t
    tt = t.transpose(0, 1)
    assert not tt.is_contiguous() and tt.contiguous().is_contiguous()
    np.testing.assert_array_equal(tt.contiguous().numpy(), tt.numpy())


def test_uint8_tensors_as_pytorch():
    # issue 16: IDX images are uint8; from_numpy(uint8) was refused and tensor() made int64
    images = np.array([[0, 128, 255]], np.uint8)
    t = minigrad.from_numpy(images)
    assert t.dtype == minigrad.uint8 and minigrad.tensor(images).dtype == minigrad.uint8
    assert (t + 1).dtype == minigrad.uint8 and (t + 1).tolist() == [[1, 129, 0]]  # wraps, as torch.uint8
    assert (t / 255).dtype == minigrad.float32 and t.float().max().item() == 255.0
    assert t.sum().dtype == minigrad.int64 and t.sum().item() == 383
    assert (t + minigrad.tensor([[1, 2, 3]])).dtype == minigrad.int64
