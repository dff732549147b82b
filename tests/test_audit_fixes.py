"""Regression tests for the findings of the audit against PyTorch 2.13: stable descending sort and
topk's choice among ties, fused optimizers on non-contiguous parameters, cross_entropy with class
weights and label smoothing, diagonal() as a view, and the smaller semantic fixes (argmax/argmin
errors, binary_cross_entropy's target check, dim=() reductions, the empty product's graph,
default_collate's lists, load_state_dict of torch tensors, safetensors key order)."""

from __future__ import annotations

import collections
import json

import numpy as np
import pytest
import safetensors.numpy
from gradcheck_utils import assert_grad_close, numerical_grad
from torch_reference import TorchReference, assert_matches

import minigrad as mg
from minigrad import nn
from minigrad.data import DataLoader, TensorDataset, default_collate
from minigrad.serialization import CheckpointError, load_metadata

F = mg.nn.functional
torch_reference = TorchReference(__name__)
NAN = float("nan")

# --- sort, argsort, topk: ties in order, NaN first descending (finding 3) -----------------------


def test_descending_sort_keeps_ties_in_order_and_nan_first(device):
    x = mg.tensor([1.0, 1.0, 1.0, 0.0, 1.0], device=device)
    assert x.sort(descending=True, stable=True).indices.tolist() == [0, 1, 2, 4, 3]
    assert x.sort(descending=True).indices.tolist() == [0, 1, 2, 4, 3]
    assert mg.argsort(x, descending=True).tolist() == [0, 1, 2, 4, 3]
    assert x.sort().indices.tolist() == [3, 0, 1, 2, 4]
    y = mg.tensor([1.0, NAN, 2.0, NAN, 1.0], device=device)
    assert y.sort(descending=True).indices.tolist() == [1, 3, 2, 0, 4]
    assert y.sort().indices.tolist() == [0, 4, 2, 1, 3]
    assert mg.tensor([2, 1, 2, 3], device=device).argsort(descending=True).tolist() == [3, 0, 2, 1]  # ints: no negation
    assert mg.tensor([True, False, True], device=device).argsort(descending=True).tolist() == [0, 2, 1]
    rows = mg.tensor([[0.0, 5.0], [5.0, 5.0], [0.0, 1.0]], device=device)  # along dim 0
    assert rows.sort(dim=0, descending=True).indices.tolist() == [[1, 0], [0, 1], [2, 2]]


def test_topk_picks_the_tied_indices_pytorch_picks(device):
    assert mg.tensor([1.0, 1.0, 1.0, 0.0, 1.0], device=device).topk(2).indices.tolist() == [2, 4]
    assert mg.tensor([[2.0, 2.0, 9.0]], device=device).topk(2).indices.tolist() == [[2, 0]]
    y = mg.tensor([1.0, NAN, 2.0, NAN, 1.0], device=device)
    assert y.topk(2).indices.tolist() == [1, 3]
    assert y.topk(2, largest=False).indices.tolist() == [4, 0]
    with pytest.raises(TypeError, match="bool"):
        mg.tensor([True, False]).topk(1)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_topk_of_distinct_values_against_a_full_sort(dim):
    """Slices without ties take the partial selection: the same values and indices as a full
    sort (NaN above +inf), for every k, both directions, along any dim."""
    rng = np.random.default_rng(7)
    x = rng.permutation(4 * 9 * 6).astype(np.float32).reshape(4, 9, 6) - 100
    x[1, 2, 3], x[2, 5, 1], x[3, 0, 0] = NAN, np.inf, -np.inf
    full = np.argsort(x, axis=dim, kind="stable")  # ascending, NaN last
    for k in range(x.shape[dim] + 1):
        for largest in (True, False):
            want = np.flip(full, dim) if largest else full
            want = np.take(want, np.arange(k), axis=dim)
            got = mg.tensor(x).topk(k, dim, largest)
            np.testing.assert_array_equal(got.indices.numpy(), want)
            np.testing.assert_array_equal(got.values.numpy(), np.take_along_axis(x, want, dim))


