"""More of the torch namespace a PyTorch port reaches for (`import minigrad as torch`): max(a, b),
set_grad_enabled as a context manager, minigrad.utils.data, dtype aliases, creation and linear
algebra functions, tril/triu, isclose, argsort, add/sub with alpha, Tensor.register_hook. The same
results as PyTorch (live or recorded), gradients by float64 finite differences, bad input refused."""

import numpy as np
import pytest
from torch_reference import TorchReference, as_array

import minigrad
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

X = np.random.default_rng(1).standard_normal((3, 4))
CLOSE = np.array([1.0, np.inf, -np.inf, np.nan, 1.0, 0.0, 1e-9])
NEAR = np.array([1.0 + 1e-7, np.inf, np.inf, np.nan, 1.1, 1e-9, 0.0])

# name -> fn(lib, x): the same call on a minigrad or torch module / tensor x (float64, X's values)
CALLS = {
    "max(a, b)": lambda lib, x: lib.max(x, -x),
    "min(a, b)": lambda lib, x: lib.min(x, x.t().reshape(3, 4)),
    "a.max(b)": lambda lib, x: x.max(x * 0.5),
    "a.min(b) broadcast": lambda lib, x: x.min(x[0]),
    "tril": lambda lib, x: lib.tril(x),
    "tril(1)": lambda lib, x: lib.tril(x, 1),
    "triu(-1)": lambda lib, x: lib.triu(x, -1),
    "x.triu(2)": lambda lib, x: x.triu(2),
    "tril batch": lambda lib, x: lib.tril(x.reshape(3, 2, 2)),
    "argsort": lambda lib, x: lib.argsort(x, dim=1),
    "x.argsort(desc)": lambda lib, x: x.argsort(dim=0, descending=True),
    "sort": lambda lib, x: lib.sort(x, dim=1).values,
    "topk": lambda lib, x: lib.topk(x, 2).indices,
    "norm": lambda lib, x: lib.norm(x),
    "norm(dim)": lambda lib, x: lib.norm(x, p=2, dim=1),
    "isclose": lambda lib, x: lib.isclose(lib.tensor(CLOSE), lib.tensor(NEAR)),
    "isclose(equal_nan)": lambda lib, x: lib.isclose(lib.tensor(CLOSE), lib.tensor(NEAR), equal_nan=True),
    "isclose(rtol, atol)": lambda lib, x: lib.tensor(CLOSE).isclose(lib.tensor(NEAR), rtol=0.2, atol=1e-8),
    "allclose(inf)": lambda lib, x: lib.allclose(lib.tensor([np.inf, 1.0]), lib.tensor([np.inf, 1.0])),
    "allclose(false)": lambda lib, x: lib.allclose(x, x + 1e-3),
    "outer": lambda lib, x: lib.outer(x[0], x[1, :3]),
    "x.outer": lambda lib, x: x[0].outer(x[1]),
    "bmm": lambda lib, x: lib.bmm(x.reshape(2, 3, 2), x.reshape(2, 2, 3)),
    "mm": lambda lib, x: lib.mm(x, x.t()),
    "add(alpha)": lambda lib, x: x.add(x * x, alpha=2.5),
    "sub(alpha)": lambda lib, x: x.sub(x * x, alpha=-0.5),
    "lib.add": lambda lib, x: lib.add(x, 1.5),
    "lib.mul": lambda lib, x: lib.mul(x, x),
    "lib.pow": lambda lib, x: lib.pow(x, 2),
    "linspace": lambda lib, x: lib.linspace(-1, 2, 7),
    "linspace(1)": lambda lib, x: lib.linspace(3, 4, 1),
    "linspace(0)": lambda lib, x: lib.linspace(0, 1, 0),
    "linspace(float64)": lambda lib, x: lib.linspace(0, 1, 5, dtype=lib.float64),
    "eye": lambda lib, x: lib.eye(3),
    "eye(3, 5)": lambda lib, x: lib.eye(3, 5),
    "eye(long)": lambda lib, x: lib.eye(2, dtype=lib.long),
    "numel": lambda lib, x: lib.numel(x),
    "is_tensor": lambda lib, x: (lib.is_tensor(x), lib.is_tensor(X)),
    "as_tensor(list)": lambda lib, x: lib.as_tensor([1, 2, 3]),
    "as_tensor(dtype)": lambda lib, x: lib.as_tensor(x, dtype=lib.float),
    "long/float/double": lambda lib, x: (x.to(lib.long), x.to(lib.float), x.to(lib.float).to(lib.double)),
}



