"""scripts/bench_plugins.py: its ONNX graphs (plugin node and decomposed form) are checked here — the
decomposed ones against the CPU reference in ONNX Runtime, the plugin ones with onnx.checker against the
registered plugin schemas — and without TensorRT it exits with status 2 and says why."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_plugins.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_plugins", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_decomposed_graphs_match_the_reference(ref_lib, bench, dtype):
    pytest.importorskip("onnxruntime")
    rows = bench.cpu_check(bench.parse_args(["--quick", "--dtype", dtype, "--densities", "0.3"]))
    assert {r["op"] for r in rows} == {"EdgeMultiPoolUnwarp", "EdgeSampleInterp"}
    tol = 1e-5 if dtype == "fp32" else 1e-2
    for r in rows:
        assert r["decomposed_vs_reference_rel_err"] <= (0 if r["op"] == "EdgeMultiPoolUnwarp" else tol), r


def test_plugin_graphs_pass_the_checker(bench):
    onnx = pytest.importorskip("onnx")
    contract = pytest.importorskip("edge.export.contract")
    contract.register_schemas()
    for model in (bench.unwarp_models(1, 3, 4, 5, [(2, 2), (3, 3), (4, 4)], np.float32)[0],
                  bench.interp_models(1, 4, 6, 9, 9, 3, 1, 1, np.float16, 7, 0.5)[0]):
        onnx.checker.check_model(model, full_check=True)


def test_without_tensorrt_exits_2_with_the_reason(ref_lib, bench, tmp_path, capsys):
    from edge._lazy import has_module

    if has_module("tensorrt"):
        pytest.skip("TensorRT is installed: the benchmark would run")
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--densities", "0.5", "--json", str(out)]) == 2
    assert "runs on a Jetson" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["tensorrt"] is None and len(data["cpu_check"]) == 2
