"""Faults during training: divergence (NaN/inf) and a training process killed at random moments."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from train_utils import make_data_dir, metrics

import minigrad
from minigrad.cli import train
from minigrad.data import datasets
from minigrad.models import load_model


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    return make_data_dir(tmp_path / "data", monkeypatch)


def base_args(out: Path, epochs: int = 2) -> list[str]:
    return ["--epochs", str(epochs), "--batch-size", "32", "--val-split", "64", "--threads", "1", "--device", "cpu",
            "--out", str(out), "--no-plots"]


def poison_batches(monkeypatch, bad_calls: set[int]) -> None:
    """Replace the images of the given training batches (1-based, counted over the run) with NaN."""
    original, calls = train.train_batch, []

    def train_batch(model, optimizer, images, labels):
        calls.append(None)
        if len(calls) in bad_calls:
            images = minigrad.full(images.shape, float("nan"))
        return original(model, optimizer, images, labels)

    monkeypatch.setattr(train, "train_batch", train_batch)


def assert_finite_model(path: Path) -> None:
    for name, value in load_model(path).state_dict().items():
        assert np.isfinite(value.numpy()).all(), name


def test_nan_loss_stops_naming_the_step_and_keeps_the_best_model(data_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    # 256 - 64 validation images = 6 batches of 32 per epoch; the 2nd batch of epoch 2 is call 8
    poison_batches(monkeypatch, {8})
    assert train.main(base_args(out)) == 3
    err = capsys.readouterr().err
    assert "diverged at epoch 2, batch 2 (step 8): the loss is nan" in err and "--on-divergence skip" in err
    best = json.loads((out / "metrics.json").read_text())["best_epoch"]
    assert best == 1
    assert_finite_model(out / "best.safetensors")
    checkpoint = minigrad.load(out / "checkpoint.safetensors")
    assert (checkpoint["epoch"], checkpoint["batch"]) == (1, 0)  # the epoch-1 end, nothing after
    assert all(np.isfinite(v.numpy()).all() for v in checkpoint["model"].values())


def test_huge_learning_rate_is_detected(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main([*base_args(out), "--lr", "1e30", "--momentum", "0"]) == 3
    err = capsys.readouterr().err
    assert "training diverged at epoch 1, batch " in err and "not finite" in err or "the loss is" in err
    assert not (out / "best.safetensors").exists()


def test_skip_drops_the_bad_steps_and_finishes(data_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    poison_batches(monkeypatch, {2, 3, 9})
    assert train.main([*base_args(out), "--on-divergence", "skip"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning: skipped epoch") == 3 and "steps skipped" in captured.out
    rows = metrics(out)["epochs"]
    assert [r["skipped_steps"] for r in rows] == [2, 1]
    assert all(np.isfinite(r["train_loss"]) for r in rows)
    assert_finite_model(out / "best.safetensors")


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert train.main(["--resume", str(tmp_path)]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


# ---------------------------------------------------------------------------- SIGKILL and --resume
_RUNNER = """
import json, sys
from minigrad.data import datasets
datasets.CHECKSUMS.update(json.loads(sys.argv[1]))  # the generated data set's checksums
from minigrad.cli import train
sys.exit(train.main(sys.argv[2:]))
"""


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    checksums = json.dumps({k: datasets.CHECKSUMS[k] for k in ("mnist", "fashion-mnist")})
    # the minigrad under test (installed, or a build's package folder); cwd outside the repository,
    # since `python -c` puts the working directory first on sys.path (./minigrad has no _C)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(minigrad.__file__).parent.parent), env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, "-c", _RUNNER, checksums, *args], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


KILLS = 4
BATCHES_PER_EPOCH = 32


def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    make_data_dir(tmp_path / "data", monkeypatch, n_train=BATCHES_PER_EPOCH * 32 + 64)
    args = ["--model", "lenet5", "--augment", "shift,noise", "--checkpoint-every", "2", "--epochs", "3"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    t0 = time.perf_counter()
    proc = _start([*base_args(straight), *args], tmp_path)
    while proc.poll() is None and not (straight / "checkpoint.safetensors").exists():
        time.sleep(0.005)
    startup = time.perf_counter() - t0  # imports, data, model: up to the first checkpoint
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-2000:]
    duration = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    # a run that ends before it was killed KILLS times starts over in a new folder, with the waits halved: the
    # first run's timings (start-up with a cold file cache, a noisy neighbour) may overstate the later ones'
    pace = 1.0
    for round_ in range(4):
        killed = tmp_path / f"killed{round_}"
        kills, reached, seen = 0, (0, 0), []
        while True:
            resume = (killed / "checkpoint.safetensors").is_file()
            proc = _start(["--resume", str(killed)] if resume else [*base_args(killed), *args], tmp_path)
            if kills < KILLS:
                # a random moment: in start-up, a training step, a checkpoint save, evaluation; within the
                # first 60% of the training this run has left, so a resumed run seldom ends before its kill
                left = 1 - (reached[0] * BATCHES_PER_EPOCH + reached[1]) / (3 * BATCHES_PER_EPOCH)
                wait = rng.uniform(0.5, 1) * startup + rng.uniform(0, 0.6) * left * (duration - startup)
                try:
                    proc.wait(timeout=pace * wait)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    kills += 1
                    # the latest checkpoint a kill leaves is always a whole one, never behind the last
                    if (killed / "checkpoint.safetensors").is_file():
                        checkpoint = minigrad.load(killed / "checkpoint.safetensors")
                        now = (checkpoint["epoch"], checkpoint["batch"])
                        assert now >= reached
                        reached = now
                    seen.append(reached)
                    continue
            assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-2000:]
            break
        print(f"\n{kills} SIGKILLs (run {duration:.1f} s, first checkpoint at {startup:.1f} s); "
              f"the checkpoint (epoch, batch) after each: {seen}")
        if kills == KILLS:
            break
        pace /= 2
    assert kills == KILLS, "the run kept finishing before it was killed"
    assert metrics(straight) == metrics(killed)
    a, b = load_model(straight / "best.safetensors"), load_model(killed / "best.safetensors")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)
    assert not [p.name for p in killed.iterdir() if p.name.endswith(".tmp")]
