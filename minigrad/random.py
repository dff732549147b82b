"""The seeded random generator behind rand/randn/randint, dropout masks and weight init, and
Generator objects of one's own (torch.Generator) for the functions that take ``generator=``."""

from __future__ import annotations

from typing import Any

import numpy as np

# PyTorch's default seed: a Generator nobody seeds gives the same numbers in every run, as in PyTorch.
_DEFAULT_GENERATOR_SEED = 67280421310721


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().entropy) % 2**63


def _check_seed(seed: Any) -> int:
    """int(seed) (as torch.manual_seed takes it), wrapped into [0, 2**64) when negative."""
    value = int(seed)
    if not -(2**63) <= value < 2**64:
        raise ValueError(f"manual_seed: seed {value} is outside [-2**63, 2**64)")
    return value % 2**64


_initial_seed = _fresh_seed()
_generator = np.random.default_rng(_initial_seed)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed minigrad's generator (as torch.manual_seed); returns it. One generator serves the CPU
    and the CUDA device, so this also seeds what torch.cuda.manual_seed would."""
    global _generator, _initial_seed
    _initial_seed = _check_seed(seed)
    _generator = np.random.default_rng(_initial_seed)
    return _generator


def seed() -> int:
    """Reseed minigrad's generator from fresh entropy (as torch.seed); returns the seed."""
    manual_seed(_fresh_seed())
    return _initial_seed


def initial_seed() -> int:
    """The seed minigrad's generator was last seeded with (as torch.initial_seed)."""
    return _initial_seed


def seed_or_draw(seed: int | None, generator: Generator | None = None) -> int:
    """seed itself, or when None one drawn from ``generator`` (by default minigrad's generator), so
    that manual_seed makes every random source repeatable (data loaders, splits, augmentation)
    unless given its own."""
    if seed is not None and generator is not None:
        raise ValueError("pass seed= or generator=, not both")
    return int(rng(generator).integers(2**63)) if seed is None else seed


def generator() -> np.random.Generator:
    """The current numpy Generator (reseeding replaces it, so ask again after manual_seed)."""
    return _generator


def rng(generator: Generator | None) -> np.random.Generator:
    """The numpy Generator a sampling function draws from: ``generator``'s, or minigrad's own."""
    if generator is None:
        return _generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a minigrad.Generator, got {type(generator).__name__}")
    return generator._rng


def get_rng_state() -> dict[str, Any]:
    """The generator's state, for checkpoints (a dict, where PyTorch gives a ByteTensor)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state from get_rng_state()."""
    _generator.bit_generator.state = state


class Generator:
    """A random generator of one's own, as torch.Generator: ``Generator().manual_seed(42)`` passed
    as ``generator=`` to rand/randn/randint/randperm/bernoulli/multinomial, Tensor.uniform_/normal_,
    random_split, DataLoader and the samplers draws from it instead of minigrad's generator. Unseeded
    it starts from PyTorch's default seed (the numbers differ from PyTorch's: minigrad draws through
    numpy's PCG64). ``device`` is recorded; one kind of generator serves both devices."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = str(device)
        self.manual_seed(_DEFAULT_GENERATOR_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns the generator itself (``Generator().manual_seed(0)``). An integer only:
        PyTorch's Generator refuses floats, bools and tensors with a RuntimeError (unlike
        minigrad.manual_seed, which takes int(seed), as torch.manual_seed)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        self._seed = _check_seed(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy; returns the seed."""
        self.manual_seed(_fresh_seed())
        return self._seed

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """The generator's state (a dict)."""
        return self._rng.bit_generator.state

    def set_state(self, state: dict[str, Any]) -> Generator:
        """Restore a state from get_state(); returns the generator."""
        self._rng.bit_generator.state = state
        return self

    def __repr__(self) -> str:
        return f"<minigrad.Generator device={self.device!r} seed={self._seed}>"


class _DefaultGenerator(Generator):
    """minigrad's own generator as a Generator object (torch.default_generator): seeding it is
    minigrad.manual_seed, its state is get_rng_state's, and passing it as ``generator=`` draws
    from the numbers rand/randn and the rest draw from."""

    def __init__(self) -> None:
        self.device = "cpu"

    @property
    def _rng(self) -> np.random.Generator:  # reseeding replaces the module's generator: ask each time
        return _generator

    @property
    def _seed(self) -> int:
        return _initial_seed

    def manual_seed(self, seed: int) -> Generator:
        """minigrad.manual_seed(seed) (an integer only, as torch.Generator.manual_seed); returns self."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        manual_seed(seed)
        return self

    def seed(self) -> int:
        """minigrad.seed(): reseed from fresh entropy; returns the seed."""
        return seed()

    def __repr__(self) -> str:
        return f"<minigrad.default_generator seed={_initial_seed}>"


default_generator: Generator = _DefaultGenerator()
