"""Latency-aware order for the accuracy gate on ONNX Runtime CPU: which layers to return to FP32 first.

The plain gate returns layers in order of their share of the output noise. On a CPU each layer has a
latency gain too (FP32 kernel time minus INT8 kernel time, measured with ORT's profiler, often negative:
MobileNetV2's stem conv, early depthwise convs, residual Adds that FP32 fuses into the conv) and every
INT8/FP32 boundary costs a QuantizeLinear or DequantizeLinear plus a layout change (measured ~1 ns per
element on an AVX2 core; the gate measures it with ``measured_ns_per_element``). ``latency_order`` builds the INT8 set greedily by net gain per unit of noise, moving
single layers or runs of a chain (layers joined by single-consumer tensors, e.g. an inverted-residual block)
so that INT8 comes in islands worth their boundaries; the gate then returns layers to FP32 in the
reverse order, and its bisection finds how much of that INT8 set the accuracy threshold allows.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence

from edge._lazy import lazy_import
from edge.calib.ort_cpu import PASS_THROUGH

onnx = lazy_import("onnx", feature="INT8 quantization")

BOUNDARY_NS_PER_ELEMENT = 1.0  # Q or DQ + layout Transpose/Reorder, per element crossing (AVX2 core, measured)


def _graph(model_path: str | os.PathLike, candidates: Sequence[str]):
    """``tensors``: {tensor: (producer candidate or None, [consumer candidates], external consumer?, numel)}
    with tensors followed through PASS_THROUGH ops (Clip/Relu/Flatten); numel at batch 1."""
    m = onnx.shape_inference.infer_shapes(onnx.load(str(model_path), load_external_data=False))
    g, cand = m.graph, set(candidates)
    shapes = {v.name: [d.dim_value if d.dim_value > 0 else 1 for d in v.type.tensor_type.shape.dim]
              for v in list(g.value_info) + list(g.input) + list(g.output)}
    inits = {i.name for i in g.initializer}
    prod = {o: n for n in g.node for o in n.output}
    cons = collections.defaultdict(list)
    for n in g.node:
        for i in n.input:
            cons[i].append(n)
    outs = {o.name for o in g.output}

    def source(t):  # producing candidate of tensor t, through pass-through ops
        n = prod.get(t)
        while n is not None and n.op_type in PASS_THROUGH and n.name not in cand:
            n = prod.get(n.input[0])
        return n.name if n is not None and n.name in cand else None

    def readers(t, acc):  # consumer candidates of t (through pass-through ops); True if a non-candidate reads it
        ext = t in outs
        for u in cons[t]:
            if u.name in cand:
                acc.append(u.name)
            elif u.op_type in PASS_THROUGH:
                ext |= readers(u.output[0], acc)
            else:
                ext = True
        return ext

    tensors = {}
    for n in g.node:
        if n.name not in cand:
            continue
        acts = n.input[:1] if n.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul") else n.input
        for t in acts:
            if not t or t in inits or t in tensors:
                continue
            p = prod.get(t)
            while p is not None and p.op_type in PASS_THROUGH and p.name not in cand:  # the tensor leaving p
                t, p = p.input[0], prod.get(p.input[0])
            acc: list[str] = []
            ext = readers(t, acc)
            numel = 1
            for d in shapes.get(t, [0]):
                numel *= d
            tensors[t] = (source(t), sorted(set(acc)), ext, numel)
    return tensors


def boundary_ms(tensors: dict, int8: set[str], ns_per_element: float = BOUNDARY_NS_PER_ELEMENT) -> float:
    """Estimated ms of Q/DQ + layout changes at the INT8/FP32 boundaries of the INT8 set ``int8``."""
    el = 0
    for prod, readers, ext, numel in tensors.values():
        if prod in int8:
            el += numel if ext or any(r not in int8 for r in readers) else 0
        elif any(r in int8 for r in readers):
            el += numel
    return el * ns_per_element * 1e-6


def measured_ns_per_element(model_path: str | os.PathLike, int8_profile: dict, names: Sequence[str]) -> float | None:
    """Boundary cost per element from a ``profile_nodes`` result of the file with every layer in ``names`` in
    INT8: its kernels not attributable to a layer (entry Q, layout Transposes, exit DQ) over the elements crossing
    its boundaries; clipped to 0.25-4 ns. None when there is nothing to measure."""
    el = boundary_ms(_graph(model_path, names), set(names), 1.0) * 1e6
    ms = sum(int8_profile.get("other", {}).values())
    if el <= 0 or ms <= 0:
        return None
    return min(4.0, max(0.25, ms * 1e6 / el))


def chains(tensors: dict, candidates: Sequence[str]) -> list[list[str]]:
    """Runs of candidates joined by tensors with one producer candidate and exactly one reader candidate."""
    nxt = {}
    for prod, readers, ext, _ in tensors.values():
        if prod is not None and len(readers) == 1 and not ext:
            nxt[prod] = readers[0]
    heads = set(candidates) - set(nxt.values())
    runs = []
    for h in candidates:
        if h in heads:
            run = [h]
            while run[-1] in nxt and len(run) <= len(candidates):
                run.append(nxt[run[-1]])
            if len(run) > 1:
                runs.append(run)
    return runs


def latency_order(model_path: str | os.PathLike, ranking: Sequence[dict], gains: dict[str, float],
                  ns_per_element: float | None = None) -> list[dict]:
    """``ranking`` (rows with "node" and "added" output noise, from the gate's sensitivity ranking) reordered
    for a latency-aware gate: the first rows are returned to FP32 first. Each row gets ``gain_ms`` and
    ``int8_order`` (when the greedy INT8 build took it; None: it never paid for itself).

    Greedy: start with every layer in FP32; repeatedly move into INT8 the layer or chain whose net gain
    (``gains`` minus the change of ``boundary_ms``) per unit of added noise is largest, while some move has a
    positive net gain (a move is a layer or a contiguous run of a ``chains`` run); layers never moved come
    first in the result (most noisy first), then the moves in reverse.
    """
    rows = {r["node"]: dict(r) for r in ranking}
    names = list(rows)
    tensors = _graph(model_path, names)
    beta = BOUNDARY_NS_PER_ELEMENT if ns_per_element is None else ns_per_element
    moves = [[n] for n in names] + [run[i:j] for run in chains(tensors, names)
                                    for i in range(len(run)) for j in range(i + 2, len(run) + 1)]
    int8: set[str] = set()
    order: list[str] = []
    while True:
        base = boundary_ms(tensors, int8, beta)
        best, best_score = None, 0.0
        for mv in moves:
            new = [n for n in mv if n not in int8]
            if not new:
                continue
            net = sum(gains.get(n, 0.0) for n in new) - (boundary_ms(tensors, int8 | set(new), beta) - base)
            noise = sum(max(rows[n].get("added", 0.0), 1e-12) for n in new)
            if net > 0 and net / noise > best_score:
                best, best_score = new, net / noise
        if best is None:
            break
        order += best
        int8 |= set(best)
    never = sorted((n for n in names if n not in int8), key=lambda n: -rows[n].get("added", 0.0))
    for i, n in enumerate(order):
        rows[n]["int8_order"] = i
    for n in names:
        rows[n]["gain_ms"] = gains.get(n, 0.0)
        rows[n].setdefault("int8_order", None)
    return [rows[n] for n in never + order[::-1]]
