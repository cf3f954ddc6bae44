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
    """None when a CUDA device is usable, else the real reason and its fix (edge.core.cuda.gpu_status).

    Without cuda-python (a CUDA build of torch is then the only way to the device) torch is asked instead."""
    import importlib.util

    if importlib.util.find_spec("cuda") is None:
        try:
            import torch

            return None if torch.cuda.is_available() else "no CUDA device (torch.cuda.is_available() is False)"
        except Exception as e:  # noqa: BLE001
            return f"no CUDA device ({e})"
    from edge.core.cuda import gpu_status as status

    st = status()
    return None if st.usable else f"{st.reason}. Fix: {st.fix}"


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


# ------------------------------------------------------------------------------------------------------------
# Every ONNX file the test suite exports, for the static TensorRT check (edge.export.check). Tests write their files
# under pytest's session temporary directory; ``exported_onnx`` lists the ones edge made for TensorRT, and
# tests marked ``after_exports`` are moved to the end of the run so that they see the files of every test.
# ------------------------------------------------------------------------------------------------------------


class ExportedOnnx:
    """The ``*.onnx`` files under the session's temporary directory, with what each is for.

    ``files()`` -> ``[(path, kind)]``: kind "export" (edge export: plugin or portable), "int8" (trt scheme),
    "fp16", or a reason it is not for TensorRT ("cpu-u8", "not made by edge", "unreadable").
    """

    TRT_KINDS = ("export", "int8", "fp16")

    def __init__(self, root: Path):
        self.root = root

    def files(self) -> list[tuple[Path, str]]:
        import onnx

        out = []
        for path in sorted(self.root.rglob("*.onnx")):
            try:
                m = onnx.load(str(path), load_external_data=False)
            except Exception:  # noqa: BLE001 - deliberately truncated/corrupt files of the error tests
                out.append((path, "unreadable"))
                continue
            props = {p.key: p.value for p in m.metadata_props}
            out.append((path, _onnx_kind(props)))
        return out


def _onnx_kind(props: dict) -> str:
    if "edge_fp16" in props:
        return "fp16"
    scheme = props.get("edge_quant_scheme")
    if scheme:
        return "int8" if scheme == "trt" else scheme
    return "export" if "edge_version" in props else "not made by edge"


@pytest.fixture(scope="session")
def exported_onnx(tmp_path_factory) -> ExportedOnnx:
    return ExportedOnnx(tmp_path_factory.getbasetemp())


class _AfterExports:
    """Moves tests marked ``after_exports`` behind every other test (a separate plugin object, so that this
    block leaves the hooks above untouched)."""

    @staticmethod
    def pytest_collection_modifyitems(config, items):
        late = [i for i in items if "after_exports" in i.keywords]
        items[:] = [i for i in items if "after_exports" not in i.keywords] + late


def pytest_configure(config):
    config.addinivalue_line("markers", "after_exports: runs after every other test (sees all exported files)")
    if not config.pluginmanager.has_plugin("edge-after-exports"):
        config.pluginmanager.register(_AfterExports(), "edge-after-exports")
