"""QAT with the accuracy gate: the flow ``edge quantize --qat --eval ...`` runs.

Why not simply gate the QAT file: QAT adapts the weights to the quantization noise of the layers it trains in
INT8, so returning one of them to FP32 afterwards removes noise the others compensate for; measured on the
Fashion CNN (docs/BENCHMARKS.md, issue 18), every layer the gate returned lowered the agreement (39.8 dB with
all layers INT8, 33.7 dB with two returned). The FP32 layers must be chosen BEFORE fine-tuning:

1. QAT with every layer INT8 (except ``nodes_to_exclude``); if it passes the threshold, that file is the result;
2. otherwise the post-training gate chooses the layers to keep in FP32 (its usual doubling/bisection), and QAT
   runs again with exactly those layers in FP32 (the INT8 ones adapt to what stays INT8); that file is the
   result when it passes, else the post-training gate's own file. Under torchrun, step 1 runs data-parallel
   and step 2 on rank 0 alone.

So QAT never needs more FP32 layers than the post-training gate, and where it needs as many, its file is the
more accurate one (or PTQ's, when fine-tuning did not help).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from edge.calib import evaluate as ev
from edge.calib.gate import DEFAULT_THRESHOLD, GateReport, _measure, quantize_with_gate
from edge.calib.qat import QATResult, quantize_qat
from edge.calib.qdq import SCHEMES
from edge.core.frames import FrameSet
from edge.core.frames import load_many as load_frames
from edge.core.recipe import Recipe
from edge.forms import ddp


def qat_with_gate(onnx_in: str | os.PathLike, onnx_out: str | os.PathLike, recipe: Recipe | str,
                  calib: FrameSet | str | Sequence[str], eval_set: FrameSet | str | Sequence[str],
                  scheme: str = "trt", method: str = "percentile", threshold: float | None = None,
                  max_fp32_layers: int | None = None, nodes_to_exclude: Sequence[str] | None = None,
                  threads: int | None = None, gate_kw: dict | None = None,
                  **qat_kw) -> tuple[GateReport | None, QATResult | None]:
    """See the module docstring. ``gate_kw``: further ``quantize_with_gate`` arguments (order, ranking, backend,
    measure_latency ...); ``qat_kw``: ``quantize_qat`` arguments (epochs, lr, batch_size, learn_ranges ...).

    Returns ``(report, qat)``: the report of the written ``onnx_out`` (``report.result`` its QuantResult) and the
    QAT run behind it (None when the post-training file was kept); ``(None, None)`` on ranks other than 0.
    """
    recipe = Recipe.load(recipe) if not isinstance(recipe, Recipe) else recipe
    calib = calib if isinstance(calib, FrameSet) else load_frames([calib] if isinstance(calib, str) else list(calib))
    evs = eval_set if isinstance(eval_set, FrameSet) else load_frames(
        [eval_set] if isinstance(eval_set, str) else list(eval_set))
    user, gate_kw = list(nodes_to_exclude or []), dict(gate_kw or {})
    onnx_out = Path(onnx_out)
    kw = {"scheme": scheme, "method": method}
    qat = quantize_qat(onnx_in, onnx_out, recipe, calib, nodes_to_exclude=user, **kw, **qat_kw)
    main = ddp.is_main()
    ddp.finish()  # what follows (gate, a second fine-tuning if needed) runs on rank 0 alone
    if not main:
        return None, None
    metric = gate_kw.get("metric") or ("top1_agreement" if recipe.output_kind == "classification" else "snr_db")
    threshold = DEFAULT_THRESHOLD[metric] if threshold is None else float(threshold)
    rep = _score(qat, onnx_in, recipe, evs, metric, threshold, 0, threads, gate_kw)
    if rep.passed:
        return rep, qat
    ptq = quantize_with_gate(onnx_in, onnx_out.with_name(f"{onnx_out.stem}.ptq-gated.onnx"), recipe, calib, evs,
                             threshold=threshold, max_fp32_layers=max_fp32_layers, nodes_to_exclude=user or None,
                             threads=threads, **kw, **gate_kw)
    chosen = [r["node"] for r in ptq.excluded]
    qat2 = quantize_qat(onnx_in, onnx_out, recipe, calib, nodes_to_exclude=user + chosen,
                        cache_path=ptq.result.ranges_path, **kw, **qat_kw)
    rep2 = _score(qat2, onnx_in, recipe, evs, metric, threshold, len(chosen), threads, gate_kw)
    rep2.excluded, rep2.ranking, rep2.steps = ptq.excluded, ptq.ranking, ptq.steps + rep2.steps
    if rep2.passed or not ptq.passed:
        return rep2, qat2
    shutil.copyfile(ptq.result.path, onnx_out)  # fine-tuning did not help: the post-training file stands
    ptq.result.path = onnx_out
    return ptq, None


def _score(qat: QATResult, reference, recipe: Recipe, evs: FrameSet, metric: str, threshold: float, n_fp32: int,
           threads: int | None, gate_kw: dict) -> GateReport:
    """A one-step gate report of the QAT file against the ORIGINAL FP32 model (the gate's metric and backend)."""
    fp_sess = ev.session(reference, threads=threads)
    ref = ev.run_all(fp_sess, recipe, evs, 8, desc="FP32 reference")
    lat_feed = recipe.preprocess_batch(evs.frames[:1])
    measure = _measure
    if gate_kw.get("backend") == "tensorrt":
        from edge.calib.gate_trt import measure_engine as measure
    timed = gate_kw.get("measure_latency", True) and gate_kw.get("backend") != "tensorrt"
    step = measure(qat.result.path, recipe, evs, ref, lat_feed, fp_sess if timed else None, 8, n_fp32, metric,
                   SCHEMES.get(qat.result.scheme)["for_tensorrt"], threads)
    step["qat"] = True
    passed = step[metric] is not None and step[metric] >= threshold
    return GateReport(metric, threshold, passed, qat.result, steps=[step], eval_frames=len(evs),
                      reference={"latency_ms": None}, final=step, order=gate_kw.get("order") or "sensitivity",
                      threads=threads)
