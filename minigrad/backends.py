"""torch.backends' switches, for code ported from PyTorch (``torch.backends.cudnn.benchmark = True``,
``torch.backends.mps.is_available()``). Not to be confused with ``minigrad.backend``, the device
back-ends.

minigrad has no cuDNN (its CUDA kernels are its own) and no Apple-GPU (MPS) device: the cuDNN flags
may be set and read but change nothing (so do backends.cuda.matmul's TF32 switches), and MPS is
never available. Its kernels pick their
algorithm from the layer's shape, never by timing candidates (what cudnn.benchmark enables), and
its CPU kernels give the same results run after run for a given thread count.
use_deterministic_algorithms (re-exported as minigrad.use_deterministic_algorithms) is PyTorch's
switch that makes the few nondeterministic ops raise.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

cudnn = SimpleNamespace(
    enabled=True,
    benchmark=False,
    deterministic=False,
    allow_tf32=True,
    is_available=lambda: False,
    version=lambda: None,
)
mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
# TF32 switches (nanoGPT sets them): minigrad's GEMMs always compute in the tensors' own precision.
cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=False))

_deterministic = {"enabled": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """PyTorch's switch (minigrad.use_deterministic_algorithms): with mode True, an op whose
    result could vary from run to run raises RuntimeError (a UserWarning with warn_only).
    minigrad's CPU kernels are deterministic for a given thread count; on CUDA only max-pool's
    backward with overlapping windows is not (its gradients add up in atomics)."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: mode must be a bool, got {type(mode).__name__}")
    _deterministic.update(enabled=mode, warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled() -> bool:
    """Whether use_deterministic_algorithms(True) is in force."""
    return _deterministic["enabled"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether use_deterministic_algorithms was set with warn_only=True."""
    return _deterministic["warn_only"]


def alert_not_deterministic(op: str) -> None:
    """What an op without a deterministic implementation does when called under
    use_deterministic_algorithms(True): raise RuntimeError, or warn with warn_only."""
    if not _deterministic["enabled"]:
        return
    message = (f"{op} does not have a deterministic implementation, but you set "
               "'minigrad.use_deterministic_algorithms(True)'")
    if _deterministic["warn_only"]:
        warnings.warn(message, UserWarning, stacklevel=3)
        return
    raise RuntimeError(message)


__all__ = [
    "alert_not_deterministic",
    "are_deterministic_algorithms_enabled",
    "cuda",
    "cudnn",
    "is_deterministic_algorithms_warn_only_enabled",
    "mps",
    "use_deterministic_algorithms",
]
