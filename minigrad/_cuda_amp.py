"""torch.cuda.amp: PyTorch's deprecated CUDA forms of minigrad.amp's autocast, GradScaler,
custom_fwd and custom_bwd. Each warns FutureWarning, as PyTorch's, and is the minigrad.amp one
for device_type "cuda" (autocast and GradScaler from minigrad/_deprecated_amp.py, shared with
minigrad.cpu.amp). minigrad/cuda.py is a module, not a package, so it registers this one
as minigrad.cuda.amp: ``from minigrad.cuda.amp import GradScaler, autocast`` works as in PyTorch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minigrad import amp
from minigrad._deprecated_amp import deprecated_amp_classes, warn_deprecated

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]

# float16 as the name PyTorch's signature shows (minigrad.amp accepts either spelling)
autocast, GradScaler = deprecated_amp_classes("cuda", "float16", __name__)


def custom_fwd(fwd: Callable | None = None, *, cast_inputs: Any = None) -> Callable:
    """minigrad.amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)."""
    warn_deprecated("cuda", "custom_fwd", "custom_fwd(args..., device_type='cuda')")
    return amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Callable) -> Callable:
    """minigrad.amp.custom_bwd(bwd, device_type="cuda")."""
    warn_deprecated("cuda", "custom_bwd", "custom_bwd(args..., device_type='cuda')")
    return amp.custom_bwd(bwd, device_type="cuda")
