"""ONNX Runtime CPU specifics of INT8: Q/DQ placement that ORT's CPU kernels fuse completely, and per-node
latency from ORT's profiler (what a quantized layer saves or costs on this CPU).

Why a placement pass: ORT fuses ``DQ -> Conv [-> Clip/Relu] -> Q`` into one QLinearConv (likewise Gemm/MatMul,
Add, GlobalAveragePool) only when the op's output is quantized. With Q/DQ on op *inputs* only (TensorRT's
placement), a quantized layer whose consumer was left in FP32 (the accuracy gate does that) keeps
``DQ -> Conv`` with no Q after it: ORT then runs it as an FP32 convolution whose weight is dequantized at run
time, i.e. not in its NCHWc layout (a depthwise conv measured 0.53-0.74 ms instead of 0.05-0.10 ms) and still
with the INT8 rounding of its inputs. ``seal_outputs`` gives every such layer a Q/DQ on its output (after its
activation) from the calibrated range, so it becomes a real QLinearConv and only the FP32 consumer reads DQ.
"""

from __future__ import annotations

import collections
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge._lazy import lazy_import

onnx = lazy_import("onnx", feature="INT8 quantization")
ort = lazy_import("onnxruntime", feature="INT8 quantization")

FUSED_OPS = ("Conv", "Gemm", "MatMul", "Add", "GlobalAveragePool")  # ORT has a QLinear kernel when Q/DQ'd
ACTIVATIONS = ("Clip", "Relu")  # fused into the QLinear op when the output Q's range lies inside them
PASS_THROUGH = ACTIVATIONS + ("Flatten", "Reshape")


def load_ranges(path: str | os.PathLike) -> dict[str, tuple[float, float]]:
    """``{tensor: (lowest, highest)}`` from onnxruntime's calibration cache (``calibration_cache_path``)."""
    from onnxruntime.quantization.calibrate import load_tensors_data

    data = load_tensors_data(str(path))
    return {k: (float(np.min(v.range_value[0])), float(np.max(v.range_value[1]))) for k, v in data.items()}


