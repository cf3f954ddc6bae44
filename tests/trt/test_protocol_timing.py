"""PROTOCOL tests of the timed path of ``edge bench`` for TensorRT engines (edge.bench.gpu with the
TensorRT runner), with the strict recording double of TensorRT 10.13 and a recording device-memory layer
sharing one log. They check the order of events, copies and enqueues, and that input shapes and tensor
addresses are given to TensorRT only when they change. No timing is measured; no figure.
"""

from __future__ import annotations

import threading

import numpy as np

from tests.trt.protocol_double import recording_cuda, scripted_engine_double
from tests.trt.test_protocol_engine import MACHINE, _engine

SETTERS = ("IExecutionContext.set_input_shape", "IExecutionContext.set_tensor_address",
           "IExecutionContext.infer_shapes")


def _runner(tmp_path, monkeypatch):
    import edge.trt.manifest as M
    from edge.core import cuda as cuda_memory
    from edge.runtime.tensorrt_backend import TensorRTRunner

    double = scripted_engine_double(monkeypatch)
    monkeypatch.setattr(M, "machine_info", lambda: dict(MACHINE))
    monkeypatch.setitem(cuda_memory.APIS, "cuda-python", recording_cuda(double))
    runner = TensorRTRunner(_engine(tmp_path, False), plugins=False, memory="cuda-python")
    runner.activate()
    return double, runner


def _step_log(double, start):
    """The events of one timed step as short labels: ev0..ev3, htod, execute, dtoh, sync, set_* ..."""
    out, events = [], {}
    for kind, what, args in double.calls[start:]:
        if (kind, what) == ("cuda", "event"):
            out.append(f"ev{events.setdefault(args[0], len(events))}")
        elif kind == "cuda" and what in ("htod", "dtoh", "sync"):
            out.append(what)
        elif what == "IExecutionContext.execute_async_v3":
            out.append("execute")
        elif what in SETTERS:
            out.append(what.split(".")[1])
    return out


def test_protocol_timed_region_is_h2d_compute_d2h(tmp_path, monkeypatch):
    from edge.bench import gpu

    double, runner = _runner(tmp_path, monkeypatch)
    events = gpu.CudaEvents(4, runner.api)
    assert gpu.supports_gpu_timing(runner)
    feed = {"input": np.ones((2, 3, 8, 8), np.float32)}
    start = len(double.calls)
    gpu.time_with_copies(runner, feed, events)
    first = _step_log(double, start)
    # host work (shapes, addresses: the first call sets them) before ev0; exactly one thing between events
    assert first[first.index("ev0"):] == ["ev0", "htod", "ev1", "execute", "ev2", "dtoh", "ev3", "sync"]
    assert set(first[:first.index("ev0")]) == {"set_input_shape", "set_tensor_address", "infer_shapes"}
    start = len(double.calls)
    gpu.time_with_copies(runner, feed, events)
    assert _step_log(double, start) == ["ev0", "htod", "ev1", "execute", "ev2", "dtoh", "ev3", "sync"]


def test_protocol_shapes_and_addresses_set_only_when_they_change(tmp_path, monkeypatch):
    double, runner = _runner(tmp_path, monkeypatch)

    def count():
        return {s: len(double.find("call", s)) for s in SETTERS}

    runner.infer({"input": np.ones((2, 3, 8, 8), np.float32)})
    assert count() == {SETTERS[0]: 1, SETTERS[1]: 2, SETTERS[2]: 1}  # one input, two tensors bound
    for _ in range(3):
        runner.infer({"input": np.ones((2, 3, 8, 8), np.float32)})
    assert count() == {SETTERS[0]: 1, SETTERS[1]: 2, SETTERS[2]: 1}  # unchanged: not re-issued
    runner.infer({"input": np.ones((1, 3, 8, 8), np.float32)})  # smaller: new shape, same buffers
    assert count() == {SETTERS[0]: 2, SETTERS[1]: 2, SETTERS[2]: 2}
    runner.infer({"input": np.ones((4, 3, 8, 8), np.float32)})  # larger: buffers grow, new addresses
    assert count() == {SETTERS[0]: 3, SETTERS[1]: 4, SETTERS[2]: 3}


def test_protocol_device_memory_watch_does_not_poll_during_the_round(monkeypatch):
    from edge.bench import gpu

    samples = []
    monkeypatch.setattr(gpu, "device_memory", lambda: samples.append(threading.current_thread().name) or
                        {"used_mb": 10.0 * len(samples), "free_mb": 0.0, "total_mb": 100.0})
    threads = threading.active_count()
    with gpu.DeviceMemoryWatch() as w:
        inside = (threading.active_count(), len(samples))
        for _ in range(1000):
            pass
    assert inside == (threads, 1)  # no sampling thread; one sample at the start
    assert samples == ["MainThread", "MainThread"] and w.peak_used_mb == 20.0
