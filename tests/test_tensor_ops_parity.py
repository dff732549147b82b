"""PyTorch functions ported code meets: hstack/vstack/dstack/column_stack, broadcast_to,
movedim/moveaxis, swapaxes/swapdims, repeat_interleave, diff, median, nan_to_num, isin, frac,
minigrad.linalg's norms and set_printoptions. Each is checked against a numpy reference always,
against PyTorch when it is installed, with float64 finite differences for its gradient, and with
its bad inputs."""

import math

import numpy as np
import pytest
from parity import assert_same, f64

import minigrad
from minigrad.autograd import gradcheck

try:
    import torch
except ImportError:  # the numpy references still run
    torch = None

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))
INF, NAN = math.inf, math.nan


def both(fn, *arrays, reference=None, rtol=1e-6):
    """fn(lib, *tensors) on minigrad and, when installed, PyTorch: their results must agree with each
    other and with the numpy reference (when given). Returns minigrad's result."""
    mine = fn(minigrad, *(minigrad.tensor(a) for a in arrays))
    if reference is not None:
        assert_same(mine, reference, rtol)
    if torch is not None:
        assert_same(mine, fn(torch, *(torch.tensor(a) for a in arrays)), rtol)
    return mine


def arrays_of(shapes, dtype=np.float32):
    return [np.asarray(RNG.standard_normal(s), dtype) for s in shapes]


# --- hstack, vstack, dstack, column_stack ---------------------------------------------------------

STACK_CASES = {
    "hstack": [[(3,), (2,)], [(), (2,)], [(2, 3), (2, 1)], [(2, 0, 2), (2, 3, 2)], [(0,), (0,)]],
    "vstack": [[(3,), (3,)], [(), ()], [(2, 3), (1, 3)], [(0, 3), (3,)], [(2, 2, 2), (1, 2, 2)]],
    "dstack": [[(3,), (3,)], [(), ()], [(2, 3), (2, 3)], [(2, 3, 1), (2, 3)], [(0,), (0,)]],
    "column_stack": [[(3,), (3, 2)], [(), ()], [(2, 2, 2), (2, 1, 2)], [(0,), (0, 2)], [(4,), (4,), (4, 1)]],
}


@pytest.mark.parametrize("name,shapes", [(n, s) for n, cases in STACK_CASES.items() for s in cases])
def test_stacking_matches_numpy_and_pytorch(name, shapes):
    arrays = arrays_of(shapes)
    both(lambda lib, *ts: getattr(lib, name)(list(ts)), *arrays, reference=getattr(np, name)(arrays))


