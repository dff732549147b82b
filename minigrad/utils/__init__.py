"""PyTorch's torch.utils namespace: minigrad.utils.data is minigrad.data (the same module, so
`from minigrad.utils.data import DataLoader, TensorDataset` works as in PyTorch)."""

import sys

from minigrad import data

sys.modules[f"{__name__}.data"] = data

__all__ = ["data"]
