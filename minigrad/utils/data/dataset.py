"""torch.utils.data.dataset's names (``from minigrad.utils.data.dataset import Dataset``): the
same objects as minigrad.data's."""

from minigrad.data import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split

__all__ = ["ConcatDataset", "Dataset", "IterableDataset", "Subset", "TensorDataset", "random_split"]
