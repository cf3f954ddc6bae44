"""The trained descriptor: dense form equals patch-based evaluation; the exported matcher equals PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edge.dense import PatchRunner, to_dense
from edge.stereo.matcher import MatcherCore
from edge.stereo.model import PATCH, normalise, pretrained


def _image(h=37, w=53, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 1, h, w, generator=g)
    return base


def test_shipped_descriptor_has_a_pool_and_its_dense_form_uses_multipool():
    net = pretrained()
    assert any(isinstance(m, torch.nn.MaxPool2d) and m.stride == 2 for m in net)
    dense = to_dense(net, PATCH)
    assert dense.strides == ((2, 2),) and dense.batch_multiplier == 4


@pytest.mark.parametrize("unwarp", ["permute", "op"])
def test_dense_descriptor_equals_patch_based_at_every_pixel(unwarp):
    net = pretrained()
    x = normalise(_image())
    dense = to_dense(net, PATCH, unwarp=unwarp)
    with torch.no_grad():
        out = dense(x)
    ref = PatchRunner(net, PATCH, batch_size=4096)(x)
    assert out.shape == ref.shape == (1, 32, 37, 53)
    scale = ref.abs().max()
    # tolerance, not bit equality: the CPU's conv kernels sum in different orders for the two forms
    assert float((out - ref).abs().max() / scale) < 1e-5


def _pair():
    g = torch.Generator().manual_seed(3)
    left = torch.rand(1, 1, 28, 44, generator=g)
    left = torch.nn.functional.avg_pool2d(left, 3, 1, 1)  # some spatial structure
    right = torch.roll(left, -2, dims=-1)
    return left, right


@pytest.mark.parametrize("plugins", [True, False], ids=["plugin", "portable"])
def test_exported_matcher_equals_pytorch_in_onnx_runtime(plugins, small_descriptor, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx

    from edge.export import to_onnx
    from edge.runtime import load

    core = MatcherCore(to_dense(small_descriptor, PATCH), max_disp=8).eval()
    left, right = _pair()
    path = to_onnx(core, (left, right), tmp_path / "m.onnx", plugins=plugins, input_names=["left", "right"],
                   output_names=["disparity"])
    ops = {(n.domain, n.op_type) for n in onnx.load(str(path)).graph.node}
    assert (("trt.plugins", "EdgeMultiPoolUnwarp") in ops) == plugins
    assert ("", "ArgMin") in ops  # the winner in standard operators
    runner = load(str(path))
    for lt, rt in ((left, right), (torch.rand(1, 1, 21, 33), torch.rand(1, 1, 21, 33))):  # dynamic H/W
        with torch.no_grad():
            ref = core(lt, rt).numpy()
        got = runner.infer({"left": lt.numpy(), "right": rt.numpy()})["disparity"]
        assert got.shape == ref.shape
        # equal winners; subpixel offsets to float tolerance (an argmin tie could flip on another CPU: <1 %)
        assert np.mean(np.abs(got - ref) > 1e-3) < 0.01
        assert np.median(np.abs(got - ref)) < 1e-5
