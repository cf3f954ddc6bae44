"""PROTOCOL tests of the pycuda device-memory layer: the device's primary context is retained once and
made current around every call, on whichever thread calls (the camera pipeline's ``edge-infer`` thread).

pycuda is not installed here; the strict double of ``pycuda.driver`` knows only the names pycuda's
wrapper exports (tests/trt/pycuda_api.json, generated from inducer/pycuda src/wrapper/wrap_cudadrv.cpp)
and refuses a context-bound operation when no context is current on the calling thread. Not a CUDA
test: nothing runs on a device; no figure.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from tests.trt.protocol_double import StrictPycudaDriver, scripted_engine_double
from tests.trt.test_protocol_engine import MACHINE, _engine


def _in_thread(fn, name="edge-infer"):
    errors = []

    def run():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(e)
    t = threading.Thread(target=run, name=name)
    t.start()
    t.join()
    if errors:
        raise errors[0]


def _bracketed(calls, thread):
    """Each operation on ``thread`` sits between a push of the primary context and a pop."""
    ops = [w for t, w in calls if t == thread]
    depth, bare = 0, []
    for w in ops:
        if w == "Context.push":
            depth += 1
        elif w == "Context.pop":
            depth -= 1
        elif depth != 1:
            bare.append(w)
    return ops, bare


def test_protocol_pycuda_primary_context_on_any_thread():
    from edge.core.cuda import PyCudaApi

    drv = StrictPycudaDriver()
    api = PyCudaApi(driver=drv)
    assert ("MainThread", "Device.retain_primary_context") in drv.calls
    assert not any(w == "Device.make_context" for _, w in drv.calls)  # no second (autoinit) context
    assert drv._stack() == []  # nothing left current on the main thread

    def infer_like():
        stream = api.stream_create()
        host = api.host_empty((2, 3), np.float32)
        ptr = api.malloc(host.nbytes)
        api.htod_async(ptr, host, stream)
        api.dtoh_async(host, ptr, stream)
        start, end = api.event_create(), api.event_create()
        api.event_record(start, stream)
        api.event_record(end, stream)
        api.stream_synchronize(stream)
        api.event_elapsed_ms(start, end)
        api.free(ptr)

    _in_thread(infer_like)
    ops, bare = _bracketed(drv.calls, "edge-infer")
    assert bare == [] and "memcpy_htod_async" in ops and ops.count("Context.push") == ops.count("Context.pop")


def test_protocol_runner_infers_from_the_pipeline_thread_with_pycuda(tmp_path, monkeypatch):
    """TensorRTRunner(memory="pycuda") loaded on the main thread, infer() from `edge-infer` (as
    camera/pipeline.py does): every pycuda call there runs with the primary context current."""
    import edge.trt.manifest as M
    from edge.core import cuda as cuda_memory
    from edge.runtime.tensorrt_backend import TensorRTRunner

    scripted_engine_double(monkeypatch)
    monkeypatch.setattr(M, "machine_info", lambda: dict(MACHINE))
    drv = StrictPycudaDriver()
    monkeypatch.setitem(cuda_memory.APIS, "pycuda", lambda: cuda_memory.PyCudaApi(driver=drv))
    runner = TensorRTRunner(_engine(tmp_path, False), plugins=False, memory="pycuda")
    runner.activate()
    out = {}
    _in_thread(lambda: out.update(runner.infer({"input": np.zeros((2, 3, 8, 8), np.float32)})))
    assert out["output"].shape == (2, 4)
    ops, bare = _bracketed(drv.calls, "edge-infer")
    assert bare == [] and "memcpy_htod_async" in ops and "memcpy_dtoh_async" in ops
    runner.deactivate()


def test_protocol_pycuda_double_is_strict():
    drv = StrictPycudaDriver()
    with pytest.raises(AttributeError):
        drv.autoinit  # noqa: B018 - a module of its own, not a driver name
    with pytest.raises(RuntimeError, match="invalid device context"):
        drv.mem_alloc(16)  # no context current on this thread
    assert Path(__file__).with_name("pycuda_api.json").exists()
