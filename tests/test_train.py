"""minigrad-train and minigrad-eval end to end on small generated data sets (no network)."""

import csv
import json
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from train_utils import learnable_images, make_data_dir, metrics, real_mnist_available

import minigrad
from minigrad.cli import evaluate as ev
from minigrad.cli import train
from minigrad.models import load_model


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return make_data_dir(tmp_path / "data", monkeypatch)


def run_train(out: Path, *extra: str, plots: bool = False) -> int:
    argv = ["--epochs", "2", "--batch-size", "32", "--val-split", "64", "--threads", "1", "--device", "cpu",
            "--out", str(out), "--plots" if plots else "--no-plots", *extra]
    return train.main(argv)


def test_train_end_to_end_writes_every_output(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_train(out, plots=True) == 0
    printed = capsys.readouterr().out
    assert printed.count("images/s") == 2 and "top-5 err" in printed and "test accuracy" in printed
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    for r in rows:
        assert 0 <= float(r["train_acc"]) <= 1 and 0 <= float(r["val_acc"]) <= 1
        assert float(r["val_top5_err"]) <= float(r["val_top1_err"])
        assert float(r["train_loss"]) > 0 and float(r["images_per_s"]) > 0
    assert float(rows[1]["lr"]) < float(rows[0]["lr"])  # cosine schedule
    data = json.loads((out / "metrics.json").read_text())
    test = data["test"]
    assert test["count"] == 100 and np.sum(test["confusion"]) == 100
    assert 0 <= test["accuracy"] <= 1 and float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    model = load_model(out / "best.safetensors")
    assert model.info.model == "lenet5" and model.info.dataset == "mnist" and model.info.classes[3] == "3"
    assert (model.info.mean, model.info.std) == train.NORMALIZATION["mnist"]
    assert (out / "checkpoint.safetensors").is_file()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    for name in ("curves.png", "filters.png", "confusion.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_same_seed_same_numbers(data_dir, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "0"), (b, "0"), (c, "1")):  # dropout, batch norm, augmentation: all seeded
        extra = ("--model", "mnist-cnn", "--augment", "shift,noise", "--limit-train", "96", "--seed", seed)
        assert run_train(out, "--epochs", "1", *extra) == 0
    assert metrics(a) == metrics(b)
    assert metrics(a)["epochs"] != metrics(c)["epochs"]


def _interrupt_at(monkeypatch, epoch_batch: tuple[int, int], batches_per_epoch: int) -> None:
    """Make the training loop receive SIGINT (as from Ctrl-C) during the given batch."""
    original, calls = train.train_batch, []

    def train_batch(*args):
        calls.append(None)
        if len(calls) == (epoch_batch[0] - 1) * batches_per_epoch + epoch_batch[1]:
            signal.raise_signal(signal.SIGINT)
        return original(*args)

    monkeypatch.setattr(train, "train_batch", train_batch)


@pytest.mark.parametrize(
    "model, stop",
    [("mnist-cnn", (1, 2)), ("lenet5", (1, 3))],  # mid-epoch; the last batch of an epoch
    ids=["mid-epoch", "epoch-end"],
)
def test_ctrl_c_then_resume_equals_an_uninterrupted_run(data_dir, tmp_path, monkeypatch, capsys, model, stop):
    extra = ("--model", model, "--augment", "shift,noise", "--limit-train", "96")
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    assert run_train(straight, *extra) == 0
    with monkeypatch.context() as m:
        _interrupt_at(m, stop, batches_per_epoch=3)  # 96 training images / 32
        assert run_train(interrupted, *extra) == 130
    assert f"--resume {interrupted}" in capsys.readouterr().err
    assert not (interrupted / "metrics.json").exists() or len(metrics(interrupted)["epochs"]) < 2
    assert train.main(["--resume", str(interrupted)]) == 0
    assert metrics(straight) == metrics(interrupted)
    a, b = load_model(straight / "best.safetensors"), load_model(interrupted / "best.safetensors")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)


def test_resume_keeps_settings_and_may_extend_epochs(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_train(out, "--epochs", "1", "--optimizer", "adam", "--scheduler", "none") == 0
    assert train.main(["--resume", str(out / "checkpoint.safetensors"), "--epochs", "2", "--lr", "9"]) == 0
    assert "ignoring --lr" in capsys.readouterr().err
    data = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in data["epochs"]] == [1, 2]
    assert data["settings"]["optimizer"] == "adam" and data["settings"]["lr"] == 1e-3


def test_extending_a_finished_cosine_run_trains_on(data_dir, tmp_path):
    out = tmp_path / "run"
    assert run_train(out, "--epochs", "1") == 0  # cosine: lr 0 at the end of epoch 1
    before = minigrad.load(out / "checkpoint.safetensors")["model"]
    assert train.main(["--resume", str(out), "--epochs", "2"]) == 0
    after = minigrad.load(out / "checkpoint.safetensors")["model"]
    assert not np.array_equal(before["conv1.weight"].numpy(), after["conv1.weight"].numpy())


def test_device_choice(data_dir, tmp_path, capsys, monkeypatch):
    """Both commands choose their device through minigrad.backend.resolve_device."""
    if not minigrad.cuda.is_available():
        monkeypatch.setattr(minigrad.backend, "_auto_notice_shown", False)
        assert train.main(["--device", "auto", "--epochs", "1", "--val-split", "32", "--no-plots",
                           "--batch-size", "32", "--data-dir", str(data_dir), "--out", str(tmp_path / "auto")]) == 0
        assert "CUDA not usable" in capsys.readouterr().err
        assert train.main(["--device", "cuda", "--out", str(tmp_path / "x")]) == 2
        assert "device 'cuda' is not available" in capsys.readouterr().err
    else:
        assert minigrad.backend.resolve_device("auto") == "cuda"


def test_bad_arguments_are_usage_errors(data_dir, tmp_path, capsys):
    # issue 13, defects 8 and 9: each was a traceback or silently accepted (--limit-train 0 trained on
    # everything, --threads 0 was ignored, --epochs 0 ended in FileNotFoundError)
    bad = [["--augment", "sparkle"], ["--optimizer", "lbfgs"], ["--batch-size", "0"], ["--val-split", "-1"],
           ["--val-split", "nan"], ["--val-split", "2.5"], ["--threads", "-1"], ["--threads", "0"],
           ["--limit-train", "0"], ["--limit-train", "-5"], ["--epochs", "0"], ["--lr", "nan"], ["--lr", "0"],
           ["--momentum", "-0.5"], ["--weight-decay", "inf"], ["--checkpoint-every", "-1"], ["--epochs", "two"]]
    for args in bad:
        with pytest.raises(SystemExit) as exit_info:
            train.main(args)
        assert exit_info.value.code == 2, args
        err = capsys.readouterr().err
        assert "error: argument" in err and "Traceback" not in err, args
    assert run_train(tmp_path / "x", "--val-split", "256") == 2
    assert "--val-split 256.0: must leave training images" in capsys.readouterr().err
    assert not list((tmp_path / "x").iterdir())  # refused before any training


def test_bad_resume_files_and_outputs_are_one_error_line(data_dir, tmp_path, capsys, monkeypatch):
    from minigrad.models import LeNet5

    model_file = tmp_path / "model.safetensors"
    minigrad.save(LeNet5().state_dict(), model_file)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x80\x04not a checkpoint at all")
    deep = tmp_path / "deep.safetensors"
    import safetensors.numpy

    tree = '{"list": [' * 5000 + "1" + "]}" * 5000
    deep.write_bytes(safetensors.numpy.save({"w": np.ones(1)}, metadata={"minigrad.tree": tree}))
    for path, message in [(model_file, "not a minigrad-train checkpoint"), (garbage, "a pickle"),
                          (deep, "damaged"), (tmp_path / "missing", "no checkpoint at")]:
        assert train.main(["--resume", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("minigrad-train: error: ") and message in err and "Traceback" not in err, err

    # an output folder that cannot be written is found before training, not after an epoch
    assert run_train(Path("/proc/minigrad-cannot-write-here")) == 2
    assert "minigrad-train: error:" in capsys.readouterr().err

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train, "save", disk_full)
    assert run_train(tmp_path / "full", "--epochs", "1") == 2
    assert "No space left on device" in capsys.readouterr().err


def test_eval_bad_batch_size_and_threads_are_usage_errors(capsys):
    for args in (["--batch-size", "0"], ["--threads", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            ev.main(["model.safetensors", *args])
        assert exit_info.value.code == 2
        assert "expected an integer >= 1" in capsys.readouterr().err


@pytest.fixture
def trained_model(data_dir, tmp_path):
    out = tmp_path / "model"
    assert run_train(out, "--epochs", "1") == 0
    return out / "best.safetensors"


def test_eval_on_npz_and_idx_with_noise(trained_model, tmp_path, capsys):
    images, labels = learnable_images(120, seed=7)
    np.savez(tmp_path / "mine.npz", images=images, labels=labels)
    assert ev.main([str(trained_model), "--images", str(tmp_path / "mine.npz")]) == 0
    clean = capsys.readouterr().out
    assert "120 images" in clean and "accuracy" in clean
    table = clean.splitlines()[-10:]
    assert sum(int(v) for line in table for v in line.split()[1:]) == 120

    from minigrad.data import write_idx

    write_idx(tmp_path / "x-idx3-ubyte", images)
    write_idx(tmp_path / "y-idx1-ubyte", labels)
    idx_args = [str(trained_model), "--images", str(tmp_path / "x-idx3-ubyte")]
    idx_args += ["--labels", str(tmp_path / "y-idx1-ubyte")]
    assert ev.main(idx_args) == 0
    assert capsys.readouterr().out.splitlines()[1:] == clean.splitlines()[1:]

    noisy_args = [str(trained_model), "--images", str(tmp_path / "mine.npz"), "--noise", "gaussian:0.8+salt-pepper:0.3"]
    assert ev.main(noisy_args) == 0
    noisy = capsys.readouterr().out
    assert ev.main(noisy_args) == 0
    assert capsys.readouterr().out == noisy  # seeded noise
    assert noisy.splitlines()[1:] != clean.splitlines()[1:]


def test_eval_on_the_model_dataset_and_bad_inputs(trained_model, tmp_path, capsys):
    assert ev.main([str(trained_model), "--noise", "speckle:0.5"]) == 0
    assert "on mnist test, noise speckle:0.5: 100 images" in capsys.readouterr().out
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((3, 28, 28), np.uint8))
    np.savez(tmp_path / "small.npz", images=np.zeros((3, 20, 20), np.uint8), labels=np.zeros(3, np.int64))
    np.savez(tmp_path / "range.npz", images=np.zeros((3, 28, 28), np.uint8), labels=np.array([0, 1, 10]))
    for args, message in [
        (["--images", str(tmp_path / "nolabels.npz")], "needs arrays 'images' and 'labels'"),
        (["--images", str(tmp_path / "small.npz")], "are 20x20, but lenet5 (trained on mnist) expects 28x28"),
        (["--images", str(tmp_path / "range.npz")], "labels must lie in"),
        (["--images", str(tmp_path / "x-idx3-ubyte")], "needs --labels"),
        (["--noise", "blur:2"], "bad noise"),
    ]:
        assert ev.main([str(trained_model), *args]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.skipif(not real_mnist_available(), reason="needs the real MNIST ($MINIGRAD_DATA, or the user cache)")
def test_lenet5_loss_falls_on_real_mnist():
    from minigrad.data import MNIST, DataLoader, Subset
    from minigrad.data import transforms as T
    from minigrad.models import LeNet5

    minigrad.manual_seed(0)
    loader = DataLoader(Subset(MNIST(train=True), range(3000)), batch_size=64, shuffle=True, seed=0,
                        transform=T.Normalize(0.1307, 0.3081))
    model = LeNet5()
    optimizer = train.make_optimizer("sgd", model.parameters(), {**train.DEFAULTS, "lr": 0.05})
    losses = [train.train_batch(model, optimizer, x, y)[0] / len(y) for x, y in loader]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])  # 2.30 -> about 1.2 in 47 steps


@pytest.mark.skipif(not real_mnist_available(), reason="needs the real MNIST ($MINIGRAD_DATA, or the user cache)")
@pytest.mark.skipif(shutil.which("minigrad-train") is None, reason="minigrad-train is not installed (pip install .)")
def test_readme_command_as_a_new_user_runs_it(tmp_path):
    """The README's first command is `minigrad-train` with its defaults: the installed console
    script, from a fresh directory, here on a 2000-image slice of the real MNIST."""
    proc = subprocess.run(
        ["minigrad-train", "--epochs", "1", "--limit-train", "2000", "--val-split", "500", "--no-plots"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test accuracy" in (proc.stdout + proc.stderr).lower()
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "best.safetensors").is_file() and (run / "checkpoint.safetensors").is_file()
    assert load_model(run / "best.safetensors").info.model == "lenet5"
