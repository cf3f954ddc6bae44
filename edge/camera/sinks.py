"""Where processed frames go, by URI: a video file, an image directory, a display, or nowhere.

| URI                        | sink                                                              |
| ---                        | ---                                                               |
| ``out.mp4`` / ``.avi`` / ``.mkv`` | video file (OpenCV VideoWriter; written to a temp file, renamed on success) |
| ``out_dir/``  (no suffix)  | one PNG per frame, ``000000.png``..., each written atomically      |
| ``display``                | an OpenCV window (needs a display and an OpenCV with GUI support; 'q' stops) |
| ``null`` / None            | nothing (benchmarks)                                               |
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge._lazy import lazy_import
from edge.errors import PipelineError
from edge.io import write_bytes

cv2 = lazy_import("cv2", feature="camera sinks")
VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".mov": "mp4v"}


class Sink:
    """``write(image, index)``; ``close(ok)`` finalises (ok=False discards a partial artifact)."""

    wants_stop = False  # a display sets it when the user presses 'q'

    def write(self, image: np.ndarray, index: int) -> None:
        raise NotImplementedError

    def close(self, ok: bool = True) -> None:
        pass


class NullSink(Sink):
    def write(self, image, index):
        pass


class VideoSink(Sink):
    """A video file at ``fps``; its size is that of the first frame (later frames are resized to it)."""

    def __init__(self, path: Path, fps: float | None = None):
        self.path, self.fps, self.writer, self.size = Path(path), fps or 30.0, None, None
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.frames = 0

    def write(self, image, index):
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.size = (image.shape[1], image.shape[0])
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_SUFFIXES[self.path.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.tmp), fourcc, float(self.fps), self.size)
            if not self.writer.isOpened():
                raise PipelineError(f"cannot write video '{self.path}' (codec {VIDEO_SUFFIXES[self.path.suffix.lower()]}); "
                                    "try an .avi file or an image directory")
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size)
        self.writer.write(_bgr(image))
        self.frames += 1

    def close(self, ok=True):
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        if ok and self.frames:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


class ImageDirSink(Sink):
    """One PNG per frame in a directory, each written atomically."""

    def __init__(self, path: Path, ext: str = ".png"):
        self.path, self.ext = Path(path), ext
        self.path.mkdir(parents=True, exist_ok=True)

    def write(self, image, index):
        ok, buf = cv2.imencode(self.ext, _bgr(image))
        if not ok:
            raise PipelineError(f"cannot encode frame {index} as {self.ext}")
        write_bytes(self.path / f"{index:06d}{self.ext}", buf.tobytes())


class DisplaySink(Sink):
    """An OpenCV window; pressing 'q' asks the pipeline to stop."""

    def __init__(self, title: str = "edge run"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise PipelineError("no display here (DISPLAY is not set): use a video file, an image directory or null")
        self.title = title

    def write(self, image, index):
        try:
            cv2.imshow(self.title, _bgr(image))
            if cv2.waitKey(1) & 0xFF == ord("q"):
                self.wants_stop = True
        except cv2.error as e:
            raise PipelineError(f"this OpenCV cannot open a window ({e}); install one with GUI support "
                                "(opencv-python, or JetPack's) or use another sink") from e

    def close(self, ok=True):
        try:
            cv2.destroyWindow(self.title)
        except Exception:  # noqa: BLE001 - the window may never have opened
            pass


def _bgr(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def open_sink(uri: str | None, fps: float | None = None) -> Sink:
    """The sink for ``uri`` (see the module table)."""
    if uri in (None, "", "null", "none"):
        return NullSink()
    if uri == "display":
        return DisplaySink()
    path = Path(uri)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoSink(path, fps)
    if path.suffix and not path.is_dir():
        raise PipelineError(f"sink '{uri}': unknown video suffix '{path.suffix}' (known: "
                            f"{', '.join(VIDEO_SUFFIXES)}); give a directory for images, 'display' or 'null'")
    return ImageDirSink(path)


__all__ = ["DisplaySink", "ImageDirSink", "NullSink", "Sink", "VideoSink", "open_sink"]
