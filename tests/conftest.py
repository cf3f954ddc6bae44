"""Shared test configuration: GPU/TensorRT markers that skip with the reason printed (``-ra``).

A skipped test is not a passed test: these markers exist so that the same suite runs for real on a
Jetson, where TensorRT and a CUDA device are present.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("EDGE_DATA_DIR", REPO / "data"))


@functools.lru_cache(None)
def trt_status() -> str | None:
    """None when TensorRT imports and has a Builder, else the reason it cannot be used here."""
    if importlib.util.find_spec("tensorrt") is None:
        return "TensorRT is not installed (it comes with JetPack; it cannot be installed on this CPU-only machine)"
    try:
        import tensorrt as trt

        trt.Logger  # noqa: B018 - the stubs package has no runtime attributes
    except Exception as e:  # pragma: no cover - depends on the machine
        return f"TensorRT does not import: {e}"
    return None


@functools.lru_cache(None)
def gpu_status() -> str | None:
    """None when a CUDA device is usable, else the reason."""
    try:
        from cuda.bindings import runtime as cudart
    except Exception:
        try:
            import torch

            return None if torch.cuda.is_available() else "no CUDA device (torch.cuda.is_available() is False)"
        except Exception as e:
            return f"no CUDA device ({e})"
    try:
        err, count = cudart.cudaGetDeviceCount()
    except Exception as e:
        return f"no CUDA device (cudaGetDeviceCount raised {e})"
    if int(err) != 0 or count < 1:
        return f"no CUDA device (cudaGetDeviceCount: {err}, count {count}); no GPU/driver on this machine"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "needs_trt" in item.keywords and trt_status():
            item.add_marker(pytest.mark.skip(reason=f"needs_trt: {trt_status()}"))
        if "needs_gpu" in item.keywords and gpu_status():
            item.add_marker(pytest.mark.skip(reason=f"needs_gpu: {gpu_status()}"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture(autouse=True)
def _seed():
    import torch

    torch.manual_seed(0)
