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

ORIN = {"tensorrt": "10.3.0", "cuda_runtime": "12.6", "device": "Orin", "compute_capability": "8.7",
        "l4t": {"l4t": "36.4.0", "jetpack": "6.1/6.2", "board": None}, "arch": "aarch64"}
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
    assert M.read_l4t(f) == {"l4t": "36.4.0", "jetpack": "6.1/6.2", "board": "generic"}
    assert M.read_l4t(tmp_path / "absent") is None
