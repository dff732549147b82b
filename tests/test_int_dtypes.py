"""int32, int16 and int8 tensors (PyTorch's int/short/char): names, conversions, PyTorch's type
promotion among all of minigrad's dtypes, the integer ops course code uses on them (counts tables,
indices), checkpoints, and a clear error where a device cannot hold them. Each against PyTorch when
it is installed and against numpy or a closed form without it."""

import itertools

import numpy as np
import pytest

import minigrad
from minigrad.serialization import load, save

try:
    import torch
except ImportError:
    torch = None

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]
SMALL_INTS = ["int32", "int16", "int8"]


def test_names_conversions_and_legacy_types():
    assert minigrad.int is minigrad.int32 and minigrad.short is minigrad.int16
    assert minigrad.int8 == np.int8 and minigrad.int16 == np.int16 and minigrad.int32 == np.int32
    x = minigrad.tensor([1.7, -2.2, 3.0])
    assert x.int().dtype == minigrad.int32 and x.int().tolist() == [1, -2, 3]  # truncation, as PyTorch
    assert x.short().dtype == minigrad.int16 and x.char().dtype == minigrad.int8
    assert x.to(minigrad.int32).type() == "minigrad.IntTensor"
    assert x.short().type() == "minigrad.ShortTensor" and x.char().type() == "minigrad.CharTensor"
    ints = minigrad.IntTensor([1, 2])
    assert ints.dtype == minigrad.int32 and isinstance(ints, minigrad.IntTensor)
    assert not isinstance(ints, minigrad.LongTensor) and minigrad.ShortTensor(2, 3).shape == (2, 3)
    assert minigrad.iinfo(minigrad.int32).max == 2**31 - 1 and minigrad.iinfo(minigrad.int8).min == -128
    if torch is not None:
        assert torch.tensor([1.7, -2.2, 3.0]).int().tolist() == x.int().tolist()


@pytest.mark.parametrize("name", SMALL_INTS)
def test_creation_keeps_the_dtype(name):
    dtype = getattr(minigrad, name)
    assert minigrad.zeros(2, 3, dtype=dtype).dtype == dtype
    assert minigrad.full((2,), 7, dtype=dtype).tolist() == [7, 7]
    assert minigrad.arange(5, dtype=dtype).dtype == dtype
    assert minigrad.tensor(np.arange(3, dtype=name)).dtype == dtype  # as torch.tensor(ndarray)
    shared = np.arange(3, dtype=name)
    view = minigrad.from_numpy(shared)
    shared[0] = 9
    assert view.dtype == dtype and view.tolist() == [9, 1, 2]
    drawn = minigrad.randint(0, 5, (100,), dtype=dtype)
    assert drawn.dtype == dtype and 0 <= drawn.min().item() and drawn.max().item() < 5


def test_randint_dtype_and_requires_grad():
    minigrad.manual_seed(3)
    a = minigrad.randint(0, 10, (6,))
    minigrad.manual_seed(3)
    b = minigrad.randint(0, 10, (6,), dtype=minigrad.float32, requires_grad=True)
    assert a.dtype == minigrad.int64 and b.dtype == minigrad.float32 and b.requires_grad
    assert a.tolist() == [int(v) for v in b.tolist()]  # the same draws, converted
    with pytest.raises(RuntimeError, match="floating"):
        minigrad.randint(0, 10, (2,), dtype=minigrad.int32, requires_grad=True)


def _numpy_promotion(a: str, b: str) -> str:
    """PyTorch's promotion for two dtypes with dimensions: a float beats an integer or bool
    (float32 with float64 is float64); integers and bool promote as numpy does."""
    fa, fb = a.startswith("float"), b.startswith("float")
    if fa != fb:
        return a if fa else b
    return str(np.promote_types(a, b))


@pytest.mark.parametrize("a, b", list(itertools.combinations_with_replacement(ALL_DTYPES, 2)))
def test_promotion_follows_torch(a, b):
    expected = _numpy_promotion(a, b)
    assert str(minigrad.promote_types(getattr(minigrad, a), getattr(minigrad, b))) == expected
    x = minigrad.ones(3, dtype=getattr(minigrad, a))
    y = minigrad.ones(3, dtype=getattr(minigrad, b))
    if a == b == "bool":
        assert (x + y).dtype == minigrad.bool
    else:
        assert (x + y).dtype == np.dtype(expected) and (y * x).dtype == np.dtype(expected)
    if torch is not None:
        theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
        assert str(theirs) == f"torch.{expected}"


