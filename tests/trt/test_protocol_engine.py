"""PROTOCOL tests of the one engine-loading path (edge.trt.engine) with the strict recording double of
TensorRT 10.13 (tests/trt/protocol_double.py). They check which calls edge makes, in which order; they
are not TensorRT tests (nothing is deserialised) and produce no figure.
"""

from __future__ import annotations

import pytest

from edge.errors import EngineError
from edge.trt.manifest import make_manifest, write_manifest
from tests.trt.protocol_double import recording_cuda, use_double

# the machine the engine was built on and is loaded on (a recorded Orin Nano description)
MACHINE = {"tensorrt": "10.3.0", "cuda_runtime": "12.6", "device": "Orin", "compute_capability": "8.7",
           "sm_count": 8, "total_memory_mb": 7620, "model": "NVIDIA Jetson Orin Nano Developer Kit",
           "l4t": {"l4t": "36.4.3", "jetpack": "6.2"}, "arch": "aarch64"}


def _engine(tmp_path, version_compatible: bool, plugins=()):
    path = tmp_path / "m.engine"
    path.write_bytes(b"plan" * 16)
    man = make_manifest(path, precision="fp16", machine=MACHINE, plugin_paths=list(plugins),
                        options={"version_compatible": version_compatible})
    write_manifest(path, man)
    return path


def _order(double, *members):
    """Index of the first event of each member in the double's log."""
    names = [c[1] for c in double.calls]
    return [names.index(m) for m in members]


def test_protocol_host_code_allowed_before_deserialising_a_version_compatible_engine(tmp_path, monkeypatch):
    from edge.trt.engine import EngineFromPath

    double = use_double(monkeypatch)
    engine = EngineFromPath(_engine(tmp_path, True), plugins=False, machine=MACHINE)()
    assert type(engine).__name__ == "ICudaEngine"
    assert double.find("set", "Runtime.engine_host_code_allowed") == [
        ("set", "Runtime.engine_host_code_allowed", True)]
    new, allow, deser = _order(double, "Runtime", "Runtime.engine_host_code_allowed",
                               "Runtime.deserialize_cuda_engine")
    assert new < allow < deser


def test_protocol_host_code_not_allowed_for_other_engines(tmp_path, monkeypatch):
    from edge.trt.engine import EngineFromBytes, EngineFromPath

    double = use_double(monkeypatch)
    EngineFromPath(_engine(tmp_path, False), plugins=False, machine=MACHINE)()
    EngineFromBytes(b"plan")()  # no manifest: never host code
    assert double.find("set", "Runtime.engine_host_code_allowed") == []
    assert len(double.find("call", "Runtime.deserialize_cuda_engine")) == 2


def test_protocol_runner_loads_through_the_one_path(tmp_path, monkeypatch):
    """TensorRTRunner deserialises with the flags the manifest asks for (not a second path)."""
    import edge.trt.manifest as M
    from edge.core import cuda as cuda_memory
    from edge.runtime.tensorrt_backend import TensorRTRunner

    double = use_double(monkeypatch, {"ICudaEngine.num_io_tensors": 0})
    monkeypatch.setattr(M, "machine_info", lambda: dict(MACHINE))
    monkeypatch.setitem(cuda_memory.APIS, "cuda-python", recording_cuda(double))
    with TensorRTRunner(_engine(tmp_path, True), plugins=False, memory="cuda-python"):
        pass
    assert double.find("set", "Runtime.engine_host_code_allowed") == [
        ("set", "Runtime.engine_host_code_allowed", True)]


def test_protocol_failed_deserialisation_names_the_real_causes(tmp_path, monkeypatch):
    from edge.trt.engine import EngineFromPath

    use_double(monkeypatch, {"Runtime.deserialize_cuda_engine": None})
    lib = tmp_path / "libedge_plugins.so"
    lib.write_bytes(b"\0")
    with pytest.raises(EngineError) as e:
        EngineFromPath(_engine(tmp_path, False, plugins=[lib]), plugins=False, machine=MACHINE, allow_mismatch=True)()
    msg = str(e.value)
    assert "not built version-compatible" in msg and "10.3.0" in msg
    assert "mismatch accepted with --allow-mismatch: plugin library" in msg
    assert "libedge_plugins.so, which was not loaded" in msg and "plugin loading disabled" in msg
    assert "GPU is not usable here" in msg  # this machine has no driver: said, with its cause


def test_protocol_no_manifest_names_the_host_code_cause(tmp_path, monkeypatch):
    from edge.trt.engine import EngineFromPath

    use_double(monkeypatch, {"Runtime.deserialize_cuda_engine": None})
    path = tmp_path / "x.engine"
    path.write_bytes(b"plan")
    with pytest.raises(EngineError, match="host code was not allowed"):
        EngineFromPath(path, plugins=False, allow_mismatch=True)()


def test_protocol_double_is_strict(monkeypatch):
    """The double refuses what the 10.13 API lacks, so a misspelt call fails here."""
    double = use_double(monkeypatch)
    from edge.trt import engine

    rt = engine.trt.Runtime(engine.trt.Logger(engine.trt.Logger.WARNING))
    with pytest.raises(AttributeError):
        rt.engine_host_code_allowd = True
    with pytest.raises(AttributeError):
        rt.deserialize_engine(b"")
    with pytest.raises(AttributeError):
        engine.trt.Runtime.num_DLA_cores  # noqa: B018 - an instance property, not a class member
    with pytest.raises(AttributeError):
        rt.logger = None  # read-only in the stubs
    ctx = double.IExecutionContext.__new__(double.IExecutionContext)
    with pytest.raises(TypeError, match="no overload"):
        ctx.set_tensor_address("x", "not an int")
    assert "tensorrt" not in __import__("sys").modules or \
        type(__import__("sys").modules["tensorrt"]).__name__ != "StrictDouble"
