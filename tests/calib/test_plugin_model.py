"""A model with a TensorRT plugin node (dense BaseNet with the EdgeMultiPoolUnwarp op): calibrated in ONNX
Runtime through the plugin's model-local function, quantized with the plugin node left unquantized."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from edge.calib.gate import quantize_with_gate
from edge.core import frames as data


@pytest.fixture(scope="module")
def plugin_onnx(tmp_path_factory):
    from edge.dense import basenet, to_dense
    from edge.export import to_onnx

    torch.manual_seed(0)
    dense = to_dense(basenet().eval(), 15, unwarp="op")
    path = tmp_path_factory.mktemp("plugin") / "basenet.plugins.onnx"
    return to_onnx(dense, torch.zeros(1, 1, 32, 40), path, plugins=True)


def crops(n: int, seed: int) -> data.FrameSet:
    """``n`` 32x40 BGR crops of skimage's natural images (disjoint sets for different seeds)."""
    sk = data.load("skimage")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = sk.frames[i % len(sk)]
        y, x = rng.integers(0, img.shape[0] - 32), rng.integers(0, img.shape[1] - 40)
        out.append(np.ascontiguousarray(img[y:y + 32, x:x + 40]))
    return data.FrameSet(out, name=f"crops{seed}")


def test_plugin_model_quantizes_with_plugin_kept(plugin_onnx, tmp_path):
    before = plugin_onnx.read_bytes()
    rep = quantize_with_gate(plugin_onnx, tmp_path / "basenet.int8.onnx", "dense-basenet", crops(16, 0),
                             crops(16, 1), method="max", measure_latency=False)
    assert plugin_onnx.read_bytes() == before  # input untouched
    m = onnx.load(str(rep.result.path))
    plugin = [n for n in m.graph.node if n.domain == "trt.plugins"]
    assert [n.op_type for n in plugin] == ["EdgeMultiPoolUnwarp"] and rep.result.plugin_nodes
    dq_out = {n.output[0] for n in m.graph.node if n.op_type == "DequantizeLinear"}
    assert not any(i in dq_out for i in plugin[0].input)  # the plugin reads higher-precision data
    assert not m.functions  # the calibration-time function is gone: TensorRT sees the plugin node
    assert rep.metric == "snr_db" and rep.steps[0]["snr_db"] > 20
    assert sum(n.op_type == "QuantizeLinear" for n in m.graph.node) >= 4
