"""PROTOCOL tests of the implicit INT8 calibrator with the strict recording double of TensorRT 10.13:
the batches handed to TensorRT have the calibration profile's kOPT shape, and an exception raised inside
``get_batch`` fails the build. Not TensorRT tests: TensorRT's calibration is not simulated beyond what
edge can see (``get_batch`` called until it returns an empty list, as the binding does); no figure.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.errors import CalibrationError
from tests.trt.protocol_double import recording_cuda, tiny_onnx, use_double
from tests.trt.test_protocol_engine import MACHINE

SHAPES = {"input": ((1, 1, 16, 16), (2, 1, 20, 20), (4, 1, 32, 32))}  # kOPT (2, 1, 20, 20) != the recipe's 28x28


def tensorrt_calibrates(builder, network, config):
    """What TensorRT does with the calibrator inside build_serialized_network, as far as edge sees it:
    get_batch(input names) until an empty list; an exception is caught, printed and read as the end of
    the data by the binding (NVIDIA/TensorRT python/src/infer/pyInt8.cpp, getBatch, release/10.3 l.52-77)."""
    cal = config.int8_calibrator
    names = [network.get_input(i).name for i in range(network.num_inputs)]
    for _ in range(100):
        try:
            ptrs = cal.get_batch(names)
        except Exception as e:  # noqa: BLE001 - as the binding: print and stop
            print(f"[ERROR] Exception caught in get_batch(): {e}")
            break
        if not ptrs:
            break
    return b"plan"


def _setup(tmp_path, monkeypatch):
    import edge.trt.manifest as M
    from edge.core import cuda as cuda_memory

    double = use_double(monkeypatch, {
        "INetworkDefinition.num_inputs": 1, "ITensor.name": "input", "ITensor.shape": (-1, 1, -1, -1),
        "Builder.build_serialized_network": tensorrt_calibrates})
    monkeypatch.setattr(M, "machine_info", lambda: dict(MACHINE))
    monkeypatch.setitem(cuda_memory.APIS, "cuda-python", recording_cuda(double))
    monkeypatch.setattr("edge.core.cuda.has_module", lambda name: name == "cuda.bindings")
    onnx_path = tiny_onnx(tmp_path / "m.onnx")  # real: the static check reads it; the double's parser is scripted
    return double, onnx_path


def _frames(n):
    from edge.core.frames import FrameSet

    rng = np.random.default_rng(0)
    return FrameSet([rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(n)])


def test_protocol_calibrator_feeds_kopt_shapes(tmp_path, monkeypatch):
    from edge.trt import BuildOptions, build_engine

    double, onnx_path = _setup(tmp_path, monkeypatch)
    opts = BuildOptions(precision="int8-implicit", shapes=dict(SHAPES))
    build_engine(onnx_path, tmp_path / "m.engine", opts, recipe="fashion-cnn", calib=_frames(5))
    uploads = [c[2][1] for c in double.calls if c[:2] == ("cuda", "htod")]
    assert uploads == [(2, 1, 20, 20), (2, 1, 20, 20)]  # 5 frames: two full kOPT batches, the rest dropped
    profile_sets = double.find("call", "IOptimizationProfile.set_shape")
    assert profile_sets[0][2]["opt"] == (2, 1, 20, 20)
    assert double.find("call", "IBuilderConfig.set_calibration_profile")


def test_protocol_calibrator_error_fails_the_build(tmp_path, monkeypatch):
    from edge.core import frames as data
    from edge.trt import BuildOptions, build_engine

    _double, onnx_path = _setup(tmp_path, monkeypatch)

    def broken(recipe, frames, batch_size=1, desc=None):
        yield recipe.preprocess_batch(frames.frames[:1])
        raise ValueError("frame 2 is unreadable")

    monkeypatch.setattr(data, "batches", broken)
    opts = BuildOptions(precision="int8-implicit", shapes=dict(SHAPES))
    with pytest.raises(CalibrationError, match="frame 2 is unreadable") as e:
        build_engine(onnx_path, tmp_path / "m.engine", opts, recipe="fashion-cnn", calib=_frames(4))
    assert isinstance(e.value.__cause__, ValueError)
    assert not (tmp_path / "m.engine").exists()


def test_fit_to_shape_resizes_and_checks():
    from edge.trt.calibrator import fit_to_shape

    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    assert fit_to_shape(list(x), (2, 1, 20, 20)).shape == (2, 1, 20, 20)
    np.testing.assert_array_equal(fit_to_shape(list(x), (3, 1, 28, 28)), x)  # already kOPT: untouched
    with pytest.raises(CalibrationError, match="channels 3"):
        fit_to_shape(list(x), (1, 3, 28, 28))
    with pytest.raises(CalibrationError, match="kOPT"):
        fit_to_shape(list(x[:1]), (2, 1, 28, 28))  # too few samples for the batch
