"""PyTorch's own Quickstart tutorial as a user ports it (torch -> minigrad, torchvision ->
minigrad.data): torch.accelerator, transforms.ToTensor, Tensor.type(dtype), a Tensor as a list
index, torch.load(..., weights_only=True, map_location=...), a data set item as a Tensor. The
whole flow runs on a small synthetic data set (no download); each idiom also on its own."""

import numpy as np
import pytest

import minigrad as torch  # the port's one changed line
from minigrad import nn
from minigrad.data import transforms
from minigrad.data.datasets import ImageDataset
from minigrad.utils.data import DataLoader


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(6 * 5, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def _data(n=256):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 10
    images = rng.integers(0, 50, (n, 6, 5)).astype(np.uint8)
    images.reshape(n, -1)[np.arange(n), labels * 3] = 255  # each class lights its own pixel
    return ImageDataset(images, labels, transform=transforms.ToTensor(), classes=[f"c{i}" for i in range(10)])


def test_quickstart_flow(tmp_path):
    torch.manual_seed(0)
    training_data = test_data = _data()
    train_dataloader = DataLoader(training_data, batch_size=64)
    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    model = NeuralNetwork().to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    for _ in range(40):
        model.train()
        for X, y in train_dataloader:
            X, y = X.to(device), y.to(device)
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.eval()
    correct = 0
    with torch.no_grad():
        for X, y in DataLoader(test_data, batch_size=64):
            pred = model(X.to(device))
            correct += (pred.argmax(1) == y.to(device)).type(torch.float).sum().item()
    assert correct / len(test_data) > 0.9
    torch.save(model.state_dict(), tmp_path / "model.pth")
    model = NeuralNetwork().to(device)
    model.load_state_dict(torch.load(tmp_path / "model.pth", weights_only=True))
    x, y = test_data[0][0], test_data[0][1]
    assert isinstance(x, torch.Tensor) and x.shape == (1, 6, 5)
    with torch.no_grad():
        pred = model(x.to(device))
    assert test_data.classes[pred[0].argmax(0)] == test_data.classes[y]


def test_accelerator_without_a_device():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device (or the emulator) is usable here")
    assert not torch.accelerator.is_available() and torch.accelerator.device_count() == 0
    assert torch.accelerator.current_accelerator(check_available=True) is None
    current = torch.accelerator.current_accelerator()
    assert current is None if not torch.build_info()["cuda"] else current.type == "cuda"


def test_to_tensor():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(transforms.ToTensor()(gray), gray[None] / np.float32(255))
    rgb = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    out = transforms.ToTensor()(rgb)
    assert out.dtype == np.float32 and out.shape == (3, 2, 4)
    np.testing.assert_array_equal(out, rgb.transpose(2, 0, 1) / np.float32(255))
    floats = np.random.default_rng(0).random((2, 1, 3, 3)).astype(np.float32)
    assert transforms.ToTensor()(floats) is floats  # the data sets' float batches pass unchanged
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.25,))])
    np.testing.assert_allclose(pipeline(floats), (floats - 0.5) / 0.25, rtol=1e-6)
    with pytest.raises(TypeError, match="ToTensor: expected"):
        transforms.ToTensor()(np.zeros(3, np.int64))


def test_dataset_items_are_tensors_with_to_tensor_only():
    ds = _data(4)
    assert isinstance(ds[1][0], torch.Tensor)
    ds.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(0.5, 0.5)])
    assert isinstance(ds[1][0], torch.Tensor)
    ds.transform = None
    assert isinstance(ds[1][0], np.ndarray)  # minigrad's own pipelines keep numpy arrays


def test_tensor_type_and_index():
    t = torch.tensor([1, 2])
    assert t.type() == "minigrad.LongTensor" and t.float().type() == "minigrad.FloatTensor"
    assert t.type(torch.float64).dtype == torch.float64
    assert t.type("torch.FloatTensor").dtype == torch.float32 and t.type("minigrad.DoubleTensor").device == "cpu"
    with pytest.raises(ValueError, match="unknown type name"):
        t.type("torch.HalfTensor")
    assert ["a", "b", "c"][torch.tensor(2)] == "c" and ["a", "b"][torch.tensor([1])] == "b"
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        ["a", "b"][torch.tensor(1.0)]
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        ["a", "b"][torch.tensor([0, 1])]


def test_load_map_location_and_weights_only(tmp_path):
    torch.save({"w": torch.ones(2), "nested": [torch.zeros(1)]}, tmp_path / "m.pt")
    for kwargs in ({}, {"map_location": "cpu"}, {"weights_only": False}, {"map_location": torch.device("cpu")}):
        state = torch.load(tmp_path / "m.pt", **kwargs)
        assert state["w"].device == "cpu" and state["nested"][0].shape == (1,)
    # the old recipe for "load onto the CPU" works (tests/test_dataset_load_compat.py covers the forms)
    assert torch.load(tmp_path / "m.pt", map_location=lambda storage, loc: storage)["w"].device == "cpu"
    with pytest.raises(TypeError, match="map_location"):
        torch.load(tmp_path / "m.pt", map_location=3)
