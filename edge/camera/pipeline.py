"""The camera pipeline: capture -> inference -> output in three threads joined by bounded queues.

    source --read+preprocess--> [queue_in] --runner.infer--> [queue_out] --post+overlay+sink--> done

Frame-dropping policy (edge.camera.queues): "block" for files and image directories (nothing is
dropped, the reader waits for the model), "drop-oldest" for live sources (a full queue discards its
oldest frame; drops are counted per queue). A live source's input queue holds ONE frame, so the model
always takes the freshest one (with two, it would take the older of the two).

Robustness, all of it reported in the summary's ``stop_reason`` and ``frames`` counters:
- end of stream: the capture thread sends an end marker that flushes both queues, then all threads end;
- corrupt frames (decode failure, wrong size/type, preprocessing rejects them): skipped and counted;
  ``max_corrupt_run`` consecutive ones stop the pipeline;
- a stalled source (a read that takes longer than ``stall_timeout_s``): the main thread's watchdog
  interrupts it; a live source is then reopened, a file stops with reason "stalled";
- a failing or disconnected source: live sources are reopened with exponential backoff (0.5 s doubling
  to 8 s) for ``reconnect_attempts`` attempts, then the pipeline stops;
- Ctrl-C, a sink asking to stop, an inference error: the stop event ends every wait within 50 ms and
  every thread is joined (bounded); a thread that does not end is named in ``threads_alive``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from edge.bench.memory import current_rss_bytes, track_peak_rss
from edge.bench.power import PowerSampler
from edge.bench.stats import latency_stats, optional_stats
from edge.camera.queues import EOS, Closed, FrameQueue
from edge.camera.sinks import NullSink
from edge.camera.sources import CorruptFrame, Source
from edge.errors import PipelineError

STAGES = ("read", "preprocess", "queue", "infer", "post", "sink")


@dataclass
class PipelineConfig:
    """None means default: queue_size 2 (the input queue of a live source: 1), policy by source (see
    module docstring), no frame limit, stall_timeout_s 5, reconnect_attempts 5, backoff_s 0.5 (doubling,
    at most 8), max_corrupt_run 50."""

    queue_size: int | None = None
    policy: str | None = None
    max_frames: int | None = None
    stall_timeout_s: float | None = None
    reconnect_attempts: int | None = None
    backoff_s: float | None = None
    max_corrupt_run: int | None = None
    overlay: bool = True
    power: str = "off"
    join_timeout_s: float = 5.0
    helper_nice: int = 5  # capture/output threads run at this nice increment (Linux): inference keeps the cores


@dataclass
class _Frame:
    index: int
    image: np.ndarray
    feed: dict
    t_capture: float
    t_queued: float = 0.0
    outputs: dict | None = None
    times: dict = field(default_factory=dict)


class Pipeline:
    """``Pipeline(source, runner, preprocess, post, sink, config).run() -> summary dict``.

    Args:
        source: an opened Source (edge.camera.sources.open_source).
        runner: any Runner (``infer(feed) -> outputs``).
        preprocess: ``frame (HxWx3 uint8 BGR) -> feed dict`` (a Recipe's ``preprocess``).
        post: ``(frame, outputs) -> (image, record)`` (edge.camera.post); None passes the frame through.
        sink: edge.camera.sinks.Sink; None means NullSink.
    """

    def __init__(self, source: Source, runner, preprocess, post=None, sink=None, config: PipelineConfig | None = None):
        self.source, self.runner, self.preprocess = source, runner, preprocess
        self.post, self.sink = post, sink or NullSink()
        c = self.config = config or PipelineConfig()
        self.queue_size = c.queue_size or 2
        self.input_queue_size = c.queue_size or (1 if source.live else 2)
        self.policy = c.policy or ("drop-oldest" if source.live else "block")
        self.stall_timeout = c.stall_timeout_s or 5.0
        self.attempts = 5 if c.reconnect_attempts is None else c.reconnect_attempts
        self.backoff0 = c.backoff_s or 0.5
        self.max_corrupt_run = c.max_corrupt_run or 50
        self.stop = threading.Event()
        self.q_in = FrameQueue(self.input_queue_size, self.policy, self.stop)
        self.q_out = FrameQueue(self.queue_size, self.policy, self.stop)
        self.counts = dict(captured=0, corrupt=0, inferred=0, output=0, dropped_input=0, dropped_output=0,
                           reconnects=0, stalls=0)
        self.times: dict = {s: [] for s in STAGES}
        self.e2e: list = []
        self.reason: str | None = None
        self.error: BaseException | None = None
        self._read_started: float | None = None
        self._stalled = False
        self._out_times: deque = deque(maxlen=30)
        self._shape: tuple | None = None  # shape of the first good frame: later frames must match

    # ---------------------------------------------------------------- control
    def _finish(self, reason: str, error: BaseException | None = None) -> None:
        """Record the first stop reason; errors and interrupts also stop every thread at once."""
        if self.reason is None:
            self.reason, self.error = reason, error
        if error is not None or reason in ("interrupted", "stopped by the sink"):
            self.stop.set()

    def run(self) -> dict:
        threads = [threading.Thread(target=self._guard, args=(f,), name=f"edge-{n}", daemon=True)
                   for n, f in (("capture", self._capture), ("infer", self._infer), ("output", self._output))]
        rss0 = current_rss_bytes()
        sampler = PowerSampler(self.config.power)
        t0 = time.perf_counter()
        with track_peak_rss() as mem, sampler:
            for t in threads:
                t.start()
            try:
                self._supervise(threads)
            except KeyboardInterrupt:
                self._finish("interrupted")
            finally:
                alive = self._join(threads)
                self.sink.close(ok=self.counts["output"] > 0)
                self.source.close()
        wall = time.perf_counter() - t0
        return self._summary(wall, mem, rss0, sampler, alive)

    def _supervise(self, threads) -> None:
        """Main-thread watchdog: interrupts a stalled read, honours a sink's stop request, and gives up
        on a source that ignores the interrupt; returns when the threads are done (or abandoned)."""
        interrupted_at = None
        while any(t.is_alive() for t in threads):
            time.sleep(0.02)
            now, started = time.perf_counter(), self._read_started
            if interrupted_at is None and started is not None and now - started > self.stall_timeout:
                self.counts["stalls"] += 1
                self._stalled, interrupted_at = True, now
                self.source.interrupt()
            if interrupted_at is not None and not self._stalled:
                interrupted_at = None  # the capture thread came back from the interrupted read
            elif interrupted_at is not None and now - interrupted_at > self.stall_timeout:
                self._finish(f"source stalled and did not respond to an interrupt within {self.stall_timeout:.1f} s",
                             PipelineError("source stalled"))
                return
            if self.sink.wants_stop:
                self._finish("stopped by the sink")

    def _join(self, threads) -> list[str]:
        deadline = time.perf_counter() + self.config.join_timeout_s
        for t in threads:
            t.join(max(0.0, deadline - time.perf_counter()))
        if any(t.is_alive() for t in threads):
            self.stop.set()
            for t in threads:
                t.join(max(0.1, deadline - time.perf_counter()))
        return [t.name for t in threads if t.is_alive()]

    def _guard(self, fn) -> None:
        if self.config.helper_nice and fn != self._infer:
            _lower_priority(self.config.helper_nice)
        try:
            fn()
        except Closed:
            pass
        except BaseException as e:  # noqa: BLE001 - reported in the summary, never lost
            self._finish(f"{threading.current_thread().name} failed: {type(e).__name__}: {e}", e)

    # ---------------------------------------------------------------- stages
    def _capture(self) -> None:
        bad_run, index, limit = 0, 0, self.config.max_frames
        try:
            while not self.stop.is_set():
                if limit is not None and self.counts["captured"] >= limit:
                    self._finish("max frames reached")
                    break
                t0 = self._read_started = time.perf_counter()
                try:
                    frame = self.source.read()
                except CorruptFrame:
                    frame = False
                except Exception as e:  # noqa: BLE001 - any source failure: reconnect or stop
                    stalled, self._read_started, self._stalled = self._stalled, None, False
                    if not self._recover(e, stalled):
                        break
                    continue
                self._read_started, self._stalled = None, False
                t1 = time.perf_counter()
                if frame is None:
                    self._finish("end of stream")
                    break
                feed = self._prepare(frame) if frame is not False else None
                if feed is None:
                    self.counts["corrupt"] += 1
                    bad_run += 1
                    if bad_run >= self.max_corrupt_run:
                        self._finish(f"{bad_run} corrupt frames in a row", PipelineError("corrupt source"))
                        break
                    continue
                bad_run = 0
                item = _Frame(index, frame, feed, t0, times={"read": 1000 * (t1 - t0)})
                item.times["preprocess"] = 1000 * (time.perf_counter() - t1)
                index += 1
                self.counts["captured"] += 1
                item.t_queued = time.perf_counter()
                self.q_in.put(item)
        finally:
            self.q_in.put(EOS)

    def _prepare(self, frame) -> dict | None:
        """Preprocessed feed, or None for a corrupt frame (wrong type/size, rejected by the recipe)."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim not in (2, 3) or frame.size == 0:
            return None
        if self._shape is None:
            self._shape = frame.shape
        elif frame.shape != self._shape:
            return None
        try:
            return self.preprocess(frame)
        except Exception:  # noqa: BLE001 - a frame the recipe rejects is a corrupt frame
            return None

    def _recover(self, err: Exception, stalled: bool) -> bool:
        """After a source failure: reopen a live source with backoff; False means stop."""
        what = f"stalled (no frame for {self.stall_timeout:.1f} s)" if stalled else f"failed: {err}"
        if not self.source.live:
            self._finish(f"source {what}")
            return False
        delay = self.backoff0
        for attempt in range(1, self.attempts + 1):
            if self.stop.wait(delay):
                return False
            delay = min(2 * delay, 8.0)
            try:
                self.source.open()
                self.counts["reconnects"] += 1
                return True
            except Exception as e:  # noqa: BLE001
                err = e
        self._finish(f"source {what}; {self.attempts} reconnect attempts failed (last: {err})")
        return False

    def _infer(self) -> None:
        try:
            while (item := self.q_in.get()) is not EOS:
                t0 = time.perf_counter()
                item.times["queue"] = 1000 * (t0 - item.t_queued)
                item.outputs = self.runner.infer(item.feed)
                item.times["infer"] = 1000 * (time.perf_counter() - t0)
                item.feed = None
                self.counts["inferred"] += 1
                self.q_out.put(item)
        finally:
            self.q_out.put(EOS)

    def _output(self) -> None:
        while (item := self.q_out.get()) is not EOS:
            t0 = time.perf_counter()
            image, _ = self.post(item.image, item.outputs) if self.post else (item.image, None)
            t1 = time.perf_counter()
            if self.config.overlay and not isinstance(self.sink, NullSink):
                image = self._overlay(image, item)
            self.sink.write(image, item.index)
            t2 = time.perf_counter()
            item.times.update(post=1000 * (t1 - t0), sink=1000 * (t2 - t1))
            for k, v in item.times.items():
                self.times[k].append(v)
            self.e2e.append(1000 * (t2 - item.t_capture))
            self._out_times.append(t2)
            self.counts["output"] += 1

    def _overlay(self, image, item) -> np.ndarray:
        import cv2

        n = len(self._out_times)
        fps = (n - 1) / (self._out_times[-1] - self._out_times[0]) if n > 1 and self._out_times[-1] > self._out_times[0] else 0.0
        lat = 1000 * (time.perf_counter() - item.t_capture)
        image = np.ascontiguousarray(image)
        cv2.putText(image, f"{fps:5.1f} FPS  {lat:4.0f} ms", (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                    (255, 255, 255), 2, cv2.LINE_AA)
        return image

    # ---------------------------------------------------------------- summary
    def _summary(self, wall, mem, rss0, sampler, alive) -> dict:
        from edge.bench.env import environment
        from edge.bench.report import build_result

        self.counts["dropped_input"], self.counts["dropped_output"] = self.q_in.dropped, self.q_out.dropped
        if self.counts["output"] == 0:
            raise PipelineError(f"no frame went through the pipeline: {self.reason or 'stopped'}"
                                + (f" ({self.error})" if self.error and str(self.error) not in (self.reason or "") else ""))
        out = self.counts["output"]
        row = {
            "name": getattr(self.runner, "name", "model"), "artifact": str(getattr(self.runner, "name", "")),
            "backend": getattr(self.runner, "backend", None), "batch": 1, "iterations": self.counts["inferred"],
            "throughput_qps": out / wall, "fps": out / wall, "latency_ms": latency_stats(self.times["infer"]),
            "enqueue_time_ms": None, "h2d_latency_ms": None, "gpu_compute_time_ms": None, "d2h_latency_ms": None,
            "total_host_walltime_s": wall, "total_gpu_compute_time_s": None,
            "memory": {"peak_rss_mb": mem.peak_mb, "start_rss_mb": rss0 / 2**20,
                       "end_rss_mb": current_rss_bytes() / 2**20},
            "power": sampler.result(out) if sampler.samples else None,
            "stages_ms": {k: optional_stats(v) for k, v in self.times.items()},
            "end_to_end_latency_ms": latency_stats(self.e2e), "frames": dict(self.counts),
            "source": self.source.uri, "live": self.source.live, "policy": self.policy, "queue_size": self.queue_size,
            "input_queue_size": self.input_queue_size,
            "stop_reason": self.reason or "stopped", "threads_alive": alive, "samples_ms": list(self.e2e),
        }
        warns = list(getattr(self.source, "notes", []))
        warns += [f"threads still running after shutdown: {alive}"] if alive else []
        if self.error is not None:
            warns.append(f"stopped on error: {self.reason}")
        return build_result("pipeline", [row], environment(), asdict(self.config), None, None, warns)


def _lower_priority(increment: int) -> None:
    """Raise this thread's nice value (Linux: per-thread). With the cores busy, the scheduler then lets the
    inference thread (and its runtime's worker threads) run first: a model-bound pipeline keeps its FPS
    while decoding and post-processing fill the gaps."""
    import os

    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except (AttributeError, OSError):  # not Linux, or not permitted: run at normal priority
        pass


__all__ = ["STAGES", "Pipeline", "PipelineConfig"]
