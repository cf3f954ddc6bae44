"""FP32 vs quantized comparison in ONNX Runtime: task metrics, per-output SNR/cosine, per-layer sensitivity
and latency. The accuracy gate (edge.calib.gate) is built on these.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge._lazy import lazy_import
from edge.core.frames import FrameSet, batches
from edge.core.recipe import Recipe

ort = lazy_import("onnxruntime", feature="the INT8 accuracy gate")
onnx = lazy_import("onnx", feature="the INT8 accuracy gate")


def session(path: str | os.PathLike | bytes, threads: int | None = None, literal_qdq: bool | None = None):
    """The gate's CPU InferenceSession (``edge.runtime.onnxruntime_backend.create_session``).

    ``literal_qdq`` None: True for models with Q/DQ nodes, so that the gate measures the arithmetic TensorRT's
    INT8 kernels implement, not a CPU's fused int8 kernels (see ``create_session``).
    """
    from edge.export import load_onnx
    from edge.runtime.onnxruntime_backend import create_session

    model = load_onnx(path, check=False)  # a missing, truncated or corrupt file: one clear error
    if literal_qdq is None:
        literal_qdq = any(n.op_type == "QuantizeLinear" for n in model.graph.node)
    return create_session(model, ["CPUExecutionProvider"], threads, literal_qdq=literal_qdq,
                          name=str(path) if not isinstance(path, bytes) else None)


def has_vnni() -> bool:
    """True when this x86 CPU has VNNI (ORT's int8 kernels do not saturate); unknown/other CPUs: True."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    if "avx2" not in flags:
        return True  # not x86 with AVX2 (e.g. ARM): no vpmaddubsw saturation issue
    return "avx512_vnni" in flags or "avx_vnni" in flags


def run_all(sess, recipe: Recipe, frames: FrameSet, batch_size: int = 8, desc: str | None = None) -> list[np.ndarray]:
    """Outputs of ``sess`` over all frames, concatenated per output: ``[(N, ...)]``."""
    names = [o.name for o in sess.get_outputs()]
    chunks: list[list[np.ndarray]] = [[] for _ in names]
    for feed in batches(recipe, frames, batch_size, desc=desc):
        for i, out in enumerate(sess.run(names, feed)):
            chunks[i].append(out)
    return [np.concatenate(c) for c in chunks]


def snr_db(ref: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-noise ratio of ``test`` against ``ref`` in dB (inf when identical)."""
    noise = float(np.sum((ref.astype(np.float64) - test) ** 2))
    signal = float(np.sum(ref.astype(np.float64) ** 2))
    if noise == 0:
        return float("inf")
    return 10.0 * np.log10(max(signal, 1e-30) / noise)


def cosine(ref: np.ndarray, test: np.ndarray) -> float:
    """Mean cosine similarity of the per-sample flattened outputs ``(N, ...)``."""
    a = ref.reshape(len(ref), -1).astype(np.float64)
    b = test.reshape(len(test), -1).astype(np.float64)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean(np.sum(a * b, axis=1) / np.maximum(den, 1e-30)))


@dataclass
class Comparison:
    """Metrics of a candidate model against the FP32 reference on one evaluation set."""

    frames: int
    snr_db: list[float]
    cosine: list[float]
    top1_agreement: float | None = None
    accuracy_ref: float | None = None
    accuracy: float | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def compare(ref_outputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], recipe: Recipe,
            labels: np.ndarray | None = None) -> Comparison:
    """Task metrics for classification recipes (top-1 agreement, accuracy with labels) + SNR/cosine always."""
    c = Comparison(frames=len(ref_outputs[0]), snr_db=[snr_db(r, o) for r, o in zip(ref_outputs, outputs)],
                   cosine=[cosine(r, o) for r, o in zip(ref_outputs, outputs)])
    if recipe.output_kind == "classification":
        ref_top, top = ref_outputs[0].reshape(c.frames, -1).argmax(1), outputs[0].reshape(c.frames, -1).argmax(1)
        c.top1_agreement = float(np.mean(ref_top == top))
        c.extra = _agreement_detail(ref_outputs[0].reshape(c.frames, -1), top, ref_top == top)
        if labels is not None:
            c.accuracy_ref = float(np.mean(ref_top == labels))
            c.accuracy = float(np.mean(top == labels))
    return c


def _agreement_detail(ref_logits: np.ndarray, top: np.ndarray, agree: np.ndarray) -> dict:
    """How near-ties in the FP32 reference weigh on top-1 agreement ``(N, k)`` logits: top-5 agreement
    (quantized top-1 among the FP32 top-5) and agreement on the frames whose FP32 softmax margin between
    the first and second class is >= 0.1 (``confident_frames`` of them)."""
    z = ref_logits.astype(np.float64) - ref_logits.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    two = np.sort(p, 1)[:, -2:] if p.shape[1] > 1 else np.concatenate([np.zeros_like(p), p], 1)
    confident = (two[:, 1] - two[:, 0]) >= 0.1
    top5 = np.argsort(-ref_logits, 1)[:, :5]
    return {"top5_agreement": float(np.mean([t in r for t, r in zip(top, top5)])),
            "confident_frames": int(confident.sum()),
            "top1_agreement_confident": float(np.mean(agree[confident])) if confident.any() else None}


def latency_ms(sess, feed: dict[str, np.ndarray], repeats: int = 20, warmup: int = 3) -> float:
    """Median wall time of one ``sess.run`` on ``feed`` in ms (CPU; compare ratios measured in one run)."""
    for _ in range(warmup):
        sess.run(None, feed)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def latency_ratio(ref_sess, sess, feed: dict[str, np.ndarray], repeats: int = 20, warmup: int = 3) -> tuple[float, float]:
    """``(ms of sess, ms of ref_sess)``: medians of runs interleaved (ref, sess, ref, ...) so that load from other
    processes hits both alike; quote their ratio."""
    for _ in range(warmup):
        ref_sess.run(None, feed), sess.run(None, feed)
    t_ref, t = [], []
    for _ in range(repeats):
        for s, acc in ((ref_sess, t_ref), (sess, t)):
            t0 = time.perf_counter()
            s.run(None, feed)
            acc.append(time.perf_counter() - t0)
    return float(np.median(t) * 1e3), float(np.median(t_ref) * 1e3)


def _with_outputs(path: Path, tensors: Sequence[str]) -> bytes:
    """The model at ``path`` with ``tensors`` added as graph outputs (shape-free value infos)."""
    m = onnx.load(str(path))
    have = {o.name for o in m.graph.output}
    exist = {t for n in m.graph.node for t in n.output}
    for t in tensors:
        if t not in have and t in exist:
            m.graph.output.append(onnx.helper.make_empty_tensor_value_info(t))
    return m.SerializeToString()


def sensitivity(fp32_path: str | os.PathLike, q_path: str | os.PathLike, recipe: Recipe, frames: FrameSet,
                candidates: Sequence[str], batch_size: int = 8, threads: int | None = None) -> list[dict]:
    """Rank quantized nodes by the quantization noise each one adds, worst first.

    Both models expose every candidate node's inputs and outputs (tensor names survive QDQ quantization:
    the float tensors keep their names, Q/DQ pairs hang off them). A node's added noise is
    ``NSR(output) - max NSR(float inputs)`` (noise-to-signal power ratios against FP32): what leaving
    that node in FP32 would remove. Returns ``[{"node", "op", "nsr_in", "nsr_out", "added"}]``.
    """
    model = onnx.load(str(fp32_path), load_external_data=False)
    init = {i.name for i in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.name in set(candidates)]
    tensors = sorted({t for n in nodes for t in list(n.input) + list(n.output) if t and t not in init})
    fp_sess = session(_with_outputs(Path(fp32_path), tensors), threads)
    q_sess = session(_with_outputs(Path(q_path), tensors), threads)
    q_names = {o.name for o in q_sess.get_outputs()}
    tensors = [t for t in tensors if t in q_names and t in {o.name for o in fp_sess.get_outputs()}]
    nsr: dict[str, list[float]] = {t: [0.0, 0.0] for t in tensors}  # noise, signal
    for feed in batches(recipe, frames, batch_size, desc="sensitivity"):
        ref = dict(zip(tensors, fp_sess.run(tensors, feed)))
        got = dict(zip(tensors, q_sess.run(tensors, feed)))
        for t in tensors:
            nsr[t][0] += float(np.sum((ref[t].astype(np.float64) - got[t]) ** 2))
            nsr[t][1] += float(np.sum(ref[t].astype(np.float64) ** 2))
    ratio = {t: n / max(s, 1e-30) for t, (n, s) in nsr.items()}
    rows = []
    for n in nodes:
        ins = [ratio[t] for t in n.input if t in ratio]
        outs = [ratio[t] for t in n.output if t in ratio]
        if not outs:
            continue
        nsr_in = max(ins, default=0.0)
        rows.append({"node": n.name, "op": n.op_type, "nsr_in": nsr_in, "nsr_out": max(outs),
                     "added": max(outs) - nsr_in})
    return sorted(rows, key=lambda r: -r["added"])


def bypass_qdq(qmodel, fp32_model, nodes: Sequence[str]):
    """A copy of the Q/DQ ``qmodel`` in which ``nodes`` read FP32 inputs: activations from before their
    QuantizeLinear, weights from ``fp32_model``'s initializers (onnxruntime names a weight's DQ output
    ``<weight>_DequantizeLinear_Output``). Q/DQ nodes left unused are pruned. Equivalent to quantizing with
    ``nodes_to_exclude=nodes`` and the same ranges, without re-quantizing: used to measure sensitivity."""
    m = onnx.ModelProto()
    m.CopyFrom(qmodel)
    g, suffix = m.graph, "_DequantizeLinear_Output"
    prod = {o: n for n in g.node for o in n.output}
    q_init = {i.name for i in g.initializer}
    f_init = {i.name: i for i in fp32_model.graph.initializer}
    targets = set(nodes)
    for n in (n for n in g.node if n.name in targets):
        for k, t in enumerate(n.input):
            dq = prod.get(t)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = prod.get(dq.input[0])
            if q is not None and q.op_type == "QuantizeLinear":
                n.input[k] = q.input[0]
            elif dq.input[0] in q_init and t.endswith(suffix) and t[:-len(suffix)] in f_init:
                w = t[:-len(suffix)]
                if w not in q_init:
                    g.initializer.append(f_init[w])
                    q_init.add(w)
                n.input[k] = w
    _prune_qdq(g)
    return m


def _prune_qdq(g) -> None:
    """Remove Q/DQ nodes whose outputs nobody reads, then unread initializers."""
    outs = {o.name for o in g.output}
    while True:
        used = {i for n in g.node for i in n.input} | outs
        dead = [n for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") and not set(n.output) & used]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


def output_sensitivity(fp32_path: str | os.PathLike, q_path: str | os.PathLike, recipe: Recipe, frames: FrameSet,
                       candidates: Sequence[str], batch_size: int = 8, threads: int | None = None) -> list[dict]:
    """Rank quantized nodes by their effect on the FINAL output, worst first.

    For each candidate, the model with only that node quantized (every other node bypassed, see
    ``bypass_qdq``) is run on ``frames``; its noise-to-signal power ratio on the first output against FP32
    is the node's share of the output noise. Quantization noise of different layers adds up almost exactly
    (MobileNetV2: the sum predicted 14.7 dB output SNR, measured 14.6 dB), so leaving the top-k nodes in FP32
    removes their summed share. Returns ``[{"node", "op", "added" (output NSR), "snr_db", "top1_agreement"}]``.
    """
    fp_model, q_model = onnx.load(str(fp32_path)), onnx.load(str(q_path))
    ops = {n.name: n.op_type for n in fp_model.graph.node}
    names = [c for c in candidates if c in ops]
    ref = run_all(session(fp32_path, threads), recipe, frames, batch_size)[0].astype(np.float64)
    signal = max(float(np.sum(ref ** 2)), 1e-30)
    rows = []
    for name in names:
        only = bypass_qdq(q_model, fp_model, [c for c in names if c != name])
        out = run_all(session(only.SerializeToString(), threads, literal_qdq=True), recipe, frames, batch_size,
                      desc=f"sensitivity {name}")[0]
        nsr = float(np.sum((ref - out) ** 2)) / signal
        agree = float(np.mean(ref.reshape(len(ref), -1).argmax(1) == out.reshape(len(out), -1).argmax(1)))
        rows.append({"node": name, "op": ops[name], "added": nsr,
                     "snr_db": 10 * np.log10(1 / nsr) if nsr > 0 else float("inf"), "top1_agreement": agree})
    return sorted(rows, key=lambda r: -r["added"])
