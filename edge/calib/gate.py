"""The accuracy gate: quantize, compare with FP32 on a held-out set in ONNX Runtime, and when the gate
fails, return the most sensitive layers to FP32 (``nodes_to_exclude``; TensorRT runs them in FP16 when the
engine allows it) until it passes or the budget of excluded layers is spent: the count doubles (1, 2, 4, ...)
until a count passes, then bisects, so the written model keeps the fewest layers (in ranking order) that
pass. Writes a JSON + Markdown report listing every layer kept in higher precision and the accuracy/latency
trade of each step.

``order="latency"`` (ONNX Runtime CPU schemes) returns layers in the order of ``edge.calib.latency``: layers
whose INT8 kernel does not pay for itself first, then the INT8 set is shrunk from its least worthwhile end, in
whole chains where that avoids FP32 islands; each step's latency ratio is in the report.

Gate metric: ``top1_agreement`` for classification recipes (also reports accuracy when labels exist),
``snr_db`` (of the first output) otherwise; ``threshold`` is in that metric's unit. A task metric of the
user's (a callable or a ``"package.module:function"`` spec, see :func:`resolve_metric`) replaces them: it
scores the quantized outputs against the FP32 ones on the held-out frames, higher is better.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge.calib import evaluate as ev
from edge.calib.qdq import SCHEMES, TRT_OPS, QuantResult, quantizable_nodes, quantize
from edge.core.frames import FrameSet
from edge.core.frames import load_many as load_frames
from edge.core.recipe import Recipe
from edge.errors import CalibrationError, InputError
from edge.io import markdown_table, write_json, write_text

DEFAULT_THRESHOLD = {"top1_agreement": 0.98, "snr_db": 30.0}
RANKINGS = {"output": ev.output_sensitivity, "local": ev.sensitivity}
ORDERS = ("sensitivity", "latency")


@dataclass
class GateReport:
    """Outcome of ``quantize_with_gate``; ``passed`` False means the budget ran out (the file is still written)."""

    metric: str
    threshold: float
    passed: bool
    result: QuantResult
    steps: list[dict] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)  # node, op, added noise (+ snr_db alone: output ranking)
    ranking: list[dict] = field(default_factory=list)
    eval_frames: int = 0
    reference: dict = field(default_factory=dict)
    calib_seconds: float = 0.0  # calibration + first quantization (later steps reuse the cached ranges)
    final: dict = field(default_factory=dict)  # the step of the written model (the fewest FP32 layers passing)
    order: str = "sensitivity"  # the order layers were returned in ("sensitivity" or "latency")
    threads: int | None = None  # ONNX Runtime intra-op threads of the latency runs (None: ORT's default)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "result"}
        d["quantization"] = self.result.to_dict()
        return d

    def markdown(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED (budget of FP32 layers spent)"
        md = [f"### INT8 accuracy gate: {verdict}\n",
              (f"- model: `{self.result.path.name}` ({self.result.scheme} Q/DQ, {self.result.method} calibration on "
               f"{self.result.calib_frames} frames, {self.calib_seconds:.1f} s)"),
              (f"- gate: {self.metric} >= {self.threshold} on {self.eval_frames} held-out frames (ONNX Runtime CPU); "
               f"layers returned in {self.order} order\n"),
              (f"- written model: {self.final.get('fp32_layers', 0)} layers in higher precision, {self.metric} "
               f"{self.final.get(self.metric)}\n" if self.final else ""),
              markdown_table(sorted(self.steps, key=lambda s: s["fp32_layers"]), ["fp32_layers", self.metric, "top5_agreement", "top1_agreement_confident",
                                          "accuracy", "accuracy_fp32", "snr_db", "latency_ratio"])]
        if self.excluded:
            cols = ["node", "op", "added", "snr_db"] + (["gain_ms"] if "gain_ms" in self.excluded[0] else [])
            md += ["\nLayers kept in FP32 (in the order the gate returned them):\n", markdown_table(self.excluded, cols)]
        else:
            md.append("\nNo layer kept in higher precision.\n")
        return "\n".join(md)

    def write(self, out_dir: str | os.PathLike, stem: str = "gate") -> tuple[Path, Path]:
        out = Path(out_dir)
        return write_json(out / f"{stem}.json", self.to_dict()), write_text(out / f"{stem}.md", self.markdown())


def resolve_metric(metric) -> tuple[str, Callable | None]:
    """A gate metric -> ``(name, user function or None)``.

    ``metric`` is a built-in name (``"top1_agreement"``, ``"snr_db"``), a callable, or a
    ``"package.module:function"`` spec naming one. A user function is called as
    ``fn(ref_outputs, outputs, frames) -> float | dict`` with the FP32 and the quantized outputs (lists of
    ``(N, ...)`` arrays, one per model output) and the held-out FrameSet; higher is better and the gate
    passes at ``value >= threshold``. A dict return holds ``"value"`` plus extra figures for the report.
    The function may carry a default ``threshold`` attribute and a ``name`` attribute for the report.
    """
    if metric is None or isinstance(metric, str) and ":" not in metric:
        if metric is not None and metric not in DEFAULT_THRESHOLD:
            raise InputError(f"gate metric '{metric}' must be one of {sorted(DEFAULT_THRESHOLD)} or a user metric "
                             "given as a callable or 'package.module:function'")
        return metric, None
    fn = metric
    if isinstance(metric, str):
        import importlib

        mod, _, attr = metric.partition(":")
        try:
            fn = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise InputError(f"cannot load the gate metric '{metric}': {e}. Fix: give 'package.module:function' "
                             "of an importable function fn(ref_outputs, outputs, frames) -> float") from e
    if not callable(fn):
        raise InputError(f"the gate metric {metric!r} is not callable")
    return str(getattr(fn, "name", None) or getattr(fn, "__name__", "user_metric")), fn


def _user_score(fn, name: str, ref, outs, frames) -> dict:
    """``{name: value, **extras}`` from a user metric (see :func:`resolve_metric`)."""
    if outs is None:
        raise InputError(f"the gate metric '{name}' needs the quantized outputs, which this gate backend does "
                         "not return. Fix: use the onnxruntime gate backend with a user metric")
    got = fn(ref, outs, frames)
    extra = dict(got) if isinstance(got, dict) else {"value": got}
    try:
        value = float(extra.pop("value"))
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"the gate metric '{name}' returned {got!r}: return a number, or a dict with a "
                         "numeric 'value'") from e
    return {name: value, **extra}


def quantize_with_gate(onnx_in: str | os.PathLike, onnx_out: str | os.PathLike, recipe: Recipe | str,
                       calib: FrameSet | str | Sequence[str], eval_set: FrameSet | str | Sequence[str],
                       method: str = "entropy", scheme: str = "trt", threshold: float | None = None,
                       metric: str | Callable | None = None, max_fp32_layers: int | None = None,
                       sensitivity_frames: int = 32, batch_size: int = 8, measure_latency: bool = True,
                       nodes_to_exclude: Sequence[str] | None = None, ranking: str = "output",
                       order: str | None = None, threads: int | None = None, reference=None,
                       backend: str = "onnxruntime", **quant_kw) -> GateReport:
    """Quantize ``onnx_in`` and enforce the gate; see the module docstring.

    Args:
        calib / eval_set: disjoint FrameSets or source specs (the caller keeps them disjoint).
        threshold: None means 0.98 top-1 agreement (classification) or 30 dB SNR (otherwise), or the user
            metric's ``threshold`` attribute.
        metric: None (by the recipe's output kind), a built-in name, or a user task metric: a callable or a
            "package.module:function" spec (see :func:`resolve_metric`).
        max_fp32_layers: budget of layers returned to FP32; None means a quarter of the quantizable ones (>= 2).
        sensitivity_frames: frames of ``eval_set`` used to rank layers (spread evenly over it).
        nodes_to_exclude: layers the user keeps in FP32 from the start (not counted in the budget).
        ranking: "output" (default) ranks each layer by the noise it alone adds to the model's final output
            (``evaluate.output_sensitivity``: one run per layer on ``sensitivity_frames``); "local" by the
            noise it adds to its own output tensor (``evaluate.sensitivity``: one run, but blind to how the
            noise propagates: for MobileNetV2 it missed the first depthwise conv, the most harmful layer).
        order: None or "sensitivity" returns the most sensitive layers first; "latency" uses
            ``edge.calib.latency.latency_order`` on per-layer gains profiled (batch 1) from the FP32 and the
            all-INT8 file, 50 runs each on ``threads`` (None: one) intra-op threads (for schemes run on ONNX
            Runtime's CPU kernels; needs ``measure_latency``).
        threads: ONNX Runtime intra-op threads of the gate's sessions (latency and profiles); None means
            ORT's default (all cores).
        reference: the FP32 ONNX the metric compares with (None: ``onnx_in``; QAT gates its fine-tuned file
            against the original model).
        backend: "onnxruntime" scores each step in ONNX Runtime; "tensorrt" builds the step's TensorRT engine
            and scores the engine (``edge.calib.gate_trt``; needs TensorRT and a GPU).
    Returns:
        GateReport; ``onnx_out`` holds the last model tried (the one with the most FP32 layers) either way.
    """
    recipe = Recipe.load(recipe) if not isinstance(recipe, Recipe) else recipe
    calib = calib if isinstance(calib, FrameSet) else load_frames([calib] if isinstance(calib, str) else list(calib))
    evs = eval_set if isinstance(eval_set, FrameSet) else load_frames(
        [eval_set] if isinstance(eval_set, str) else list(eval_set))
    if ranking not in RANKINGS:
        raise InputError(f"sensitivity ranking '{ranking}' must be one of {sorted(RANKINGS)}")
    rank_layers = RANKINGS[ranking]
    metric, metric_fn = resolve_metric(metric)
    metric = metric or ("top1_agreement" if recipe.output_kind == "classification" else "snr_db")
    if threshold is None:
        threshold = DEFAULT_THRESHOLD.get(metric) if metric_fn is None else getattr(metric_fn, "threshold", None)
    if threshold is None:
        raise InputError(f"the user gate metric '{metric}' has no default threshold. Fix: pass threshold=... "
                         "(edge quantize --threshold), or give the function a 'threshold' attribute")
    threshold = float(threshold)
    order = order or "sensitivity"
    if order not in ORDERS:
        raise InputError(f"gate order '{order}' must be one of {ORDERS}")
    if order == "latency" and (SCHEMES.get(scheme)["for_tensorrt"] or not measure_latency):
        raise InputError("order='latency' profiles ONNX Runtime's CPU kernels: use a CPU scheme (e.g. 'cpu-u8') "
                         "with measure_latency=True, or order='sensitivity' for TensorRT files")
    measure = _measure
    if backend == "tensorrt":
        from edge.calib.gate_trt import measure_engine as measure  # noqa: N813 - same signature as _measure
    elif backend != "onnxruntime":
        raise InputError(f"gate backend '{backend}' must be 'onnxruntime' or 'tensorrt'")
    fp_sess = ev.session(reference or onnx_in, threads=threads)
    ref = ev.run_all(fp_sess, recipe, evs, batch_size, desc="FP32 reference")
    lat_feed = recipe.preprocess_batch(evs.frames[:1])
    fp_lat = ev.latency_ms(fp_sess, lat_feed) if measure_latency else None
    candidates = [n for n, _ in quantizable_nodes(_named(onnx_in, onnx_out), quant_kw.get("op_types") or TRT_OPS)]
    budget = max(2, len(candidates) // 4) if max_fp32_layers is None else max_fp32_layers
    user = list(nodes_to_exclude or [])
    candidates = [c for c in candidates if c not in user]
    res = quantize(onnx_in, onnx_out, recipe, calib, method=method, scheme=scheme, nodes_to_exclude=user, **quant_kw)
    report = GateReport(metric, threshold, False, res, eval_frames=len(evs), reference={"latency_ms": fp_lat},
                        calib_seconds=res.calib_seconds, order=order, threads=threads)
    ranked: list[dict] | None = None
    n_excl, failed_at, passed_at = 0, -1, None
    literal = SCHEMES.get(scheme)["for_tensorrt"]
    while True:
        step = measure(onnx_out, recipe, evs, ref, lat_feed, fp_sess if fp_lat else None, batch_size, n_excl,
                        metric, literal, threads)
        outs = step.pop("_outputs", None)
        if metric_fn is not None:
            step.update(_user_score(metric_fn, metric, ref, outs, evs))
        report.steps.append(step)
        if step[metric] >= threshold:
            passed_at = n_excl
        else:
            failed_at = n_excl
        if ranked is None and passed_at is None:
            step_n = max(1, len(evs) // max(1, sensitivity_frames))  # frames spread over the whole set
            named = _named(onnx_in, onnx_out)
            ranked = rank_layers(named, onnx_out, recipe, evs.take(0, step_n * sensitivity_frames, step_n),
                                 candidates, batch_size, threads=threads)
            if not ranked:
                raise CalibrationError("the gate failed and no quantized layer could be ranked by sensitivity")
            if order == "latency":
                ranked = _latency_ranked(named, onnx_out, ranked, lat_feed, threads)
            report.ranking = ranked
        n_new = _next_count(n_excl, failed_at, passed_at, min(budget, len(ranked or [])))
        if n_new is None:
            break
        n_excl = n_new
        report.excluded = (ranked or [])[:n_excl]
        report.result = quantize(onnx_in, onnx_out, recipe, calib, method=method, scheme=scheme,
                                 nodes_to_exclude=user + [r["node"] for r in report.excluded], **quant_kw)
    report.passed = passed_at is not None
    if report.passed and n_excl != passed_at:  # the last try failed: rewrite the smallest passing model
        report.excluded = (ranked or [])[:passed_at]
        report.result = quantize(onnx_in, onnx_out, recipe, calib, method=method, scheme=scheme,
                                 nodes_to_exclude=user + [r["node"] for r in report.excluded], **quant_kw)
    if report.passed:
        report.final = next(s for s in report.steps if s["fp32_layers"] == passed_at)
    else:
        report.final = report.steps[-1]
    return report


def _next_count(last: int, failed_at: int, passed_at: int | None, limit: int) -> int | None:
    """Layers to return to higher precision next, or None to stop.

    Doubles (1, 2, 4, ...) up to ``limit`` until a count passes, then bisects between the largest failing
    and the smallest passing count, so the report ends at the fewest layers that pass (for the ranking).
    """
    if passed_at is None:
        nxt = min(limit, max(1, 2 * last))
        return nxt if nxt > last else None
    if passed_at - failed_at <= 1:
        return None
    return (failed_at + passed_at) // 2


def _latency_ranked(fp32_path: Path, int8_path: Path, ranked: list[dict], feed: dict, threads: int | None) -> list[dict]:
    """``ranked`` reordered by ``latency.latency_order`` from profiled per-layer gains (FP32 vs all-INT8)."""
    from edge.calib.latency import latency_order, measured_ns_per_element
    from edge.calib.ort_cpu import layer_gains, profile_nodes

    fp = profile_nodes(fp32_path, feed, runs=50, threads=threads or 1)
    q = profile_nodes(int8_path, feed, runs=50, threads=threads or 1, source=fp32_path)
    names = [r["node"] for r in ranked]
    return latency_order(fp32_path, ranked, layer_gains(fp, q, names),
                         measured_ns_per_element(fp32_path, q, names))


def _measure(q_path, recipe, evs, ref, lat_feed, fp_sess, batch_size, n_excl, metric, literal: bool = True,
             threads: int | None = None) -> dict:
    """Accuracy from the literal Q/DQ arithmetic for TensorRT files (what TensorRT computes), from ORT's fused
    kernels for CPU schemes (what the CPU user runs); latency interleaved with the FP32 session ``fp_sess``
    (None: latency not measured)."""
    q_sess = ev.session(q_path, threads=threads, literal_qdq=literal)
    t0 = time.perf_counter()
    outs = ev.run_all(q_sess, recipe, evs, batch_size, desc=f"INT8 ({n_excl} FP32 layers)")
    cmp = ev.compare(ref, outs, recipe, evs.labels)
    # speed with ORT's fused int8 kernels (what a CPU user gets), interleaved with FP32 runs (batch of lat_feed)
    q_lat, ref_lat = (ev.latency_ratio(fp_sess, ev.session(q_path, threads=threads, literal_qdq=False), lat_feed)
                      if fp_sess is not None else (None, None))
    return {"fp32_layers": n_excl, "top1_agreement": cmp.top1_agreement, "snr_db": cmp.snr_db[0],
            "cosine": cmp.cosine[0], "accuracy": cmp.accuracy, "accuracy_fp32": cmp.accuracy_ref, **cmp.extra,
            "latency_ms": q_lat, "latency_ratio": (q_lat / ref_lat) if ref_lat and q_lat else None,
            "eval_seconds": time.perf_counter() - t0, "_outputs": outs}


def _needs_named(onnx_in) -> bool:
    import onnx

    return any(not n.name for n in onnx.load(str(onnx_in), load_external_data=False).graph.node)


def _named(onnx_in, onnx_out) -> Path:
    """``onnx_in`` itself when every node has a name, else a named copy beside ``onnx_out`` (same names the
    quantizer gives, so ranked names can be excluded)."""
    import onnx

    from edge.calib.qdq import ensure_node_names

    if not _needs_named(onnx_in):
        return Path(onnx_in)
    m = onnx.load(str(onnx_in))
    ensure_node_names(m)
    p = Path(onnx_out).with_name(Path(onnx_out).stem + ".fp32-named.onnx")
    from edge.io import atomic_path

    with atomic_path(p, suffix=".onnx") as tmp:
        onnx.save(m, str(tmp))
    return p
