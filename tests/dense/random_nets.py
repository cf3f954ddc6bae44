"""A seeded random admissible patch network, for the dense form's equivalence tests."""

from __future__ import annotations

import torch
from torch import nn


def random_patch_net(seed: int, max_stride: int = 4, linear_head: bool | None = None,
                     in_channels: int | None = None) -> tuple[nn.Sequential, tuple[int, int]]:
    """A seeded random admissible patch network and its patch size ``(pH, pW)``.

    Covers what docs/METHODS.md §1 admits: convolutions of any kernel and stride (mixed ``sy != sx``), max and
    average pools with kernel != stride, eval BatchNorm, dropout, activations, and a flatten + Linear
    head. The patch size is derived backwards from the 1x1 output (sometimes with slack that the
    network's floor arithmetic ignores), so odd and even sizes both occur.
    """
    import random

    rng = random.Random(seed)
    torch.manual_seed(seed)
    c_in = in_channels or rng.randint(1, 3)
    layers: list[nn.Module] = []
    geometry: list[tuple[tuple[int, int], tuple[int, int]]] = []  # (kernel, stride) of spatial layers
    c = c_in
    for _ in range(rng.randint(1, 3)):
        c_out = rng.randint(2, 6)
        k = (rng.randint(1, 4), rng.randint(1, 4))
        s = (rng.choice([1, 1, 2, 3]), rng.choice([1, 1, 2, 3]))
        s = (min(s[0], max_stride), min(s[1], max_stride))
        layers.append(nn.Conv2d(c, c_out, k, stride=s))
        geometry.append((k, s))
        c = c_out
        if rng.random() < 0.3:
            bn = nn.BatchNorm2d(c)
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.2, 0.2)
            layers.append(bn)
        layers.append(rng.choice([nn.ReLU(), nn.Tanh(), nn.LeakyReLU(0.1), nn.Sigmoid()]))
        if rng.random() < 0.7:
            pk = (rng.randint(2, 4), rng.randint(2, 4))
            ps = (rng.randint(1, min(4, max_stride)), rng.randint(1, min(4, max_stride)))
            layers.append((nn.MaxPool2d if rng.random() < 0.6 else nn.AvgPool2d)(pk, stride=ps))
            geometry.append((pk, ps))
        if rng.random() < 0.2:
            layers.append(nn.Dropout(0.3))
    head = rng.random() < 0.5 if linear_head is None else linear_head
    out_hw = (rng.randint(1, 3), rng.randint(1, 3)) if head else (1, 1)
    if head:
        hidden, k_out = rng.randint(3, 8), rng.randint(2, 5)
        layers += [nn.Flatten(), nn.Linear(c * out_hw[0] * out_hw[1], hidden), nn.ReLU(), nn.Linear(hidden, k_out)]
    # patch size: walk back from the last spatial map size, sometimes with slack the floor ignores
    h, w = out_hw
    for (kh, kw), (sy, sx) in reversed(geometry):
        h = (h - 1) * sy + kh + (rng.randint(0, sy - 1) if sy > 1 and rng.random() < 0.3 else 0)
        w = (w - 1) * sx + kw + (rng.randint(0, sx - 1) if sx > 1 and rng.random() < 0.3 else 0)
    return nn.Sequential(*layers).eval(), (h, w)
