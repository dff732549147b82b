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
