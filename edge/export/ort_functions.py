"""Run a plugin-mode ONNX file in ONNX Runtime on a CPU: attach model-local functions.

ONNX Runtime does not know ``trt.plugins::EdgeMultiPoolUnwarp`` / ``EdgeSampleInterp``. An ONNX model
may carry *model-local functions*: a FunctionProto with the same domain and op_type, built from standard
operators, is what ONNX Runtime executes for such a node. Because the standard-op body depends on the
attribute values (e.g. the number of strided layers), there is one function per distinct attribute set,
told apart by the function/node ``overload`` field (IR version 10).

:func:`attach_plugin_functions` returns a copy with the functions attached (in memory, at load time);
:func:`detach_plugin_functions` removes them again and restores the original bytes exactly, so the file
that TensorRT parses is the file that was checked here. Nothing is written to disk.
"""

from __future__ import annotations

import re

from edge._lazy import lazy_import
from edge.errors import ExportError
from edge.export.contract import DOMAIN, PLUGINS
from edge.export.graph import NodeRecorder
from edge.export.translations import load_all

onnx = lazy_import("onnx", feature="ONNX Runtime functions for plugin nodes")

MARKER = "edge.export.ort_functions"
OVERLOAD_PREFIX = "edge_"
OVERLOAD_IR_VERSION = 10  # FunctionProto.overload / NodeProto.overload appeared in IR version 10
_IR_RE = re.compile(r"original ir_version=(\d+)")


def _attribute_values(node) -> dict:
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else (list(v) if isinstance(v, (list, tuple)) else v)
    return out


def _default_opset(model) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    raise ExportError(
        "the model imports no standard ONNX opset (domain ''); it cannot carry plugin functions. "
        "Fix: re-export it with edge.export.to_onnx"
    )


def _build_function(op_type: str, overload: str, attrs: dict, opset: int, ir_version: int):
    spec = PLUGINS[op_type]
    rec = NodeRecorder(prefix=f"{overload}")
    out = load_all().get(op_type).function_body(rec, list(spec.inputs), attrs)
    if not rec.nodes or rec.nodes[-1].output[0] != out:
        rec.Identity(out)
    rec.rename_last(spec.outputs[0])
    fn = onnx.helper.make_function(
        DOMAIN,
        op_type,
        list(spec.inputs),
        list(spec.outputs),
        rec.nodes,
        [onnx.helper.make_opsetid("", opset)],
    )
    fn.overload = overload
    fn.doc_string = f"{MARKER}: standard-op body of {op_type} {attrs}; original ir_version={ir_version}"
    return fn


def is_attached(model) -> bool:
    return any(f.doc_string.startswith(MARKER) for f in model.functions)


def attach_plugin_functions(model):
    """Copy of ``model`` in which every plugin node (domain ``trt.plugins``) has a standard-op function.

    Args:
        model (onnx.ModelProto): a plugin-mode model (e.g. from ``to_onnx(..., plugins=True)``).

    Returns:
        onnx.ModelProto: a copy that ONNX Runtime's CPU provider can run; ``model`` is not modified. A
        model without plugin nodes (or with functions already attached) comes back as an unchanged copy.

    Raises:
        ExportError: a ``trt.plugins`` node whose op_type edge does not know (no CPU twin exists).
    """
    load_all()
    out = onnx.ModelProto()
    out.CopyFrom(model)
    if is_attached(out):
        return out
    opset = None
    overloads: dict[tuple, str] = {}
    functions = []
    for node in out.graph.node:
        if node.domain != DOMAIN:
            continue
        if node.op_type not in PLUGINS:
            raise ExportError(
                f"node '{node.name}' is a {DOMAIN}::{node.op_type} plugin node that edge has no CPU "
                f"implementation for (known: {', '.join(sorted(PLUGINS))}); ONNX Runtime cannot run it"
            )
        attrs = _attribute_values(node)
        key = (node.op_type, repr(sorted(attrs.items())))
        if key not in overloads:
            opset = opset or _default_opset(out)
            overloads[key] = f"{OVERLOAD_PREFIX}{len(overloads)}"
            functions.append(_build_function(node.op_type, overloads[key], attrs, opset, out.ir_version))
        node.overload = overloads[key]
    if functions:
        out.functions.extend(functions)
        out.ir_version = max(out.ir_version, OVERLOAD_IR_VERSION)
    return out


def detach_plugin_functions(model):
    """Inverse of :func:`attach_plugin_functions`: a copy with the attached functions removed, the node
    overloads cleared and the IR version restored (byte-identical to the model before attaching)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    ours = [f for f in out.functions if f.doc_string.startswith(MARKER)]
    if not ours:
        return out
    names = {(f.domain, f.name, f.overload) for f in ours}
    keep = [f for f in out.functions if not f.doc_string.startswith(MARKER)]
    del out.functions[:]
    out.functions.extend(keep)
    for node in out.graph.node:
        if (node.domain, node.op_type, node.overload) in names:
            node.ClearField("overload")
    found = _IR_RE.search(ours[0].doc_string)
    if found:
        out.ir_version = int(found.group(1))
    return out