@pytest.mark.parametrize("name", list(STACK_CASES))
def test_stacking_gradients_promotion_and_errors(name):
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    assert gradcheck(lambda x, y: getattr(minigrad, name)((x, y)), [f64(a), f64(b)])
    mixed = both(lambda lib, x, y: getattr(lib, name)([x, y]), np.arange(3), np.ones(3, np.float32))
    assert mixed.dtype == minigrad.float32  # int64 with float32 promotes as cat does
    with pytest.raises(RuntimeError, match="non-empty"):
        getattr(minigrad, name)([])
    with pytest.raises(TypeError):
        getattr(minigrad, name)([minigrad.zeros(3), [1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="cat"):  # sizes differ outside the joined dim
        getattr(minigrad, name)([minigrad.zeros(2, 3), minigrad.zeros(4, 5)])


# --- broadcast_to, movedim/moveaxis, swapaxes/swapdims ----------------------------------------------


@pytest.mark.parametrize("shape,size", [((3,), (2, 3)), ((3, 1), (2, 3, 4)), ((1,), (0,)), ((), (2, 2)),
                                        ((2, 1), (-1, 3))])
def test_broadcast_to(shape, size):
    a = np.asarray(RNG.standard_normal(shape))
    full = tuple(shape[i - len(size) + len(shape)] if n == -1 else n for i, n in enumerate(size))
    ref = np.broadcast_to(a, full)
    both(lambda lib, x: lib.broadcast_to(x, size), a, reference=ref)
    both(lambda lib, x: x.broadcast_to(size), a, reference=ref)
    if a.size:
        assert gradcheck(lambda x: minigrad.broadcast_to(x, size), [f64(a)])


def test_broadcast_to_errors():
    with pytest.raises(ValueError, match="expand"):
        minigrad.broadcast_to(minigrad.zeros(3), (2, 2))
    with pytest.raises(ValueError, match="fewer dimensions"):
        minigrad.broadcast_to(minigrad.zeros(2, 3), (3,))


@pytest.mark.parametrize("source,destination", [(0, -1), (-1, 0), ((0, 1), (2, 3)), ([0, 2], [-1, 0]), ((), ()),
                                                (1, 1), ((3, 0, 1), (0, 1, 2))])
def test_movedim(source, destination):
    ref = np.moveaxis(X.reshape(3, 4, 5, 1), source, destination)
    for name in ("movedim", "moveaxis"):
        both(lambda lib, x, n=name: getattr(lib, n)(x, source, destination), X.reshape(3, 4, 5, 1), reference=ref)
        both(lambda lib, x, n=name: getattr(x, n)(source, destination), X.reshape(3, 4, 5, 1), reference=ref)
    assert gradcheck(lambda x: minigrad.movedim(x, source, destination), [f64(X[:2, :3, :2].reshape(2, 3, 2, 1))])


def test_movedim_zero_dim_and_errors():
    both(lambda lib, x: lib.movedim(x, 0, -1), np.array(2.5), reference=np.array(2.5))
    x = minigrad.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match="repeated dim in `source`"):
        minigrad.movedim(x, (0, -3), (1, 2))
    with pytest.raises(RuntimeError, match="repeated dim in `destination`"):
        minigrad.movedim(x, (0, 1), (1, 1))
    with pytest.raises(RuntimeError, match="same number of dims"):
        minigrad.movedim(x, (0, 1), (1,))
    with pytest.raises(IndexError):
        minigrad.movedim(x, 3, 0)
    with pytest.raises(TypeError):
        minigrad.movedim(x, 0.0, 1)


@pytest.mark.parametrize("dims", [(0, -1), (1, 1), (-3, 2), (2, 0)])
def test_swapaxes_swapdims(dims):
    ref = np.swapaxes(X, *dims)
    both(lambda lib, x: lib.swapaxes(x, axis0=dims[0], axis1=dims[1]), X, reference=ref)
    both(lambda lib, x: lib.swapdims(x, dim0=dims[0], dim1=dims[1]), X, reference=ref)
    both(lambda lib, x: x.swapaxes(*dims), X, reference=ref)
    both(lambda lib, x: x.swapdims(*dims), X, reference=ref)
    assert gradcheck(lambda x: minigrad.swapaxes(x, *dims), [f64(X[:2, :3, :2])])
    with pytest.raises(IndexError):
        minigrad.swapdims(minigrad.zeros(2, 3), 0, 2)


# --- repeat_interleave ------------------------------------------------------------------------------

A23 = RNG.standard_normal((2, 3))


@pytest.mark.parametrize("values,repeats,dim,ref", [
    (np.arange(6).reshape(2, 3), 2, None, np.repeat(np.arange(6), 2)),
    (A23, np.array([1, 0, 2]), 1, np.repeat(A23, [1, 0, 2], axis=1)),
    (A23, np.array([2, 1]), -2, np.repeat(A23, [2, 1], axis=0)),
    (A23, np.array([3]), 0, np.repeat(A23, 3, axis=0)),
    (A23, np.array(2), -1, np.repeat(A23, 2, axis=1)),
    (A23, 0, 1, np.zeros((2, 0))),
    (np.zeros((0, 3)), 2, 0, np.zeros((0, 3))),
    (np.array(5.0), 3, None, np.full(3, 5.0)),
    (np.array([True, False]), np.array([1, 2]), 0, np.array([True, False, False])),
])
def test_repeat_interleave(values, repeats, dim, ref):
    def run(lib, x):
        r = lib.tensor(repeats) if isinstance(repeats, np.ndarray) else repeats
        return lib.repeat_interleave(x, r, dim)

    both(run, values, reference=ref)
    counts = minigrad.tensor(repeats) if isinstance(repeats, np.ndarray) else repeats
    size = ref.size if dim is None else ref.shape[dim]
    assert_same(minigrad.tensor(values).repeat_interleave(counts, dim, output_size=size), ref)
    if values.dtype == np.float64 and values.size:
        assert gradcheck(lambda x: minigrad.repeat_interleave(x, counts, dim), [f64(values)])  # copies add up


def test_repeat_interleave_of_counts_alone():
    both(lambda lib, r: lib.repeat_interleave(r), np.array([1, 2, 0, 3]), reference=np.array([0, 1, 1, 3, 3, 3]))


def test_repeat_interleave_errors():
    x = minigrad.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="negative"):
        minigrad.repeat_interleave(x, minigrad.tensor([1, -2]))
    with pytest.raises(RuntimeError, match="negative"):
        x.repeat_interleave(-1)
    with pytest.raises(RuntimeError, match="same size as input"):
        minigrad.repeat_interleave(x, minigrad.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="0-dim or 1-dim"):
        minigrad.repeat_interleave(x, minigrad.tensor([[1, 2]]))
    with pytest.raises(TypeError, match="integer tensor"):
        minigrad.repeat_interleave(x, minigrad.tensor([1.0, 2.0]))
    with pytest.raises(TypeError):
        minigrad.repeat_interleave(x, 2.0)
    with pytest.raises(RuntimeError, match="output_size"):
        minigrad.repeat_interleave(x, 2, output_size=5)
    with pytest.raises(IndexError):
        minigrad.repeat_interleave(minigrad.zeros(2, 2), 2, dim=2)