class _OnDevice:
    """minigrad with tensor/as_tensor/linspace/eye putting their results on one device."""

    def __init__(self, device: str) -> None:
        self.device = device

    def __getattr__(self, name):
        fn = getattr(minigrad, name)
        if name in ("tensor", "as_tensor", "linspace", "eye"):
            return lambda *args, **kwargs: fn(*args, **kwargs).to(self.device)
        return fn


@pytest.mark.parametrize("name", sorted(CALLS))
def test_call_matches_torch(name, device):
    fn = CALLS[name]
    want = torch_reference(f"call/{name}", lambda torch: {"result": as_array(fn(torch, torch.tensor(X)))})["result"]
    got = as_array(fn(_OnDevice(device), minigrad.tensor(X, device=device)))
    assert got.shape == want.shape and got.dtype == want.dtype, (name, got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: minigrad.max(x, x.flip(0)),
        lambda x: x.min(x[1:2] * 0.5),
        lambda x: minigrad.tril(x, -1) * x,
        lambda x: x.triu(1),
        lambda x: minigrad.outer(x[0], x[1]),
        lambda x: minigrad.bmm(x.reshape(2, 3, 2), x.reshape(2, 2, 3)),
        lambda x: x.add(x * x, alpha=3.0),
        lambda x: x.sub(x.exp(), alpha=0.25),
        lambda x: minigrad.norm(x, p=2, dim=1),
    ],
)
def test_gradients_by_finite_differences(fn, device):
    x = minigrad.tensor(X, dtype=minigrad.float64, requires_grad=True, device=device)
    assert gradcheck(fn, [x])


def test_randperm_is_a_seeded_permutation(device):
    minigrad.manual_seed(3)
    a = minigrad.randperm(10)
    minigrad.manual_seed(3)
    b = minigrad.randperm(10, device=device)
    assert b.device == device and a.dtype == minigrad.int64 and sorted(a.tolist()) == list(range(10))
    assert a.tolist() == b.tolist()
    assert minigrad.randperm(0).shape == (0,)


def test_as_tensor_returns_the_tensor_itself_when_nothing_changes():
    x = minigrad.tensor(X)
    assert minigrad.as_tensor(x) is x
    assert minigrad.as_tensor(x, dtype=minigrad.float64) is x  # X is float64, kept as in PyTorch
    assert minigrad.as_tensor(x, dtype=minigrad.float32).dtype == minigrad.float32


def test_dtype_aliases_are_the_dtypes():
    assert minigrad.long == minigrad.int64 and minigrad.float == minigrad.float32
    assert minigrad.double == minigrad.float64
    assert minigrad.ones(2, dtype=minigrad.long).dtype == minigrad.int64


def test_utils_data_is_minigrad_data():
    import minigrad.utils.data as utils_data
    from minigrad.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split

    assert utils_data is minigrad.data and minigrad.utils.data is minigrad.data
    assert DataLoader is minigrad.data.DataLoader and Dataset is minigrad.data.Dataset
    ds = TensorDataset(minigrad.tensor(X), minigrad.arange(3))
    assert len(Subset(ds, [0, 2])) == 2 and [len(s) for s in random_split(ds, [2, 1])] == [2, 1]
    xb, yb = next(iter(DataLoader(ds, batch_size=2)))
    assert xb.shape == (2, 4) and yb.tolist() == [0, 1]


def test_set_grad_enabled_as_a_call_a_context_manager_and_a_decorator():
    x = minigrad.ones(2, requires_grad=True)
    try:
        minigrad.set_grad_enabled(False)  # a plain call takes effect and stays
        assert not minigrad.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        minigrad.set_grad_enabled(True)
    with minigrad.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert minigrad.is_grad_enabled()
    with minigrad.no_grad():
        with minigrad.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not minigrad.is_grad_enabled()  # the mode before the `with` comes back
    assert minigrad.is_grad_enabled()

    @minigrad.set_grad_enabled(False)
    def double(t):
        return t * 2

    assert minigrad.is_grad_enabled()  # decorating does not change the mode
    assert not double(x).requires_grad and minigrad.is_grad_enabled()


