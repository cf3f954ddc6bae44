"""Crop folding: a static crop after EdgeMultiPoolUnwarp moves into out_h/out_w only when that is exact."""

from __future__ import annotations

import numpy as np
import onnx
import torch
from export_helpers import ort_run
from torch import nn

from edge.export import to_onnx
from edge.export.contract import DOMAIN
from edge.ops import multipool_unwarp


class CropW(nn.Module):
    def forward(self, x):
        return multipool_unwarp(x, ((2, 2),))[:, :, 0:, :5]  # the H slice is a no-op, W is cropped


class SharedOutput(nn.Module):
    def forward(self, x):
        y = multipool_unwarp(x, ((2, 2),))
        return y[:, :, :7, :], y.sum()  # the unwarp output has two users: nothing to fold


def _unwarp_attrs(model):
    (node,) = [n for n in model.graph.node if n.domain == DOMAIN]
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def test_fold_and_no_fold(tmp_path):
    x = torch.randn(8, 2, 4, 4)
    for module, want in ((CropW(), (0, 5)), (SharedOutput(), (0, 0))):
        path = to_onnx(module, x, tmp_path / "f.onnx", dynamic=False)
        model = onnx.load(str(path))
        attrs = _unwarp_attrs(model)
        assert (attrs["out_h"], attrs["out_w"]) == want
        if want != (0, 0):
            assert [n.op_type for n in model.graph.node] == ["EdgeMultiPoolUnwarp"]
        got = ort_run(model, {"input": x})
        with torch.no_grad():
            ref = module(x)
        ref = ref if isinstance(ref, tuple) else (ref,)
        for g, r in zip(got, ref):
            assert np.allclose(g, r.numpy(), atol=1e-5)
