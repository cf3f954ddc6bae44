"""``edge quantize`` and ``edge build`` command lines."""

from __future__ import annotations

import json

import pytest

from edge.cli.build import profile_shapes
from edge.spec import parse_shapes
from edge.cli.main import main
from edge.errors import InputError


def test_quantize_cli_gate_report(fashion, tmp_path, capsys):
    onnx_path, _ = fashion
    out = tmp_path / "q.int8.onnx"
    rc = main(["quantize", str(onnx_path), "-r", "fashion-cnn", "--calib", "fashion-mnist:train", "--eval",
               "fashion-mnist:test", "--limit", "200", "--method", "max", "--threshold", "0.9", "-o", str(out)])
    assert rc == 0 and out.exists()
    report = json.loads((tmp_path / "q.int8.gate.json").read_text())
    assert report["passed"] and report["quantization"]["calib_frames"] == 200
    assert "accuracy gate: PASSED" in capsys.readouterr().out


def test_quantize_cli_errors(fashion, tmp_path, capsys):
    onnx_path, _ = fashion
    assert main(["quantize", str(onnx_path), "-r", "fashion-cnn"]) == 2
    assert "give calibration data with --calib" in capsys.readouterr().err
    assert main(["quantize", str(onnx_path), "-r", "no-such", "--calib", "skimage"]) == 2
    assert "unknown recipe 'no-such'" in capsys.readouterr().err
    assert main(["quantize", str(onnx_path), "-r", "fashion-cnn", "--calib", "skimage", "--order", "latency"]) == 2
    assert "use it with --scheme cpu-u8" in capsys.readouterr().err
    assert main(["quantize", str(onnx_path), "-r", "fashion-cnn", "--calib", "skimage", "--threads", "0"]) == 2
    assert "--threads must be >= 1" in capsys.readouterr().err


def test_quantize_cli_latency_order(fashion, tmp_path, capsys):
    """--order latency --threads 1 reaches the gate: its report names the order and the file passes."""
    onnx_path, _ = fashion
    out = tmp_path / "q.cpu-u8.onnx"
    rc = main(["quantize", str(onnx_path), "-r", "fashion-cnn", "--calib", "fashion-mnist:train", "--eval",
               "fashion-mnist:test", "--limit", "200", "--method", "max", "--scheme", "cpu-u8", "--threshold", "0.9",
               "--order", "latency", "--threads", "1", "-o", str(out)])
    assert rc == 0 and out.exists()
    report = json.loads((tmp_path / "q.cpu-u8.gate.json").read_text())
    assert report["passed"] and report.get("order") == "latency", {k: report[k] for k in report if k != "steps"}


def test_build_cli_without_tensorrt(fashion, capsys):
    pytest.importorskip("edge.trt")
    from edge.trt.version import unavailable_reason

    if unavailable_reason() is None:
        pytest.skip("TensorRT is present: the build itself is tested in tests/trt")
    onnx_path, _ = fashion
    assert main(["build", str(onnx_path), "--precision", "int8", "-r", "fashion-cnn"]) == 2
    assert "tensorrt" in capsys.readouterr().err.lower()


def test_trtexec_shapes():
    assert parse_shapes("input:1x3x224x224,mask:1x1x8x8") == {"input": (1, 3, 224, 224), "mask": (1, 1, 8, 8)}
    p = profile_shapes("x:1x1x16x16", "x:1x1x240x320", "x:4x1x720x1280")
    assert p == {"x": ((1, 1, 16, 16), (1, 1, 240, 320), (4, 1, 720, 1280))}
    assert profile_shapes(None, "x:1x3x8x8", None) == {"x": ((1, 3, 8, 8),) * 3}
    with pytest.raises(InputError, match="min <= opt <= max"):
        profile_shapes("x:2x1x8x8", "x:1x1x8x8", None)
    with pytest.raises(InputError, match="1x3x224x224"):
        parse_shapes("x:1xAx3")
    with pytest.raises(InputError, match="no input name"):
        profile_shapes(None, "1x3x8x8", None)  # the builder needs names
