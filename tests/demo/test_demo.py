"""`edge demo` as `make demo` runs it: every step runs; only TensorRT may be skipped, and only with its reason."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from edge.demo import STEPS


@pytest.mark.slow
def test_every_demo_step_runs(tmp_path):
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "edge", "demo", "--quick", "--out", str(out)], capture_output=True,
                       text=True, timeout=900)
    text = r.stdout + r.stderr
    assert r.returncode == 0, text[-3000:]
    report = json.loads((out / "demo.json").read_text())
    assert [s for s in STEPS if s in report] == list(STEPS)
    assert not [s for s in STEPS if "skipped" in report[s]], text[-3000:]
    offending = [line for line in text.splitlines()
                 if re.search(r"skipped|not found|not built", line, re.I) and "TensorRT" not in line]
    assert not offending, offending
    assert report["quantize"]["rows"][1]["fp32_layers"] is not None  # the gate ran on the pretrained model
    assert report["bench"]["pipeline"]["frames"] > 0  # real video through edge run
    assert "warning" not in r.stderr.lower(), r.stderr[-2000:]  # library warnings the user cannot act on are silenced
