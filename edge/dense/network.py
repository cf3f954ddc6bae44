"""The dense network: pad once, run the converted layers, unwarp, crop (docs/METHODS.md §1)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from edge.dense.layers import Unwarp
from edge.errors import InputError

PAD_MODES = {"zeros": "constant", "constant": "constant", "reflect": "reflect", "replicate": "replicate",
             "circular": "circular"}


class DenseNet(nn.Module):
    """Full-image form of a patch network: ``(B, C, H, W) -> (B, k, H, W)``.

    ``out[:, :, y, x]`` equals the patch network on the ``pH x pW`` window of the padded image whose
    top-left corner is ``(y - ceil((pH-1)/2), x - ceil((pW-1)/2))``.

    Attributes:
        body: the converted layers (stride 1 or MultiStride); intermediate batch ``B * batch_multiplier``.
        strides: ``(sy, sx)`` of every strided layer, first first.
        geometry: ``(kernel, stride, out_channels)`` per stage, used for memory estimates.
        tile / max_memory_mb: when set, eager forward runs tile by tile (see :mod:`edge.dense.tiling`).
    """

    def __init__(self, body: nn.Sequential, patch_size, strides, in_channels: int, out_channels: int,
                 pad_mode: str | None = None, unwarp: str | None = None, geometry=None, tile=None,
                 max_memory_mb: float | None = None):
        super().__init__()
        pad_mode = pad_mode or "zeros"
        if pad_mode not in PAD_MODES:
            raise InputError(f"pad_mode must be one of {sorted(PAD_MODES)}, got {pad_mode!r}")
        unwarp = unwarp or "permute"
        if unwarp not in ("permute", "op"):
            raise InputError(f"unwarp must be 'permute' or 'op', got {unwarp!r}")
        self.body = body
        self.unwarp = Unwarp(tuple(strides), impl=unwarp)
        self.patch_size = (int(patch_size[0]), int(patch_size[1]))
        self.strides = tuple((int(a), int(b)) for a, b in strides)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.pad_mode = pad_mode
        self.geometry = list(geometry or [])
        self.tile = tuple(tile) if tile is not None else None
        self.max_memory_mb = max_memory_mb

    # --- geometry ------------------------------------------------------------------------------
    @property
    def total_stride(self) -> tuple[int, int]:
        return math.prod(s[0] for s in self.strides), math.prod(s[1] for s in self.strides)

    @property
    def batch_multiplier(self) -> int:
        """``prod(sy*sx)``: the intermediate batch is ``B`` times this."""
        return math.prod(a * b for a, b in self.strides)

    def padding(self, h: int, w: int) -> tuple[int, int, int, int]:
        """``(left, right, top, bottom)`` padding of an ``h x w`` image, including the round-up to ``S``."""
        ph, pw = self.patch_size
        sy, sx = self.total_stride
        return (pw // 2, (pw - 1) // 2 + (-w) % sx, ph // 2, (ph - 1) // 2 + (-h) % sy)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.padding(x.shape[-2], x.shape[-1])
        mode = PAD_MODES[self.pad_mode]
        if mode == "reflect" and (max(top, bottom) >= x.shape[-2] or max(left, right) >= x.shape[-1]):
            raise InputError(
                f"pad_mode='reflect' needs an image larger than its padding {(top, bottom, left, right)}, got "
                f"{tuple(x.shape[-2:])}. Fix: use pad_mode='replicate' or 'zeros' for small images"
            )
        return F.pad(x, (left, right, top, bottom), mode=mode)

    # --- forward -------------------------------------------------------------------------------
    def check_input(self, x) -> None:
        """Raise InputError for anything but a non-empty float ``(B, C, H, W)`` tensor."""
        if not isinstance(x, torch.Tensor):
            raise InputError(f"the dense network takes a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise InputError(f"expected a 4-D (B, C, H, W) tensor, got shape {tuple(x.shape)}. "
                             "Fix: add a batch dimension with x[None] or x.unsqueeze(0)")
        if not x.is_floating_point():
            raise InputError(f"expected a floating-point tensor, got {x.dtype}. Fix: x.float() (and scale "
                             "pixel values the way the patch network was trained)")
        if x.shape[1] != self.in_channels:
            raise InputError(f"expected {self.in_channels} input channels, got {x.shape[1]} "
                             f"(shape {tuple(x.shape)})")
        if x.numel() == 0:
            raise InputError(f"the input tensor is empty (shape {tuple(x.shape)})")

    def forward_padded(self, xp: torch.Tensor) -> torch.Tensor:
        """Core on an already padded input of size ``(Hr + pH - 1, Wr + pW - 1)``, ``Hr`` a multiple
        of ``Sy``: returns ``(B, k, Hr, Wr)``."""
        return self.unwarp(self.body(xp))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        exporting = torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.jit.is_scripting()
        if not exporting:
            self.check_input(x)
            if self.tile is not None or self.max_memory_mb is not None:
                from edge.dense.tiling import run_tiled

                return run_tiled(self, x, tile=self.tile, max_memory_mb=self.max_memory_mb)
        h, w = x.shape[-2], x.shape[-1]
        return self.forward_padded(self.pad(x))[:, :, :h, :w]

    def extra_repr(self) -> str:
        return (f"patch_size={self.patch_size}, strides={self.strides}, in_channels={self.in_channels}, "
                f"out_channels={self.out_channels}, pad_mode={self.pad_mode!r}")
