"""Evaluation: accuracy, top-5 and confusion matrix of a model, and the ``minigrad-eval`` command.

minigrad-eval runs/lenet5-mnist-.../best.safetensors                 # its data set's test split
minigrad-eval runs/lenet5-mnist-.../checkpoint.safetensors           # the run's latest weights
minigrad-eval weights.safetensors --model lenet5 --dataset mnist      # a plain state_dict
minigrad-eval model.safetensors --noise gaussian:0.5                  # the same, with heavy noise
minigrad-eval model.safetensors --images mine.npz                     # uint8 images + labels
minigrad-eval model.safetensors --images imgs-idx3-ubyte --labels lbl-idx1-ubyte
minigrad-eval model.safetensors --images pngs/ --predict out.csv      # predictions, no labels needed
minigrad-eval model.safetensors --plots figures/                      # + figures/confusion.png

The normalisation recorded in the model file (or the data set's, for a checkpoint or a plain
state_dict) is applied, so raw uint8 images are enough.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad.autograd import no_grad
from minigrad.backend import resolve_device
from minigrad.cli.argtypes import positive_int
from minigrad.data import MNIST, FashionMNIST
from minigrad.data import transforms as T
from minigrad.data.idx import read_idx
from minigrad.models import MODELS, ModelInfo, build_model, load_model
from minigrad.nn import Module
from minigrad.serialization import load, load_metadata

__all__ = [
    "EvalResult",
    "evaluate",
    "predict_proba",
    "parse_noise",
    "load_images",
    "load_unlabeled_images",
    "read_png_gray",
    "load_eval_model",
    "check_image_size",
    "format_confusion",
    "write_predictions",
    "main",
]

DATASETS = {"mnist": MNIST, "fashion-mnist": FashionMNIST}


@dataclass
class EvalResult:
    """Mean loss, top-1/top-5 accuracy and the confusion matrix (rows: true class, columns: predicted)."""

    loss: float
    accuracy: float
    top5_accuracy: float
    confusion: np.ndarray
    count: int


def evaluate(model: Module, batches: Iterable[tuple], num_classes: int) -> EvalResult:
    """Run model (switched to eval mode) over (images, labels) batches without recording a tape."""
    model.eval()
    total_loss, correct, correct5, count = 0.0, 0, 0, 0
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    with no_grad():
        for images, labels in batches:
            logits = model(images)
            total_loss += float(F.cross_entropy(logits, labels, reduction="sum").item())
            scores, y = logits.numpy(), labels.numpy()
            predicted = scores.argmax(axis=1)
            top5 = np.argpartition(-scores, min(5, num_classes) - 1, axis=1)[:, :5]
            correct += int((predicted == y).sum())
            correct5 += int((top5 == y[:, None]).any(axis=1).sum())
            np.add.at(confusion, (y, predicted), 1)
            count += len(y)
    if count == 0:
        raise ValueError("evaluate: no samples")
    return EvalResult(total_loss / count, correct / count, correct5 / count, confusion, count)


def predict_proba(model: Module, batches: Iterable[minigrad.Tensor]) -> np.ndarray:
    """Class probabilities (N, classes) of model (switched to eval mode) over image batches."""
    model.eval()
    with no_grad():
        return np.concatenate([F.softmax(model(x), dim=1).numpy() for x in batches])


_NOISES = {"gaussian": T.GaussianNoise, "salt-pepper": T.SaltAndPepper, "speckle": T.SpeckleNoise}


def parse_noise(spec: str) -> T.Transform:
    """'gaussian:0.5', 'salt-pepper:0.2', 'speckle:0.8', or several joined by '+', as a transform."""
    parts = []
    for item in spec.split("+"):
        name, _, level = item.partition(":")
        if name not in _NOISES or not level:
            raise ValueError(f"bad noise {item!r}: expected NAME:LEVEL with NAME in {', '.join(_NOISES)}")
        parts.append(_NOISES[name](float(level)))
    return parts[0] if len(parts) == 1 else T.Compose(parts)


def load_images(images: str | Path, labels: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The user's labelled images from any path, no checksum: an .npz with arrays
    ``images`` (uint8 N x H x W) and ``labels``, or an IDX images file plus an IDX labels file."""
    images = Path(images)
    if images.suffix == ".npz":
        with np.load(images, allow_pickle=False) as npz:
            missing = {"images", "labels"} - set(npz.files)
            if missing:
                raise ValueError(
                    f"{images}: needs arrays 'images' and 'labels', found {npz.files} "
                    "(--predict OUT.csv predicts images without labels)"
                )
            x, y = npz["images"], npz["labels"]
    else:
        if labels is None:
            raise ValueError(f"{images}: an IDX images file needs --labels (an IDX labels file)")
        x, y = read_idx(images), read_idx(labels)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise ValueError(f"{images}: images must be uint8 (N, H, W), got {x.dtype} {x.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.shape != x.shape[:1]:
        raise ValueError(f"{images}: labels must be {len(x)} integers, got {y.dtype} {y.shape}")
    return x, y.astype(np.int64)


def load_unlabeled_images(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Images to predict and a name for each: an .npz with an ``images`` array (uint8 N x H x W;
    labels, if any, are not needed), or a folder of PNG files (sorted by name, made grayscale; Pillow reads them)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png")
        if not files:
            raise ValueError(f"{path}: no .png files in this folder")
        images = [read_png_gray(f) for f in files]
        for f, image in zip(files, images, strict=True):
            if image.shape != images[0].shape:
                raise ValueError(f"{f}: {_size(image.shape)} image, but {files[0].name} is {_size(images[0].shape)}; "
                                 "all images must have one size")
        return np.stack(images), [f.name for f in files]
    if path.suffix != ".npz":
        raise ValueError(f"{path}: --predict reads an .npz file (array 'images') or a folder of PNG files")
    with np.load(path, allow_pickle=False) as npz:
        if "images" not in npz.files:
            raise ValueError(f"{path}: needs an array 'images' (uint8 N x H x W), found {npz.files}")
        x = npz["images"]
    if x.dtype != np.uint8 or x.ndim != 3:
        raise ValueError(f"{path}: images must be uint8 (N, H, W), got {x.dtype} {x.shape}")
    return x, [f"{path.name}[{i}]" for i in range(len(x))]


def read_png_gray(path: str | Path) -> np.ndarray:
    """A PNG file as uint8 (H, W) grayscale (color converted with ITU-R 601 luma, alpha dropped).
    Needs Pillow (matplotlib depends on it, so it is there wherever the plots work)."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{path}: reading PNG images needs Pillow (pip install pillow)") from None
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def _size(shape: Sequence[int]) -> str:
    return f"{shape[-2]}x{shape[-1]}"


def check_image_size(images: np.ndarray, info: ModelInfo, source: str) -> None:
    """ValueError saying which size the model expects when the images have another."""
    if tuple(images.shape[1:]) != tuple(info.image_shape):
        raise ValueError(
            f"{source}: the images are {_size(images.shape)}, but {info.model} (trained on {info.dataset}) "
            f"expects {_size(info.image_shape)} grayscale images"
        )


def load_eval_model(path: str | Path, model: str | None = None, dataset: str | None = None) -> Module:
    """The model in path in eval mode, with its ModelInfo as ``model.info``, from any of:

    - a model file written by minigrad-train (best.safetensors): its metadata says everything;
    - a minigrad-train checkpoint (checkpoint.safetensors): the weights in its "model" entry, the
      model name and data set from its settings;
    - a plain state_dict (e.g. minigrad.save(model.state_dict(), path)): ``model`` names the
      architecture; ``dataset`` (default mnist) gives the normalisation and class names.

    ``model``, when given for a file that names its own, must agree with it.
    """
    path = str(path)
    metadata = load_metadata(path)
    if "model" in metadata:
        loaded = load_model(path)
        _check_same(model, loaded.info.model, path)
        return loaded
    entries = load(path)
    if "model" in entries and "settings" in entries:  # a minigrad-train checkpoint
        settings = json.loads(entries["settings"])
        _check_same(model, settings["model"], path)
        name, dataset, state = settings["model"], settings["dataset"], entries["model"]
    else:
        if model is None:
            raise ValueError(f"{path}: a plain state_dict (no model metadata): say which model with --model NAME")
        if not all(isinstance(v, minigrad.Tensor) for v in entries.values()):
            raise ValueError(f"{path}: neither a model file, a minigrad-train checkpoint nor a flat state_dict")
        name, dataset, state = model, dataset or "mnist", entries
    from minigrad.cli.train import NORMALIZATION  # here: minigrad.cli.train imports this module

    mean, std = NORMALIZATION[dataset]
    info = ModelInfo(name, dataset, mean, std, list(DATASETS[dataset].classes), (28, 28))
    net = build_model(name, num_classes=len(info.classes))
    try:
        net.load_state_dict(state)
    except (RuntimeError, KeyError) as exc:
        raise ValueError(f"{path}: the weights do not fit model {name!r}: {exc}") from None
    net.eval()
    net.info = info
    return net


def _check_same(requested: str | None, recorded: str, path: str) -> None:
    if requested is not None and requested != recorded:
        raise ValueError(f"--model {requested}: {path} holds a {recorded} model")


def format_confusion(confusion: np.ndarray, classes: Sequence[str]) -> str:
    """The confusion matrix as a text table (rows: true class, columns: predicted); columns are
    as wide as the longest class name, so names are whole and the header lines up."""
    corner = "true \\ pred"
    first = max(len(corner), *(len(c) for c in classes))
    width = max(5, *(len(c) for c in classes), len(str(confusion.max())))
    lines = [corner.ljust(first) + " " + " ".join(c.rjust(width) for c in classes)]
    for name, row in zip(classes, confusion, strict=True):
        lines.append(name.ljust(first) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def write_predictions(
    path: str | Path, names: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]
) -> None:
    """A CSV file: file, predicted (class index), class (its name), probability."""
    predicted = probabilities.argmax(axis=1)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["file", "predicted", "class", "probability"])
        for name, k, p in zip(names, predicted, probabilities, strict=True):
            out.writerow([name, int(k), classes[k], f"{p[k]:.6f}"])


def _batches(x: np.ndarray, y: np.ndarray, batch_size: int, device: str):
    for i in range(0, len(x), batch_size):
        yield minigrad.tensor(x[i : i + batch_size]).to(device), minigrad.tensor(y[i : i + batch_size]).to(device)


def main(argv: Sequence[str] | None = None) -> int:
    """minigrad-eval: accuracy and confusion matrix of a saved model on a test set, or its predictions."""
    p = argparse.ArgumentParser(prog="minigrad-eval", description=main.__doc__)
    p.add_argument("model", help="a model file written by minigrad-train (best.safetensors), a run's "
                   "checkpoint.safetensors, or a plain state_dict (with --model)")
    p.add_argument("--model", dest="model_name", choices=list(MODELS), metavar="NAME",
                   help="the architecture of a plain state_dict: " + ", ".join(MODELS))
    p.add_argument("--dataset", choices=list(DATASETS), help="default: the model's own (mnist for a plain "
                   "state_dict, which also takes its normalisation and class names from it)")
    p.add_argument("--split", choices=["test", "train"], default="test")
    p.add_argument("--data-dir", help="directory with mnist/ and fashion-mnist/ (default: $MINIGRAD_DATA, ...)")
    p.add_argument("--images", help="your own images: .npz (images uint8 N x H x W, labels) or an IDX file; "
                   "with --predict also a folder of PNG files, and no labels are needed")
    p.add_argument("--labels", help="IDX labels file for --images")
    p.add_argument("--predict", metavar="OUT.csv", help="write each image's predicted class and probability to "
                   "this CSV file (file, predicted, class, probability) instead of evaluating")
    p.add_argument("--plots", metavar="DIR", help="write the confusion matrix to DIR/confusion.png (matplotlib)")
    p.add_argument("--noise", help="noise applied before normalising, e.g. gaussian:0.5, salt-pepper:0.2, "
                   "speckle:0.8, or several joined by '+'")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--batch-size", type=positive_int, default=500)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto (the GPU when one is usable)")
    p.add_argument("--threads", type=positive_int, help="CPU threads for the kernels")
    args = p.parse_args(argv)
    if args.predict and args.plots:
        p.error("--plots draws an evaluation's confusion matrix; --predict does not evaluate")

    try:
        device = resolve_device(args.device or "auto", notice=args.device is not None)
        if args.threads:
            minigrad.set_num_threads(args.threads)
        model = load_eval_model(args.model, args.model_name, args.dataset).to(device)
        info = model.info
        if args.predict and args.images:
            x, names = load_unlabeled_images(args.images)
            y, source = None, args.images
        elif args.images:
            x, y = load_images(args.images, args.labels)
            source = args.images
        else:
            dataset = args.dataset or info.dataset
            ds = DATASETS[dataset](root=args.data_dir, train=args.split == "train")
            x, y = ds.data, ds.targets
            source = f"{dataset} {args.split}"
            names = [f"{dataset}-{args.split}[{i}]" for i in range(len(x))]
        check_image_size(x, info, source)
        if y is not None and y.size and (y.min() < 0 or y.max() >= len(info.classes)):
            raise ValueError(f"labels must lie in [0, {len(info.classes) - 1}], found {y.min()}..{y.max()}")
        images = x[:, None].astype(np.float32) / np.float32(255)
        if args.noise:
            images = parse_noise(args.noise)(images, np.random.default_rng(args.seed))
        images = info.prepare(images)
        if args.predict:
            batches = (minigrad.tensor(images[i : i + args.batch_size]).to(device)
                       for i in range(0, len(images), args.batch_size))
            write_predictions(args.predict, names, predict_proba(model, batches), info.classes)
        else:
            result = evaluate(model, _batches(images, y, args.batch_size, device), len(info.classes))
            plot = _plot_confusion(result.confusion, info.classes, Path(args.plots)) if args.plots else None
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        print(f"minigrad-eval: error: {exc}", file=sys.stderr)
        return 2
    noise = f", noise {args.noise}" if args.noise else ""
    print(f"{args.model} ({info.model}, trained on {info.dataset}) on {source}{noise}: {len(x)} images")
    if args.predict:
        print(f"predictions: {args.predict}")
        return 0
    print(f"accuracy {100 * result.accuracy:.2f}%  top-5 {100 * result.top5_accuracy:.2f}%  loss {result.loss:.4f}")
    print(format_confusion(result.confusion, info.classes))
    if plot:
        print(f"confusion matrix plot: {plot}")
    return 0


def _plot_confusion(confusion: np.ndarray, classes: Sequence[str], out: Path) -> Path | None:
    """out/confusion.png, or None (said once on stderr) when matplotlib is not installed."""
    from minigrad.cli.plots import can_plot, plot_confusion

    if not can_plot():
        return None
    out.mkdir(parents=True, exist_ok=True)
    plot_confusion(confusion, classes, out / "confusion.png")
    return out / "confusion.png"


if __name__ == "__main__":
    sys.exit(main())
