"""Sources that misbehave on purpose, built on real decoded video frames (fault injection)."""

from __future__ import annotations

import threading
import time

import numpy as np

from edge.camera.sources import CorruptFrame, Source, SourceError


def video_frames(path, n: int, size=None) -> list[np.ndarray]:
    """The first ``n`` frames of a real video (optionally resized to (w, h))."""
    import cv2

    cap, frames = cv2.VideoCapture(str(path)), []
    while len(frames) < n:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, size) if size else f)
    cap.release()
    assert frames, f"no frame decoded from {path}"
    return frames


class ListSource(Source):
    """Frames from a list, cycled ``total`` times over; ``fps`` paces a live camera (None: as fast as read)."""

    def __init__(self, frames, total: int | None = None, live: bool = False, fps: float | None = None):
        super().__init__("test://list")
        self.frames, self.total, self.live, self.fps = frames, total or len(frames), live, fps
        self.pos, self.opens = 0, 0

    def open(self):
        super().open()
        self.opens += 1
        return self

    def read(self):
        if self.fps:
            time.sleep(1.0 / self.fps)
        if self.pos >= self.total:
            return None
        f = self.frames[self.pos % len(self.frames)]
        self.pos += 1
        return f


class RaisingSource(ListSource):
    """Raises after ``fail_at`` frames; with ``recover`` the next open() works again."""

    def __init__(self, frames, fail_at: int, live=False, recover=True, total=None):
        super().__init__(frames, total=total, live=live)
        self.fail_at, self.recover, self.failed = fail_at, recover, False

    def open(self):
        if self.failed and not self.recover:
            raise SourceError("camera unplugged")
        return super().open()

    def read(self):
        if self.pos == self.fail_at and not self.failed:
            self.failed = True
            raise RuntimeError("USB camera disconnected")
        return super().read()


class StallingSource(ListSource):
    """Blocks in read() after ``stall_at`` frames until interrupted (or, if ``deaf``, until released)."""

    def __init__(self, frames, stall_at: int, live=False, deaf=False, total=None):
        super().__init__(frames, total=total, live=live)
        self.stall_at, self.deaf, self.stalled_once = stall_at, deaf, False
        self.release = threading.Event()

    def read(self):
        if self.pos == self.stall_at and not self.stalled_once:
            self.stalled_once = True
            (self.release if self.deaf else self._interrupted).wait(30)
            if self.deaf:
                return None
            raise SourceError("read interrupted")
        return super().read()


class CorruptingSource(ListSource):
    """Every ``every``-th frame is corrupt, in turn: a decode failure, a wrong size, a float frame."""

    def __init__(self, frames, every: int, total=None):
        super().__init__(frames, total=total)
        self.every, self.bad = every, 0

    def read(self):
        f = super().read()
        if f is None or self.pos % self.every:
            return f
        self.bad += 1
        kind = self.bad % 3
        if kind == 0:
            raise CorruptFrame("decode failure")
        if kind == 1:
            return f[: f.shape[0] // 2]
        return f.astype(np.float32)
