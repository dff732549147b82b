"""The seeded random generator behind rand/randn/randint, dropout masks and weight init."""

from __future__ import annotations

from typing import Any

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed minigrad's generator (as torch.manual_seed); returns it."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def seed_or_draw(seed: int | None) -> int:
    """seed itself, or when None one drawn from minigrad's generator, so that manual_seed makes
    every random source repeatable (data loaders, splits, augmentation) unless given its own."""
    return int(_generator.integers(2**63)) if seed is None else seed


def generator() -> np.random.Generator:
    """The current numpy Generator (reseeding replaces it, so ask again after manual_seed)."""
    return _generator


def get_rng_state() -> dict[str, Any]:
    """The generator's state, for checkpoints."""
    return _generator.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state from get_rng_state()."""
    _generator.bit_generator.state = state
