"""The patch descriptor of the stereo matcher and its shipped weights.

A 14 x 14 gray patch -> 32 features, MC-CNN "fast" style (a siamese network compared by cosine
similarity) but with one 2 x 2 max pool, so that its dense form needs the multi-pool rearrangement and
the unwarp (a stride-1 network's dense form would be the network itself):

    conv3x3(1->16) ReLU conv3x3(16->16) ReLU maxpool2 conv3x3(16->32) ReLU conv3x3(32->32)
    14 -> 12 -> 10 -> 5 -> 3 -> 1

The input is gray in [0, 1] normalised with the fixed ``MEAN``/``STD`` below (the recipe
``stereo-descriptor`` says the same, so calibration feeds what the matcher feeds). Widths 32/64 measured
no better on the held-out scene (bad-2 14.35 either way after 1000 steps) at four times the FLOPs.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from edge.errors import ModelLoadError

PATCH = 14
FEATURES = 32
MEAN, STD = 0.45, 0.25
WEIGHTS = Path(__file__).with_name("descriptor.pt")


def descriptor(features: int = FEATURES, width: int = 16) -> nn.Sequential:
    """The untrained patch network: ``(N, 1, 14, 14) -> (N, features, 1, 1)``."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3), nn.ReLU(),
        nn.Conv2d(width, width, 3), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3), nn.ReLU(),
        nn.Conv2d(2 * width, features, 3),
    )


def normalise(gray: torch.Tensor) -> torch.Tensor:
    """Gray in [0, 1] -> the descriptor's input scale."""
    return (gray - MEAN) / STD


def pretrained(path: str | Path | None = None) -> nn.Sequential:
    """The descriptor with the shipped weights (``edge/stereo/descriptor.pt``, made by
    ``scripts/train_stereo.py``), in eval mode."""
    path = Path(path) if path is not None else WEIGHTS
    if not path.is_file():
        raise ModelLoadError(f"descriptor weights not found: {path}. Fix: run scripts/train_stereo.py "
                             f"(writes {WEIGHTS.name}, about 3 minutes on one core) or reinstall edge")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        net = descriptor(int(blob["features"]), int(blob["width"]))
        net.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
    except (KeyError, RuntimeError, ValueError) as e:
        raise ModelLoadError(f"{path} is not a stereo descriptor checkpoint ({e}). Fix: retrain it with "
                             "scripts/train_stereo.py") from e
    return net.eval()


def pretrained_dense(unwarp: str | None = None):
    """``to_dense(pretrained(), 14)``: ``(B, 1, H, W)`` normalised gray -> ``(B, 32, H, W)`` features."""
    from edge.dense import to_dense

    return to_dense(pretrained(), PATCH, unwarp=unwarp)


class PatchDescriptor(nn.Module):
    """The patch-based baseline as a module (for ``edge bench``): ``(B, 1, H, W) -> (B, 32, H, W)`` by
    running the patch network on every pixel's patch (``edge.dense.PatchRunner``)."""

    def __init__(self, net: nn.Module | None = None, batch_size: int = 8192):
        super().__init__()
        from edge.dense import PatchRunner

        self.net = net if net is not None else pretrained()
        self.runner = PatchRunner(self.net, PATCH, batch_size=batch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.runner(x)


def patch_descriptor() -> PatchDescriptor:
    """Factory for ``edge bench``: the shipped descriptor evaluated patch by patch."""
    return PatchDescriptor().eval()
