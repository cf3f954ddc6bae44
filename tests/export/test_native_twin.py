"""The plugin-mode ONNX nodes, executed by ONNX Runtime through their standard-op functions, equal the
plugins' C++ CPU references (``edge.native``, the same index functions as the CUDA kernels): the file
TensorRT will parse computes what the plugin computes. Skipped when libedge_ref.so is not built."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from export_helpers import ort_run
from onnx import TensorProto, helper

from edge.errors import PluginError
from edge.export.contract import DOMAIN, plugin_attributes


@pytest.fixture(scope="module")
def native():
    import edge.native

    try:
        edge.native.ref_library()
    except PluginError as e:
        pytest.skip(f"the plugins' CPU reference library is not built ({e}); run `make plugins`")
    return edge.native


def _single_node_model(op_type, inputs, attrs, ranks):
    node = helper.make_node(op_type, [n for n, _ in inputs], ["Y"], domain=DOMAIN, **attrs)
    ins = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, [f"{n}{i}" for i in range(r)]) for n, r in inputs
    ]
    graph = helper.make_graph(
        [node], "g", ins, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ranks)]
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(DOMAIN, 1)]
    )


@pytest.mark.parametrize(
    "strides, batch, out_h, out_w",
    [(((2, 2),), 0, 0, 0), (((3, 2), (2, 4)), 2, 11, 0), (((2, 1), (1, 3), (2, 2)), 0, 5, 7)],
)
def test_unwarp_function_equals_cpp_reference(native, strides, batch, out_h, out_w):
    attrs = plugin_attributes(
        "EdgeMultiPoolUnwarp",
        strides_y=[a for a, _ in strides],
        strides_x=[b for _, b in strides],
        batch=batch,
        out_h=out_h,
        out_w=out_w,
    )
    model = _single_node_model("EdgeMultiPoolUnwarp", [("X", 4)], attrs, ["b", "c", "h", "w"])
    m = int(np.prod([a * b for a, b in strides]))
    x = torch.randn(2 * m, 3, 4, 5)
    (got,) = ort_run(model, {"X": x})
    ref = native.multipool_unwarp(x.numpy(), strides, batch, out_h, out_w)
    assert np.array_equal(got, ref)


@pytest.mark.parametrize("activation, stride, groups, window, lam", [(1, 1, 1, 7, 4.5), (2, 2, 2, 5, 0.4)])
def test_sample_interp_function_equals_cpp_reference(native, activation, stride, groups, window, lam):
    attrs = plugin_attributes(
        "EdgeSampleInterp",
        stride=[stride, stride],
        padding=[1, 1],
        dilation=[1, 1],
        groups=groups,
        activation=activation,
        window=window,
        **{"lambda": lam},
    )
    model = _single_node_model(
        "EdgeSampleInterp", [("X", 4), ("M", 4), ("W", 4), ("bias", 1)], attrs, ["b", "c", "h", "w"]
    )
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 13, 12, generator=g)
    w = torch.randn(6, 4 // groups, 3, 3, generator=g)
    b = torch.randn(6, generator=g)
    ho, wo = (13 + 2 - 3) // stride + 1, (12 + 2 - 3) // stride + 1
    mask = (torch.rand(2, 1, ho, wo, generator=g) < 0.4).float()
    (got,) = ort_run(model, {"X": x, "M": mask, "W": w, "bias": b})
    ref = native.sample_interp(
        x.numpy(),
        mask.numpy(),
        w.numpy(),
        b.numpy(),
        stride=stride,
        padding=1,
        groups=groups,
        activation=activation,
        window=window,
        lam=lam,
    )
    ref = np.asarray(ref)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1e-5 * max(1.0, np.abs(ref).max())
