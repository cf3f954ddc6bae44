"""``edge doctor --full``: the on-device steps after the checks, each with a timeout, and ONE report file.

Steps, in order, run from the repository root (a step whose needs are not met is SKIP with the reason,
never run and never OK):

- ``build`` (cmake; 240 s): ``bash scripts/build_plugins.sh <build dir>``: CPU reference, CUDA kernels,
  TensorRT plugins, then ctest;
- ``harness`` (a usable GPU; 60 s): the CUDA kernel harness tests (``python -m pytest`` of
  :data:`HARNESS_TESTS`: every kernel against its CPU reference, FP32 and FP16, on the libraries just built);
  a skipped harness test is a FAIL here. ``scripts/check_kernels.sh`` adds compute-sanitizer runs, too slow
  for this budget;
- ``tests`` (a usable GPU or TensorRT; 150 s): ``python -m pytest -m "needs_gpu or needs_trt"`` with the
  markers of what this machine has (the harness files left to their own step);
- ``bench`` (GPU and TensorRT; 120 s): ``python scripts/bench_plugins.py --quick --json <file>``; it builds
  four small engines (one case per plugin, one density, plugin and decomposed), hence its share.

The timeouts add up to 570 s and no step may run past the whole budget (:data:`BUDGET_S`), so the run ends
within 10 minutes on an Orin Nano; the split is an estimate not yet measured on a device, and each report
records the seconds every step took. The report is one Markdown file: the checks, a table of the steps
(status, seconds, reason), each step's output tail, and the whole report as a JSON block at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from edge.doctor.core import FAIL, OK, SKIP, WARN, Check

BUDGET_S = 570
TAIL_CHARS = 4000
#: the CUDA kernel harness tests (every kernel against its CPU reference, FP32 and FP16), relative to the
#: repository root; scripts/check_kernels.sh runs the same files, plus compute-sanitizer, after its own build
HARNESS_TESTS = ("tests/plugins/test_cuda_harness.py", "tests/plugins/test_cuda_harness_abi.py")
PYTEST = ("-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider")


@dataclass
class Step:
    """One ``--full`` step: what to run, what it needs, how long it may take."""

    name: str
    argv: list[str]
    timeout_s: int
    needs: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)


def repo_root() -> Path | None:
    """The source checkout edge runs from (scripts/ and tests/ beside the package), or None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "scripts" / "build_plugins.sh").is_file() and (root / "tests").is_dir() else None


def default_steps(checks: list[Check], repo: Path | None, out_dir: Path, build_dir: str = "build/plugins") -> list[Step]:
    """The four steps, with the pytest marker of what this machine has (GPU, TensorRT); the steps after the
    build load the libraries it made (EDGE_PLUGIN_DIR = ``build_dir``)."""
    ok = {c.name for c in checks if c.status == OK}
    markers = [m for m, have in (("needs_gpu", "GPU" in ok), ("needs_trt", "TensorRT" in ok)) if have]
    harness = [h for h in HARNESS_TESTS if repo and (repo / h).is_file()]
    libs = {"EDGE_PLUGIN_DIR": str((repo / build_dir) if repo else build_dir)}
    return [
        Step("build", ["bash", "scripts/build_plugins.sh", build_dir], 240, ("source", "cmake"),
             {"JOBS": str(os.cpu_count() or 2)}),
        Step("harness", [sys.executable, *PYTEST, *harness], 60, ("source", "gpu", "harness"), libs),
        Step("tests", [sys.executable, *PYTEST, *(f"--ignore={h}" for h in harness), "-m",  # harness: its own step
                       " or ".join(markers) or "needs_gpu or needs_trt"], 150, ("source", "gpu_or_trt"), libs),
        Step("bench", [sys.executable, "scripts/bench_plugins.py", "--quick", "--json",
                       str(out_dir / "bench_plugins.json")], 120, ("source", "gpu", "trt"), libs),
    ]


