"""What the checks need to know about an ONNX graph: inferred types and ranks, constants and their values,
producers and consumers. Built once per model and shared by the rules of every release."""

from __future__ import annotations

from functools import cached_property

from edge._lazy import lazy_import

onnx = lazy_import("onnx", feature="the TensorRT compatibility check")

DEFAULT_DOMAINS = ("", "ai.onnx")

# ONNX element type -> the type names the parser's docs use (docs/operators.md "Supported Types")
TYPE_NAMES = {
    1: "FP32", 10: "FP16", 16: "BF16", 6: "INT32", 7: "INT64", 3: "INT8", 2: "UINT8", 9: "BOOL",
    11: "DOUBLE", 4: "UINT16", 5: "INT16", 8: "STRING", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
    15: "COMPLEX128", 17: "FP8", 18: "FP8", 19: "FP8", 20: "FP8", 21: "UINT4", 22: "INT4", 23: "FP4",
}


class GraphInfo:
    """One model's main graph, with shape/type inference run once (plugin schemas registered first).

    ``types[name]``: ONNX elem type; ``dims[name]``: list of ints/str (symbolic) or None when unknown.
    """

    def __init__(self, model):
        self.model = model
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), None)
        inferred = _infer(model)
        self.types: dict[str, int] = {}
        self.dims: dict[str, list | None] = {}
        for vi in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
            self._record(vi)
        for init in model.graph.initializer:
            self.types[init.name] = init.data_type
            self.dims[init.name] = list(init.dims)

    def _record(self, vi) -> None:
        t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if t is None:
            return
        if t.elem_type:
            self.types[vi.name] = t.elem_type
        self.dims[vi.name] = ([d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                               for d in t.shape.dim] if t.HasField("shape") else None)

    @cached_property
    def initializers(self) -> dict:
        return {i.name: i for i in self.graph.initializer}

    @cached_property
    def producers(self) -> dict:
        return {o: n for n in self.graph.node for o in n.output if o}

    @cached_property
    def consumers(self) -> dict[str, list]:
        out: dict[str, list] = {}
        for n in self.graph.node:
            for i, name in enumerate(n.input):
                if name:
                    out.setdefault(name, []).append((n, i))
        return out

    @cached_property
    def graph_outputs(self) -> set[str]:
        return {o.name for o in self.graph.output}

    def is_constant(self, name: str) -> bool:
        """An initializer, a Constant node's output, or Identity/Cast of one (the parser folds those to weights)."""
        seen = set()
        while name and name not in seen:
            seen.add(name)
            if name in self.initializers:
                return True
            node = self.producers.get(name)
            if node is None:
                return False
            if node.op_type == "Constant":
                return True
            if node.op_type not in ("Identity", "Cast") or not node.input:
                return False
            name = node.input[0]
        return False

    def value(self, name: str):
        """numpy value of a constant tensor (see :meth:`is_constant`), else None."""
        from onnx import numpy_helper

        while name:
            if name in self.initializers:
                return numpy_helper.to_array(self.initializers[name])
            node = self.producers.get(name)
            if node is None:
                return None
            if node.op_type == "Constant":
                attr = next((a for a in node.attribute if a.name == "value"), None)
                return numpy_helper.to_array(attr.t) if attr is not None else None
            if node.op_type not in ("Identity", "Cast") or not node.input:
                return None
            name = node.input[0]
        return None

    def type_name(self, name: str) -> str | None:
        t = self.types.get(name)
        return TYPE_NAMES.get(t, str(t)) if t else None

    def rank(self, name: str) -> int | None:
        d = self.dims.get(name)
        return len(d) if d is not None else None


def _infer(model):
    """ONNX shape/type inference (non-strict: a node it cannot infer leaves its outputs unknown)."""
    from edge.export.contract import register_schemas

    register_schemas()
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False)
    except Exception:  # noqa: BLE001 - inference is best effort; unknown types are skipped by the rules
        return model


def attr(node, name: str, default=None):
    """The Python value of a node attribute (onnx.helper.get_attribute_value), or ``default``."""
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


__all__ = ["DEFAULT_DOMAINS", "TYPE_NAMES", "GraphInfo", "attr"]
