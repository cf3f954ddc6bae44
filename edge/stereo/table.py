"""The quick stereo table for the demo (called as ``edge.stereo.demo_table()``): a fast table on a smaller
Motorcycle pair. Its numbers are a smoke check; the reported figures come from scripts/bench_stereo.py."""

from __future__ import annotations

import time

import numpy as np

from edge.io import markdown_table

# Best settings of the full sweeps at quarter size (scripts/bench_stereo.py, see docs/STEREO.md)
SGBM_BEST = {"block_size": 3, "penalty_scale": 1.0, "uniqueness": 15, "mode": "hh"}
BM_BEST = {"block_size": 9, "uniqueness": 15, "texture": 0}


def resized(pair, scale: float):
    """A StereoPair resized by ``scale`` (area for images, nearest for the ground truth, disparities scaled)."""
    import cv2

    from edge.stereo.data import StereoPair

    if scale == 1.0:
        return pair
    h, w = round(pair.left.shape[0] * scale), round(pair.left.shape[1] * scale)
    img = lambda a: cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA)
    gt = cv2.resize(pair.disparity, (w, h), interpolation=cv2.INTER_NEAREST) * scale
    return StereoPair(img(pair.left), img(pair.right), gt, f"{pair.name}@{scale:g}",
                      None if pair.left_bgr is None else img(pair.left_bgr))


def table(scale: float = 0.5, echo=print) -> dict:
    import torch

    from edge.stereo import baselines
    from edge.stereo.data import motorcycle
    from edge.stereo.evaluate import as_tensor, disparity_errors
    from edge.stereo.matcher import Matcher

    pair = resized(motorcycle(), scale)
    max_disp = int(np.ceil(64 * scale / 16) * 16)
    left, right = as_tensor(pair.left), as_tensor(pair.right)
    rows = []
    full = Matcher(max_disp=max_disp)
    t0 = time.perf_counter()
    with torch.no_grad():
        fl, fr = full.core.feature_maps(left, right)
    t_feat = time.perf_counter() - t0
    steps = [("edge WTA", {"sgm": False, "lr_check": False, "subpixel": False, "median": 0}),
             ("+ SGM", {"lr_check": False, "subpixel": False, "median": 0}),
             ("+ left-right check", {"subpixel": False, "median": 0}), ("+ subpixel", {"median": 0}),
             ("+ median (edge full)", {})]
    for name, kw in steps:
        m = Matcher(max_disp=max_disp, features=lambda x: x, **kw)  # reuse the feature maps computed once
        t0 = time.perf_counter()
        disp = m.match_features(fl, fr, left)
        rows.append({"method": name, **disparity_errors(disp.numpy(), pair.disparity),
                     "seconds": t_feat + time.perf_counter() - t0})
    for name, fn, best in (("OpenCV SGBM", baselines.sgbm, SGBM_BEST), ("OpenCV BM", baselines.bm, BM_BEST)):
        t0 = time.perf_counter()
        disp = fn(pair.left, pair.right, max_disp, **best)
        rows.append({"method": name, **disparity_errors(disp, pair.disparity), "seconds": time.perf_counter() - t0})
    for r in rows:
        if echo:
            echo(f"{r['method']:22s} bad-1 {r['bad_1']:5.1f}  bad-2 {r['bad_2']:5.1f}  bad-4 {r['bad_4']:5.1f}  "
                 f"avg err {r['avgerr']:5.2f}  {r['seconds']:6.2f} s")
    md = (f"## Stereo: Motorcycle at {pair.left.shape[1]}x{pair.left.shape[0]} (held out)\n\n"
          + markdown_table(rows, ["method", "bad_1", "bad_2", "bad_4", "avgerr", "seconds"]))
    return {"rows": rows, "markdown": md, "pair": pair.name}
