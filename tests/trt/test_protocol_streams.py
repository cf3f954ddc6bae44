"""PROTOCOL tests of stream ordering in scripts/bench_plugins.py and the on-device plugin test: the input
copies, every enqueue, the timing events and the read-back are issued on ONE stream, in that order
(before, inputs were copied on torch's legacy default stream and the engine enqueued on a separate
non-blocking stream with no wait between them). Strict TensorRT 10.13 double + recording device-memory
layer; nothing runs on a device; no figure.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from tests.trt.protocol_double import recording_cuda, scripted_engine_double

REPO = Path(__file__).resolve().parents[2]


def _setup(monkeypatch):
    from edge.core import cuda as cuda_memory

    double = scripted_engine_double(monkeypatch)
    monkeypatch.setitem(cuda_memory.APIS, "cuda-python", recording_cuda(double))
    monkeypatch.setattr("edge.core.cuda.has_module", lambda name: name == "cuda.bindings")
    return double


def _stream_log(double):
    """(label, stream) for every copy, event, enqueue and synchronisation, in order."""
    out = []
    for kind, what, args in double.calls:
        if kind == "cuda" and what in ("htod", "dtoh", "event", "sync"):
            out.append((what, args[-1] if what != "sync" else args[0]))
        elif what == "IExecutionContext.execute_async_v3":
            out.append(("execute", args["stream_handle"]))
    return out


def _assert_one_stream_in_order(log, executes):
    streams = {s for _, s in log}
    assert len(streams) == 1, log
    labels = [w for w, _ in log]
    assert labels.count("execute") == executes
    first_exec, last_exec = labels.index("execute"), len(labels) - 1 - labels[::-1].index("execute")
    assert "htod" in labels[:first_exec] and "htod" not in labels[first_exec:]
    assert "dtoh" in labels[last_exec:] and "dtoh" not in labels[:last_exec]
    assert labels[-1] == "sync"


def test_protocol_bench_plugins_times_on_one_stream(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_plugins", REPO / "scripts" / "bench_plugins.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    double = _setup(monkeypatch)
    stats, out = bench.time_engine(b"plan", {"input": np.ones((2, 3, 8, 8), np.float32)}, iters=3, warmup=2,
                                   plugin_lib=False)
    assert out.shape == (2, 4) and set(stats) == {"median_ms", "p90_ms"}
    log = _stream_log(double)
    _assert_one_stream_in_order(log, executes=5)
    labels = [w for w, _ in log]
    timed = labels[labels.index("event"):]
    assert timed[:3] == ["event", "execute", "event"]  # events bracket exactly one enqueue


def test_protocol_plugin_test_runs_on_one_stream(monkeypatch):
    from tests.plugins.test_trt_plugins import execute_plan

    double = _setup(monkeypatch)
    out = execute_plan(b"plan", {"input": np.ones((1, 3, 8, 8), np.float32)})
    assert out["output"].shape == (1, 4)
    _assert_one_stream_in_order(_stream_log(double), executes=1)
