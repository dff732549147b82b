"""minigrad.accelerator, as torch.accelerator: the current accelerator is CUDA when it is usable
(a GPU, or the test-only emulator), else there is none and code falls back to the CPU:

    device = minigrad.accelerator.current_accelerator().type if minigrad.accelerator.is_available() else "cpu"
"""

from __future__ import annotations

from minigrad import _C, cuda
from minigrad.backend import device


def is_available() -> bool:
    """Whether an accelerator (a usable CUDA device) is present."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """device("cuda") in a build with CUDA, else None; with check_available, None too when no device
    is usable (torch.accelerator.current_accelerator's rule)."""
    if not _C.build_info().get("cuda") or (check_available and not cuda.is_available()):
        return None
    return device("cuda")


def device_count() -> int:
    """The number of usable accelerator devices."""
    return cuda.device_count() if cuda.is_available() else 0
