"""Fully connected baselines: a multi-layer perceptron and softmax regression."""

from __future__ import annotations

from collections.abc import Sequence

import minigrad.nn.functional as F
from minigrad import nn
from minigrad.tensor import Tensor


class MLP(nn.Module):
    """Flatten, then Linear + ReLU for each hidden size, then Linear to num_classes."""

    def __init__(
        self, in_features: int = 28 * 28, hidden: Sequence[int] = (256, 128), num_classes: int = 10
    ) -> None:
        super().__init__()
        sizes = [in_features, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.out = nn.Linear(sizes[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.out(x)


class SoftmaxRegression(nn.Module):
    """The linear baseline: flatten, one Linear layer; the softmax lives in the loss."""

    def __init__(self, in_features: int = 28 * 28, num_classes: int = 10) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x.flatten(1))