@pytest.mark.parametrize("n", [5, 17, 40, 300])
def test_sort_and_topk_ties_match_torch(n):
    rng = np.random.default_rng(n)
    x = rng.integers(0, 3, (3, n)).astype(np.float64)
    x[rng.random((3, n)) < 0.1] = NAN
    ks = sorted({1, 2, n // 2, n})  # 300: k * 64 <= n takes PyTorch's partial_sort path

    def torch_run(torch):
        t = torch.tensor(x)
        out = {f"sort/{d}": t.sort(descending=d, stable=True).indices for d in (False, True)}
        for k in ks:
            for largest in (True, False):
                out[f"topk/{k}/{largest}"] = t.topk(k, largest=largest).indices
        return out

    want = torch_reference(f"sort-topk/{n}", torch_run)
    t = mg.tensor(x)
    for d in (False, True):
        assert_matches(t.sort(descending=d).indices.numpy(), want[f"sort/{d}"], f"sort/{d}")
    for k in ks:
        for largest in (True, False):
            got = t.topk(k, largest=largest)
            assert_matches(got.indices.numpy(), want[f"topk/{k}/{largest}"], f"topk/{k}/{largest}")
            np.testing.assert_array_equal(got.values.numpy(), np.take_along_axis(x, got.indices.numpy(), 1))


# --- fused optimizers on non-contiguous parameters, grads and state (finding 6) ------------------

OPTIMIZERS = {
    "SGD": {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "Adam": {"lr": 0.1, "amsgrad": True, "weight_decay": 0.01},
    "AdamW": {"lr": 0.1},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.01},
    "Adadelta": {"lr": 1.0},
    "Adamax": {"lr": 0.1},
    "NAdam": {"lr": 0.1},
    "RAdam": {"lr": 0.1},
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps_a_transposed_parameter_in_place(name, device):
    rng = np.random.default_rng(6)
    base0, x = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))

    def run(lib, device="cpu"):
        base = lib.tensor(base0.copy(), device=device)
        w = lib.nn.Parameter(base.t())  # shares base's memory, as a tied / transposed initialisation
        opt = getattr(lib.optim, name)([w], **OPTIMIZERS[name])
        for _ in range(3):
            opt.zero_grad()
            ((lib.tensor(x, device=device) @ w) ** 2).sum().backward()
            opt.step()
        return w, base

    want = torch_reference(f"optim/{name}", lambda torch: dict(zip(("param", "base"), run(torch), strict=True)))
    w, base = run(mg, device)
    assert isinstance(w, nn.Parameter) and (device != "cpu" or not w.is_contiguous())
    assert_matches(w.detach().cpu().numpy(), want["param"], "param")
    if device == "cpu":  # CUDA arrays are contiguous: there t() is a copy, not a view of base
        assert_matches(base.numpy(), want["base"], "base")  # the step landed in the shared memory


def test_sgd_with_non_contiguous_grad_and_momentum_buffer_matches_contiguous():
    rng = np.random.default_rng(7)
    w0, grads = rng.standard_normal((3, 4)), [rng.standard_normal((4, 3)) for _ in range(3)]

    def run(strided: bool) -> tuple[np.ndarray, np.ndarray]:
        p = nn.Parameter(mg.tensor(w0.copy()))
        opt = mg.optim.SGD([p], lr=0.1, momentum=0.9)
        for i, g in enumerate(grads):
            p.grad = mg.tensor(g).t() if strided else mg.tensor(np.ascontiguousarray(g.T))
            version = p._version
            opt.step()
            assert p._version == version + 1
            if strided and i == 0:  # the buffer as a transposed view of other memory
                storage = mg.tensor(np.ascontiguousarray(opt.state[p]["momentum_buffer"].numpy().T))
                opt.state[p]["momentum_buffer"] = storage.t()
        buf = storage.numpy().T if strided else opt.state[p]["momentum_buffer"].numpy()
        return p.detach().numpy(), buf

    (p_want, buf_want), (p_got, buf_got) = run(False), run(True)
    np.testing.assert_array_equal(p_got, p_want)
    np.testing.assert_array_equal(buf_got, buf_want)  # updated in its own memory


# --- cross_entropy with weight and label_smoothing (finding 8) ----------------------------------

CE_CASES = {  # name: (input shape, ignore_index or None)
    "NC": ((5, 4), None),
    "NC-ignore": ((6, 4), 2),
    "C": ((4,), None),
    "NCd1d2": ((3, 4, 2, 3), -100),
}


def _ce_inputs(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    shape, ignore = CE_CASES[name]
    rng = np.random.default_rng(len(name))
    c = shape[0] if len(shape) == 1 else shape[1]
    x = rng.standard_normal(shape)
    target = rng.integers(0, c, () if len(shape) == 1 else (shape[0], *shape[2:]))
    kwargs = {}
    if ignore is not None:
        target.flat[1] = ignore
        target.flat[3] = ignore
        kwargs["ignore_index"] = ignore
    return x, target, rng.random(c) + 0.1, kwargs


@pytest.mark.parametrize("name", CE_CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.1, 0.35])
def test_cross_entropy_weight_and_label_smoothing_matches_torch(name, reduction, smoothing, device):
    x, target, weight, kwargs = _ce_inputs(name)

    def run(lib, device="cpu"):
        xi = lib.tensor(x, requires_grad=True, device=device)
        loss = lib.nn.functional.cross_entropy(xi, lib.tensor(target, device=device),
                                               weight=lib.tensor(weight, device=device),
                                               reduction=reduction, label_smoothing=smoothing, **kwargs)
        loss.sum().backward()
        return {"loss": loss, "grad": xi.grad}

    want = torch_reference(f"cross_entropy/{name}/{reduction}/{smoothing}", run)
    got = run(mg, device)
    assert_matches(got["loss"].detach().cpu().numpy(), want["loss"], "loss")
    assert_matches(got["grad"].cpu().numpy(), want["grad"], "grad")


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_weight_and_label_smoothing_probability_targets_match_torch(reduction):
    rng = np.random.default_rng(8)
    x, weight = rng.standard_normal((3, 4, 2)), rng.random(4) + 0.1
    probs = rng.random((3, 4, 2))
    probs /= probs.sum(1, keepdims=True)

    def run(lib):
        xi = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xi, lib.tensor(probs), weight=lib.tensor(weight),
                                               reduction=reduction, label_smoothing=0.2)
        loss.backward()
        return {"loss": loss, "grad": xi.grad}

    want = torch_reference(f"cross_entropy/probabilities/{reduction}", run)
    got = run(mg)
    assert_matches(got["loss"].detach().numpy(), want["loss"], "loss")
    assert_matches(got["grad"].numpy(), want["grad"], "grad")


