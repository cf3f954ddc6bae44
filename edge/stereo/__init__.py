"""Learned stereo matching on the dense form: a trained patch descriptor (with a pool, so its dense form
uses the multi-pool rearrangement and the unwarp), a matcher (cost volume, winner-take-all, SGM,
left-right check, subpixel, median), metrics on Middlebury-style ground truth and OpenCV baselines.

    from edge.stereo import Matcher, motorcycle, evaluate_pair
    print(evaluate_pair(Matcher(max_disp=64), motorcycle()))

See docs/STEREO.md. Heavy modules load on first use.
"""

from __future__ import annotations

from edge.stereo.data import StereoPair, aloe, load_scene, motorcycle
from edge.stereo.evaluate import disparity_errors, evaluate_pair
from edge.stereo.matcher import Matcher, MatcherCore
from edge.stereo.model import PATCH, descriptor, patch_descriptor, pretrained, pretrained_dense

__all__ = [
    "PATCH",
    "Matcher",
    "MatcherCore",
    "StereoPair",
    "aloe",
    "demo_table",
    "descriptor",
    "disparity_errors",
    "evaluate_pair",
    "load_scene",
    "motorcycle",
    "patch_descriptor",
    "pretrained",
    "pretrained_dense",
    "side_by_side_matcher",
]


def side_by_side_matcher(max_disp: int = 64):
    """Factory for ``edge run``: an ``nn.Module`` taking one side-by-side gray frame ``(1, 1, H, 2W)``
    (left | right, as :mod:`edge.camera.stereo` delivers) and returning the disparity ``(1, 1, H, W)``."""
    from edge.stereo.matcher import SideBySide

    return SideBySide(Matcher(max_disp=max_disp))


def demo_table(scale: float = 0.5, echo=print) -> dict:
    """A quick side-by-side table on Motorcycle resized by ``scale`` (default half of the quarter-size pair:
    371 x 250, a few seconds on 2 cores): edge's matcher with its refinements switched on one by one, and
    OpenCV's SGBM / BM at their settings that were best in the full sweep of scripts/bench_stereo.py.
    Returns ``{"rows": [...], "markdown": str}``; ``echo`` prints progress lines (None: silent)."""
    from edge.stereo.table import table

    return table(scale, echo)
