"""edge doctor --full: steps that need a GPU or TensorRT are SKIP with the reason here (never OK), the
report is one Markdown file with the JSON at its end, and the step runner reads exit codes and timeouts."""

from __future__ import annotations

import json
import re
import sys

import pytest

from edge.cli.main import main
from edge.doctor import FAIL, OK, SKIP, WARN, Check, Host, run_checks
from edge.doctor.full import Step, repo_root, run_full, run_steps

GPU_STEPS = ["harness", "tests", "bench"]


def _report_json(text: str) -> dict:
    return json.loads(re.search(r"```json\n(.*)\n```", text, re.DOTALL)[1])


def _no_device(checks) -> None:
    """These tests check --full where the device steps cannot run; on a device they would run for minutes."""
    by = {c.name: c for c in checks}
    if by["GPU"].status == OK or by["TensorRT"].status == OK:
        pytest.skip("this machine has a GPU or TensorRT: the device steps would run (edge doctor --full runs them)")


def test_full_here_reports_gpu_steps_skip_with_reason(tmp_path):
    checks = run_checks(Host())
    _no_device(checks)
    by = {c.name: c for c in checks}
    doc, path = run_full(checks, Host(), tmp_path / "doctor.md", only=GPU_STEPS)
    steps = {s["name"]: s for s in doc["steps"]}
    assert list(steps) == GPU_STEPS
    for s in steps.values():
        if by["GPU"].status != OK and by["TensorRT"].status != OK:  # this machine: no GPU, no TensorRT
            assert s["status"] == SKIP and s["seconds"] == 0.0, s
            assert s["reason"].startswith("needs a usable CUDA GPU") or "harness tests are not in this checkout" in s["reason"]
        assert s["status"] != OK or by["GPU"].status == OK  # never OK without a GPU
    text = path.read_text()
    assert text.startswith("# edge doctor --full") and "## Steps" in text
    assert _report_json(text)["steps"] == doc["steps"] and _report_json(text)["checks"][0]["name"] == "L4T release"


def test_full_cli_writes_one_report(tmp_path, capsys):
    _no_device(run_checks(Host(), only=["GPU", "TensorRT"]))
    report = tmp_path / "r.md"
    rc = main(["doctor", "--full", "--steps", "tests,bench", "--report", str(report), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["report"] == str(report) and [s["name"] for s in doc["steps"]] == ["tests", "bench"]
    assert rc == doc["exit_code"] and list(tmp_path.iterdir()) == [report]


def _step(name: str, code: str, timeout: int = 30) -> Step:
    return Step(name, [sys.executable, "-c", code], timeout)


def test_step_runner_reads_exit_codes_output_and_timeouts(tmp_path):
    checks = [Check("GPU", OK, "x"), Check("TensorRT", OK, "y")]
    steps = [_step("tests", "print('== 3 passed, 1 skipped in 2.0s ==')"),
             _step("tests", "print('== 4 skipped in 0.1s =='); raise SystemExit(0)"),
             _step("tests", "print('== 1 failed, 2 passed =='); raise SystemExit(1)"),
             _step("bench", "raise SystemExit(2)"),
             _step("harness", "print('== 10 passed, 2 skipped in 3.1s ==')"),
             _step("harness", "print('== 12 passed in 3.1s ==')"),
             _step("build", "import time; print('compiling', flush=True); time.sleep(30)", timeout=1)]
    res = run_steps(checks, steps, tmp_path)
    assert [(r["status"], r["reason"]) for r in res] == [
        (OK, "3 passed, 1 skipped"), (SKIP, "no device test ran (4 skipped)"), (FAIL, "1 failed, 2 passed"),
        (SKIP, "bench_plugins measured nothing (exit 2: no TensorRT)"),
        (FAIL, "10 passed, 2 skipped: the harness skipped tests on a machine with a usable GPU"),
        (OK, "12 passed"), (FAIL, "timed out after 1 s")]
    assert "compiling" in res[-1]["output_tail"] and res[-1]["seconds"] < 10


def test_step_runner_honours_needs_and_budget(tmp_path):
    checks = [Check("GPU", SKIP, "no NVIDIA GPU here"), Check("TensorRT", SKIP, "not installed")]
    res = run_steps(checks, [Step("bench", ["false"], 5, ("gpu", "trt")), Step("x", ["true"], 5, ("source",))],
                    None)
    assert res[0]["status"] == SKIP and res[0]["reason"] == "needs a usable CUDA GPU (GPU SKIP: no NVIDIA GPU here)"
    assert res[1]["reason"].startswith("not a source checkout")
    res = run_steps(checks, [_step("build", "pass")], tmp_path, budget_s=5)
    assert res[0]["status"] == SKIP and res[0]["reason"] == "no time left in the 5 s budget"


def test_source_checkout_found():
    root = repo_root()
    assert root is not None and (root / "scripts" / "bench_plugins.py").is_file()


def test_device_tests_step_selects_the_markers_of_what_exists(tmp_path):
    from edge.doctor.full import default_steps

    def marker(gpu: str, trt: str) -> str:
        steps = default_steps([Check("GPU", gpu, "g"), Check("TensorRT", trt, "t")], repo_root(), tmp_path, "/b")
        tests = next(s for s in steps if s.name == "tests")
        assert all(s.env.get("EDGE_PLUGIN_DIR") == "/b" for s in steps if s.name != "build")
        assert tests.argv[-2] == "-m"
        return tests.argv[-1]

    steps = {s.name: s for s in default_steps([Check("GPU", OK, "g")], repo_root(), tmp_path)}
    harness = [a for a in steps["harness"].argv if a.startswith("tests/")]
    assert harness == ["tests/plugins/test_cuda_harness.py", "tests/plugins/test_cuda_harness_abi.py"]
    assert [f"--ignore={h}" for h in harness] == [a for a in steps["tests"].argv if a.startswith("--ignore=")]
    assert marker(OK, OK) == "needs_gpu or needs_trt"
    assert marker(OK, SKIP) == "needs_gpu"
    assert marker(FAIL, OK) == "needs_trt"


def test_build_that_skipped_a_part_is_not_ok():
    from edge.doctor.full import judge_build

    out = ("-- edge plugins: CUDA kernels for architectures 87\n-- edge plugins: TensorRT plugin library skipped: "
           "NvInferRuntime.h not found (set -DTENSORRT_ROOT=<dir with include/>)\n100% tests passed\n")
    no_trt = [Check("GPU", SKIP, "none"), Check("TensorRT", SKIP, "not installed")]
    status, reason = judge_build(0, out, no_trt)
    assert status == WARN and reason == ("exit 0, but TensorRT plugin library skipped: NvInferRuntime.h not found "
                                         "(set -DTENSORRT_ROOT=<dir with include/>)")
    assert judge_build(0, out, [Check("GPU", OK, "Orin"), Check("TensorRT", OK, "10.3")])[0] == FAIL
    assert judge_build(0, "-- edge plugins: CUDA kernels for architectures 87\n", no_trt)[0] == OK
    assert judge_build(2, out, no_trt) == (FAIL, "exit 2")
