"""Frame sources by URI, through OpenCV (with GStreamer where OpenCV was built with it).

| URI                                   | source                                                          |
| ---                                   | ---                                                             |
| ``path/to/video.mp4``, ``file://...``  | a video file (not live: the pipeline waits for it, drops nothing) |
| ``path/to/dir/``                       | the images of a directory in name order (not live)              |
| ``v4l2:///dev/video0``, ``v4l2://0``   | a V4L2 camera (live)                                            |
| ``csi://0?width=1280&height=720&fps=30`` | a CSI camera through GStreamer ``nvarguscamerasrc`` (Jetson, live) |
| ``rtsp://host/stream``                 | an RTSP stream, any codec (GStreamer parsebin + nvv4l2decoder on a Jetson, else FFmpeg; live) |
| ``gst://<pipeline ending in appsink>``  | any GStreamer pipeline (live)                                   |

``read()`` returns an HxWx3 uint8 BGR frame, None at the end of the stream, raises ``CorruptFrame`` for a
frame that cannot be decoded (the pipeline skips and counts it) and ``SourceError`` when the source fails
(a live source is then reopened with backoff). ``interrupt()`` (from another thread) makes a blocked
``read()`` fail as soon as it returns: the stall watchdog uses it. Live captures carry OpenCV's
open/read timeouts only where the backend accepts them (``capture_params``); a live V4L2 camera keeps one
driver buffer (``CAP_PROP_BUFFERSIZE=1``) so that a read returns the freshest frame.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np

from edge._lazy import lazy_import
from edge.errors import PipelineError

cv2 = lazy_import("cv2", feature="camera and video sources")

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
DEFAULT_TIMEOUT_S = 5.0
# OpenCV releases whose backends accept CAP_PROP_OPEN_TIMEOUT_MSEC / CAP_PROP_READ_TIMEOUT_MSEC as open()
# parameters (checked in the sources of opencv-python-headless 4.6.0.66 and 4.7.0.72, which carry OpenCV
# 4.6.0 and 4.7.0, modules/videoio/src):
# - GStreamer: open() hands every parameter it does not consume to setProperty() and fails the open when
#   one is refused ("can't set property", cap_gstreamer.cpp 4.6.0 lines 1430-1435); setProperty() knows the
#   two timeouts from 4.7.0 (cap_gstreamer.cpp 4.7.0 lines 2067-2095, opencv/opencv#22919).
# - V4L2 is a static backend without parameters in open(): backend_static.cpp applyParametersFallback()
#   (lines 12-29 in both) calls setProperty() and raises "Failed to apply invalid or unsupported parameter"
#   for any it refuses; CvCaptureCAM_V4L::setProperty() (cap_v4l.cpp 4.7.0 lines 2107-2185) has no case
#   for the timeouts, so they are never passed to V4L2. It does take CAP_PROP_BUFFERSIZE (lines 2145-2154).
# - FFmpeg reads both from the open parameters (cap_ffmpeg_impl.hpp 4.6.0 lines 1075-1081).
TIMEOUT_PARAMS_SINCE = {"gstreamer": (4, 7), "ffmpeg": (4, 6)}


class SourceError(PipelineError):
    """The source failed (disconnected, closed, raised): a live source is reopened, others stop."""


class CorruptFrame(PipelineError):
    """One frame could not be decoded or has the wrong size/type: skipped and counted."""


class Source:
    """Base of every source. ``live`` sources drop frames when the pipeline falls behind."""

    live = False

    def __init__(self, uri: str):
        self.uri, self._interrupted = uri, threading.Event()
        self.notes: list[str] = []  # warnings about how the source was opened (the run summary lists them)

    def open(self) -> Source:
        self._interrupted.clear()
        return self

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    def interrupt(self) -> None:
        """Ask a blocked ``read()`` to give up (called from the watchdog thread)."""
        self._interrupted.set()

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"


class CaptureSource(Source):
    """Anything ``cv2.VideoCapture`` opens: files, V4L2 devices, GStreamer pipelines, RTSP URLs."""

    def __init__(self, uri: str, target, api: int | None = None, live: bool = False, timeout_s: float | None = None):
        super().__init__(uri)
        self.target, self.api, self.live = target, api, live
        self.timeout_s = timeout_s or DEFAULT_TIMEOUT_S
        self.cap = None
        self.frames_read = 0
        self.buffer_size_set: bool | None = None  # live V4L2: whether the driver took CAP_PROP_BUFFERSIZE=1

    def open(self) -> CaptureSource:
        super().open()
        self.close()
        api = cv2.CAP_ANY if self.api is None else self.api
        params = capture_params(self.api, self.timeout_s) if self.live else []
        cap = cv2.VideoCapture(self.target, api, params) if params else cv2.VideoCapture(self.target, api)
        if not cap.isOpened():
            raise SourceError(f"cannot open source '{self.uri}' (OpenCV backend "
                              f"{'any' if self.api is None else self.api}): check the path/device/URL"
                              + ("; on a Jetson use JetPack's OpenCV, built with GStreamer" if self.live else ""))
        if self.live and self.api == cv2.CAP_V4L2:
            # One driver buffer: a read returns the newest frame instead of one queued behind three others.
            self.buffer_size_set = bool(cap.set(cv2.CAP_PROP_BUFFERSIZE, 1))
        self.cap, self.frame_count = cap, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        return self

    def read(self) -> np.ndarray | None:
        if self.cap is None:
            raise SourceError(f"source '{self.uri}' is not open")
        ok, frame = self.cap.read()
        if self._interrupted.is_set():
            raise SourceError(f"source '{self.uri}' interrupted (stalled)")
        if ok and frame is not None:
            self.frames_read += 1
            return frame
        if self.live:
            raise SourceError(f"source '{self.uri}' delivered no frame (disconnected?)")
        if self.frame_count and self.frames_read < self.frame_count - 1 and self.cap.grab():
            self.frames_read += 1  # a frame failed to decode but the stream goes on: skip it
            raise CorruptFrame(f"frame {self.frames_read} of '{self.uri}' could not be decoded")
        return None

    # interrupt() only sets the flag: releasing a VideoCapture while another thread is inside read() is
    # not thread-safe in OpenCV. Where the backend takes CAP_PROP_READ_TIMEOUT_MSEC (capture_params) a
    # blocked read returns on its own after the stall timeout; one that never does (V4L2, GStreamer before
    # OpenCV 4.7) is abandoned by the watchdog.

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class ImageDirSource(Source):
    """The images of a directory, in name order; an unreadable image is a corrupt frame."""

    def __init__(self, uri: str, path: Path):
        super().__init__(uri)
        self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise PipelineError(f"directory '{path}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.pos = 0

    def read(self) -> np.ndarray | None:
        if self.pos >= len(self.files):
            return None
        path = self.files[self.pos]
        self.pos += 1
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise CorruptFrame(f"image '{path}' could not be decoded")
        return frame


def csi_pipeline(sensor_id: int = 0, width: int = 1280, height: int = 720, fps: int = 30, flip: int = 0) -> str:
    """GStreamer pipeline of a Jetson CSI camera (Argus) delivering BGR frames to OpenCV's appsink."""
    return (f"nvarguscamerasrc sensor-id={sensor_id} ! video/x-raw(memory:NVMM), width={width}, height={height}, "
            f"framerate={fps}/1, format=NV12 ! nvvidconv flip-method={flip} ! video/x-raw, format=BGRx ! "
            f"videoconvert ! video/x-raw, format=BGR ! appsink drop=true max-buffers=1 sync=false")


