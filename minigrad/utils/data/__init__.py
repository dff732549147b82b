"""torch.utils.data's names for minigrad.data's objects (the same objects, not copies), so that
``from minigrad.utils.data import DataLoader, TensorDataset`` works as in PyTorch."""

from minigrad.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

# torch.utils.data's submodules, so that `from minigrad.utils.data.sampler import ...` works as in PyTorch
from minigrad.utils.data import dataloader, dataset, distributed, sampler  # noqa: F401

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "BatchSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