# --- diff ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,dim", [(1, -1), (2, 0), (3, 1), (0, 2), (7, -1)])
def test_diff(n, dim):
    ref = np.diff(X, n, axis=dim)
    both(lambda lib, x: lib.diff(x, n, dim), X, reference=ref, rtol=1e-12)
    both(lambda lib, x: x.diff(n=n, dim=dim), X, reference=ref, rtol=1e-12)
    assert gradcheck(lambda x: minigrad.diff(x, n, dim), [f64(X[:, :3, :3])])


def test_diff_prepend_append_dtypes_and_special_values():
    before, after = RNG.standard_normal((3, 1, 5)), RNG.standard_normal((3, 2, 5))
    ref = np.diff(X, 2, axis=1, prepend=before, append=after)
    both(lambda lib, x, p, a: lib.diff(x, 2, 1, prepend=p, append=a), X, before, after, reference=ref, rtol=1e-12)
    assert gradcheck(lambda x, p, a: minigrad.diff(x, 2, 1, p, a), [f64(X[:2, :2]), f64(before[:2]), f64(after[:2])])
    ints, flags = np.array([[1, 4, 9, 16], [2, 2, 0, 5]]), np.array([True, False, False, True, True])
    both(lambda lib, x: lib.diff(x), ints, reference=np.diff(ints))
    both(lambda lib, x: lib.diff(x, 2), flags, reference=np.diff(flags, 2))  # bools differ by !=
    both(lambda lib, x: lib.diff(x, dim=0), ints.astype(np.uint8), reference=np.diff(ints.astype(np.uint8), axis=0))
    with np.errstate(invalid="ignore"):
        special = np.array([1.0, INF, INF, NAN, -INF])
        both(lambda lib, x: lib.diff(x), special, reference=np.diff(special))
    for dim in (0, 1):
        both(lambda lib, x, d=dim: lib.diff(x, dim=d), np.zeros((0, 3)), reference=np.diff(np.zeros((0, 3)), axis=dim))
    mixed = both(lambda lib, x, p: lib.diff(x, prepend=p), np.array([1, 3, 6]), np.array([1.5], np.float32))
    assert mixed.dtype == minigrad.float32


def test_diff_errors():
    x = minigrad.zeros(2, 3)
    with pytest.raises(RuntimeError, match="at least one-dimensional"):
        minigrad.diff(minigrad.tensor(1.0))
    with pytest.raises(RuntimeError, match="non-negative"):
        minigrad.diff(x, -1)
    with pytest.raises(TypeError):
        minigrad.diff(x, 2.0)
    with pytest.raises(RuntimeError, match="same dimension"):
        minigrad.diff(x, prepend=minigrad.tensor(1.0))
    with pytest.raises(RuntimeError, match="match"):
        minigrad.diff(x, dim=0, append=minigrad.zeros(1, 2))
    with pytest.raises(TypeError):
        minigrad.diff(x, prepend=2)
    with pytest.raises(IndexError):
        minigrad.diff(x, dim=2)


# --- median -------------------------------------------------------------------------------------------


