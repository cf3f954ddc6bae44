"""``edge dense convert/check`` and ``edge --help/--version`` through the real entry point."""

from __future__ import annotations

import subprocess
import sys

import torch

from edge import __version__
from edge.cli.main import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_subcommands_and_version():
    r = run("--help")
    assert r.returncode == 0 and "dense" in r.stdout and "demo" in r.stdout
    r = run("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_convert_then_load_and_check(tmp_path):
    out = tmp_path / "dense.pt"
    assert main(["dense", "convert", "edge.dense:basenet", "-p", "15", "-o", str(out)]) == 0
    from edge.spec import load_module

    d = load_module(out)  # an edge checkpoint: loads with weights_only=True
    x = torch.randn(1, 1, 21, 26)
    from edge.dense import basenet, to_dense

    assert torch.equal(d(x), to_dense(basenet(), 15)(x))
    r = run("dense", "check", "edge.dense:basenet", "-p", "15", "--size", "18x23")
    assert r.returncode == 0 and "PASS" in r.stdout, r.stdout + r.stderr


def test_inadmissible_net_exits_2_with_one_line_error(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("import torch.nn as nn\ndef net():\n    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1))\n")
    r = run("dense", "check", f"{script}:net", "-p", "3")
    assert r.returncode == 2 and "padding" in r.stderr and "Traceback" not in r.stderr


def test_missing_model_is_a_clear_error():
    r = run("dense", "convert", "no/such/file.pt", "-p", "3", "-o", "x.pt")
    assert r.returncode == 2 and "no such model file" in r.stderr
