"""The top-level functions a port reaches for beyond the tensor methods: einsum, dot, mv, t,
rand_like/randn_like/randint_like, var_mean/std_mean, count_nonzero, unique, bincount, and
PyTorch's other names (clip, multiply, subtract, true_divide, negative, the logical ops, ...).

einsum against PyTorch (live or recorded: values and gradients) on every form (explicit and
implicit output, ellipsis with broadcasting, diagonals, traces, three operands), float64 finite
differences, bad equations; the others against numpy references and PyTorch."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

EINSUM = [  # (equation, operand shapes)
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ji", [(2, 3)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ijk->", [(2, 3, 4)]),
    ("ijk->k", [(2, 3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...i,...i->...", [(2, 3, 4), (4,)]),
    ("i...->...", [(2, 3, 4)]),
    ("ab,b->a", [(1, 3), (3,)]),
    ("ij,kj->ik", [(2, 1), (3, 4)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
]


def _einsum_run(lib, equation, shapes, make):
    rng = np.random.default_rng(0)
    operands = [make(rng.standard_normal(s)) for s in shapes]
    y = lib.einsum(equation, *operands)
    weights = np.random.default_rng(1).standard_normal(tuple(y.shape))
    (y * make(weights).detach()).sum().backward()
    return {"y": y, **{f"d{i}": t.grad for i, t in enumerate(operands)}}


@pytest.mark.parametrize(("equation", "shapes"), EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_matches_torch(equation, shapes, device):
    want = torch_reference(f"einsum/{equation}", lambda torch: _einsum_run(
        torch, equation, shapes, lambda a: torch.tensor(a, requires_grad=True)))
    got = _einsum_run(minigrad, equation, shapes, lambda a: minigrad.tensor(a, device=device, requires_grad=True))
    for key, value in want.items():
        np.testing.assert_allclose(got[key].detach().numpy(), value, rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize(("equation", "shapes"), EINSUM[::3], ids=[e for e, _ in EINSUM[::3]])
def test_einsum_matches_numpy_and_finite_differences(equation, shapes):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in shapes]
    np.testing.assert_allclose(minigrad.einsum(equation, *(minigrad.tensor(a) for a in arrays)).numpy(),
                               np.einsum(equation.replace(" ", ""), *arrays), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda *ts: minigrad.einsum(equation, *ts),
                     [minigrad.tensor(a, requires_grad=True) for a in arrays])


def test_einsum_takes_a_list_and_float32():
    a, b = minigrad.ones(2, 3), minigrad.ones(3, 4)
    out = minigrad.einsum("ij,jk->ik", [a, b])
    assert out.dtype == minigrad.float32 and np.array_equal(out.numpy(), np.full((2, 4), 3.0))


@pytest.mark.parametrize(
    ("equation", "shapes", "match"),
    [
        ("ij,jk->ik", [(2, 3), (4, 4)], "'j' labels dimensions of sizes 3 and 4"),
        ("ij->ii", [(2, 2)], "repeat a letter"),
        ("ij", [(2, 3, 4)], "operand of 3 dimensions"),
        ("i1->i", [(2, 2)], "letters with at most one"),
        ("i......->i", [(2, 2)], "letters with at most one"),
        ("ij->k", [(2, 2)], "appear in no operand"),
        ("ij,jk->ik", [(2, 3)], "2 operand subscripts for 1 operands"),
        ("ii", [(2, 3)], "'i' labels dimensions of sizes 2 and 3"),
    ],
)
def test_einsum_bad_equations(equation, shapes, match):
    with pytest.raises(ValueError, match=match):
        minigrad.einsum(equation, *(minigrad.ones(s) for s in shapes))
    with pytest.raises(TypeError, match="operands must be"):
        minigrad.einsum("ij", np.ones((2, 2)))


def test_dot_mv_t():
    rng = np.random.default_rng(3)
    a, b, m = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((3, 4))
    T = minigrad.tensor
    np.testing.assert_allclose(minigrad.dot(T(a), T(b)).numpy(), a @ b)
    np.testing.assert_allclose(minigrad.mv(T(m), T(a)).numpy(), m @ a)
    np.testing.assert_array_equal(minigrad.t(T(m)).numpy(), m.T)
    np.testing.assert_array_equal(minigrad.t(T(a)).numpy(), a)
    assert gradcheck(lambda x, y: minigrad.dot(x, y) * minigrad.mv(minigrad.t(x.reshape(1, 4)).t(), y).sum(),
                     [T(a, requires_grad=True), T(b, requires_grad=True)])
    with pytest.raises(RuntimeError, match="dot: expected two 1-D"):
        minigrad.dot(T(a), T(m))
    with pytest.raises(RuntimeError, match="mv: expected a matrix and a vector"):
        minigrad.mv(T(a), T(a))
    with pytest.raises(RuntimeError, match="at most 2 dimensions"):
        minigrad.t(minigrad.ones(2, 2, 2))


def test_like_samplers():
    minigrad.manual_seed(0)
    x = minigrad.ones(3, 4, dtype=minigrad.float64)
    for sampler in (minigrad.rand_like, minigrad.randn_like):
        s = sampler(x)
        assert s.shape == x.shape and s.dtype == minigrad.float64 and s.device == x.device
        assert sampler(minigrad.ones(2, dtype=minigrad.int64), dtype=minigrad.float32).dtype == minigrad.float32
        with pytest.raises(TypeError, match="pass dtype="):
            sampler(minigrad.ones(2, dtype=minigrad.int64))
    r = minigrad.rand_like(x)
    assert 0 <= r.numpy().min() and r.numpy().max() < 1
    i = minigrad.randint_like(minigrad.zeros(1000, dtype=minigrad.int64), 3, 7)
    assert i.dtype == minigrad.int64 and set(np.unique(i.numpy())) == {3, 4, 5, 6}
    assert minigrad.randint_like(x, 5).dtype == minigrad.float64


def test_statistics_and_counts():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 5))
    var, mean = minigrad.var_mean(minigrad.tensor(a), 1)
    np.testing.assert_allclose(var.numpy(), a.var(1, ddof=1))
    np.testing.assert_allclose(mean.numpy(), a.mean(1))
    std, mean = minigrad.std_mean(minigrad.tensor(a), unbiased=False)
    np.testing.assert_allclose(std.numpy(), a.std())
    counts = np.array([[0, 1, 2], [0, 0, 3]])
    assert minigrad.count_nonzero(minigrad.tensor(counts)).item() == 3
    np.testing.assert_array_equal(minigrad.count_nonzero(minigrad.tensor(counts), dim=0).numpy(), [0, 1, 2])
    assert minigrad.count_nonzero(minigrad.tensor(counts)).dtype == minigrad.int64


def test_unique_and_bincount_match_torch():
    x = np.array([3, 1, 2, 3, 1, 7])
    rows = np.array([[1, 2], [0, 5], [1, 2]])

    def run(lib):
        t = lib.tensor(x)
        values, inverse, counts = lib.unique(t, return_inverse=True, return_counts=True)
        return {"values": values, "inverse": inverse, "counts": counts, "plain": lib.unique(t),
                "rows": lib.unique(lib.tensor(rows), dim=0), "bins": lib.bincount(t, minlength=10),
                "weighted": lib.bincount(t, weights=lib.tensor(x * 0.5, dtype=lib.float32))}

    want = torch_reference("unique and bincount", run)
    got = run(minigrad)
    for key, value in want.items():
        assert got[key].dtype == value.dtype, key
        np.testing.assert_array_equal(got[key].numpy(), value, err_msg=key)
    with pytest.raises(ValueError, match="non-negative integers"):
        minigrad.bincount(minigrad.tensor([-1, 2]))
    with pytest.raises(ValueError, match="non-negative integers"):
        minigrad.bincount(minigrad.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="weights must have"):
        minigrad.bincount(minigrad.tensor([1, 2]), weights=minigrad.ones(3))


def test_pytorch_names():
    a = minigrad.tensor([-2.0, 0.5, 3.0])
    b = minigrad.tensor([1.0, 2.0, -1.0])
    np.testing.assert_array_equal(minigrad.clip(a, -1, 1).numpy(), [-1, 0.5, 1])
    np.testing.assert_array_equal(minigrad.multiply(a, b).numpy(), (a * b).numpy())
    np.testing.assert_array_equal(minigrad.subtract(a, b).numpy(), (a - b).numpy())
    np.testing.assert_array_equal(minigrad.true_divide(a, b).numpy(), (a / b).numpy())
    np.testing.assert_array_equal(minigrad.negative(a).numpy(), -a.numpy())
    np.testing.assert_array_equal(minigrad.pow(a, 2).numpy(), a.numpy() ** 2)
    np.testing.assert_array_equal(minigrad.logical_and(a > 0, b > 0).numpy(), [False, True, False])
    np.testing.assert_array_equal(minigrad.logical_not(a > 0).numpy(), [True, False, False])
    assert [t.shape for t in minigrad.chunk(minigrad.ones(5), 2)] == [(3,), (2,)]
    assert [t.shape for t in minigrad.split(minigrad.ones(5), 2)] == [(2,), (2,), (1,)]
    np.testing.assert_allclose(minigrad.std(a).item(), np.std(a.numpy(), ddof=1), rtol=1e-6)
    assert minigrad.all(a != 0).item() and minigrad.any(a > 2).item() and minigrad.equal(a, a)
