"""TensorRT runner and its device-memory layer.

The GPU tests build a real engine from the small ONNX model and run on a real device; on a machine
without TensorRT/GPU they are skipped with the reason (never mocked). The CPU tests check the parts
that need neither: dtype mapping by name, plugin-library argument checks, clear errors without a GPU.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from edge._lazy import has_module
from edge.core.cuda import cuda_api, gpu_unavailable_reason
from edge.errors import (
    DependencyError,
    EngineError,
    InputError,
    ManifestError,
    PluginError,
    RuntimeBackendError,
)
from edge.runtime import load
from edge.runtime.tensorrt_backend import TensorRTRunner, resolve_plugin_library, trt_dtype_to_numpy
from edge.trt.manifest import make_manifest, write_manifest

GPU = [pytest.mark.needs_trt, pytest.mark.needs_gpu]


def test_dtype_mapping_is_by_name():
    assert trt_dtype_to_numpy(SimpleNamespace(name="FLOAT")) == np.float32
    assert trt_dtype_to_numpy(SimpleNamespace(name="HALF")) == np.float16
    assert trt_dtype_to_numpy("DataType.INT8") == np.int8
    with pytest.raises(RuntimeBackendError, match="FP8"):
        trt_dtype_to_numpy(SimpleNamespace(name="FP8"))


def test_plugin_library_arguments(tmp_path):
    assert resolve_plugin_library(False) == (None, "plugin loading disabled")
    with pytest.raises(PluginError, match="does not exist"):
        resolve_plugin_library(tmp_path / "libedge_plugins.so")
    lib = tmp_path / "libedge_plugins.so"
    lib.write_bytes(b"\0")
    assert resolve_plugin_library(lib) == (lib, None)


def test_engine_without_manifest_is_refused(tmp_path):
    (tmp_path / "m.engine").write_bytes(b"\0" * 64)
    with pytest.raises(ManifestError, match="no manifest"):
        load(tmp_path / "m.engine").activate()


def test_truncated_engine_is_caught_by_its_manifest(tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"\1" * 128)
    write_manifest(engine, make_manifest(engine, precision="fp32"))
    engine.write_bytes(b"\1" * 64)
    with pytest.raises(ManifestError, match="truncated"):
        load(engine, plugins=False).activate()


@pytest.mark.skipif(has_module("tensorrt"), reason="checks the error raised when TensorRT is missing")
def test_missing_tensorrt_is_a_dependency_error(tmp_path):
    (tmp_path / "m.engine").write_bytes(b"\0" * 64)
    with pytest.raises(DependencyError, match="tensorrt"):
        load(tmp_path / "m.engine", allow_mismatch=True).activate()


@pytest.mark.skipif(gpu_unavailable_reason() is None, reason="checks the error raised when no GPU is present")
def test_no_gpu_gives_a_clear_cuda_error():
    with pytest.raises(RuntimeBackendError, match="cudaMalloc"):
        cuda_api("cuda-python").malloc(1024)


def _memory_layers():
    return [pytest.param(k, marks=[pytest.mark.needs_gpu] + ([] if has_module(m) else [
        pytest.mark.skip(reason=f"{k} is not installed")])) for k, m in (("cuda-python", "cuda"), ("pycuda", "pycuda"))]


@pytest.mark.parametrize("kind", _memory_layers())
def test_memory_round_trip(kind):
    api = cuda_api(kind)
    stream = api.stream_create()
    src = api.host_empty((3, 5), np.float32)
    src[:] = np.arange(15, dtype=np.float32).reshape(3, 5)
    dst = api.host_empty((3, 5), np.float32)
    ptr = api.malloc(src.nbytes)
    start, end = api.event_create(), api.event_create()
    api.event_record(start, stream)
    api.htod_async(ptr, src, stream)
    api.dtoh_async(dst, ptr, stream)
    api.event_record(end, stream)
    api.stream_synchronize(stream)
    np.testing.assert_array_equal(dst, src)
    assert api.event_elapsed_ms(start, end) >= 0
    api.free(ptr), api.host_free(src), api.host_free(dst), api.stream_destroy(stream)


@pytest.mark.parametrize("kind", _memory_layers())
@pytest.mark.needs_trt
def test_engine_steps_and_memory_layers(small_engine, small_net, kind):
    import torch

    x = np.random.default_rng(0).random((2, 1, 40, 33), dtype=np.float32)
    with TensorRTRunner(small_engine, memory=kind) as r:
        assert r.profile_shapes("input") == ((1, 1, 8, 8), (1, 1, 32, 32), (2, 1, 64, 64))
        r.copy_inputs({"input": x})
        r.execute()
        r.copy_outputs()
        r.synchronize()
        (y,) = r.host_outputs().values()
        np.testing.assert_allclose(y, small_net(torch.from_numpy(x)).detach().numpy(), atol=2e-3, rtol=2e-3)  # TF32
        small = r.infer({"input": x[:1, :, :9, :9]})["output"]  # smaller shape after a larger one
        assert small.shape == (1, 4, 7, 7)


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.needs_trt
@pytest.mark.needs_gpu
def test_cuda_graph_replay_equals_plain(small_engine, n):
    feeds = [{"input": np.random.default_rng(i).random((1, 1, 32, 32), dtype=np.float32)} for i in range(n)]
    with TensorRTRunner(small_engine) as plain, TensorRTRunner(small_engine, cuda_graph=True) as graph:
        for f in feeds:
            np.testing.assert_array_equal(plain.infer(f)["output"], graph.infer(f)["output"])
        assert graph._graph is not None


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
def test_shape_outside_profile_and_bad_engine(small_engine, tmp_path):
    with TensorRTRunner(small_engine) as r, pytest.raises(InputError, match="optimization profile"):
        r.infer({"input": np.zeros((1, 1, 80, 80), np.float32)})
    bad = tmp_path / "bad.engine"
    bad.write_bytes(small_engine.read_bytes()[:100])
    with pytest.raises(EngineError, match="deserialise"):
        TensorRTRunner(bad, plugins=False, allow_mismatch=True).activate()  # past the manifest check
    with TensorRTRunner(small_engine) as r:
        assert r.manifest is not None and r.manifest["mismatches"] == []


# ---------------------------------------------------------------- why the GPU is unusable (recorded machines)
class RecordedRuntime:
    """``cuda.bindings.runtime`` answering as a recorded machine did; a name the real module lacks fails."""

    def __init__(self, count_err: str, count: int, driver: int, runtime: int):
        from cuda.bindings import runtime as rt

        self._rt, self._answers = rt, {"cudaGetDeviceCount": (getattr(rt.cudaError_t, count_err), count),
                                       "cudaDriverGetVersion": (rt.cudaError_t.cudaSuccess, driver),
                                       "cudaRuntimeGetVersion": (rt.cudaError_t.cudaSuccess, runtime)}

    def __getattr__(self, name):
        getattr(self._rt, name)  # AttributeError for a name the real bindings do not have
        return lambda: self._answers[name]


@pytest.mark.skipif(not has_module("cuda.bindings"), reason="needs cuda-python (its error enum) installed")
def test_gpu_status_says_the_real_reason():
    from edge.core.cuda import gpu_status

    # JetPack 6 (driver of CUDA 12.6) with cuda-python 13.0 from PyPI: error 35, the reason is the pairing
    st = gpu_status(RecordedRuntime("cudaErrorInsufficientDriver", 0, 12060, 13000), bindings="13.0.1")
    assert not st.usable and st.driver_cuda == "12.6" and st.runtime_cuda == "13.0"
    assert st.reason.startswith("cuda-python 13.0.1 (CUDA runtime 13.0) needs driver >= 580; this driver is CUDA 12.6")
    assert st.fix == "install cuda-python 12.6.x: pip install 'cuda-python==12.6.*'"
    # no driver at all (this CPU machine)
    st = gpu_status(RecordedRuntime("cudaErrorInsufficientDriver", 0, 0, 13000), bindings="13.0.1")
    assert "no NVIDIA driver is loaded" in st.reason and st.driver_cuda is None
    # the good pairing on JetPack 6 and an Orin: usable
    st = gpu_status(RecordedRuntime("cudaSuccess", 1, 12060, 12060), bindings="12.6.2")
    assert st.usable and st.device_count == 1 and st.reason is None
    st = gpu_status(RecordedRuntime("cudaErrorNoDevice", 0, 12060, 12060), bindings="12.6.2")
    assert not st.usable and "no CUDA device" in st.reason


def test_gpu_unavailable_reason_here_is_the_real_one():
    reason = gpu_unavailable_reason()
    if reason is not None:  # this machine: the cause and the fix, not just "no GPU"
        assert "Fix:" in reason and ("driver" in reason or "cuda-python" in reason or "device" in reason)
