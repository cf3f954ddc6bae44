"""Patch-based evaluation: the honest baseline and the brute-force reference of the dense form.

Every pixel's patch is cut from the padded image (a zero-copy ``unfold`` view; only one batch of
patches is materialised at a time) and the patch network runs on large batches of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from edge.dense.network import PAD_MODES
from edge.errors import InputError


@dataclass
class PatchTiming:
    seconds: float  # measured, or extrapolated to every pixel when ``extrapolated``
    patches_timed: int
    patches_total: int
    extrapolated: bool


class PatchRunner:
    """Evaluate ``patch_net`` on the patch of every pixel of an image.

    Args:
        patch_net: maps ``(N, C, pH, pW)`` to ``(N, k)`` or ``(N, k, 1, 1)``.
        patch_size: ``pH`` or ``(pH, pW)``.
        batch_size: patches per call of ``patch_net`` (default 1024).
        pad_mode: as in :func:`edge.dense.to_dense`.

    ``runner(x)`` returns ``(B, k, H, W)`` with ``out[:, :, y, x] = patch_net(P(y, x))`` (docs/METHODS.md §1).
    """

    def __init__(self, patch_net: nn.Module, patch_size, batch_size: int | None = None,
                 pad_mode: str | None = None):
        from edge.dense.convert import _patch_size

        self.net = patch_net
        self.patch_size = _patch_size(patch_size)
        self.batch_size = 1024 if batch_size is None else int(batch_size)
        if self.batch_size < 1:
            raise InputError(f"batch_size must be positive, got {batch_size}")
        self.pad_mode = PAD_MODES.get(pad_mode or "zeros")
        if self.pad_mode is None:
            raise InputError(f"pad_mode must be one of {sorted(PAD_MODES)}, got {pad_mode!r}")

    def windows(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-copy view ``(B, C, H, W, pH, pW)`` of every pixel's patch."""
        if x.dim() != 4 or not x.is_floating_point() or x.numel() == 0:
            raise InputError(f"expected a non-empty float (B, C, H, W) tensor, got {x.dtype} {tuple(x.shape)}")
        ph, pw = self.patch_size
        xp = F.pad(x, (pw // 2, (pw - 1) // 2, ph // 2, (ph - 1) // 2), mode=self.pad_mode)
        return xp.unfold(2, ph, 1).unfold(3, pw, 1)

    def blocks(self, height: int, width: int) -> Iterator[tuple[int, int, int, int]]:
        """Pixel blocks ``(y0, y1, x0, x1)`` of about ``batch_size`` pixels, in raster order."""
        if self.batch_size >= width:
            rows = self.batch_size // width
            for y0 in range(0, height, rows):
                yield y0, min(height, y0 + rows), 0, width
        else:
            for y0 in range(height):
                for x0 in range(0, width, self.batch_size):
                    yield y0, y0 + 1, x0, min(width, x0 + self.batch_size)

    def _run_block(self, win_b: torch.Tensor, blk) -> torch.Tensor:
        y0, y1, x0, x1 = blk
        c = win_b.shape[0]
        patches = win_b[:, y0:y1, x0:x1].permute(1, 2, 0, 3, 4).reshape(-1, c, *self.patch_size)
        out = self.net(patches)
        if out.dim() == 4 and out.shape[-2:] == (1, 1):
            out = out.flatten(1)
        if out.dim() != 2:
            raise InputError(f"the patch network must return (N, k) or (N, k, 1, 1), got {tuple(out.shape)}")
        return out.reshape(y1 - y0, x1 - x0, -1).permute(2, 0, 1)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        win = self.windows(x)
        b, _, height, width = win.shape[:4]
        out = None
        for i in range(b):
            for blk in self.blocks(height, width):
                y = self._run_block(win[i], blk)
                if out is None:
                    out = x.new_empty(b, y.shape[0], height, width)
                y0, y1, x0, x1 = blk
                out[i, :, y0:y1, x0:x1] = y
        return out

    @torch.no_grad()
    def at(self, x: torch.Tensor, ys, xs) -> torch.Tensor:
        """Patch-network outputs ``(B, k, N)`` at the pixels ``(ys[i], xs[i])`` only."""
        win = self.windows(x)
        ys, xs = torch.as_tensor(ys), torch.as_tensor(xs)
        c = win.shape[1]
        outs = []
        for i in range(win.shape[0]):
            cols = []
            for s in range(0, len(ys), self.batch_size):
                p = win[i][:, ys[s : s + self.batch_size], xs[s : s + self.batch_size]]  # (C, n, pH, pW)
                cols.append(self.net(p.permute(1, 0, 2, 3).reshape(-1, c, *self.patch_size)).flatten(1))
            outs.append(torch.cat(cols).T)
        return torch.stack(outs)

    @torch.no_grad()
    def time(self, x: torch.Tensor, max_seconds: float | None = None) -> PatchTiming:
        """Time the full patch-based run; past ``max_seconds`` stop and extrapolate linearly from the
        patches done (the per-patch cost is uniform: every patch is the same computation)."""
        win = self.windows(x)
        b, _, height, width = win.shape[:4]
        total, done = b * height * width, 0
        t0 = time.perf_counter()
        for i in range(b):
            for blk in self.blocks(height, width):
                self._run_block(win[i], blk)
                done += (blk[1] - blk[0]) * (blk[3] - blk[2])
                elapsed = time.perf_counter() - t0
                if max_seconds is not None and elapsed > max_seconds and done < total:
                    return PatchTiming(elapsed * total / done, done, total, True)
        return PatchTiming(time.perf_counter() - t0, done, total, False)


def exactness(net, dense, patch, x, max_pixels: int, pad_mode: str | None = None) -> float:
    """Max |dense - patch net| relative to the output scale, over every pixel (or a seeded sample of
    ``max_pixels`` pixels including the four corners when the image has more)."""
    with torch.no_grad():
        out = dense(x)
    h, w = x.shape[-2:]
    runner = PatchRunner(net, patch, batch_size=2048, pad_mode=pad_mode)
    if h * w <= max_pixels:
        ref = runner(x)
        err = (out - ref).abs().max()
    else:
        g = torch.Generator().manual_seed(0)
        idx = torch.randperm(h * w, generator=g)[:max_pixels]
        idx = torch.cat([idx, torch.tensor([0, w - 1, (h - 1) * w, h * w - 1])])
        ys, xs = idx // w, idx % w
        ref = runner.at(x, ys, xs)
        err = (out[:, :, ys, xs] - ref).abs().max()
    return float(err / ref.abs().max().clamp_min(1e-12))
