"""minigrad.cpu: the host memory behind the arrays minigrad's kernels return.

Arrays of 64 KiB and more come from a caching allocator: a freed array's block
waits for the next array of its size class instead of going back to the C
heap, which would hand it to the kernel and fault it in again, zero-filled, on
the next training step (LeNet-5 at batch 128 spent half its step doing that).
At most MINIGRAD_CPU_CACHE_MB (default 1024, read at the first allocation; 0
turns the cache off) waits idle; empty_cache() gives it back at any time.

minigrad.cpu.amp is PyTorch's deprecated torch.cpu.amp (minigrad/_cpu_amp.py).
"""

from __future__ import annotations

import sys

from minigrad import _C


def is_available() -> bool:
    """Always True: the CPU is always there (torch.cpu.is_available)."""
    return True


def memory_allocated() -> int:
    """Bytes of host memory held by live arrays from the caching allocator (size-class rounded)."""
    return _C.cpu.memory_allocated()


def memory_reserved() -> int:
    """Bytes of host memory held by the caching allocator (in use + cached)."""
    return _C.cpu.memory_reserved()


def empty_cache() -> None:
    """Give cached, unused host memory back to the C heap."""
    _C.cpu.empty_cache()


# torch.cpu.amp's path: this is one module, not a package, so the module holding it is registered
# under that name (`from minigrad.cpu.amp import GradScaler`). Imported last: it imports minigrad.amp.
from minigrad import _cpu_amp as amp  # noqa: E402

sys.modules[f"{__name__}.amp"] = amp