@pytest.mark.parametrize("name", SMALL_INTS)
def test_scalars_and_zero_dim_tensors_keep_the_small_dtype(name):
    dtype = getattr(minigrad, name)
    x = minigrad.tensor([1, 2, 3], dtype=dtype)
    assert (x + 1).dtype == dtype and (x * minigrad.tensor(2)).dtype == dtype  # a 0-d int64 does not widen
    assert (x + minigrad.tensor(True)).dtype == dtype
    assert (x * 2.5).dtype == minigrad.float32 and (x / 2).dtype == minigrad.float32
    assert (x // 2).dtype == dtype and (x // 2).tolist() == [0, 1, 1]
    if torch is not None:
        theirs = torch.tensor([1, 2, 3], dtype=getattr(torch, name))
        assert str((theirs + torch.tensor(2)).dtype) == f"torch.{name}"


def test_integer_ops_match_torch():
    counts = minigrad.zeros((4, 4), dtype=minigrad.int32)  # makemore's bigram table
    pairs = [(0, 1), (1, 2), (0, 1), (3, 3)]
    for i, j in pairs:
        counts[i, j] += 1
    assert counts.dtype == minigrad.int32 and counts[0, 1].item() == 2 and counts.sum().item() == 4
    assert counts.sum().dtype == minigrad.int64  # PyTorch sums small ints as int64
    probs = (counts + 1).float()
    probs = probs / probs.sum(1, keepdim=True)
    np.testing.assert_allclose(probs.sum(1).numpy(), np.ones(4), rtol=1e-6)
    x = minigrad.tensor([[3, -1, 2], [0, 5, -4]], dtype=minigrad.int32)
    reference = np.array([[3, -1, 2], [0, 5, -4]], dtype=np.int32)
    values, indices = x.max(dim=1)
    assert values.dtype == minigrad.int32 and values.tolist() == [3, 5] and indices.tolist() == [0, 1]
    assert x.argmax(1).dtype == minigrad.int64
    assert x.abs().tolist() == np.abs(reference).tolist() and (x % 3).tolist() == (reference % 3).tolist()
    assert x.cumsum(1).tolist() == np.cumsum(reference, 1).tolist() and x.cumsum(1).dtype == minigrad.int64
    assert minigrad.sort(x, dim=1)[0].tolist() == np.sort(reference, 1).tolist()
    assert minigrad.where(x > 0, x, 0).tolist() == np.where(reference > 0, reference, 0).tolist()
    assert minigrad.where(x > 0, x, 0).dtype == minigrad.int32
    weight = minigrad.randn(6, 3)
    index = minigrad.tensor([0, 5, 2], dtype=minigrad.int32)
    np.testing.assert_array_equal(weight[index].numpy(), weight.numpy()[[0, 5, 2]])
    np.testing.assert_array_equal(minigrad.nn.functional.embedding(index, weight).numpy(), weight.numpy()[[0, 5, 2]])
    if torch is not None:
        theirs = torch.tensor(reference)
        assert theirs.sum().dtype == torch.int64 and theirs.cumsum(1).dtype == torch.int64
        assert torch.where(theirs > 0, theirs, 0).dtype == torch.int32


def test_small_ints_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating"):
        minigrad.tensor([1, 2], dtype=minigrad.int32, requires_grad=True)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_checkpoints_keep_small_int_dtypes(tmp_path, suffix):
    state = {name: minigrad.tensor([1, -2, 3], dtype=getattr(minigrad, name)) for name in SMALL_INTS}
    path = tmp_path / f"ints{suffix}"
    save(state, path)
    loaded = load(path)
    for name in SMALL_INTS:
        assert loaded[name].dtype == getattr(minigrad, name) and loaded[name].tolist() == [1, -2, 3]
    if torch is not None and suffix == ".pt":
        theirs = torch.load(path)
        assert theirs["int16"].dtype == torch.int16 and theirs["int32"].tolist() == [1, -2, 3]


def test_devices_without_small_ints_say_so():
    if not minigrad.cuda.is_available():
        pytest.skip("needs the CUDA device (real or emulated)")
    x = minigrad.tensor([1, 2], dtype=minigrad.int32)
    with pytest.raises(TypeError, match="int32"):
        x.to("cuda")
    with pytest.raises(TypeError, match="int32"):
        minigrad.zeros(2, dtype=minigrad.int32, device="cuda")


def test_uint8_tensors_save_to_pt(tmp_path):
    # .pt files refused uint8 before ("a .pt file cannot hold dtype uint8"): images saved as stored
    path = tmp_path / "images.pt"
    save({"images": minigrad.tensor([[0, 128, 255]], dtype=minigrad.uint8)}, path)
    loaded = load(path)["images"]
    assert loaded.dtype == minigrad.uint8 and loaded.tolist() == [[0, 128, 255]]
    if torch is not None:
        assert torch.load(path)["images"].dtype == torch.uint8
