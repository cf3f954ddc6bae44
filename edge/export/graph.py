"""Write a decomposition once, emit it twice: as exporter translation and as ONNX function body.

A decomposition is a plain function ``body(op, *inputs, **attributes)`` that calls standard ONNX
operators on ``op`` (``op.Reshape(x, shape)``, ``op.Transpose(x, perm=[...])``, ...). Passed
onnxscript's ``opset18`` it runs inside the dynamo exporter as a traced translation (portable
export); passed a :class:`NodeRecorder` it yields the ``NodeProto`` list of an ONNX function (the
model-local functions that let ONNX Runtime execute plugin nodes, :mod:`edge.export.ort_functions`).
So the portable file and the CPU twin of the plugin compute with the very same operators.
"""

from __future__ import annotations

from edge._lazy import lazy_import

onnx = lazy_import("onnx", feature="ONNX export")


class NodeRecorder:
    """An ``op`` namespace that records NodeProtos; values are tensor names (strings).

    ``rec.Reshape("X", shape)`` appends ``Reshape(X, shape) -> <fresh name>`` and returns the name.
    Attributes are passed as keyword arguments (``perm=[...]``, ``value_ints=[...]``).
    """

    def __init__(self, prefix: str = "n"):
        self.prefix = prefix
        self.nodes: list = []
        self._count = 0

    def _fresh(self, op_type: str) -> str:
        self._count += 1
        return f"{self.prefix}_{op_type}_{self._count}"

    def __getattr__(self, op_type: str):
        if op_type.startswith("_") or not op_type[:1].isupper():
            raise AttributeError(op_type)

        def emit(*inputs, **attributes) -> str:
            out = self._fresh(op_type)
            names = ["" if i is None else i for i in inputs]
            self.nodes.append(onnx.helper.make_node(op_type, names, [out], **attributes))
            return out

        return emit

    def rename_last(self, name: str) -> None:
        """Give the last node's output the name ``name`` (a function's declared output)."""
        last = self.nodes[-1]
        old = last.output[0]
        last.output[0] = name
        for node in self.nodes[:-1]:  # no earlier node can read it, but keep the graph consistent
            for k, i in enumerate(node.input):
                if i == old:
                    node.input[k] = name


def ints(op, values) -> object:
    """A 1-D INT64 constant."""
    return op.Constant(value_ints=[int(v) for v in values])


def scalar_like(op, value: float, like) -> object:
    """A float scalar constant cast to the dtype of ``like`` (so fp16 graphs stay fp16)."""
    return op.CastLike(op.Constant(value_float=float(value)), like)
