"""PyTorch's deprecated per-device forms of minigrad.amp's autocast and GradScaler
(torch.cuda.amp.*, torch.cpu.amp.*): one implementation, parametrised by the device, that
minigrad/_cuda_amp.py and minigrad/_cpu_amp.py instantiate. Each warns FutureWarning, as
PyTorch's, and is the minigrad.amp class for its device."""

from __future__ import annotations

import warnings
from typing import Any

from minigrad import amp


def warn_deprecated(device: str, name: str, replacement: str) -> None:
    """PyTorch's FutureWarning for `minigrad.<device>.amp.<name>(args...)`."""
    warnings.warn(f"`minigrad.{device}.amp.{name}(args...)` is deprecated. "
                  f"Please use `minigrad.amp.{replacement}` instead.", FutureWarning, stacklevel=3)


def deprecated_amp_classes(device: str, default_dtype: Any, module: str) -> tuple[type, type]:
    """(autocast, GradScaler) of torch.<device>.amp: minigrad.amp's for device, with the
    deprecated signatures (no device argument; autocast's dtype default_dtype). module: the
    module that exposes them (their __module__)."""

    class autocast(amp.autocast):  # noqa: N801 (PyTorch's name)
        def __init__(self, enabled: bool = True, dtype: Any = default_dtype, cache_enabled: bool = True) -> None:
            warn_deprecated(device, "autocast", f"autocast('{device}', args...)")
            super().__init__(device, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class GradScaler(amp.GradScaler):
        def __init__(
            self,
            init_scale: float = 2.0**16,
            growth_factor: float = 2.0,
            backoff_factor: float = 0.5,
            growth_interval: int = 2000,
            enabled: bool = True,
        ) -> None:
            warn_deprecated(device, "GradScaler", f"GradScaler('{device}', args...)")
            super().__init__(device, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    autocast.__doc__ = (f"minigrad.amp.autocast({device!r}, ...) with torch.{device}.amp.autocast's signature "
                        f"(dtype {default_dtype} by default); a no-op, as minigrad.amp.autocast.")
    GradScaler.__doc__ = (f"minigrad.amp.GradScaler({device!r}, ...) with torch.{device}.amp.GradScaler's "
                          "signature (no device argument).")
    for cls in (autocast, GradScaler):
        cls.__module__, cls.__qualname__ = module, cls.__name__
    return autocast, GradScaler
