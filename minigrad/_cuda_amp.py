"""torch.cuda.amp: PyTorch's deprecated CUDA forms of minigrad.amp's autocast, GradScaler,
custom_fwd and custom_bwd. Each warns FutureWarning, as PyTorch's, and is the minigrad.amp one
for device_type "cuda". minigrad/cuda.py is a module, not a package, so it registers this one
as minigrad.cuda.amp: ``from minigrad.cuda.amp import GradScaler, autocast`` works as in PyTorch."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from minigrad import amp

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


def _deprecated(name: str, replacement: str) -> None:
    warnings.warn(f"`minigrad.cuda.amp.{name}(args...)` is deprecated. "
                  f"Please use `minigrad.amp.{replacement}` instead.", FutureWarning, stacklevel=3)


class autocast(amp.autocast):  # noqa: N801 (PyTorch's name)
    """minigrad.amp.autocast("cuda", ...) with torch.cuda.amp.autocast's signature (dtype float16
    by default); a no-op, as that one."""

    def __init__(self, enabled: bool = True, dtype: Any = "float16", cache_enabled: bool = True) -> None:
        _deprecated("autocast", "autocast('cuda', args...)")
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(amp.GradScaler):
    """minigrad.amp.GradScaler("cuda", ...) with torch.cuda.amp.GradScaler's signature: without a
    usable CUDA device it warns and disables itself, as PyTorch's."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        _deprecated("GradScaler", "GradScaler('cuda', args...)")
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


def custom_fwd(fwd: Callable | None = None, *, cast_inputs: Any = None) -> Callable:
    """minigrad.amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)."""
    _deprecated("custom_fwd", "custom_fwd(args..., device_type='cuda')")
    return amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Callable) -> Callable:
    """minigrad.amp.custom_bwd(bwd, device_type="cuda")."""
    _deprecated("custom_bwd", "custom_bwd(args..., device_type='cuda')")
    return amp.custom_bwd(bwd, device_type="cuda")
