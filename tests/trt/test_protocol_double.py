"""The protocol double's API file is what tensorrt-stubs 10.13 says (regenerated and compared when
``make typecheck`` has installed the stubs in build/typecheck-venv; skipped otherwise, with the reason)."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from tests.trt import protocol_spec_gen

REPO = Path(__file__).resolve().parents[2]


def test_protocol_spec_is_generated_from_the_stubs():
    found = glob.glob(str(REPO / "build" / "typecheck-venv" / "lib" / "python3*" / "site-packages"))
    if not found or not (Path(found[0]) / protocol_spec_gen.STUBS[0]).exists():
        pytest.skip("tensorrt-stubs are not installed in build/typecheck-venv (run `make typecheck` first)")
    assert protocol_spec_gen.generate(Path(found[0])) == json.loads(protocol_spec_gen.SPEC.read_text())


def test_protocol_spec_has_the_calls_edge_makes():
    spec = json.loads(protocol_spec_gen.SPEC.read_text())
    assert spec["constants"]["__version__"].startswith("10.13")
    assert spec["classes"]["Runtime"]["attrs"]["engine_host_code_allowed"]["settable"]
    assert "set_input_shape" in spec["classes"]["IExecutionContext"]["methods"]
