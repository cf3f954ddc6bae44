"""attach_plugin_functions: plugin nodes become runnable in ONNX Runtime; detaching restores the bytes."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from edge.dense.layers import unwarp
from edge.errors import ExportError
from edge.export import attach_plugin_functions, detach_plugin_functions
from edge.export.contract import DOMAIN, plugin_attributes
from edge.export.ort_functions import is_attached


def _unwarp_model(stride_sets, ir_version=10, dtype=TensorProto.FLOAT) -> onnx.ModelProto:
    """A hand-made plugin-mode graph: a chain of EdgeMultiPoolUnwarp nodes, one per stride set."""
    nodes, prev = [], "X"
    for k, strides in enumerate(stride_sets):
        attrs = plugin_attributes(
            "EdgeMultiPoolUnwarp",
            strides_y=[s[0] for s in strides],
            strides_x=[s[1] for s in strides],
            batch=0,
            out_h=0,
            out_w=0,
        )
        nodes.append(
            helper.make_node(
                "EdgeMultiPoolUnwarp", [prev], [f"u{k}"], name=f"unwarp{k}", domain=DOMAIN, **attrs
            )
        )
        prev = f"u{k}"
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("X", dtype, ["n", 2, 3, 4])],
        [helper.make_tensor_value_info(prev, dtype, ["b", 2, "h", "w"])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(DOMAIN, 1)]
    )
    model.ir_version = ir_version
    return model


def test_attach_runs_and_detach_restores_bytes():
    m = _unwarp_model([((2, 2), (3, 1))])
    original = m.SerializeToString()
    attached = attach_plugin_functions(m)
    assert m.SerializeToString() == original  # the input model is not modified
    assert is_attached(attached) and len(attached.functions) == 1
    onnx.checker.check_model(attached, full_check=True)
    x = torch.randn(24, 2, 3, 4)
    sess = ort.InferenceSession(attached.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"X": x.numpy()})
    assert np.array_equal(got, unwarp(x, ((2, 2), (3, 1))).numpy())  # a pure gather: bit-exact
    assert detach_plugin_functions(attached).SerializeToString() == original


def test_one_function_per_attribute_set_and_old_ir_version():
    # two nodes with different strides (one and three strided layers) and an IR version below 10
    m = _unwarp_model([((2, 1),), ((1, 1), (1, 1), (1, 1))], ir_version=8)
    original = m.SerializeToString()
    attached = attach_plugin_functions(m)
    assert len(attached.functions) == 2 and attached.ir_version == 10
    assert len({n.overload for n in attached.graph.node}) == 2
    x = torch.randn(4, 2, 3, 4)
    sess = ort.InferenceSession(attached.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"X": x.numpy()})
    assert np.array_equal(got, unwarp(x, ((2, 1),)).numpy())
    assert detach_plugin_functions(attached).SerializeToString() == original
    # attaching twice does not stack functions
    assert attach_plugin_functions(attached).SerializeToString() == attached.SerializeToString()


def test_three_strided_layers_chain():
    strides = ((2, 2), (3, 2), (2, 3))
    m = _unwarp_model([strides])
    attached = attach_plugin_functions(m)
    x = torch.randn(144 * 2, 2, 3, 4)
    sess = ort.InferenceSession(attached.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"X": x.numpy()})
    assert np.array_equal(got, unwarp(x, strides).numpy())
    ranks = [
        len(helper.get_attribute_value(n.attribute[0]))
        for n in attached.functions[0].node
        if n.op_type == "Transpose"
    ]
    assert ranks and max(ranks) <= 8


def test_model_without_plugins_is_unchanged():
    m = _unwarp_model([])
    assert attach_plugin_functions(m).SerializeToString() == m.SerializeToString()


def test_unknown_plugin_op_is_an_error():
    m = _unwarp_model([((2, 2),)])
    m.graph.node[0].op_type = "EdgeSomethingElse"
    with pytest.raises(ExportError, match="EdgeSomethingElse"):
        attach_plugin_functions(m)


def test_float16_is_bit_exact():
    strides = ((2, 3), (2, 2))
    attached = attach_plugin_functions(_unwarp_model([strides], dtype=TensorProto.FLOAT16))
    x = torch.randn(48, 2, 3, 4).half()
    sess = ort.InferenceSession(attached.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"X": x.numpy()})
    assert got.dtype == np.float16 and np.array_equal(got, unwarp(x, strides).numpy())


def test_sample_interp_function_float16():
    """FP16: every constant is cast like the input; within the README FP16 tolerance (1e-2 of scale)."""
    from edge.ops.sample_interp import sample_interp_reference

    attrs = plugin_attributes(
        "EdgeSampleInterp",
        stride=[1, 1],
        padding=[1, 1],
        dilation=[1, 1],
        groups=1,
        activation=1,
        window=5,
        **{"lambda": 0.5},
    )
    node = helper.make_node("EdgeSampleInterp", ["X", "M", "W", "bias"], ["Y"], domain=DOMAIN, **attrs)
    f16 = TensorProto.FLOAT16
    ins = [
        helper.make_tensor_value_info(n, f16, [f"{n}{i}" for i in range(r)])
        for n, r in [("X", 4), ("M", 4), ("W", 4), ("bias", 1)]
    ]
    graph = helper.make_graph(
        [node], "g", ins, [helper.make_tensor_value_info("Y", f16, ["b", "c", "h", "w"])]
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(DOMAIN, 1)]
    )
    sess = ort.InferenceSession(
        attach_plugin_functions(model).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    g = torch.Generator().manual_seed(0)
    x, w, b = (
        torch.randn(1, 3, 8, 9, generator=g),
        torch.randn(4, 3, 3, 3, generator=g),
        torch.randn(4, generator=g),
    )
    mask = (torch.rand(1, 1, 8, 9, generator=g) < 0.5).float()
    feeds = {"X": x, "M": mask, "W": w, "bias": b}
    (got,) = sess.run(None, {k: v.half().numpy() for k, v in feeds.items()})
    ref = sample_interp_reference(x, mask, w, b, padding=(1, 1), activation=1, window=5, lam=0.5)
    assert got.dtype == np.float16
    assert np.abs(got.astype(np.float32) - ref.numpy()).max() <= 1e-2 * float(ref.abs().max())
