"""edge.trt.plugins: finding the library (here), and on a Jetson: loading it into TensorRT, building an
engine with each plugin and comparing its output on the device with the CPU reference (marked needs_trt /
needs_gpu: skipped here with the reason)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from edge.errors import DependencyError, PluginError
from edge.trt import plugins


def test_missing_library_lists_every_path_tried(monkeypatch, tmp_path):
    monkeypatch.delenv("EDGE_PLUGIN_LIB", raising=False)
    monkeypatch.setenv("EDGE_PLUGIN_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    # search only empty folders, so that a library built in this checkout does not hide the error path
    import edge.native._lib as lib

    empty = [tmp_path, tmp_path / "pkg", tmp_path / "build" / "plugins"]
    monkeypatch.setattr(lib, "search_dirs", lambda: empty)
    found, tried = plugins.find_library(plugins.PLUGIN_LIBRARY)
    assert found is None
    with pytest.raises(PluginError) as err:
        plugins.library_path()
    assert str(tmp_path / "libedge_plugins.so") in str(err.value)
    assert "build_plugins.sh" in str(err.value)
    assert len(tried) >= 3


def test_explicit_path_and_env_var(monkeypatch, tmp_path):
    lib = tmp_path / "libedge_plugins.so"
    with pytest.raises(PluginError, match="argument does not exist"):
        plugins.library_path(lib)
    monkeypatch.setenv("EDGE_PLUGIN_LIB", str(lib))
    with pytest.raises(PluginError, match="EDGE_PLUGIN_LIB does not exist"):
        plugins.library_path()
    lib.write_bytes(b"\x7fELF")  # only the search is tested here, nothing is loaded
    assert plugins.library_path() == lib.resolve()
    assert plugins.library_path(tmp_path) == lib.resolve()  # a directory holding the library


def test_env_dir_is_searched_first(monkeypatch, tmp_path):
    monkeypatch.delenv("EDGE_PLUGIN_LIB", raising=False)
    monkeypatch.setenv("EDGE_PLUGIN_DIR", str(tmp_path))
    (tmp_path / "libedge_plugins.so").write_bytes(b"\x7fELF")
    assert plugins.library_path() == (tmp_path / "libedge_plugins.so").resolve()


def test_load_without_tensorrt_names_the_dependency(monkeypatch, tmp_path):
    from edge._lazy import has_module

    if has_module("tensorrt"):
        pytest.skip("TensorRT is installed: the missing-dependency path does not apply")
    lib = tmp_path / "libedge_plugins.so"
    lib.write_bytes(b"\x7fELF")
    with pytest.raises(DependencyError, match="tensorrt"):
        plugins.load(lib)


# ---------------------------------------------------------------- on a Jetson (TensorRT + CUDA device)
@pytest.mark.needs_trt
def test_load_registers_both_creators():
    import tensorrt as trt

    path = plugins.load()
    assert path.is_file()
    assert plugins.check_creators() == plugins.EXPECTED_CREATORS
    plugins.load()  # idempotent: a second load must not fail on already-registered creators
    names = {c.name for c in trt.get_plugin_registry().all_creators}
    assert set(plugins.EXPECTED_CREATORS) <= names


def _field_collection(trt, fields: dict):
    out = []
    for name, value in fields.items():
        if isinstance(value, float):
            out.append(trt.PluginField(name, np.array([value], np.float32), trt.PluginFieldType.FLOAT32))
        else:
            out.append(trt.PluginField(name, np.array(np.atleast_1d(value), np.int32), trt.PluginFieldType.INT32))
    return trt.PluginFieldCollection(out)


def _run_plugin(op: str, fields: dict, inputs: list[np.ndarray]) -> np.ndarray:
    """Build a one-plugin engine (inputs as network inputs, same dtype) and run it on the device."""
    import tensorrt as trt

    lib = plugins.load()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    # strongly typed (the only mode of TensorRT 11): FP16 inputs keep the plugin in FP16 without builder flags
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    network = builder.create_network(0 if flag is None else 1 << int(flag))
    dtype = trt.float16 if inputs[0].dtype == np.float16 else trt.float32
    tensors = [network.add_input(f"in{i}", dtype, a.shape) for i, a in enumerate(inputs)]
    creator = trt.get_plugin_registry().get_creator(op, "1", "")
    plugin = creator.create_plugin(op, _field_collection(trt, fields), trt.TensorRTPhase.BUILD)
    assert plugin is not None, f"{op}: create_plugin rejected {fields}"
    layer = network.add_plugin_v3(tensors, [], plugin)
    layer.get_output(0).name = "out"
    network.mark_output(layer.get_output(0))
    config = builder.create_builder_config()
    blob = builder.build_serialized_network(network, config)
    assert blob is not None, f"{op}: engine build failed (see the TensorRT log)"
    return execute_plan(bytes(blob), {f"in{i}": a for i, a in enumerate(inputs)}, lib)["out"]


def execute_plan(plan: bytes, feed: dict[str, np.ndarray], lib=False) -> dict[str, np.ndarray]:
    """Run a serialised plan once in edge's TensorRT runner (loaded by edge.trt.engine): the H2D copies,
    the enqueue and the D2H copies are issued on the runner's one stream, in that order, so the plugin
    never reads inputs before their copy finished (torch's legacy-stream copies followed by an enqueue on
    a separate non-blocking stream, with no wait between them, were a race)."""
    from edge.runtime.tensorrt_backend import TensorRTRunner

    with TensorRTRunner(plan, plugins=lib, name="plugin test engine") as runner:
        return runner.infer(feed)


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("strides, crop", [([(2, 2), (2, 2)], (0, 0)), ([(2, 3), (3, 2), (4, 4)], (37, 29))])
def test_unwarp_plugin_on_device_equals_cpu_reference(dtype, strides, crop):
    from edge.native import multipool_unwarp

    m = math.prod(a * b for a, b in strides)
    x = np.random.default_rng(0).standard_normal((2 * m, 5, 3, 4)).astype(dtype)
    fields = {"strides_y": [a for a, _ in strides], "strides_x": [b for _, b in strides], "batch": 0,
              "out_h": crop[0], "out_w": crop[1]}
    got = _run_plugin("EdgeMultiPoolUnwarp", fields, [x])
    assert np.array_equal(got, multipool_unwarp(x, strides, 0, *crop))  # a gather: bit-exact


@pytest.mark.needs_trt
@pytest.mark.needs_gpu
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float16, 1e-2)])
@pytest.mark.parametrize("density", [0.0, 0.2, 1.0])
def test_sample_interp_plugin_on_device_equals_cpu_reference(dtype, tol, density):
    from edge.native import sample_interp

    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 16, 20, 24)).astype(dtype)
    w = (rng.standard_normal((24, 8, 3, 3)) * 0.2).astype(dtype)
    bias = rng.standard_normal(24).astype(dtype)
    mask = (rng.random((2, 1, 10, 12)) < density).astype(dtype)
    fields = {"stride": [2, 2], "padding": [1, 1], "dilation": [1, 1], "groups": 2, "activation": 1,
              "window": 7, "lambda": 0.5}
    got = _run_plugin("EdgeSampleInterp", fields, [x, mask, w, bias])
    want = sample_interp(x, mask, w, bias, stride=2, padding=1, groups=2, activation=1, window=7, lam=0.5)
    scale = max(1.0, float(np.abs(want.astype(np.float64)).max()))
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=0, atol=tol * scale)


def test_library_paths_share_the_native_search():
    from edge.native import search_dirs

    assert Path(plugins.__file__).resolve().parents[1] / "native" in search_dirs()
