"""OpenCV's matchers on the same pair, with parameter sweeps: StereoSGBM and StereoBM.

OpenCV marks pixels without a disparity (the left border it cannot search, failed uniqueness or
left-right checks) as negative; they are filled exactly as edge's matcher fills its invalid pixels
(``edge.stereo.matcher.fill_invalid``), so both are scored on every pixel with known ground truth.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import torch

from edge._lazy import lazy_import
from edge.stereo.evaluate import disparity_errors
from edge.stereo.matcher import fill_invalid

cv2 = lazy_import("cv2", feature="OpenCV stereo baselines")

# P1/P2 as multiples of OpenCV's documented suggestion 8*cn*bs^2 and 32*cn*bs^2 (cn = 1, gray)
SGBM_GRID = {"block_size": (3, 5, 7, 9, 11), "penalty_scale": (0.5, 1.0, 2.0), "uniqueness": (0, 5, 10, 15),
             "mode": ("sgbm", "hh")}
BM_GRID = {"block_size": (5, 9, 15, 21), "uniqueness": (0, 5, 10, 15), "texture": (0, 10)}


def _u8(gray: np.ndarray) -> np.ndarray:
    return np.clip(np.round(gray * 255.0), 0, 255).astype(np.uint8)


def filled(raw: np.ndarray) -> np.ndarray:
    """OpenCV's fixed-point disparity (x16, negative = invalid) -> float, invalid pixels filled."""
    d = raw.astype(np.float32) / 16.0
    t = torch.from_numpy(d)[None, None]
    return fill_invalid(t, t >= 0).numpy()[0, 0]


def sgbm(left: np.ndarray, right: np.ndarray, max_disp: int, block_size: int = 5, penalty_scale: float = 1.0,
         uniqueness: int = 10, mode: str = "sgbm") -> np.ndarray:
    """StereoSGBM disparity of gray float pairs (filled); ``max_disp`` rounded up to a multiple of 16."""
    n = int(np.ceil(max_disp / 16) * 16)
    bs2 = block_size * block_size
    s = cv2.StereoSGBM_create(minDisparity=0, numDisparities=n, blockSize=block_size,
                              P1=int(8 * bs2 * penalty_scale), P2=int(32 * bs2 * penalty_scale),
                              uniquenessRatio=uniqueness,
                              mode=cv2.STEREO_SGBM_MODE_HH if mode == "hh" else cv2.STEREO_SGBM_MODE_SGBM)
    return filled(s.compute(_u8(left), _u8(right)))


def bm(left: np.ndarray, right: np.ndarray, max_disp: int, block_size: int = 15, uniqueness: int = 10,
       texture: int = 10) -> np.ndarray:
    """StereoBM disparity of gray float pairs (filled)."""
    n = int(np.ceil(max_disp / 16) * 16)
    s = cv2.StereoBM_create(numDisparities=n, blockSize=block_size)
    s.setUniquenessRatio(uniqueness)
    s.setTextureThreshold(texture)
    return filled(s.compute(_u8(left), _u8(right)))


def sweep(pair, max_disp: int, which: str = "sgbm", grid: dict | None = None) -> tuple[dict, list[dict]]:
    """Every setting of ``grid`` on ``pair``: ``(best row by bad-2, all rows)``; rows hold the setting,
    the errors and the seconds of one run."""
    fn, grid = (sgbm, grid or SGBM_GRID) if which == "sgbm" else (bm, grid or BM_GRID)
    rows = []
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values))
        t0 = time.perf_counter()
        disp = fn(pair.left, pair.right, max_disp, **params)
        sec = time.perf_counter() - t0
        rows.append({"method": which, **params, **disparity_errors(disp, pair.disparity), "seconds": sec})
    return min(rows, key=lambda r: r["bad_2"]), rows
