"""Q/DQ and plugin-node rules of the TensorRT compatibility check (limits from :mod:`edge.export.check.rules`).

Q/DQ follows ``QuantDequantLinearHelper`` of onnx-tensorrt's ``onnxOpImporters.cpp``: INT8/FP8/INT4 only,
zero points all zero, constant positive scales, per-channel scales only on weights (KCRS, K = output
channels). Plugin nodes follow ``FallbackPluginImporter``/``loadFields`` and ``ModelImporter.cpp``'s dispatch.
"""

from __future__ import annotations

from edge.export.check.checks import _f
from edge.export.check.graph import DEFAULT_DOMAINS, TYPE_NAMES, GraphInfo, attr
from edge.export.check.rules import table

QDQ = ("QuantizeLinear", "DequantizeLinear")
CPU_U8_FIX = "quantize for TensorRT with `edge quantize --scheme trt` (cpu-u8 files are for ONNX Runtime on a CPU)"


def check_qdq(g: GraphInfo, release: str):
    """QDQ_TYPE, QDQ_ZERO_POINT, QDQ_SCALE, QDQ_PER_CHANNEL, QDQ_FP16_SCALE."""
    q = table(release)["qdq"]
    for node in g.graph.node:
        if node.op_type not in QDQ or node.domain not in DEFAULT_DOMAINS or len(node.input) < 2:
            continue
        yield from _qdq_type(g, node, q, release)
        yield from _zero_point(g, node, q, release)
        yield from _scale(g, node, q, release)


def _qdq_type(g, node, q, release):
    is_dq = node.op_type == "DequantizeLinear"
    name = node.input[0] if is_dq else (node.input[2] if len(node.input) > 2 and node.input[2] else None)
    tn = g.type_name(name) if name else None
    if tn and tn not in q["quantized_types"]:
        where = "input" if is_dq else "zero point"
        yield _f("QDQ_TYPE", release, node, f"quantized {where} '{name}' is {tn}; TensorRT {release} quantizes to "
                 f"{', '.join(q['quantized_types'])}", CPU_U8_FIX if tn == "UINT8" else "use INT8",
                 q["types_source"])


def _zero_point(g, node, q, release):
    if len(node.input) < 3 or not node.input[2]:
        return
    zp = g.value(node.input[2])
    if zp is None:
        yield _f("QDQ_ZERO_POINT", release, node, f"zero point '{node.input[2]}' is not a constant; TensorRT "
                 "cannot verify that it is zero", "use a constant zero point of 0", q["zero_point_source"],
                 severity="warning")
    elif (zp.astype("float64") != 0).any():
        yield _f("QDQ_ZERO_POINT", release, node, f"zero point '{node.input[2]}' is not all zero (asymmetric "
                 "quantization)", CPU_U8_FIX, q["zero_point_source"])


def _scale(g, node, q, release):
    name = node.input[1]
    if g.types.get(name) == 10 and (g.opset or 0) < q["fp16_scale_min_opset"]:
        yield _f("QDQ_FP16_SCALE", release, node, f"scale '{name}' is FP16 at opset {g.opset}",
                 f"use FP32 scales, or convert the model to opset >= {q['fp16_scale_min_opset']}",
                 q["fp16_scale_source"])
    scale = g.value(name)
    if scale is None:
        yield _f("QDQ_SCALE", release, node, f"scale '{name}' is computed at run time; TensorRT cannot check "
                 "that it is positive", "use a constant scale", q["scale_source"], severity="warning")
        return
    if (scale.astype("float64") <= 0).any() or scale.size == 0:
        yield _f("QDQ_SCALE", release, node, f"scale '{name}' has values <= 0", "recalibrate (a zero range "
                 "means a constant tensor: keep that node in FP32 with --exclude)", q["scale_source"])
    if scale.size > 1:
        yield from _per_channel(g, node, scale.size, q, release)


def _per_channel(g, node, n: int, q, release):
    """Per-channel scales: only on constant weights, along the output-channel axis of the consuming op."""
    data = node.input[0]
    dims = g.dims.get(data)
    rank = len(dims) if dims is not None else None
    axis = attr(node, "axis", 1)
    axis = axis + rank if rank is not None and axis < 0 else axis
    weights = g.is_constant(data) or (node.op_type == "DequantizeLinear" and _from_weight_q(g, data))
    if not weights:
        yield _f("QDQ_PER_CHANNEL", release, node, f"{n} per-channel scales on an activation ('{data}')",
                 "quantize activations per tensor (one scale)", q["per_channel_source"])
        return
    if dims is not None and axis < len(dims) and isinstance(dims[axis], int) and dims[axis] != n:
        yield _f("QDQ_PER_CHANNEL", release, node, f"{n} scales for axis {axis} of size {dims[axis]}",
                 "one scale per output channel", q["per_channel_source"])
    want = _output_axis(g, node, rank)
    if want is not None and axis != want:
        yield _f("QDQ_PER_CHANNEL", release, node, f"per-channel axis {axis}, but the consumer's output-channel "
                 f"axis is {want}", f"quantize the weights along axis {want}", q["per_channel_source"])


