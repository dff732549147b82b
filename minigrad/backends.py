"""torch.backends' switches, for code ported from PyTorch (``torch.backends.cudnn.benchmark = True``,
``torch.backends.mps.is_available()``). Not to be confused with ``minigrad.backend``, the device
back-ends.

minigrad has no cuDNN (its CUDA kernels are its own) and no Apple-GPU (MPS) device: the cuDNN flags
may be set and read but change nothing (so do backends.cuda.matmul's TF32 switches), and MPS is
never available. Its kernels pick their
algorithm from the layer's shape, never by timing candidates (what cudnn.benchmark enables), and
its CPU kernels give the same results run after run for a given thread count.
"""

from __future__ import annotations

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

__all__ = ["cuda", "cudnn", "mps"]
