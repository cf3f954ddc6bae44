"""Disparity metrics over the pixels with known ground truth (Middlebury conventions)."""

from __future__ import annotations

import time

import numpy as np
import torch

from edge.errors import InputError


def disparity_errors(disp: np.ndarray, gt: np.ndarray, thresholds=(1.0, 2.0, 4.0)) -> dict:
    """``bad_<t>``: percent of known-GT pixels with ``|d - gt| > t``; ``avgerr``: mean ``|d - gt|``.
    A non-finite prediction counts as bad at every threshold (its error as the largest disparity)."""
    disp, gt = np.asarray(disp, np.float64).squeeze(), np.asarray(gt, np.float64).squeeze()
    if disp.shape != gt.shape:
        raise InputError(f"disparity {disp.shape} and ground truth {gt.shape} differ in shape")
    known = np.isfinite(gt)
    if not known.any():
        raise InputError("the ground truth has no known pixel")
    err = np.abs(disp[known] - gt[known])
    err[~np.isfinite(err)] = max(float(np.nanmax(gt[known])), 1.0)
    out = {f"bad_{t:g}": float(100.0 * np.mean(err > t)) for t in thresholds}
    out["avgerr"] = float(err.mean())
    out["known_pixels"] = int(known.sum())
    return out


def as_tensor(gray: np.ndarray) -> torch.Tensor:
    """``(H, W)`` float gray -> ``(1, 1, H, W)`` tensor."""
    return torch.from_numpy(np.ascontiguousarray(gray, dtype=np.float32))[None, None]


def evaluate_pair(matcher, pair, repeats: int = 1) -> dict:
    """Run ``matcher(left, right)`` on a StereoPair: errors + best-of-``repeats`` seconds (+ stage times)."""
    left, right = as_tensor(pair.left), as_tensor(pair.right)
    best, disp = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        disp = matcher(left, right)
        best = min(best, time.perf_counter() - t0)
    out = disparity_errors(np.asarray(disp).squeeze(), pair.disparity)
    out["seconds"] = best
    if getattr(matcher, "last_times", None):
        out["stages_ms"] = dict(matcher.last_times)
    return out


def best_time(fn, repeats: int = 3) -> float:
    """Least wall time of ``repeats`` calls of ``fn`` after one untimed warm-up call (seconds)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def error_breakdown(disp: np.ndarray, gt: np.ndarray, image: np.ndarray, edge_px: int = 4,
                    texture_std: float = 0.02) -> dict:
    """Where the bad-2 pixels are: near depth edges (within ``edge_px`` of a ground-truth jump > 2 px) vs
    elsewhere, in low-texture regions (9x9 gray std < ``texture_std``) vs textured ones. Shares of the known
    pixels and bad-2 rates (percent) in each."""
    import cv2

    known = np.isfinite(gt)
    bad = known & ~(np.abs(np.nan_to_num(disp, nan=-1e9) - np.where(known, gt, 0)) <= 2)
    g = np.where(known, gt, 0).astype(np.float32)
    jump = (np.abs(np.diff(g, axis=1, prepend=g[:, :1])) > 2) | (np.abs(np.diff(g, axis=0, prepend=g[:1])) > 2)
    k = 2 * edge_px + 1
    near = cv2.dilate(jump.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    img = image.astype(np.float32)
    mu = cv2.blur(img, (9, 9))
    flat = np.sqrt(np.maximum(cv2.blur(img * img, (9, 9)) - mu * mu, 0)) < texture_std
    out = {}
    for name, region in (("near_edges", near), ("away_from_edges", ~near), ("low_texture", flat),
                         ("textured", ~flat)):
        n = int((known & region).sum())
        out[name] = {"share_of_known": 100.0 * n / max(1, int(known.sum())),
                     "bad_2": 100.0 * float((bad & region).sum()) / max(1, n)}
    return out
