"""Explicit INT8: a Q/DQ ONNX that TensorRT 10 and 11 accept, produced on a CPU with onnxruntime's
quantization tools and calibrated with a Recipe + FrameSet.

Schemes (registry ``SCHEMES``):
- ``trt``    TensorRT-style: symmetric INT8 activations and weights (zero point 0), per-channel weights,
             biases left FP32 (TensorRT folds them), Q/DQ on the inputs of the ops TensorRT fuses.
             The file for TensorRT. ONNX Runtime runs it on a CPU too (slowly: see docs/BENCHMARKS.md).
- ``cpu-u8`` asymmetric UINT8 activations + symmetric per-channel INT8 weights: ONNX Runtime's fast CPU
             path (7-bit weights, ``reduce_range``, on x86 CPUs without VNNI, whose int8 kernels would
             otherwise saturate). NOT for TensorRT (it needs zero-point 0); named apart so it is never mistaken.
             Its quantized layers also get a Q/DQ on their output where a consumer stays FP32
             (``edge.calib.ort_cpu.seal_outputs``): ORT fuses a layer into its int8 kernel only then.

Why onnxruntime and not NVIDIA ModelOpt: ModelOpt installs only in its own environment here (it pulls
onnxruntime-gpu and cupy and downgrades onnx), converts the rest to FP16 by default, and fails on models
with TensorRT plugin nodes when TensorRT is absent; onnxruntime's QDQ quantizer configured as above
gives the same symmetric per-channel Q/DQ TensorRT consumes and runs on plugin models with the
model-local ONNX functions attached during calibration (docs/TENSORRT.md, "Plugin nodes on a CPU").

Calibration ranges are cached (``ranges.json`` beside the output or ``cache_path``) so that re-quantizing
with a different ``nodes_to_exclude`` list (the accuracy gate does this) costs seconds, not a recalibration.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge import __version__
from edge._lazy import lazy_import
from edge.calib.evaluate import has_vnni
from edge.calib.ort_cpu import load_ranges, seal_outputs
from edge.core.frames import FrameSet, batches, check_one_size
from edge.core.frames import load_many as load_frames
from edge.core.recipe import Recipe
from edge.errors import InputError
from edge.export.contract import DOMAIN as PLUGIN_DOMAIN
from edge.io import atomic_path, write_text
from edge.registry import Registry

onnx = lazy_import("onnx", feature="INT8 quantization")
ortq = lazy_import("onnxruntime.quantization", feature="INT8 quantization", install="pip install 'edge[onnx]'")


METHODS = ("entropy", "percentile", "max")
# ops whose inputs get Q/DQ: TensorRT fuses Q/DQ into these (conv/gemm/pool/residual add/concat)
TRT_OPS = ["Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "GlobalAveragePool", "AveragePool", "MaxPool",
           "Concat"]

SCHEMES: Registry[dict] = Registry("quantization scheme")
SCHEMES.register("trt")({"activation": "QInt8", "weight": "QInt8", "symmetric_act": True,
                         "for_tensorrt": True, "suffix": "int8", "seal": False})
SCHEMES.register("cpu-u8")({"activation": "QUInt8", "weight": "QInt8", "symmetric_act": False,
                            "for_tensorrt": False, "suffix": "cpu-u8", "seal": True})


@dataclass
class QuantResult:
    """What ``quantize`` wrote and how: the Q/DQ file, the ranges cache and the provenance."""

    path: Path
    ranges_path: Path
    method: str
    scheme: str
    calib_frames: int
    calib_sha256: str
    calib_seconds: float
    excluded: list[str] = field(default_factory=list)
    plugin_nodes: list[str] = field(default_factory=list)
    qdq_nodes: int = 0
    sealed: list[str] = field(default_factory=list)  # tensors given an output Q/DQ for ORT's CPU fusion

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["path"], d["ranges_path"] = str(self.path), str(self.ranges_path)
        return d


class _Reader:
    """onnxruntime CalibrationDataReader over recipe-preprocessed frames (built lazily: ORT subclass)."""

    def __new__(cls, recipe: Recipe, frames: FrameSet, batch_size: int):
        class Reader(ortq.CalibrationDataReader):
            def __init__(self):
                self._it = batches(recipe, frames, batch_size, desc="calibrating")

            def get_next(self):
                return next(self._it, None)

            def __len__(self):
                return len(frames)

        return Reader()


def quantize(onnx_in: str | os.PathLike, onnx_out: str | os.PathLike, recipe: Recipe | str,
             calib: FrameSet | str | Sequence[str], method: str = "entropy", scheme: str = "trt",
             nodes_to_exclude: Sequence[str] | None = None, percentile: float | None = None,
             batch_size: int | None = None, cache_path: str | os.PathLike | None = None,
             limit: int | None = None, op_types: Sequence[str] | None = None, seal: bool | None = None,
             reduce_range: bool | None = None) -> QuantResult:
    """Calibrate ``onnx_in`` on ``calib`` frames preprocessed by ``recipe`` and write a Q/DQ ONNX.

    Args:
        calib: a FrameSet, or source spec(s) for ``edge.core.frames.load`` (e.g. "skimage", "opencv:vtest.avi@5").
        method: "entropy" (TensorRT's default), "percentile" (``percentile``, default 99.99) or "max".
        scheme: "trt" (symmetric S8, for TensorRT) or "cpu-u8" (asymmetric U8, ONNX Runtime CPU only).
        nodes_to_exclude: node names left in FP32 (the gate fills this); plugin nodes always stay unquantized.
        cache_path: calibration ranges JSON; None means ``<onnx_out stem>.ranges.<method>.<sym|asym>.json``. Reused when
            its ``.key`` file matches (same frames, recipe, method and symmetry); deleted otherwise.
        seal: give quantized layers whose output feeds an FP32 consumer a Q/DQ on that output, so ONNX
            Runtime's CPU kernels fuse them (``ort_cpu.seal_outputs``); None means the scheme's default
            (True for ``cpu-u8``, False for ``trt``: TensorRT fuses input-side Q/DQ itself).
        reduce_range: 7-bit weights; None means True for CPU schemes on x86 CPUs without VNNI (ORT's u8 x s8
            kernels sum pairs in saturating int16 there) and False otherwise. False on such a CPU trades
            occasional saturation for full 8-bit weights (measured on MobileNetV2: docs/BENCHMARKS.md).
    Returns:
        QuantResult; the file is written atomically and carries edge metadata_props.
    """
    if method not in METHODS:
        raise InputError(f"calibration method '{method}' must be one of {METHODS}")
    cfg = SCHEMES.get(scheme)
    recipe = Recipe.load(recipe) if not isinstance(recipe, Recipe) else recipe
    frames = calib if isinstance(calib, FrameSet) else load_frames([calib] if isinstance(calib, str) else list(calib),
                                                                   limit)
    onnx_in, onnx_out = Path(onnx_in), Path(onnx_out)
    if not onnx_in.exists():
        raise InputError(f"ONNX model {onnx_in} does not exist")
    if method in ("entropy", "percentile"):
        check_one_size(recipe, frames, method)
    from edge.export import load_onnx

    model = load_onnx(onnx_in, check=False)  # a missing, truncated or corrupt file: one clear error
    plugins = [n.name or n.op_type for n in model.graph.node if n.domain == PLUGIN_DOMAIN]
    calib_sha = frames.sha256()
    sym = "sym" if cfg["symmetric_act"] else "asym"
    ranges = Path(cache_path) if cache_path else onnx_out.with_name(f"{onnx_out.stem}.ranges.{method}.{sym}.json")
    key = _ranges_key(calib_sha, recipe, f"{method}.{sym}", percentile)
    _drop_stale(ranges, key)
    excluded = list(nodes_to_exclude or [])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edge-quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        _preprocess(model, pre)
        extra = {"ActivationSymmetric": cfg["symmetric_act"], "WeightSymmetric": True, "QuantizeBias": False,
                 "CalibTensorRangeSymmetric": cfg["symmetric_act"],
                 # TensorRT placement: Q/DQ on the *inputs* of quantizable ops only. ORT would also quantize
                 # each Conv's output, i.e. before its ReLU/ReLU6 (a wide signed range, then quantized again
                 # after the Clip): double rounding TensorRT cannot fuse away, and a plugin consuming a Conv
                 # output would be fed INT8-rounded data.
                 "OpTypesToExcludeOutputQuantization": list(op_types or TRT_OPS)}
        if method == "percentile":
            extra["CalibPercentile"] = float(percentile if percentile is not None else 99.99)
        qtmp = Path(tmp) / "q.onnx"
        if method == "entropy" and not ranges.exists():
            _entropy_ranges(pre, _Reader(recipe, frames, batch_size or 1), list(op_types or TRT_OPS),
                            cfg["symmetric_act"], ranges, Path(tmp))
        with _quiet_ort_logging():
            ortq.quantize_static(
                str(pre), str(qtmp), calibration_data_reader=_Reader(recipe, frames, batch_size or 1),
                quant_format=ortq.QuantFormat.QDQ, op_types_to_quantize=list(op_types or TRT_OPS), per_channel=True,
                reduce_range=(not cfg["for_tensorrt"] and not has_vnni()) if reduce_range is None else reduce_range,
                activation_type=getattr(ortq.QuantType, cfg["activation"]),
                weight_type=getattr(ortq.QuantType, cfg["weight"]), nodes_to_exclude=excluded,
                calibrate_method=_ort_method(method), extra_options=extra, calibration_cache_path=str(ranges))
        qmodel = onnx.load(str(qtmp))
    sealed = seal_outputs(qmodel, load_ranges(ranges)) if (cfg["seal"] if seal is None else seal) else []
    seconds = time.perf_counter() - t0
    qmodel = _detach_plugin_functions(qmodel)
    unshare_plugin_inputs(qmodel)
    _stamp(qmodel, recipe, method, scheme, calib_sha, excluded)
    if cfg["for_tensorrt"]:  # the static TensorRT parser check (edge.export.check): errors raise, nothing is written
        from edge.export.check import enforce

        enforce(qmodel, stage="edge quantize", name=str(onnx_out))
    with atomic_path(onnx_out, suffix=".onnx") as tmp_out:
        onnx.save(qmodel, str(tmp_out))
    write_text(ranges.with_suffix(".key"), key)
    qdq = sum(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in qmodel.graph.node)
    return QuantResult(onnx_out, ranges, method, scheme, len(frames), calib_sha, seconds, excluded, plugins, qdq,
                       sealed)


# TensorRT's entropy calibration: a 2048-bin histogram, thresholds searched over 128 quantized bins.
ENTROPY_BINS, ENTROPY_QUANTIZED_BINS = 2048, 128


def _entropy_ranges(model_path: Path, reader, op_types: list[str], symmetric: bool, ranges: Path, tmp: Path) -> None:
    """Entropy (KL) calibration with TensorRT's histogram sizes, saved as onnxruntime's ranges cache.

    ``quantize_static`` cannot pass the bin counts to its entropy calibrator, whose defaults (128 histogram bins,
    128 quantized bins) leave the KL search a single candidate, the full range: "entropy" silently equalled "max"
    (same figures measured on MobileNetV2). Calibrating here and handing ``quantize_static`` the cache fixes it.
    """
    from onnxruntime.quantization.calibrate import create_calibrator, save_tensors_data

    with _quiet_ort_logging():  # ORT prints
        cal = create_calibrator(model_path, op_types, augmented_model_path=str(tmp / "augmented.onnx"),
                                calibrate_method=ortq.CalibrationMethod.Entropy,
                                extra_options={"symmetric": symmetric, "num_bins": ENTROPY_BINS,
                                               "num_quantized_bins": ENTROPY_QUANTIZED_BINS})
        cal.collect_data(reader)
        data = cal.compute_data()
    save_tensors_data(data, ranges)


def quantizable_nodes(onnx_path: str | os.PathLike, op_types: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``[(node name, op type)]`` of the nodes the quantizer would give Q/DQ inputs (plugins excluded)."""
    ops = set(op_types or TRT_OPS)
    model = onnx.load(str(onnx_path), load_external_data=False)
    return [(n.name, n.op_type) for n in model.graph.node if n.op_type in ops and n.domain in ("", "ai.onnx")]


def ensure_node_names(model) -> bool:
    """Give every unnamed node a unique name (``<op>_<i>``) so it can be excluded by name; True if changed."""
    seen, changed = {n.name for n in model.graph.node if n.name}, False
    for i, n in enumerate(model.graph.node):
        if not n.name:
            name = f"{n.op_type}_{i}"
            while name in seen:
                name += "_"
            n.name, changed = name, True
            seen.add(name)
    return changed


def _preprocess(model, out: Path) -> None:
    """Name nodes, attach plugin functions for ORT, then onnxruntime's quant_pre_process (shape inference)."""
    ensure_node_names(model)
    model = _attach_plugin_functions(model)
    src = out.with_name("named.onnx")
    onnx.save(model, str(src))
    try:
        ortq.quant_pre_process(str(src), str(out), skip_optimization=True, skip_symbolic_shape=True)
    except Exception as e:  # noqa: BLE001 - shape inference is an optimisation; keep going without it
        logging.getLogger(__name__).warning("quant_pre_process failed (%s); quantizing without it", e)
        onnx.save(model, str(out))


def _attach_plugin_functions(model):
    """Plugin nodes (domain trt.plugins) get model-local ONNX functions so ORT can run them on a CPU
    (edge.export.ort_functions.attach_plugin_functions); returns the model to calibrate (a copy when
    attached)."""
    if not any(n.domain == PLUGIN_DOMAIN for n in model.graph.node):
        return model
    from edge.export.ort_functions import attach_plugin_functions

    return attach_plugin_functions(model)


def _detach_plugin_functions(qmodel):
    """Remove the functions attached for calibration (the plugin nodes stay, unquantized)."""
    if not any(n.domain == PLUGIN_DOMAIN for n in qmodel.graph.node):
        return qmodel
    from edge.export.ort_functions import detach_plugin_functions

    return detach_plugin_functions(qmodel)


def unshare_plugin_inputs(qmodel) -> list[str]:
    """Feed plugin nodes the FP tensor, not a DequantizeLinear output shared with quantized consumers.

    When a tensor ``x`` feeds both a quantized op (a mask-head Conv) and a plugin (EdgeSampleInterp), the
    quantizer inserts one ``x -> Q -> DQ`` and every consumer reads the DQ output: the plugin then gets
    INT8-rounded data, and the DQ cannot be fused into the Conv because it has a non-quantized consumer.
    The plugin input is rewired to ``x`` (the Q's input). Returns the rewired plugin node names.
    """
    producers = {o: n for n in qmodel.graph.node for o in n.output}
    changed = []
    for node in qmodel.graph.node:
        if node.domain != PLUGIN_DOMAIN:
            continue
        for k, name in enumerate(node.input):
            dq = producers.get(name)
            q = producers.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
            if q is not None and q.op_type == "QuantizeLinear":
                node.input[k] = q.input[0]
                changed.append(node.name)
    return changed


def _stamp(model, recipe: Recipe, method: str, scheme: str, calib_sha: str, excluded: list[str]) -> None:
    props = {"edge_version": __version__, "edge_quant_method": method, "edge_quant_scheme": scheme,
             "edge_recipe": recipe.name, "edge_recipe_sha256": recipe.fingerprint(),
             "edge_calib_sha256": calib_sha, "edge_fp32_nodes": ",".join(excluded)}
    old = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(old)
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)


def _ort_method(method: str):
    cm = ortq.CalibrationMethod
    return {"entropy": cm.Entropy, "percentile": cm.Percentile, "max": cm.MinMax}[method]


def _ranges_key(calib_sha: str, recipe: Recipe, method: str, percentile: float | None) -> str:
    return hashlib.sha256(f"{calib_sha}|{recipe.fingerprint()}|{method}|{percentile}".encode()).hexdigest()


def _drop_stale(path: Path, key: str) -> None:
    """Delete a ranges cache made from other data/recipe/method/symmetry (its ``.key`` file says which)."""
    key_file = path.with_suffix(".key")
    if path.exists() and (not key_file.exists() or key_file.read_text() != key):
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _quiet_ort_logging():
    """quantize_static logs warnings on the root logger (e.g. about pre-processing it cannot see through
    our temporary copy) and prints its calibration progress ("Collecting tensor data ..."); raise the level and
    discard stdout only for the duration of the call."""
    root = logging.getLogger()
    old = root.level
    root.setLevel(max(old, logging.ERROR))
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            yield
    finally:
        root.setLevel(old)
