"""A small CNN for Fashion-MNIST (28x28 gray, 10 classes), trained by scripts/train_fashion_cnn.py.

Used to measure FP32 vs INT8 test accuracy with real labels. ``load_fashion_mnist`` reads the Debian
``dataset-fashion-mnist`` IDX files (no network).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from edge.core.frames import FASHION_DIR, load_fashion_mnist  # noqa: F401 - the data set lives in edge.core
from edge.errors import ModelLoadError
from edge.models import models


class FashionCNN(nn.Module):
    """conv3x3(1->c)-BN-ReLU-pool2 -> conv3x3(c->2c)-BN-ReLU-pool2 -> conv3x3(2c->4c)-BN-ReLU -> GAP -> Linear.

    ``x (N, 1, 28, 28)`` normalised as in calib/fashion-cnn.yaml -> ``(N, 10)`` logits.
    """

    def __init__(self, width: int = 16, num_classes: int = 10):
        super().__init__()
        c = width

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(*block(1, c), nn.MaxPool2d(2), *block(c, 2 * c), nn.MaxPool2d(2),
                                      *block(2 * c, 4 * c))
        self.classifier = nn.Linear(4 * c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


@models.register("fashion-cnn")
def fashion_cnn(weights: str | os.PathLike | None = None, width: int = 16) -> FashionCNN:
    """FashionCNN in eval mode, optionally loading a checkpoint written by scripts/train_fashion_cnn.py."""
    model = FashionCNN(width=width)
    if weights is not None:
        try:
            ckpt = torch.load(weights, map_location="cpu", weights_only=True)
            model = FashionCNN(width=int(ckpt.get("width", width)))
            model.load_state_dict(ckpt["state_dict"] if "state_dict" in ckpt else ckpt)
        except (OSError, RuntimeError, KeyError) as e:
            raise ModelLoadError(f"could not load FashionCNN checkpoint {weights}: {e}") from e
    return model.eval()


def train(images: np.ndarray, labels: np.ndarray, epochs: int = 1, width: int = 16, batch_size: int = 128,
          lr: float = 2e-3, seed: int = 0, log=None) -> FashionCNN:
    """Train a FashionCNN with Adam on uint8 ``images (N, 28, 28)`` (normalised as the recipe does)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = FashionCNN(width=width)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = (torch.from_numpy(np.array(images)).float()[:, None] / 255.0 - 0.2860) / 0.3530
    y = torch.from_numpy(np.array(labels))
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if log:
            log(f"epoch {ep + 1}/{epochs}: last batch loss {loss.item():.4f}")
    return model.eval()
