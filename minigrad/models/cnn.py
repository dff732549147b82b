"""A slightly larger CNN for MNIST and Fashion-MNIST, with batch norm and dropout."""

from __future__ import annotations

import minigrad.nn.functional as F
from minigrad import nn
from minigrad.tensor import Tensor


class MnistCNN(nn.Module):
    """Two blocks of conv 3x3 (pad 1) + batch norm + ReLU + max pool 2 (32 then 64
    channels), dropout, 3136 -> 128 (ReLU, dropout) -> num_classes.

    Input (N, 1, 28, 28); 421,738 parameters for 10 classes.
    """

    def __init__(self, num_classes: int = 10, dropout: float = 0.25) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.drop1 = nn.Dropout(dropout)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.drop2 = nn.Dropout(2 * dropout)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu_max_pool2d(self.bn1(self.conv1(x)), 2)  # (N, 32, 14, 14), max_pool2d(relu(.)) fused
        x = F.relu_max_pool2d(self.bn2(self.conv2(x)), 2)  # (N, 64, 7, 7)
        x = self.drop1(x).flatten(1)
        x = self.drop2(F.relu(self.fc1(x)))
        return self.fc2(x)


class CifarCNN(nn.Module):
    """A VGG-style CNN for 32x32 colour images (CIFAR-10 sized): conv 3x3 (pad 1)
    + batch norm + ReLU blocks of 32, 32 channels, max pool 2, 64, 64, pool,
    128, pool; then 2048 -> 256 (ReLU) -> num_classes.

    Input (N, 3, 32, 32); the benchmark model for realistic conv layers
    (channels >= 16), timed with random data.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        widths = [(3, 32), (32, 32), (32, 64), (64, 64), (64, 128)]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, kernel_size=3, padding=1, bias=False) for a, b in widths)
        self.bns = nn.ModuleList(nn.BatchNorm2d(b) for _, b in widths)
        self.fc1 = nn.Linear(128 * 4 * 4, 256)
        self.fc2 = nn.Linear(256, num_classes)

    # Blocks after which the image is pooled (32 -> 16 -> 8 -> 4).
    _pool_after = (1, 3, 4)

    def forward(self, x: Tensor) -> Tensor:
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            x = bn(conv(x))
            x = F.relu_max_pool2d(x, 2) if i in self._pool_after else F.relu(x)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)
