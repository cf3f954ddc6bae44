"""ONNX translations of ``edge::sample_interp`` (contract: ``plugins/sample_interp/README.md``).

- plugin mode: one ``trt.plugins::EdgeSampleInterp`` node (inputs X, M, W, bias) with the contract
  attributes; the torch argument ``lam`` becomes the attribute ``lambda``;
- portable mode (:func:`decompose`): dense Conv (+ Relu / Clip), Mul by the mask, the RBF kernel as a
  constant, Conv of the mask for ``N``, one Conv of ``F * M`` with the batch and channel axes merged
  (a depthwise conv whose channel count need not be known when the graph is built), Add 1e-5, Div,
  and ``M * F + (1 - M) * R``: the same numbers as the op, without its savings;
- ONNX Runtime function body for the plugin node: the same :func:`decompose`.
"""

from __future__ import annotations

import math

from edge.export.contract import DOMAIN, plugin_attributes
from edge.export.graph import ints, scalar_like
from edge.export.translations import Translation, translations

OP_TYPE = "EdgeSampleInterp"
EPS = 1e-5  # docs/METHODS.md §4: N = conv(M, K) + 1e-5


def rbf_values(window: int, lam: float) -> list[float]:
    """Row-major ``window x window`` RBF kernel ``exp(-lam * |d|^2)``."""
    r = window // 2
    return [math.exp(-lam * ((u - r) ** 2 + (v - r) ** 2)) for u in range(window) for v in range(window)]


def decompose(
    op,
    x,
    mask,
    weight,
    bias,
    stride,
    padding,
    dilation,
    groups: int,
    activation: int,
    window: int,
    lam: float,
):
    """X (B, Cin, H, W), M (B, 1, Ho, Wo), W (Cout, Cin/g, kh, kw), bias (Cout) -> Y (B, Cout, Ho, Wo)."""
    py, px = int(padding[0]), int(padding[1])
    f = op.Conv(
        x,
        weight,
        bias,
        strides=[int(s) for s in stride],
        pads=[py, px, py, px],
        dilations=[int(d) for d in dilation],
        group=int(groups),
    )
    if activation == 1:
        f = op.Relu(f)
    elif activation == 2:
        f = op.Clip(f, scalar_like(op, 0.0, f), scalar_like(op, 6.0, f))
    elif activation != 0:
        from edge.errors import ExportError

        raise ExportError(f"{OP_TYPE}: activation must be 0, 1 or 2, got {activation}")
    r = int(window) // 2
    kernel = op.CastLike(
        op.Reshape(
            op.Constant(value_floats=rbf_values(int(window), float(lam))), ints(op, [1, 1, window, window])
        ),
        f,
    )
    norm = op.Add(op.Conv(mask, kernel, pads=[r, r, r, r]), scalar_like(op, EPS, f))
    fm = op.Mul(f, mask)
    num = op.Conv(op.Reshape(fm, ints(op, [-1, 1, 0, 0])), kernel, pads=[r, r, r, r])  # (B*Cout, 1, Ho, Wo)
    interp = op.Div(op.Reshape(num, op.Shape(fm)), norm)
    return op.Add(fm, op.Mul(op.Sub(scalar_like(op, 1.0, f), mask), interp))


def attributes(stride, padding, dilation, groups, activation, window, lam) -> dict:
    return plugin_attributes(
        OP_TYPE,
        stride=[int(v) for v in stride],
        padding=[int(v) for v in padding],
        dilation=[int(v) for v in dilation],
        groups=int(groups),
        activation=int(activation),
        window=int(window),
        **{"lambda": float(lam)},
    )


def plugin(x, mask, weight, bias, stride, padding, dilation, groups, activation, window, lam):
    """Exporter translation, plugin mode: one EdgeSampleInterp node."""
    from onnxscript.values import Opset

    attrs = attributes(stride, padding, dilation, groups, activation, window, lam)
    return getattr(Opset(DOMAIN, 1), OP_TYPE)(x, mask, weight, bias, **attrs)


def portable(x, mask, weight, bias, stride, padding, dilation, groups, activation, window, lam):
    """Exporter translation, portable mode: standard ops only."""
    from onnxscript import opset18 as op

    return decompose(op, x, mask, weight, bias, stride, padding, dilation, groups, activation, window, lam)


def function_body(op, inputs: list, attrs: dict):
    """ONNX Runtime function body of one plugin node (README defaults for absent attributes)."""
    return decompose(
        op,
        *inputs[:4],
        attrs.get("stride", [1, 1]),
        attrs.get("padding", [0, 0]),
        attrs.get("dilation", [1, 1]),
        attrs.get("groups", 1),
        attrs.get("activation", 0),
        attrs.get("window", 7),
        attrs["lambda"],
    )


def _torch_op():
    import torch

    import edge.ops.sample_interp  # noqa: F401 - registers the op

    return torch.ops.edge.sample_interp.default


translations.register(OP_TYPE)(Translation(OP_TYPE, _torch_op, plugin, portable, function_body))
