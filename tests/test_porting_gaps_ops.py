"""Tensor methods and functions course code ported with `import minigrad as torch` reaches for
(logical_* methods, dot/mv/addmm, unique/bincount, fmax/fmin, logaddexp, diagonal, tile, the
in-place unary methods, random_/bernoulli_, cdist, cross, kron, block_diag, histogram, finfo/iinfo,
result_type/promote_types, where(condition), == None, integer matmul, index_put, where of two
numbers, squeeze of several dims, nn.utils.rnn.pad_sequence). Each against PyTorch when it is installed
and against numpy or a closed form without it; float64 gradient checks for the differentiable
ones; bad input as a clear error."""

import math

import numpy as np
import pytest
from parity import as_array, assert_same, f64

import minigrad
from minigrad.autograd import gradcheck

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))


def both(fn, *arrays):
    """fn on minigrad tensors and, when PyTorch is installed, on torch tensors of the same arrays:
    (minigrad result, torch result or None)."""
    got = fn(minigrad, *(minigrad.tensor(a) for a in arrays))
    want = fn(torch, *(torch.tensor(a) for a in arrays)) if torch is not None else None
    return got, want


def check(fn, *arrays, numpy_ref=None, rtol=1e-6):
    """fn's minigrad result equals numpy_ref (when given) and PyTorch's (when installed)."""
    got, want = both(fn, *arrays)
    if numpy_ref is not None:
        assert_same(got, numpy_ref, rtol)
    if want is not None:
        assert_same(got, want, rtol)


# ----------------------------------------------------------------- priority 1: methods
def test_logical_methods():
    a, b = np.array([0, 1, 2, 0]), np.array([0, 0, 3, 5])
    check(lambda t, x, y: x.logical_and(y), a, b, numpy_ref=np.logical_and(a, b))
    check(lambda t, x, y: x.logical_or(y), a, b, numpy_ref=np.logical_or(a, b))
    check(lambda t, x, y: x.logical_xor(y), a, b, numpy_ref=np.logical_xor(a, b))
    check(lambda t, x: x.logical_not(), a, numpy_ref=np.logical_not(a))


def test_is_floating_point_and_sizes():
    for dtype, floating, size in ((minigrad.float32, True, 4), (minigrad.float64, True, 8),
                                  (minigrad.int64, False, 8), (minigrad.bool, False, 1)):
        x = minigrad.zeros(2, 3, dtype=dtype)
        assert x.is_floating_point() is floating and minigrad.is_floating_point(x) is floating
        assert x.element_size() == x.itemsize == size and x.nbytes == 6 * size
    with pytest.raises(TypeError, match="must be Tensor"):
        minigrad.is_floating_point(1.0)
    if torch is not None:
        t = torch.zeros(2, 3)
        assert (t.element_size(), t.itemsize, t.nbytes) == (4, 4, 24)


def test_dot_mv_addmm_values_and_gradients():
    v, w, m = RNG.standard_normal(4), RNG.standard_normal(4), RNG.standard_normal((3, 4))
    check(lambda t, x, y: x.dot(y), v, w, numpy_ref=np.array(v @ w))
    check(lambda t, x, y: x.mv(y), m, v, numpy_ref=m @ v)
    c, m2 = RNG.standard_normal(2), RNG.standard_normal((2, 3))
    check(lambda t, x, y, z: t.addmm(x, y, z, beta=0.5, alpha=2.0), c[:1], m2, m, numpy_ref=0.5 * c[:1] + 2 * m2 @ m)
    check(lambda t, x, y, z: x.addmm(y, z), np.ones((2, 4)), m2, m, numpy_ref=1 + m2 @ m)
    nan_input = minigrad.full((2, 4), float("nan"), dtype=minigrad.float64)
    assert not minigrad.addmm(nan_input, minigrad.tensor(m2), minigrad.tensor(m), beta=0).isnan().any()
    assert gradcheck(lambda x, y: x.dot(y), (f64(v), f64(w)))
    assert gradcheck(lambda x, y, z: minigrad.addmm(x, y, z, beta=0.5, alpha=-2), (f64(c[:1]), f64(m2), f64(m)))


