"""A stereo source for the camera pipeline: two synchronised inputs delivered as one side-by-side frame.

    StereoSource.open_pair("left/", "right/")     two image folders (name order), two videos or two images
    StereoSource.side_by_side("rig.mp4")           one video/folder whose frames hold left | right halves

Every ``read()`` returns one ``H x 2W x 3`` uint8 BGR frame, left half first, so the pipeline, its queues
and sinks stay single-input; a stereo model (``edge.stereo:side_by_side_matcher``) splits it again. The
inputs must stay in step: a right frame missing while the left stream goes on (or the reverse), or left
and right frames of different sizes, stop the pipeline with a :class:`StereoError` saying which frame and
how to fix it; folders of different lengths are refused when the source opens.

The ``disparity`` post-processor shows the left image beside the colour-mapped disparity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge._lazy import lazy_import
from edge.camera.post import ColorMap, posts
from edge.camera.sources import IMAGE_SUFFIXES, Source, SourceError, open_source
from edge.errors import PipelineError

cv2 = lazy_import("cv2", feature="the stereo source")


class StereoError(SourceError):
    """The two inputs of a stereo source are out of step or of different sizes."""


class StereoSource(Source):
    """Left and right sources read in lock step (see the module docstring)."""

    def __init__(self, uri: str, left: Source, right: Source | None):
        super().__init__(uri)
        self.left, self.right = left, right
        self.live = bool(left.live or (right is not None and right.live))
        self.index = 0

    @classmethod
    def open_pair(cls, left: str, right: str, timeout_s: float | None = None) -> StereoSource:
        """Two inputs: folders of images, videos or single images (an image is a one-frame stream)."""
        _check_lengths(left, right)
        srcs = [_open_one(p, timeout_s) for p in (left, right)]
        return cls(f"stereo:{left}|{right}", *srcs)

    @classmethod
    def side_by_side(cls, uri: str, timeout_s: float | None = None) -> StereoSource:
        """One input whose frames are ``left | right`` halves of equal width."""
        return cls(f"stereo-sbs:{uri}", _open_one(uri, timeout_s), None)

    @property
    def cap(self):
        """The left input's OpenCV capture (its frame rate sets the output video's), if any."""
        return getattr(self.left, "cap", None)

    def open(self) -> StereoSource:
        super().open()
        self.left.open()
        if self.right is not None:
            self.right.open()
        return self

    def read(self) -> np.ndarray | None:
        left = self.left.read()
        if self.right is None:
            if left is not None and left.shape[1] % 2:
                raise StereoError(f"side-by-side frame {self.index} of '{self.left.uri}' is {left.shape[1]} pixels "
                                  "wide, not an even width: it cannot be split into left | right halves. Fix: "
                                  "give the two views as two inputs (--right)")
            self.index += left is not None
            return left
        right = self.right.read()
        if left is None and right is None:
            return None
        if left is None or right is None:
            ended, going = ("left", "right") if left is None else ("right", "left")
            raise StereoError(f"the {ended} input has no frame {self.index} while the {going} input goes on: the "
                              "stereo inputs are out of step. Fix: give left and right inputs with the same "
                              "number of frames (matching file names, equal-length videos)")
        if left.shape != right.shape:
            raise StereoError(f"stereo frame {self.index}: left is {_size(left)} but right is {_size(right)}. "
                              "Fix: give a rectified pair of equal size (resize or crop both views alike)")
        self.index += 1
        return np.ascontiguousarray(np.concatenate([left, right], axis=1))

    def interrupt(self) -> None:
        super().interrupt()
        self.left.interrupt()
        if self.right is not None:
            self.right.interrupt()

    def close(self) -> None:
        self.left.close()
        if self.right is not None:
            self.right.close()


def _size(frame: np.ndarray) -> str:
    return f"{frame.shape[1]}x{frame.shape[0]}" + (f"x{frame.shape[2]}" if frame.ndim == 3 else "")


def _open_one(path: str, timeout_s: float | None) -> Source:
    p = Path(path)
    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
        return _OneImage(path)
    if not p.exists() and "://" not in path:
        raise PipelineError(f"stereo input '{path}' does not exist. Fix: give two image folders, two videos or two "
                            "images (left first), or one side-by-side video")
    return open_source(path, timeout_s=timeout_s)


def _check_lengths(left: str, right: str) -> None:
    counts = []
    for p in (Path(left), Path(right)):
        if not p.is_dir():
            return
        counts.append(sum(1 for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES))
    if counts[0] != counts[1]:
        raise StereoError(f"the left folder '{left}' holds {counts[0]} images but the right folder '{right}' holds "
                          f"{counts[1]}: a right frame is missing. Fix: give folders with one right image per left one")


class _OneImage(Source):
    """A single image file as a one-frame stream."""

    def __init__(self, path: str):
        super().__init__(path)
        self.done = False

    def open(self) -> _OneImage:
        super().open()
        self.done = False
        return self

    def read(self) -> np.ndarray | None:
        if self.done:
            return None
        self.done = True
        img = cv2.imread(self.uri, cv2.IMREAD_COLOR)
        if img is None:
            raise StereoError(f"image '{self.uri}' could not be decoded")
        return img


@posts.register("disparity")
class Disparity:
    """Side-by-side frame + disparity ``(1, 1, H, W)`` -> left view | colour-mapped disparity (``H x 2W``).
    Colours span ``0 .. max_disp`` (default: the first frame's 99th percentile), fixed over the run."""

    def __init__(self, max_disp: float | None = None, colormap: str | None = None, **_):
        self.cmap = ColorMap(colormap)
        if max_disp:
            self.cmap.lo, self.cmap.hi = np.zeros((1, 1)), np.full((1, 1), float(max_disp))

    def __call__(self, frame, outputs):
        half = frame[:, : frame.shape[1] // 2]
        colour, rec = self.cmap(half, outputs)
        return np.ascontiguousarray(np.concatenate([half, colour], axis=1)), rec


__all__ = ["Disparity", "StereoError", "StereoSource"]