def _hook_log(lib):
    """A backward pass with hooks on a leaf and a non-leaf, recorded as a dict of arrays."""
    log = {}
    x = lib.tensor(X[0], requires_grad=True)
    x.register_hook(lambda g: log.__setitem__("x seen", g.detach().clone()))
    doubling = x.register_hook(lambda g: g * 2)
    y = x * 3
    y.register_hook(lambda g: log.__setitem__("y seen", g.detach().clone()) or g + 1)
    y.retain_grad()
    ((y * x).sum() + (x * x).sum()).backward()  # x reached by three edges: its hooks see the sum
    log["x.grad"], log["y.grad"] = x.grad.clone(), y.grad.clone()
    doubling.remove()
    x.grad = None
    (x * x).sum().backward()
    log["x.grad after remove"] = x.grad.clone()
    return log


def test_register_hook_matches_torch():
    want = torch_reference("register_hook", _hook_log)
    got = {k: as_array(v) for k, v in _hook_log(minigrad).items()}
    assert got.keys() == want.keys()
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-12, err_msg=key)


def test_register_hook_on_a_root_leaf_and_in_autograd_grad():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    x.backward(minigrad.tensor([1.0, 1.0]))
    assert x.grad.tolist() == [10.0, 10.0]
    (gx,) = minigrad.autograd.grad((x * x).sum(), x)
    assert gx.tolist() == [20.0, 40.0] and x.grad.tolist() == [10.0, 10.0]


def test_register_hook_bad_input():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        minigrad.ones(2).register_hook(lambda g: g)
    x = minigrad.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)
    x.register_hook(lambda g: minigrad.ones(3))
    with pytest.raises(RuntimeError, match="gradient's shape"):
        (x * 2).sum().backward()


def test_bad_input_is_refused():
    m = minigrad.ones(2, 3)
    with pytest.raises(RuntimeError, match="3-D"):
        minigrad.bmm(m, m)
    with pytest.raises(RuntimeError, match="batch sizes"):
        minigrad.bmm(minigrad.ones(2, 2, 3), minigrad.ones(3, 3, 2))
    with pytest.raises(ValueError, match="cannot be multiplied"):
        minigrad.bmm(minigrad.ones(2, 2, 3), minigrad.ones(2, 2, 3))
    with pytest.raises(RuntimeError, match="1-D"):
        minigrad.outer(m, m)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        minigrad.tril(minigrad.ones(3))
    with pytest.raises(TypeError, match="diagonal"):
        minigrad.triu(m, 1.5)
    with pytest.raises(RuntimeError, match="non-negative"):
        minigrad.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="steps"):
        minigrad.linspace(0, 1, 2.5)
    with pytest.raises(RuntimeError, match="non-negative"):
        minigrad.eye(-1)
    with pytest.raises(TypeError, match="int"):
        minigrad.randperm(3.0)
    with pytest.raises(RuntimeError, match="non-negative"):
        minigrad.isclose(m, m, rtol=-1)


def test_a_hooked_leaf_that_dies_or_whose_hooks_are_removed_leaves_the_hooked_set():
    from minigrad import autograd

    x = minigrad.ones(2, requires_grad=True)
    handles = [x.register_hook(lambda g: g), x.register_post_accumulate_grad_hook(lambda t: None)]
    assert id(x) in autograd._hooked_leaves
    handles[0].remove()
    assert id(x) in autograd._hooked_leaves  # the other hook is still there
    handles[1].remove()
    assert id(x) not in autograd._hooked_leaves
    y = minigrad.ones(2, requires_grad=True)
    y.register_hook(lambda g: g)
    before = len(autograd._hooked_leaves)
    del y  # without remove(): backward must not keep counting edges for it forever
    assert len(autograd._hooked_leaves) == before - 1
