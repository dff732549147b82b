"""minigrad.version, as torch.version: ``__version__``; ``cuda``, the CUDA runtime minigrad's
kernels were built against (a string such as "12.4") when the build has CUDA and a device (or the
test build's emulator) is usable, else None, so ``minigrad.version.cuda is None`` tells a CPU-only
run as it does in PyTorch; ``hip`` None (no ROCm build); ``debug`` False; ``git_version``
"Unknown" (the build records no commit)."""

from __future__ import annotations

from minigrad._extension import _C

__version__ = "0.1.0"
hip: str | None = None
debug = False
git_version = "Unknown"


def _cuda_version() -> str | None:
    info = dict(_C.build_info())
    if not info.get("cuda") or not info.get("cuda_runtime"):
        return None
    from minigrad.backend import cuda_unavailable_reason

    return None if cuda_unavailable_reason() else str(info["cuda_runtime"])


cuda: str | None = _cuda_version()

__all__ = ["__version__", "cuda", "debug", "git_version", "hip"]
