"""The gate's user metric hook (generic: nothing stereo-specific in edge.calib.gate)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.calib.gate import quantize_with_gate, resolve_metric
from edge.errors import InputError

calls: list = []


def recording_metric(ref, outs, frames):
    """Records its arguments; passes (value 1 >= threshold 0)."""
    calls.append((ref, outs, frames))
    return {"value": 1.0, "seen_frames": len(frames)}


recording_metric.threshold = 0.0


def failing_metric(ref, outs, frames):
    return -1.0


def test_user_metric_is_called_with_fp32_and_quantized_outputs(descriptor_onnx, frames, tmp_path):
    calls.clear()
    rep = quantize_with_gate(descriptor_onnx, tmp_path / "q.onnx", "stereo-descriptor", frames, frames,
                             metric=recording_metric, measure_latency=False, method="max")
    assert rep.passed and rep.metric == "recording_metric" and rep.threshold == 0.0
    assert len(calls) == len(rep.steps) == 1 and rep.steps[0]["recording_metric"] == 1.0
    assert rep.steps[0]["seen_frames"] == 4 and "_outputs" not in rep.steps[0]
    ref, outs, fs = calls[0]
    assert fs is frames or len(fs) == 4
    assert ref[0].shape == outs[0].shape == (4, 8, 24, 32)
    assert not np.array_equal(ref[0], outs[0])  # the quantized model's outputs, not the reference again


def test_failing_user_metric_returns_layers_to_higher_precision(descriptor_onnx, frames, tmp_path):
    rep = quantize_with_gate(descriptor_onnx, tmp_path / "f.onnx", "stereo-descriptor", frames, frames,
                             metric=f"{__name__}:failing_metric", threshold=0.0, max_fp32_layers=2,
                             measure_latency=False, method="max")
    assert not rep.passed
    assert [s["fp32_layers"] for s in rep.steps] == [0, 1, 2]
    assert len(rep.excluded) == 2 and all(s["failing_metric"] == -1.0 for s in rep.steps)


def test_metric_specs_and_their_errors():
    assert resolve_metric("snr_db") == ("snr_db", None) and resolve_metric(None) == (None, None)
    name, fn = resolve_metric("edge.stereo.gate_metric:bad2_margin")
    assert name == "bad2_margin" and fn.threshold == -0.5
    with pytest.raises(InputError, match="must be one of"):
        resolve_metric("accuracy_typo")
    with pytest.raises(InputError, match="cannot load the gate metric"):
        resolve_metric("no_such_module_xyz:fn")
    with pytest.raises(InputError, match="not callable"):
        resolve_metric("edge.stereo.model:PATCH")


def test_user_metric_without_threshold_is_refused(descriptor_onnx, frames, tmp_path):
    with pytest.raises(InputError, match="no default threshold"):
        quantize_with_gate(descriptor_onnx, tmp_path / "t.onnx", "stereo-descriptor", frames, frames,
                           metric=failing_metric, measure_latency=False)


def test_edge_quantize_passes_metric_to_the_gate(descriptor_onnx, tmp_path, capsys):
    """--metric module:function reaches the gate: the stereo metric refuses frames of no known scene."""
    import cv2

    from edge.cli.main import main

    rng = np.random.default_rng(1)
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    rc = main(["quantize", str(descriptor_onnx), "-r", "stereo-descriptor", "--calib", str(tmp_path),
               "--eval", str(tmp_path / "0.png"), "--eval", str(tmp_path / "1.png"), "--method", "max",
               "--metric", "edge.stereo.gate_metric:bad2_margin", "-o", str(tmp_path / "q.onnx")])
    err = capsys.readouterr().err
    assert rc == 2 and "not the left view of a scene with known ground truth" in err
