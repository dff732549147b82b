"""More of PyTorch's API for ported code (`import minigrad as torch`): max/min of two tensors,
set_grad_enabled as a call, context manager and decorator, minigrad.utils.data, the dtype aliases
long/float/double, is_tensor, numel, as_tensor, linspace, eye, randperm, mm, bmm, outer, norm,
isclose/allclose, sort/topk/argsort, tril/triu, diag, nonzero, masked_select, meshgrid,
bernoulli, multinomial, add/sub with alpha and Tensor.register_hook.

Values, dtypes and shapes against PyTorch (live or recorded), gradients by float64 finite
differences, hook and grad-mode semantics against PyTorch, bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference, as_array, assert_matches

import minigrad
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
A[1, 2] = B[1, 2]  # a tie for max/min
V = rng.standard_normal(3)
W = rng.standard_normal(4)
BATCH = rng.standard_normal((2, 3, 4))
BATCH2 = rng.standard_normal((2, 4, 5))
N = np.array([[0, 3, 0, -1], [2, 0, 0, 0], [0, 0, 7, 5]])
SPECIAL = np.array([np.inf, -np.inf, np.nan, 1.0, 0.0])
MASK = np.array([True, False, True, True])

# name -> fn(lib, T): the same call with torch or minigrad; T makes a tensor of a numpy array
CASES = {
    # max/min of two tensors (elementwise), function and method
    "max(a,b)": lambda lib, T: lib.max(T(A), T(B)),
    "min(a,b)": lambda lib, T: lib.min(T(A), T(B)),
    "a.max(b)": lambda lib, T: T(A).max(T(B)),
    "a.min(b)": lambda lib, T: T(A).min(T(B)),
    "max(a,b) broadcast": lambda lib, T: lib.max(T(A), T(W)),
    "max(int,int)": lambda lib, T: lib.max(T(N), T(N[::-1].copy())),
    # dtype aliases
    "zeros(long)": lambda lib, T: lib.zeros(2, dtype=lib.long),
    "ones(float)": lambda lib, T: lib.ones(2, dtype=lib.float),
    "ones(double)": lambda lib, T: lib.ones(2, dtype=lib.double),
    "to(float)": lambda lib, T: T(A).to(lib.float),
    "to(long)": lambda lib, T: T(A * 3).to(lib.long),
    # is_tensor, numel, as_tensor
    "is_tensor": lambda lib, T: [lib.is_tensor(T(A)), lib.is_tensor(A), lib.is_tensor(1.0)],
    "numel": lambda lib, T: lib.numel(T(BATCH)),
    "as_tensor(list)": lambda lib, T: lib.as_tensor([1, 2.5]),
    "as_tensor(ints)": lambda lib, T: lib.as_tensor([[1, 2], [3, 4]]),
    "as_tensor(ndarray)": lambda lib, T: lib.as_tensor(N),
    "as_tensor(dtype)": lambda lib, T: lib.as_tensor(A, dtype=lib.float32),
    "as_tensor(tensor, dtype)": lambda lib, T: lib.as_tensor(T(N), dtype=lib.float64),
    # linspace, eye
    "linspace": lambda lib, T: lib.linspace(0, 1, 5),
    "linspace(neg)": lambda lib, T: lib.linspace(3.5, -2, 7),
    "linspace(odd step)": lambda lib, T: lib.linspace(-1.3, 2.9, 11),
    "linspace(long)": lambda lib, T: lib.linspace(0, 10, 4, dtype=lib.long),
    "linspace(double)": lambda lib, T: lib.linspace(1, 2, 6, dtype=lib.float64),
    "linspace(1)": lambda lib, T: lib.linspace(2, 5, 1),
    "linspace(0)": lambda lib, T: lib.linspace(2, 5, 0),
    "eye": lambda lib, T: lib.eye(3),
    "eye(n,m)": lambda lib, T: lib.eye(2, 4),
    "eye(long)": lambda lib, T: lib.eye(3, dtype=lib.int64),
    "eye(0)": lambda lib, T: lib.eye(0),
    # products
    "mm": lambda lib, T: lib.mm(T(A), T(B).t()),
    "x.mm": lambda lib, T: T(A).t().mm(T(B)),
    "bmm": lambda lib, T: lib.bmm(T(BATCH), T(BATCH2)),
    "x.bmm": lambda lib, T: T(BATCH).bmm(T(BATCH2)),
    "matmul(batch)": lambda lib, T: lib.matmul(T(BATCH), T(BATCH2)),
    "outer": lambda lib, T: lib.outer(T(V), T(W)),
    "x.outer(int)": lambda lib, T: T(N[0]).outer(T(N[1])),
    # norm
    "norm": lambda lib, T: lib.norm(T(A)),
    "norm(p=2)": lambda lib, T: lib.norm(T(A), p=2),
    "norm(dim)": lambda lib, T: lib.norm(T(A), dim=1),
    "norm(p=1, dim, keepdim)": lambda lib, T: lib.norm(T(A), p=1, dim=0, keepdim=True),
    "norm(inf)": lambda lib, T: lib.norm(T(A), p=float("inf"), dim=1),
    "x.norm(3)": lambda lib, T: T(A).norm(3),
    # isclose, allclose
    "isclose": lambda lib, T: lib.isclose(T(A), T(A + 1e-9 * np.arange(12).reshape(3, 4))),
    "isclose(special)": lambda lib, T: lib.isclose(T(SPECIAL), T(SPECIAL[::-1].copy())),
    "isclose(self special)": lambda lib, T: T(SPECIAL).isclose(T(SPECIAL)),
    "isclose(equal_nan)": lambda lib, T: lib.isclose(T(SPECIAL), T(SPECIAL), equal_nan=True),
    "isclose(rtol, atol)": lambda lib, T: lib.isclose(T(A), T(A * 1.01), rtol=0.02, atol=0.0),
    "isclose(int)": lambda lib, T: lib.isclose(T(N), T(N * (N > 0))),
    "allclose": lambda lib, T: [lib.allclose(T(A), T(A + 1e-9)), lib.allclose(T(A), T(B)),
                                lib.allclose(T(SPECIAL[:2]), T(SPECIAL[:2]))],
    # sort, topk, argsort
    "sort": lambda lib, T: lib.sort(T(B)),
    "sort(dim=0, descending)": lambda lib, T: lib.sort(T(B), dim=0, descending=True),
    "topk": lambda lib, T: lib.topk(T(B), 2),
    "topk(smallest, dim=0)": lambda lib, T: lib.topk(T(B), 2, dim=0, largest=False),
    "argsort": lambda lib, T: lib.argsort(T(B)),
    "argsort(dim=0, descending)": lambda lib, T: lib.argsort(T(B), dim=0, descending=True),
    "x.argsort(stable)": lambda lib, T: T(np.array([3, 1, 3, 0, 1])).argsort(stable=True),
    # tril, triu
    "tril": lambda lib, T: lib.tril(T(A)),
    "triu": lambda lib, T: lib.triu(T(A)),
    "tril(1)": lambda lib, T: T(A).tril(1),
    "triu(-1)": lambda lib, T: T(A).triu(-1),
    "tril(batch, -2)": lambda lib, T: lib.tril(T(BATCH), -2),
    "triu(int, 2)": lambda lib, T: lib.triu(T(N), 2),
    "tril(bool)": lambda lib, T: lib.tril(T(N != 0)),
    "tril_": lambda lib, T: T(A).tril_(),
    "triu_(1)": lambda lib, T: T(A).triu_(1),
    # diag
    "diag(vector)": lambda lib, T: lib.diag(T(V)),
    "diag(vector, 1)": lambda lib, T: lib.diag(T(V), 1),
    "diag(vector, -2)": lambda lib, T: lib.diag(T(V), -2),
    "diag(int vector)": lambda lib, T: T(N[2]).diag(),
    "diag(matrix)": lambda lib, T: lib.diag(T(A)),
    "diag(matrix, 1)": lambda lib, T: lib.diag(T(A), 1),
    "diag(matrix, -1)": lambda lib, T: T(A).diag(-1),
    "diag(matrix, 5)": lambda lib, T: lib.diag(T(A), 5),
    # nonzero, masked_select
    "nonzero": lambda lib, T: lib.nonzero(T(N)),
    "x.nonzero": lambda lib, T: T(N[0]).nonzero(),
    "nonzero(as_tuple)": lambda lib, T: lib.nonzero(T(N), as_tuple=True),
    "nonzero(0-d)": lambda lib, T: lib.nonzero(T(np.array(3.0))),
    "nonzero(0-d zero)": lambda lib, T: lib.nonzero(T(np.array(0.0))),
    "nonzero(bool)": lambda lib, T: lib.nonzero(T(A > 0)),
    "masked_select": lambda lib, T: lib.masked_select(T(A), T(A > 0)),
    "masked_select(broadcast mask)": lambda lib, T: lib.masked_select(T(A), T(MASK)),
    "x.masked_select(broadcast input)": lambda lib, T: T(W).masked_select(T(A > 0)),
    "masked_select(int)": lambda lib, T: lib.masked_select(T(N), T(N > 0)),
    # meshgrid
    "meshgrid(ij)": lambda lib, T: lib.meshgrid(T(V), T(W), indexing="ij"),
    "meshgrid(xy)": lambda lib, T: lib.meshgrid(T(V), T(W), indexing="xy"),
    "meshgrid(list, 3, xy)": lambda lib, T: lib.meshgrid([T(V), T(W), T(V[:2])], indexing="xy"),
    "meshgrid(0-d)": lambda lib, T: lib.meshgrid(T(np.array(2.0)), T(W), indexing="ij"),
    # add/sub with alpha
    "add(alpha)": lambda lib, T: T(A).add(T(B), alpha=2.5),
    "sub(alpha)": lambda lib, T: T(A).sub(T(B), alpha=-0.5),
    "lib.add(alpha)": lambda lib, T: lib.add(T(A), T(B), alpha=3),
    "lib.sub(number, alpha)": lambda lib, T: lib.sub(T(A), 2.0, alpha=0.25),
    "add(int, int alpha)": lambda lib, T: T(N).add(T(N[0]), alpha=3),
    "add_(alpha)": lambda lib, T: T(A).add_(T(B), alpha=2),
    "sub_(alpha)": lambda lib, T: T(N).sub_(T(N[1]), alpha=2),
    "lib.mul/div": lambda lib, T: lib.div(lib.mul(T(A), T(B)), 2),
}




@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, device):
    fn = CASES[name]
    want = torch_reference(f"value/{name}", lambda torch: {"result": as_array(fn(torch, torch.tensor))})["result"]
    got = as_array(fn(minigrad, lambda a: minigrad.tensor(a, device=device)))
    assert_matches(got, want, name)


def test_results_stay_on_the_input_device(device):
    x = minigrad.tensor(A, device=device)
    for out in (x.nonzero(), x.masked_select(x > 0), x.argsort(), x.tril(), x.diag(), x.isclose(x),
                minigrad.eye(2, device=device), minigrad.linspace(0, 1, 3, device=device),
                minigrad.randperm(4, device=device), x.abs().div(10).bernoulli(), x.abs().multinomial(2)):
        assert out.device == device


# --- gradients ---------------------------------------------------------------------------------

# name -> fn of float64 tensors x (A's shape), v (V's), w (W's), b (BATCH's), c (BATCH2's)
GRAD_CASES = {
    "bmm": lambda x, v, w, b, c: minigrad.bmm(b, c),
    "mm": lambda x, v, w, b, c: minigrad.mm(x.t(), x),
    "outer": lambda x, v, w, b, c: minigrad.outer(v, w),
    "norm": lambda x, v, w, b, c: minigrad.norm(x),
    "norm(dim, p=2)": lambda x, v, w, b, c: minigrad.norm(b, p=2, dim=(0, 2), keepdim=True),
    "norm(p=3)": lambda x, v, w, b, c: x.norm(3, dim=1),
    "tril": lambda x, v, w, b, c: minigrad.tril(b, 1),
    "triu": lambda x, v, w, b, c: x.triu(-1) * 2,
    "tril_": lambda x, v, w, b, c: (x * 1).tril_(),
    "diag(vector)": lambda x, v, w, b, c: minigrad.diag(v, -1),
    "diag(matrix)": lambda x, v, w, b, c: x.diag(1),
    "add(alpha)": lambda x, v, w, b, c: minigrad.add(x, w, alpha=-2.5),
    "sub(alpha)": lambda x, v, w, b, c: x.sub(w, alpha=3),
    "add_(alpha)": lambda x, v, w, b, c: (x * 1).add_(w, alpha=0.5),
    "max(a,b)": lambda x, v, w, b, c: minigrad.max(x, w * 0.3),
    "a.min(b)": lambda x, v, w, b, c: x.min(w),
    "masked_select": lambda x, v, w, b, c: minigrad.masked_select(w, minigrad.tensor(A > 0)),
    "meshgrid": lambda x, v, w, b, c: minigrad.meshgrid(v, w, indexing="xy"),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_by_finite_differences(name):
    inputs = [minigrad.tensor(a, dtype=minigrad.float64, requires_grad=True) for a in (A, V, W, BATCH, BATCH2)]
    assert gradcheck(lambda *t: GRAD_CASES[name](*t), inputs)


def test_max_of_two_tensors_gradient_at_ties_matches_torch():
    def grads(lib):
        x = lib.tensor(A, requires_grad=True)
        y = lib.tensor(B, requires_grad=True)
        (lib.max(x, y) * 2 + x.min(y)).sum().backward()
        return {"x": x.grad, "y": y.grad}

    want = torch_reference("grad/max(a,b) ties", grads)
    got = grads(minigrad)
    for k in ("x", "y"):
        assert_matches(as_array(got[k]), want[k], k)


# --- register_hook -------------------------------------------------------------------------------


def _hook_scenario(lib):
    """Hooks on a leaf and a non-leaf: order, arguments, replacement, retain_grad, removal,
    autograd.grad; every observation as an array."""
    seen, order = {}, []

    def record(tag):
        def hook(g):
            order.append(tag)
            seen[tag] = g.clone()

        return hook

    x = lib.tensor(A, requires_grad=True)
    h1 = x.register_hook(record("x1"))
    x.register_hook(lambda g: g * 2)  # replaces the gradient: the later hooks and .grad see it
    x.register_hook(record("x3"))
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g + 1)
    hy = y.register_hook(record("y"))
    (y * y + x).sum().backward()  # x reached twice: its hooks run once, on the sum
    out = {"order": np.array(order), "x.grad": x.grad.clone(), "y.grad": y.grad, **seen}
    h1.remove()
    h1.remove()  # twice is harmless
    hy.remove()
    order.clear()
    x.grad = None
    (x * x).sum().backward()
    out["order after remove"] = np.array(order)
    out["x.grad after remove"] = x.grad
    (gx,) = lib.autograd.grad((x * 2).sum(), x)  # leaf hooks apply to autograd.grad's result too
    z = x * 1
    z.register_hook(lambda g: g * 10)
    (gz,) = lib.autograd.grad((z * z).sum(), z, retain_graph=True)
    (gzx,) = lib.autograd.grad((z * z).sum(), x)
    out.update({"grad(x)": gx, "grad(z)": gz, "grad(z) -> x": gzx})
    root = x.sum() * 1
    root.register_hook(lambda g: g * 5)  # a hook on the root itself
    x.grad = None
    root.backward()
    out["root hooked"] = x.grad
    return out


def test_register_hook_matches_torch():
    want = torch_reference("hooks/scenario", _hook_scenario)
    got = _hook_scenario(minigrad)
    assert want.keys() == got.keys()
    for k in want:
        assert_matches(as_array(got[k]), want[k], k)


def test_register_hook_on_a_root_leaf_and_with_post_accumulate_hooks():
    x = minigrad.tensor([1.0, 2.0], dtype=minigrad.float64, requires_grad=True)
    events = []
    x.register_post_accumulate_grad_hook(lambda t: events.append(("post", t.grad.tolist())))
    x.register_hook(lambda g: events.append(("hook", g.tolist())) or g * 3)
    x.backward(minigrad.tensor([1.0, -1.0], dtype=minigrad.float64))
    (x * x).sum().backward()
    assert events == [("hook", [1.0, -1.0]), ("post", [3.0, -3.0]), ("hook", [2.0, 4.0]), ("post", [9.0, 9.0])]


def test_register_hook_bad_use():
    x = minigrad.tensor(A, dtype=minigrad.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        minigrad.tensor(A).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        minigrad.tensor([1, 2]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)
    for bad, error, match in ((lambda g: g.float(), RuntimeError, "changed the type"),
                              (lambda g: g[:1], RuntimeError, "changed the size"),
                              (lambda g: 3, TypeError, "returned 'int'")):  # fmt: skip
        h = x.register_hook(bad)
        with pytest.raises(error, match=match):
            (x * 2).sum().backward()
        h.remove()
    assert id(x) not in minigrad.autograd._hooked_leaves  # every hook removed: backward skips the edge count
    before = len(minigrad.autograd._hooked_leaves)
    y = minigrad.tensor(A, dtype=minigrad.float64, requires_grad=True)
    y.register_hook(lambda g: g)
    assert len(minigrad.autograd._hooked_leaves) == before + 1
    del y  # a leaf dropped with its hooks is no longer counted
    assert len(minigrad.autograd._hooked_leaves) == before


# --- set_grad_enabled ----------------------------------------------------------------------------


def _grad_mode_scenario(lib):
    """is_grad_enabled() at each step of set_grad_enabled used as a call, a context manager (also
    nested in no_grad, and left by an exception) and a decorator."""
    modes = []
    lib.set_grad_enabled(False)
    modes.append(lib.is_grad_enabled())
    lib.set_grad_enabled(True)
    modes.append(lib.is_grad_enabled())
    with lib.set_grad_enabled(False):
        modes.append(lib.is_grad_enabled())
        with lib.set_grad_enabled(True):
            modes.append(lib.is_grad_enabled())
        modes.append(lib.is_grad_enabled())
    modes.append(lib.is_grad_enabled())
    with lib.no_grad():
        with lib.set_grad_enabled(True):
            modes.append(lib.is_grad_enabled())
        modes.append(lib.is_grad_enabled())
    try:
        with lib.set_grad_enabled(False):
            raise KeyError
    except KeyError:
        modes.append(lib.is_grad_enabled())

    @lib.set_grad_enabled(False)
    def inside():
        return lib.is_grad_enabled()

    modes.append(lib.is_grad_enabled())  # decorating does not switch
    modes += [inside(), lib.is_grad_enabled()]
    x = lib.ones(2, requires_grad=True)
    with lib.set_grad_enabled(False):
        y = x * 2
    modes += [y.requires_grad, (x * 2).requires_grad]
    return {"modes": np.array(modes)}


def test_set_grad_enabled_matches_torch():
    want = torch_reference("set_grad_enabled", _grad_mode_scenario)["modes"]
    try:
        got = _grad_mode_scenario(minigrad)["modes"]
    finally:
        minigrad.set_grad_enabled(True)
    np.testing.assert_array_equal(got, want)


# --- namespaces ----------------------------------------------------------------------------------


def test_utils_data_is_minigrad_data():
    from minigrad.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split

    assert DataLoader is minigrad.data.DataLoader and TensorDataset is minigrad.data.TensorDataset
    assert Dataset is minigrad.data.Dataset and Subset is minigrad.data.Subset
    assert random_split is minigrad.data.random_split
    assert minigrad.utils.data.DataLoader is DataLoader
    data = TensorDataset(minigrad.tensor(A), minigrad.tensor([0, 1, 2]))
    first, rest = random_split(data, [1, 2])
    (xb, yb), *_ = list(DataLoader(rest, batch_size=2))
    assert xb.shape == (2, 4) and yb.dtype == minigrad.long and len(first) == 1


def test_dtype_aliases_and_exports():
    assert minigrad.long == minigrad.int64 and minigrad.float == minigrad.float32
    assert minigrad.double == minigrad.float64
    assert minigrad.tensor([1.5]).double().dtype == minigrad.double
    assert minigrad.int == minigrad.int32 and minigrad.short == minigrad.int16
    with pytest.raises(TypeError, match="float16"):  # a name for autocast only: no float16 tensors
        minigrad.tensor([1.5], dtype=minigrad.half)
    for name in minigrad.__all__:
        assert getattr(minigrad, name) is not None, name


def test_as_tensor_shares_memory_where_it_can():
    a = np.arange(3.0)
    t = minigrad.as_tensor(a)
    a[0] = 7.0
    assert t[0].item() == 7.0  # a float64 ndarray: shared, as torch.as_tensor
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    assert minigrad.as_tensor(x) is x and minigrad.as_tensor(x, dtype=minigrad.float) is x
    assert minigrad.as_tensor(x, dtype=minigrad.double).grad_fn is not None  # converted on the tape
    assert minigrad.as_tensor(a, dtype=minigrad.float32).dtype == minigrad.float32


# --- random ---------------------------------------------------------------------------------------


def test_randperm_is_a_seeded_permutation():
    minigrad.manual_seed(3)
    p = minigrad.randperm(10)
    assert p.dtype == minigrad.int64 and sorted(p.tolist()) == list(range(10))
    minigrad.manual_seed(3)
    assert minigrad.randperm(10).tolist() == p.tolist()
    assert minigrad.randperm(5, dtype=minigrad.float64).dtype == minigrad.float64
    assert minigrad.randperm(0).shape == (0,)


def test_bernoulli_and_multinomial_are_seeded_samples():
    minigrad.manual_seed(0)
    p = minigrad.tensor([0.0, 1.0, 0.3] * 2000, dtype=minigrad.float64)
    s = minigrad.bernoulli(p)
    assert s.dtype == minigrad.float64 and s.shape == p.shape
    assert s[0::3].sum().item() == 0 and s[1::3].sum().item() == 2000
    assert abs(s[2::3].mean().item() - 0.3) < 0.05
    minigrad.manual_seed(0)
    assert minigrad.bernoulli(p).equal(s) and p.bernoulli().shape == p.shape
    w = minigrad.tensor([[1.0, 0.0, 3.0], [0.0, 2.0, 0.0]])
    draws = minigrad.multinomial(w, 4000, replacement=True)
    assert draws.dtype == minigrad.int64 and draws.shape == (2, 4000)
    assert set(draws[0].tolist()) == {0, 2} and set(draws[1].tolist()) == {1}
    assert abs((draws[0] == 2).double().mean().item() - 0.75) < 0.05
    once = w.multinomial(3)  # without replacement: zero-weight categories come only after the rest
    assert sorted(once[0].tolist()) == [0, 1, 2] and once[0, 2].item() == 1 and once[1, 0].item() == 1
    assert minigrad.multinomial(w[0], 2).shape == (2,)


# --- bad input -----------------------------------------------------------------------------------

M = minigrad.tensor(A)
BAD = {
    "numel of a number": (lambda: minigrad.numel(3), TypeError, "must be Tensor"),
    "mm shapes": (lambda: minigrad.mm(M, M), RuntimeError, r"cannot be multiplied \(3x4 and 3x4\)"),
    "mm 3-D": (lambda: minigrad.mm(minigrad.tensor(BATCH), M), RuntimeError, "must be matrices"),
    "bmm 2-D": (lambda: minigrad.bmm(M, M.t()), RuntimeError, "batch1 must be a 3D tensor"),
    "bmm batch": (lambda: minigrad.bmm(minigrad.tensor(BATCH), minigrad.tensor(BATCH2[:1])), RuntimeError,
                  "first two dimensions"),
    "bmm inner": (lambda: minigrad.tensor(BATCH).bmm(minigrad.tensor(BATCH)), RuntimeError, "first two dimensions"),
    "outer 2-D": (lambda: minigrad.outer(M, M[0]), RuntimeError, "1-D"),
    "linspace steps<0": (lambda: minigrad.linspace(0, 1, -1), RuntimeError, "non-negative|greater or equal"),
    "linspace steps float": (lambda: minigrad.linspace(0, 1, 2.5), TypeError, "int"),
    "eye n<0": (lambda: minigrad.eye(-1), RuntimeError, "greater or equal to 0"),
    "randperm n<0": (lambda: minigrad.randperm(-2), RuntimeError, "greater or equal to 0"),
    "tril 1-D": (lambda: minigrad.tril(M[0]), RuntimeError, "at least 2 dimensions"),
    "triu 0-D": (lambda: M[0, 0].triu(), RuntimeError, "at least 2 dimensions"),
    "diag 3-D": (lambda: minigrad.diag(minigrad.tensor(BATCH)), RuntimeError, "1D or 2D"),
    "diag 0-D": (lambda: minigrad.diag(M[0, 0]), RuntimeError, "1D or 2D"),
    "masked_select int mask": (lambda: minigrad.masked_select(M, minigrad.tensor(N)), RuntimeError, "BoolTensor"),
    "masked_select shapes": (lambda: M.masked_select(minigrad.tensor([True, False])), RuntimeError, "broadcast"),
    "meshgrid 2-D": (lambda: minigrad.meshgrid(M, indexing="ij"), RuntimeError, "0D or 1D"),
    "meshgrid indexing": (lambda: minigrad.meshgrid(M[0], indexing="yx"), ValueError, "indexing"),
    "meshgrid empty": (lambda: minigrad.meshgrid(), RuntimeError, "non-empty"),
    "isclose dtypes": (lambda: minigrad.isclose(minigrad.tensor(N), M), RuntimeError, "did not match"),
    "allclose dtypes": (lambda: minigrad.allclose(minigrad.tensor(N), M), RuntimeError, "did not match"),
    "add float alpha int": (lambda: minigrad.tensor(N).add(minigrad.tensor(N), alpha=0.5), RuntimeError,
                            "alpha must not be a floating point"),
    "sub_ float alpha int": (lambda: minigrad.tensor(N).sub_(1, alpha=1.0), RuntimeError, "alpha must not"),
    "max(a,b) shapes": (lambda: minigrad.max(M, M[:2, :3]), ValueError, "broadcast"),
    "max(a,b) keepdim": (lambda: M.max(M, keepdim=True), TypeError, "keepdim"),
    "bernoulli p>1": (lambda: minigrad.bernoulli(M * 0 + 1.5), RuntimeError, "0 <= p <= 1"),
    "bernoulli int": (lambda: minigrad.bernoulli(minigrad.tensor(N)), TypeError, "floating"),
    "multinomial negative": (lambda: minigrad.multinomial(minigrad.tensor([-1.0, 2.0]), 1), RuntimeError, "< 0"),
    "multinomial zero sum": (lambda: minigrad.multinomial(minigrad.tensor([0.0, 0.0]), 1), RuntimeError, "sum"),
    "multinomial too many": (lambda: minigrad.multinomial(minigrad.tensor([1.0, 2.0]), 3), RuntimeError,
                             "without replacement"),
    "multinomial 3-D": (lambda: minigrad.multinomial(minigrad.tensor(BATCH).abs(), 1), RuntimeError, "1 or 2 dim"),
    "multinomial 0 samples": (lambda: minigrad.multinomial(minigrad.tensor([1.0]), 0), RuntimeError, "n_sample <= 0"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises(name):
    fn, error, match = BAD[name]
    with pytest.raises(error, match=match):
        fn()
