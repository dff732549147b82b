"""minigrad-eval with every kind of weights file, predictions to CSV, plots, and its messages."""

import csv
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from train_utils import learnable_images, make_data_dir

import minigrad
import minigrad.backend
from minigrad.cli import evaluate as ev
from minigrad.cli import plots, train
from minigrad.data import FashionMNIST
from minigrad.models import load_model, predict


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """A one-epoch LeNet-5 run on generated Fashion-MNIST-like data (long class names)."""
    make_data_dir(tmp_path / "data", monkeypatch)
    out = tmp_path / "run"
    argv = ["--dataset", "fashion-mnist", "--epochs", "1", "--batch-size", "32", "--val-split", "64",
            "--threads", "1", "--device", "cpu", "--no-plots", "--out", str(out)]
    assert train.main(argv) == 0
    return out


def _report(capsys) -> list[str]:
    """minigrad-eval's output without its first line (which names the file)."""
    return capsys.readouterr().out.splitlines()[1:]


def test_model_file_checkpoint_and_plain_state_dict_agree(run_dir, tmp_path, capsys):
    assert ev.main([str(run_dir / "best.safetensors")]) == 0
    expected = _report(capsys)
    assert ev.main([str(run_dir / "checkpoint.safetensors")]) == 0  # one epoch: the same weights
    assert _report(capsys) == expected
    plain = tmp_path / "weights.safetensors"
    minigrad.save(minigrad.load(run_dir / "checkpoint.safetensors")["model"], plain)
    assert ev.main([str(plain), "--model", "lenet5", "--dataset", "fashion-mnist"]) == 0
    assert _report(capsys) == expected
    model = ev.load_eval_model(plain, "lenet5")  # no --dataset: mnist's normalisation and classes
    assert model.info.dataset == "mnist" and model.info.classes[0] == "0" and not model.training


@pytest.mark.parametrize(
    "file, args, message",
    [
        ("weights", [], "a plain state_dict (no model metadata): say which model with --model NAME"),
        ("weights", ["--model", "mlp"], "the weights do not fit model 'mlp'"),
        ("checkpoint", ["--model", "mlp"], "--model mlp: "),
        ("best", ["--model", "mnist-cnn"], "holds a lenet5 model"),
    ],
)
def test_weights_that_do_not_fit(run_dir, tmp_path, capsys, file, args, message):
    path = {"best": run_dir / "best.safetensors", "checkpoint": run_dir / "checkpoint.safetensors"}.get(file)
    if path is None:
        path = tmp_path / "weights.safetensors"
        minigrad.save(minigrad.load(run_dir / "checkpoint.safetensors")["model"], path)
    assert ev.main([str(path), *args]) == 2
    assert message in capsys.readouterr().err


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_predict_npz_without_labels(run_dir, tmp_path, capsys):
    images, _ = learnable_images(7, seed=5)
    np.savez(tmp_path / "new.npz", images=images)
    out = tmp_path / "pred.csv"
    assert ev.main([str(run_dir / "best.safetensors"), "--images", str(tmp_path / "new.npz"), "--predict", str(out),
                    "--batch-size", "3"]) == 0
    assert f"predictions: {out}" in capsys.readouterr().out
    rows = _read_csv(out)
    model = load_model(run_dir / "best.safetensors")
    probabilities = minigrad.softmax(predict(model, images), 1).numpy()
    assert [r["file"] for r in rows] == [f"new.npz[{i}]" for i in range(7)]
    assert [int(r["predicted"]) for r in rows] == probabilities.argmax(1).tolist()
    assert [r["class"] for r in rows] == [FashionMNIST.classes[k] for k in probabilities.argmax(1)]
    np.testing.assert_allclose([float(r["probability"]) for r in rows], probabilities.max(1), atol=1e-5)


def _png(path: Path, image: np.ndarray) -> None:
    """A minimal 8-bit PNG (grayscale (H, W) or RGB (H, W, 3)), written without any image library."""
    height, width = image.shape[:2]
    color = 0 if image.ndim == 2 else 2
    rows = b"".join(b"\0" + image[y].tobytes() for y in range(height))  # filter 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


def _write_pngs(folder: Path, images: np.ndarray, rgb: bool = False) -> None:
    folder.mkdir()
    for i, image in enumerate(images):  # RGB: the same level in R, G and B, whose luma is that level
        _png(folder / f"img{i:02d}.png", np.repeat(image[:, :, None], 3, axis=2) if rgb else image)


def test_predict_png_folder_grayscale_and_rgb(run_dir, tmp_path):
    pytest.importorskip("PIL", reason="reading PNG files needs Pillow")
    images, _ = learnable_images(5, seed=9)
    _write_pngs(tmp_path / "gray", images)
    _write_pngs(tmp_path / "rgb", images, rgb=True)
    np.savez(tmp_path / "same.npz", images=images)
    model = str(run_dir / "best.safetensors")
    for source in ("gray", "rgb", "same.npz"):
        assert ev.main([model, "--images", str(tmp_path / source), "--predict", str(tmp_path / f"{source}.csv")]) == 0
    gray, rgb, npz = (_read_csv(tmp_path / f"{s}.csv") for s in ("gray", "rgb", "same.npz"))
    assert [r["file"] for r in gray] == [f"img{i:02d}.png" for i in range(5)]
    assert gray == rgb == [{**r, "file": f"img{i:02d}.png"} for i, r in enumerate(npz)]


