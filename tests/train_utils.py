"""Small generated MNIST-like data sets laid out like $MINIGRAD_DATA, for the training tests."""

import functools
import json
from pathlib import Path

import numpy as np

from minigrad.data import datasets
from minigrad.data.idx import write_idx

TIMING_COLUMNS = ("epoch_time_s", "images_per_s")
STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def learnable_images(n: int, seed: int, templates_seed: int = 123) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 28, 28) images and labels: a fixed blob pattern per class plus noise, so models learn."""
    templates = np.random.default_rng(templates_seed).random((10, 28, 28)) < 0.25
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = 200 * templates[labels] + rng.integers(0, 56, (n, 28, 28))
    return images.astype(np.uint8), labels.astype(np.uint8)


def metrics(out: Path) -> dict:
    """A run's metrics.json without what varies between identical runs (timings, the output folder)."""
    data = json.loads((out / "metrics.json").read_text())
    for row in data["epochs"]:
        for key in TIMING_COLUMNS:
            row.pop(key)
    data["settings"].pop("out")
    return data


def make_data_dir(root: Path, monkeypatch, n_train: int = 256, n_test: int = 100) -> Path:
    """root/mnist and root/fashion-mnist with generated IDX files; their checksums installed
    in minigrad.data.datasets.CHECKSUMS for the test's duration. Returns root."""
    arrays = dict(zip(STEMS, (*learnable_images(n_train, 1), *learnable_images(n_test, 2)), strict=True))
    for folder in ("mnist", "fashion-mnist"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        sums = {stem: write_idx(root / folder / f"{stem}.gz", a) for stem, a in arrays.items()}
        monkeypatch.setitem(datasets.CHECKSUMS, folder, sums)
    monkeypatch.setenv("MINIGRAD_DATA", str(root))
    return root


@functools.cache
def real_mnist_available() -> bool:
    """Whether the real MNIST is where minigrad finds data without the network ($MINIGRAD_DATA,
    the user cache that minigrad-train fills, system data folders), checksums verified."""
    from minigrad.data import MNIST, DatasetNotFoundError

    try:
        MNIST(train=False, download=False)
    except (DatasetNotFoundError, OSError, ValueError):
        return False
    return True


def same_minigrad_env() -> dict:
    """The environment for a `python -c` subprocess that imports the same minigrad as these tests
    (installed, developer or emulated build); run it outside the repository (cwd=tmp_path), or the
    uncompiled ./minigrad would come first on its sys.path."""
    import os

    import minigrad

    # not resolve(): a build variant's package (build/*/pkg) links to the sources
    return {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(minigrad.__file__)))}