def _u8_params(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetric UINT8 scale/zero point covering ``[min(lo, 0), max(hi, 0)]`` (ORT's convention)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-8) / 255.0
    zp = int(np.clip(round(-lo / scale), 0, 255))
    return np.array(scale, np.float32), np.array(zp, np.uint8)


def _quantized_inputs(node, prod) -> bool:
    """True when every activation/weight input of ``node`` comes from a DequantizeLinear (bias excepted)."""
    ins = list(node.input[:2]) if node.op_type in ("Conv", "Gemm") else list(node.input)
    return bool(ins) and all(t and prod.get(t) is not None and prod[t].op_type == "DequantizeLinear" for t in ins)


def seal_outputs(model, ranges: dict[str, tuple[float, float]], skip_graph_outputs: bool = True) -> list[str]:
    """Quantize the output of every Q/DQ-fed op in ``FUSED_OPS`` whose output has no QuantizeLinear yet
    (in place on ``model``); returns the tensors sealed.

    The tensor quantized is the op's output, or its Clip/Relu's when that is the op's only consumer (so
    ORT fuses the activation). Its float readers are redirected to a DQ: the DQ of an existing Q (one made for a
    quantized consumer) or of a new Q/DQ pair. Tensors without a calibrated range, and graph outputs when
    ``skip_graph_outputs``, are left alone.
    """
    g = model.graph
    prod = {o: n for n in g.node for o in n.output}
    cons: dict[str, list] = collections.defaultdict(list)
    for n in g.node:
        for i in n.input:
            cons[i].append(n)
    outs = {o.name for o in g.output}
    sealed, new_nodes = [], []
    for n in list(g.node):
        if n.op_type not in FUSED_OPS or n.domain not in ("", "ai.onnx") or not _quantized_inputs(n, prod):
            continue
        t = n.output[0]
        if len(cons[t]) == 1 and cons[t][0].op_type in ACTIVATIONS and t not in outs:
            t = cons[t][0].output[0]
        users = cons[t]
        qs, others = [u for u in users if u.op_type == "QuantizeLinear"], [u for u in users if u.op_type != "QuantizeLinear"]
        if not others or (skip_graph_outputs and t in outs):
            continue
        dq_out = next((d.output[0] for d in cons[qs[0].output[0]] if d.op_type == "DequantizeLinear"), None) if qs else None
        if dq_out is not None:  # a Q exists for quantized consumers: float readers read its DQ as well
            _redirect(others, t, dq_out)
            sealed.append(t)
            continue
        rng = ranges.get(t) or _activated_range(ranges.get(n.output[0]), prod.get(t), g)
        if rng is None:
            continue
        pair = _qdq_pair(g, t, rng)
        _redirect(others, t, pair[1].output[0])
        new_nodes.append((t, pair))
        sealed.append(t)
    _insert_after_producers(g, new_nodes)
    return sealed


def _qdq_pair(g, t: str, rng: tuple[float, float]) -> list:
    """``[QuantizeLinear, DequantizeLinear]`` of tensor ``t`` (UINT8 over ``rng``); adds their initializers to ``g``."""
    scale, zp = _u8_params(*rng)
    base = f"{t}_ortcpu"
    g.initializer.extend([onnx.numpy_helper.from_array(scale, base + "_scale"),
                          onnx.numpy_helper.from_array(zp, base + "_zp")])
    q = onnx.helper.make_node("QuantizeLinear", [t, base + "_scale", base + "_zp"], [base + "_q"], name=base + "_Q")
    dq = onnx.helper.make_node("DequantizeLinear", [base + "_q", base + "_scale", base + "_zp"], [base + "_dq"],
                               name=base + "_DQ")
    return [q, dq]


def _activated_range(rng, act, g) -> tuple[float, float] | None:
    """The calibrated range of an op's output pushed through its Relu/Clip (tensors after an activation
    whose consumer is not quantizable are not calibrated; the op's own output is)."""
    if rng is None or act is None or act.op_type not in ACTIVATIONS:
        return None
    lo, hi = max(rng[0], 0.0), rng[1]
    if act.op_type == "Clip":
        consts = {i.name: float(onnx.numpy_helper.to_array(i)) for i in g.initializer if i.name in act.input[1:]}
        lo = max(rng[0], consts.get(act.input[1], -np.inf)) if len(act.input) > 1 and act.input[1] else rng[0]
        hi = min(hi, consts.get(act.input[2], np.inf)) if len(act.input) > 2 and act.input[2] else hi
    return lo, hi


def _redirect(nodes, old: str, new: str) -> None:
    for u in nodes:
        for k, i in enumerate(u.input):
            if i == old:
                u.input[k] = new


def _insert_after_producers(g, new_nodes) -> None:
    """Insert each (tensor, [Q, DQ]) right after the node producing the tensor (keeps topological order)."""
    order = list(g.node)
    for t, pair in new_nodes:
        idx = next(i for i, n in enumerate(order) if t in n.output)
        order[idx + 1:idx + 1] = pair
    del g.node[:]
    g.node.extend(order)


def profile_nodes(path: str | os.PathLike, feed: dict[str, np.ndarray], runs: int = 20, warmup: int = 3,
                  threads: int = 1, source: str | os.PathLike | None = None) -> dict:
    """Per-node kernel time of ``path`` in ONNX Runtime (graph optimisations as a user runs them), in ms.

    ORT's optimiser fuses and renames nodes; each profiled kernel is attributed to an original node of
    ``source`` (default ``path``) by name (``_token_N``, ``_nchwc``, ``/duplicated`` suffixes stripped; a name
    that is a tensor maps to its producer; a Clip/Relu maps to the op it activates). Returns
    ``{"nodes": {original node: ms}, "by_op": {optimised op type: ms}, "other": {kernel: ms}, "total_ms"}``
    (medians over ``runs``; "other" holds Q/DQ, layout Transposes/Reorders not attributable to a node).
    """
    from edge.runtime.onnxruntime_backend import create_session

    with tempfile.TemporaryDirectory(prefix="edge-prof-") as tmp:
        sess = create_session(path, ["CPUExecutionProvider"], threads, profile_prefix=str(Path(tmp) / "p"))
        for _ in range(warmup + runs):
            sess.run(None, feed)
        events = json.loads(Path(sess.end_profiling()).read_text())
    times: dict[str, list[float]] = collections.defaultdict(list)
    op_of: dict[str, str] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            k = e["name"][:-len("_kernel_time")]
            times[k].append(e["dur"] / 1e3)
            op_of[k] = e.get("args", {}).get("op_name", "?")
    med = {k: float(np.median(v[-runs:])) for k, v in times.items()}
    src = onnx.load(str(source or path), load_external_data=False)
    resolve = _name_resolver(src)
    weight_user = _weight_dq_resolver(src)
    nodes: dict[str, float] = collections.defaultdict(float)
    other: dict[str, float] = collections.defaultdict(float)
    by_op: dict[str, float] = collections.defaultdict(float)
    for k, ms in med.items():
        by_op[op_of[k]] += ms
        orig = resolve(k) if op_of[k] not in ("QuantizeLinear", "DequantizeLinear") else weight_user(k)
        (nodes if orig else other)[orig or k] += ms
    return {"nodes": dict(nodes), "by_op": dict(by_op), "other": dict(other), "total_ms": float(sum(med.values()))}


def _name_resolver(model):
    """Map an optimised-graph node name back to an original node name (None when it is not one)."""
    names = {n.name: n for n in model.graph.node if n.name}
    prod = {o: n for n in model.graph.node for o in n.output}

    def up(n):  # an activation is fused into the op it follows
        if n.op_type in PASS_THROUGH and n.input and n.input[0] in prod:
            return up(prod[n.input[0]])
        return n.name

    def resolve(name: str) -> str | None:
        for _ in range(4):
            if name in names:
                return up(names[name])
            if name in prod:
                return up(prod[name])
            stripped = re.sub(r"(_token_\d+|_nchwc|/duplicated)$", "", name)
            if stripped == name:
                return None
            name = stripped
        return None

    return resolve


def _weight_dq_resolver(model):
    """A weight's DequantizeLinear (named ``<weight>_DequantizeLinear`` by onnxruntime) runs at every inference
    when ORT cannot fuse it: charge it to the layer reading the weight (None for activation Q/DQ)."""
    inits = {i.name for i in model.graph.initializer}
    user = {i: n.name for n in model.graph.node for i in n.input if i in inits}

    def resolve(name: str) -> str | None:
        w = re.sub(r"_DequantizeLinear$", "", name)
        return user.get(w) if w != name else None

    return resolve


def layer_gains(fp32: dict, int8: dict, candidates: Sequence[str]) -> dict[str, float]:
    """``{node: ms saved by running it in INT8}`` from two ``profile_nodes`` results (FP32 minus INT8 time;
    negative when ORT's int8 kernel is slower, e.g. a 3-channel stem conv). Nodes missing from a profile
    count 0 ms there."""
    return {c: fp32["nodes"].get(c, 0.0) - int8["nodes"].get(c, 0.0) for c in candidates}
