"""Artifacts for the runtime tests: one small conv net as a torch module, an ONNX file (dynamic
batch/H/W) and, where TensorRT exists, an engine built from that ONNX file."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn


class SmallNet(nn.Module):
    """x (float32[B, 1, H, W]) -> (float32[B, 4, H-2, W-2]); conv + ReLU + 1x1 conv."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)))


@pytest.fixture(scope="session")
def small_net() -> nn.Module:
    torch.manual_seed(0)
    return SmallNet().eval()


@pytest.fixture(scope="session")
def small_onnx(tmp_path_factory, small_net):
    """The SmallNet as ONNX with input 'input' (dynamic batch, height, width) and output 'output'."""
    path = tmp_path_factory.mktemp("onnx") / "small.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(small_net, (torch.rand(1, 1, 16, 16),), str(path), input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}},
                          dynamo=False)
    return path


def build_engine(onnx_path, engine_path, min_shape=(1, 1, 8, 8), opt_shape=(1, 1, 32, 32), max_shape=(2, 1, 64, 64)):
    """Build a TensorRT engine + manifest from ``onnx_path`` with edge's builder (real TensorRT), FP32,
    one dynamic-shape profile. (TensorRT may use TF32 for FP32 convolutions on Ampere: see TRT_TOL.)"""
    from edge.trt import BuildOptions, build_engine as edge_build

    return edge_build(onnx_path, engine_path, BuildOptions(shapes={"input": (min_shape, opt_shape, max_shape)})).engine


@pytest.fixture(scope="session")
def small_engine(tmp_path_factory, small_onnx):
    return build_engine(small_onnx, tmp_path_factory.mktemp("engine") / "small.engine")
