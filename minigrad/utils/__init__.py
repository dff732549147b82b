"""PyTorch's torch.utils namespace, for ported code: minigrad.utils.data is minigrad.data's
data-loading API under torch.utils.data's name."""

from minigrad.utils import data

__all__ = ["data"]
