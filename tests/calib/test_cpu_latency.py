"""ONNX Runtime CPU INT8: output sealing (ORT fuses quantized layers), per-node profiles, latency-aware gate order."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edge.calib import evaluate as ev
from edge.calib import qdq
from edge.calib.gate import quantize_with_gate
from edge.calib.latency import boundary_ms, chains, latency_order
from edge.calib.ort_cpu import layer_gains, profile_nodes
from edge.core import frames as data
from edge.core.recipe import Recipe
from edge.errors import InputError


def _non_conv_excluded(onnx_path, tmp_path, seal):
    """cpu-u8 file with every quantizable non-Conv layer (pools, Gemm) left FP32: each Conv feeds FP32."""
    frames = data.load("fashion-mnist:test", limit=32)
    keep_fp32 = [n for n, op in qdq.quantizable_nodes(onnx_path) if op != "Conv"]
    convs = [n for n, op in qdq.quantizable_nodes(onnx_path) if op == "Conv"]
    res = qdq.quantize(onnx_path, tmp_path / f"s{int(seal)}.onnx", "fashion-cnn", frames, method="max",
                       scheme="cpu-u8", nodes_to_exclude=keep_fp32, seal=seal, cache_path=tmp_path / "r.json")
    return res, convs


def test_sealed_outputs_make_ort_run_int8_kernels(fashion, tmp_path):
    """Without an output Q a quantized Conv feeding an FP32 layer is NOT fused by ORT (DQ -> FP32 Conv);
    sealing gives every such Conv a QLinearConv, and the model still agrees with FP32."""
    onnx_path, _ = fashion
    feed = {"input": np.random.default_rng(0).normal(size=(1, 1, 28, 28)).astype(np.float32)}
    plain, convs = _non_conv_excluded(onnx_path, tmp_path, seal=False)
    sealed, _ = _non_conv_excluded(onnx_path, tmp_path, seal=True)
    assert plain.sealed == [] and len(sealed.sealed) == len(convs) >= 2
    by_op_plain = profile_nodes(plain.path, feed, runs=2, warmup=1)["by_op"]
    by_op_sealed = profile_nodes(sealed.path, feed, runs=2, warmup=1)["by_op"]
    fp32_convs = lambda by_op: by_op.get("FusedConv", 0) + by_op.get("Conv", 0)
    assert fp32_convs(by_op_plain) > 0  # the defect: a quantized conv feeding ReduceMean runs DQ -> float conv
    assert fp32_convs(by_op_sealed) == 0 and by_op_sealed.get("QLinearConv", 0) > 0
    sess = ev.session(sealed.path, literal_qdq=False)
    n_qlinear = sum(1 for n in onnx.load(str(sealed.path)).graph.node if n.name.endswith("_ortcpu_Q"))
    assert n_qlinear == len(convs)
    recipe = Recipe.load("fashion-cnn")
    frames = data.load("fashion-mnist:test", limit=64)
    ref = ev.run_all(ev.session(onnx_path), recipe, frames)
    got = ev.run_all(sess, recipe, frames)
    assert ev.snr_db(ref[0], got[0]) > 15


def test_trt_scheme_is_not_sealed(fashion, tmp_path):
    onnx_path, _ = fashion
    frames = data.load("fashion-mnist:test", limit=16)
    res = qdq.quantize(onnx_path, tmp_path / "t.onnx", "fashion-cnn", frames, method="max", scheme="trt",
                       nodes_to_exclude=[n for n, op in qdq.quantizable_nodes(onnx_path) if op != "Conv"])
    assert res.sealed == []  # TensorRT fuses input-side Q/DQ itself; its file stays as it was


def test_profile_attributes_kernels_to_original_layers(fashion):
    onnx_path, _ = fashion
    feed = {"input": np.zeros((2, 1, 28, 28), np.float32)}
    prof = profile_nodes(onnx_path, feed, runs=3, warmup=1)
    convs = [n for n, op in qdq.quantizable_nodes(onnx_path) if op == "Conv"]
    assert set(convs) <= set(prof["nodes"]) and all(prof["nodes"][c] > 0 for c in convs)
    assert prof["total_ms"] == pytest.approx(sum(prof["by_op"].values()))
    gains = layer_gains(prof, {"nodes": {convs[0]: prof["nodes"][convs[0]] + 1.0}}, convs)
    assert gains[convs[0]] == pytest.approx(-1.0) and gains[convs[1]] == pytest.approx(prof["nodes"][convs[1]])


def _chain_model(path, c=8, hw=32):
    """input -> A(conv) -> relu -> B(conv) -> C(conv) -> D(conv) -> output; weights 1x1, (1, c, hw, hw) tensors."""
    w = numpy_helper.from_array(np.eye(c, dtype=np.float32).reshape(c, c, 1, 1), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="A"), helper.make_node("Relu", ["a"], ["ar"], name="R"),
             helper.make_node("Conv", ["ar", "w"], ["b"], name="B"), helper.make_node("Conv", ["b", "w"], ["c"], name="C"),
             helper.make_node("Conv", ["c", "w"], ["y"], name="D")]
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, hw, hw])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_boundaries_and_chains(tmp_path):
    path = _chain_model(tmp_path / "chain.onnx")
    from edge.calib.latency import _graph

    t = _graph(path, ["A", "B", "C", "D"])
    n = 8 * 32 * 32
    assert chains(t, ["A", "B", "C", "D"]) == [["A", "B", "C", "D"]]
    assert boundary_ms(t, set(), 1.0) == 0
    # input Q only: the graph output is not sealed (a last INT8 layer keeps a float output, its gain says so)
    assert boundary_ms(t, {"A", "B", "C", "D"}, 1.0) == pytest.approx(n * 1e-6)
    assert boundary_ms(t, {"B"}, 1.0) == pytest.approx(n * 1e-6 * 2)
    assert boundary_ms(t, {"A", "C"}, 1.0) == pytest.approx(n * 1e-6 * 4)  # two islands


def test_boundary_cost_measured_from_profile(tmp_path):
    from edge.calib.latency import measured_ns_per_element

    path = _chain_model(tmp_path / "chain.onnx")
    n = 8 * 32 * 32  # all-INT8: one boundary (the entry Q) of n elements
    assert measured_ns_per_element(path, {"other": {"x_QuantizeLinear": n * 1.5e-6}}, list("ABCD")) == pytest.approx(1.5)
    assert measured_ns_per_element(path, {"other": {"q": 1.0}}, list("ABCD")) == 4.0  # clipped
    assert measured_ns_per_element(path, {"other": {}}, list("ABCD")) is None


def test_latency_order_puts_layers_that_do_not_pay_first(tmp_path):
    """A and D cost time in INT8 (negative gain); B and C each gain less than the two boundaries an island
    costs, together more: the greedy must take the run B-C, never A or D, and return A and D to FP32 first."""
    path = _chain_model(tmp_path / "chain.onnx")
    n_ms = 8 * 32 * 32 * 1e-6  # one boundary at 1 ns/element
    gains = {"A": -0.05, "B": 1.2 * n_ms, "C": 1.2 * n_ms, "D": -0.01}
    ranking = [{"node": k, "added": a} for k, a in [("A", 4e-3), ("B", 1e-4), ("C", 2e-4), ("D", 1e-3)]]
    rows = latency_order(path, ranking, gains, ns_per_element=1.0)
    order = [r["node"] for r in rows]
    assert set(order[:2]) == {"A", "D"} and order[0] == "A"  # never pays: most sensitive first
    assert {r["node"]: r["int8_order"] for r in rows}["A"] is None
    assert sorted(order[2:]) == ["B", "C"] and all(r["int8_order"] is not None for r in rows[2:])
    assert [r["gain_ms"] for r in rows if r["node"] == "B"] == [gains["B"]]
    # the plain sensitivity order would return A, D, C, B; with B alone paying, it would be taken first
    rows = latency_order(path, ranking, {**gains, "B": 3 * n_ms}, ns_per_element=1.0)
    assert [r["node"] for r in rows][-1] == "B"  # last to leave INT8: the first taken into it


def test_gate_latency_order(fashion, tmp_path):
    """order='latency' ranks by the profiled gains, reports gain_ms and latency per step; bad options fail."""
    onnx_path, _ = fashion
    recipe = Recipe.load("fashion-cnn")
    calib = data.load("fashion-mnist:train").take(50000, 50064)
    test = data.load("fashion-mnist:test", limit=96)
    rep = quantize_with_gate(onnx_path, tmp_path / "l.onnx", recipe, calib, test, method="max", scheme="cpu-u8",
                             threshold=1.01, max_fp32_layers=2, order="latency", threads=1, sensitivity_frames=16)
    assert not rep.passed and [s["fp32_layers"] for s in rep.steps] == [0, 1, 2]
    assert rep.ranking and all("gain_ms" in r and "int8_order" in r for r in rep.ranking)
    assert [r["node"] for r in rep.excluded] == [r["node"] for r in rep.ranking[:2]]
    assert all(s["latency_ratio"] and s["latency_ratio"] > 0 for s in rep.steps)
    assert "gain_ms" in rep.markdown()
    with pytest.raises(InputError, match="CPU scheme"):
        quantize_with_gate(onnx_path, tmp_path / "x.onnx", recipe, calib, test, scheme="trt", order="latency")
    with pytest.raises(InputError, match="gate order"):
        quantize_with_gate(onnx_path, tmp_path / "x.onnx", recipe, calib, test, order="fastest")
