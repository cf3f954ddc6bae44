"""``build_engine``: ONNX (+ plugin library, + recipe shapes) -> plan file + sidecar manifest, verified by
deserialising it through the one loading path (``edge.trt.engine.EngineFromPath``), as trtexec does.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import EngineError
from edge.trt.engine import EngineFromPath
from edge.trt.loaders import (
    BuildOptions,
    CreateConfig,
    EngineFromNetwork,
    NetworkFromOnnx,
    SaveEngine,
)
from edge.trt.manifest import make_manifest, write_manifest


@dataclass
class BuildResult:
    engine: Path
    manifest: Path
    seconds: float
    dla_fallback: list[str] = field(default_factory=list)


def build_engine(onnx_path: str | os.PathLike, engine_path: str | os.PathLike, options: BuildOptions | None = None,
                 recipe: Any = None, calib: Any = None, verify: bool = True,
                 echo: Callable[[str], None] | None = None) -> BuildResult:
    """Build ``onnx_path`` into ``engine_path`` and write ``<engine>.json``.

    Args:
        recipe: a Recipe (or name) whose min/opt/max shapes fill ``options.shapes`` when not given.
        calib: for ``precision="int8-implicit"`` (TensorRT 10.x): a FrameSet or source spec(s),
            preprocessed by ``recipe``; its sha256 goes into the manifest.
        verify: deserialise the written engine with its manifest and plugins (EngineFromPath), so an engine
            that this machine cannot load is reported at build time.
        echo: where the static TensorRT check's warnings go (``check_before_build``); None: ``warnings.warn``.
    """
    check_before_build(onnx_path, echo)
    options = options or BuildOptions()
    if recipe is not None:
        from edge.core.recipe import Recipe

        recipe = recipe if isinstance(recipe, Recipe) else Recipe.load(recipe)
        if not options.shapes:
            options.shapes = recipe.shapes()
    calibrator, calib_sha = _calibrator(options, recipe, calib)
    config = CreateConfig(options, calibrator)
    t0 = time.perf_counter()
    try:
        path = SaveEngine(EngineFromNetwork(NetworkFromOnnx(onnx_path, options), config), engine_path)()
    finally:
        if calibrator is not None:
            calibrator.free()
    seconds = time.perf_counter() - t0
    calib_sha = calib_sha or _qdq_calib_sha(onnx_path)
    man = make_manifest(path, precision=options.precision, shapes=options.shapes, onnx_path=onnx_path,
                        plugin_paths=options.plugins, calib_sha256=calib_sha, options=options.to_dict(),
                        extra={"dla_fallback": config.dla_fallback, "build_seconds": round(seconds, 2),
                               "timing_cache_rejected": config.stale_timing_cache is not None})
    result = BuildResult(path, write_manifest(path, man), seconds, config.dla_fallback)
    if verify:
        EngineFromPath(path, plugins=options.plugins[0] if options.plugins else False)()
    return result


def _calibrator(options: BuildOptions, recipe: Any, calib: Any) -> tuple[Any, str | None]:
    if options.precision != "int8-implicit":
        return None, None
    if recipe is None or calib is None:
        raise EngineError("precision int8-implicit needs a recipe and calibration data (--recipe, --calib)")
    from edge.core.frames import FrameSet, batches, load_many
    from edge.trt.calibrator import make_entropy_calibrator

    frames = calib if isinstance(calib, FrameSet) else load_many([calib] if isinstance(calib, str) else list(calib))
    return make_entropy_calibrator(batches(recipe, frames, 1, desc="TensorRT calibration"), options.calib_cache), \
        frames.sha256()


def _qdq_calib_sha(onnx_path: str | os.PathLike) -> str | None:
    """The calibration hash a Q/DQ ONNX from edge quantize carries in its metadata."""
    try:
        import onnx

        m = onnx.load(str(onnx_path), load_external_data=False)
    except Exception:  # noqa: BLE001 - provenance only
        return None
    return next((p.value for p in m.metadata_props if p.key == "edge_calib_sha256"), None)


def installed_release() -> str | None:
    """The installed TensorRT's version from its package metadata (no import of tensorrt), e.g. "10.3.0"."""
    from importlib import metadata

    for dist in ("tensorrt", "tensorrt-cu12", "tensorrt-cu13", "tensorrt_libs"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def check_before_build(onnx_path: str | os.PathLike, echo: Callable[[str], None] | None = None) -> None:
    """Before the parser runs: refuse cpu-u8 files with the scheme to use, then the static TensorRT check.

    The check targets the installed TensorRT release when its package metadata names one (else 10.3 and
    10.13, or ``EDGE_TRT_RELEASES``); errors raise a one-line TrtCompatError, warnings go to ``echo`` (default:
    ``warnings.warn``).
    """
    from edge.errors import InputError
    from edge.export import load_onnx
    from edge.export.check import enforce, normalize_release

    model = load_onnx(onnx_path, check=False)
    props = {p.key: p.value for p in model.metadata_props}
    if props.get("edge_quant_scheme") == "cpu-u8" or _uint8_dq(model):
        raise InputError(f"{onnx_path} is a cpu-u8 (asymmetric UINT8) Q/DQ file, made for ONNX Runtime on a CPU: "
                         "TensorRT accepts only symmetric INT8 Q/DQ (zero points 0). Fix: quantize the FP32 model "
                         "with `edge quantize --scheme trt` and build that file")
    version = installed_release()
    releases = normalize_release(version) if version else None
    enforce(model, releases, stage="edge build", name=str(onnx_path), echo=echo or _warn)


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def _uint8_dq(model) -> bool:
    """A DequantizeLinear reading UINT8 data (initializer or the output of a UINT8 QuantizeLinear)."""
    uint8 = {i.name for i in model.graph.initializer if i.data_type == 2}
    for n in model.graph.node:
        if n.op_type == "QuantizeLinear" and len(n.input) > 2 and n.input[2] in uint8:
            uint8.update(n.output)
    return any(n.op_type == "DequantizeLinear" and n.input[0] in uint8 for n in model.graph.node)
