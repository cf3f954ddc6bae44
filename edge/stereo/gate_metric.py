"""The stereo task metric for the INT8 accuracy gate (``edge quantize --metric edge.stereo.gate_metric:bad2_margin``).

The gate runs the descriptor (FP32 and quantized) on its held-out frames and hands both outputs here.
The frames must come in (left, right) pairs of scenes whose ground truth edge knows (see
``edge.stereo.data.ground_truth_for``: Motorcycle, Aloe); each pair is matched from the FP32 features and
from the quantized ones with the full matcher, and the value is ``bad-2(FP32) - bad-2(quantized)`` in
percentage points: the gate's default threshold of -0.5 passes while INT8 loses at most half a point.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from edge.errors import InputError


@functools.lru_cache(maxsize=8)
def _gt_by_fingerprint(key: str, shape: tuple) -> np.ndarray | None:
    from edge.stereo.data import fingerprint, load_scene

    for name in ("motorcycle", "aloe"):
        try:
            pair = load_scene(name)
        except InputError:
            continue
        if pair.left.shape == shape and fingerprint(pair.left) == key:
            return pair.disparity
    return None


def _bad2(feats: np.ndarray, left_gray: np.ndarray, gt: np.ndarray) -> float:
    """bad-2 of the full matcher on feature maps ``(2, K, H, W)`` (left, right)."""
    import torch.nn.functional as F

    from edge.stereo.evaluate import as_tensor, disparity_errors
    from edge.stereo.matcher import Matcher

    max_disp = int(np.ceil(np.nanmax(np.where(np.isfinite(gt), gt, np.nan)) / 16 + 1e-9)) * 16
    m = Matcher(max_disp=max(16, max_disp), features=lambda x: x)
    f = F.normalize(torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)), dim=1)
    disp = m.match_features(f[:1], f[1:], as_tensor(left_gray))
    return disparity_errors(disp.numpy(), gt)["bad_2"]


def bad2_margin(ref_outputs, outputs, frames) -> dict:
    """``bad-2(FP32) - bad-2(quantized)`` (points) averaged over the (left, right) pairs of ``frames``."""
    from edge.stereo.data import fingerprint, to_gray

    if len(frames) % 2 or len(frames) == 0:
        raise InputError(f"the stereo gate metric needs (left, right) frame pairs; got {len(frames)} frames. Fix: "
                         "give --eval LEFT --eval RIGHT for each pair, left first")
    fp32, quant = [], []
    for i in range(0, len(frames), 2):
        left = to_gray(frames.frames[i])
        gt = _gt_by_fingerprint(fingerprint(left), left.shape)
        if gt is None:
            raise InputError(f"frame {i} is not the left view of a scene with known ground truth (Motorcycle, "
                             "Aloe). Fix: evaluate on those pairs, e.g. skimage's motorcycle_left.png/right.png")
        fp32.append(_bad2(ref_outputs[0][i:i + 2], left, gt))
        quant.append(_bad2(outputs[0][i:i + 2], left, gt))
    return {"value": float(np.mean(fp32) - np.mean(quant)), "bad2_fp32": float(np.mean(fp32)),
            "bad2_quantized": float(np.mean(quant))}


bad2_margin.threshold = -0.5
bad2_margin.name = "bad2_margin"
