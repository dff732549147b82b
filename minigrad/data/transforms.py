"""Data augmentation and noise, vectorised over a batch in numpy.

Every transform is a callable ``t(x, rng=None) -> array`` on a float32 or
float64 array of shape (B, C, H, W), returning a new array of the same shape
and dtype (the input is never modified). Random transforms draw from ``rng``
(a numpy Generator; minigrad's global generator when None), each sample
independently. Images are assumed to lie in [0, 1] (as the MNIST datasets
give them): transforms documented as clipping clip their output to [0, 1], so
apply noise and colour changes before Normalize.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minigrad import random as _random

__all__ = [
    "Transform",
    "Compose",
    "ToTensor",
    "Normalize",
    "RandomShift",
    "RandomBrightnessContrast",
    "GaussianNoise",
    "SaltAndPepper",
    "SpeckleNoise",
    "RandomErasing",
]


class Transform:
    """Base class: checks the batch, supplies a generator, calls ``apply``."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        name = type(self).__name__
        if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"{name}: expected a float32/float64 numpy array, got {getattr(x, 'dtype', type(x).__name__)}"
            )
        if x.ndim != 4:
            raise ValueError(f"{name}: expected a batch of shape (B, C, H, W), got {x.shape}")
        return self.apply(x, _random.generator() if rng is None else rng)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _check_range(name: str, what: str, value: float, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ValueError(f"{name}: {what} must lie in [{low}, {high}], got {value}")
    return float(value)


def _clip(x: np.ndarray, clip: bool) -> np.ndarray:
    return np.clip(x, 0.0, 1.0, out=x) if clip else x


class Compose(Transform):
    """Apply transforms in order, sharing one generator."""

    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for t in self.transforms:
            x = t(x, rng)
        return x


class ToTensor(Transform):
    """torchvision's ToTensor, for ported pipelines: a uint8 image (H, W) or (H, W, C) (or anything
    numpy turns into one, a PIL image too) becomes float32 (C, H, W) scaled to [0, 1]. The data sets
    here already give float images in [0, 1] ((1, H, W) each, (B, 1, H, W) batches), which pass
    unchanged, so ``transform=ToTensor()`` and ``Compose([ToTensor(), Normalize(...)])`` mean what
    they mean with torchvision."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        a = np.asarray(x)
        if a.dtype == np.uint8 and a.ndim in (2, 3):
            chw = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
            return np.ascontiguousarray(chw, dtype=np.float32) / np.float32(255)
        if a.dtype in (np.float32, np.float64) and a.ndim in (3, 4):
            return a
        raise TypeError(
            "ToTensor: expected a uint8 image (H, W) or (H, W, C), or float images (C, H, W) / (B, C, H, W) "
            f"already in [0, 1]; got {a.dtype} with shape {a.shape}"
        )

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x


class Normalize(Transform):
    """``(x - mean) / std``, per channel (scalars or sequences of length C)."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1 or np.any(self.std <= 0):
            raise ValueError(f"Normalize: mean/std must be scalars or 1-D, std > 0; got {mean}, {std}")

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        channels = x.shape[1]
        for what, v in (("mean", self.mean), ("std", self.std)):
            if len(v) not in (1, channels):
                raise ValueError(f"Normalize: {len(v)} {what} values for {channels} channels")
        mean = self.mean.astype(x.dtype).reshape(1, -1, 1, 1)
        std = self.std.astype(x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std


class RandomShift(Transform):
    """Shift each image by a random whole number of pixels in [-max_shift, max_shift]
    along each axis, filling the uncovered border with zeros ("jitter")."""

    def __init__(self, max_shift: int = 2) -> None:
        if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be an integer >= 0, got {max_shift!r}")
        self.max_shift = int(max_shift)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        m = self.max_shift
        b, c, h, w = x.shape
        shifts = rng.integers(-m, m + 1, size=(2, b))
        padded = np.pad(x, ((0, 0), (0, 0), (m, m), (m, m)))
        # out[y, x] = in[y - dy, x - dx], i.e. padded[y - dy + m, x - dx + m].
        rows = (m - shifts[0])[:, None] + np.arange(h)  # (B, H)
        cols = (m - shifts[1])[:, None] + np.arange(w)  # (B, W)
        return padded[
            np.arange(b)[:, None, None, None],
            np.arange(c)[None, :, None, None],
            rows[:, None, :, None],
            cols[:, None, None, :],
        ]


class RandomBrightnessContrast(Transform):
    """Per image: scale the contrast about the image mean by a factor in
    [1 - contrast, 1 + contrast], then add a brightness offset in
    [-brightness, brightness]. Clipped to [0, 1] when ``clip``."""

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2, clip: bool = True) -> None:
        self.brightness = _check_range("RandomBrightnessContrast", "brightness", brightness, 0, 1)
        self.contrast = _check_range("RandomBrightnessContrast", "contrast", contrast, 0, 1)
        self.clip = clip

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        shape = (x.shape[0], 1, 1, 1)
        factor = rng.uniform(1 - self.contrast, 1 + self.contrast, size=shape).astype(x.dtype)
        offset = rng.uniform(-self.brightness, self.brightness, size=shape).astype(x.dtype)
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        return _clip((x - mean) * factor + mean + offset, self.clip)


class GaussianNoise(Transform):
    """Add N(0, std^2) noise to every value. Clipped to [0, 1] when ``clip``."""

    def __init__(self, std: float, clip: bool = True) -> None:
        self.std = _check_range("GaussianNoise", "std", std, 0, np.inf)
        self.clip = clip

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal(x.shape, dtype=x.dtype)
        noise *= x.dtype.type(self.std)
        return _clip(x + noise, self.clip)


class SpeckleNoise(Transform):
    """Multiplicative noise ``x + x * n``, n ~ N(0, std^2). Clipped to [0, 1] when ``clip``."""

    def __init__(self, std: float, clip: bool = True) -> None:
        self.std = _check_range("SpeckleNoise", "std", std, 0, np.inf)
        self.clip = clip

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal(x.shape, dtype=x.dtype)
        noise *= x.dtype.type(self.std)
        return _clip(x + x * noise, self.clip)


class SaltAndPepper(Transform):
    """Replace a fraction ``amount`` of the values (each independently) by 1
    (salt, with probability ``salt_ratio``) or 0 (pepper)."""

    def __init__(self, amount: float, salt_ratio: float = 0.5) -> None:
        self.amount = _check_range("SaltAndPepper", "amount", amount, 0, 1)
        self.salt_ratio = _check_range("SaltAndPepper", "salt_ratio", salt_ratio, 0, 1)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(x.shape)
        out = x.copy()
        salt_limit = self.amount * self.salt_ratio
        out[u < salt_limit] = 1.0
        out[(u >= salt_limit) & (u < self.amount)] = 0.0
        return out


class RandomErasing(Transform):
    """With probability ``p`` per image, set a random rectangle (all channels) to ``value``.

    As torchvision's RandomErasing: the rectangle's area is a fraction in
    ``scale`` of the image, its aspect ratio (h / w) log-uniform in ``ratio``;
    up to 10 draws are made for one that fits, and the image is left alone if
    none does.
    """

    _ATTEMPTS = 10

    def __init__(
        self,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: float = 0.0,
    ) -> None:
        self.p = _check_range("RandomErasing", "p", p, 0, 1)
        if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(
                f"RandomErasing: need 0 < scale[0] <= scale[1] <= 1 and "
                f"0 < ratio[0] <= ratio[1], got scale={scale}, ratio={ratio}"
            )
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.value = float(value)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        b, _, h, w = x.shape
        draws = (b, self._ATTEMPTS)
        area = h * w * rng.uniform(*self.scale, size=draws)
        aspect = np.exp(rng.uniform(np.log(self.ratio[0]), np.log(self.ratio[1]), size=draws))
        eh = np.rint(np.sqrt(area * aspect)).astype(np.int64)
        ew = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        fits = (eh < h) & (ew < w)
        first = np.argmax(fits, axis=1)  # first draw that fits (0 when none does)
        eh, ew = eh[np.arange(b), first], ew[np.arange(b), first]
        erase = (rng.random(b) < self.p) & fits.any(axis=1)
        top = np.floor(rng.random(b) * (h - eh + 1)).astype(np.int64)
        left = np.floor(rng.random(b) * (w - ew + 1)).astype(np.int64)
        rows = np.arange(h)[None, :]
        cols = np.arange(w)[None, :]
        in_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None])  # (B, H)
        in_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])  # (B, W)
        mask = in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None]
        return np.where(mask[:, None], x.dtype.type(self.value), x)