def lower_median(a, axis=None, keepdims=False):
    """numpy's reference: the lower middle value, NaN where a NaN is present."""
    if axis is None:
        a, axis = a.reshape(-1), 0
    if a.shape[axis] == 0:
        return np.full(np.delete(a.shape, axis), np.nan)
    values = np.take(np.sort(a, axis=axis), (a.shape[axis] - 1) // 2, axis=axis)
    if a.dtype.kind == "f":
        values = np.where(np.isnan(a).any(axis=axis), np.nan, values).astype(a.dtype)
    return np.expand_dims(values, axis) if keepdims else values


MEDIAN_INPUTS = [
    X.astype(np.float32),
    RNG.integers(0, 4, (3, 6)),  # many ties
    np.array([[1.0, NAN, 2.0, NAN], [2.0, 2.0, 1.0, 1.0], [INF, -INF, 0.0, 3.0]]),
    np.array([4.0, 1.0, 3.0, 2.0]),
]


@pytest.mark.parametrize("k", range(len(MEDIAN_INPUTS)))
def test_median_of_all_elements(k):
    a = MEDIAN_INPUTS[k]
    both(lambda lib, x: lib.median(x), a, reference=lower_median(a))
    both(lambda lib, x: x.median(), a, reference=lower_median(a))


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("k", range(len(MEDIAN_INPUTS)))
def test_median_along_dim(k, keepdim):
    a = MEDIAN_INPUTS[k]
    for dim in range(-a.ndim, a.ndim):
        values, indices = both(lambda lib, x, d=dim: lib.median(x, d, keepdim), a)  # PyTorch: indices too
        assert_same(values, lower_median(a, dim, keepdim))
        picked = np.take_along_axis(a, indices.numpy() if keepdim else np.expand_dims(indices.numpy(), dim), dim)
        assert_same(picked if keepdim else picked.squeeze(dim), values)  # the index of the median (or a NaN)
        result = minigrad.tensor(a).median(dim=dim, keepdim=keepdim)
        assert type(result).__name__ == "median" and result.indices.dtype == minigrad.int64  # PyTorch's name


@pytest.mark.parametrize("ignore_nan", [False, True])
def test_median_index_is_the_stable_sorts(ignore_nan):
    """Along a dim the median's index is that of the element a stable sort puts in the middle
    (NaNs last): among equal values, and among NaNs, the one of the right rank in index order."""
    rng = np.random.default_rng(11)
    a = rng.integers(0, 3, (6, 5, 9)).astype(np.float64)
    a[rng.random(a.shape) < 0.25] = NAN
    a[0, :, 0] = NAN  # a slice of NaNs only
    for dim in range(3):
        host = np.moveaxis(a, dim, -1)
        nans = np.isnan(host).sum(-1, keepdims=True)
        n = host.shape[-1]
        picked = np.maximum(n - nans - 1, 0) // 2 if ignore_nan else np.where(nans > 0, n - nans, (n - 1) // 2)
        want = np.take_along_axis(np.argsort(host, axis=-1, kind="stable"), picked, -1)[..., 0]
        fn = minigrad.nanmedian if ignore_nan else minigrad.median
        np.testing.assert_array_equal(fn(minigrad.tensor(a), dim).indices.numpy(), want)


def test_median_edge_cases():
    both(lambda lib, x: lib.median(x), np.zeros(0, np.float32), reference=np.array(np.nan, np.float32))
    both(lambda lib, x: lib.median(x, 0), np.array(2.5), reference=(np.array(2.5), np.array(0)))
    both(lambda lib, x: lib.median(x, 0, keepdim=True), np.array(2.5), reference=(np.array(2.5), np.array(0)))
    both(lambda lib, x: lib.median(x, 1), np.zeros((0, 3)), reference=(np.zeros(0), np.zeros(0, np.int64)))
    both(lambda lib, x: lib.median(x, 0), np.array([1.0, 2.0, 2.0, 3.0, 2.0]), reference=(np.array(2.0), np.array(2)))


def test_median_gradients():
    assert gradcheck(lambda x: minigrad.median(x), [f64(X[:2, :3, :2])])
    for dim in (0, -1):
        assert gradcheck(lambda x, d=dim: minigrad.median(x, d).values, [f64(X[:3, :4, 0])])
    for values, want in [([1.0, 2.0, 2.0, 3.0, 2.0], [0, 1 / 3, 1 / 3, 0, 1 / 3]),  # shared by the ties
                         ([1.0, NAN, 2.0, NAN], [0, 0.5, 0, 0.5])]:  # by the NaNs
        x = f64(values)
        minigrad.median(x).backward()
        np.testing.assert_allclose(x.grad.numpy(), want)
        if torch is not None:
            t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
            torch.median(t).backward()
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_median_errors():
    with pytest.raises(IndexError, match="non-zero size"):
        minigrad.median(minigrad.zeros(0, 3), 0)
    with pytest.raises(IndexError):
        minigrad.median(minigrad.zeros(2, 3), 2)
    with pytest.raises(TypeError, match="bool"):
        minigrad.median(minigrad.tensor([True, False]))
    with pytest.raises(TypeError, match="keepdim"):
        minigrad.median(minigrad.zeros(3), keepdim=True)
    with pytest.raises(RuntimeError, match="empty"):
        minigrad.median(minigrad.tensor(np.zeros(0, np.int64)))


# --- nan_to_num, isin, frac -------------------------------------------------------------------------

SPECIAL = np.array([[NAN, INF, -INF, 1.5], [-0.0, 3e38, -2.0, NAN]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"nan": 2.0, "posinf": 1e300, "neginf": -5.0}, {"nan": None, "neginf": 7.0}])
def test_nan_to_num(dtype, options):
    a = SPECIAL.astype(dtype)
    with np.errstate(over="ignore"):  # a float32 posinf of 1e300 is inf, in PyTorch too
        ref = np.nan_to_num(a, **{k: 0.0 if v is None else v for k, v in options.items()}).astype(dtype)
    both(lambda lib, x: lib.nan_to_num(x, **options), a, reference=ref)
    both(lambda lib, x: x.nan_to_num(**options), a, reference=ref)
    both(lambda lib, x: lib.nan_to_num(x), np.zeros((3, 0), dtype), reference=np.zeros((3, 0), dtype))


