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
