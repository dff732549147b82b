"""PNG plots of a training run (matplotlib is optional: without it nothing is drawn, and the
first attempt says so on stderr)."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minigrad.nn import Conv2d, Module

__all__ = ["can_plot", "write_plots", "plot_curves", "plot_filters", "plot_confusion"]


try:  # Figure draws off screen without pyplot's global state (and its slow import)
    from matplotlib.figure import Figure
except ImportError:
    Figure = None

_missing_notice_shown = False


def can_plot() -> bool:
    """Whether matplotlib is installed; when it is not, one line on stderr says the plots are
    skipped (once per process)."""
    global _missing_notice_shown
    if Figure is None and not _missing_notice_shown:
        _missing_notice_shown = True
        print("minigrad: matplotlib is not installed, so no plots are drawn (pip install matplotlib)",
              file=sys.stderr)
    return Figure is not None


def plot_curves(history: Sequence[dict], path: Path) -> None:
    """Loss and top-1 error per epoch, train and validation."""
    epochs = [row["epoch"] for row in history]
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_err = fig.subplots(1, 2)
    for key, label in (("train_loss", "train"), ("val_loss", "val")):
        ax_loss.plot(epochs, [row[key] for row in history], marker="o", label=label)
    for key, label in (("train_acc", "train"), ("val_acc", "val")):
        ax_err.plot(epochs, [100 * (1 - row[key]) for row in history], marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_err.set(xlabel="epoch", ylabel="top-1 error (%)", title="error", yscale="log")
    for ax in (ax_loss, ax_err):
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_filters(weight: np.ndarray, path: Path) -> None:
    """A conv weight (C_out, C_in, KH, KW) as a grid of C_out images (first input channel)."""
    filters = weight[:, 0]
    cols = math.ceil(math.sqrt(len(filters)))
    rows = math.ceil(len(filters) / cols)
    fig = Figure(figsize=(1.2 * cols, 1.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, f in zip(axes.flat, filters, strict=False):
        limit = np.abs(f).max() or 1.0
        ax.imshow(f, cmap="bwr", vmin=-limit, vmax=limit)
    fig.suptitle("first conv layer filters")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_confusion(confusion: np.ndarray, classes: Sequence[str], path: Path) -> None:
    """The confusion matrix with counts (rows: true class, columns: predicted)."""
    n = len(classes)
    fig = Figure(figsize=(1 + 0.6 * n, 1 + 0.6 * n))
    ax = fig.subplots()
    ax.imshow(np.log1p(confusion), cmap="Blues")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if i == j else "black")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true", title="confusion matrix")
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_plots(
    out: Path, history: Sequence[dict], model: Module, confusion: np.ndarray, classes: Sequence[str]
) -> list[Path]:
    """curves.png, filters.png (when the model has a conv layer) and confusion.png in out;
    returns the files written, none when matplotlib is not installed."""
    if not history or not can_plot():
        return []
    out = Path(out)
    written = [out / "curves.png", out / "confusion.png"]
    plot_curves(history, written[0])
    plot_confusion(confusion, classes, written[1])
    conv = next((m for m in model.modules() if isinstance(m, Conv2d)), None)
    if conv is not None:
        plot_filters(conv.weight.detach().numpy(), out / "filters.png")
        written.append(out / "filters.png")
    return written