def rtsp_pipeline(url: str, latency_ms: int = 100, decoder: str = "nvv4l2decoder") -> str:
    """GStreamer pipeline of an RTSP stream, any codec the decoder takes.

    ``parsebin`` picks the RTP depayloader and parser for what the camera sends (H.264, H.265, ...), so
    nothing here is tied to one codec; ``decoder`` is the Jetson's hardware decoder (nvv4l2decoder takes
    H.264/H.265/VP9/AV1 elementary streams) or ``"decodebin"`` elsewhere. The URL is quoted, so one with
    spaces or ``!`` stays one ``location`` value.
    """
    convert = ("nvvidconv ! video/x-raw, format=BGRx ! videoconvert" if decoder.startswith("nv")
               else "videoconvert")
    return (f"rtspsrc location={gst_quote(url)} latency={latency_ms} ! parsebin ! {decoder} ! {convert} ! "
            f"video/x-raw, format=BGR ! appsink drop=true max-buffers=1 sync=false")


def gst_quote(value: str) -> str:
    """``value`` as one quoted gst-launch property value (backslash and double quote escaped)."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def opencv_version() -> tuple[int, int]:
    """(major, minor) of the OpenCV in use, e.g. (4, 6) for Ubuntu 24.04's python3-opencv."""
    major, minor = (int(x) for x in cv2.__version__.split(".")[:2])
    return major, minor


