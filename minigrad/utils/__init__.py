"""PyTorch's torch.utils namespace, for ported code: minigrad.utils.data is minigrad.data's
data-loading API under torch.utils.data's name; minigrad.utils.checkpoint is gradient
checkpointing."""

from minigrad.utils import checkpoint, data

__all__ = ["checkpoint", "data"]
