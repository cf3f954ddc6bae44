"""FLOP accounting of the dense form: per-patch cost of ``Cp``, per-image cost of ``CI``, ideal speed-up."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from edge.flops import count_flops


@dataclass
class DenseFlops:
    patch_flops: int  # FLOPs(Cp) for one patch
    dense_flops: int  # FLOPs(CI) for one image of height x width
    height: int
    width: int

    @property
    def ideal_speedup(self) -> float:
        """``FLOPs(Cp) * H * W / FLOPs(CI)`` (docs/METHODS.md §1, "a fair baseline")."""
        return self.patch_flops * self.height * self.width / self.dense_flops

    def as_dict(self) -> dict:
        return {**asdict(self), "ideal_speedup": self.ideal_speedup}


def dense_flops(patch_net, dense, height: int, width: int) -> DenseFlops:
    """Count FLOPs of ``patch_net`` on one patch and of ``dense`` on one ``height x width`` image."""
    ph, pw = dense.patch_size
    p = next(patch_net.parameters())
    patch = torch.zeros(1, dense.in_channels, ph, pw, dtype=p.dtype, device=p.device)
    image = torch.zeros(1, dense.in_channels, height, width, dtype=p.dtype, device=p.device)
    # count the untiled network: tiling recomputes the overlap and is a memory trade, not the ideal
    tile, budget = dense.tile, dense.max_memory_mb
    dense.tile = dense.max_memory_mb = None
    try:
        return DenseFlops(count_flops(patch_net, patch), count_flops(dense, image), height, width)
    finally:
        dense.tile, dense.max_memory_mb = tile, budget
