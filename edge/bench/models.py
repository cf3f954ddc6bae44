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


__all__ = ["dense_basenet", "basenet_patch"]
