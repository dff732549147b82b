"""The Fashion-MNIST lab: a small CNN with BatchNorm and Dropout, trained with SGD + momentum.

    python examples/fashion_mnist_lab.py                         # 3 epochs on 12000 images
    python examples/fashion_mnist_lab.py --epochs 1 --limit 500  # a quick look

Prints the train/validation loss and accuracy per epoch, the test accuracy and the confusion
matrix; writes the curves and the confusion matrix as PNGs (when matplotlib is installed) and
the trained weights twice: fashion_cnn.safetensors and model.pt (PyTorch's own format, so
``torch.load("model.pt", weights_only=True)`` reads it). Fashion-MNIST is found through
$MINIGRAD_DATA or the user cache, or downloaded.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.cli.evaluate import EvalResult, evaluate, format_confusion
from minigrad.cli.plots import can_plot, plot_confusion, plot_curves
from minigrad.data import DataLoader, FashionMNIST, Subset, random_split
from minigrad.data import transforms as T

NORMALIZE = T.Normalize(0.2860, 0.3530)  # Fashion-MNIST's pixel mean and std


class MyNet(nn.Module):
    """Two conv blocks (conv 3x3, BatchNorm, ReLU, 2x2 max pool), then Dropout and two Linear layers."""

    def __init__(self, num_classes: int = 10, width: int = 16, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 7x7
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(2 * width * 7 * 7, 128),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: minigrad.Tensor) -> minigrad.Tensor:
        return self.classifier(self.features(x))


def classify(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """Class indices for float images (N, 1, 28, 28) in [0, 1], as the lab's ``classify`` asks."""
    model.eval()
    with minigrad.no_grad():
        return model(minigrad.from_numpy(NORMALIZE(images.astype(np.float32)))).argmax(dim=1).numpy()


def train_epoch(model: nn.Module, loader: DataLoader, optimizer: optim.Optimizer, desc: str) -> tuple[float, float]:
    """One pass over loader; returns the mean training loss and accuracy (dropout on)."""
    model.train()
    total_loss, correct, count = 0.0, 0, 0
    for images, labels in tqdm(loader, desc=desc, leave=False):
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        correct += (logits.argmax(dim=1) == labels).sum().item()
        count += len(labels)
    return total_loss / count, correct / count


def differences(state: dict, loaded: dict) -> list[str]:
    """The keys whose shape or values differ between two state dicts (as 'key: shape vs shape')."""
    return [f"{k}: {tuple(v.shape)} vs {tuple(loaded[k].shape)}" for k, v in state.items()
            if tuple(v.shape) != tuple(loaded[k].shape) or not np.array_equal(v.numpy(), loaded[k].numpy())]


def save_model(model: nn.Module, out: Path) -> None:
    """Write the weights as safetensors and as a .pt file, and read both back to check they round-trip."""
    state = model.state_dict()
    for name in ("fashion_cnn.safetensors", "model.pt"):
        minigrad.save(state, out / name)
        wrong = differences(state, minigrad.load(out / name))
        print(f"saved {out / name} ({(out / name).stat().st_size} bytes); minigrad.load reads it back "
              + (f"with differences: {'; '.join(wrong)}" if wrong else "identically"))
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed here; model.pt is in torch.save's zip format for torch.load")
        return
    wrong = differences(state, torch.load(out / "model.pt", weights_only=True))
    print(f"torch.load('model.pt', weights_only=True) reads {len(state)} tensors, "
          + (f"with differences: {'; '.join(wrong)}" if wrong else "all equal to the model's"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=12000, help="use the first N training images (0: all 60000)")
    parser.add_argument("--test-limit", type=int, default=0, help="use the first N test images (0: all 10000)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="part of the training images held out")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the PNGs and model files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    minigrad.manual_seed(0)
    full_train, test_set = FashionMNIST(train=True), FashionMNIST(train=False)
    classes = list(full_train.classes)
    if args.limit:
        full_train = Subset(full_train, range(min(args.limit, len(full_train))))
    if args.test_limit:
        test_set = Subset(test_set, range(min(args.test_limit, len(test_set))))
    n_val = max(1, round(args.val_fraction * len(full_train)))
    train_set, val_set = random_split(full_train, [len(full_train) - n_val, n_val], seed=0)
    print(f"Fashion-MNIST: {len(train_set)} training, {len(val_set)} validation, {len(test_set)} test images")

    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=0, transform=NORMALIZE)
    val_loader = DataLoader(val_set, batch_size=500, transform=NORMALIZE)
    test_loader = DataLoader(test_set, batch_size=500, transform=NORMALIZE)

    model = MyNet(num_classes=len(classes))
    print(f"MyNet: {sum(p.numel() for p in model.parameters())} parameters")
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=5e-4)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    history = []
    for epoch in range(1, args.epochs + 1):
        train_loss, train_acc = train_epoch(model, train_loader, optimizer, f"epoch {epoch}")
        scheduler.step()
        val: EvalResult = evaluate(model, val_loader, len(classes))
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val.loss,
                        "train_acc": train_acc, "val_acc": val.accuracy})
        print(f"epoch {epoch}: train loss {train_loss:.4f} acc {100 * train_acc:.2f}% | "
              f"val loss {val.loss:.4f} acc {100 * val.accuracy:.2f}%")

    test = evaluate(model, test_loader, len(classes))
    print(f"test accuracy {100 * test.accuracy:.2f}% on {test.count} images (loss {test.loss:.4f})")
    print("confusion matrix (rows: true class, columns: predicted):")
    print(format_confusion(test.confusion, classes))
    images, labels = test_set.get_batch(np.arange(min(8, len(test_set))))
    print("classify() on the first test images:")
    for predicted, label in zip(classify(model, images), labels, strict=True):
        print(f"  {classes[predicted]:<12} (true: {classes[label]})")

    if can_plot():
        plot_curves(history, args.out / "fashion_curves.png")
        plot_confusion(test.confusion, classes, args.out / "fashion_confusion.png")
        print(f"wrote {args.out / 'fashion_curves.png'} and {args.out / 'fashion_confusion.png'}")
    save_model(model, args.out)
    print(f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
