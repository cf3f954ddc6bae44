"""The accuracy gate on the device: each gate step builds the TensorRT engine of the Q/DQ file and scores the
ENGINE with the gate's metric (``quantize_with_gate(..., backend="tensorrt")``, ``edge quantize --gate-backend
tensorrt``), so a file that passes in ONNX Runtime but loses accuracy as an engine fails here.

Each step also reports, from TensorRT's engine inspector, every layer TensorRT ran in higher precision than
INT8, mapped back to ONNX node names:

- the build sets ``IBuilderConfig.profiling_verbosity = ProfilingVerbosity.DETAILED`` (NVIDIA/TensorRT
  python/src/infer/pyCore.cpp at release/10.3, l.1474; the enum l.1406-1410), without which the inspector
  gives layer names only;
- ``ICudaEngine.create_engine_inspector()`` (pyCore.cpp l.1270) and ``EngineInspector.get_engine_information(
  LayerInformationFormat.JSON)`` (l.1122-1134) give ``{"Layers": [...]}``: per engine layer ``Name``,
  ``LayerType``, ``Inputs``/``Outputs`` with ``Format/Datatype`` strings (read as Polygraphy does,
  tools/Polygraphy/polygraphy/backend/trt/util.py at release/10.3, l.760-796) and ``Metadata``;
- the ONNX parser stamps each layer's metadata ``[ONNX Layer: <node name>]`` (onnx/onnx-tensorrt
  importerUtils.cpp, processMetadata, main@7ecb49a), and a fused layer joins its nodes' entries with the
  control characters 0x1E/0x1F (TensorRT Engine Explorer, tools/experimental/trt-engine-explorer/trex/parser.py
  at release/10.3, fix_metadata / fix_unicode).

Build and load go through edge.trt's public loaders (``NetworkFromOnnx`` -> ``CreateConfig`` ->
``EngineFromNetwork``) and the runner's one loading path (``TensorRTRunner`` -> ``EngineFromBytes``).
Precision ``best`` (TensorRT 10: FP16 allowed beside the Q/DQ INT8), so the layers the gate returns from INT8 run
in FP16, as ``edge build --precision best`` builds them.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge._lazy import lazy_import
from edge.calib import evaluate as ev
from edge.core.frames import batches
from edge.trt.loaders import BuildOptions, CreateConfig, EngineFromNetwork, NetworkFromOnnx

if TYPE_CHECKING:
    import tensorrt as trt
else:
    trt = lazy_import("tensorrt", feature="the TensorRT gate backend")

_ENTRY = re.compile(r"\[ONNX Layer: ([^|\]]+?)\s*(?:\|[^\]]*)?\]")
_QDQ = ("QuantizeLinear", "DequantizeLinear")


class DetailedConfig(CreateConfig):
    """``CreateConfig`` plus ``profiling_verbosity = DETAILED`` (the inspector then names each layer's
    input/output types and ONNX origin)."""

    def __call__(self, builder: Any, network: Any) -> Any:
        config = super().__call__(builder, network)
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        return config


def build_plan(q_path: str | os.PathLike, recipe, max_batch: int, timing_cache: str | None = None) -> bytes:
    """The serialised engine of the Q/DQ file (INT8 where it has Q/DQ, FP16/FP32 elsewhere), input profile from
    ``recipe`` with batch up to ``max_batch``."""
    spec = recipe.input
    hi = (max(max_batch, spec.opt[0]),) + tuple(spec.max[1:])
    options = BuildOptions(precision="best", shapes={spec.name: (tuple(spec.min), tuple(spec.opt), hi)},
                           timing_cache=timing_cache)
    return EngineFromNetwork(NetworkFromOnnx(q_path, options), DetailedConfig(options))()


def engine_layers(engine: Any) -> list[dict]:
    """The inspector's per-layer JSON of a built ``ICudaEngine`` (``{"Layers": [...]}``, DETAILED entries)."""
    inspector = engine.create_engine_inspector()
    info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
    return [layer if isinstance(layer, dict) else {"Name": layer} for layer in info.get("Layers", [])]


def datatype(fmt: str) -> str:
    """"int8" | "fp16" | "fp32" | "other" of an inspector ``Format/Datatype`` string."""
    up = fmt.upper()
    if "INT8" in up:
        return "int8"
    if "FP16" in up or "HALF" in up:
        return "fp16"
    if "FP32" in up or "FLOAT" in up:
        return "fp32"
    return "other"


