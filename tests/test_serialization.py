"""minigrad.save / minigrad.load: safetensors files, atomic writes, damaged files rejected."""

import math
import os
import pickle

import numpy as np
import pytest
import safetensors.numpy

import minigrad
from minigrad import nn
from minigrad.serialization import CheckpointError, load, load_metadata, save
from minigrad.tensor import Tensor


def _np(t):
    return t.numpy() if isinstance(t, Tensor) else np.asarray(t)


def _sample_state():
    rng = np.random.default_rng(0)
    return {
        "conv.weight": minigrad.tensor(rng.standard_normal((2, 1, 3, 3)).astype(np.float32)),
        "fc.bias": minigrad.tensor(rng.standard_normal(5)),  # float64
        "bn.num_batches_tracked": minigrad.tensor(np.array(7, dtype=np.int64)),  # 0-d
    }


def test_flat_roundtrip_keeps_names_dtypes_shapes_values(tmp_path):
    state = _sample_state()
    path = tmp_path / "model.safetensors"
    save(state, path)
    loaded = load(path)
    assert list(loaded) == list(state) or set(loaded) == set(state)
    for key, value in state.items():
        got = loaded[key]
        assert isinstance(got, Tensor)
        assert got.dtype == value.dtype and tuple(got.shape) == tuple(value.shape)
        np.testing.assert_array_equal(_np(got), _np(value))


