"""Models: output shapes, parameter counts, state_dict names (torch's), saving and loading with metadata."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad.models import MODELS, LeNet5, MnistCNN, ModelInfo, build_model, load_model, predict, save_model

torch_reference = TorchReference(__name__)
PARAM_COUNTS = {"lenet5": 61_706, "mnist-cnn": 421_738, "mlp": 235_146, "softmax-regression": 7_850}


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", list(MODELS))
def test_shapes_and_parameter_counts(name):
    minigrad.manual_seed(0)
    model = build_model(name)
    assert n_params(model) == PARAM_COUNTS[name]
    for batch in (1, 3):
        assert model(minigrad.randn(batch, 1, 28, 28)).shape == (batch, 10)
    assert build_model(name, num_classes=7)(minigrad.randn(2, 1, 28, 28)).shape == (2, 7)


def test_unknown_model_names_the_choices():
    with pytest.raises(ValueError, match="lenet5"):
        build_model("resnet")


def test_lenet5_state_dict_keys():
    assert list(LeNet5().state_dict()) == [
        f"{layer}.{kind}" for layer in ("conv1", "conv2", "fc1", "fc2", "fc3") for kind in ("weight", "bias")
    ]


def test_mnist_cnn_dropout_only_in_training():
    minigrad.manual_seed(0)
    model, x = MnistCNN(), minigrad.randn(4, 1, 28, 28)
    model.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())
    model.train()
    assert not np.array_equal(model(x).detach().numpy(), model(x).detach().numpy())


@pytest.mark.parametrize("name", ["lenet5", "mnist-cnn", "mlp"])
def test_same_outputs_as_torch_with_the_same_weights(name):
    minigrad.manual_seed(1)  # the weights: minigrad's seeded init (a change there shows as a stale recording)
    model = build_model(name).eval()
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)

    def torch_outputs(torch):
        make = {"lenet5": _TorchLeNet5, "mnist-cnn": _TorchMnistCNN, "mlp": _TorchMLP}[name]
        reference = make(torch.nn).eval()
        reference.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
        with torch.no_grad():
            return {"y": reference(torch.from_numpy(x))}

    theirs = torch_reference(f"outputs/{name}", torch_outputs)["y"]
    with minigrad.no_grad():
        ours = model(minigrad.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def _TorchLeNet5(nn):  # noqa: N802 (a class factory: torch is imported lazily)
    class TorchLeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

        def forward(self, x):
            f = nn.functional
            x = f.max_pool2d(f.relu(self.conv1(x)), 2)
            x = f.max_pool2d(f.relu(self.conv2(x)), 2).flatten(1)
            return self.fc3(f.relu(self.fc2(f.relu(self.fc1(x)))))

    return TorchLeNet5()


def _TorchMnistCNN(nn):  # noqa: N802
    class TorchMnistCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
            self.conv2, self.bn2 = nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64)
            self.drop1, self.fc1 = nn.Dropout(0.25), nn.Linear(3136, 128)
            self.drop2, self.fc2 = nn.Dropout(0.5), nn.Linear(128, 10)

        def forward(self, x):
            f = nn.functional
            x = f.max_pool2d(f.relu(self.bn1(self.conv1(x))), 2)
            x = f.max_pool2d(f.relu(self.bn2(self.conv2(x))), 2)
            return self.fc2(self.drop2(f.relu(self.fc1(self.drop1(x).flatten(1)))))

    return TorchMnistCNN()


def _TorchMLP(nn):  # noqa: N802
    class TorchMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.ModuleList([nn.Linear(784, 256), nn.Linear(256, 128)])
            self.out = nn.Linear(128, 10)

        def forward(self, x):
            x = x.flatten(1)
            for layer in self.hidden:
                x = nn.functional.relu(layer(x))
            return self.out(x)

    return TorchMLP()


def test_save_and_load_model_with_its_normalisation(tmp_path):
    minigrad.manual_seed(0)
    model = build_model("lenet5")
    info = ModelInfo("lenet5", "mnist", 0.1307, 0.3081, [str(d) for d in range(10)])
    save_model(model, tmp_path / "m.safetensors", info)
    loaded = load_model(tmp_path / "m.safetensors")
    assert not loaded.training and loaded.info == info
    raw = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    expected_input = (raw[:, None] / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_allclose(loaded.info.prepare(raw), expected_input, rtol=1e-6)
    with minigrad.no_grad():
        expected = model.eval()(minigrad.tensor(expected_input.astype(np.float32))).numpy()
    np.testing.assert_allclose(predict(loaded, raw).numpy(), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        loaded.info.prepare(raw[:, :20])


def test_load_model_rejects_a_plain_state_dict(tmp_path):
    from minigrad.serialization import save

    save(LeNet5().state_dict(), tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="not a minigrad model file"):
        load_model(tmp_path / "plain.safetensors")


def test_cifar_cnn_matches_torch_forward_and_gradients():
    """CifarCNN (the benchmark model with 32-128 channel convs) against the same
    network in PyTorch: training-mode input gradients and a weight gradient, then eval outputs."""
    from minigrad.models import CifarCNN

    minigrad.manual_seed(2)  # the weights: minigrad's seeded init (a change there shows as a stale recording)
    model = CifarCNN()
    x = np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32)
    theirs = torch_reference("CifarCNN", lambda torch: _torch_cifar_cnn_grads(torch, model, x))
    ours_x = minigrad.tensor(x, requires_grad=True)
    model(ours_x).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs["x.grad"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(model.convs[2].weight.grad.numpy(), theirs["convs.2.weight.grad"], rtol=1e-3, atol=1e-3)
    model.eval()  # with the running statistics of that training-mode pass
    with minigrad.no_grad():
        np.testing.assert_allclose(model(minigrad.tensor(x)).numpy(), theirs["eval/y"], rtol=1e-4, atol=1e-5)


def _torch_cifar_cnn_grads(torch, model, x):
    """CifarCNN written in torch.nn with model's weights: the gradients of its summed output."""
    tnn = torch.nn

    class TorchCifarCNN(tnn.Module):
        def __init__(self):
            super().__init__()
            widths = [(3, 32), (32, 32), (32, 64), (64, 64), (64, 128)]
            self.convs = tnn.ModuleList(tnn.Conv2d(a, b, 3, padding=1, bias=False) for a, b in widths)
            self.bns = tnn.ModuleList(tnn.BatchNorm2d(b) for _, b in widths)
            self.fc1, self.fc2 = tnn.Linear(2048, 256), tnn.Linear(256, 10)

        def forward(self, x):
            f = tnn.functional
            for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
                x = f.relu(bn(conv(x)))
                if i in (1, 3, 4):
                    x = f.max_pool2d(x, 2)
            return self.fc2(f.relu(self.fc1(x.flatten(1))))

    reference = TorchCifarCNN()
    reference.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    theirs_x = torch.from_numpy(x).requires_grad_()
    reference(theirs_x).sum().backward()
    with torch.no_grad():
        y = reference.eval()(torch.from_numpy(x))
    return {"x.grad": theirs_x.grad, "convs.2.weight.grad": reference.convs[2].weight.grad, "eval/y": y}
