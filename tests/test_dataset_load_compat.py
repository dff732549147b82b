"""PyTorch compatibility: TensorDataset items and .tensors, default_collate of Tensors,
minigrad.load's callable/dict map_location and file objects in save/load."""

import io

import numpy as np
import pytest

import minigrad
from minigrad.data import ConcatDataset, DataLoader, Subset, default_collate, random_split
from minigrad.serialization import CheckpointError
from minigrad.tensor import Tensor
from minigrad.utils.data import TensorDataset

X = np.arange(24, dtype=np.float32).reshape(6, 2, 2)
Y = np.array([3, 1, 4, 1, 5, 9], dtype=np.int64)
Z = np.linspace(0.0, 1.0, 6)  # float64


def _tensor_ds():
    return TensorDataset(minigrad.tensor(X), minigrad.tensor(Y), minigrad.tensor(Z))


def _check_like_torch(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert isinstance(a, Tensor)
        assert tuple(a.shape) == tuple(b.shape)
        assert np.dtype(a.dtype) == b.numpy().dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# --- TensorDataset ------------------------------------------------------------------------------


def test_items_and_tensors_match_torch():
    torch = pytest.importorskip("torch")
    ds = _tensor_ds()
    ref = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(Z))
    for i in (0, 3, -1):
        item = ds[i]
        assert isinstance(item, tuple)
        _check_like_torch(item, ref[i])
    assert ds[2][1].shape == () and ds[2][1].item() == 4  # a 0-d tensor for a scalar label
    _check_like_torch(ds.tensors, ref.tensors)
    _check_like_torch(ds[1:4], ref[1:4])


def test_items_without_torch():
    ds = _tensor_ds()
    img, label, z = ds[1]
    assert isinstance(img, Tensor) and img.dtype == np.float32 and img.shape == (2, 2)
    assert label.shape == () and label.dtype == np.int64 and label.item() == 1
    assert z.dtype == np.float64
    np.testing.assert_array_equal(img.numpy(), X[1])
    assert img.unsqueeze(0).shape == (1, 2, 2)  # usable as a model input, as in PyTorch
    given = minigrad.tensor(X)
    assert TensorDataset(given, minigrad.tensor(Y)).tensors[0] is given


def test_numpy_fields_stay_numpy_and_mixed_fields():
    ds = TensorDataset(X, Y)
    x, y = ds[2]
    assert isinstance(x, np.ndarray) and isinstance(y, np.integer)
    mixed = TensorDataset(minigrad.tensor(X), Y)
    x, y = mixed[2]
    assert isinstance(x, Tensor) and not isinstance(y, Tensor) and y == 4
    tensors = ds.tensors
    assert all(isinstance(t, Tensor) for t in tensors)
    np.testing.assert_array_equal(tensors[0].numpy(), X)
    assert tensors[1].dtype == np.int64


def test_requires_grad_field_items_are_detached():
    w = minigrad.tensor(X, requires_grad=True)
    item = TensorDataset(w)[0][0]
    assert isinstance(item, Tensor) and not item.requires_grad
    np.testing.assert_array_equal(item.numpy(), X[0])


def test_subset_and_random_split_items():
    ds = _tensor_ds()
    sub = Subset(ds, [4, 0])
    img, label, _ = sub[0]
    assert isinstance(img, Tensor) and label.item() == 5
    np.testing.assert_array_equal(img.numpy(), X[4])
    parts = random_split(ds, [2, 4], seed=0)
    seen = []
    for part in parts:
        for i in range(len(part)):
            img, label, _ = part[i]
            assert isinstance(img, Tensor) and label.shape == ()
            seen.append(int(part.indices[i]))
            np.testing.assert_array_equal(img.numpy(), X[part.indices[i]])
    assert sorted(seen) == list(range(6))


def test_get_batch_and_loader_batches_unchanged():
    ds, plain = _tensor_ds(), TensorDataset(X, Y, Z)
    for field in ds.get_batch(np.array([5, 0])):
        assert isinstance(field, np.ndarray)
    for as_tensor in (True, False):
        ours = list(DataLoader(ds, batch_size=4, shuffle=True, seed=3, as_tensor=as_tensor))
        before = list(DataLoader(plain, batch_size=4, shuffle=True, seed=3, as_tensor=as_tensor))
        assert len(ours) == len(before) == 2
        for a, b in zip(ours, before, strict=True):
            for fa, fb in zip(a, b, strict=True):
                assert isinstance(fa, Tensor) is as_tensor and type(fa) is type(fb)
                np.testing.assert_array_equal(np.asarray(fa.numpy() if as_tensor else fa), np.asarray(
                    fb.numpy() if as_tensor else fb))
                assert fa.dtype == fb.dtype


# --- default_collate ----------------------------------------------------------------------------


def test_default_collate_tensor_fields_match_torch():
    ds = _tensor_ds()
    batch = default_collate([ds[0], ds[3]])
    assert isinstance(batch, list) and all(isinstance(f, Tensor) for f in batch)  # a list, as torch's
    assert batch[0].shape == (2, 2, 2) and batch[1].shape == (2,) and batch[1].dtype == np.int64
    np.testing.assert_array_equal(batch[0].numpy(), X[[0, 3]])
    np.testing.assert_array_equal(batch[1].numpy(), Y[[0, 3]])
    # numpy and number fields become Tensors too, as PyTorch's
    mixed = default_collate([(minigrad.tensor([1.0]), np.array([2.0]), 3),
                             (minigrad.tensor([4.0]), np.array([5.0]), 6)])
    assert all(isinstance(f, Tensor) for f in mixed)
    assert mixed[1].dtype == np.float64 and mixed[2].dtype == np.int64
    np.testing.assert_array_equal(mixed[2].numpy(), [3, 6])
    torch = pytest.importorskip("torch")
    ref = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(Z))
    _check_like_torch(batch, torch.utils.data.default_collate([ref[0], ref[3]]))


