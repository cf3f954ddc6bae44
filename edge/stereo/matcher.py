"""The stereo matcher: dense descriptor -> cost volume -> (SGM) -> winner-take-all -> (left-right check)
-> (subpixel) -> disparity, each step switchable.

- features: the descriptor's dense form (``edge.dense.to_dense``) on the left and right images stacked
  in one batch: one pass computes both feature maps for the whole image.
- cost volume: ``C(d, y, x) = 1 - <f_L(y, x), f_R(y, x - d)>`` of L2-normalised features (0 = identical,
  2 = opposite) for ``d = 0 .. max_disp - 1``; where ``x - d`` falls outside the right image the cost is
  ``OUTSIDE`` (no evidence either way).
- winner: the disparity of least cost; subpixel: the vertex of the parabola through the costs at
  ``d - 1, d, d + 1``.
- left-right check: the right view's disparity comes from the same volume (``C_R(d, y, x) = C(d, y, x + d)``);
  a left pixel whose match disagrees by more than ``lr_tolerance`` is an occlusion or mismatch and takes
  the smaller (farther) of its nearest consistent neighbours on its row.
- border: pixels left of ``max_disp - 1`` cannot see every candidate in the right image; like OpenCV's
  SGBM they are marked invalid and filled from the right (part of the left-right step's filling).
- median: a ``k x k`` median filter of the final disparity (MC-CNN's last step).

:class:`MatcherCore` (features, cost volume, winner, subpixel) is the exportable part (standard ONNX
operators, the descriptor's unwarp as a plugin node); :class:`Matcher` adds SGM and the left-right check
around it and records per-stage times.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from edge.errors import InputError
from edge.stereo.model import MEAN, STD

OUTSIDE = 1.0


def cost_volume(fl: torch.Tensor, fr: torch.Tensor, max_disp: int) -> torch.Tensor:
    """``(B, K, H, W)`` left/right features (L2-normalised over K) -> ``(B, D, H, W)`` cosine distances."""
    w = fl.shape[-1]
    frp = F.pad(fr, (max_disp - 1, 0))  # zero features left of the image
    col = torch.arange(w, device=fl.device)
    slices = []
    for d in range(max_disp):
        sim = (fl * frp[..., max_disp - 1 - d: max_disp - 1 - d + w]).sum(1)
        slices.append(torch.where(col >= d, 1.0 - sim, torch.full_like(sim, OUTSIDE)))
    return torch.stack(slices, 1)


def winner(cost: torch.Tensor) -> torch.Tensor:
    """``(B, D, H, W)`` -> ``(B, 1, H, W)`` index of the least cost (float)."""
    return cost.argmin(1, keepdim=True).to(cost.dtype)


def subpixel(cost: torch.Tensor, disp: torch.Tensor) -> torch.Tensor:
    """Parabola vertex through the costs at ``d-1, d, d+1``; the offset is clamped to [-0.5, 0.5] and is 0
    at the ends of the range or where the parabola is not convex. (Neighbours come from shifted copies of
    the volume, not from clamped integer indices: TensorRT's Clip takes no INT64.)"""
    dmax = cost.shape[1] - 1
    d = disp.long()
    c0 = cost.gather(1, d)
    cm = torch.cat([cost[:, :1], cost[:, :-1]], 1).gather(1, d)  # cost at d - 1
    cp = torch.cat([cost[:, 1:], cost[:, -1:]], 1).gather(1, d)  # cost at d + 1
    den = cm - 2 * c0 + cp
    ok = (den > 1e-6) & (disp > 0) & (disp < dmax)
    off = torch.where(ok, (cm - cp) / (2 * den.clamp(min=1e-6)), torch.zeros_like(den))
    return disp + off.clamp(-0.5, 0.5)


def right_cost(cost: torch.Tensor) -> torch.Tensor:
    """The right view's volume from the left one: ``C_R(d, y, x) = C(d, y, x + d)`` (OUTSIDE past the edge)."""
    out = torch.empty_like(cost)
    for d in range(cost.shape[1]):
        out[:, d, :, : cost.shape[-1] - d] = cost[:, d, :, d:]
        out[:, d, :, cost.shape[-1] - d:] = OUTSIDE
    return out


def lr_consistent(disp_l: torch.Tensor, disp_r: torch.Tensor, tolerance: float = 1.0) -> torch.Tensor:
    """``(B, 1, H, W)`` bool: ``|d_L(x) - d_R(x - round(d_L(x)))| <= tolerance``."""
    w = disp_l.shape[-1]
    col = torch.arange(w, device=disp_l.device).view(1, 1, 1, w)
    target = (col - disp_l.round().long()).clamp(0, w - 1)
    return (disp_l - disp_r.gather(3, target)).abs() <= tolerance


def median_filter(disp: torch.Tensor, k: int) -> torch.Tensor:
    """``k x k`` median of ``(B, 1, H, W)`` (replicated border)."""
    p = k // 2
    cols = F.unfold(F.pad(disp, (p, p, p, p), mode="replicate"), k)  # (B, k*k, H*W)
    return cols.median(1).values.view_as(disp)


def fill_invalid(disp: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Replace invalid pixels by the smaller of the nearest valid disparities to their left and right
    on the same row (occlusions belong to the background); rows without any valid pixel keep theirs."""
    w = disp.shape[-1]
    col = torch.arange(w, device=disp.device).expand_as(disp)
    left_idx = torch.where(valid, col, torch.full_like(col, -1)).cummax(-1).values
    right_idx = torch.where(valid, col, torch.full_like(col, w)).flip(-1).cummin(-1).values.flip(-1)
    big = torch.full_like(disp, float("inf"))
    from_left = torch.where(left_idx >= 0, disp.gather(3, left_idx.clamp(min=0)), big)
    from_right = torch.where(right_idx < w, disp.gather(3, right_idx.clamp(max=w - 1)), big)
    filled = torch.minimum(from_left, from_right)
    return torch.where(valid | ~torch.isfinite(filled), disp, filled)


class MatcherCore(nn.Module):
    """Exportable matcher: ``left, right (B, 1, H, W)`` gray in [0, 1] -> disparity ``(B, 1, H, W)``
    (winner-take-all, optionally subpixel). ``features`` is the dense descriptor."""

    def __init__(self, features: nn.Module, max_disp: int, subpixel: bool = True):
        super().__init__()
        self.features, self.max_disp, self.use_subpixel = features, int(max_disp), subpixel

    def feature_maps(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(torch.cat([left, right], 0).sub(MEAN).div(STD))
        f = F.normalize(f, dim=1)
        return f[: left.shape[0]], f[left.shape[0]:]

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        fl, fr = self.feature_maps(left, right)
        cost = cost_volume(fl, fr, self.max_disp)
        disp = winner(cost)
        return subpixel(cost, disp) if self.use_subpixel else disp


class Matcher(nn.Module):
    """The full matcher (see the module docstring); ``forward(left, right) -> (B, 1, H, W)`` disparity.

    Args:
        descriptor: the trained patch network (converted with ``to_dense`` here) or None for the shipped one.
        max_disp: number of disparities searched (0 .. max_disp - 1).
        sgm, lr_check, subpixel: switch each refinement on or off.
        border: with ``lr_check``, also invalidate (and fill) the ``max_disp - 1`` leftmost columns.
        median: size of the final median filter (0 or 1: off).
        p1, p2, adaptive: SGM penalties (cost units) and the intensity step that halves ``p2``.
        features: optional callable ``(2B, 1, H, W) normalised gray -> (2B, K, H, W)`` used instead of the
            dense descriptor (e.g. an ONNX Runtime session of a quantized descriptor).
    Attributes:
        last_times: per-stage milliseconds of the last call.
    """

    def __init__(self, descriptor: nn.Module | None = None, max_disp: int = 64, sgm: bool = True,
                 lr_check: bool = True, subpixel: bool = True, border: bool = True, median: int = 5,
                 p1: float = 0.1, p2: float = 1.5, adaptive: float | None = 0.1, lr_tolerance: float = 1.0,
                 unwarp: str | None = None, features: Callable | None = None):
        super().__init__()
        from edge.dense import to_dense
        from edge.stereo.model import PATCH, pretrained

        if max_disp < 2:
            raise InputError(f"max_disp must be at least 2, got {max_disp}")
        dense = None if features is not None else to_dense(descriptor if descriptor is not None else pretrained(),
                                                           PATCH, unwarp=unwarp)
        self.core = MatcherCore(dense, max_disp, subpixel)
        self.external = features
        self.use_sgm, self.lr_check, self.use_subpixel = sgm, lr_check, subpixel
        self.border, self.median = border, int(median)
        self.p1, self.p2, self.adaptive, self.lr_tolerance = p1, p2, adaptive, lr_tolerance
        self.last_times: dict[str, float] = {}

    @property
    def max_disp(self) -> int:
        return self.core.max_disp

    def _features(self, left, right):
        if self.external is None:
            return self.core.feature_maps(left, right)
        f = F.normalize(torch.as_tensor(self.external(torch.cat([left, right], 0).sub(MEAN).div(STD))), dim=1)
        return f[: left.shape[0]], f[left.shape[0]:]

    @torch.no_grad()
    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        _check_pair(left, right)
        times, t = {}, time.perf_counter()

        def lap(name):
            nonlocal t
            now = time.perf_counter()
            times[name], t = 1000 * (now - t), now

        fl, fr = self._features(left, right)
        lap("features")
        return self.match_features(fl, fr, left, times, lap)

    @torch.no_grad()
    def match_features(self, fl, fr, left, times=None, lap=None) -> torch.Tensor:
        """Disparity from L2-normalised feature maps ``(B, K, H, W)`` and the left image (adaptive SGM)."""
        times = {} if times is None else times
        if lap is None:
            t = [time.perf_counter()]

            def lap(name):
                now = time.perf_counter()
                times[name], t[0] = 1000 * (now - t[0]), now
        cost = cost_volume(fl, fr, self.max_disp)
        lap("cost_volume")
        if self.use_sgm:
            from edge.stereo.sgm import sgm

            cost = sgm(cost, self.p1, self.p2, image=left, adaptive=self.adaptive) / 4.0
            lap("sgm")
        disp = winner(cost)
        lap("winner")
        valid = None
        if self.lr_check:
            valid = lr_consistent(disp, winner(right_cost(cost)), self.lr_tolerance)
            if self.border:
                valid &= torch.arange(disp.shape[-1], device=disp.device) >= self.max_disp - 1
            lap("lr_check")
        if self.use_subpixel:
            disp = subpixel(cost, disp)
            lap("subpixel")
        if valid is not None:
            disp = fill_invalid(disp, valid)
            lap("fill")
        if self.median > 1:
            disp = median_filter(disp, self.median)
            lap("median")
        self.last_times = times
        return disp


class SideBySide(nn.Module):
    """``(B, 1, H, 2W)`` side-by-side gray frame (left | right) -> ``matcher(left, right)`` ``(B, 1, H, W)``."""

    def __init__(self, matcher: nn.Module):
        super().__init__()
        self.matcher = matcher
        self.history: list[dict] = []  # per-stage ms of every call (edge run prints their medians)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        if frame.dim() != 4 or frame.shape[-1] % 2:
            raise InputError(f"a side-by-side frame must be (B, 1, H, 2W) with an even width, got {tuple(frame.shape)}")
        half = frame.shape[-1] // 2
        out = self.matcher(frame[..., :half], frame[..., half:])
        self.history.append(dict(getattr(self.matcher, "last_times", {})))
        return out


def _check_pair(left, right) -> None:
    for name, x in (("left", left), ("right", right)):
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 1 or not x.is_floating_point():
            raise InputError(f"the {name} image must be a float (B, 1, H, W) gray tensor in [0, 1], got "
                             f"{getattr(x, 'dtype', type(x).__name__)} {tuple(getattr(x, 'shape', ()))}")
    if left.shape != right.shape:
        raise InputError(f"left and right images differ in size: {tuple(left.shape)} vs {tuple(right.shape)}. "
                         "Fix: give a rectified pair of equal size")
