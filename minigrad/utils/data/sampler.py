"""torch.utils.data.sampler's names (``from minigrad.utils.data.sampler import
SubsetRandomSampler``): the same objects as minigrad.data's."""

from minigrad.data import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]
