"""ONNX Runtime backend: broken files, providers, options, plugin-mode files run in memory."""

from __future__ import annotations

import numpy as np
import pytest

from edge.errors import ModelLoadError, RuntimeBackendError
from edge.runtime import load
from edge.runtime.onnxruntime_backend import OnnxRuntimeRunner, default_providers, has_plugin_nodes, load_model_proto


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_broken_onnx_is_model_load_error(tmp_path, small_onnx, damage):
    data = small_onnx.read_bytes()
    bad = {"truncated": data[: len(data) // 2], "garbage": b"\x00\xffnot onnx" * 50, "empty": b""}[damage]
    path = tmp_path / f"{damage}.onnx"
    path.write_bytes(bad)
    with pytest.raises(ModelLoadError, match=f"{damage}.onnx"):
        load(path).activate()


def test_runs_from_bytes_and_proto(small_onnx):
    x = {"input": np.ones((1, 1, 9, 9), np.float32)}
    a = load(small_onnx.read_bytes()).infer(x)["output"]
    b = load(load_model_proto(small_onnx)).infer(x)["output"]
    np.testing.assert_array_equal(a, b)


def test_default_providers_end_with_cpu():
    assert default_providers()[-1] == "CPUExecutionProvider"


def test_options_threads_and_optimization(small_onnx):
    with OnnxRuntimeRunner(small_onnx, threads=1, optimization="disable", providers=["CPUExecutionProvider"]) as r:
        assert r.active_providers == ["CPUExecutionProvider"]
        assert r.infer({"input": np.zeros((1, 1, 5, 5), np.float32)})["output"].shape == (1, 4, 3, 3)
    with pytest.raises(RuntimeBackendError, match="unknown optimization level"):
        OnnxRuntimeRunner(small_onnx, optimization="turbo").activate()


def test_portable_file_is_not_plugin_mode(small_onnx):
    assert not has_plugin_nodes(load_model_proto(small_onnx))
