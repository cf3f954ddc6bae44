"""The TensorRT gate backend (edge.calib.gate_trt).

- ``needs_trt`` tests build and score real engines (skipped without TensorRT and a GPU);
- PROTOCOL tests check edge's calls into TensorRT with the strict recording double of TensorRT 10.13
  (tests/trt/protocol_double.py): not TensorRT tests, no figure;
- the inspector-JSON reading is tested on layer entries written in the documented format.
"""

from __future__ import annotations

import json

import pytest

from edge.calib import gate_trt
from tests.trt.protocol_double import use_double

# Two engine layers as the inspector reports them with DETAILED verbosity: a conv fused with its Q/DQ and ReLU
# reading INT8, and a Gemm left in FP16; a fused layer joins its ONNX entries with 0x1F
LAYERS = [
    {"Name": "/features/features.0/Conv + /features/features.2/Relu", "LayerType": "CaskConvolution",
     "Inputs": [{"Name": "input_q", "Format/Datatype": "Thirty-two wide channel vectorized row major Int8 format"}],
     "Outputs": [{"Name": "x", "Format/Datatype": "Channel major FP16 format where channel % 8 == 0"}],
     "Metadata": "[ONNX Layer: input_DequantizeLinear]\x1f[ONNX Layer: /features/features.0/Conv]\x1f"
                 "[ONNX Layer: /features/features.2/Relu]"},
    {"Name": "/classifier/Gemm", "LayerType": "CaskGemmConvolution",
     "Inputs": [{"Name": "y", "Format/Datatype": "Channel major FP16 format where channel % 8 == 0"}],
     "Outputs": [{"Name": "output", "Format/Datatype": "Row major linear FP32"}],
     "Metadata": "[ONNX Layer: /classifier/Gemm | Local Function: f]"},
    {"Name": "Reformatting CopyNode for Input Tensor 0", "LayerType": "Reformat",
     "Inputs": [{"Name": "z", "Format/Datatype": "Row major linear FP32"}], "Outputs": []},
]


def test_inspector_layers_map_to_onnx_nodes_and_precisions():
    prec = gate_trt.node_precisions(LAYERS)
    assert prec["/features/features.0/Conv"] == "int8"
    assert prec["/features/features.2/Relu"] == "int8"
    assert prec["/classifier/Gemm"] == "fp16"
    assert "Reformatting CopyNode for Input Tensor 0" not in prec  # no ONNX origin
    assert gate_trt.datatype("Row major linear FP32") == "fp32"


def test_higher_precision_lists_quantizable_nodes_not_run_in_int8(fashion, tmp_path):
    from edge.calib.qdq import quantize
    from edge.core import frames as data

    q = quantize(fashion[0], tmp_path / "q.onnx", "fashion-cnn", data.load("fashion-mnist:train", 32),
                 method="max", nodes_to_exclude=["/classifier/Gemm"])
    prec = {"/features/features.0/Conv": "int8", "/features/features.4/Conv": "int8",
            "/classifier/Gemm": "fp16"}
    rows = gate_trt.higher_precision(q.path, prec)
    names = {r["node"]: r["precision"] for r in rows}
    assert names["/classifier/Gemm"] == "fp16"
    assert names["/features/features.8/Conv"] == "fused away"  # a weighted layer no engine layer names
    assert "/features/features.0/Conv" not in names


def test_protocol_engine_build_asks_for_detailed_layer_information(monkeypatch, tmp_path):
    from edge.core.recipe import Recipe

    double = use_double(monkeypatch, {
        "INetworkDefinition.num_inputs": 1, "ITensor.name": "input", "ITensor.shape": (-1, 1, 28, 28),
        "Builder.build_serialized_network": b"plan"})
    monkeypatch.setattr(gate_trt, "trt", double)
    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(b"not parsed: the double's parser accepts it")
    plan = gate_trt.build_plan(onnx_path, Recipe.load("fashion-cnn"), 8)
    assert plan == b"plan"
    names = [c[1] for c in double.calls]
    sets = double.find("set", "IBuilderConfig.profiling_verbosity")
    assert sets and sets[0][2] == double.ProfilingVerbosity.DETAILED
    assert names.index("IBuilderConfig.profiling_verbosity") < names.index("Builder.build_serialized_network")


def test_protocol_inspector_reads_the_engine_information_as_json(monkeypatch):
    double = use_double(monkeypatch, {"EngineInspector.get_engine_information": json.dumps({"Layers": LAYERS})})
    monkeypatch.setattr(gate_trt, "trt", double)
    engine = double.ICudaEngine.__new__(double.ICudaEngine)
    layers = gate_trt.engine_layers(engine)
    assert [la["Name"] for la in layers] == [la["Name"] for la in LAYERS]
    call = double.find("call", "EngineInspector.get_engine_information")
    assert call and call[0][2]["format"] == double.LayerInformationFormat.JSON


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
def test_trt_gate_scores_the_engine_and_maps_higher_precision_layers(fashion, tmp_path):
    """On a device: the gate builds an engine per step; the report lists, per step, the ONNX nodes TensorRT
    ran above INT8; the layers the gate returned to FP32 are among them (FP16 in a 'best' engine)."""
    from edge.calib.gate import quantize_with_gate
    from edge.core import frames as data

    calib, evs = data.load("fashion-mnist:train", 256), data.load("fashion-mnist:test", 512)
    rep = quantize_with_gate(fashion[0], tmp_path / "q.onnx", "fashion-cnn", calib, evs, method="percentile",
                             threshold=0.999, max_fp32_layers=2, backend="tensorrt", measure_latency=False)
    assert all(s["backend"] == "tensorrt" and s["engine_layers"] > 0 for s in rep.steps)
    assert 0.5 < rep.steps[0]["top1_agreement"] <= 1.0
    last = max(rep.steps, key=lambda s: s["fp32_layers"])
    high = {r["node"] for r in last["engine_higher_precision"]}
    excluded = {r["node"] for r in rep.ranking[:last["fp32_layers"]]}
    weighted = {n for n in excluded if "Conv" in n or "Gemm" in n}
    assert weighted <= high