def _from_weight_q(g, name: str) -> bool:
    """DQ(Q(weights)): the QuantizeLinear producing ``name`` reads a constant."""
    p = g.producers.get(name)
    return p is not None and p.op_type == "QuantizeLinear" and g.is_constant(p.input[0])


def _output_axis(g, node, rank):
    """Output-channel axis of the weight input this DQ feeds: Conv 0, ConvTranspose 1, Gemm 0/1 by transB."""
    for consumer, i in g.consumers.get(node.output[0], []):
        if i != 1:
            continue
        if consumer.op_type == "Conv":
            return 0
        if consumer.op_type == "ConvTranspose":
            return 1
        if consumer.op_type == "Gemm":
            return 0 if attr(consumer, "transB", 0) else 1
        if consumer.op_type == "MatMul" and rank:
            return rank - 1
    return None


def check_plugins(g: GraphInfo, release: str):
    """PLUGIN_DISPATCH, PLUGIN_ATTRIBUTES, PLUGIN_CONTRACT for nodes outside the default domain."""
    t = table(release)
    p = t["plugins"]
    for node in g.graph.node:
        if node.domain in DEFAULT_DOMAINS:
            continue
        if t["ops"].get(node.op_type):
            yield _f("PLUGIN_DISPATCH", release, node, f"op_type {node.op_type} in domain '{node.domain}' is a "
                     "built-in ONNX op: the parser imports it as that op, not as a plugin",
                     "give the plugin an op_type of its own", p["dispatch_source"])
            continue
        yield from _plugin_attributes(node, p, release)
        yield from _contract(node, release)


def _plugin_attributes(node, p, release):
    from onnx import AttributeProto as A

    passed = {A.FLOAT, A.INT, A.STRING, A.FLOATS, A.INTS, A.STRINGS, A.TENSOR}
    names = {a.name for a in node.attribute}
    if "plugin_version" not in names:
        yield _f("PLUGIN_ATTRIBUTES", release, node, "no plugin_version attribute (the parser looks up version "
                 "'1')", "add plugin_version (STRING)", p["string_source"], severity="warning")
    for a in node.attribute:
        if a.name in p["string_attributes"] and a.type != A.STRING:
            yield _f("PLUGIN_ATTRIBUTES", release, node, f"{a.name} is {A.AttributeType.Name(a.type)}, the parser "
                     "reads it as a STRING", f"store {a.name} as a STRING attribute", p["string_source"])
        elif a.type not in passed:
            yield _f("PLUGIN_ATTRIBUTES", release, node, f"attribute {a.name} of type "
                     f"{A.AttributeType.Name(a.type)} cannot become a plugin field",
                     "use INT/INTS/FLOAT/FLOATS/STRING(S) or a TENSOR", p["field_source"])
        elif a.type == A.TENSOR and TYPE_NAMES.get(a.t.data_type, "?") not in _tensor_names(p):
            yield _f("PLUGIN_ATTRIBUTES", release, node, f"tensor attribute {a.name} of element type "
                     f"{TYPE_NAMES.get(a.t.data_type, a.t.data_type)} is unsupported in plugin fields",
                     "store it as FLOAT/INT32/FLOAT16 data", p["field_source"])


def _tensor_names(p) -> set[str]:
    alias = {"FLOAT": "FP32", "FLOAT16": "FP16", "BFLOAT16": "BF16", "INT16": "INT16"}
    return {alias.get(x, x) for x in p["tensor_field_types"]}


def _contract(node, release):
    """Edge's own plugins: every contract attribute present with its type (plugins/<op>/README.md)."""
    from onnx import AttributeProto as A

    from edge.export.contract import DOMAIN, PLUGINS

    if node.domain != DOMAIN:
        return
    spec = PLUGINS.get(node.op_type)
    src = "edge plugin contract (edge/export/contract.py, plugins/*/README.md)"
    if spec is None:
        yield _f("PLUGIN_CONTRACT", release, node, f"{node.op_type} is not an edge plugin", "load the library "
                 "that registers it when building (edge build --plugins)", src, severity="warning")
        return
    have = {a.name: A.AttributeType.Name(a.type) for a in node.attribute}
    for name, kind in spec.all_attributes().items():
        if have.get(name) != kind:
            got = have.get(name, "missing")
            yield _f("PLUGIN_CONTRACT", release, node, f"attribute {name} is {got}, the plugin's creator reads "
                     f"{kind}", "re-export the model with edge export", src)


__all__ = ["CPU_U8_FIX", "check_plugins", "check_qdq"]
