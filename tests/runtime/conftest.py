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
    """Build a TensorRT engine from ``onnx_path`` with one dynamic-shape profile (real TensorRT)."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(onnx_path.read_bytes()), [parser.get_error(i) for i in range(parser.num_errors)]
    config = builder.create_builder_config()
    if hasattr(trt.BuilderFlag, "TF32"):  # Ampere+ would otherwise round FP32 convs to TF32
        config.clear_flag(trt.BuilderFlag.TF32)
    profile = builder.create_optimization_profile()
    profile.set_shape("input", min_shape, opt_shape, max_shape)
    config.add_optimization_profile(profile)
    data = builder.build_serialized_network(network, config)
    assert data is not None
    engine_path.write_bytes(bytes(data))
    return engine_path


@pytest.fixture(scope="session")
def small_engine(tmp_path_factory, small_onnx):
    return build_engine(small_onnx, tmp_path_factory.mktemp("engine") / "small.engine")
