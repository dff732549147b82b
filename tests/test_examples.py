"""The examples run as a user would run them (on generated data unless $MINIGRAD_DATA has MNIST)."""

import os
import runpy
import sys
from pathlib import Path

import pytest
from train_utils import make_data_dir

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_train_lenet_mnist_example(tmp_path, monkeypatch, capsys):
    real = os.environ.get("MINIGRAD_DATA")
    if not (real and (Path(real) / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()):
        make_data_dir(tmp_path / "data", monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["train_lenet_mnist.py", "--epochs", "1", "--limit", "100"])
    runpy.run_path(str(EXAMPLES / "train_lenet_mnist.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "epoch 1 step 0/2: loss" in printed
    assert "epoch 1: test accuracy" in printed
    assert (tmp_path / "lenet5_mnist.safetensors").is_file()


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_has_a_usage_docstring(script):
    source = (EXAMPLES / script).read_text()
    assert source.startswith('"""') and "python examples/" in source


def run_example(script: str, args: list[str], tmp_path: Path, monkeypatch, capsys) -> tuple[str, str]:
    """Run examples/script with args in tmp_path on the generated data set; returns (stdout, stderr)."""
    make_data_dir(tmp_path / "data", monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    captured = capsys.readouterr()
    return captured.out, captured.err


def has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def without_matplotlib(monkeypatch) -> None:
    """Make `import matplotlib` fail and the library's plot helpers see it as missing."""
    from minigrad.cli import plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(plots, "Figure", None)
    monkeypatch.setattr(plots, "_missing_notice_shown", False)


def test_fashion_mnist_lab(tmp_path, monkeypatch, capsys):
    args = ["--epochs", "2", "--limit", "200", "--test-limit", "100"]
    out, _ = run_example("fashion_mnist_lab.py", args, tmp_path, monkeypatch, capsys)
    assert "180 training, 20 validation, 100 test images" in out
    assert "epoch 1: train loss" in out and "epoch 2: train loss" in out and "val loss" in out
    assert "test accuracy" in out and "on 100 images" in out
    assert "true \\ pred" in out and "Ankle boot" in out  # the confusion matrix with the class names
    assert "classify() on the first test images:" in out and "(true: " in out
    assert "fashion_cnn.safetensors" in out and "minigrad.load reads it back identically" in out
    assert (tmp_path / "fashion_cnn.safetensors").is_file() and (tmp_path / "model.pt").is_file()
    if has_matplotlib():
        assert (tmp_path / "fashion_curves.png").is_file() and (tmp_path / "fashion_confusion.png").is_file()
    try:
        import torch
    except ImportError:
        return
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert "classifier.5.weight" in state and tuple(state["classifier.5.weight"].shape) == (10, 128)


def test_noisy_camera_mnist(tmp_path, monkeypatch, capsys):
    args = ["--epochs", "1", "--limit", "200", "--test-limit", "100", "--noise", "salt-pepper"]
    out, _ = run_example("noisy_camera_mnist.py", args, tmp_path, monkeypatch, capsys)
    assert "clean training: epoch 1 done" in out and "noise augmentation: epoch 1 done" in out
    assert "test accuracy (%) under salt-pepper noise:" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("  0.")]
    assert [row[0] for row in rows] == ["0.00", "0.05", "0.10", "0.20", "0.30", "0.40", "0.50"]
    assert all(0 <= float(v) <= 100 for row in rows for v in row[1:])
    assert (tmp_path / "noisy_camera.png").is_file() == has_matplotlib()


def test_noisy_camera_mnist_without_matplotlib(tmp_path, monkeypatch, capsys):
    without_matplotlib(monkeypatch)
    args = ["--epochs", "1", "--limit", "64", "--test-limit", "50"]
    out, err = run_example("noisy_camera_mnist.py", args, tmp_path, monkeypatch, capsys)
    assert "test accuracy (%) under gaussian noise:" in out
    assert err.count("matplotlib is not installed") == 1
    assert not list(tmp_path.glob("*.png"))


def test_vgg_practical(tmp_path, monkeypatch, capsys):
    args = ["--blob-iterations", "40", "--char-epochs", "1", "--char-samples", "200", "--text", "ab cab"]
    out, _ = run_example("vgg_practical.py", args, tmp_path, monkeypatch, capsys)
    assert "conv with 10 filters 5x5x3: y (1, 10, 92, 124)" in out
    assert "stride 16: (1, 10, 6, 8), padding 4: (1, 10, 100, 132)" in out
    assert "per-pixel channel norms from 1.000000 to 1.000000" in out
    assert out.count("gradcheck passed") == 5 and "all derivative checks passed" in out
    assert "iteration 40: loss" in out and "small-blob centres" in out
    if has_matplotlib():
        assert "no jitter: at the letters:" in out and "with jitter: at the letters:" in out
        assert "/5 letters right" in out
        assert (tmp_path / "vgg_text.png").is_file() and (tmp_path / "vgg_blobs.png").is_file()
    else:
        assert "part 4 skipped" in out


def test_vgg_practical_chars_without_matplotlib(tmp_path, monkeypatch, capsys):
    without_matplotlib(monkeypatch)
    out, err = run_example("vgg_practical.py", ["blocks", "chars"], tmp_path, monkeypatch, capsys)
    assert "part 1: CNN building blocks" in out and "part 2" not in out
    assert "matplotlib is not installed: no fonts to render characters from, part 4 skipped" in out
    assert err.count("matplotlib is not installed") == 1
    assert not list(tmp_path.glob("*.png"))