def test_loaded_tensors_are_writable_copies(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": minigrad.tensor(np.ones(3, np.float32))}, path)
    got = load(path)["w"]
    got.data[0] = 5.0  # not a read-only view of the file buffer
    assert _np(load(path)["w"])[0] == 1.0


def test_nested_checkpoint_roundtrip(tmp_path):
    ckpt = {
        "model": _sample_state(),
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": minigrad.tensor(np.arange(4.0))}, 1: {"step": 3}},
            "param_groups": [
                {"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False}
            ],
        },
        "scheduler": {"best": math.inf, "mode": "min", "last": None},
        "epoch": 4,
    }
    path = tmp_path / "ckpt.safetensors"
    save(ckpt, path)
    got = load(path)
    assert got["epoch"] == 4
    assert got["scheduler"] == {"best": math.inf, "mode": "min", "last": None}
    assert set(got["optimizer"]["state"]) == {0, 1}  # int keys survive
    assert got["optimizer"]["state"][1] == {"step": 3}
    np.testing.assert_array_equal(_np(got["optimizer"]["state"][0]["exp_avg"]), np.arange(4.0))
    assert got["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert got["optimizer"]["param_groups"][0]["params"] == [0, 1]
    np.testing.assert_array_equal(
        _np(got["model"]["conv.weight"]), _np(ckpt["model"]["conv.weight"])
    )


def test_nested_layout_is_documented_keys(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "ckpt.safetensors"
    save(
        {
            "model": {"fc.weight": np.zeros((2, 2))},
            "optimizer": {"state": {0: {"sum": np.ones(2)}}},
        },
        path,
    )
    raw = safetensors_numpy.load_file(str(path))
    assert set(raw) == {"model/fc.weight", "optimizer/state/0/sum"}


def test_metadata_roundtrip_and_reserved_keys(tmp_path):
    path = tmp_path / "m.safetensors"
    save(_sample_state(), path, metadata={"arch": "lenet5", "epoch": "3"})
    assert load_metadata(path) == {"arch": "lenet5", "epoch": "3"}
    with pytest.raises(ValueError, match="reserved"):
        save(_sample_state(), path, metadata={"minigrad.tree": "x"})
    with pytest.raises(TypeError, match="metadata"):
        save(_sample_state(), path, metadata={"epoch": 3})


def test_unsupported_values_rejected(tmp_path):
    with pytest.raises(TypeError, match="cannot store"):
        save({"a": object()}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="expected a tensor, or a dict, list or tuple of them, got set"):
        save({1, 2}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match=r"got Linear \(save a module's state_dict\(\)"):  # torch.save(model) habit
        save(minigrad.nn.Linear(2, 2), tmp_path / "m.pt")
    assert not os.listdir(tmp_path)
    for obj in (minigrad.ones(2), minigrad.nn.Linear(2, 2)):
        with pytest.raises(TypeError, match="minigrad has no float16"):
            obj.half()


# ---- atomic writes ----


def _write_original(tmp_path):
    path = tmp_path / "model.safetensors"
    save({"w": minigrad.tensor(np.full(4, 1.0, np.float32))}, path)
    return path, path.read_bytes()


@pytest.mark.parametrize("failing", ["os.replace", "os.fsync"])
def test_failed_save_leaves_previous_file_and_no_temp(tmp_path, monkeypatch, failing):
    path, before = _write_original(tmp_path)

    def boom(*args, **kwargs):
        raise OSError("simulated crash mid-save")

    module, name = failing.split(".")
    monkeypatch.setattr(os, name, boom)
    with pytest.raises(OSError, match="simulated crash"):
        save({"w": minigrad.tensor(np.full(4, 2.0, np.float32))}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]
    np.testing.assert_array_equal(_np(load(path)["w"]), np.ones(4, np.float32))


def test_failed_write_midway_leaves_previous_file(tmp_path, monkeypatch):
    path, before = _write_original(tmp_path)
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError("disk full")

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="disk full"):
        save({"w": minigrad.tensor(np.full(4, 2.0, np.float32))}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


# ---- damaged and foreign files ----


def test_truncated_files_are_errors_naming_the_file(tmp_path):
    path, data = _write_original(tmp_path)
    for cut in (0, 4, 8, 20, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"cut{cut}.safetensors"):
            load(bad)


def test_flipped_data_byte_is_detected(tmp_path):
    path, data = _write_original(tmp_path)
    bad = bytearray(data)
    bad[-3] ^= 0x40  # inside the tensor bytes
    path.write_bytes(bytes(bad))
    with pytest.raises(CheckpointError, match="checksum"):
        load(path)


def test_corrupted_header_is_an_error(tmp_path):
    path, data = _write_original(tmp_path)
    bad = bytearray(data)
    bad[9] = ord("#")  # the JSON header's second character
    path.write_bytes(bytes(bad))
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load(path)


def test_pickle_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "model.pkl"

    class Bomb:
        def __reduce__(self):
            return (os.remove, (str(tmp_path / "canary"),))

    (tmp_path / "canary").write_text("alive")
    path.write_bytes(pickle.dumps({"w": Bomb()}))
    with pytest.raises(CheckpointError, match="pickle"):
        load(path)
    assert (tmp_path / "canary").exists()


def test_torch_save_files_load_without_running_code(tmp_path):
    # issue 16: a .pt written by PyTorch loads (tensors and plain values), a code-carrying one is refused
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    state = {"w": torch.arange(12.0).reshape(3, 4).t(), "n": torch.tensor(7)}
    state["i"] = torch.tensor([1, 2], dtype=torch.int32)
    torch.save({"state": state, "epoch": 3, "names": ["a", "b"], "lr": 0.5, "none": None}, path)
    loaded = load(path)
    assert loaded["epoch"] == 3 and loaded["names"] == ["a", "b"] and loaded["lr"] == 0.5 and loaded["none"] is None
    np.testing.assert_array_equal(loaded["state"]["w"].numpy(), np.arange(12.0).reshape(3, 4).T)
    assert loaded["state"]["n"].item() == 7 and loaded["state"]["i"].dtype == np.int32

    class Bomb:
        def __reduce__(self):
            return (os.remove, (str(tmp_path / "canary"),))

    (tmp_path / "canary").write_text("alive")
    torch.save({"w": Bomb()}, tmp_path / "bomb.pt")
    with pytest.raises(CheckpointError, match="bomb.pt.*runs no code"):
        load(tmp_path / "bomb.pt")
    assert (tmp_path / "canary").exists()


def test_pt_names_get_pytorch_format(tmp_path):
    # issue 16: minigrad.save(sd, "model.pt") wrote safetensors, which torch.load refused
    from minigrad.models import LeNet5

    model = LeNet5()
    checkpoint = {"model": model.state_dict(), "epoch": 2, "history": [0.5, 0.25], "tag": None}
    save(checkpoint, tmp_path / "ck.pt")
    back = load(tmp_path / "ck.pt")  # minigrad reads its own .pt
    bn = nn.BatchNorm2d(3)  # its num_batches_tracked is 0-d
    save(bn.state_dict(), tmp_path / "bn.pt")
    bn.load_state_dict(load(tmp_path / "bn.pt"))
    assert load(tmp_path / "bn.pt")["num_batches_tracked"].shape == ()
    assert back["epoch"] == 2 and back["history"] == [0.5, 0.25] and back["tag"] is None
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(back["model"][key].numpy(), value.detach().numpy())
    with pytest.raises(ValueError, match="metadata"):
        save(model.state_dict(), tmp_path / "m.pth", metadata={"a": "b"})
    torch = pytest.importorskip("torch")
    theirs = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert theirs["epoch"] == 2 and theirs["history"] == [0.5, 0.25]
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(theirs["model"][key].numpy(), value.detach().numpy())


@pytest.mark.parametrize("name", ["checkpoint.pth.tar", "model.ckpt", "pytorch_model.bin", "model.pkl", "M.PT"])
def test_pytorch_style_names_get_pytorch_format(tmp_path, name):
    # ported scripts name checkpoints after PyTorch's conventions (the ImageNet example's
    # checkpoint.pth.tar): torch.load must read what minigrad.save wrote under such a name
    state = {"state_dict": {"w": minigrad.tensor(np.arange(6.0).reshape(2, 3))}, "epoch": 4}
    save(state, tmp_path / name)
    assert (tmp_path / name).read_bytes()[:2] == b"PK"  # a zip archive, not safetensors
    back = load(tmp_path / name)
    assert back["epoch"] == 4
    np.testing.assert_array_equal(back["state_dict"]["w"].numpy(), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="metadata"):
        save(state, tmp_path / name, metadata={"a": "b"})
    torch = pytest.importorskip("torch")
    theirs = torch.load(tmp_path / name, weights_only=True)
    assert theirs["epoch"] == 4
    np.testing.assert_array_equal(theirs["state_dict"]["w"].numpy(), np.arange(6.0).reshape(2, 3))


def test_other_names_get_safetensors(tmp_path):
    save({"w": minigrad.tensor(np.ones(2))}, tmp_path / "weights.mg")
    assert safetensors.numpy.load_file(tmp_path / "weights.mg")["w"].tolist() == [1.0, 1.0]


def test_random_bytes_and_missing_file(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 1000, dtype=np.uint8).tobytes())
    with pytest.raises(CheckpointError, match="noise.bin"):
        load(path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.safetensors")


# ---- exchange with torch ----


def _lenet_minigrad():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.Tanh(),
        nn.Linear(120, 84),
        nn.Sigmoid(),
        nn.Linear(84, 10),
    )


def _lenet_torch(tnn):
    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2),
        tnn.ReLU(),
        tnn.AvgPool2d(2),
        tnn.Conv2d(6, 16, 5),
        tnn.BatchNorm2d(16),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(16 * 5 * 5, 120),
        tnn.Tanh(),
        tnn.Linear(120, 84),
        tnn.Sigmoid(),
        tnn.Linear(84, 10),
    )


