"""Batch transforms: shape/dtype kept, statistics, determinism from a seed, clipping, bad input."""

import numpy as np
import pytest

from minigrad.data import transforms as T


def batch(shape=(6, 2, 9, 7), dtype=np.float32, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(dtype)


ALL = [
    T.Normalize(0.5, 0.25),
    T.RandomShift(2),
    T.RandomBrightnessContrast(0.3, 0.3),
    T.GaussianNoise(0.2),
    T.SaltAndPepper(0.1),
    T.SpeckleNoise(0.3),
    T.RandomErasing(p=1.0),
    T.Compose([T.RandomShift(1), T.GaussianNoise(0.1), T.Normalize([0.1, 0.2], [0.3, 0.4])]),
]
RANDOM = ALL[1:]


@pytest.mark.parametrize("transform", ALL, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_dtype_and_input_untouched(transform, dtype):
    x = batch(dtype=dtype)
    before = x.copy()
    out = transform(x, np.random.default_rng(0))
    assert out.shape == x.shape and out.dtype == dtype
    np.testing.assert_array_equal(x, before)
    single = transform(x[:1, :, :1, :1], np.random.default_rng(0))  # batch 1, 1x1 image
    assert single.shape == (1, 2, 1, 1) and single.dtype == dtype


@pytest.mark.parametrize("transform", RANDOM, ids=repr)
def test_deterministic_given_seed(transform):
    x = batch()
    a = transform(x, np.random.default_rng(5))
    b = transform(x, np.random.default_rng(5))
    c = transform(x, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, x)
    assert transform(x).shape == x.shape  # rng=None: a fresh generator


@pytest.mark.parametrize(
    "transform",
    [T.RandomBrightnessContrast(0.5, 0.5), T.GaussianNoise(0.5), T.SpeckleNoise(1.0)],
    ids=repr,
)
def test_clipped_to_unit_range_unless_asked_not_to(transform):
    x = batch()
    out = transform(x, np.random.default_rng(0))
    assert out.min() >= 0.0 and out.max() <= 1.0
    transform.clip = False
    raw = transform(x, np.random.default_rng(0))
    assert raw.min() < 0.0 or raw.max() > 1.0
    np.testing.assert_array_equal(np.clip(raw, 0, 1), out)


def test_normalize_per_channel():
    x = batch((3, 2, 4, 4), np.float64)
    out = T.Normalize([0.1, 0.2], [0.5, 2.0])(x)
    np.testing.assert_allclose(out[:, 0], (x[:, 0] - 0.1) / 0.5)
    np.testing.assert_allclose(out[:, 1], (x[:, 1] - 0.2) / 2.0)
    with pytest.raises(ValueError, match="Normalize: 3 mean values for 2 channels"):
        T.Normalize([0.1, 0.2, 0.3], 1.0)(x)
    with pytest.raises(ValueError, match="Normalize: .*std > 0"):
        T.Normalize(0.0, 0.0)


def _shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Reference: out[y, x] = image[y - dy, x - dx], zero outside."""
    out = np.zeros_like(image)
    h, w = image.shape[-2:]
    for y in range(h):
        for x in range(w):
            if 0 <= y - dy < h and 0 <= x - dx < w:
                out[..., y, x] = image[..., y - dy, x - dx]
    return out


def test_random_shift_matches_reference_and_covers_all_shifts():
    m = 2
    x = batch((60, 2, 5, 6), np.float64) + 0.1  # no zeros: every shift is recognisable
    out = T.RandomShift(m)(x, np.random.default_rng(1))
    seen = set()
    for image, result in zip(x, out, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-m, m + 1)
            for dx in range(-m, m + 1)
            if np.array_equal(result, _shifted(image, dy, dx))
        ]
        assert len(matches) == 1  # both channels shifted alike, by one in-range shift
        seen.add(matches[0])
    assert len(seen) >= 20  # nearly all 25 shifts occur in 60 draws
    np.testing.assert_array_equal(T.RandomShift(0)(x), x)
    big = T.RandomShift(10)(x, np.random.default_rng(0))  # shifts beyond the image: all zeros ok
    assert big.shape == x.shape


def test_brightness_contrast_per_image():
    x = np.full((200, 1, 4, 4), 0.5)
    x[:, :, :2] = 0.3  # two-level images
    out = T.RandomBrightnessContrast(brightness=0.1, contrast=0.0)(x, np.random.default_rng(0))
    offsets = (out - x).reshape(200, -1)
    np.testing.assert_allclose(offsets, offsets[:, :1].repeat(16, axis=1), atol=1e-12)
    assert np.abs(offsets).max() <= 0.1 and offsets.std() > 0.04  # ~U(-0.1, 0.1): std 0.058
    out = T.RandomBrightnessContrast(brightness=0.0, contrast=0.5)(x, np.random.default_rng(0))
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0.4)  # contrast keeps the mean
    spread = out[:, 0, 3, 0] - out[:, 0, 0, 0]  # 0.2 * factor, factor ~ U(0.5, 1.5)
    assert 0.1 - 1e-9 <= spread.min() and spread.max() <= 0.3 + 1e-9 and spread.std() > 0.04
    identity = T.RandomBrightnessContrast(0.0, 0.0)(x, np.random.default_rng(0))
    np.testing.assert_allclose(identity, x)


def test_gaussian_noise_statistics():
    x = np.full((64, 1, 32, 32), 0.5, np.float32)
    noise = T.GaussianNoise(0.1, clip=False)(x, np.random.default_rng(0)) - x
    assert abs(noise.mean()) < 0.002 and abs(noise.std() - 0.1) < 0.002


def test_speckle_noise_statistics():
    x = np.full((64, 1, 32, 32), 0.4, np.float64)
    x[:, :, :4] = 0.0
    out = T.SpeckleNoise(0.2, clip=False)(x, np.random.default_rng(0))
    np.testing.assert_array_equal(out[:, :, :4], 0.0)  # multiplicative: black stays black
    relative = (out[:, :, 4:] - 0.4) / 0.4
    assert abs(relative.mean()) < 0.005 and abs(relative.std() - 0.2) < 0.005


def test_salt_and_pepper_fractions():
    x = np.full((64, 1, 32, 32), 0.5, np.float32)
    out = T.SaltAndPepper(0.2)(x, np.random.default_rng(0))
    salt, pepper = (out == 1.0).mean(), (out == 0.0).mean()
    assert abs(salt - 0.1) < 0.005 and abs(pepper - 0.1) < 0.005
    assert np.all((out == 0.5) | (out == 0.0) | (out == 1.0))
    only_salt = T.SaltAndPepper(0.3, salt_ratio=1.0)(x, np.random.default_rng(0))
    assert abs((only_salt == 1.0).mean() - 0.3) < 0.005 and not np.any(only_salt == 0.0)
    np.testing.assert_array_equal(T.SaltAndPepper(0.0)(x), x)


def test_random_erasing_rectangles():
    h, w = 20, 24
    x = np.ones((300, 3, h, w), np.float32)
    scale = (0.05, 0.2)
    out = T.RandomErasing(p=1.0, scale=scale, value=0.0)(x, np.random.default_rng(0))
    erased = out == 0.0
    assert np.array_equal(erased[:, 0], erased[:, 1]) and np.array_equal(erased[:, 0], erased[:, 2])
    fractions = []
    for mask in erased[:, 0]:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert rows.size and cols.size  # every image erased with p=1 (the draws fit easily)
        box = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        assert box.all() and mask.sum() == box.size  # one solid rectangle
        fractions.append(mask.mean())
    fractions = np.array(fractions)
    assert fractions.min() > scale[0] * 0.6 and fractions.max() < scale[1] * 1.4  # rounding
    assert fractions.std() > 0.02
    half = T.RandomErasing(p=0.5)(x, np.random.default_rng(0))
    assert 0.4 < (half == 0).any(axis=(1, 2, 3)).mean() < 0.6
    np.testing.assert_array_equal(T.RandomErasing(p=0.0)(x), x)
    filled = T.RandomErasing(p=1.0, value=0.25)(x, np.random.default_rng(0))
    assert set(np.unique(filled)) == {0.25, 1.0}


def test_random_erasing_skips_images_where_nothing_fits():
    x = np.ones((50, 1, 2, 2))  # any rectangle of >= 1 pixel with h < 2 and w < 2 is 1x1
    out = T.RandomErasing(p=1.0, scale=(0.9, 1.0), ratio=(1.0, 1.0))(x, np.random.default_rng(0))
    np.testing.assert_array_equal(out, x)  # 2x2 boxes never fit (torchvision: h < H, w < W)


def test_compose_applies_in_order_with_one_generator():
    x = batch()
    shift, noise = T.RandomShift(1), T.GaussianNoise(0.1)
    rng = np.random.default_rng(3)
    expected = noise(shift(x, rng), rng)
    np.testing.assert_array_equal(T.Compose([shift, noise])(x, np.random.default_rng(3)), expected)


def test_bad_input_and_parameters():
    with pytest.raises(TypeError, match="GaussianNoise: expected a float32/float64"):
        T.GaussianNoise(0.1)(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(TypeError, match="RandomShift: expected"):
        T.RandomShift(1)([[[[0.0]]]])
    with pytest.raises(ValueError, match=r"SaltAndPepper: expected a batch of shape \(B, C, H, W\)"):
        T.SaltAndPepper(0.1)(np.zeros((2, 2, 2)))
    bad = [
        (T.RandomShift, (-1,), "RandomShift: max_shift"),
        (T.RandomShift, (1.5,), "RandomShift: max_shift"),
        (T.GaussianNoise, (-0.1,), "GaussianNoise: std"),
        (T.SpeckleNoise, (-1,), "SpeckleNoise: std"),
        (T.SaltAndPepper, (1.5,), "SaltAndPepper: amount"),
        (T.RandomBrightnessContrast, (2.0, 0.1), "RandomBrightnessContrast: brightness"),
        (T.RandomErasing, (1.2,), "RandomErasing: p"),
        (T.RandomErasing, (0.5, (0.5, 0.1)), "RandomErasing: need"),
    ]
    for cls, args, message in bad:
        with pytest.raises(ValueError, match=message):
            cls(*args)