def test_nan_to_num_integers_gradient():
    both(lambda lib, x: lib.nan_to_num(x), np.array([1, -2]), reference=np.array([1, -2]))
    both(lambda lib, x: lib.nan_to_num(x), np.array([True, False]), reference=np.array([True, False]))
    x = f64(SPECIAL)
    minigrad.nan_to_num(x, posinf=1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.isfinite(SPECIAL).astype(np.float64))  # 0 where replaced
    if torch is not None:
        t = torch.tensor(SPECIAL, requires_grad=True)
        torch.nan_to_num(t, posinf=1.0).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    assert gradcheck(lambda t: minigrad.nan_to_num(t), [f64(X[:2, :2])])
    with pytest.raises(TypeError):
        minigrad.nan_to_num([1.0, NAN])


@pytest.mark.parametrize("invert", [False, True])
def test_isin(invert):
    ints, tests = RNG.integers(0, 6, (3, 4)), np.array([1, 3, 3, 5])
    both(lambda lib, e, t: lib.isin(e, t, invert=invert), ints, tests, reference=np.isin(ints, tests, invert=invert))
    both(lambda lib, e, t: lib.isin(e, t, assume_unique=True, invert=invert), np.array([1, 2]), np.array([2, 4]),
         reference=np.isin([1, 2], [2, 4], invert=invert))
    floats = np.array([1.0, 2.5, NAN, INF, -0.0])
    both(lambda lib, e, t: lib.isin(e, t, invert=invert), floats, np.array([NAN, INF, 0.0, 2.5]),
         reference=np.isin(floats, [NAN, INF, 0.0, 2.5], invert=invert))  # NaN is in nothing
    both(lambda lib, e: lib.isin(e, 3, invert=invert), ints, reference=np.isin(ints, 3, invert=invert))
    both(lambda lib, t: lib.isin(3, t, invert=invert), tests, reference=np.array(not invert))
    both(lambda lib, e, t: lib.isin(e, t, invert=invert), np.array([1, 2, 3]), np.array([2.0, 3.5], np.float32),
         reference=np.array([False, True, False]) ^ invert)  # compared as floats
    both(lambda lib, e: lib.isin(e, 1.1, invert=invert), np.array([1.1, 2.0], np.float32),
         reference=np.array([True, False]) ^ invert)  # 1.1 compared in float32, as PyTorch
    both(lambda lib, e, t: lib.isin(e, t, invert=invert), np.zeros(0), np.array([1.0]),
         reference=np.zeros(0, bool))