def onnx_nodes(layer: dict) -> list[str]:
    """ONNX node names of one engine layer, from its ``Metadata`` (fused layers list several)."""
    return [m.group(1) for part in re.split(r"[\x1e\x1f]", layer.get("Metadata") or "")
            for m in _ENTRY.finditer(part)]


def node_precisions(layers: list[dict]) -> dict[str, str]:
    """``{ONNX node: precision its engine layer computed in}``: the type of the layer's first non-constant
    input (a fused Q/DQ conv reads INT8). A node split over several layers keeps its lowest precision."""
    rank = {"int8": 0, "fp16": 1, "fp32": 2, "other": 3}
    out: dict[str, str] = {}
    for layer in layers:
        ins = [i for i in layer.get("Inputs", []) if "Format/Datatype" in i]
        if not ins:
            continue
        prec = datatype(ins[0]["Format/Datatype"])
        for node in onnx_nodes(layer):
            if node not in out or rank[prec] < rank[out[node]]:
                out[node] = prec
    return out


def higher_precision(q_path: str | os.PathLike, precisions: dict[str, str]) -> list[dict]:
    """Every quantizable ONNX node of ``q_path`` (Conv, Gemm, ... see ``qdq.TRT_OPS``) TensorRT did not run in
    INT8: ``[{"node", "op", "precision"}]`` (precision "fused away" when no layer names it)."""
    from edge.calib.qdq import TRT_OPS, quantizable_nodes

    weighted = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
    rows = []
    for name, op in quantizable_nodes(q_path, TRT_OPS):
        prec = precisions.get(name, "fused away")
        if prec != "int8" and (op in weighted or name in precisions):
            rows.append({"node": name, "op": op, "precision": prec})
    return rows


def _run_engine(runner, recipe, frames, batch_size: int, names: list[str]) -> list[np.ndarray]:
    chunks: list[list[np.ndarray]] = [[] for _ in names]
    for feed in batches(recipe, frames, batch_size, desc="TensorRT engine"):
        out = runner.infer(feed)
        for i, n in enumerate(names):
            chunks[i].append(out[n])
    return [np.concatenate(c) for c in chunks]


def measure_engine(q_path, recipe, evs, ref, lat_feed, fp_sess, batch_size, n_excl, metric, literal: bool = True,
                   threads: int | None = None) -> dict:
    """One gate step scored on the TensorRT engine of ``q_path`` (same keys as ``gate._measure``, plus
    ``engine_higher_precision``, ``backend``, ``build_seconds``); latency is the engine's (ms per ``lat_feed``
    batch, host copies included), not a ratio to the CPU FP32 reference."""
    import onnx

    from edge.runtime.tensorrt_backend import TensorRTRunner

    t0 = time.perf_counter()
    batch = max(1, min(batch_size, recipe.input.max[0]))
    plan = build_plan(q_path, recipe, batch, timing_cache=str(Path(q_path).with_suffix(".timing-cache")))
    build_s = time.perf_counter() - t0
    names = [o.name for o in onnx.load(str(q_path), load_external_data=False).graph.output]
    with TensorRTRunner(plan, name=Path(q_path).name) as runner:
        layers = engine_layers(runner.engine)
        outs = _run_engine(runner, recipe, evs, batch, names)
        lat = [0.0] * 20
        for i in range(len(lat) + 3):
            t = time.perf_counter()
            runner.infer(lat_feed)
            if i >= 3:
                lat[i - 3] = time.perf_counter() - t
    cmp = ev.compare(ref, outs, recipe, evs.labels)
    return {"fp32_layers": n_excl, "top1_agreement": cmp.top1_agreement, "snr_db": cmp.snr_db[0],
            "cosine": cmp.cosine[0], "accuracy": cmp.accuracy, "accuracy_fp32": cmp.accuracy_ref, **cmp.extra,
            "latency_ms": float(np.median(lat) * 1e3), "latency_ratio": None, "backend": "tensorrt",
            "engine_higher_precision": higher_precision(q_path, node_precisions(layers)),
            "engine_layers": len(layers), "build_seconds": build_s, "eval_seconds": time.perf_counter() - t0}
