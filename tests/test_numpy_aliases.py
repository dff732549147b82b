"""PyTorch's numpy-compatible keyword aliases: axis= for dim=, keepdims= for keepdim=.

Each case is accepted by PyTorch itself (checked against it when torch imports); the alias form
must equal the dim=/keepdim= form, and giving both spellings is a TypeError, as in PyTorch.
"""

import numpy as np
import pytest

import minigrad as mg

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
X_SQUEEZABLE = RNG.standard_normal((3, 1, 4))
X_INT = RNG.integers(0, 3, size=(3, 4)).astype(np.float64)  # repeats, for mode

# (name, input, leading positional args, takes keepdim, has a Tensor method)
REDUCTIONS = [
    ("sum", X, (), True, True),
    ("mean", X, (), True, True),
    ("nansum", X, (), True, True),
    ("nanmean", X, (), True, True),
    ("prod", X, (), True, True),
    ("std", X, (), True, True),
    ("var", X, (), True, True),
    ("var_mean", X, (), True, False),
    ("std_mean", X, (), True, False),
    ("max", X, (), True, True),
    ("min", X, (), True, True),
    ("amax", X, (), True, True),
    ("amin", X, (), True, True),
    ("argmax", X, (), True, True),
    ("argmin", X, (), True, True),
    ("logsumexp", X, (), True, True),
    ("any", X > 0, (), True, True),
    ("all", X > 0, (), True, True),
    ("median", X, (), True, True),
    ("nanmedian", X, (), True, True),
    ("quantile", X, (0.5,), True, True),
    ("nanquantile", X, (0.5,), True, True),
    ("kthvalue", X, (2,), True, True),
    ("mode", X_INT, (), True, True),
    ("aminmax", X, (), True, True),
    ("count_nonzero", X_INT, (), False, False),
    ("cumsum", X, (), False, True),
    ("cumprod", X, (), False, True),
    ("cummax", X, (), False, True),
    ("cummin", X, (), False, True),
    ("softmax", X, (), False, True),
    ("log_softmax", X, (), False, True),
    ("squeeze", X_SQUEEZABLE, (), False, True),
    ("unsqueeze", X, (), False, True),
    ("sort", X, (), False, True),
    ("argsort", X, (), False, True),
    ("topk", X, (2,), False, True),
    ("tensor_split", X, (2,), False, True),
    ("chunk", X, (2,), False, True),
    ("unbind", X, (), False, True),
    ("diff", X, (), False, True),
]

# dim-taking ops that put dim after the positional args (squeeze's dim 1 is its size-1 axis)
DIM = {"squeeze": 1}


def _arrays(result):
    """A result (tensor, namedtuple or tuple of tensors) as a list of numpy arrays."""
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _arrays(r)]
    if torch is not None and isinstance(result, torch.Tensor):
        return [result.numpy()]
    return [np.asarray(result.numpy())]


def _assert_same(got, want):
    got, want = _arrays(got), _arrays(want)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-6, atol=1e-9)


def _call(lib, name, data, method, args, kwargs):
    if lib == "mg":
        x = mg.tensor(data)
        return getattr(x, name)(*args, **kwargs) if method else getattr(mg, name)(x, *args, **kwargs)
    x = torch.from_numpy(data)
    return getattr(x, name)(*args, **kwargs) if method else getattr(torch, name)(x, *args, **kwargs)


def _forms(keepdim):
    """(alias kwargs, canonical kwargs) pairs."""
    yield {"axis": 1}, {"dim": 1}
    yield {"axis": -1}, {"dim": -1}
    if keepdim:
        yield {"axis": 1, "keepdims": True}, {"dim": 1, "keepdim": True}
        yield {"dim": 0, "keepdims": True}, {"dim": 0, "keepdim": True}
        yield {"axis": 0, "keepdim": True}, {"dim": 0, "keepdim": True}


def _cases():
    for name, data, args, keepdim, has_method in REDUCTIONS:
        for method in (False, True) if has_method else (False,):
            yield pytest.param(name, data, args, keepdim, method, id=f"{'Tensor.' if method else 'mg.'}{name}")


@pytest.mark.parametrize("name,data,args,keepdim,method", list(_cases()))
def test_alias_equals_dim_and_torch(name, data, args, keepdim, method):
    for alias, canonical in _forms(keepdim):
        if name in DIM:
            alias = {k: (DIM[name] if k in ("axis", "dim") else v) for k, v in alias.items()}
            canonical = {k: (DIM[name] if k in ("axis", "dim") else v) for k, v in canonical.items()}
        got = _call("mg", name, data, method, args, alias)
        _assert_same(got, _call("mg", name, data, method, args, canonical))
        if torch is not None:
            _assert_same(got, _call("torch", name, data, method, args, alias))


@pytest.mark.parametrize("name,data,args,keepdim,method", list(_cases()))
def test_both_spellings_raise_type_error(name, data, args, keepdim, method):
    d = DIM.get(name, 1)
    with pytest.raises(TypeError):
        _call("mg", name, data, method, args, {"dim": d, "axis": d})
    if torch is not None:
        with pytest.raises(TypeError):
            _call("torch", name, data, method, args, {"dim": d, "axis": d})
    if keepdim:
        with pytest.raises(TypeError):
            _call("mg", name, data, method, args, {"dim": d, "keepdim": True, "keepdims": True})


@pytest.mark.parametrize("name", ["cat", "stack"])
def test_joining(name):
    a, b = X, X + 1
    mg_fn = getattr(mg, name)
    for axis in (0, 1, -1):
        got = mg_fn((mg.tensor(a), mg.tensor(b)), axis=axis)
        _assert_same(got, mg_fn((mg.tensor(a), mg.tensor(b)), dim=axis))
        if torch is not None:
            _assert_same(got, getattr(torch, name)((torch.from_numpy(a), torch.from_numpy(b)), axis=axis))
    with pytest.raises(TypeError):
        mg_fn((mg.tensor(a), mg.tensor(b)), dim=0, axis=0)


def test_d2l_idioms():
    x = mg.tensor(X)
    assert x.sum(axis=0).shape == (4,)
    assert x.sum(1, keepdims=True).shape == (3, 1)
    assert x.sum(axis=[0, 1]).shape == ()
    np.testing.assert_allclose(x.mean(axis=1).numpy(), X.mean(axis=1))
    np.testing.assert_allclose(mg.softmax(x, axis=1).sum(axis=1).numpy(), np.ones(3), rtol=1e-6)
    np.testing.assert_array_equal(x.argmax(axis=1).numpy(), X.argmax(axis=1))
    np.testing.assert_allclose(x.max(axis=1).values.numpy(), X.max(axis=1))
    assert mg.cat((x, x), axis=0).shape == (6, 4)


def test_alias_keeps_gradients():
    x = mg.tensor(X, requires_grad=True)
    x.sum(axis=1, keepdims=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones_like(X))


def test_error_message_names_both_spellings():
    with pytest.raises(TypeError, match="axis"):
        mg.tensor(X).sum(dim=0, axis=0)
    with pytest.raises(TypeError, match="keepdims"):
        mg.sum(mg.tensor(X), 0, keepdim=True, keepdims=True)
