"""The noisy-camera MNIST lab: LeNet-5 trained with and without noise augmentation, tested under noise.

    python examples/noisy_camera_mnist.py                            # 1 epoch on 20000 images each
    python examples/noisy_camera_mnist.py --noise salt-pepper        # another camera
    python examples/noisy_camera_mnist.py --epochs 1 --limit 300 --test-limit 200   # a quick look

The customer's camera adds noise that the clean MNIST training images do not have. Two LeNet-5
models are trained on the same images: one on clean images, one on images corrupted as the
camera would (each training image gets noise of a level drawn at random from the evaluation
levels, a fifth of them stay clean). Both are then tested on the test images at each noise
level; the script prints the table and plots accuracy against noise level (noisy_camera.png,
when matplotlib is installed). MNIST is found through $MINIGRAD_DATA or the user cache, or
downloaded.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import minigrad
import minigrad.nn.functional as F
from minigrad import optim
from minigrad.cli.evaluate import evaluate
from minigrad.cli.plots import can_plot
from minigrad.data import MNIST, DataLoader, Subset
from minigrad.data import transforms as T
from minigrad.models import LeNet5

NORMALIZE = T.Normalize(0.1307, 0.3081)  # MNIST's pixel mean and std
# Noise levels per kind: the std of Gaussian and speckle noise, the fraction of pixels for salt and pepper.
LEVELS = {
    "gaussian": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
    "speckle": [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0],
    "salt-pepper": [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5],
}


def noise(kind: str, level: float) -> T.Transform:
    """The library's noise transform of the given kind at one level."""
    if kind == "gaussian":
        return T.GaussianNoise(level)
    if kind == "speckle":
        return T.SpeckleNoise(level)
    return T.SaltAndPepper(level)


class RandomCameraNoise(T.Transform):
    """Augmentation: each image gets noise of one kind at a level drawn from ``levels``
    (clean with probability ``p_clean``), then the batch is normalised."""

    def __init__(self, kind: str, levels: list[float], p_clean: float = 0.2) -> None:
        self.kind = kind
        self.levels = [level for level in levels if level > 0]
        self.p_clean = p_clean

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        choice = np.where(rng.random(len(x)) < self.p_clean, -1, rng.integers(0, len(self.levels), len(x)))
        out = x.copy()
        for k, level in enumerate(self.levels):
            picked = choice == k
            if picked.any():
                out[picked] = noise(self.kind, level)(x[picked], rng)
        return NORMALIZE(out, rng)


def train(train_set, augment: T.Transform | None, epochs: int, desc: str) -> LeNet5:
    """LeNet-5 trained with SGD (Nesterov momentum, cosine schedule); ``augment`` replaces plain
    normalisation when given."""
    minigrad.manual_seed(0)  # both models start from the same weights and see the same batches
    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, transform=augment or NORMALIZE)
    model = LeNet5()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
    model.train()
    for epoch in range(1, epochs + 1):
        for images, labels in tqdm(loader, desc=f"{desc}, epoch {epoch}", leave=False):
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        print(f"{desc}: epoch {epoch} done, last batch loss {loss.item():.4f}")
    return model


def accuracy_under_noise(model: LeNet5, test_set, kind: str, level: float) -> float:
    """Test accuracy on the test images corrupted at one level (the same noise for every model)."""
    corrupt = T.Compose([noise(kind, level), NORMALIZE])
    return evaluate(model, DataLoader(test_set, batch_size=500, seed=1, transform=corrupt), 10).accuracy


def plot(kind: str, levels: list[float], results: dict[str, list[float]], path: Path) -> None:
    """Accuracy (%) against noise level, one line per model."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, accs in results.items():
        ax.plot(levels, [100 * a for a in accs], marker="o", label=name)
    ax.set(xlabel=f"{kind} noise level", ylabel="test accuracy (%)", title="LeNet-5 on a noisy camera")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", choices=list(LEVELS), default="gaussian", help="the camera's noise")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=20000, help="train on the first N images (0: all 60000)")
    parser.add_argument("--test-limit", type=int, default=5000, help="test on the first N images (0: all 10000)")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the plot")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    train_set, test_set = MNIST(train=True), MNIST(train=False)
    if args.limit:
        train_set = Subset(train_set, range(min(args.limit, len(train_set))))
    if args.test_limit:
        test_set = Subset(test_set, range(min(args.test_limit, len(test_set))))
    levels = LEVELS[args.noise]
    print(f"MNIST: {len(train_set)} training, {len(test_set)} test images; camera noise: {args.noise}")

    models = {
        "clean training": train(train_set, None, args.epochs, "clean training"),
        "noise augmentation": train(train_set, RandomCameraNoise(args.noise, levels), args.epochs,
                                    "noise augmentation"),
    }
    results = {name: [accuracy_under_noise(m, test_set, args.noise, lv) for lv in levels]
               for name, m in models.items()}

    print(f"test accuracy (%) under {args.noise} noise:")
    print(f"{'level':>6} " + " ".join(f"{name:>18}" for name in results))
    for i, level in enumerate(levels):
        print(f"{level:>6.2f} " + " ".join(f"{100 * accs[i]:>18.2f}" for accs in results.values()))

    if can_plot():
        plot(args.noise, levels, results, args.out / "noisy_camera.png")
        print(f"wrote {args.out / 'noisy_camera.png'}")
    print(f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