def test_integer_matmul_as_torch():
    """Integer products (confusion matrices, counts) multiply as PyTorch's; bool ones raise."""
    ints = RNG.integers(-5, 6, (2, 3, 4))
    other = RNG.integers(-5, 6, (4, 5))
    for fn in (lambda t, a, b: a @ b, lambda t, a, b: t.matmul(a[0], b), lambda t, a, b: t.mm(a[1], b),
               lambda t, a, b: t.bmm(a, a.transpose(1, 2))):
        got, want = both(fn, ints, other)
        assert got.dtype == minigrad.int64
        if want is not None:
            np.testing.assert_array_equal(as_array(got), as_array(want))
    np.testing.assert_array_equal(as_array(minigrad.tensor(ints) @ minigrad.tensor(other)), ints @ other)
    with pytest.raises(TypeError, match="matmul"):
        minigrad.ones(2, 2, dtype=minigrad.bool) @ minigrad.ones(2, 2, dtype=minigrad.bool)


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_as_torch(accumulate):
    """index_put / index_put_ (a confusion matrix: accumulate=True with repeated places), values
    broadcast, gradients of input and values (float64 finite differences)."""
    rows, cols = np.array([0, 2, 0, 1, 0]), np.array([1, 2, 1, 0, 1])
    vals = RNG.standard_normal(5)
    base = RNG.standard_normal((3, 3))
    got = minigrad.tensor(base).index_put_((minigrad.tensor(rows), minigrad.tensor(cols)), minigrad.tensor(vals),
                                           accumulate=accumulate)
    want = base.copy()
    if accumulate:
        np.add.at(want, (rows, cols), vals)
    else:
        want[rows, cols] = vals
    if torch is not None:
        want = torch.tensor(base).index_put_((torch.tensor(rows), torch.tensor(cols)), torch.tensor(vals),
                                             accumulate=accumulate).numpy()
    np.testing.assert_allclose(as_array(got), want, rtol=1e-12)
    confusion = minigrad.zeros(3, 3, dtype=minigrad.int64).index_put_(
        [minigrad.tensor(rows), minigrad.tensor(cols)], minigrad.tensor(1), accumulate=True)
    np.testing.assert_array_equal(as_array(confusion), np.histogram2d(rows, cols, bins=3, range=[[0, 3], [0, 3]])[0])
    unique = (minigrad.tensor([0, 2]), minigrad.tensor([1, 0]))  # repeated places written twice are ambiguous
    assert gradcheck(lambda x, v: minigrad.index_put(x, unique, v, accumulate=accumulate),
                     (f64(base), f64(RNG.standard_normal(2))))
    if accumulate:
        assert gradcheck(lambda x, v: x.index_put((minigrad.tensor(rows), minigrad.tensor(cols)), v, True),
                         (f64(base), f64(vals)))
    with pytest.raises(TypeError, match="index_put"):
        minigrad.zeros(3).index_put((minigrad.tensor([0]),), [1.0], accumulate=True)


def test_where_of_two_numbers_as_torch():
    """where(mask, 1.0, 0.0): two Python numbers give the default float (int64 for ints, bool
    for bools), as PyTorch."""
    mask = np.array([True, False, True])
    for a, b in ((1.0, 0.0), (1, 0), (1, 0.5), (True, False)):
        got = minigrad.where(minigrad.tensor(mask), a, b)
        want = np.where(mask, a, b)
        np.testing.assert_array_equal(as_array(got), want)
        if torch is not None:
            assert str(got.dtype) == str(torch.where(torch.tensor(mask), a, b).dtype).replace("torch.", "")


def test_squeeze_of_several_dims_as_torch():
    x = minigrad.ones(1, 2, 1, 3)
    assert x.squeeze((0, 2)).shape == (2, 3)
    assert x.squeeze((0, 1)).shape == (2, 1, 3)  # size-2 dims stay
    assert x.squeeze(()).shape == (1, 2, 1, 3)
    assert minigrad.squeeze(x, [-2, 0]).shape == (2, 3)
    with pytest.raises(IndexError):
        x.squeeze((0, 4))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_as_torch(batch_first, padding_side):
    from minigrad.nn.utils.rnn import pad_sequence

    arrays = [RNG.standard_normal((n, 3)) for n in (2, 4, 1)]
    got = pad_sequence([minigrad.tensor(a) for a in arrays], batch_first, -1.0, padding_side)
    assert got.shape == ((3, 4, 3) if batch_first else (4, 3, 3))
    if torch is not None:
        want = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays], batch_first, -1.0, padding_side)
        np.testing.assert_array_equal(as_array(got), want.numpy())
    assert gradcheck(lambda a, b: pad_sequence([a, b], batch_first, 0.0, padding_side),
                     (f64(arrays[0]), f64(arrays[1])))
    with pytest.raises(RuntimeError, match="pad_sequence"):
        pad_sequence([minigrad.ones(2, 3), minigrad.ones(2, 4)])
    with pytest.raises(ValueError, match="padding_side"):
        pad_sequence([minigrad.ones(2)], padding_side="middle")


