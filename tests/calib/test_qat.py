"""Quantization-aware distillation (edge.calib.qat): fake quantization where the Q/DQ file has its Q/DQ nodes,
the exported file's structure, its arithmetic against ONNX Runtime, and the gate after QAT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from edge.calib import evaluate as ev
from edge.calib.qat import QDQGraph, quantize_qat
from edge.core import frames as data
from edge.core.recipe import Recipe
from edge.errors import CalibrationError

SCHEMES = ("trt", "cpu-u8")


@pytest.fixture(scope="module")
def frames():
    return data.load("fashion-mnist:train", 2048), data.load("fashion-mnist:test", 1000)


@pytest.fixture(scope="module")
def qat_files(fashion, frames, tmp_path_factory):
    """Each scheme: QAT (2 epochs over 2048 frames, learned ranges) of the session's Fashion CNN."""
    torch.set_num_threads(1)
    out = {}
    for scheme in SCHEMES:
        d = tmp_path_factory.mktemp(f"qat-{scheme}")
        out[scheme] = quantize_qat(fashion[0], d / "f.onnx", "fashion-cnn", frames[0], scheme=scheme, epochs=2,
                                   lr=1e-4, batch_size=64, learn_ranges=True, progress=False)
    return out


def _structure(path) -> list[tuple]:
    """The graph without initializer values: every node's op, name, inputs, outputs and attributes."""
    m = onnx.load(str(path))
    return [(n.op_type, n.name, tuple(n.input), tuple(n.output),
             tuple((a.name, str(onnx.helper.get_attribute_value(a))) for a in n.attribute)) for n in m.graph.node]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_qat_file_has_the_ptq_qdq_structure(qat_files, scheme):
    res = qat_files[scheme]
    qat, ptq = _structure(res.result.path), _structure(res.ptq.path)
    assert qat == ptq
    assert sum(n[0] == "QuantizeLinear" for n in qat) >= 3
    assert res.result.qdq_nodes == res.ptq.qdq_nodes


@pytest.mark.parametrize("scheme", SCHEMES)
def test_qat_learned_ranges_are_the_files_scales(qat_files, scheme):
    """The written scales are the trained ones (export checks it too) and training moved them off PTQ's."""
    res = qat_files[scheme]
    g = QDQGraph(onnx.load(str(res.result.path)), onnx.load(str(res.fp32_path)))
    p = QDQGraph(onnx.load(str(res.ptq.path)), onnx.load(str(res.fp32_path)))
    s_qat = {k: float(g.value(q["scale"]).detach()) for k, q in g.act_q.items()}
    s_ptq = {k: float(p.value(q["scale"]).detach()) for k, q in p.act_q.items()}
    assert s_qat.keys() == s_ptq.keys()
    assert any(abs(s_qat[k] / s_ptq[k] - 1) > 1e-3 for k in s_qat)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_fake_quant_forward_equals_ort_literal_qdq(qat_files, frames, scheme):
    """Every quantized tensor of the fake-quant forward is within one quantization step of ONNX Runtime's literal
    Q/DQ arithmetic of the exported file (float summation order may flip a rounding tie), and so are the logits
    to within the noise one step per tensor can cause."""
    res = qat_files[scheme]
    model = onnx.load(str(res.result.path))
    g = QDQGraph(model, onnx.load(str(res.fp32_path))).eval()
    qs = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    for n in qs:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(n.output[0]))
    recipe = Recipe.load("fashion-cnn")
    feed = recipe.preprocess_batch(frames[1].frames[:64])
    got = ev.session(model.SerializeToString(), literal_qdq=True).run(None, feed)
    codes: dict[str, torch.Tensor] = {}
    hooks = _record_q(g, codes)
    with torch.no_grad():
        logits = g(torch.from_numpy(feed["input"])).numpy()
    hooks()
    for n, ort_q in zip(qs, got[1:]):
        diff = np.abs(codes[n.output[0]].numpy() - ort_q.astype(np.float64))
        assert diff.max() <= 1, n.name
        assert diff.mean() < 1e-3, n.name
    assert np.abs(logits - got[0]).max() < 0.05 * np.abs(got[0]).max()
    assert (logits.argmax(1) == got[0].argmax(1)).mean() >= 0.98


