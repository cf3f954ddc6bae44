"""Factories for ``edge bench``/``edge run`` "module:factory" specs: small reference models.

``edge.bench.models:dense_basenet`` is the dense form of the public BaseNet (15x15 patch, 1 gray channel
in [0, 1], 113 features per pixel): the model-bound case of the pipeline benchmark.
"""

from __future__ import annotations

import torch


def dense_basenet() -> torch.nn.Module:
    """Dense BaseNet, seeded weights: ``(B, 1, H, W) -> (B, 113, H, W)``."""
    from edge.dense import basenet, to_dense

    torch.manual_seed(0)
    return to_dense(basenet().eval(), 15)


def basenet_patch() -> torch.nn.Module:
    """The BaseNet patch network itself: ``(B, 1, 15, 15) -> (B, 113, 1, 1)``."""
    from edge.dense import basenet

    torch.manual_seed(0)
    return basenet().eval()


class PatchBased(torch.nn.Module):
    """The fair patch-based baseline of METHODS §1 as a module: every pixel's zero-padded patch through the
    patch net, patches extracted and evaluated in large batches (edge.dense.PatchRunner).
    ``(B, 1, H, W) -> (B, K, H, W)``, the same numbers as the dense form."""

    def __init__(self, net: torch.nn.Module, patch: int, batch_size: int = 8192):
        super().__init__()
        from edge.dense import PatchRunner

        self.net, self.in_channels = net, 1
        self.runner = PatchRunner(net, patch, batch_size=batch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.runner(x)


def patch_basenet() -> torch.nn.Module:
    """BaseNet evaluated patch by patch in batches (the baseline of ``dense_basenet``)."""
    return PatchBased(basenet_patch(), 15)


__all__ = ["PatchBased", "basenet_patch", "dense_basenet", "patch_basenet"]
