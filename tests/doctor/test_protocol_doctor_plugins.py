"""PROTOCOL TEST of the doctor's plugin line: the calls into TensorRT's plugin registry, checked against a
strict recording double generated from the tensorrt-stubs 10.13 signatures (tests/trt/protocol_double.py).

It never counts as a TensorRT test and produces no figure: TensorRT's behaviour is scripted here, only
the names and arguments of the calls are real (a misspelled attribute fails). The real check is the
doctor run on a device (``edge doctor``, needs TensorRT).
"""

from __future__ import annotations

from edge.doctor import OK, Host
from tests.trt.protocol_double import use_double


def test_protocol_plugin_line_lists_registered_edge_creators(monkeypatch, tmp_path):
    import edge.trt.plugins as trtp
    import edge.trt.version as trt_version
    from edge.doctor import plugins as doctor_plugins

    lib = tmp_path / "libedge_plugins.so"
    lib.write_bytes(b"")  # never opened: load_library is the double's
    monkeypatch.setenv("EDGE_PLUGIN_LIB", str(lib))
    monkeypatch.setattr(trt_version, "unavailable_reason", lambda: None)
    monkeypatch.setattr(trtp, "_loaded", {})
    double = use_double(monkeypatch)
    state = {"loaded": False}

    def creator(name: str, version: str):
        c = double.IPluginCreatorV3One.__new__(double.IPluginCreatorV3One)
        c.name, c.plugin_version, c.plugin_namespace = name, version, ""  # settable in the 10.13 API
        return c

    creators = [creator("EdgeMultiPoolUnwarp", "1"), creator("EdgeSampleInterp", "1"), creator("ROIAlign_TRT", "2")]
    registry = double.IPluginRegistry.__new__(double.IPluginRegistry)

    def get_creator(obj, type, version, plugin_namespace=""):
        found = [c for c in creators if (c.name, c.plugin_version) == (type, version)]
        return found[0] if state["loaded"] and found else None

    double.script.update({
        "get_plugin_registry": lambda obj: registry,
        "IPluginRegistry.load_library": lambda obj, plugin_path: state.update(loaded=True) or "capsule",
        "IPluginRegistry.get_creator": get_creator,
        "IPluginRegistry.all_creators": lambda obj: creators if state["loaded"] else [],
    })
    assert doctor_plugins.trt._edge_module is double  # the doctor reaches TensorRT through the patched proxy

    check = doctor_plugins.probe_plugin_library(Host(tmp_path, commands={}))
    assert check.status == OK, check
    assert check.value == f"{lib.resolve()}: EdgeMultiPoolUnwarp v1, EdgeSampleInterp v1"
    assert [c["name"] for c in check.detail["creators"]] == ["EdgeMultiPoolUnwarp", "EdgeSampleInterp"]
    assert double.find("call", "IPluginRegistry.load_library") == [
        ("call", "IPluginRegistry.load_library", {"plugin_path": str(lib.resolve())})]