def test_isin_is_not_differentiable_and_needs_a_tensor():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    out = minigrad.isin(x, minigrad.tensor([1.0]))
    assert out.dtype == minigrad.bool and not out.requires_grad and out.tolist() == [True, False]
    with pytest.raises(TypeError, match="Tensor"):
        minigrad.isin(2, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_frac(dtype):
    a = np.array([1.5, -2.25, -0.5, -2.0, 0.0, 1e20, -3e-8, INF, -INF, NAN], dtype)
    with np.errstate(invalid="ignore"):
        ref = a - np.trunc(a)
        both(lambda lib, x: lib.frac(x), a, reference=ref)
        both(lambda lib, x: x.frac(), a, reference=ref)
    both(lambda lib, x: lib.frac(x), np.zeros((0, 2), dtype), reference=np.zeros((0, 2), dtype))


def test_frac_gradient_and_errors():
    assert gradcheck(minigrad.frac, [f64(np.arange(-3, 3) + 0.3 + 0.1 * RNG.random(6))])
    with pytest.raises(TypeError):
        minigrad.frac(minigrad.tensor([1, 2]))


# --- minigrad.linalg: vector_norm, matrix_norm, norm ----------------------------------------------


def vector_norm_reference(a, ord, axis, keepdims):
    axis = None if axis == () else axis
    magnitude = np.abs(a)
    if ord in (INF, -INF):
        return (np.max if ord > 0 else np.min)(magnitude, axis=axis, keepdims=keepdims)
    if ord == 0:
        return np.sum(magnitude != 0, axis=axis, keepdims=keepdims).astype(a.dtype)
    with np.errstate(divide="ignore"):
        return np.sum(magnitude**ord, axis=axis, keepdims=keepdims) ** (1 / ord)


XZ = np.where(np.abs(X) < 0.3, 0.0, X)  # with zeros, where negative orders and the gradients need care
ORDS = [2, 1, INF, -INF, 0, 3, 0.5, -1, -1.5]


@pytest.mark.parametrize("ord", ORDS)
def test_vector_norm(ord):
    for dim in (None, 0, -1, (0, 2), ()):
        for keepdim in (False, True):
            ref = vector_norm_reference(XZ, ord, dim, keepdim)
            both(lambda lib, x, d=dim, k=keepdim: lib.linalg.vector_norm(x, ord, d, k), XZ, reference=ref, rtol=1e-10)
    both(lambda lib, x: lib.linalg.vector_norm(x, ord), np.array(-3.0), reference=np.array(3.0 if ord else 1.0))
    if ord != 0:  # ord 0 counts: no gradient, as PyTorch
        assert gradcheck(lambda x: minigrad.linalg.vector_norm(x, ord, dim=1), [f64(X[:2, :3, :2] + 0.1)])


@pytest.mark.parametrize("ord", [o for o in ORDS if o != 0])
def test_vector_norm_gradient_is_zero_at_zeros(ord):
    for values in ([0.0, 2.0, -1.0], [0.0, 0.0, 0.0]):
        x = f64(values)
        minigrad.linalg.vector_norm(x, ord).backward()
        a = np.array(values)
        norm = vector_norm_reference(a, ord, None, False)
        if ord in (INF, -INF):
            want = np.sign(a) * (np.abs(a) == norm) / np.sum(np.abs(a) == norm)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                want = np.where((a != 0) & (norm != 0), np.sign(a) * np.abs(a) ** (ord - 1) * norm ** (1 - ord), 0)
        np.testing.assert_allclose(x.grad.numpy(), want, atol=1e-12)
        if torch is not None:
            t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
            torch.linalg.vector_norm(t, ord).backward()
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("ord", ["fro", 1, -1, INF, -INF])
def test_matrix_norm(ord):
    matrix = X[0, :3, :4]
    both(lambda lib, x: lib.linalg.norm(x, ord), matrix, reference=np.linalg.norm(matrix, ord), rtol=1e-10)
    for dims in [(-2, -1), (0, 2), (2, 0)]:
        for keepdim in (False, True):
            ref = np.linalg.norm(X, ord, axis=dims, keepdims=keepdim)
            both(lambda lib, x, d=dims, k=keepdim: lib.linalg.matrix_norm(x, ord, d, k), X, reference=ref, rtol=1e-10)
            both(lambda lib, x, d=dims, k=keepdim: lib.linalg.norm(x, ord, d, k), X, reference=ref, rtol=1e-10)
    assert gradcheck(lambda x: minigrad.linalg.matrix_norm(x, ord, dim=(0, 2)), [f64(X[:2, :2, :3])])
    for shape in ((0, 3), (3, 0)):  # empty matrices: 0, but the smallest of no sums is an error, as PyTorch
        across = shape[1] if ord in (1, -1) else shape[0]
        if ord in (-1, -INF) and across == 0:
            with pytest.raises(IndexError):
                minigrad.linalg.matrix_norm(minigrad.zeros(*shape), ord)
        else:
            both(lambda lib, x: lib.linalg.matrix_norm(x, ord), np.zeros(shape), reference=np.array(0.0))


def test_linalg_norm_dispatch():
    both(lambda lib, x: lib.linalg.norm(x), X, reference=np.linalg.norm(X.reshape(-1)), rtol=1e-10)
    kept = both(lambda lib, x: lib.linalg.norm(x, keepdim=True), X)
    assert kept.shape == (1, 1, 1)
    for ord in (1, INF, -INF, 3, 0):  # a 1-D input: a vector norm
        both(lambda lib, x, o=ord: lib.linalg.norm(x, o), X[0, 0], reference=np.linalg.norm(X[0, 0], ord), rtol=1e-10)
    both(lambda lib, x: lib.linalg.norm(x, 3, dim=-1), X, reference=np.linalg.norm(X, 3, axis=-1), rtol=1e-10)
    both(lambda lib, x: lib.linalg.norm(x, dim=(0, 1)), X, reference=np.linalg.norm(X, axis=(0, 1)), rtol=1e-10)
    both(lambda lib, x: lib.linalg.norm(x, dim=1), X, reference=np.linalg.norm(X, axis=1), rtol=1e-10)
    both(lambda lib, x: lib.linalg.vector_norm(x, dtype=lib.float64), X.astype(np.float32),
         reference=np.linalg.norm(X.reshape(-1)), rtol=1e-6)
    both(lambda lib, x: lib.linalg.vector_norm(x), np.zeros(0), reference=np.array(0.0))
    assert gradcheck(lambda x: minigrad.linalg.norm(x), [f64(X[:2, :2, :2])])


def test_linalg_errors():
    L = minigrad.linalg
    matrix = minigrad.zeros(3, 4)
    for ord in (2, -2, "nuc"):  # through svdvals now; the float check still comes first
        with pytest.raises(TypeError, match="floating-point"):
            L.matrix_norm(minigrad.zeros(3, 4, dtype=minigrad.int64), ord)
        assert L.norm(matrix, ord).item() == 0.0
    with pytest.raises(RuntimeError, match="not supported"):
        L.matrix_norm(matrix, 3)
    with pytest.raises(RuntimeError, match="1D or 2D"):
        L.norm(minigrad.zeros(2, 2, 2), 1)
    with pytest.raises(RuntimeError, match="length 1 or 2"):
        L.norm(minigrad.zeros(2, 2, 2), dim=(0, 1, 2))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        L.norm(minigrad.zeros(3), "fro")
    with pytest.raises(RuntimeError, match="2-tuple"):
        L.norm(minigrad.zeros(3, 3), "fro", dim=1)
    with pytest.raises(RuntimeError, match="different"):
        L.matrix_norm(matrix, dim=(0, -2))
    with pytest.raises(RuntimeError, match="more than once"):
        L.vector_norm(matrix, dim=(0, 0))
    with pytest.raises(RuntimeError, match="empty"):
        L.vector_norm(minigrad.zeros(0), INF)
    with pytest.raises(TypeError, match="floating-point"):
        L.norm(minigrad.tensor([1, 2]))
    with pytest.raises(TypeError, match="number"):
        L.vector_norm(minigrad.zeros(3), "fro")
    with pytest.raises(IndexError):
        L.vector_norm(matrix, dim=2)


# --- set_printoptions ---------------------------------------------------------------------------------


@pytest.fixture
def print_options():
    """Print options restored to the defaults after the test, in both libraries."""
    yield
    minigrad.set_printoptions(profile="default")
    if torch is not None:
        torch.set_printoptions(profile="default")


def printed(options, values, dtype=np.float32):
    """repr of values after set_printoptions(**options): minigrad's, and PyTorch's (or None)."""
    minigrad.set_printoptions(**options)
    mine = repr(minigrad.tensor(np.asarray(values, dtype)))
    if torch is None:
        return mine, None
    torch.set_printoptions(**options)
    return mine, repr(torch.tensor(np.asarray(values, dtype)))


@pytest.mark.usefixtures("print_options")
def test_set_printoptions_like_pytorch():
    cases = [({}, [1.12345], "tensor([1.1235])"),
             ({"precision": 2}, [1.12345], "tensor([1.12])"),
             ({"profile": "default"}, [1.12345], "tensor([1.1235])"),
             ({"threshold": 5}, np.arange(10), "tensor([0, 1, 2,  ..., 7, 8, 9])"),
             ({"sci_mode": True}, [1.0, 2.5], "tensor([1.0000e+00, 2.5000e+00])"),
             ({"profile": "default"}, np.arange(10), "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])")]
    for options, values, want in cases:
        mine, theirs = printed(options, values, np.int64 if isinstance(values, np.ndarray) else np.float32)
        assert mine == want
        assert theirs is None or theirs == want


@pytest.mark.usefixtures("print_options")
def test_set_printoptions_profiles_and_sci_mode():
    big = np.arange(2000)
    assert "..." in printed({}, big, np.int64)[0]
    assert "..." not in printed({"profile": "full"}, big, np.int64)[0]
    short = printed({"profile": "short"}, big, np.int64)[0]
    assert short.startswith("tensor([   0,    1,") and short.endswith("1998, 1999])")
    assert printed({"profile": "short"}, [1.23456], np.float64)[0] == "tensor([1.23], dtype=minigrad.float64)"
    assert "e+" not in printed({"sci_mode": False}, [1e10, 1.0])[0]
    assert "e+" in printed({}, [1e10, 1.0])[0]  # sci_mode left out is None again: PyTorch's rules choose
    assert len(printed({"linewidth": 30}, np.arange(20), np.int64)[0].splitlines()) > 1
    with pytest.raises(ValueError, match="profile"):
        minigrad.set_printoptions(profile="long")


FLOAT_REPRS = [  # values -> PyTorch's repr (its _Formatter rules), checked against PyTorch when installed
    ([2.5, 5.0, 7.5], "tensor([2.5000, 5.0000, 7.5000])"),
    ([1.0, 2.0, 3.0], "tensor([1., 2., 3.])"),
    ([-1.0, 2.0], "tensor([-1.,  2.])"),
    ([0.0, 0.0], "tensor([0., 0.])"),
    ([1e-5, 1.0], "tensor([1.0000e-05, 1.0000e+00])"),
    ([1e9, 1.0], "tensor([1.0000e+09, 1.0000e+00])"),
    ([1234.5678, 0.5], "tensor([1.2346e+03, 5.0000e-01])"),
    ([float("nan"), 1.5, float("inf")], "tensor([   nan, 1.5000,    inf])"),
    ([[0.1667, -3.3333], [0.5, 100.25]], "tensor([[  0.1667,  -3.3333],\n        [  0.5000, 100.2500]])"),
    ([1e-3, 2e-2], "tensor([0.0010, 0.0200])"),
    (3.14159, "tensor(3.1416)"),
]


@pytest.mark.usefixtures("print_options")
@pytest.mark.parametrize("values, want", FLOAT_REPRS)
def test_float_repr_follows_pytorch_formatter(values, want):
    mine, theirs = printed({}, values)
    assert mine == want
    assert theirs is None or theirs == want


@pytest.mark.usefixtures("print_options")
def test_summarized_float_repr_is_formatted_on_the_elements_shown():
    values = np.linspace(-1, 1, 4001)  # 0 and values under 1e-4 inside, not among the edge items
    values[2000] = 1e-6
    mine, theirs = printed({}, values)
    assert mine.startswith("tensor([-1.0000, -0.9995, -0.9990,  ...") and "e-" not in mine
    assert theirs is None or theirs == mine
    mine, theirs = printed({"threshold": 5}, np.arange(100.0).reshape(10, 10))
    assert mine.splitlines()[0] == "tensor([[ 0.,  1.,  2.,  ...,  7.,  8.,  9.],"
    assert theirs is None or theirs == mine


def test_repr_names_empty_sizes_and_non_default_dtypes():
    assert repr(minigrad.zeros(1, 0)) == "tensor([], size=(1, 0))" and repr(minigrad.zeros(0)) == "tensor([])"
    assert repr(minigrad.zeros(2, 0, dtype=minigrad.float64)) == "tensor([], size=(2, 0), dtype=minigrad.float64)"
    minigrad.set_default_dtype(minigrad.float64)
    try:  # PyTorch leaves the default dtype unsaid, whichever it is
        assert repr(minigrad.tensor([1.5])) == "tensor([1.5000])"
        assert repr(minigrad.tensor([1.5], dtype=minigrad.float32)) == "tensor([1.5000], dtype=minigrad.float32)"
    finally:
        minigrad.set_default_dtype(minigrad.float32)
    if torch is not None:
        assert repr(torch.zeros(2, 0, dtype=torch.float64)) == "tensor([], size=(2, 0), dtype=torch.float64)"


# --- on every device ----------------------------------------------------------------------------------


def test_ops_on_device(device):
    """The composites run where the tensor is, with the CPU's results."""
    def run(dev):
        x = minigrad.tensor(XZ, device=dev)
        counts = minigrad.tensor([1, 0, 2], device=dev)
        out = [minigrad.hstack([x, x]), minigrad.column_stack([x[0, 0], x[0, 1]]), x.movedim(0, -1),
               x.swapaxes(0, 1), x.broadcast_to((2, 3, 4, 5)), x.repeat_interleave(counts, dim=0),
               x.diff(2, dim=1), x.median(), *x.median(1), minigrad.nan_to_num(x / x), x.frac(),
               minigrad.isin(x, x[0]), minigrad.linalg.norm(x, 1, dim=(0, 2)), minigrad.linalg.vector_norm(x, 3)]
        return [t.cpu().numpy() for t in out]

    with np.errstate(invalid="ignore", divide="ignore"):
        for got, want in zip(run(device), run("cpu"), strict=True):
            assert_same(got, want, rtol=1e-12)


def test_cumsum_sums_in_order_as_pytorch():
    """Along any dim: float32 summed in float64 and rounded once per element (PyTorch's CPU
    kernel), float64 and int64 sequentially; the gradient is the running sum from the end."""
    a = (RNG.standard_normal((7, 300)) * 1e3).astype(np.float32)
    for dim in (0, 1, -1):
        got = minigrad.tensor(a).cumsum(dim)
        assert got.dtype == minigrad.float32
        np.testing.assert_array_equal(got.numpy(), np.cumsum(a.astype(np.float64), dim).astype(np.float32))
    ints = RNG.integers(-5, 5, (4, 6))
    np.testing.assert_array_equal(minigrad.tensor(ints).cumsum(1).numpy(), np.cumsum(ints, 1))
    assert minigrad.tensor([1.0, 2.0]).cumsum(0, dtype=minigrad.float64).dtype == minigrad.float64
    assert minigrad.tensor(2.5).cumsum(0).item() == 2.5 and minigrad.zeros(0, 3).cumsum(0).shape == (0, 3)
    for dim in (0, 1, -1):
        assert gradcheck(lambda x, d=dim: x.cumsum(d), [f64(X)])
    x = f64(X)
    (x.cumsum(1) * f64(X).detach()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.flip(np.cumsum(np.flip(X, 1), 1), 1))
