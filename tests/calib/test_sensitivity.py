"""Output-based sensitivity: Q/DQ bypass is the same model as re-quantizing with nodes_to_exclude, the
ranking measures each layer's share of the final-output noise, and the gate reports near-tie detail."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from edge.calib import evaluate as ev
from edge.calib import qdq
from edge.calib.gate import quantize_with_gate
from edge.core import frames as data
from edge.core.recipe import Recipe
from edge.errors import InputError


@pytest.fixture(scope="module")
def fashion_q(fashion, tmp_path_factory):
    """(fp32 path, full Q/DQ result, recipe, 64 held-out frames, candidate node names)."""
    onnx_path, _ = fashion
    tmp = tmp_path_factory.mktemp("sens")
    recipe = Recipe.load("fashion-cnn")
    calib = data.load("fashion-mnist:train").take(50000, 50064)
    res = qdq.quantize(onnx_path, tmp / "full.onnx", recipe, calib, method="max")
    frames = data.load("fashion-mnist:test", limit=64)
    names = [n for n, _ in qdq.quantizable_nodes(onnx_path)]
    return onnx_path, res, recipe, frames, names, calib


def _out(model_or_path, recipe, frames):
    src = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else model_or_path
    return ev.run_all(ev.session(src, literal_qdq=True), recipe, frames)[0]


def test_bypass_matches_requantizing_with_exclusion(fashion_q, tmp_path):
    onnx_path, res, recipe, frames, names, calib = fashion_q
    fp, q = onnx.load(str(onnx_path)), onnx.load(str(res.path))
    ref, full = _out(onnx_path, recipe, frames), _out(res.path, recipe, frames)
    assert ev.snr_db(ref, full) < 60  # quantization really changes the output
    np.testing.assert_allclose(_out(ev.bypass_qdq(q, fp, names), recipe, frames), ref, rtol=1e-5, atol=1e-5)
    one = names[0]
    by = ev.bypass_qdq(q, fp, [one])
    assert not any(n.op_type == "DequantizeLinear" and n.output[0] in
                   next(m for m in by.graph.node if m.name == one).input for n in by.graph.node)
    excl = qdq.quantize(onnx_path, tmp_path / "excl.onnx", recipe, calib, method="max", nodes_to_exclude=[one],
                        cache_path=res.ranges_path)
    np.testing.assert_allclose(_out(by, recipe, frames), _out(excl.path, recipe, frames), rtol=1e-5, atol=1e-5)


def test_output_sensitivity_ranks_every_layer_by_output_noise(fashion_q):
    onnx_path, res, recipe, frames, names, _ = fashion_q
    rows = ev.output_sensitivity(onnx_path, res.path, recipe, frames, names)
    assert sorted(r["node"] for r in rows) == sorted(names)
    nsr = [r["added"] for r in rows]
    assert nsr == sorted(nsr, reverse=True) and all(x > 0 for x in nsr)
    # independent per-layer noises add up: the sum predicts the fully quantized model's output noise
    ref, full = _out(onnx_path, recipe, frames), _out(res.path, recipe, frames)
    total = float(np.sum((ref.astype(np.float64) - full) ** 2) / np.sum(ref.astype(np.float64) ** 2))
    assert 0.5 < sum(nsr) / total < 2.0, (sum(nsr), total)


def test_compare_reports_near_tie_detail(fashion_q):
    onnx_path, res, recipe, frames, _, _ = fashion_q
    cmp = ev.compare([_out(onnx_path, recipe, frames)], [_out(res.path, recipe, frames)], recipe)
    x = cmp.extra
    assert 0 <= x["confident_frames"] <= len(frames)
    assert x["top5_agreement"] >= cmp.top1_agreement
    same = ev.compare([_out(onnx_path, recipe, frames)] * 2, [_out(onnx_path, recipe, frames)] * 2, recipe)
    assert same.top1_agreement == same.extra["top5_agreement"] == 1.0


def test_gate_local_ranking_and_bad_ranking(fashion, tmp_path):
    onnx_path, _ = fashion
    calib = data.load("fashion-mnist:train").take(50000, 50032)
    test = data.load("fashion-mnist:test", limit=64)
    rep = quantize_with_gate(onnx_path, tmp_path / "l.onnx", "fashion-cnn", calib, test, method="max",
                             threshold=1.01, max_fp32_layers=1, measure_latency=False, ranking="local")
    assert not rep.passed and len(rep.excluded) == 1 and "nsr_in" in rep.ranking[0]
    assert "top5_agreement" in rep.steps[0]
    with pytest.raises(InputError, match="ranking"):
        quantize_with_gate(onnx_path, tmp_path / "b.onnx", "fashion-cnn", calib, test, ranking="hessian")
