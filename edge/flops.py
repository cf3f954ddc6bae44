"""FLOP counting with ``torch.utils.flop_counter`` (not a hand-written counter).

FlopCounterMode counts matrix products and convolutions (2 FLOPs per multiply-accumulate); pooling,
activations and data movement count as zero, which is the convention of the papers' tables.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


@torch.no_grad()
def count_flops(model: torch.nn.Module, *inputs: torch.Tensor) -> int:
    """Total FLOPs of one forward of ``model`` on ``inputs``."""
    with FlopCounterMode(display=False) as mode:
        model(*inputs)
    return int(mode.get_total_flops())
