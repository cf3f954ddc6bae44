"""ONNX translations of ``edge::multipool_unwarp`` (contract: ``plugins/multipool_unwarp/README.md``).

- plugin mode: one ``trt.plugins::EdgeMultiPoolUnwarp`` node with the contract attributes;
- portable mode: standard Shape/Reshape/Transpose/Slice ops (:func:`decompose`), at most rank 8 (TensorRT's
  limit): one permute for up to two strided layers, else one rank-6 permute per layer, last layer first;
- ONNX Runtime function body for the plugin node: the same :func:`decompose`.
"""

from __future__ import annotations

import math

from edge.export.contract import DOMAIN, plugin_attributes
from edge.export.graph import ints
from edge.export.translations import Translation, translations

OP_TYPE = "EdgeMultiPoolUnwarp"
TRT_MAX_RANK = 8
PLUGIN_MAX_LAYERS = 8  # the plugin's limit on strided layers (README)
INT64_MAX = 2**63 - 1


def decompose(op, x, strides_y, strides_x, batch: int = 0, out_h: int = 0, out_w: int = 0):
    """Standard-op form of the gather: X (N, C, h, w) -> Y (B, C, out_h or h*Sy, out_w or w*Sx).

    ``batch`` is not needed by the computation (the reshape derives ``B`` with -1); it is part of the
    signature so that every attribute of the contract is accepted.
    """
    pairs = [(int(a), int(b)) for a, b in zip(strides_y, strides_x) if int(a) * int(b) > 1]
    n = len(pairs)
    if n and 2 * n + 4 <= TRT_MAX_RANK:
        digits = [d for sy, sx in reversed(pairs) for d in (sy, sx)]  # yn, xn, ..., y1, x1
        chw = op.Slice(op.Shape(x), ints(op, [1]), ints(op, [4]))
        x = op.Reshape(x, op.Concat(ints(op, digits + [-1]), chw, axis=0))
        perm = [2 * n, 2 * n + 1, 2 * n + 2, *range(0, 2 * n, 2), 2 * n + 3, *range(1, 2 * n, 2)]
        x = op.Transpose(x, perm=perm)
        grow = ints(op, [1, math.prod(a for a, _ in pairs), math.prod(b for _, b in pairs)])
        x = op.Reshape(x, op.Concat(ints(op, [-1]), op.Mul(chw, grow), axis=0))
    elif n:
        for sy, sx in reversed(pairs):  # rank-6 steps, last strided layer first
            chw = op.Slice(op.Shape(x), ints(op, [1]), ints(op, [4]))
            x = op.Reshape(x, op.Concat(ints(op, [sy, sx, -1]), chw, axis=0))
            x = op.Transpose(x, perm=[2, 3, 4, 0, 5, 1])
            x = op.Reshape(x, op.Concat(ints(op, [-1]), op.Mul(chw, ints(op, [1, sy, sx])), axis=0))
    if out_h > 0 or out_w > 0:
        ends = [out_h if out_h > 0 else INT64_MAX, out_w if out_w > 0 else INT64_MAX]
        x = op.Slice(x, ints(op, [0, 0]), ints(op, ends), ints(op, [2, 3]))
    elif not n:
        x = op.Identity(x)
    return x


def attributes(strides_y, strides_x, batch, out_h, out_w) -> dict:
    """The node attributes of the contract from the torch op's arguments."""
    return plugin_attributes(
        OP_TYPE,
        strides_y=[int(v) for v in strides_y],
        strides_x=[int(v) for v in strides_x],
        batch=int(batch),
        out_h=int(out_h),
        out_w=int(out_w),
    )


def plugin(x, strides_y, strides_x, batch, out_h, out_w):
    """Exporter translation, plugin mode: one EdgeMultiPoolUnwarp node."""
    from onnxscript.values import Opset

    if len(strides_y) > PLUGIN_MAX_LAYERS:
        from edge.errors import ExportError

        raise ExportError(
            f"{OP_TYPE} supports at most {PLUGIN_MAX_LAYERS} strided layers (see its README), the model has "
            f"{len(strides_y)}. Fix: export with plugins=False (portable)"
        )
    return getattr(Opset(DOMAIN, 1), OP_TYPE)(x, **attributes(strides_y, strides_x, batch, out_h, out_w))


def portable(x, strides_y, strides_x, batch, out_h, out_w):
    """Exporter translation, portable mode: standard ops only."""
    from onnxscript import opset18 as op

    return decompose(op, x, strides_y, strides_x, batch, out_h, out_w)


def function_body(op, inputs: list, attrs: dict):
    """ONNX Runtime function body of one plugin node: ``attrs`` are the node's attribute values."""
    return decompose(
        op,
        inputs[0],
        attrs["strides_y"],
        attrs["strides_x"],
        attrs.get("batch", 0),
        attrs.get("out_h", 0),
        attrs.get("out_w", 0),
    )


def _torch_op():
    import torch

    import edge.ops.multipool_unwarp  # noqa: F401 - registers the op

    return torch.ops.edge.multipool_unwarp.default


translations.register(OP_TYPE)(Translation(OP_TYPE, _torch_op, plugin, portable, function_body))