def test_minigrad_checkpoint_loads_into_torch_lenet(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = _lenet_minigrad()
    x = np.random.default_rng(2).standard_normal((3, 1, 28, 28)).astype(np.float32)
    model.train()
    model(minigrad.tensor(x))  # move BatchNorm's running stats off their initial values
    model.eval()
    path = tmp_path / "lenet.safetensors"
    save(model.state_dict(), path, metadata={"arch": "lenet5"})

    reference = _lenet_torch(torch.nn)
    reference.load_state_dict(safetensors_torch.load_file(str(path)), strict=True)
    reference.eval()
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(minigrad.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_torch_checkpoint_loads_into_minigrad_lenet(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    reference = _lenet_torch(torch.nn).eval()
    path = tmp_path / "torch_lenet.safetensors"
    safetensors_torch.save_file(reference.state_dict(), str(path))
    model = _lenet_minigrad()
    model.load_state_dict(load(path), strict=True)
    model.eval()
    x = np.random.default_rng(3).standard_normal((2, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(minigrad.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_header_length_with_a_pickle_or_zip_first_byte_still_loads(tmp_path):
    # Byte 0 of a safetensors file is the low byte of its header length: a valid file may start
    # with 0x80 (pickle's magic) or "PK" (zip's); only a header that fails to parse is sniffed.
    path = tmp_path / "model.safetensors"
    starts = set()
    for n in range(300):
        save({"w": minigrad.tensor(np.arange(3.0))}, path, metadata={"note": "x" * n})
        first = path.read_bytes()[:2]
        if first[:1] == b"\x80":
            starts.add("pickle")
        elif first == b"PK":
            starts.add("zip")
        else:
            continue
        np.testing.assert_array_equal(load(path)["w"].numpy(), np.arange(3.0))
    assert "pickle" in starts


def test_checkpoint_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        save({"w": minigrad.tensor(np.ones(2))}, tmp_path / "a.safetensors")
    finally:
        os.umask(old)
    assert (tmp_path / "a.safetensors").stat().st_mode & 0o777 == 0o644


def test_deeply_nested_tree_is_a_checkpoint_error(tmp_path):
    import safetensors.numpy

    tree = '{"list": [' * 5000 + '{"tensor": "w"}' + "]}" * 5000
    path = tmp_path / "deep.safetensors"
    path.write_bytes(safetensors.numpy.save({"w": np.ones(1)}, metadata={"minigrad.tree": tree}))
    with pytest.raises(CheckpointError, match="deep.safetensors"):
        load(path)


def test_dtypes_load_cannot_read_are_refused_on_save(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="complex64"):
        save({"z": np.ones(2, np.complex64)}, path)
    with pytest.raises(OverflowError, match="int64"):
        save({"u": np.array([2**63], np.uint64)}, path)
    assert not path.exists()
    save({"u": np.array([2**63 - 1], np.uint64)}, path)  # fits: loads as int64
    assert load(path)["u"].item() == 2**63 - 1


def test_foreign_uint64_past_int64_is_a_checkpoint_error(tmp_path):
    import safetensors.numpy

    path = tmp_path / "u.safetensors"
    path.write_bytes(safetensors.numpy.save({"u": np.array([2**64 - 1], np.uint64)}))
    with pytest.raises(CheckpointError, match="'u'.*int64"):
        load(path)


def test_header_length_whose_low_bytes_spell_pk_loads(tmp_path):
    """A header of 0x4b50 bytes starts the file with "PK" (zip's magic): still a safetensors file."""
    path = tmp_path / "c.safetensors"

    def header_length(note: str) -> int:
        save({"w": minigrad.tensor(np.ones(3, np.float32)), "note": note}, path)
        return int.from_bytes(path.read_bytes()[:8], "little")

    base = header_length("")
    for target in (0x180, 0x4B50):
        assert header_length("x" * (target - base)) == target
        assert load(path)["w"].tolist() == [1.0, 1.0, 1.0]
