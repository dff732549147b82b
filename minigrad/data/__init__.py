"""Data sets, loading and augmentation: MNIST / Fashion-MNIST, DataLoader, transforms.

from minigrad.data import MNIST, DataLoader, transforms as T
train = MNIST(train=True)   # root / $MINIGRAD_DATA, cache, system dirs, mirrors, PyPI
loader = DataLoader(train, batch_size=64, shuffle=True, seed=0,
                    transform=T.Compose([T.RandomShift(2), T.Normalize(0.1307, 0.3081)]))
for images, labels in loader:   # Tensors: float32 (64, 1, 28, 28), int64 (64,)
    ...
"""

from minigrad.data import transforms
from minigrad.data.datasets import (
    MNIST,
    DatasetNotFoundError,
    FashionMNIST,
    ImageDataset,
    cache_dir,
)
from minigrad.data.download import DownloadError
from minigrad.data.idx import ChecksumError, IDXError, read_idx, write_idx
from minigrad.data.loader import (
    ArrayDataset,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)
from minigrad.data.sampler import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "MNIST",
    "FashionMNIST",
    "ImageDataset",
    "Dataset",
    "IterableDataset",
    "ArrayDataset",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "TensorDataset",
    "Subset",
    "random_split",
    "DataLoader",
    "DistributedSampler",
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "StackDataset",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "transforms",
    "read_idx",
    "write_idx",
    "IDXError",
    "ChecksumError",
    "DownloadError",
    "DatasetNotFoundError",
    "cache_dir",
]
