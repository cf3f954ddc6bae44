"""Small ONNX graph rewrites applied after export.

:func:`fold_unwarp_crop`: with static H/W the dense network's final crop (a Slice of axes 2/3 starting at
0 with constant ends) follows the EdgeMultiPoolUnwarp node; the contract lets the plugin do that crop
itself (``out_h``/``out_w``), saving a copy in TensorRT. With dynamic H/W the Slice stays and the node
keeps ``out_h = out_w = 0``.
"""

from __future__ import annotations

import re

from edge._lazy import lazy_import
from edge.export.contract import DOMAIN

onnx = lazy_import("onnx", feature="ONNX export")
OP_TYPE = "EdgeMultiPoolUnwarp"


def _constants(model) -> dict:
    """name -> numpy value of every initializer and Constant node output."""
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.domain == "" and len(node.attribute) == 1:
            a = node.attribute[0]
            if a.name == "value":
                values[node.output[0]] = numpy_helper.to_array(a.t)
            elif a.name == "value_ints":
                values[node.output[0]] = list(a.ints)
    return values


def _static_hw(graph, name: str) -> tuple[int | None, int | None]:
    """Static H and W of tensor ``name`` from the graph's value_info/outputs (None when unknown)."""
    for vi in list(graph.value_info) + list(graph.output):
        if vi.name == name:
            dims = vi.type.tensor_type.shape.dim
            if len(dims) == 4:
                return tuple(d.dim_value if d.HasField("dim_value") else None for d in dims[2:])
    return None, None


def _crop_of(slice_node, consts, hw) -> tuple[int, int] | None:
    """``(out_h, out_w)`` (0 = no crop) when ``slice_node`` crops only axes 2/3 from 0 with constant ends
    and step 1 of a tensor whose cropped axes have the static sizes ``hw``; else None."""
    ins = list(slice_node.input) + [""] * (5 - len(slice_node.input))
    if any(i and i not in consts for i in ins[1:]):
        return None
    starts, ends = [int(v) for v in consts[ins[1]]], [int(v) for v in consts[ins[2]]]
    axes = [int(v) for v in consts[ins[3]]] if ins[3] else list(range(len(starts)))
    steps = [int(v) for v in consts[ins[4]]] if ins[4] else [1] * len(starts)
    crop = {2: 0, 3: 0}
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = a + 4 if a < 0 else a
        if a not in crop or s != 0 or st != 1 or e <= 0:
            return None
        size = hw[a - 2]
        if size is None:
            return None
        crop[a] = e if e < size else 0  # an end beyond the size crops nothing
    return crop[2], crop[3]


def fold_unwarp_crop(model) -> int:
    """Fold ``Slice`` crops that directly follow an EdgeMultiPoolUnwarp node into its out_h/out_w (in place).

    Only when the unwarp output feeds that Slice alone (one Slice per axis is folded in turn). Returns the
    number of folded Slices; initializers left unused are removed.
    """
    total = 0
    while True:
        n = _fold_once(model)
        if not n:
            break
        total += n
    if total:
        _drop_unused(model)
    return total


def _drop_unused(model) -> None:
    graph = model.graph
    used = {i for node in graph.node for i in node.input} | {o.name for o in graph.output}
    for t in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(t)
    for node in [n for n in graph.node if n.op_type == "Constant" and n.output[0] not in used]:
        graph.node.remove(node)


def _fold_once(model) -> int:
    consts = _constants(model)
    graph = model.graph
    users: dict[str, list] = {}
    for node in graph.node:
        for i in node.input:
            users.setdefault(i, []).append(node)
    graph_outputs = {o.name for o in graph.output}
    folded = 0
    for node in list(graph.node):
        if node.domain != DOMAIN or node.op_type != OP_TYPE:
            continue
        out = node.output[0]
        consumers = users.get(out, [])
        if out in graph_outputs or len(consumers) != 1 or consumers[0].op_type != "Slice":
            continue
        attrs = {a.name: a for a in node.attribute}
        crop = _crop_of(consumers[0], consts, _static_hw(graph, out))
        if crop is None or any(c and attrs[k].i for c, k in zip(crop, ("out_h", "out_w"))):
            continue
        for c, k in zip(crop, ("out_h", "out_w")):
            if c:
                attrs[k].i = c
        _bypass(graph, consumers[0], out)
        folded += 1
    return folded


def _bypass(graph, slice_node, new_name: str) -> None:
    """Remove ``slice_node``; its output name is taken over by ``new_name``'s producer."""
    old = slice_node.output[0]
    graph.node.remove(slice_node)
    for node in graph.node:
        for k, o in enumerate(node.output):
            if o == new_name:
                node.output[k] = old
    for vi in list(graph.value_info):
        if vi.name == new_name:
            graph.value_info.remove(vi)


def name_dynamic_dims(model) -> dict[str, str]:
    """Give the exporter's symbolic dimensions (``s77``) readable names (in place): axis 0 of an input
    ``batch``, axes 2/3 of a 4-D input ``height``/``width`` (suffixed with the input index when inputs
    disagree). Every occurrence (inputs, outputs, value_info) is renamed; returns old -> new."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for k, vi in enumerate(model.graph.input):
        dims = vi.type.tensor_type.shape.dim
        for ax, dim in enumerate(dims):
            want = (
                {0: "batch", 2: "height", 3: "width"}.get(ax)
                if len(dims) == 4
                else ("batch" if ax == 0 else None)
            )
            if not dim.dim_param or dim.dim_param in names or want is None:
                continue
            new = want if want not in taken else f"{want}{k}"
            names[dim.dim_param] = new
            taken.add(new)
    if not names:
        return names
    # symbols also occur inside expressions such as "((s53 - 1)//2) + 1"
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    values = list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info)
    for vi in values:
        for dim in vi.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = pattern.sub(lambda m: names[m.group(1)], dim.dim_param)
    return names