def capture_params(api: int | None, timeout_s: float) -> list[int]:
    """OpenCV open() parameters for a live capture: the open/read timeouts where ``api`` accepts them
    (see TIMEOUT_PARAMS_SINCE), else none, because a refused parameter makes the open fail."""
    backend = {cv2.CAP_GSTREAMER: "gstreamer", cv2.CAP_FFMPEG: "ffmpeg"}.get(api)
    if backend is None or opencv_version() < TIMEOUT_PARAMS_SINCE[backend]:
        return []
    ms = int(timeout_s * 1000)
    return [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]


def has_gstreamer() -> bool:
    """True when this OpenCV was built with GStreamer (JetPack's is; PyPI's wheels are not)."""
    info = cv2.getBuildInformation()
    line = next((ln for ln in info.splitlines() if "GStreamer" in ln), "")
    return "YES" in line


def _on_jetson() -> bool:
    return os.path.exists("/etc/nv_tegra_release")


def _network_source(uri: str, scheme: str, timeout_s: float | None) -> CaptureSource:
    """RTSP through GStreamer's hardware decoder on a Jetson; FFmpeg (software decoding) elsewhere."""
    if scheme.startswith("rtsp") and _on_jetson():
        if has_gstreamer():
            return CaptureSource(uri, rtsp_pipeline(uri), cv2.CAP_GSTREAMER, live=True, timeout_s=timeout_s)
        note = (f"'{uri}': this OpenCV has no GStreamer, so RTSP is decoded by FFmpeg on the CPU, not by the "
                "Jetson's hardware decoder. Fix: use JetPack's python3-opencv (see the README, On a Jetson)")
        warnings.warn(note, RuntimeWarning, stacklevel=3)
        src = CaptureSource(uri, uri, cv2.CAP_FFMPEG, live=True, timeout_s=timeout_s)
        src.notes.append(note)
        return src
    return CaptureSource(uri, uri, cv2.CAP_FFMPEG, live=True, timeout_s=timeout_s)


def open_source(uri: str, timeout_s: float | None = None) -> Source:
    """A Source for ``uri`` (see the module table), opened. PipelineError says what is wrong and the fix."""
    uri = str(uri)
    u = urlparse(uri)
    q = {k: v[-1] for k, v in parse_qs(u.query).items()}
    if u.scheme == "csi":
        if not has_gstreamer():
            raise PipelineError(f"'{uri}' needs OpenCV with GStreamer (nvarguscamerasrc); this OpenCV ({cv2.__file__}) "
                                "has none. Fix: on a Jetson use JetPack's python3-opencv: pip uninstall "
                                "opencv-python opencv-python-headless, then pip install 'numpy<2' (JetPack's cv2 "
                                "is built against numpy 1.x; PyPI's OpenCV brought numpy 2), or reinstall with "
                                "make jetson-install (README, On a Jetson)")
        pipe = csi_pipeline(int(u.netloc or 0), int(q.get("width", 1280)), int(q.get("height", 720)),
                            int(q.get("fps", 30)), int(q.get("flip", 0)))
        src = CaptureSource(uri, pipe, cv2.CAP_GSTREAMER, live=True, timeout_s=timeout_s)
    elif u.scheme == "gst":
        src = CaptureSource(uri, uri[len("gst://"):], cv2.CAP_GSTREAMER, live=True, timeout_s=timeout_s)
    elif u.scheme == "v4l2":
        dev = u.path or u.netloc
        target = int(dev) if dev.isdigit() else dev
        src = CaptureSource(uri, target, cv2.CAP_V4L2, live=True, timeout_s=timeout_s)
    elif u.scheme in ("rtsp", "rtsps", "http", "https"):
        src = _network_source(uri, u.scheme, timeout_s)
    else:
        path = Path(u.path if u.scheme == "file" else uri)
        if path.is_dir():
            src = ImageDirSource(uri, path)
        elif path.is_file():
            src = CaptureSource(uri, str(path), None, live=False, timeout_s=timeout_s)
        else:
            raise PipelineError(f"source '{uri}' is neither a file, a directory nor a known URI "
                                "(v4l2://, csi://, rtsp://, gst://)")
    return src.open()


__all__ = [
    "TIMEOUT_PARAMS_SINCE",
    "CaptureSource",
    "CorruptFrame",
    "ImageDirSource",
    "Source",
    "SourceError",
    "capture_params",
    "csi_pipeline",
    "gst_quote",
    "has_gstreamer",
    "open_source",
    "opencv_version",
    "rtsp_pipeline",
]