def test_dot_mv_addmm_bad_input():
    with pytest.raises(RuntimeError, match="1-D"):
        minigrad.ones(3).dot(minigrad.ones(2))
    with pytest.raises(RuntimeError, match="same dtype"):
        minigrad.ones(3).dot(minigrad.ones(3, dtype=minigrad.float64))
    with pytest.raises(RuntimeError, match="mv"):
        minigrad.ones(2).mv(minigrad.ones(2))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        minigrad.addmm(minigrad.ones(2), minigrad.ones(2, 4), minigrad.ones(4, 3))


def test_count_nonzero_unique_bincount_methods():
    a = np.array([[0, 3, 3], [1, 0, 3]])
    check(lambda t, x: x.count_nonzero(), a, numpy_ref=np.array(4))
    check(lambda t, x: x.count_nonzero(dim=0), a, numpy_ref=np.array([1, 1, 2]))
    values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    check(lambda t, x: x.unique(return_inverse=True, return_counts=True), a,
          numpy_ref=(values, inverse.reshape(a.shape), counts))
    b = np.array([1, 1, 4, 0])
    check(lambda t, x: x.bincount(minlength=6), b, numpy_ref=np.bincount(b, minlength=6))
    check(lambda t, x, w: x.bincount(w), b, np.array([0.5, 1.0, 2.0, 3.0]),
          numpy_ref=np.array([3.0, 1.5, 0.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="non-negative"):
        minigrad.tensor([-1, 2]).bincount()
    with pytest.raises(ValueError, match="1-D non-negative integers"):
        minigrad.tensor([1.0]).bincount()


def test_reshape_as_signbit_true_divide():
    check(lambda t, x, y: x.reshape_as(y), A, A.reshape(4, 3), numpy_ref=A.reshape(4, 3))
    s = np.array([-0.0, 0.0, -1.5, 2.0, np.nan, -np.nan, -np.inf])
    check(lambda t, x: x.signbit(), s, numpy_ref=np.signbit(s))
    check(lambda t, x: t.signbit(x), np.array([-2, 0, 3]), numpy_ref=np.array([True, False, False]))
    check(lambda t, x, y: x.true_divide(y), np.array([1, 2]), np.array([2, 2]),
          numpy_ref=np.array([0.5, 1.0], np.float32))


def test_fmax_fmin_ignore_one_nan():
    a, b = np.array([1.0, np.nan, np.nan, 4.0, -0.5]), np.array([np.nan, 2.0, np.nan, 3.0, 0.5])
    check(lambda t, x, y: t.fmax(x, y), a, b, numpy_ref=np.fmax(a, b))
    check(lambda t, x, y: x.fmin(y), a, b, numpy_ref=np.fmin(a, b))
    check(lambda t, x, y: t.fmax(x, y), np.array([1, 5]), np.array([3, 2]), numpy_ref=np.array([3, 5]))
    assert gradcheck(lambda x, y: minigrad.fmax(x, y), (f64(A), f64(B)))
    assert gradcheck(lambda x, y: minigrad.fmin(x, y), (f64(A), f64(B[0])))
    x, y = f64([np.nan, 1.0]), f64([2.0, np.nan])
    minigrad.fmax(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 0.0])


def test_logaddexp_is_stable_and_differentiable():
    a = np.array([-np.inf, np.inf, 1000.0, -1000.0, 1.0, 0.0])
    b = np.array([-np.inf, np.inf, 1000.0, -999.0, 2.0, -np.inf])
    check(lambda t, x, y: t.logaddexp(x, y), a, b, numpy_ref=np.logaddexp(a, b))
    check(lambda t, x, y: x.logaddexp(y), A.astype(np.float32), B[0].astype(np.float32),
          numpy_ref=np.logaddexp(A, B[0]).astype(np.float32), rtol=1e-5)
    assert gradcheck(lambda x, y: minigrad.logaddexp(x, y), (f64(A), f64(B)))
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.logaddexp(minigrad.tensor([1]), minigrad.tensor([2]))


def test_diagonal_matches_torch_and_numpy():
    x = np.arange(60.0).reshape(3, 4, 5)
    for offset, dim1, dim2 in ((0, 0, 1), (1, 0, 2), (-1, 2, 1), (2, -1, -2), (7, 0, 1)):
        check(lambda t, v, o=offset, d1=dim1, d2=dim2: t.diagonal(v, o, d1, d2), x,
              numpy_ref=np.diagonal(x, offset, dim1, dim2))
    check(lambda t, v: v.diagonal(offset=-1), A, numpy_ref=np.diagonal(A, -1))
    assert gradcheck(lambda v: v.diagonal(1, 2, 0), (f64(x),))
    with pytest.raises(RuntimeError, match="cannot be identical"):
        minigrad.diagonal(minigrad.tensor(x), 0, 1, -2)
    with pytest.raises(IndexError):
        minigrad.ones(3).diagonal()


def test_tile():
    for dims in ((2,), (2, 1), (1, 2, 3)):
        check(lambda t, v, d=dims: t.tile(v, d), A, numpy_ref=np.tile(A, dims))
    check(lambda t, v: v.tile(2, 2), np.array([1, 2]), numpy_ref=np.tile([1, 2], (2, 2)))
    assert gradcheck(lambda v: v.tile((2, 1, 2)), (f64(A),))


# ----------------------------------------------------------------- priority 2: in place
UNARY_INPLACE = [
    ("exp_", np.exp, lambda a: a), ("log_", np.log, np.abs), ("sqrt_", np.sqrt, np.abs), ("abs_", np.abs, lambda a: a),
    ("neg_", np.negative, lambda a: a), ("sigmoid_", lambda a: 1 / (1 + np.exp(-a)), lambda a: a),
    ("tanh_", np.tanh, lambda a: a), ("floor_", np.floor, lambda a: 3 * a), ("ceil_", np.ceil, lambda a: 3 * a),
    ("round_", np.round, lambda a: 3 * a), ("trunc_", np.trunc, lambda a: 3 * a),
]


@pytest.mark.parametrize("name,ref,domain", UNARY_INPLACE, ids=[u[0] for u in UNARY_INPLACE])
def test_inplace_unary(name, ref, domain, device):
    values = domain(A)
    x = minigrad.tensor(values, device=device)
    alias = x[0]
    assert getattr(x, name)() is x and x._version == 1
    np.testing.assert_allclose(x.cpu().numpy(), ref(values), rtol=1e-12)
    if device == "cpu":  # the same memory (CUDA indexing copies through the host: no view to see it)
        np.testing.assert_allclose(alias.cpu().numpy(), ref(values)[0], rtol=1e-12)
    if torch is not None:
        np.testing.assert_allclose(x.cpu().numpy(), getattr(torch.tensor(values), name)().numpy(), rtol=1e-12)
    leaf = minigrad.tensor(values, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        getattr(leaf, name)()
    # on a non-leaf the change is recorded: the gradient is the out-of-place op's
    if name not in ("floor_", "ceil_", "round_", "trunc_"):
        base = f64(values)
        assert gradcheck(lambda b, n=name: getattr(b * 1.0, n)(), (base,))


def test_inplace_unary_keeps_dtype_rules():
    with pytest.raises((RuntimeError, TypeError)):
        minigrad.tensor([1, 4]).sqrt_()
    np.testing.assert_array_equal(minigrad.tensor([-1, 4]).abs_().numpy(), [1, 4])
    np.testing.assert_array_equal(minigrad.tensor([1.26, -2.5]).round_(decimals=1).numpy(),
                                  np.array([1.3, -2.5], np.float32))


def test_squeeze_unsqueeze_inplace():
    x = minigrad.zeros(2, 1, 3)
    assert x.squeeze_() is x and x.shape == (2, 3)
    assert x.unsqueeze_(0) is x and x.shape == (1, 2, 3)
    assert x.squeeze_(dim=0).shape == (2, 3) and x.unsqueeze_(-1).shape == (2, 3, 1)
    if torch is not None:
        assert torch.zeros(2, 1, 3).squeeze_().shape == (2, 3)
    leaf = minigrad.zeros(2, 1, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        leaf.squeeze_()
    with minigrad.no_grad():
        assert leaf.squeeze_().shape == (2,)
    w = minigrad.tensor([[1.0], [2.0]], requires_grad=True)
    y = w * 3
    y.squeeze_(1).unsqueeze_(0)
    assert y.shape == (1, 2)
    (y * minigrad.tensor([[1.0, 10.0]])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[3.0], [30.0]])


def test_random_inplace():
    minigrad.manual_seed(5)
    x = minigrad.empty(1000).random_(3, 7)
    values = x.numpy()
    assert x.dtype == minigrad.float32 and set(np.unique(values)) == {3.0, 4.0, 5.0, 6.0}
    minigrad.manual_seed(5)
    np.testing.assert_array_equal(minigrad.empty(1000).random_(3, 7).numpy(), values)  # seeded
    g = minigrad.Generator().manual_seed(1)
    first = minigrad.empty(50, dtype=minigrad.int64).random_(10, generator=g).numpy()
    assert first.min() >= 0 and first.max() < 10
    np.testing.assert_array_equal(
        minigrad.empty(50, dtype=minigrad.int64).random_(10, generator=minigrad.Generator().manual_seed(1)).numpy(),
        first)
    assert minigrad.empty(200, dtype=minigrad.int64).random_(to=3).numpy().max() < 3
    assert minigrad.empty(200).random_(2, to=4).numpy().min() >= 2
    wide = minigrad.empty(100).random_().numpy()
    assert wide.min() >= 0 and wide.max() <= 2**24 and wide.max() > 2**20
    assert minigrad.empty(100, dtype=minigrad.bool).random_().dtype == minigrad.bool
    with pytest.raises(RuntimeError, match="from' to be less than 'to'"):
        minigrad.empty(2).random_(5, 3)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        minigrad.empty(2, requires_grad=True).random_(3)


def test_bernoulli_inplace():
    minigrad.manual_seed(0)
    x = minigrad.empty(4000).bernoulli_(0.25)
    assert set(np.unique(x.numpy())) <= {0.0, 1.0} and abs(x.numpy().mean() - 0.25) < 0.03
    minigrad.manual_seed(0)
    np.testing.assert_array_equal(minigrad.empty(4000).bernoulli_(0.25).numpy(), x.numpy())
    ints = minigrad.empty(10, dtype=minigrad.int64).bernoulli_(generator=minigrad.Generator().manual_seed(2))
    assert ints.dtype == minigrad.int64 and set(np.unique(ints.numpy())) <= {0, 1}
    p = minigrad.tensor([0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(minigrad.empty(2, 4).bernoulli_(p).numpy(), [[0, 1, 0, 1]] * 2)
    with pytest.raises(RuntimeError, match=r"p to be in \[0, 1\]"):
        minigrad.empty(2).bernoulli_(1.5)


# ----------------------------------------------------------------- priority 3: functions
def test_concat_aliases_clone_and_select():
    assert minigrad.concat is minigrad.cat and minigrad.concatenate is minigrad.cat
    check(lambda t, x, y: t.concat([x, y], dim=1), A, B, numpy_ref=np.concatenate([A, B], 1))
    check(lambda t, x, y: t.concatenate([x, y], axis=0), A, B, numpy_ref=np.concatenate([A, B], 0))
    x = f64(A)
    y = minigrad.clone(x)
    assert y is not x and y.grad_fn is not None
    check(lambda t, v: t.select(v, 1, -1), A, numpy_ref=A[:, -1])
    check(lambda t, v: v.select(0, 2), A, numpy_ref=A[2])
    assert gradcheck(lambda v: minigrad.select(v, 1, 2), (f64(A),))
    with pytest.raises(IndexError, match="out of range"):
        minigrad.select(minigrad.ones(3, 2), 1, 5)
    with pytest.raises(IndexError, match="0-dim"):
        minigrad.select(minigrad.tensor(1.0), 0, 0)


def test_where_one_argument_and_argwhere():
    c = np.array([[0, 1, 2], [3, 0, 0]])
    check(lambda t, x: t.where(x), c, numpy_ref=tuple(i.astype(np.int64) for i in np.nonzero(c)))
    check(lambda t, x: t.argwhere(x), c, numpy_ref=np.argwhere(c).astype(np.int64))
    check(lambda t, x: x.argwhere(), c, numpy_ref=np.argwhere(c).astype(np.int64))
    with pytest.raises(TypeError, match="where"):
        minigrad.where(minigrad.tensor([True]), minigrad.tensor([1.0]))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_atleast(n):
    shapes = {1: [(1,), (2,), (2, 3), (2, 3, 4)], 2: [(1, 1), (1, 2), (2, 3), (2, 3, 4)],
              3: [(1, 1, 1), (1, 2, 1), (2, 3, 1), (2, 3, 4)]}[n]
    arrays = [np.array(1.0), np.ones(2), np.ones((2, 3)), np.ones((2, 3, 4))]
    fn = getattr(minigrad, f"atleast_{n}d")
    for a, shape in zip(arrays, shapes, strict=True):
        assert fn(minigrad.tensor(a)).shape == shape
    several = fn(*(minigrad.tensor(a) for a in arrays))
    listed = fn([minigrad.tensor(a) for a in arrays])
    assert isinstance(several, tuple) and [t.shape for t in several] == [t.shape for t in listed] == shapes
    if torch is not None:
        want = getattr(torch, f"atleast_{n}d")(*(torch.tensor(a) for a in arrays))
        assert [tuple(t.shape) for t in want] == shapes


def test_cdist_matches_torch_and_numpy():
    x1, x2 = RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 4, 3))
    for p in (2.0, 1.0, 0.5, 3.0, math.inf, 0.0):
        diff = np.abs(x1[:, :, None, :] - x2[:, None, :, :])
        if p == math.inf:
            ref = diff.max(-1)
        elif p == 0:
            ref = (diff != 0).sum(-1).astype(np.float64)
        else:
            ref = (diff**p).sum(-1) ** (1 / p)
        check(lambda t, a, b, p=p: t.cdist(a, b, p=p), x1, x2, numpy_ref=ref, rtol=1e-9)
    check(lambda t, a, b: t.cdist(a, b), x1[0].astype(np.float32), x2[0].astype(np.float32),
          numpy_ref=np.sqrt(((x1[0][:, None] - x2[0][None]) ** 2).sum(-1)).astype(np.float32), rtol=1e-5)
    for p in (2.0, 1.0, 3.0, math.inf):
        assert gradcheck(lambda a, b, p=p: minigrad.cdist(a, b, p=p), (f64(x1[0]), f64(x2[1])))


def test_cdist_euclidean_through_a_matrix_product():
    """p = 2 with more than 25 rows (or compute_mode="use_mm_for_euclid_dist") takes |a|^2 - 2 a.b
    + |b|^2, as PyTorch: the same distances as the differences give, and gradients."""
    x1, x2 = RNG.standard_normal((2, 30, 6)), RNG.standard_normal((1, 27, 6))  # batch dims broadcast
    ref = np.sqrt(((x1[:, :, None, :] - x2[:, None, :, :]) ** 2).sum(-1))
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        a, b = minigrad.tensor(x1.astype(dtype)), minigrad.tensor(x2.astype(dtype))
        for mode in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
            got = minigrad.cdist(a, b, compute_mode=mode)
            assert got.dtype == dtype and got.shape == (2, 30, 27)
            np.testing.assert_allclose(got.numpy(), ref, rtol=rtol)
    small = minigrad.cdist(minigrad.tensor(x1[0, :3]), minigrad.tensor(x2[0, :4]),
                           compute_mode="use_mm_for_euclid_dist")
    np.testing.assert_allclose(small.numpy(), ref[0, :3, :4], rtol=1e-12)
    assert gradcheck(lambda a, b: minigrad.cdist(a, b), (f64(x1[0]), f64(x2[0])))
    with pytest.raises(ValueError, match="not a valid value for compute_mode"):
        minigrad.cdist(minigrad.ones(3, 2), minigrad.ones(4, 2), compute_mode="fast")


def test_cdist_zero_distance_gradient_and_bad_input():
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    minigrad.cdist(x, x.detach()).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    if torch is not None:
        t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
        torch.cdist(t, t.detach()).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
    with pytest.raises(RuntimeError, match="same number of columns"):
        minigrad.cdist(minigrad.ones(3, 2), minigrad.ones(4, 3))
    with pytest.raises(RuntimeError, match="non-negative p"):
        minigrad.cdist(minigrad.ones(3, 2), minigrad.ones(4, 2), p=-1)
    with pytest.raises(RuntimeError, match="at least 2D"):
        minigrad.cdist(minigrad.ones(3), minigrad.ones(4))
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.cdist(minigrad.ones(3, 2, dtype=minigrad.int64), minigrad.ones(4, 2, dtype=minigrad.int64))


def test_block_diag():
    got, want = both(lambda t, a, b, c: t.block_diag(a, b, c), np.array(1.0), np.ones(2), np.arange(6.0).reshape(2, 3))
    ref = np.zeros((4, 6))
    ref[0, 0], ref[1, 1:3], ref[2:, 3:] = 1.0, 1.0, np.arange(6.0).reshape(2, 3)
    assert_same(got, ref.astype(np.float32) if got.dtype == minigrad.float32 else ref)
    if want is not None:
        assert_same(got, want)
    check(lambda t, a, b: t.block_diag(a, b), np.array([[1, 2]]), np.array([[3.0]], np.float32))
    assert gradcheck(lambda a, b: minigrad.block_diag(a, b), (f64(A), f64(B[:2, :1])))
    with pytest.raises(RuntimeError, match="2 or fewer dimensions"):
        minigrad.block_diag(minigrad.ones(1, 1, 1))


def test_cross_and_kron():
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((1, 3))
    check(lambda t, x, y: t.cross(x, y, dim=1), a, b, numpy_ref=np.cross(a, b))
    check(lambda t, x, y: x.cross(y, dim=-1), a, b, numpy_ref=np.cross(a, b))
    c = RNG.standard_normal((3, 2))
    np.testing.assert_allclose(minigrad.cross(minigrad.tensor(c), minigrad.tensor(c[::-1].copy())).numpy(),
                               np.cross(c, c[::-1], axis=0))  # dim=None: the first of size 3
    assert gradcheck(lambda x, y: minigrad.cross(x, y, dim=1), (f64(a), f64(b)))
    with pytest.raises(RuntimeError, match="no dimension of size 3"):
        minigrad.cross(minigrad.ones(2, 2), minigrad.ones(2, 2))
    with pytest.raises(RuntimeError, match="must have length 3"):
        minigrad.cross(minigrad.ones(3, 2), minigrad.ones(3, 2), dim=1)
    check(lambda t, x, y: t.kron(x, y), A, B[:2, :3], numpy_ref=np.kron(A, B[:2, :3]))
    ones = np.ones((2, 2), np.int64)
    check(lambda t, x, y: x.kron(y), np.arange(3), ones, numpy_ref=np.kron(np.arange(3), ones))
    assert gradcheck(lambda x, y: minigrad.kron(x, y), (f64(A[:2]), f64(B[0])))


def test_hypot_logit_xlogy_deg2rad():
    check(lambda t, x, y: t.hypot(x, y), A, B, numpy_ref=np.hypot(A, B))
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    with np.errstate(divide="ignore"):
        check(lambda t, x: t.logit(x), p, numpy_ref=np.log(p / (1 - p)))
    check(lambda t, x: x.logit(eps=0.01), p, numpy_ref=np.log(np.clip(p, 0.01, 0.99) / (1 - np.clip(p, 0.01, 0.99))))
    check(lambda t, x: t.logit(x), np.array([0, 1]), numpy_ref=np.array([-np.inf, np.inf], np.float32))
    x, y = np.array([0.0, 0.0, 2.0, 0.0, 3.0]), np.array([0.0, np.nan, 3.0, np.inf, 0.5])
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.where((x == 0) & ~np.isnan(y), 0.0, x * np.log(y))
    check(lambda t, a, b: t.xlogy(a, b), x, y, numpy_ref=ref)
    check(lambda t, b: t.xlogy(2, b), np.array([3.0]), numpy_ref=np.array([2 * np.log(3.0)]))
    check(lambda t, a, b: t.xlogy(a, b), np.array([0, 1]), np.array([0, 2]),
          numpy_ref=np.array([0.0, np.log(2)], np.float32))
    check(lambda t, a: t.deg2rad(a), np.array([180, 90]), numpy_ref=np.deg2rad([180, 90]).astype(np.float32))
    check(lambda t, a: a.rad2deg(), A, numpy_ref=np.rad2deg(A))
    assert gradcheck(lambda a, b: minigrad.hypot(a, b), (f64(A), f64(B)))
    assert gradcheck(lambda a: minigrad.logit(a, eps=0.05), (f64([0.2, 0.5, 0.7]),))
    assert gradcheck(lambda a, b: minigrad.xlogy(a, b), (f64([1.0, 2.0]), f64([0.5, 3.0])))
    xz, yz = f64([0.0, 1.0]), f64([0.0, 2.0])
    minigrad.xlogy(xz, yz).sum().backward()
    assert np.isfinite(yz.grad.numpy()).all()
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.hypot(minigrad.tensor([3]), minigrad.tensor([4]))


def test_histogram():
    x = RNG.standard_normal(200)
    for dtype in (np.float32, np.float64):
        v = x.astype(dtype)
        hist, edges = np.histogram(v, 7)
        check(lambda t, a: t.histogram(a, 7), v, numpy_ref=(hist.astype(dtype), edges.astype(dtype)), rtol=1e-5)
    w = np.abs(x)
    hist, edges = np.histogram(x, 5, range=(-1.0, 2.0), weights=w, density=True)
    check(lambda t, a, b: t.histogram(a, 5, range=(-1.0, 2.0), weight=b, density=True), x, w, numpy_ref=(hist, edges))
    hist, edges = np.histogram(x, [-1.0, 0.0, 0.5, 3.0])
    check(lambda t, a, b: t.histogram(a, b), x, edges, numpy_ref=(hist.astype(np.float64), edges))
    result = minigrad.histogram(minigrad.tensor([1.0, 1.0, 1.0]), 3)
    np.testing.assert_allclose(result.bin_edges.numpy(), [0.5, 5 / 6, 7 / 6, 1.5], rtol=1e-6)
    assert result.hist.tolist() == [0.0, 3.0, 0.0]
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.histogram(minigrad.tensor([1, 2, 3]), 3)
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        minigrad.histogram(minigrad.tensor([1.0]), 0)
    with pytest.raises(RuntimeError, match="min should not exceed max"):
        minigrad.histogram(minigrad.tensor([1.0]), 2, range=(3.0, 1.0))


def test_finfo_iinfo():
    for dtype in (minigrad.float32, minigrad.float64):
        info, ref = minigrad.finfo(dtype), np.finfo(dtype)
        assert (info.bits, info.eps, info.max, info.min, info.tiny) == (ref.bits, ref.eps, ref.max, ref.min, ref.tiny)
        assert info.dtype == dtype and info.smallest_normal == info.tiny
        if torch is not None:
            t = torch.finfo(getattr(torch, str(dtype)))
            assert (info.bits, info.eps, info.max, info.min, info.tiny, info.resolution) == (
                t.bits, t.eps, t.max, t.min, t.tiny, t.resolution)
    assert minigrad.finfo().dtype == minigrad.get_default_dtype()
    info = minigrad.iinfo(minigrad.int64)
    assert (info.bits, info.max, info.min, info.dtype) == (64, 2**63 - 1, -(2**63), minigrad.int64)
    assert (minigrad.iinfo(minigrad.uint8).max, minigrad.iinfo(minigrad.uint8).min) == (255, 0)
    if torch is not None:
        assert (torch.iinfo(torch.int64).max, torch.iinfo(torch.int64).bits) == (info.max, info.bits)
    with pytest.raises(TypeError, match="floating point"):
        minigrad.finfo(minigrad.int64)
    with pytest.raises(TypeError, match="not supported by iinfo"):
        minigrad.iinfo(minigrad.bool)  # as torch.iinfo(torch.bool)


def _torch_dtype(dtype):
    return {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "bool": torch.bool}[str(dtype)]


DTYPES = [minigrad.float32, minigrad.float64, minigrad.int64, minigrad.bool]


def test_promote_types():
    ranked = {minigrad.bool: 0, minigrad.int64: 1, minigrad.float32: 2, minigrad.float64: 3}
    for a in DTYPES:
        for b in DTYPES:
            got = minigrad.promote_types(a, b)
            assert got == max(a, b, key=ranked.get)
            if torch is not None:
                assert _torch_dtype(got) == torch.promote_types(_torch_dtype(a), _torch_dtype(b))


def test_result_type():
    operands = [(lambda lib, d: lib.ones(2, dtype=d)), (lambda lib, d: lib.tensor(1, dtype=d))]
    scalars = [True, 2, 2.5]
    for a in DTYPES:
        for make in operands:
            for other in scalars + [make(minigrad, b) for b in DTYPES] + [operands[1](minigrad, b) for b in DTYPES]:
                got = minigrad.result_type(make(minigrad, a), other)
                assert got == (make(minigrad, a) * other).dtype  # what arithmetic gives
                if torch is not None:
                    t_other = other if not isinstance(other, minigrad.Tensor) else torch.tensor(other.numpy())
                    assert _torch_dtype(got) == torch.result_type(make(torch, _torch_dtype(a)), t_other)
    assert minigrad.result_type(True, 2) == minigrad.int64 and minigrad.result_type(2, 2.5) == minigrad.float32
    assert minigrad.result_type(minigrad.tensor(1.0, dtype=minigrad.float64), minigrad.ones(2)) == minigrad.float32


# ----------------------------------------------------------------- priority 4: == None
def test_eq_ne_with_non_tensor_objects():
    x = minigrad.ones(2)
    assert (x == None) is False and (x != None) is True  # noqa: E711 (what PyTorch code writes)
    assert (x == "a") is False and (x != object()) is True
    if torch is not None:
        t = torch.ones(2)
        assert (t == None) is False and (t != None) is True and (t == "a") is False  # noqa: E711
    assert as_array(x == 1.0).tolist() == [True, True]
    assert as_array(x == np.array([1.0, 0.0])).tolist() == [True, False]


def test_new_names_are_exported():
    for name in ("concat", "concatenate", "clone", "tile", "where", "argwhere", "atleast_1d", "atleast_2d",
                 "atleast_3d", "cdist", "select", "block_diag", "cross", "kron", "hypot", "logit", "xlogy",
                 "deg2rad", "rad2deg", "histogram", "finfo", "iinfo", "result_type", "promote_types", "addmm",
                 "diagonal", "signbit", "fmax", "fmin", "logaddexp", "is_floating_point"):
        assert name in minigrad.__all__ and getattr(minigrad, name) is not None, name
        if torch is not None:
            assert hasattr(torch, name), name