def test_cross_entropy_weight_and_label_smoothing_gradient_is_the_finite_difference():
    x, target, weight, kwargs = _ce_inputs("NCd1d2")
    t, w = mg.tensor(target), mg.tensor(weight)

    def loss(values: np.ndarray) -> mg.Tensor:
        return F.cross_entropy(values, t, weight=w, label_smoothing=0.3, **kwargs)

    xi = mg.tensor(x, requires_grad=True)
    loss(xi).backward()
    numeric = numerical_grad(lambda: loss(mg.tensor(x)).item(), x)
    assert_grad_close(xi.grad.numpy(), numeric, tol=1e-7)


def test_cross_entropy_weight_and_label_smoothing_every_target_ignored_is_nan_as_torch():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    loss = F.cross_entropy(x, mg.tensor([-100, -100]), weight=mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64),
                           label_smoothing=0.2)
    loss.backward()
    assert np.isnan(loss.item()) and not x.grad.numpy().any()


# --- diagonal() is a view (finding 7) -----------------------------------------------------------


def test_in_place_changes_of_a_diagonal_reach_its_base():
    s = mg.ones(3, 3)
    s.diagonal().zero_()
    np.testing.assert_array_equal(s.numpy(), 1 - np.eye(3))
    s.diagonal(1).fill_(7.0)
    assert s.numpy()[0, 1] == s.numpy()[1, 2] == 7.0
    m = mg.zeros(2, 3, 4)
    m.diagonal(0, 1, 2).add_(1.0)  # the diagonals of a batch of matrices
    np.testing.assert_array_equal(m.numpy(), np.broadcast_to(np.eye(3, 4), (2, 3, 4)))
    m.diagonal(-1, 2, 1).fill_(5.0)  # dim1 after dim2: m[:, i + 1, i]... rows along dim 2
    assert m.numpy()[0, 0, 1] == 5.0 and m.numpy()[1, 1, 2] == 5.0
    d = s.diagonal()
    s.add_(1.0)
    np.testing.assert_array_equal(d.numpy(), [1.0, 1.0, 1.0])  # and changes of the base reach it


