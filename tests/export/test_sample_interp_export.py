"""edge::sample_interp exported in both modes: the portable file and the plugin file (run in ONNX Runtime
through its attached function) equal the op; the plugin node carries the contract attributes."""

from __future__ import annotations

import onnx
import pytest
import torch
from export_helpers import ort_run
from torch import nn

from edge.export import to_onnx
from edge.export.contract import DOMAIN
from edge.ops import sample_interp

CONFIGS = {  # cin, cout, k, stride, padding, dilation, groups, activation, window, lam
    "relu-3x3": (3, 4, 3, (1, 1), (1, 1), (1, 1), 1, 1, 7, 4.5),
    "relu6-stride2-grouped": (4, 6, 3, (2, 2), (1, 1), (1, 1), 2, 2, 5, 0.5),
    "none-dilated-mixed": (2, 3, (3, 1), (1, 2), (2, 0), (2, 1), 1, 0, 3, 1.3),
}


class Gated(nn.Module):
    """One gated convolution: x (B, Cin, H, W), mask (B, 1, Ho, Wo) -> (B, Cout, Ho, Wo)."""

    def __init__(self, cin, cout, k, stride, padding, dilation, groups, activation, window, lam):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, dilation, groups)
        self.cfg = dict(
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            activation=activation,
            window=window,
            lam=lam,
        )

    def forward(self, x, mask):
        return sample_interp(x, mask, self.conv.weight, self.conv.bias, **self.cfg)


def _inputs(model: Gated, b=2, h=12, w=11, density=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, model.conv.in_channels, h, w, generator=g)
    with torch.no_grad():
        ho, wo = model.conv(x).shape[-2:]
    mask = (torch.rand(b, 1, ho, wo, generator=g) < density).float()
    mask[..., ::4, ::4] = 1.0  # a grid of sampled positions, so most positions have a neighbour
    return x, mask


def _err(got, ref) -> float:
    got, ref = torch.as_tensor(got), ref.detach()
    assert got.shape == ref.shape
    return float((got - ref).abs().max()) / max(1.0, float(ref.abs().max()))


@pytest.mark.parametrize("plugins", [True, False], ids=["plugins", "portable"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_export_equals_op(tmp_path, name, plugins):
    torch.manual_seed(1)
    model = Gated(*CONFIGS[name]).eval()
    x, mask = _inputs(model)
    path = to_onnx(
        model, (x, mask), tmp_path / "si.onnx", plugins=plugins, dynamic=False, input_names=["x", "mask"]
    )
    (got,) = ort_run(path, {"x": x, "mask": mask})
    with torch.no_grad():
        ref = model(x, mask)
    assert _err(got, ref) < 1e-5
    onnx_model = onnx.load(str(path))
    nodes = [n for n in onnx_model.graph.node if n.domain == DOMAIN]
    if not plugins:
        assert not nodes
        assert {"Conv", "Div"} <= {n.op_type for n in onnx_model.graph.node}
        return
    (node,) = nodes
    assert node.op_type == "EdgeSampleInterp" and list(node.input[:2]) == ["x", "mask"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    cfg = model.cfg
    assert attrs["stride"] == list(cfg["stride"]) and attrs["padding"] == list(cfg["padding"])
    assert attrs["dilation"] == list(cfg["dilation"]) and attrs["groups"] == cfg["groups"]
    assert attrs["activation"] == cfg["activation"] and attrs["window"] == cfg["window"]
    assert attrs["lambda"] == pytest.approx(cfg["lam"], rel=1e-6)
    assert (attrs["plugin_version"], attrs["plugin_namespace"]) == (b"1", b"")


def test_all_ones_mask_is_the_dense_conv(tmp_path):
    torch.manual_seed(2)
    model = Gated(*CONFIGS["relu-3x3"]).eval()
    x, mask = _inputs(model)
    mask = torch.ones_like(mask)
    path = to_onnx(model, (x, mask), tmp_path / "ones.onnx", plugins=False, dynamic=False)
    (got,) = ort_run(path, {"input0": x, "input1": mask})
    with torch.no_grad():
        dense = torch.relu(model.conv(x))
    assert _err(got, dense) < 1e-6


def test_dynamic_sizes_plugin_mode(tmp_path):
    torch.manual_seed(3)
    model = Gated(*CONFIGS["relu6-stride2-grouped"]).eval()
    x, mask = _inputs(model, b=2, h=12, w=11)
    path = to_onnx(
        model, (x, mask), tmp_path / "dyn.onnx", plugins=True, dynamic=True, input_names=["x", "mask"]
    )
    m = onnx.load(str(path))
    assert [d.dim_param for d in m.graph.input[0].type.tensor_type.shape.dim][0] == "batch"
    out_dims = [d.dim_param for d in m.graph.output[0].type.tensor_type.shape.dim]
    assert out_dims[0] == "batch" and "height" in out_dims[2] and "width" in out_dims[3]  # renamed everywhere
    for b, h, w in [(2, 12, 11), (3, 20, 17)]:
        xi, mi = _inputs(model, b, h, w, seed=b)
        (got,) = ort_run(m, {"x": xi, "mask": mi})
        with torch.no_grad():
            assert _err(got, model(xi, mi)) < 1e-5
