"""minigrad.cuda: is a CUDA device usable, and its memory.

Importing never fails: in a build without CUDA, or on a machine without a
driver or a device, is_available() is False and the queries say so. In the
test-only emulated build (MINIGRAD_CUDA=EMULATE) the "device" is the SIMT
emulator running the CUDA kernels on the CPU; is_emulated() is True there.

minigrad.cuda.amp is PyTorch's torch.cuda.amp (minigrad/_cuda_amp.py).
"""

from __future__ import annotations

import sys

from minigrad import _C
from minigrad import random as _random
from minigrad.backend import cuda_unavailable_reason

_cuda = getattr(_C, "cuda", None)


def is_available() -> bool:
    """Whether device="cuda" can be used (a device, or the emulator)."""
    return not cuda_unavailable_reason()


def device_count() -> int:
    """Number of usable CUDA devices (0 without a CUDA build, a driver or a device)."""
    return _cuda.device_count() if _cuda is not None else 0


def _require(what: str):
    reason = cuda_unavailable_reason()
    if reason:
        raise RuntimeError(f"minigrad.cuda.{what}: CUDA is not available: {reason}")
    return _cuda


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: minigrad has no bfloat16 on any device (as torch.cuda.is_bf16_supported on a device
    without it), so code choosing its autocast dtype by this asks for float16."""
    return False


def get_device_name() -> str:
    """Name of device 0 (the emulator says it is one); RuntimeError when none is usable."""
    return _require("get_device_name").get_device_name()


def is_emulated() -> bool:
    """Whether CUDA kernels run on the CPU SIMT emulator (the test-only build)."""
    return _cuda is not None and _cuda.is_emulated()


def synchronize() -> None:
    """Wait for all queued device work; a failed kernel raises RuntimeError here."""
    _require("synchronize").synchronize()


def memory_allocated() -> int:
    """Bytes of device memory held by live arrays (rounded to the allocator's size classes); 0 without CUDA."""
    return _cuda.memory_allocated() if _cuda is not None else 0


def memory_reserved() -> int:
    """Bytes of device memory held by the caching allocator (in use + cached); 0 without CUDA."""
    return _cuda.memory_reserved() if _cuda is not None else 0


def empty_cache() -> None:
    """Give cached, unused device memory back to CUDA (no-op without CUDA)."""
    if _cuda is not None:
        _cuda.empty_cache()


def manual_seed(seed: int) -> None:
    """As torch.cuda.manual_seed: minigrad draws the CPU's and the CUDA device's random numbers from
    one generator, so this reseeds it, as minigrad.manual_seed does (with or without a device)."""
    _random.manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """As torch.cuda.manual_seed_all; the same as manual_seed (one generator serves every device)."""
    _random.manual_seed(seed)


# torch.cuda.amp's path: this is one module, not a package, so the module holding it is registered
# under that name (`from minigrad.cuda.amp import GradScaler`). Imported last: it imports minigrad.amp.
from minigrad import _cuda_amp as amp  # noqa: E402

sys.modules[f"{__name__}.amp"] = amp
