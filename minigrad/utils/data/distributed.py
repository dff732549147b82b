"""torch.utils.data.distributed's name (``from minigrad.utils.data.distributed import
DistributedSampler``): the same object as minigrad.data's."""

from minigrad.data import DistributedSampler

__all__ = ["DistributedSampler"]
