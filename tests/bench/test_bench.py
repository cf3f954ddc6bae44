"""edge bench on real CPU models: interleaving, result schema, reports, compare, CLI; GPU paths marked."""

from __future__ import annotations

import json
import time

import pytest
import torch
from click.testing import CliRunner

from edge.bench import BenchOptions, bench, compare, load_result, to_markdown, write_report
from edge.spec import parse_shapes
from edge.bench.schema import SCHEMA, validate
from edge.cli.main import cli
from edge.errors import InputError, ModelLoadError
from edge.runtime import load

jsonschema = pytest.importorskip("jsonschema")


class Logged(torch.nn.Module):
    """A 1x1 conv that logs every call, to see the order in which artifacts run."""

    def __init__(self, log, tag, channels=1):
        super().__init__()
        self.log, self.tag, self.in_channels = log, tag, channels
        self.conv = torch.nn.Conv2d(channels, 2, 1)

    def forward(self, x):
        self.log.append(self.tag)
        return self.conv(x)


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    from camera_models import make_conv_onnx  # tests/camera, put on sys.path by tests/bench/conftest.py

    return make_conv_onnx(tmp_path_factory.mktemp("m") / "conv.onnx")


def small(**kw):
    return BenchOptions(**{"warmup_s": 0.0, "rounds": 3, "power": "off", "shapes": {"": (1, 1, 16, 16)}, **kw})


def test_rounds_are_interleaved_and_counts_exact():
    log = []
    a, b = load(Logged(log, "A"), name="A"), load(Logged(log, "B"), name="B")
    res = bench([a, b], options=small(iterations=9))
    timed = log[4:]  # 2 warm-up calls per artifact first
    assert timed == ["A"] * 3 + ["B"] * 3 + ["A"] * 3 + ["B"] * 3 + ["A"] * 3 + ["B"] * 3
    assert [r["iterations"] for r in res["results"]] == [9, 9]
    assert all(len(r["samples_ms"]) == 9 for r in res["results"])


def test_result_follows_schema_and_is_plausible(onnx_model):
    res = bench([str(onnx_model), "edge.bench.models:basenet_patch"], baseline=1,
                options=BenchOptions(iterations=20, rounds=2, warmup_s=0.0, power="off",
                                     shapes={"": (1, 1, 15, 15)}))
    validate(res)
    onnx_row, torch_row = res["results"]
    assert res["baseline"] == "edge.bench.models:basenet_patch" and torch_row["speedup"] == 1.0
    assert onnx_row["speedup"] == pytest.approx(onnx_row["fps"] / torch_row["fps"])
    for r in res["results"]:
        lat = r["latency_ms"]
        assert lat["min"] <= lat["median"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert r["fps"] == pytest.approx(r["iterations"] / r["total_host_walltime_s"])
        assert r["gpu_compute_time_ms"] is None and r["h2d_latency_ms"] is None  # CPU backends
        assert r["memory"]["peak_rss_mb"] > 10 and list(r["input_shapes"].values()) == [[1, 1, 15, 15]]
    env = res["environment"]
    assert env["cpu"] and env["edge_version"] and env["packages"]["onnxruntime"]


def test_schema_rejects_incomplete_results(onnx_model):
    res = bench([str(onnx_model)], options=small(iterations=3))
    bad = json.loads(json.dumps(res))
    del bad["results"][0]["latency_ms"]["p99"]
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    bad = json.loads(json.dumps(res))
    bad["environment"].pop("command")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_duration_mode_and_warmup(onnx_model):
    res = bench([str(onnx_model)], options=small(duration_s=0.3, warmup_s=0.1))
    r = res["results"][0]
    assert r["iterations"] >= 3 and 0.3 <= r["total_host_walltime_s"] < 2.0


def test_reports_written_atomically_and_compare(onnx_model, tmp_path):
    res = bench([str(onnx_model), "edge.bench.models:basenet_patch"], options=BenchOptions(
        iterations=10, rounds=2, warmup_s=0.0, power="off", shapes={"": (1, 1, 15, 15)}))
    paths = write_report(res, tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["bench.json", "bench.md", "bench_fps.png",
                                                                   "bench_latency.png"]
    for png in paths["plots"]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "a" / "bench.md").read_text()
    assert "| name |" in md and "basenet_patch" in md and "Baseline" in md
    assert load_result(paths["json"])["results"][0]["name"] == res["results"][0]["name"]
    write_report(res, tmp_path / "b", plots=False)
    rows, text = compare([paths["json"], tmp_path / "b" / "bench.json"])
    assert len(rows) == 4 and all(r["vs_first"] == pytest.approx(1.0) for r in rows)
    assert "vs_first" in text


def test_errors_name_the_problem(onnx_model, tmp_path):
    with pytest.raises(InputError, match="nothing to benchmark"):
        bench([])
    with pytest.raises(InputError, match="baseline 'nope'"):
        bench([str(onnx_model)], baseline="nope", options=small(iterations=2))
    with pytest.raises(ModelLoadError):
        bench(["edge.bench.models:no_such_factory"], options=small(iterations=2))
    with pytest.raises(InputError, match="unknown input"):
        bench([str(onnx_model)], options=small(iterations=2, shapes={"y": (1, 1, 8, 8)}))
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="not an edge benchmark result"):
        load_result(tmp_path / "x.json")
    with pytest.raises(InputError):
        parse_shapes("input:1xAx3")
    assert parse_shapes("x:1x3x8x8,m:1x1x2x2") == {"x": (1, 3, 8, 8), "m": (1, 1, 2, 2)}


