"""The two reference patch networks of docs/METHODS.md §1, BaseNet and Simo-Serra's descriptor (random weights
from a fixed seed: the dense form's exactness and speed do not depend on the weights)."""

from __future__ import annotations

import torch
from torch import nn

from edge.models import models


@models.register("basenet")
def basenet(seed: int = 0) -> nn.Sequential:
    """The public reference "BaseNet": 15x15 grayscale patch -> 113 outputs (strides 2 * 2)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 128, 2), nn.ReLU(),
        nn.Conv2d(128, 113, 1),
    ).eval()


@models.register("simo_serra")
def simo_serra(seed: int = 0) -> nn.Sequential:
    """Simo-Serra et al. descriptor net: 64x64 grayscale patch -> 128 outputs (strides 2 * 3 * 4 = 24)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 32, 7), nn.MaxPool2d(2), nn.Tanh(),
        nn.Conv2d(32, 64, 6), nn.MaxPool2d(3), nn.Tanh(),
        nn.Conv2d(64, 128, 5), nn.MaxPool2d(4), nn.Tanh(),
    ).eval()


REFERENCE_NETS = {"basenet": (basenet, 15), "simo_serra": (simo_serra, 64)}
