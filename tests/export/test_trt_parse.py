"""On a machine with TensorRT (a Jetson): the plugin-mode files parse with TensorRT's ONNX parser into
IPluginV3 layers of the edge plugin library, with dynamic shapes. Skipped here (no TensorRT), with the
reason printed."""

from __future__ import annotations

import pytest
import torch

from edge.dense import basenet, to_dense
from edge.errors import PluginError
from edge.export import to_onnx

pytestmark = [pytest.mark.needs_trt, pytest.mark.needs_gpu]


@pytest.fixture(scope="module")
def trt_network_from():
    import tensorrt as trt

    from edge.trt.loaders import get_logger
    from edge.trt.plugins import load

    try:
        load()
    except PluginError as e:
        pytest.skip(f"the edge TensorRT plugin library is not built here: {e}")
    logger = get_logger()

    def parse(path):
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        ok = parser.parse_from_file(str(path))
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        assert ok, errors
        kinds = [network.get_layer(i).type for i in range(network.num_layers)]
        return builder, network, kinds, trt

    return parse


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_dense_plugin_file_parses_to_one_plugin_layer(tmp_path, trt_network_from, dynamic):
    dense = to_dense(basenet(), 15)
    path = to_onnx(dense, torch.randn(1, 1, 48, 64), tmp_path / "b.onnx", plugins=True, dynamic=dynamic)
    builder, network, kinds, trt = trt_network_from(path)
    assert kinds.count(trt.LayerType.PLUGIN_V3) == 1
    if dynamic:
        assert tuple(network.get_input(0).shape) == (-1, 1, -1, -1)
        profile = builder.create_optimization_profile()
        profile.set_shape("input", (1, 1, 32, 32), (1, 1, 240, 360), (2, 1, 480, 640))
        config = builder.create_builder_config()
        config.add_optimization_profile(profile)
        assert builder.build_serialized_network(network, config) is not None
