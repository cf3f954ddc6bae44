"""``edge quantize --qat``: quantization-aware distillation from the command line, with and without the gate."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("onnxruntime")

from edge.cli.main import main


def test_quantize_qat_cli_gated(fashion, tmp_path, capsys):
    onnx_path, _ = fashion
    out = tmp_path / "q.int8.onnx"
    rc = main(["quantize", str(onnx_path), "-r", "fashion-cnn", "--calib", "fashion-mnist:train", "--eval",
               "fashion-mnist:test", "--limit", "256", "--method", "max", "--threshold", "0.9", "--qat",
               "--qat-epochs", "1", "--qat-batch-size", "64", "--qat-lr", "1e-4", "--learn-ranges", "-o", str(out)])
    assert rc == 0 and out.exists()
    report = json.loads((tmp_path / "q.int8.gate.json").read_text())
    assert report["passed"] and report["final"]["qat"] and report["final"]["fp32_layers"] == 0
    text = capsys.readouterr().out
    assert "QAT (1 process(es)): 256 frames" in text and "accuracy gate: PASSED" in text
    assert (tmp_path / "q.int8.qat-fp32.onnx").exists()


def test_quantize_qat_cli_without_eval(fashion, tmp_path, capsys):
    onnx_path, _ = fashion
    out = tmp_path / "q.cpu-u8.onnx"
    rc = main(["quantize", str(onnx_path), "-r", "fashion-cnn", "--calib", "fashion-mnist:train", "--limit", "128",
               "--method", "max", "--scheme", "cpu-u8", "--qat", "--qat-epochs", "1", "--qat-batch-size", "64",
               "-o", str(out)])
    assert rc == 0 and out.exists()
    assert "accuracy NOT gated" in capsys.readouterr().out
