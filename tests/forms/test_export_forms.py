"""Every converted model exports to ONNX (plugin and portable mode) and matches PyTorch in ONNX Runtime."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edge.forms import SampleInterpBlock, to_csp, to_sample_interp, to_spconv
from edge.models import BasicBlock, ResNet

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _tiny():
    torch.manual_seed(0)
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5, in_chans=1, widths=(4, 8, 8, 8), small_stem=True).eval()


def _sample_interp():
    m = to_sample_interp(_tiny()).eval()
    for b in m.modules():
        if isinstance(b, SampleInterpBlock):
            for h in (b.mask1, b.mask2):
                h.conv.weight.data.normal_(0, 0.3)
                h.conv.bias.data.zero_()
    return m


FORMS = {"spconv": lambda: to_spconv(_tiny()).eval(), "csp": lambda: to_csp(_tiny()).eval(),
         "sample_interp": _sample_interp}


# plugin mode differs from portable mode only where a custom op is involved (sample-interp)
@pytest.mark.parametrize("form,plugins", [("spconv", False), ("csp", False), ("sample_interp", True),
                                          ("sample_interp", False)])
def test_export_matches_onnxruntime(form, plugins, tmp_path):
    from edge.export import attach_plugin_functions, to_onnx

    model = FORMS[form]()
    x = torch.randn(2, 1, 20, 20)
    path = to_onnx(model, x, tmp_path / f"{form}.onnx", plugins=plugins, dynamic=False)
    proto = onnx.load(str(path))
    ops = {n.op_type for n in proto.graph.node}
    if form == "sample_interp":
        assert ("EdgeSampleInterp" in ops) == plugins
        proto = attach_plugin_functions(proto) if plugins else proto
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        ref = model(x).numpy()
    assert abs(y - ref).max() <= 1e-4 * max(1.0, abs(ref).max())
    assert isinstance(model, nn.Module)
