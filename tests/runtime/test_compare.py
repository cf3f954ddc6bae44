"""compare(): error statistics, pass/fail, name alignment; `edge compare` exit codes and files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edge.cli.main import main
from edge.errors import InputError
from edge.runtime import compare, load
from edge.runtime.compare import error_stats


def test_error_stats_values():
    ref = np.array([1.0, 2.0, 0.0, -4.0])
    out = ref + np.array([0.1, 0.0, 0.0, 0.2])
    s = error_stats(out, ref, atol=0.0, rtol=0.1 + 1e-9)
    assert s["max_abs"] == pytest.approx(0.2) and s["mean_abs"] == pytest.approx(0.075, rel=1e-5)
    assert s["max_rel"] == pytest.approx(0.1, rel=1e-5)
    assert s["passed"] is True  # 0.1 <= 0.1*1 and 0.2 <= 0.1*4
    assert error_stats(out, ref, atol=0.0, rtol=0.01)["passed"] is False


def test_error_stats_nan_handling():
    ref = np.array([np.nan, 1.0])
    assert error_stats(ref.copy(), ref, 0, 0)["passed"] is True
    s = error_stats(np.array([np.nan, np.nan]), ref, 1.0, 1.0)
    assert s["passed"] is False and "NaN" in s["note"]


def test_compare_torch_vs_onnxruntime_passes(small_net, small_onnx):
    feeds = [{"x": np.random.default_rng(i).random((1, 1, 12, 14), dtype=np.float32)} for i in range(2)]
    report = compare([load(small_net), load(small_onnx)], feeds, atol=1e-5, rtol=1e-5)
    assert report.passed and len(report.rows) == 2
    assert "matched by position" in report.rows[0].note  # x/output vs input/output
    assert report.rows[0].max_abs < 1e-5 and "PASS" in report.table()
    assert set(report.outputs) == set(report.runners) and len(report.times[report.runners[1]]) == 2


def other_net(small_net):
    torch.manual_seed(123)  # different weights from small_net's
    return type(small_net)().eval()


def test_compare_detects_a_different_model(small_net, small_onnx):
    other = other_net(small_net)
    report = compare([load(small_onnx), load(other)], {"input": np.ones((1, 1, 8, 8), np.float32)})
    assert not report.passed and report.rows[0].max_abs > 1e-3 and "FAILED" in report.summary()


def test_compare_shape_mismatch_fails(small_onnx):
    crop = torch.nn.Sequential(type_(), torch.nn.Identity())
    report = compare([load(small_onnx), load(crop)], {"input": np.ones((1, 1, 8, 8), np.float32)})
    assert not report.passed and "shape" in report.rows[0].note


def type_():
    class Ident(torch.nn.Module):
        in_channels = 1

        def forward(self, x):
            return x

    return Ident()


def test_compare_needs_two_runners(small_onnx):
    with pytest.raises(InputError, match="at least two"):
        compare([load(small_onnx)], {})


def test_cli_exit_codes_and_files(tmp_path, small_net, small_onnx):
    x = torch.rand(1, 1, 10, 12)
    torch.jit.save(torch.jit.trace(small_net, x), str(tmp_path / "net.pt"))  # TorchScript: no pickle
    ins, outs, js = tmp_path / "in.npz", tmp_path / "out.npz", tmp_path / "r.json"
    rc = main(["compare", str(small_onnx), str(tmp_path / "net.pt"), "--shape", "input:1x1x10x12",
               "--iterations", "2", "--save-inputs", str(ins), "--save-outputs", str(outs), "--json", str(js),
               "--atol", "1e-5"])
    assert rc == 0
    with np.load(ins) as f:
        assert sorted(f.files) == ["0/input", "1/input"] and f["0/input"].shape == (1, 1, 10, 12)
    with np.load(outs) as f:
        assert len(f.files) == 4
    assert json.loads(js.read_text())["passed"] is True
    # a different model -> 1; replaying the saved inputs gives the same verdict
    torch.jit.save(torch.jit.trace(other_net(small_net), x), str(tmp_path / "other.pt"))
    assert main(["compare", str(small_onnx), str(tmp_path / "other.pt"), "--npz", str(ins)]) == 1
    assert main(["compare", "onnxruntime:" + str(small_onnx), "py:tests_runtime_missing:factory"]) == 2
    assert main(["compare", str(small_onnx), str(tmp_path / "missing.onnx")]) == 2


def test_cli_image_and_recipe_feeds(tmp_path, small_net, small_onnx, data_dir):
    pytest.importorskip("cv2")
    img = next((data_dir / "opencv").glob("*.jpg"), None)
    if img is None:
        pytest.skip(f"no .jpg in {data_dir / 'opencv'} (run `make data`)")
    torch.jit.save(torch.jit.script(small_net), str(tmp_path / "net.pt"))
    for extra in (["--image", str(img)], ["--image", str(img), "--recipe", "dense-basenet"],
                  ["--recipe", "dense-basenet"]):
        ins = tmp_path / "in.npz"
        rc = main(["compare", str(tmp_path / "net.pt"), str(small_onnx), "--save-inputs", str(ins), *extra])
        assert rc == 0, extra
        with np.load(ins) as f:
            (x,) = [f[k] for k in f.files]
        assert x.dtype == np.float32 and x.shape[:2] == (1, 1) and 0 <= x.min() and x.max() <= 1
        if "--image" not in extra:
            assert x.shape == (1, 1, 240, 320)  # the recipe's opt shape