def test_cli_bench_default_command_and_compare(onnx_model, tmp_path):
    runner = CliRunner()
    out = tmp_path / "r"
    res = runner.invoke(cli, ["bench", str(onnx_model), "-n", "6", "--rounds", "2", "--warmup", "0",
                              "--shape", "1x1x12x12", "--power", "off", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "| conv.onnx |" in res.output and (out / "bench.json").exists()
    data = json.loads((out / "bench.json").read_text())
    validate(data)
    assert data["results"][0]["input_shapes"] == {"x": [1, 1, 12, 12]} and data["results"][0]["iterations"] == 6
    res = runner.invoke(cli, ["bench", "compare", str(out / "bench.json"), str(out / "bench.json"),
                              "--out", str(tmp_path / "c.md")])
    assert res.exit_code == 0, res.output
    assert "Benchmark comparison" in res.output
    assert (tmp_path / "c.md").read_text().count("conv.onnx") == 2


def test_markdown_lists_warnings(onnx_model):
    res = bench([str(onnx_model)], options=small(iterations=2))
    res["warnings"] = ["GPU clock not locked"]
    assert "- GPU clock not locked" in to_markdown(res)


@pytest.mark.needs_gpu
def test_cuda_events_time_a_real_device_copy():
    from edge.bench import gpu

    mem = gpu.device_memory()
    assert mem and mem["total_mb"] > 0 and 0 <= mem["used_mb"] <= mem["total_mb"]
    ev = gpu.CudaEvents(2)
    ev.record(0, 0)
    ev.record(1, 0)
    assert ev.elapsed_ms(0, 1) >= 0
    ev.close()
    with gpu.DeviceMemoryWatch() as watch:
        time.sleep(0.05)
    assert watch.peak_used_mb is not None and watch.peak_used_mb <= mem["total_mb"]


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
def test_tensorrt_engine_bench_splits_copies_and_compute(onnx_model, tmp_path):
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(onnx_model.read_bytes())
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 1, 16, 16), (1, 1, 64, 64), (1, 1, 128, 128))
    config.add_optimization_profile(profile)
    engine = tmp_path / "conv.engine"
    engine.write_bytes(bytes(builder.build_serialized_network(network, config)))
    res = bench([str(engine), str(onnx_model)], options=small(iterations=30, shapes={"": (1, 1, 64, 64)}))
    validate(res)
    trt_row = res["results"][0]
    assert trt_row["backend"] == "tensorrt"
    for key in ("h2d_latency_ms", "gpu_compute_time_ms", "d2h_latency_ms", "gpu_compute_no_copies_ms"):
        assert trt_row[key]["count"] >= 30
    assert trt_row["total_gpu_compute_time_s"] > 0
    assert trt_row["memory"]["device_used_mb_max"] > 0 and trt_row["memory"]["engine_device_mb"] is not None
    res = bench([str(engine)], options=small(iterations=30, shapes={"": (1, 1, 64, 64)}, cuda_graph=True))
    assert res["results"][0]["cuda_graph"] is True


@pytest.mark.slow
def test_demo_step_writes_its_report(tmp_path):
    from edge.demo.bench import run
    from edge.demo import DemoContext

    ctx = DemoContext(out=tmp_path, quick=True)
    section = run(ctx)
    assert [r["name"] for r in section["results"]][:2] == ["patch-based (torch)", "dense (torch)"]
    assert section["results"][0]["speedup"] == 1.0
    data = load_result(tmp_path / "bench" / "bench.json")
    validate(data)
    assert {"bench/bench.md", "bench/bench_fps.png", "bench/bench_latency.png"} <= set(section["files"])
    assert section["pipeline"]["frames"] == 4 and (tmp_path / section["pipeline"]["video"]).exists()
    assert "dense (torch)" in ctx.markdown[-1]


def test_cli_bench_takes_shapes_from_a_recipe(onnx_model, tmp_path):
    res = CliRunner().invoke(cli, ["bench", str(onnx_model), "--recipe", "dense-basenet", "-n", "2", "--rounds", "1",
                                   "--warmup", "0", "--power", "off", "--no-plots", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["results"][0]["input_shapes"] == {"x": [1, 1, 240, 320]}  # the recipe's opt shape


def test_threads_reach_onnxruntime_and_torch(onnx_model, tmp_path):
    before = torch.get_num_threads()
    try:
        log: list = []
        res = bench([str(onnx_model), Logged(log, "t")], options=small(iterations=2, threads=1))
        assert res["config"]["threads"] == 1 and torch.get_num_threads() == 1
        from edge.bench.core import _load

        subject = _load(str(onnx_model), "conv", None, small(threads=1).resolved())
        with subject.runner as r:
            assert r.session.get_session_options().intra_op_num_threads == 1
        default = _load(str(onnx_model), "conv", None, small().resolved())
        with default.runner as r:
            assert r.session.get_session_options().intra_op_num_threads == 0  # ORT's default: all cores
        cli_res = CliRunner().invoke(cli, ["bench", str(onnx_model), "--threads", "0", "--out", str(tmp_path)])
        assert cli_res.exit_code != 0 and "--threads" in cli_res.output
        with pytest.raises(InputError, match="threads must be >= 1"):
            bench([str(onnx_model)], options=small(iterations=2, threads=0))
    finally:
        torch.set_num_threads(before)
