"""Tensor methods a PyTorch port reaches for (square, new_*, mm, expand_as, nelement, ndimension,
and the everyday ones beside them): the same results as PyTorch (live or recorded), gradients by
float64 finite differences."""

import numpy as np
import pytest
from torch_reference import TorchReference, as_array

import minigrad
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

X = np.random.default_rng(0).standard_normal((3, 4))

# name -> fn(lib, x): the same call on a minigrad or torch tensor x (float64) of X's values
IDIOMS = {
    "square": lambda lib, x: x.square(),
    "lib.square": lambda lib, x: lib.square(x),
    "mm": lambda lib, x: x.mm(x.t()),
    "expand_as": lambda lib, x: x[:1].expand_as(x),
    "new_zeros": lambda lib, x: x.new_zeros(2, 3),
    "new_zeros(tuple)": lambda lib, x: x.new_zeros((2, 3)),
    "new_ones": lambda lib, x: x.new_ones(2),
    "new_full": lambda lib, x: x.new_full((2, 2), 1.5),
    "new_tensor": lambda lib, x: x.new_tensor([1, 2]),
    "new_zeros(dtype)": lambda lib, x: x.new_zeros(2, dtype=lib.int64),
    "nelement": lambda lib, x: x.nelement(),
    "ndimension": lambda lib, x: x.ndimension(),
    "item": lambda lib, x: x.sum().item(),
    "tolist": lambda lib, x: x.tolist(),
    "size(dim)": lambda lib, x: x.size(1),
    "numel": lambda lib, x: x.numel(),
    "view(-1)": lambda lib, x: x.view(-1),
    "type_as": lambda lib, x: x.long().type_as(x),
    "float": lambda lib, x: x.float(),
    "long": lambda lib, x: (x * 3).long(),
    "argmax(dim=1)": lambda lib, x: x.argmax(dim=1),
    "eq().sum().item()": lambda lib, x: x.argmax(1).eq(x.argmin(0)[:3]).sum().item(),
    "clone": lambda lib, x: x.clone(),
    "unsqueeze": lambda lib, x: x.unsqueeze(1),
    "flatten(1)": lambda lib, x: x.view(3, 2, 2).flatten(1),
    "cat": lambda lib, x: lib.cat([x, x], 1),
    "stack": lambda lib, x: lib.stack([x, x]),
    "max(dim)": lambda lib, x: x.max(1),
    "max(dim).indices": lambda lib, x: x.max(dim=0).indices,
}



@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_idiom_matches_torch(name):
    fn = IDIOMS[name]
    want = torch_reference(f"idiom/{name}", lambda torch: {"result": as_array(fn(torch, torch.tensor(X)))})["result"]
    got = as_array(fn(minigrad, minigrad.tensor(X)))
    assert got.shape == want.shape and got.dtype == want.dtype, name
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_new_tensors_follow_self():
    x = minigrad.tensor(X, dtype=minigrad.float64)
    assert x.new_empty(2, 2).dtype == minigrad.float64 and x.new_empty((2, 2)).shape == (2, 2)
    assert x.new_zeros(2, dtype=minigrad.float32).dtype == minigrad.float32
    assert x.new_ones(3, requires_grad=True).requires_grad
    assert x.new_tensor([1.5]).dtype == minigrad.float64


@pytest.mark.parametrize("fn", [lambda x: x.square(), lambda x: minigrad.square(x), lambda x: x.mm(x.t()),
                                lambda x: x[:1].expand_as(x) * x])  # fmt: skip
def test_gradients_by_finite_differences(fn):
    x = minigrad.tensor(X, dtype=minigrad.float64, requires_grad=True)
    assert gradcheck(fn, [x])


def test_mm_needs_matrices():
    with pytest.raises(RuntimeError, match="must be matrices"):
        minigrad.ones(2, 3).mm(minigrad.ones(3))