def _record_q(g: QDQGraph, codes: dict):
    """Record the integer codes of every QuantizeLinear of ``g``'s forward into ``codes``; returns an undo."""
    run = g._run

    def spy(node, a, env):
        out = run(node, a, env)
        if node.op_type == "QuantizeLinear":
            codes[node.output[0]] = out[0].double()
        return out

    g._run = spy
    return lambda: setattr(g, "_run", run)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_fixed_ranges_keep_the_calibrated_scales(fashion, frames, tmp_path, scheme):
    torch.set_num_threads(1)
    res = quantize_qat(fashion[0], tmp_path / "f.onnx", "fashion-cnn", frames[0].take(0, 128), scheme=scheme,
                       epochs=1, lr=1e-4, batch_size=64, learn_ranges=False, progress=False)
    inits = lambda p: {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(p)).graph.initializer}
    q, p = inits(res.result.path), inits(res.ptq.path)
    scales = [k for k in p if k.endswith("_scale") and p[k].size == 1]
    assert scales
    for k in scales:
        np.testing.assert_allclose(q[k], p[k], rtol=1e-6)


def test_qat_never_increases_the_fp32_layers_the_gate_needs(fashion, frames, qat_files, tmp_path):
    """On the Fashion CNN at a strict threshold: QAT with the gate (edge quantize --qat --eval) needs no more FP32
    layers than the post-training gate, passes where it passes, and QAT lowers the all-INT8 noise."""
    from edge.calib.gate import quantize_with_gate
    from edge.calib.qat.gated import qat_with_gate

    calib, evs = frames
    for scheme in SCHEMES:
        kw = {"threshold": 0.995, "max_fp32_layers": 4, "threads": 1, "scheme": scheme, "method": "percentile"}
        ptq = quantize_with_gate(fashion[0], tmp_path / f"ptq.{scheme}.onnx", "fashion-cnn", calib, evs,
                                 measure_latency=False, **kw)
        rep, _ = qat_with_gate(fashion[0], tmp_path / f"qat.{scheme}.onnx", "fashion-cnn", calib, evs,
                               gate_kw={"measure_latency": False}, epochs=2, lr=1e-4, batch_size=64,
                               progress=False, **kw)
        assert rep.final["fp32_layers"] <= ptq.final["fp32_layers"], scheme
        assert rep.passed or not ptq.passed, scheme
        assert rep.result.path == tmp_path / f"qat.{scheme}.onnx" and rep.result.path.exists()
        assert qat_files[scheme].result.qdq_nodes > 0
        qat_all = score_all_int8(qat_files[scheme].result.path, fashion[0], evs, scheme)
        assert qat_all > ptq.steps[0]["snr_db"], scheme  # QAT lowered the all-INT8 noise


def score_all_int8(q_path, fp32_path, evs, scheme) -> float:
    """Logit SNR (dB) of a Q/DQ file against FP32 as the gate judges the scheme (literal Q/DQ for trt)."""
    recipe = Recipe.load("fashion-cnn")
    ref = ev.run_all(ev.session(fp32_path), recipe, evs)
    out = ev.run_all(ev.session(q_path, literal_qdq=scheme == "trt"), recipe, evs)
    return ev.compare(ref, out, recipe).snr_db[0]


def test_unsupported_op_is_a_clear_error():
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    m = helper.make_model(helper.make_graph([helper.make_node("Erf", ["x"], ["y"])], "g", [x], [y]))
    with pytest.raises(CalibrationError, match="Erf"):
        QDQGraph(m)
