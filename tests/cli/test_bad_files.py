"""Every subcommand that reads a file answers a missing, truncated or garbage file with one clear line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ONNX_COMMANDS = {  # argv with {f} for the file under test; {o} for an output path
    "quantize": ["quantize", "{f}", "-r", "mobilenetv2-imagenet", "-c", "skimage", "-o", "{o}.onnx"],
    "build": ["build", "{f}", "-o", "{o}.engine"],
    "bench": ["bench", "{f}", "-n", "1", "--rounds", "1", "--no-plots", "--out", "{o}"],
    "compare": ["compare", "{f}", "{f}"],
    "run": ["run", "{f}", "--source", "{f}"],
    "check": ["check", "{f}"],
}
TORCH_COMMANDS = {
    "export": ["export", "{f}", "-o", "{o}.onnx"],
    "dense-convert": ["dense", "convert", "{f}", "-p", "15", "-o", "{o}.pt"],
    "dense-check": ["dense", "check", "{f}", "-p", "15"],
    "analyze": ["analyze", "{f}"],
    "distill": ["distill", "--teacher", "{f}", "--form", "csp", "--save", "{o}.pt"],
    "bench-torch": ["bench", "{f}", "-n", "1", "--rounds", "1", "--no-plots", "--out", "{o}"],
}


def _files(tmp_path: Path, suffix: str) -> dict[str, Path]:
    good = tmp_path / f"good{suffix}"
    if suffix == ".onnx":
        import torch

        torch.onnx.export(torch.nn.Conv2d(1, 1, 3), (torch.zeros(1, 1, 8, 8),), str(good), dynamo=False)
    else:
        import torch

        torch.jit.save(torch.jit.script(torch.nn.Conv2d(1, 1, 3)), str(good))
    data = good.read_bytes()
    files = {"missing": tmp_path / f"missing{suffix}", "truncated": tmp_path / f"truncated{suffix}",
             "garbage": tmp_path / f"garbage{suffix}"}
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["garbage"].write_bytes(b"\x00\x01 this is not a model \xff" * 50)
    return files


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge", *argv], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("kind", ["missing", "truncated", "garbage"])
@pytest.mark.parametrize("command, suffix", [(c, ".onnx") for c in ONNX_COMMANDS] + [(c, ".pt") for c in TORCH_COMMANDS])
def test_bad_file_is_one_clear_line(tmp_path, command, suffix, kind):
    path = _files(tmp_path, suffix)[kind]
    template = (ONNX_COMMANDS | TORCH_COMMANDS)[command]
    r = _run([a.format(f=path, o=tmp_path / "out") for a in template])
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.lower().startswith("error:")]  # ours, or click's
    assert len(errors) == 1 and path.name in errors[0], r.stderr
    assert not list(tmp_path.glob("out*")), "nothing half-written"
