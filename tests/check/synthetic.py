"""Synthetic ONNX models, one per rule of edge.export.check, each breaking exactly that rule (built with onnx.helper,
so they are not "edge" files and the coverage test of edge's own exports leaves them out)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

F = T.FLOAT


def model(nodes, inputs, outputs, inits=(), opset=18, ir=None, functions=(), extra_opsets=()):
    g = h.make_graph(list(nodes), "g", list(inputs), list(outputs), initializer=list(inits))
    ops = [h.make_opsetid("", opset), *[h.make_opsetid(d, v) for d, v in extra_opsets]]
    m = h.make_model(g, opset_imports=ops, functions=list(functions))
    m.ir_version = ir if ir is not None else h.find_min_ir_version_for(ops[:1], ignore_unknown=True)
    return m


def vi(name, elem=F, shape=(1, 3, 8, 8)):
    return h.make_tensor_value_info(name, elem, list(shape) if shape is not None else None)


def init(name, array):
    return nh.from_array(np.asarray(array), name)


def relu(opset=18, ir=None):
    """A clean model: one Relu."""
    return model([h.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("y")], opset=opset, ir=ir)


def qdq_conv(zp=0, zp_type=np.int8, scale=0.1, w_axis=0, act_scales=None, scale_dtype=np.float32, opset=18):
    """x -> Q -> DQ -> Conv(W = DQ(int8 weights, per-channel along ``w_axis``))."""
    s_act = np.asarray(act_scales if act_scales is not None else scale, dtype=scale_dtype)
    inits = [init("s", s_act), init("zp", np.full(s_act.shape, zp, dtype=zp_type)),
             init("wq", np.ones((4, 3, 3, 3), np.int8)), init("ws", np.full(4 if w_axis == 0 else 3, 0.05,
                                                                                 scale_dtype)),
             init("wzp", np.zeros(4 if w_axis == 0 else 3, np.int8))]
    nodes = [h.make_node("QuantizeLinear", ["x", "s", "zp"], ["xq"], name="q", axis=1),
             h.make_node("DequantizeLinear", ["xq", "s", "zp"], ["xd"], name="dq", axis=1),
             h.make_node("DequantizeLinear", ["wq", "ws", "wzp"], ["w"], name="dq_w", axis=w_axis),
             h.make_node("Conv", ["xd", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    return model(nodes, [vi("x")], [vi("y", shape=(1, 4, 8, 8))], inits, opset=opset)


def plugin_node(op="EdgeMultiPoolUnwarp", version_attr=None, domain="trt.plugins", **attrs):
    """x -> one plugin node; ``version_attr`` replaces the plugin_version attribute (None: a STRING "1")."""
    if op == "EdgeMultiPoolUnwarp" and not attrs:
        attrs = {"strides_y": [2], "strides_x": [2], "batch": 1, "out_h": 4, "out_w": 4, "plugin_namespace": ""}
    attrs.setdefault("plugin_version", "1" if version_attr is None else version_attr)
    node = h.make_node(op, ["x"], ["y"], name="plugin", domain=domain, **attrs)
    return model([node], [vi("x")], [vi("y", shape=None)], extra_opsets=[(domain, 1)])


def with_local_function():
    """A plugin node plus a model-local function of the same domain and name (what ORT calibration attaches)."""
    m = plugin_node()
    fn = h.make_function("trt.plugins", "EdgeMultiPoolUnwarp", ["X"], ["Y"],
                         [h.make_node("Identity", ["X"], ["Y"])], [h.make_opsetid("", 18)],
                         attributes=["strides_y", "strides_x", "batch", "out_h", "out_w", "plugin_version",
                                     "plugin_namespace"])
    m.functions.append(fn)
    return m


def scatter_nd(reduction):
    idx = init("idx", np.zeros((1, 4), np.int64))
    upd = init("upd", np.ones((1,), np.float32))
    kw = {} if reduction is None else {"reduction": reduction}
    node = h.make_node("ScatterND", ["x", "idx", "upd"], ["y"], name="scatter", **kw)
    return model([node], [vi("x")], [vi("y")], [idx, upd])


def _one(op, ins, outs, inits=(), **kw):
    return model([h.make_node(op, [i.name for i in ins] + [i.name for i in inits], [o.name for o in outs],
                              name=op.lower(), **kw)], ins, outs, inits)


# rule -> (builder, releases where it must be an error, releases where that rule must not fire as an error)
CASES = {
    "OPSET": (lambda: relu(opset=21), ["10.3"], ["10.13", "11"]),
    "IR_VERSION": (lambda: relu(opset=19, ir=8), ["10.3", "10.13", "11"], []),
    "OP_SUPPORT": (lambda: _one("Det", [vi("x", shape=(2, 3, 3))], [vi("y", shape=(2,))]), ["10.3", "10.13"], []),
    "OP_TYPES": (lambda: _one("Equal", [vi("a", T.BOOL), vi("b", T.BOOL)], [vi("y", T.BOOL)]),
                 ["10.3", "10.13", "11"], []),
    "OP_ATTRIBUTE": (lambda: scatter_nd("none"), ["10.3"], ["10.13", "11"]),
    "CONSTANT_INPUT": (lambda: _one("ReduceMean", [vi("x"), vi("axes", T.INT64, (1,))], [vi("y", shape=None)]),
                       ["10.3", "10.13", "11"], []),
    "OP_OUTPUTS": (lambda: _one("MaxPool", [vi("x")], [vi("y", shape=None), vi("idx", T.INT64, None)],
                                kernel_shape=[2, 2]), ["10.3", "10.13"], []),
    "RANK": (lambda: _one("MaxPool", [vi("x", shape=(1, 3, 8))], [vi("y", shape=None)], kernel_shape=[2]),
             ["10.3", "10.13"], []),
    "IO_TYPE": (lambda: _one("Cast", [vi("x", T.UINT16)], [vi("y")], to=F), ["10.3", "10.13"], []),
    "QDQ_TYPE": (lambda: qdq_conv(zp_type=np.uint8), ["10.3", "10.13"], []),
    "QDQ_ZERO_POINT": (lambda: qdq_conv(zp=3), ["10.3", "10.13", "11"], []),
    "QDQ_SCALE": (lambda: qdq_conv(scale=-0.1), ["10.3", "10.13"], []),
    "QDQ_PER_CHANNEL": (lambda: qdq_conv(act_scales=[0.1, 0.2, 0.3]), ["10.3", "10.13"], []),
    "QDQ_FP16_SCALE": (lambda: qdq_conv(scale_dtype=np.float16, opset=18), ["10.3", "10.13"], []),
    "PLUGIN_DISPATCH": (lambda: plugin_node(op="Relu", domain="custom.ops"), ["10.3", "10.13"], []),
    "PLUGIN_ATTRIBUTES": (lambda: plugin_node(version_attr=1), ["10.3", "10.13"], []),
    "PLUGIN_CONTRACT": (lambda: plugin_node(strides_y=[2], batch=1, plugin_namespace=""), ["10.3", "10.13"], []),
    "LOCAL_FUNCTION": (with_local_function, ["10.3"], ["10.13"]),
}


def clean_models() -> dict:
    """Models that break no rule (the per-rule cases are these, changed in one place)."""
    return {"relu": relu(), "qdq_conv": qdq_conv(), "plugin": plugin_node(), "scatter_nd_plain": scatter_nd(None)}


def save(m, path) -> str:
    onnx.save(m, str(path))
    return str(path)
