"""The "export" demo step and scripts/bench_runtime.py on a small image: the real image through
PyTorch, the portable file and the plugin file (one static export per mode, a few seconds each)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("edge.export", reason="edge.export is not importable")

from edge.runtime import load  # noqa: E402
from edge.demo.export import compare_exported, export_both  # noqa: E402
from edge.runtime.onnxruntime_backend import has_plugin_nodes, load_model_proto  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_both("basenet", tmp_path_factory.mktemp("export"), 24, 36)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_runtime", REPO / "scripts" / "bench_runtime.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_exported_files(exported):
    _, x, paths = exported
    assert x.shape == (1, 1, 24, 36) and 0 <= x.min() and x.max() <= 1
    assert [p.name for p in paths.values()] == ["basenet.24x36.onnx", "basenet.24x36.plugins.onnx"]
    assert has_plugin_nodes(load_model_proto(paths["plugins"])) and not has_plugin_nodes(load_model_proto(paths["portable"]))


def test_plugin_file_runs_unchanged(exported):
    _, x, paths = exported
    before = paths["plugins"].read_bytes()
    with load(paths["plugins"]) as r:
        assert r.plugin_mode
        r.infer({r.inputs[0].name: x})
    assert paths["plugins"].read_bytes() == before


def test_demo_rows_pass(exported):
    lines = []
    rows = compare_exported("basenet", *exported, echo=lines.append)
    assert [r["backend"] for r in rows][:2] == ["onnxruntime:portable", "onnxruntime:plugins"]
    assert all(r["result"] == "PASS" and r["max_abs"] <= 1e-4 and r["seconds"] > 0 for r in rows)
    assert len(lines) >= 2 and "PASS" in lines[0]


def test_bench_rows(exported, bench, tmp_path):
    runners = {"torch eager": load(exported[0], name="torch eager"), "ORT plugins": load(exported[2]["plugins"])}
    feeds = {k: {r.inputs[0].name: exported[1]} for k, r in runners.items()}
    times = bench.interleaved_times(runners, feeds, warmup=1, rounds=3)
    assert {k: len(v) for k, v in times.items()} == {"torch eager": 3, "ORT plugins": 3}
    rows = bench.timing_rows("basenet", "36x24", times, {"ORT plugins": 1e-6})
    assert rows[0]["ratio_vs_torch"] == 1.0 and rows[1]["max_abs_vs_torch"] == 1e-6
    assert all(r["min_ms"] <= r["median_ms"] <= r["p90_ms"] for r in rows)
    args = bench.parse_args(["--nets", "basenet", "--size", "36x24"])
    assert args.rounds == 20 and args.torch_unwarp == "permute" and args.threads is None