def unmet(step: Step, checks: list[Check], repo: Path | None) -> str | None:
    """Why ``step`` cannot run here (the reason of its SKIP line), or None."""
    by = {c.name: c for c in checks}

    def reason(name: str) -> str:
        c = by.get(name)
        return f"{name} {c.status}: {c.value}" if c else f"{name} not checked"

    for need in step.needs:
        if need == "source" and repo is None:
            return "not a source checkout: --full runs the repository's scripts/ and tests/"
        if need == "cmake" and shutil.which("cmake") is None:
            return "cmake is not installed (sudo apt install cmake)"
        if need == "harness" and not any(repo and (repo / h).is_file() for h in HARNESS_TESTS):
            return "the CUDA kernel harness tests are not in this checkout"
        if need == "gpu" and by.get("GPU", Check("GPU", SKIP)).status != OK:
            return f"needs a usable CUDA GPU ({reason('GPU')})"
        if need == "trt" and by.get("TensorRT", Check("TensorRT", SKIP)).status != OK:
            return f"needs TensorRT ({reason('TensorRT')})"
        if need == "gpu_or_trt" and not any(by.get(n, Check(n, SKIP)).status == OK for n in ("GPU", "TensorRT")):
            return f"needs a usable CUDA GPU or TensorRT ({reason('GPU')}; {reason('TensorRT')})"
    return None