def test_in_place_change_of_a_diagonal_is_recorded_for_backward():
    w = mg.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    y = w * 2
    y.diagonal().mul_(3.0)
    np.testing.assert_array_equal(y.detach().numpy(), np.arange(9.0).reshape(3, 3) * (2 + 4 * np.eye(3)))
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), 2 + 4 * np.eye(3))
    with pytest.raises(RuntimeError, match="view of a leaf"):
        w.diagonal().zero_()
    with mg.no_grad():
        w.diagonal().zero_()
    assert not np.diag(w.detach().numpy()).any()


def test_diagonal_values_and_gradient_for_offsets_and_dims():
    x = np.arange(24.0).reshape(2, 3, 4)
    for offset, dim1, dim2 in [(0, 0, 1), (1, 1, 2), (-1, 2, 1), (2, -1, 0), (5, 1, 2)]:
        t = mg.tensor(x, requires_grad=True)
        d = t.diagonal(offset, dim1, dim2)
        np.testing.assert_array_equal(d.detach().numpy(), np.diagonal(x, offset, dim1, dim2))
        weights = np.arange(1.0, d.numel() + 1).reshape(d.shape)
        (d * mg.tensor(weights)).sum().backward()
        want = np.zeros_like(x)
        places = np.diagonal(want, offset, dim1, dim2)
        places.flags.writeable = True  # numpy's diagonal view, made writable: the gradient's places
        places[...] = weights
        np.testing.assert_array_equal(t.grad.numpy(), want, err_msg=str((offset, dim1, dim2)))


# --- argmax / argmin, binary_cross_entropy, dim=(), empty prod (findings 10, 11) ------------------


def test_argmax_argmin_refuse_bool_and_empty_reductions():
    for op in ("argmax", "argmin"):
        with pytest.raises(TypeError, match=f"{op}: not defined for bool"):
            getattr(mg.tensor([True, False]), op)()
        with pytest.raises(IndexError, match="numel"):
            getattr(mg.zeros(0, 2), op)()
        with pytest.raises(IndexError, match="dim 0 to have non-zero size"):
            getattr(mg.zeros(0, 2), op)(0)
        assert getattr(mg.zeros(0, 2), op)(1).shape == (0,)
    x = mg.tensor([[1.0, 5.0, 2.0], [0.0, 5.0, 7.0]])
    assert x.argmax().item() == 5 and x.argmax(keepdim=True).shape == (1, 1)
    assert x.argmin(1).tolist() == [0, 0] and x.argmax(0, keepdim=True).tolist() == [[0, 0, 1]]


def test_binary_cross_entropy_refuses_targets_outside_0_1():
    x = mg.tensor([0.5, 0.25])
    for bad in (1.5, -0.5, NAN):
        with pytest.raises(ValueError, match="all elements of target should be between 0 and 1"):
            F.binary_cross_entropy(x, mg.tensor([0.0, bad]))
    assert F.binary_cross_entropy(x, mg.tensor([0.0, 1.0])).item() == pytest.approx(
        -(np.log(0.5) + np.log(0.25)) / 2)


def test_an_empty_dim_tuple_reduces_everything_as_pytorch():
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.sum(dim=()).item() == 21.0 and x.sum(dim=[]).item() == 21.0
    assert x.sum(dim=(), keepdim=True).shape == (1, 1) and x.mean(dim=()).item() == 3.5
    assert x.mean(dim=(), keepdim=True).tolist() == [[3.5]]
    assert x.var(dim=()).item() == pytest.approx(3.5) and x.std(dim=()).item() == pytest.approx(3.5**0.5)
    assert x.norm(dim=()).item() == pytest.approx(91**0.5)
    assert mg.count_nonzero(x, dim=()).item() == 6
    assert mg.tensor([[1, 2]]).sum(dim=()).item() == 3
    xg = mg.tensor([[1.0, 2.0]], requires_grad=True)
    xg.mean(dim=()).backward()
    np.testing.assert_array_equal(xg.grad.numpy(), [[0.5, 0.5]])
    assert x.bool().any(dim=()).shape == (2, 3)  # PyTorch's any and all reduce nothing for dim=()


