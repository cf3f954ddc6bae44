"""PROTOCOL test: a timing cache TensorRT rejects (``set_timing_cache`` returns False: made on another
device or TensorRT version) is reported and kept, not silently dropped and overwritten. Strict TensorRT
10.13 double (TensorRT's verification itself is not simulated: the test scripts its answer); no figure.
"""

from __future__ import annotations

import pytest

from tests.trt.protocol_double import tiny_onnx, use_double
from tests.trt.test_protocol_engine import MACHINE


def _build(tmp_path, monkeypatch, accept_first: bool):
    import edge.trt.manifest as M
    from edge.trt import BuildOptions, build_engine

    answers = iter([accept_first, True])
    double = use_double(monkeypatch, {
        "IBuilderConfig.set_timing_cache": lambda obj, cache, ignore_mismatch: next(answers),
        "ITimingCache.serialize": b"this build's cache", "Builder.build_serialized_network": b"plan"})
    monkeypatch.setattr(M, "machine_info", lambda: dict(MACHINE))
    onnx_path = tiny_onnx(tmp_path / "m.onnx")  # real: the static check reads it; the double's parser is scripted
    cache = tmp_path / "timing.cache"
    cache.write_bytes(b"cache from an AGX Orin")
    res = build_engine(onnx_path, tmp_path / "m.engine", BuildOptions(timing_cache=str(cache)))
    return double, cache, res


def test_protocol_stale_timing_cache_is_reported_and_kept(tmp_path, monkeypatch):
    from edge.trt.manifest import read_manifest

    with pytest.warns(RuntimeWarning, match="rejected by TensorRT"):
        double, cache, res = _build(tmp_path, monkeypatch, accept_first=False)
    assert (tmp_path / "timing.cache.stale").read_bytes() == b"cache from an AGX Orin"
    assert cache.read_bytes() == b"this build's cache"
    assert [c[2]["ignore_mismatch"] for c in double.find("call", "IBuilderConfig.set_timing_cache")] == [False, False]
    assert read_manifest(res.engine)["timing_cache_rejected"] is True


def test_protocol_accepted_timing_cache_is_updated_in_place(tmp_path, monkeypatch, recwarn):
    double, cache, _ = _build(tmp_path, monkeypatch, accept_first=True)
    assert len(double.find("call", "IBuilderConfig.set_timing_cache")) == 1
    assert cache.read_bytes() == b"this build's cache" and not (tmp_path / "timing.cache.stale").exists()
    assert not [w for w in recwarn if "timing cache" in str(w.message)]
