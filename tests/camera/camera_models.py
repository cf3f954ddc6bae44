"""Tiny real ONNX models built with onnx.helper (shared by tests/camera and tests/bench)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


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