def test_prod_of_an_empty_tensor_stays_in_the_graph():
    x = mg.zeros(0, 2, requires_grad=True)
    y = x.prod()
    assert y.item() == 1.0 and y.grad_fn is not None
    y.backward()
    assert x.grad.shape == (0, 2)
    z = mg.zeros(2, 0, requires_grad=True)
    rows = z.prod(1)
    assert rows.tolist() == [1.0, 1.0] and rows.grad_fn is not None
    assert mg.zeros(0, dtype=mg.int64).prod().item() == 1


# --- default_collate gives lists, load_state_dict takes torch tensors, safetensors order ---------


def test_default_collate_and_dataloader_give_lists_as_torch():
    batch = default_collate([(1, 2.0), (3, 4.0)])
    assert isinstance(batch, list) and batch[0].tolist() == [1, 3]
    assert isinstance(default_collate([[1, 2], [3, 4]]), list)
    Pair = collections.namedtuple("Pair", "x y")
    pair = default_collate([Pair(1, 2.0), Pair(3, 4.0)])
    assert isinstance(pair, Pair) and pair.y.tolist() == [2.0, 4.0]
    data = TensorDataset(mg.tensor(np.arange(8.0).reshape(4, 2)), mg.tensor([0, 1, 0, 1]))
    for loader in (DataLoader(data, batch_size=2), DataLoader(list(data), batch_size=2)):
        first = next(iter(loader))
        assert isinstance(first, list) and isinstance(first[0], mg.Tensor)
        first[0] = first[0] * 2  # the idiom `batch[0] = batch[0].to(device)` needs a list
    named = next(iter(DataLoader([Pair(np.float32(1), 2), Pair(np.float32(3), 4)], batch_size=2)))
    assert isinstance(named, Pair) and named.x.tolist() == [1.0, 3.0]


class _TorchLikeTensor:
    """What load_state_dict sees of a torch tensor: detach, cpu and numpy (torch not needed)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def detach(self) -> _TorchLikeTensor:
        return self

    def cpu(self) -> _TorchLikeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.array


class _ArrayLike:
    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.array


def test_load_state_dict_takes_torch_tensors_and_casts_integers_to_float():
    model = nn.BatchNorm1d(2)
    state = {
        "weight": _TorchLikeTensor(np.array([1, 2], np.int64)),  # an integer value: cast, as torch
        "bias": _ArrayLike(np.array([0.5, -0.5])),
        "running_mean": _TorchLikeTensor(np.array([3.0, 4.0], np.float32)),
        "running_var": np.array([2.0, 2.0], np.float32),
        "num_batches_tracked": _TorchLikeTensor(np.array(7)),
    }
    assert model.load_state_dict(state) == ([], [])
    assert model.weight.dtype == mg.float32 and model.weight.tolist() == [1.0, 2.0]
    assert model.bias.tolist() == [0.5, -0.5] and model.running_mean.tolist() == [3.0, 4.0]
    assert model.num_batches_tracked.item() == 7
    state["num_batches_tracked"] = np.array(2.5)  # a float into an integer buffer would be truncated
    with pytest.raises(RuntimeError, match="dtype mismatch for num_batches_tracked"):
        model.load_state_dict(state)
    state["num_batches_tracked"] = 2.5
    with pytest.raises(RuntimeError, match="expected a Tensor or array, got float"):
        model.load_state_dict(state)


def test_load_state_dict_of_a_torch_model():
    torch = pytest.importorskip("torch")
    reference = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model.load_state_dict(reference.state_dict())
    for (name, ours), theirs in zip(model.state_dict().items(), reference.state_dict().values(), strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)


def test_safetensors_load_keeps_the_saved_key_order(tmp_path):
    state = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1)).state_dict()
    path = tmp_path / "model.safetensors"
    mg.save(state, path)
    loaded = mg.load(path)
    assert list(loaded) == list(state)
    for key in state:
        np.testing.assert_array_equal(loaded[key].numpy(), state[key].numpy())
    assert load_metadata(path) == {}  # minigrad's own entries stay hidden
    arrays = {"b": np.zeros(1), "a": np.ones(2)}
    foreign = tmp_path / "foreign.safetensors"  # another writer's file: no order entry, still loads
    foreign.write_bytes(safetensors.numpy.save(arrays))
    assert sorted(mg.load(foreign)) == ["a", "b"]
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(safetensors.numpy.save(arrays, metadata={"minigrad.order": json.dumps(["a"])}))
    with pytest.raises(CheckpointError, match="minigrad.order"):
        mg.load(damaged)
