"""PyTorch's numbers for the differential tests, live or recorded, so they run without PyTorch.

A test module makes one `torch_reference = TorchReference(__name__)` and asks it for PyTorch's
results by a stable key: `torch_reference("layer/Linear/float32", compute)`, where
`compute(torch)` returns a dict of named results (tensors or arrays) from inputs the test made
with seeded numpy. The results of a module live in tests/fixtures/torch_reference/<module>.npz.

- PyTorch importable: `compute` runs (after torch.manual_seed(0), so PyTorch's own random
  initialisations are reproducible) and its results must match the recorded ones, so a fixture
  cannot go stale silently: a mismatch or a missing key fails and says how to re-record.
- PyTorch absent (or MINIGRAD_TEST_WITHOUT_TORCH=1, see conftest.py): the recorded results.
- MINIGRAD_RECORD_TORCH_REFERENCE=1: `compute` runs and its results are written at the end of
  the session (conftest.py calls write_recorded()); tools/record_torch_reference.py re-records
  every module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "torch_reference"
RECORDING = os.environ.get("MINIGRAD_RECORD_TORCH_REFERENCE") == "1"
RERECORD = "re-record with `python tools/record_torch_reference.py` (needs PyTorch)"
_SEP = "::"  # between a key and a result's name inside the .npz
_ALL: list[TorchReference] = []


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch.Tensor
        value = value.detach().cpu().numpy()
    return np.array(value)  # a copy: callers may keep torch's buffers alive otherwise


def as_array(value: Any) -> np.ndarray:
    """A result of either library as an array: a tensor brought to the host, a tuple (values and
    indices, say) stacked (numpy's promotion: float64 for those two), anything else through
    np.asarray (dtype kept)."""
    if isinstance(value, tuple):
        return np.stack([as_array(v) for v in value])
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def assert_matches(got: np.ndarray, want: np.ndarray, name: str, zero_signs: bool = False) -> None:
    """minigrad's result against PyTorch's: same shape and dtype, floats to 1e-6 (float32) or
    1e-12 (float64) and, with zero_signs, zeros of the same sign; other dtypes exactly."""
    assert got.shape == want.shape and got.dtype == want.dtype, (name, got.shape, want.shape, got.dtype, want.dtype)
    if got.dtype.kind == "f":
        if zero_signs:
            assert np.array_equal(np.signbit(got[got == 0]), np.signbit(want[want == 0])), f"{name}: signs of zeros"
        tol = 1e-6 if got.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)
    else:
        np.testing.assert_array_equal(got, want, err_msg=name)


def _assert_same(recorded: np.ndarray, live: np.ndarray, where: str) -> None:
    """Live PyTorch against its recording: equal up to rounding (threads may sum in another order)."""
    message = f"PyTorch's result {where} differs from the recording; {RERECORD}"
    assert recorded.shape == live.shape and recorded.dtype == live.dtype, message
    if live.dtype.kind != "f":
        np.testing.assert_array_equal(live, recorded, err_msg=message)
        return
    scale = float(np.abs(recorded[np.isfinite(recorded)]).max(initial=1.0))
    rtol = 1e-9 if live.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(live, recorded, rtol=rtol, atol=rtol * scale, err_msg=message)


class TorchReference:
    """The recorded PyTorch results of one test module (see the module docstring)."""

    def __init__(self, module_name: str) -> None:
        self.path = FIXTURES / f"{module_name.rpartition('.')[2]}.npz"
        self._recorded: dict[str, dict[str, np.ndarray]] | None = None
        self._live: dict[str, dict[str, np.ndarray]] = {}  # computed this session, by key
        _ALL.append(self)

    def recorded(self) -> dict[str, dict[str, np.ndarray]]:
        """Every recorded key's results (loaded once)."""
        if self._recorded is None:
            self._recorded = {}
            if self.path.exists():
                with np.load(self.path) as npz:
                    for entry in npz.files:
                        key, _, name = entry.rpartition(_SEP)
                        self._recorded.setdefault(key, {})[name] = npz[entry]
        return self._recorded

    def __call__(self, key: str, compute: Callable[[Any], Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """PyTorch's results for `key`: live from `compute(torch)` (checked against the recording),
        or recorded when PyTorch is absent."""
        torch = _torch()
        if torch is None:
            if RECORDING:
                pytest.fail("MINIGRAD_RECORD_TORCH_REFERENCE=1 needs PyTorch")
            if key not in self.recorded():
                pytest.fail(f"no recorded PyTorch reference {key!r} in {self.path}; {RERECORD}")
            return self.recorded()[key]
        if key not in self._live:
            torch.manual_seed(0)
            live = {name: _to_numpy(value) for name, value in compute(torch).items()}
            if not RECORDING:
                recorded = self.recorded().get(key)
                if recorded is None or recorded.keys() != live.keys():
                    pytest.fail(f"the recording of {key!r} in {self.path} is missing or has other results; {RERECORD}")
                for name, value in live.items():
                    _assert_same(recorded[name], value, f"{key!r} {name!r} ({self.path.name})")
            self._live[key] = live
        return self._live[key]

    def write_recorded(self) -> None:
        """Merge this session's results into the module's .npz (recording mode only)."""
        if not self._live:
            return
        merged = {**self.recorded(), **self._live}
        FIXTURES.mkdir(parents=True, exist_ok=True)
        arrays = {f"{key}{_SEP}{name}": value for key, results in merged.items() for name, value in results.items()}
        np.savez_compressed(self.path, **dict(sorted(arrays.items())))


def write_recorded() -> None:
    """Write every module's new recordings, when recording (conftest.py calls this at the end)."""
    if RECORDING:
        for reference in _ALL:
            reference.write_recorded()
