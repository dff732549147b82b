"""Evaluation: accuracy, top-5 and confusion matrix of a model, and the ``minigrad-eval`` command.

minigrad-eval runs/lenet5-mnist-.../best.safetensors                 # its data set's test split
minigrad-eval model.safetensors --noise gaussian:0.5                  # the same, with heavy noise
minigrad-eval model.safetensors --images mine.npz                     # uint8 images + labels
minigrad-eval model.safetensors --images imgs-idx3-ubyte --labels lbl-idx1-ubyte

The normalisation recorded in the model file is applied, so raw uint8 images are enough.
"""

from __future__ import annotations

import argparse
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
from minigrad.data import transforms as T
from minigrad.data.idx import read_idx
from minigrad.nn import Module

__all__ = ["EvalResult", "evaluate", "parse_noise", "load_images", "format_confusion", "main"]


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
                raise ValueError(f"{images}: needs arrays 'images' and 'labels', found {npz.files}")
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


def format_confusion(confusion: np.ndarray, classes: Sequence[str]) -> str:
    """The confusion matrix as a text table (rows: true class, columns: predicted)."""
    names = [c[:9] for c in classes]
    width = max(5, *(len(n) for n in names), len(str(confusion.max())))
    lines = ["true \\ pred".ljust(11) + " ".join(n.rjust(width) for n in names)]
    for name, row in zip(names, confusion, strict=True):
        lines.append(name.ljust(11) + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def _batches(x: np.ndarray, y: np.ndarray, batch_size: int, device: str):
    for i in range(0, len(x), batch_size):
        yield minigrad.tensor(x[i : i + batch_size]).to(device), minigrad.tensor(y[i : i + batch_size]).to(device)


def main(argv: Sequence[str] | None = None) -> int:
    """minigrad-eval: accuracy and confusion matrix of a saved model on a test set."""
    from minigrad.data import MNIST, FashionMNIST
    from minigrad.models import load_model

    p = argparse.ArgumentParser(prog="minigrad-eval", description=main.__doc__)
    p.add_argument("model", help="a model file written by minigrad-train (best.safetensors)")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], help="default: the model's own")
    p.add_argument("--split", choices=["test", "train"], default="test")
    p.add_argument("--data-dir", help="directory with mnist/ and fashion-mnist/ (default: $MINIGRAD_DATA, ...)")
    p.add_argument("--images", help="your own images: .npz (images uint8 N x H x W, labels) or an IDX file")
    p.add_argument("--labels", help="IDX labels file for --images")
    p.add_argument("--noise", help="noise applied before normalising, e.g. gaussian:0.5, salt-pepper:0.2, "
                   "speckle:0.8, or several joined by '+'")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--batch-size", type=positive_int, default=500)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--threads", type=positive_int, help="CPU threads for the kernels")
    args = p.parse_args(argv)

    try:
        device = resolve_device(args.device)
        if args.threads:
            minigrad.set_num_threads(args.threads)
        model = load_model(args.model).to(device)
        info = model.info
        if args.images:
            x, y = load_images(args.images, args.labels)
            source = args.images
        else:
            dataset = args.dataset or info.dataset
            cls = {"mnist": MNIST, "fashion-mnist": FashionMNIST}[dataset]
            ds = cls(root=args.data_dir, train=args.split == "train")
            x, y = ds.data, ds.targets
            source = f"{dataset} {args.split}"
        if y.size and (y.min() < 0 or y.max() >= len(info.classes)):
            raise ValueError(f"labels must lie in [0, {len(info.classes) - 1}], found {y.min()}..{y.max()}")
        images = x[:, None].astype(np.float32) / np.float32(255)
        if args.noise:
            images = parse_noise(args.noise)(images, np.random.default_rng(args.seed))
        result = evaluate(model, _batches(info.prepare(images), y, args.batch_size, device), len(info.classes))
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"minigrad-eval: error: {exc}", file=sys.stderr)
        return 2
    noise = f", noise {args.noise}" if args.noise else ""
    print(f"{args.model} ({info.model}, trained on {info.dataset}) on {source}{noise}: {result.count} images")
    print(f"accuracy {100 * result.accuracy:.2f}%  top-5 {100 * result.top5_accuracy:.2f}%  loss {result.loss:.4f}")
    print(format_confusion(result.confusion, info.classes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
