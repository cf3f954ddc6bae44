"""Engine builder. Builds need TensorRT (marked needs_trt: they run on a Jetson and skip here with the
reason); option validation and workspace sizing run everywhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edge.errors import EngineError, InputError
from edge.trt import BuildOptions, EngineFromPath, build_engine, check_manifest, read_manifest
from edge.trt.loaders import workspace_bytes


def test_options_validated():
    with pytest.raises(InputError, match="precision 'int4'"):
        BuildOptions(precision="int4")
    with pytest.raises(InputError, match="optimisation level"):
        BuildOptions(optimization_level=7)
    with pytest.raises(InputError, match="workspace"):
        workspace_bytes(0)
    assert workspace_bytes(64) == 64 << 20
    assert 0 < workspace_bytes(None) <= 4 << 30


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    """A small conv net as ONNX with a dynamic batch (recipe fashion-cnn: 1x28x28)."""
    from edge.calib import zoo
    from edge.models.fashion_cnn import FashionCNN

    path = tmp_path_factory.mktemp("trt") / "tiny.onnx"
    torch.manual_seed(0)
    return zoo.export(FashionCNN(width=8).eval(), path, recipe="fashion-cnn")


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_build_and_load(tiny_onnx, tmp_path, precision):
    import tensorrt as trt

    if precision == "fp16" and not hasattr(trt.BuilderFlag, "FP16"):
        from edge.calib.fp16 import to_fp16

        onnx_path, opts = to_fp16(tiny_onnx, tmp_path / "tiny.fp16.onnx"), BuildOptions(precision="fp16")
    else:
        onnx_path, opts = tiny_onnx, BuildOptions(precision=precision)
    opts.timing_cache = str(tmp_path / "timing.cache")
    res = build_engine(onnx_path, tmp_path / f"tiny.{precision}.engine", opts, recipe="fashion-cnn")
    man = read_manifest(res.engine)
    assert man["tensorrt"] == trt.__version__ and man["precision"] == precision
    assert man["shapes"]["input"] == [[1, 1, 28, 28], [1, 1, 28, 28], [64, 1, 28, 28]]
    assert (tmp_path / "timing.cache").stat().st_size > 0
    engine = EngineFromPath(res.engine, plugins=False)()
    assert engine.num_io_tensors == 2
    assert check_manifest(res.engine)["mismatches"] == []


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
def test_build_int8_qdq(tiny_onnx, tmp_path):
    from edge.calib import quantize
    from edge.core.frames import FrameSet

    rng = np.random.default_rng(0)
    frames = FrameSet([rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(16)])
    q = quantize(tiny_onnx, tmp_path / "tiny.int8.onnx", "fashion-cnn", frames, method="max")
    res = build_engine(q.path, tmp_path / "tiny.int8.engine", BuildOptions(precision="int8"), recipe="fashion-cnn")
    man = read_manifest(res.engine)
    assert man["calib_sha256"] == frames.sha256()
    assert EngineFromPath(res.engine, plugins=False)().num_io_tensors == 2


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
def test_implicit_int8_is_10x_only(tiny_onnx, tmp_path):
    from edge.core.frames import FrameSet
    from edge.trt.version import has_implicit_int8

    rng = np.random.default_rng(0)
    frames = FrameSet([rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(8)])
    opts = BuildOptions(precision="int8-implicit", calib_cache=str(tmp_path / "calib.cache"))
    if not has_implicit_int8():
        with pytest.raises(EngineError, match="no implicit INT8|removed in TensorRT 11"):
            build_engine(tiny_onnx, tmp_path / "x.engine", opts, recipe="fashion-cnn", calib=frames)
        return
    build_engine(tiny_onnx, tmp_path / "x.engine", opts, recipe="fashion-cnn", calib=frames)
    assert (tmp_path / "calib.cache").read_bytes().startswith(b"TRT-")


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
def test_dla_with_gpu_fallback_reports_layers(tiny_onnx, tmp_path):
    import tensorrt as trt

    if trt.Builder(trt.Logger()).num_DLA_cores == 0:
        pytest.skip("this device has no DLA (Orin Nano, Thor)")
    res = build_engine(tiny_onnx, tmp_path / "dla.engine", BuildOptions(precision="fp16", dla_core=0),
                       recipe="fashion-cnn")
    assert isinstance(read_manifest(res.engine)["dla_fallback"], list)
