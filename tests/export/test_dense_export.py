"""Dense nets exported in both modes: ONNX Runtime == PyTorch dense == brute force; node attributes;
dynamic batch and H/W (one export, several sizes)."""

from __future__ import annotations

import onnx
import pytest
import torch
from export_helpers import SEEDS, ort_run, random_patch_net

from edge.dense import PatchRunner
from edge.export.contract import DOMAIN

TOL = 1e-4


def _close(a, b, tol=TOL) -> float:
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    assert a.shape == b.shape
    err = float((a - b).abs().max()) / max(1.0, float(b.abs().max()))
    assert err <= tol, err
    return err


def test_generator_coverage():
    """The chosen seeds really cover what the issue asks for."""
    infos = [random_patch_net(s)[2] for s in SEEDS]
    kinds = set().union(*(i["kinds"] for i in infos))
    assert {"MaxPool2d", "AvgPool2d", "strided conv", "Linear head"} <= kinds
    assert {2, 3, 4} <= set().union(*(i["values"] for i in infos))
    assert any(i["mixed"] for i in infos)
    assert any(len(i["strides"]) > 2 for i in infos)  # rank-8 limit: chained permutes in portable mode
    assert any("Linear head" not in i["kinds"] for i in infos)


@pytest.mark.parametrize("plugins", [True, False], ids=["plugins", "portable"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_dense_net_static(exports, seed, plugins):
    net, patch, dense, x, path = exports.dense(seed, plugins, dynamic=False)
    (got,) = ort_run(path, {"input": x})
    with torch.no_grad():
        _close(got, dense(x))
        _close(got, PatchRunner(net, patch)(x))
    model = onnx.load(str(path))
    plugin_nodes = [n for n in model.graph.node if n.domain == DOMAIN]
    if plugins:
        assert [n.op_type for n in plugin_nodes] == ["EdgeMultiPoolUnwarp"]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in plugin_nodes[0].attribute}
        assert attrs["strides_y"] == [s[0] for s in dense.strides]
        assert attrs["strides_x"] == [s[1] for s in dense.strides]
        assert (attrs["batch"], attrs["out_h"], attrs["out_w"]) == (
            0,
            x.shape[2],
            x.shape[3],
        )  # crop folded in
        assert (attrs["plugin_version"], attrs["plugin_namespace"]) == (b"1", b"")
        assert plugin_nodes[0].output[0] == model.graph.output[0].name
    else:
        assert not plugin_nodes and {n.domain for n in model.graph.node} <= {""}
        assert (
            max(
                len(onnx.helper.get_attribute_value(n.attribute[0]))
                for n in model.graph.node
                if n.op_type == "Transpose"
            )
            <= 8
        )  # TensorRT's maximum rank
    props = {p.key: p.value for p in model.metadata_props}
    assert props["mode"] == ("plugins" if plugins else "portable")
    assert props["form"] == "dense" and props["opset"] == "18" and props["edge_version"]


@pytest.mark.parametrize("plugins, seed", [(True, 7), (False, 9)], ids=["plugins", "portable"])
def test_dynamic_batch_and_size(exports, plugins, seed):
    net, patch, dense, x, path = exports.dense(seed, plugins, dynamic=True, size=(1, 13, 15))
    model = onnx.load(str(path))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", dense.in_channels, "height", "width"]
    for b, h, w in [(1, 13, 15), (3, 20, 9), (2, 31, 26)]:
        xi = torch.randn(b, dense.in_channels, h, w)
        (got,) = ort_run(model, {"input": xi})
        with torch.no_grad():
            _close(got, dense(xi))
        if b == 3:
            with torch.no_grad():
                _close(got, PatchRunner(net, patch)(xi))
    if plugins:
        (node,) = [n for n in model.graph.node if n.domain == DOMAIN]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["out_h"] == attrs["out_w"] == 0  # dynamic H/W: the crop stays a Slice


def test_reference_basenet_both_modes(tmp_path):
    from edge.dense import basenet, to_dense
    from edge.export import to_onnx

    dense = to_dense(basenet(), 15, unwarp="op")  # portable mode then decomposes the custom op
    x = torch.randn(1, 1, 24, 31)
    outs = []
    for plugins in (True, False):
        path = to_onnx(dense, x, tmp_path / f"b{plugins}.onnx", plugins=plugins, dynamic=False)
        outs.append(ort_run(path, {"input": x})[0])
    with torch.no_grad():
        ref = dense(x)
    _close(outs[0], ref)
    _close(outs[1], ref)
    assert torch.equal(torch.as_tensor(outs[0]), torch.as_tensor(outs[1]))  # both modes: the same gather


def test_simplify_keeps_plugin_node(tmp_path):
    from edge.dense import to_dense
    from edge.export import to_onnx

    net, patch, _ = random_patch_net(SEEDS[1])
    dense = to_dense(net, patch)
    x = torch.randn(1, dense.in_channels, 10, 12)
    path = to_onnx(dense, x, tmp_path / "slim.onnx", plugins=True, dynamic=False, simplify=True)
    model = onnx.load(str(path))
    assert [n.op_type for n in model.graph.node if n.domain == DOMAIN] == ["EdgeMultiPoolUnwarp"]
    (got,) = ort_run(model, {"input": x})
    with torch.no_grad():
        _close(got, dense(x))
