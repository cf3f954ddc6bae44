"""Stereo pairs with ground truth: the opencv-doc Aloe pair (training) and Middlebury 2014 Motorcycle at
quarter size (held out, from scikit-image's bundled data).

Images come back as float32 gray ``(H, W)`` in [0, 1] and disparities as float32 ``(H, W)`` in pixels of
the returned size, ``inf`` where the ground truth is unknown (the Middlebury convention). The Aloe files
are found under ``$EDGE_DATA_DIR/opencv`` (default: ``data/opencv`` of the source tree, installed by
``scripts/install_data.sh``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge._lazy import lazy_import
from edge.errors import InputError

cv2 = lazy_import("cv2", feature="stereo data")

# aloeGT.png stores the left view's disparity in pixels of the full-size pair (1282 x 1110) with 0 =
# unknown: checked against the images, matching L(x) with R(x - GT) gives a median gray difference of
# 4/255, against 25/255 for R(x - GT/2) and 27/255 for R(x - 2 GT) (see tests/stereo/test_data.py).
ALOE_FILES = ("aloeL.jpg", "aloeR.jpg", "aloeGT.png")


@dataclass
class StereoPair:
    """A rectified pair: ``left``/``right`` float32 gray ``(H, W)`` in [0, 1], ``disparity`` of the left
    view (``inf`` = unknown), ``max_disp`` an upper bound of the scene's disparities, ``name``."""

    left: np.ndarray
    right: np.ndarray
    disparity: np.ndarray
    name: str
    left_bgr: np.ndarray | None = None

    @property
    def max_disp(self) -> int:
        known = self.disparity[np.isfinite(self.disparity)]
        return int(np.ceil(known.max())) + 1 if known.size else 1


def data_dir() -> Path:
    """``$EDGE_DATA_DIR`` or ``data/`` of the source tree."""
    return Path(os.environ.get("EDGE_DATA_DIR", Path(__file__).resolve().parents[2] / "data"))


def to_gray(img: np.ndarray) -> np.ndarray:
    """uint8 BGR ``(H, W, 3)`` or gray ``(H, W)`` -> float32 gray in [0, 1] (OpenCV's BGR2GRAY weights)."""
    if img.ndim == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2GRAY)
    return img.astype(np.float32) / 255.0


def aloe(scale: float = 0.5) -> StereoPair:
    """The Aloe pair resized by ``scale`` (area interpolation; disparities scaled alike)."""
    folder = data_dir() / "opencv"
    missing = [f for f in ALOE_FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"the Aloe stereo pair is missing ({', '.join(missing)} not in {folder}). Fix: run "
                         "scripts/install_data.sh (opencv-doc sample data), or point EDGE_DATA_DIR at a folder "
                         "whose opencv/ subfolder holds aloeL.jpg, aloeR.jpg and aloeGT.png")
    left = cv2.imread(str(folder / ALOE_FILES[0]), cv2.IMREAD_COLOR)
    right = cv2.imread(str(folder / ALOE_FILES[1]), cv2.IMREAD_COLOR)
    gt = cv2.imread(str(folder / ALOE_FILES[2]), cv2.IMREAD_UNCHANGED).astype(np.float32)
    gt[gt == 0] = np.inf
    if scale != 1.0:
        h, w = round(left.shape[0] * scale), round(left.shape[1] * scale)
        left, right = (cv2.resize(i, (w, h), interpolation=cv2.INTER_AREA) for i in (left, right))
        # nearest keeps unknown pixels unknown (an average would blend inf into its neighbours)
        gt = cv2.resize(gt, (w, h), interpolation=cv2.INTER_NEAREST) * scale
    return StereoPair(to_gray(left), to_gray(right), gt, f"aloe@{scale:g}", left)


def motorcycle() -> StereoPair:
    """Middlebury 2014 Motorcycle at quarter size (741 x 500), bundled with scikit-image."""
    data = lazy_import("skimage.data", feature="the Motorcycle stereo pair")
    left, right, disp = data.stereo_motorcycle()  # RGB uint8, float32 disparity with inf = unknown
    left_bgr = np.ascontiguousarray(left[..., ::-1])
    return StereoPair(to_gray(left_bgr), to_gray(np.ascontiguousarray(right[..., ::-1])),
                      disp.astype(np.float32), "motorcycle", left_bgr)


SCENES = {"aloe": aloe, "motorcycle": motorcycle}


def load_scene(name: str) -> StereoPair:
    """A scene of :data:`SCENES` by name."""
    if name not in SCENES:
        raise InputError(f"unknown stereo scene '{name}'; known: {', '.join(sorted(SCENES))}")
    return SCENES[name]()


def fingerprint(gray: np.ndarray) -> str:
    """Content hash of a gray image (float in [0, 1] or uint8), quantised to uint8: identifies a scene's left view."""
    g = np.asarray(gray)
    u8 = g if g.dtype == np.uint8 else np.round(g.astype(np.float32) * 255.0).astype(np.uint8)
    return hashlib.sha256(str(u8.shape).encode() + u8.tobytes()).hexdigest()
