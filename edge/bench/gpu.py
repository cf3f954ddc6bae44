"""GPU timing with CUDA events (cuda-python) for TensorRT runners, and device-memory readings.

A TensorRT Runner of edge.runtime exposes ``stage_inputs(feed)`` (host work), ``enqueue_h2d()``,
``execute()`` (enqueue only, no copies), ``copy_outputs()``, ``synchronize()`` and ``stream``. Events
recorded on that stream around exactly the H2D copies, the enqueue and the D2H copies give trtexec's
H2D latency, GPU compute time and D2H latency for one inference; the host work (feed check, copy into
page-locked memory, shapes and addresses when they change) runs before the first event, so it is in
``host_ms`` but in no GPU figure. ``execute()`` alone (inputs already on the device) gives the compute
time without copies. With CUDA-graph replay enabled on
the runner (``cuda_graph=True`` at load time), ``execute()`` replays the captured graph.
On a machine without a driver every function here reports "not available" instead of failing.
"""

from __future__ import annotations

import time

from edge._lazy import lazy_import
from edge.errors import RuntimeBackendError

cudart = lazy_import("cuda.bindings.runtime", feature="GPU timing with CUDA events")

GPU_METHODS = ("stage_inputs", "enqueue_h2d", "execute", "copy_outputs", "synchronize", "stream")


def supports_gpu_timing(runner) -> bool:
    """True when ``runner`` exposes the copy/execute split of edge's TensorRT runner."""
    return all(hasattr(runner, m) for m in GPU_METHODS)


def _ok(res, what: str):
    res = res if isinstance(res, tuple) else (res,)
    if int(res[0]) != 0:
        raise RuntimeBackendError(f"CUDA call {what} failed: {res[0]}")
    return res[1] if len(res) == 2 else res[1:]


class CudaEvents:
    """``n`` CUDA events: ``record(i, stream)`` then ``elapsed_ms(i, j)`` (synchronises on event j).

    Args:
        api: the runner's device-memory layer (``runner.api`` of edge.runtime's TensorRT runner:
            cuda-python or pycuda, with event_create/event_record/event_elapsed_ms); None = cuda-python.
    """

    def __init__(self, n: int = 4, api=None):
        self.api = api if api is not None and hasattr(api, "event_create") else None
        if self.api is not None:
            self.events = [self.api.event_create() for _ in range(n)]
        else:
            self.events = [_ok(cudart.cudaEventCreate(), "cudaEventCreate") for _ in range(n)]

    def record(self, i: int, stream) -> None:
        if self.api is not None:
            self.api.event_record(self.events[i], stream)
        else:
            _ok(cudart.cudaEventRecord(self.events[i], stream), "cudaEventRecord")

    def elapsed_ms(self, i: int, j: int) -> float:
        if self.api is not None:
            return float(self.api.event_elapsed_ms(self.events[i], self.events[j]))
        _ok(cudart.cudaEventSynchronize(self.events[j]), "cudaEventSynchronize")
        return float(_ok(cudart.cudaEventElapsedTime(self.events[i], self.events[j]), "cudaEventElapsedTime"))

    def close(self) -> None:
        if self.api is None:
            for e in self.events:
                cudart.cudaEventDestroy(e)
        self.events = []


def time_with_copies(runner, feed: dict, events: CudaEvents) -> dict:
    """One inference split into H2D, compute and D2H (GPU time, ms) plus host wall and enqueue time.

    Event order on the runner's stream: host staging | e0 | H2D copies | e1 | enqueue | e2 | D2H | e3.
    """
    s = runner.stream
    t0 = time.perf_counter()
    runner.stage_inputs(feed)  # host work, outside the GPU figures
    events.record(0, s)
    runner.enqueue_h2d()
    events.record(1, s)
    te = time.perf_counter()
    runner.execute()
    enqueue = time.perf_counter() - te
    events.record(2, s)
    runner.copy_outputs()
    events.record(3, s)
    runner.synchronize()
    host = time.perf_counter() - t0
    return {"host_ms": 1000 * host, "enqueue_ms": 1000 * enqueue, "h2d_ms": events.elapsed_ms(0, 1),
            "compute_ms": events.elapsed_ms(1, 2), "d2h_ms": events.elapsed_ms(2, 3)}


def time_compute_only(runner, events: CudaEvents) -> float:
    """GPU time (ms) of ``execute()`` alone: the inputs stay on the device, no copies."""
    s = runner.stream
    events.record(0, s)
    runner.execute()
    events.record(1, s)
    runner.synchronize()
    return events.elapsed_ms(0, 1)


def device_memory() -> dict | None:
    """Free/total/used device memory (MB) from cudaMemGetInfo; on a Jetson this is the unified memory
    the GPU can still allocate. None without a usable device."""
    try:
        free, total = _ok(cudart.cudaMemGetInfo(), "cudaMemGetInfo")
    except Exception:
        return None
    return {"free_mb": free / 2**20, "total_mb": total / 2**20, "used_mb": (total - free) / 2**20}


class DeviceMemoryWatch:
    """``with DeviceMemoryWatch() as w: ...`` then ``w.peak_used_mb``: the larger of the device memory in
    use (cudaMemGetInfo) sampled when the block starts and when it ends.

    Nothing samples inside the block: it wraps timed rounds, and a Python thread polling cudaMemGetInfo
    there (every 5 ms before) competes with the timed thread for the GIL and the CPU. A runner's buffers
    and TensorRT's context memory exist before the round starts and persist after it, so the two samples
    see them. On a Jetson the GPU shares the system's memory, so this is a board-wide figure.
    """

    def __init__(self) -> None:
        self.peak_used_mb: float | None = None

    def _sample(self) -> None:
        m = device_memory()
        if m is not None:
            self.peak_used_mb = max(self.peak_used_mb or 0.0, m["used_mb"])

    def __enter__(self):
        self._sample()
        return self

    def __exit__(self, *exc):
        self._sample()


__all__ = ["DeviceMemoryWatch", "CudaEvents", "device_memory", "supports_gpu_timing", "time_compute_only", "time_with_copies"]