def test_png_reader_missing_is_said(tmp_path, monkeypatch, capsys):
    _png(tmp_path / "a.png", np.zeros((28, 28), np.uint8))
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    with pytest.raises(ImportError, match=r"a.png: reading PNG images needs Pillow \(pip install pillow\)"):
        ev.load_unlabeled_images(tmp_path)


def test_wrong_image_size_says_the_expected_size(run_dir, tmp_path, capsys):
    pytest.importorskip("PIL", reason="reading PNG files needs Pillow")
    model = str(run_dir / "best.safetensors")
    _write_pngs(tmp_path / "small", np.zeros((2, 20, 24), np.uint8))
    assert ev.main([model, "--images", str(tmp_path / "small"), "--predict", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "the images are 20x24, but lenet5 (trained on fashion-mnist) expects 28x28 grayscale images" in err
    _write_pngs(tmp_path / "mixed", np.zeros((1, 28, 28), np.uint8))
    _write_pngs(tmp_path / "other", np.zeros((1, 20, 20), np.uint8))
    (tmp_path / "other" / "img00.png").rename(tmp_path / "mixed" / "img01.png")
    assert ev.main([model, "--images", str(tmp_path / "mixed"), "--predict", str(tmp_path / "p.csv")]) == 2
    assert "img01.png: 20x20 image, but img00.png is 28x28; all images must have one size" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert ev.main([model, "--images", str(tmp_path / "empty"), "--predict", str(tmp_path / "p.csv")]) == 2
    assert "no .png files" in capsys.readouterr().err


def test_confusion_table_aligned_with_whole_names(run_dir, capsys):
    assert ev.main([str(run_dir / "best.safetensors")]) == 0
    lines = capsys.readouterr().out.splitlines()[-11:]
    header, rows = lines[0], lines[1:]
    assert len({len(line) for line in lines}) == 1  # every line as wide as the header
    for name in FashionMNIST.classes:  # whole, and right-aligned over its column of counts
        end = header.index(name) + len(name)
        assert all(row[end - 1].isdigit() and row[end:end + 1] in ("", " ") for row in rows)
    assert [row.split("  ")[0].strip() for row in rows] == FashionMNIST.classes
    total = sum(int(v) for row, name in zip(rows, FashionMNIST.classes, strict=True) for v in row[len(name):].split())
    assert total == 100


def test_plots_write_the_confusion_matrix(run_dir, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    assert ev.main([str(run_dir / "best.safetensors"), "--plots", str(tmp_path / "figs")]) == 0
    assert f"confusion matrix plot: {tmp_path / 'figs' / 'confusion.png'}" in capsys.readouterr().out
    assert (tmp_path / "figs" / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_plots_without_matplotlib_say_so_once(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(plots, "Figure", None)
    monkeypatch.setattr(plots, "_missing_notice_shown", False)
    for _ in range(2):
        assert ev.main([str(run_dir / "best.safetensors"), "--plots", str(tmp_path / "figs")]) == 0
    assert plots.write_plots(tmp_path, [{"epoch": 1}], load_model(run_dir / "best.safetensors"),
                             np.eye(10, dtype=np.int64), FashionMNIST.classes) == []
    captured = capsys.readouterr()
    assert captured.err.count("matplotlib is not installed, so no plots are drawn") == 1
    assert "confusion matrix plot" not in captured.out and not (tmp_path / "figs").exists()


def test_predict_with_plots_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ev.main(["m.safetensors", "--predict", "p.csv", "--plots", "figs"])
    assert exit_info.value.code == 2 and "--predict does not evaluate" in capsys.readouterr().err


def test_cuda_fallback_notice_only_when_auto_is_asked_for(run_dir, capsys, monkeypatch):
    """On a machine without CUDA: silent for the commands' default device, one line when the
    user asked for --device auto (and for device="auto" in code), an error for --device cuda."""
    backend = minigrad.backend
    monkeypatch.delitem(backend._backends, "cuda", raising=False)
    monkeypatch.setattr(backend, "cuda_unavailable_reason", lambda: "no driver (test)")
    monkeypatch.setattr(backend, "_auto_notice_shown", False)
    model = str(run_dir / "best.safetensors")
    assert ev.main([model]) == 0
    assert capsys.readouterr().err == ""
    assert backend.resolve_device("auto", notice=False) == "cpu" and capsys.readouterr().err == ""
    assert ev.main([model, "--device", "auto"]) == 0
    assert ev.main([model, "--device", "auto"]) == 0
    err = capsys.readouterr().err
    assert err == "minigrad: CUDA not usable (no driver (test)); device 'auto' runs on the CPU\n"  # once
    assert ev.main([model, "--device", "cuda"]) == 2
    assert "device 'cuda' is not available: no driver (test)" in capsys.readouterr().err
