"""Engine manifests: mismatches refused with the documented message, truncation detected, atomic writes.

The "engine" here is a file of bytes (no TensorRT on this machine): the manifest logic never parses it,
it hashes it, so these tests exercise the real code path that runs before deserialisation on a Jetson.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edge.errors import ManifestError
from edge.trt import manifest as M

# Machine descriptions (what machine_info() returns there). SM counts from NVIDIA's module data sheets
# (Ampere: 128 CUDA cores per SM; AGX Orin 64GB 2048 cores = 16 SMs, Orin Nano 8GB 1024 = 8 SMs); model
# strings as /proc/device-tree/model reads on the developer kits; memory figures are illustrative.
ORIN = {"tensorrt": "10.3.0", "cuda_runtime": "12.6", "cuda_driver": "12.6", "cuda_bindings": "12.6.2",
        "device": "Orin", "compute_capability": "8.7", "sm_count": 16, "total_memory_mb": 62841,
        "model": "NVIDIA Jetson AGX Orin Developer Kit", "gpu_probe_error": None,
        "l4t": {"l4t": "36.4.3", "jetpack": "6.2", "board": "generic"}, "arch": "aarch64"}
ORIN_NANO = dict(ORIN, sm_count=8, total_memory_mb=7620, model="NVIDIA Jetson Orin Nano Developer Kit")
NO_PROBE = dict(ORIN, device=None, compute_capability=None, sm_count=None, total_memory_mb=None,
                gpu_probe_error="cuda-python 13.0.1 (CUDA runtime 13.0) needs driver >= 580; this driver is CUDA 12.6")
DOCUMENTED = r"engine .* does not match this machine: .*Rebuild the engine on this machine \(edge build \.\.\.\) " \
             r"or pass allow_mismatch=True \(--allow-mismatch\)\."


@pytest.fixture
def engine(tmp_path):
    eng = tmp_path / "model.int8.orin.engine"
    eng.write_bytes(os.urandom(4096))
    plugin = tmp_path / "libedge_plugins.so"
    plugin.write_bytes(b"\x7fELF plugin v1")
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"onnx bytes")
    man = M.make_manifest(eng, precision="int8", shapes={"input": ((1, 3, 224, 224),) * 3}, onnx_path=onnx,
                          plugin_paths=[plugin], calib_sha256="ab" * 32, options={"version_compatible": False},
                          machine=ORIN)
    M.write_manifest(eng, man)
    return eng, plugin


def test_manifest_contents_and_match(engine):
    eng, plugin = engine
    man = json.loads(M.manifest_path(eng).read_text())
    assert man["engine_bytes"] == 4096 and man["precision"] == "int8" and man["tensorrt"] == "10.3.0"
    assert man["plugins"][0]["sha256"] == M.sha256_file(plugin) and man["onnx_sha256"]
    assert man["shapes"]["input"] == [[1, 3, 224, 224]] * 3
    ok = M.check_manifest(eng, machine=dict(ORIN), plugin_paths=[plugin])
    assert ok["mismatches"] == []


@pytest.mark.parametrize("field, value, words", [
    ("tensorrt", "11.4.1", "TensorRT version was 10.3.0 at build time but is 11.4.1 here"),
    ("device", "Thor", "device was Orin at build time but is Thor here"),
    ("compute_capability", "11.0", "device compute capability was 8.7 at build time but is 11.0 here"),
])
def test_machine_mismatch_refused(engine, field, value, words):
    eng, plugin = engine
    here = dict(ORIN, **{field: value})
    with pytest.raises(ManifestError, match=DOCUMENTED) as e:
        M.check_manifest(eng, machine=here, plugin_paths=[plugin])
    assert words in str(e.value)
    man = M.check_manifest(eng, machine=here, plugin_paths=[plugin], allow_mismatch=True)
    assert any(words in p for p in man["mismatches"])


def test_this_machine_is_refused(engine):
    # no TensorRT and no GPU here: an engine built on an Orin must not be accepted
    eng, _ = engine
    with pytest.raises(ManifestError, match="TensorRT version was 10.3.0 at build time but is None here"):
        M.check_manifest(eng)


def test_plugin_hash_mismatch_refused(engine):
    eng, plugin = engine
    plugin.write_bytes(b"\x7fELF plugin v2")
    with pytest.raises(ManifestError, match=DOCUMENTED) as e:
        M.check_manifest(eng, machine=dict(ORIN), plugin_paths=[plugin])
    assert "plugin library libedge_plugins.so sha256 was" in str(e.value)


def test_version_compatible_allows_minor_upgrade(tmp_path):
    eng = tmp_path / "vc.engine"
    eng.write_bytes(b"plan" * 100)
    M.write_manifest(eng, M.make_manifest(eng, precision="fp16", options={"version_compatible": True}, machine=ORIN))
    assert M.check_manifest(eng, machine=dict(ORIN, tensorrt="10.13.0"))["mismatches"] == []
    with pytest.raises(ManifestError, match="TensorRT major version was 10.3.0"):
        M.check_manifest(eng, machine=dict(ORIN, tensorrt="11.4.1"))


def test_truncated_engine_and_manifest(engine):
    eng, plugin = engine
    data = eng.read_bytes()
    eng.write_bytes(data[:1000])
    with pytest.raises(ManifestError, match="engine size was 4096 bytes at build time but is 1000 here"):
        M.check_manifest(eng, machine=dict(ORIN))
    eng.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ManifestError, match="modified file"):
        M.check_manifest(eng, machine=dict(ORIN))
    eng.write_bytes(data)
    mp = M.manifest_path(eng)
    mp.write_text(mp.read_text()[:50])
    with pytest.raises(ManifestError, match="not valid JSON \\(truncated"):
        M.check_manifest(eng, machine=dict(ORIN))
    mp.unlink()
    with pytest.raises(ManifestError, match="has no manifest"):
        M.check_manifest(eng, machine=dict(ORIN))
    with pytest.raises(ManifestError, match="does not exist"):
        M.check_manifest(eng.with_name("missing.engine"))


def test_manifest_write_is_atomic(engine, monkeypatch):
    eng, _ = engine
    before = M.manifest_path(eng).read_text()
    real_write = Path.write_text

    def half_then_fail(self, text, *a, **k):  # a full disk: half the bytes land, then the write fails
        real_write(self, text[: len(text) // 2])
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        M.write_manifest(eng, M.make_manifest(eng, precision="fp32", machine=ORIN))
    monkeypatch.undo()
    assert M.manifest_path(eng).read_text() == before  # the old manifest is intact
    assert [p.name for p in eng.parent.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_read_l4t(tmp_path):
    f = tmp_path / "nv_tegra_release"
    f.write_text("# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13\n")
    assert M.read_l4t(f) == {"l4t": "36.4.0", "jetpack": "6.1", "board": "generic", "source": str(f)}
    assert M.read_l4t(tmp_path / "absent", dpkg=lambda: None) is None


@pytest.mark.parametrize("l4t, jetpack", [
    ("38.4.0", "7.1"), ("39.2.0", "7.2"), ("39.1.0", "7.2"), ("36.4.3", "6.2"), ("36.4.4", "6.2.1"),
    ("36.4.7", "6.2.1"), ("36.5.0", "6.2.2"), ("38.2.0", "7.0"), ("36.3.0", "6.0"), ("35.6.0", "5.1.4")])
def test_l4t_table_follows_jetson_stats(l4t, jetpack):
    # rbonghi/jetson_stats jtop/core/jetson_variables.py (NVIDIA_JETPACK); 39.1 is not listed: the 39 series is 7.2
    from edge.trt.identity import jetpack_of

    assert jetpack_of(l4t) == jetpack


def test_read_l4t_falls_back_to_dpkg_in_containers(tmp_path):
    # l4t-base containers: no /etc/nv_tegra_release, but `dpkg-query -W nvidia-l4t-core` answers
    got = M.read_l4t(tmp_path / "absent", dpkg=lambda: "36.4.3-20250107174145")
    assert got == {"l4t": "36.4.3", "jetpack": "6.2", "board": None, "source": "dpkg nvidia-l4t-core"}


def test_read_model(tmp_path):
    from edge.trt.identity import read_model

    (tmp_path / "model").write_bytes(b"NVIDIA Jetson Orin Nano Developer Kit\x00")
    assert read_model(tmp_path / "model") == "NVIDIA Jetson Orin Nano Developer Kit"
    assert read_model(tmp_path / "absent") is None


# ---------------------------------------------------------------- device identity on machine descriptions
@pytest.fixture
def agx_engine(tmp_path):
    eng = tmp_path / "agx.engine"
    eng.write_bytes(b"plan" * 64)
    M.write_manifest(eng, M.make_manifest(eng, precision="fp16", options={}, machine=ORIN))
    return eng


def test_agx_orin_engine_refused_on_orin_nano(agx_engine):
    man = json.loads(M.manifest_path(agx_engine).read_text())
    assert (man["sm_count"], man["model"], man["total_memory_mb"]) == (16, "NVIDIA Jetson AGX Orin Developer Kit",
                                                                        62841)
    with pytest.raises(ManifestError, match=DOCUMENTED) as e:
        M.check_manifest(agx_engine, machine=dict(ORIN_NANO))
    assert "SM count was 16 at build time but is 8 here" in str(e.value)
    assert "AGX Orin Developer Kit" in str(e.value) and "Orin Nano Developer Kit" in str(e.value)
    assert M.check_manifest(agx_engine, machine=dict(ORIN))["mismatches"] == []


def test_probe_failing_on_both_sides_is_not_a_match(tmp_path):
    eng = tmp_path / "blind.engine"
    eng.write_bytes(b"plan" * 64)
    M.write_manifest(eng, M.make_manifest(eng, precision="fp16", options={}, machine=NO_PROBE))
    with pytest.raises(ManifestError, match="GPU was probed neither at build time .* nor here") as e:
        M.check_manifest(eng, machine=dict(NO_PROBE))
    assert "needs driver >= 580" in str(e.value)


def test_probe_failing_on_one_side_says_so(agx_engine, tmp_path):
    with pytest.raises(ManifestError) as e:
        M.check_manifest(agx_engine, machine=dict(NO_PROBE))
    msg = str(e.value)
    assert "this machine's GPU could not be probed (cuda-python 13.0.1" in msg and "16 SMs" in msg
    assert "device was Orin at build time but is None here" not in msg  # not a misleading device mismatch
    eng = tmp_path / "built-blind.engine"
    eng.write_bytes(b"plan" * 64)
    M.write_manifest(eng, M.make_manifest(eng, precision="fp16", options={}, machine=NO_PROBE))
    with pytest.raises(ManifestError, match="the GPU was not probed at build time .*needs driver >= 580"):
        M.check_manifest(eng, machine=dict(ORIN))


def test_cuda_runtime_is_the_system_one_not_the_bindings():
    """cuda_runtime comes from the system's libcudart (JetPack's CUDA), read through ctypes."""
    import ctypes

    from edge.trt.identity import cuda_versions

    class RecordedCudart:  # JetPack 6.2: CUDA 12.6 runtime and driver
        def cudaRuntimeGetVersion(self, p):
            p.contents.value = 12060
            return 0

        def cudaDriverGetVersion(self, p):
            p.contents.value = 12060
            return 0

    def load(name):
        if name != "libcudart.so.12":
            raise OSError(f"{name}: cannot open shared object file")
        return RecordedCudart()

    assert cuda_versions(load=load) == {"cuda_runtime": "12.6", "cuda_driver": "12.6"}
    assert cuda_versions(names=("libcudart-absent.so",)) == {"cuda_runtime": None, "cuda_driver": None}
    try:
        lib = ctypes.CDLL("libcudart.so")
    except OSError:
        return
    v = ctypes.c_int(0)
    lib.cudaRuntimeGetVersion(ctypes.byref(v))
    assert M.machine_info()["cuda_runtime"] == f"{v.value // 1000}.{(v.value % 1000) // 10}"


def test_cuda_device_reads_sm_count_and_memory():
    pytest.importorskip("cuda.bindings")
    from cuda.bindings import runtime as rt

    from edge.trt.identity import cuda_device

    props = rt.cudaDeviceProp()
    props.major, props.minor, props.multiProcessorCount, props.totalGlobalMem = 8, 7, 8, 7620 << 20

    class RecordedRuntime:  # an Orin Nano answering through the real bindings' types
        def __getattr__(self, name):
            getattr(rt, name)  # a name the real module lacks fails
            ok = rt.cudaError_t.cudaSuccess
            return {"cudaGetDeviceCount": lambda: (ok, 1), "cudaDriverGetVersion": lambda: (ok, 12060),
                    "cudaRuntimeGetVersion": lambda: (ok, 12060),
                    "cudaGetDeviceProperties": lambda dev: (ok, props)}[name]

    got = cuda_device(RecordedRuntime())
    assert (got["compute_capability"], got["sm_count"], got["total_memory_mb"]) == ("8.7", 8, 7620)
    assert "gpu_probe_error" not in got
