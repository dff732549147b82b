"""torch.cpu.amp: PyTorch's deprecated CPU forms of minigrad.amp's autocast and GradScaler (see
minigrad/_deprecated_amp.py). minigrad/cpu.py is a module, not a package, so it registers this one
as minigrad.cpu.amp: ``from minigrad.cpu.amp import GradScaler, autocast`` works as in PyTorch."""

from __future__ import annotations

from minigrad._deprecated_amp import deprecated_amp_classes
from minigrad.tensor import bfloat16

__all__ = ["GradScaler", "autocast"]

autocast, GradScaler = deprecated_amp_classes("cpu", bfloat16, __name__)
