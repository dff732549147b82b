"""torch.utils.data.dataloader's names (``from minigrad.utils.data.dataloader import
default_collate``): the same objects as minigrad.data's."""

from minigrad.data import DataLoader, default_collate, get_worker_info

__all__ = ["DataLoader", "default_collate", "get_worker_info"]