def test_loader_over_samples_with_tensor_fields():
    # a ConcatDataset has no get_batch: samples go through default_collate
    data = ConcatDataset([_tensor_ds(), _tensor_ds()])
    batches = list(DataLoader(data, batch_size=5))
    assert [len(b[0]) for b in batches] == [5, 5, 2]
    for b in batches:
        assert all(isinstance(f, Tensor) for f in b)
    np.testing.assert_array_equal(batches[0][0].numpy(), X[:5])
    np.testing.assert_array_equal(batches[1][1].numpy(), np.concatenate([Y, Y])[5:10])
    assert batches[0][2].dtype == np.float64
    arrays = list(DataLoader(data, batch_size=5, as_tensor=False))
    assert all(isinstance(f, np.ndarray) for b in arrays for f in b)
    np.testing.assert_array_equal(arrays[0][0], X[:5])
    flipped = list(DataLoader(data, batch_size=6, transform=lambda images, rng: images[..., ::-1]))
    assert isinstance(flipped[0][0], Tensor)
    np.testing.assert_array_equal(flipped[0][0].numpy(), X[..., ::-1])


# --- load: map_location and file objects --------------------------------------------------------


def _state():
    return {"w": minigrad.tensor(X), "n": minigrad.tensor(np.array(7))}


def _check_state(loaded):
    assert isinstance(loaded["w"], Tensor) and loaded["w"].device == "cpu"
    np.testing.assert_array_equal(loaded["w"].numpy(), X)
    assert loaded["n"].item() == 7


MAP_LOCATIONS = [
    lambda storage, loc: storage,
    {"cuda:0": "cpu"},
    {"cuda": "cpu", "cpu": "cpu"},
    {},
    "cpu",
    None,
]


@pytest.mark.parametrize("name", ["m.safetensors", "m.pt"])
@pytest.mark.parametrize("map_location", MAP_LOCATIONS)
def test_map_location_on_minigrad_files(tmp_path, name, map_location):
    minigrad.save(_state(), tmp_path / name)
    _check_state(minigrad.load(tmp_path / name, map_location=map_location))


@pytest.mark.parametrize("map_location", MAP_LOCATIONS)
def test_map_location_on_torch_files(tmp_path, map_location):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.from_numpy(X), "n": torch.tensor(7)}, tmp_path / "t.pt")
    _check_state(minigrad.load(tmp_path / "t.pt", map_location=map_location))


def test_callable_map_location_is_called_like_pytorch(tmp_path):
    minigrad.save(_state(), tmp_path / "m.safetensors")
    calls = []

    def where(storage, loc):
        calls.append((type(storage), loc))
        return "whatever"  # not a Tensor: the CPU

    _check_state(minigrad.load(tmp_path / "m.safetensors", map_location=where))
    assert calls == [(Tensor, "cpu")]


def test_bad_map_location_and_path_are_type_errors(tmp_path):
    minigrad.save(_state(), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="map_location"):
        minigrad.load(tmp_path / "m.safetensors", map_location=3)
    with pytest.raises(TypeError, match="map_location dict"):
        minigrad.load(tmp_path / "m.safetensors", map_location={"cuda:0": 0})
    with pytest.raises(TypeError, match="path"):
        minigrad.load(3)
    with pytest.raises(TypeError, match="path"):
        minigrad.save(_state(), 3)
    with pytest.raises(TypeError, match="binary"):
        minigrad.load(io.StringIO("text"))


def test_bytesio_roundtrip():
    buffer = io.BytesIO()
    checkpoint = {"model": _state(), "epoch": 4, "history": [0.5, 0.25]}
    minigrad.save(checkpoint, buffer)
    assert buffer.getvalue()[:2] == b"PK"  # PyTorch's zip format, as torch.save writes
    buffer.seek(0)
    back = minigrad.load(buffer, map_location=lambda storage, loc: storage)
    _check_state(back["model"])
    assert back["epoch"] == 4 and back["history"] == [0.5, 0.25]
    with pytest.raises(ValueError, match="metadata"):
        minigrad.save(_state(), io.BytesIO(), metadata={"a": "b"})
    with pytest.raises(CheckpointError, match="BytesIO"):
        minigrad.load(io.BytesIO(b"not a checkpoint at all"))


def test_open_file_objects(tmp_path):
    with open(tmp_path / "ck.bin", "wb") as f:
        minigrad.save(_state(), f)
    with open(tmp_path / "ck.bin", "rb") as f:
        _check_state(minigrad.load(f))


def test_bytesio_with_torch():
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    minigrad.save({"model": _state(), "epoch": 4}, buffer)
    buffer.seek(0)
    theirs = torch.load(buffer, weights_only=True)
    assert theirs["epoch"] == 4
    np.testing.assert_array_equal(theirs["model"]["w"].numpy(), X)
    assert theirs["model"]["w"].dtype == torch.float32 and theirs["model"]["n"].item() == 7
    buffer = io.BytesIO()
    torch.save({"w": torch.from_numpy(X), "n": torch.tensor(7)}, buffer)
    buffer.seek(0)
    _check_state(minigrad.load(buffer, map_location={"cuda:0": "cpu"}))
