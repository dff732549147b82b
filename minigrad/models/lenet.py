"""LeNet-5 as it is usually trained on MNIST today: ReLU and max pooling."""

from __future__ import annotations

import minigrad.nn.functional as F
from minigrad import nn
from minigrad.tensor import Tensor


class LeNet5(nn.Module):
    """conv 6@5x5 (pad 2), pool, conv 16@5x5, pool, 400 -> 120 -> 84 -> num_classes.

    Input (N, 1, 28, 28). 61,706 parameters for 10 classes. The attribute names
    (conv1, conv2, fc1, fc2, fc3) make the state_dict keys those of the same
    module written in PyTorch, so weights move between the two unchanged.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        # max_pool2d(relu(.)) fused: the ReLU on the pooled quarter of the activations
        x = F.relu_max_pool2d(self.conv1(x), 2)  # (N, 6, 14, 14)
        x = F.relu_max_pool2d(self.conv2(x), 2)  # (N, 16, 5, 5)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