def run_command(argv: list[str], cwd: Path | None, timeout_s: float, env: dict | None = None) -> tuple[int | None, str]:
    """(exit status or None on timeout, stdout+stderr); on timeout the whole process group is killed."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", start_new_session=True, env={**os.environ, **(env or {})})
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                out, _ = proc.communicate(timeout=5)
                return None, out
            except subprocess.TimeoutExpired:
                continue
        out, _ = proc.communicate()
        return None, out


def judge_build(rc: int, out: str, checks: list[Check]) -> tuple[str, str]:
    """A build that exits 0 but skipped a part (plugins/CMakeLists.txt prints "edge plugins: <part> skipped:
    <why>") is WARN, and FAIL where that part is needed: the plugins where TensorRT works, the kernels where
    the GPU does."""
    if rc != 0:
        return FAIL, f"exit {rc}"
    skipped = re.findall(r"^-- edge plugins: (.*? skipped: .*)$", out, re.MULTILINE)  # CMake's STATUS lines
    if not skipped:
        return OK, "exit 0: every part built, ctest passed"
    ok = {c.name for c in checks if c.status == OK}
    needed = [s for s in skipped if ("TensorRT" in s and "TensorRT" in ok) or ("CUDA kernels" in s and "GPU" in ok)]
    return (FAIL if needed else WARN), "exit 0, but " + "; ".join(dict.fromkeys(skipped))


def judge(step: Step, rc: int | None, out: str, timeout_s: float, checks: Iterable[Check] = ()) -> tuple[str, str]:
    """(status, reason) of a step that ran: pytest's and bench_plugins' exit codes read as they document."""
    if rc is None:
        return FAIL, f"timed out after {timeout_s:.0f} s"
    if step.name == "build":
        return judge_build(rc, out, list(checks))
    if step.name in ("tests", "harness"):
        last = [ln for ln in out.splitlines() if re.search(r"\d+ (passed|failed|skipped|errors?)\b", ln)][-1:]
        counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", "".join(last))}
        line = ", ".join(f"{v} {k}" for k, v in counts.items()) or f"pytest exit {rc}"
        if step.name == "harness" and rc == 0 and counts.get("skipped"):  # it runs only where a GPU is usable
            return FAIL, f"{line}: the harness skipped tests on a machine with a usable GPU"
        if rc == 5 or (rc == 0 and not counts.get("passed")):
            return SKIP, f"no device test ran ({line})"
        return (OK, line) if rc == 0 else (FAIL, line)
    if step.name == "bench" and rc == 2:
        return SKIP, "bench_plugins measured nothing (exit 2: no TensorRT)"
    return (OK, "exit 0") if rc == 0 else (FAIL, f"exit {rc}")


def run_steps(checks: list[Check], steps: list[Step], repo: Path | None, budget_s: float = BUDGET_S) -> list[dict]:
    """Run each step whose needs are met, within its timeout and the remaining budget; one dict per step."""
    start, results = time.monotonic(), []
    for step in steps:
        rec = {"name": step.name, "command": " ".join(step.argv), "timeout_s": step.timeout_s, "seconds": 0.0,
               "output_tail": ""}
        why = unmet(step, checks, repo)
        left = budget_s - (time.monotonic() - start)
        if why is None and left < 10:
            why = f"no time left in the {budget_s:.0f} s budget"
        if why is not None:
            results.append({**rec, "status": SKIP, "reason": why})
            continue
        t0, timeout = time.monotonic(), int(min(step.timeout_s, left))
        rc, out = run_command(step.argv, repo, timeout, step.env)
        status, reason = judge(step, rc, out, timeout, checks)
        results.append({**rec, "timeout_s": timeout, "status": status, "reason": reason, "exit_code": rc,
                        "seconds": round(time.monotonic() - t0, 1), "output_tail": out[-TAIL_CHARS:]})
    return results


def attach_bench_result(results: list[dict], out_dir: Path) -> None:
    """Put bench_plugins' JSON (when it wrote one) into its step's record."""
    path = out_dir / "bench_plugins.json"
    for r in results:
        if r["name"] == "bench" and path.is_file():
            try:
                r["result"] = json.loads(path.read_text())
            except ValueError as e:
                r["result_error"] = f"unreadable {path}: {e}"


def run_full(checks: list[Check], host, report_path: str | Path | None = None, only: list[str] | None = None,
             budget_s: float = BUDGET_S, build_dir: str = "build/plugins") -> tuple[dict, Path]:
    """Run the steps (``only``: a subset by name), write the report file; (report document, its path).

    Raises:
        InputError: ``only`` names a step that does not exist.
    """
    from edge.doctor import report
    from edge.errors import InputError
    from edge.io import write_text

    repo = repo_root()
    with tempfile.TemporaryDirectory(prefix="edge-doctor-") as tmp:
        steps = default_steps(checks, repo, Path(tmp), build_dir)
        names = [s.name for s in steps]
        if only is not None:
            bad = [n for n in only if n not in names]
            if bad:
                raise InputError(f"unknown --full step(s) {bad}; the steps are {', '.join(names)}")
            steps = [s for s in steps if s.name in only]
        results = run_steps(checks, steps, repo, budget_s)
        attach_bench_result(results, Path(tmp))
    doc = report(checks, host, results)
    path = Path(report_path) if report_path else Path(
        f"edge-doctor-{doc['host'] or 'host'}-{time.strftime('%Y%m%d-%H%M%S')}.md")
    write_text(path, markdown(doc))
    return doc, path


def _cell(v) -> str:
    """A Markdown table cell: no pipe, no line break."""
    return str(v if v is not None else "").replace("|", "\\|").replace("\n", " ")


def markdown(doc: dict) -> str:
    """The report file: checks, steps, output tails, and the whole document as JSON."""
    from edge.io import markdown_table

    checks = [{"status": c["status"], "check": _cell(c["name"]), "value": _cell(c["value"]), "fix": _cell(c["fix"])}
              for c in doc["checks"]]
    steps = [{"step": s["name"], "status": s["status"], "seconds": s["seconds"], "timeout_s": s["timeout_s"],
              "reason": _cell(s["reason"]), "command": _cell(s["command"])} for s in doc.get("steps", [])]
    head = (f"edge {doc['edge_version']}, Python {doc['python']}, exit code {doc['exit_code']}, "
            f"summary {doc['summary']}")
    out = [f"# edge doctor --full: {doc['host']} ({doc['machine']}), {doc['time']}", "", head, "",
           "## Checks", "", markdown_table(checks), "## Steps", "", markdown_table(steps)]
    for s in doc.get("steps", []):
        if s["output_tail"]:
            out += [f"### {s['name']}: output tail", "", "```", s["output_tail"].rstrip(), "```", ""]
    out += ["## JSON", "", "```json", json.dumps(doc, indent=2, default=str), "```", ""]
    return "\n".join(out)
