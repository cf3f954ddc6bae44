"""ONNX Runtime backend: the CPU twin of every TensorRT engine.

Runs a portable ``model.onnx`` directly. A plugin-mode file (nodes in domain ``trt.plugins``, e.g.
``EdgeMultiPoolUnwarp``) is run by attaching, in memory only, model-local functions that implement
each plugin op from standard operators (``edge.export.ort_functions.attach_plugin_functions``): the
file on disk, the one handed to TensorRT, is the one executed here and is never modified.

Providers: CPU by default; CUDA and TensorRT execution providers are used when this onnxruntime build
has them (override with ``providers=[...]``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edge._lazy import lazy_import
from edge.errors import ModelLoadError, RuntimeBackendError
from edge.export.contract import DOMAIN as PLUGIN_DOMAIN
from edge.runtime.base import Runner, TensorMeta, backend_error, backends

ort = lazy_import("onnxruntime", feature="the ONNX Runtime backend")
onnx = lazy_import("onnx", feature="the ONNX Runtime backend")


PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")

# ONNX Runtime type strings -> numpy dtypes
_ORT_DTYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(int16)": np.int16,
    "tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(bool)": np.bool_,
}


def load_model_proto(model: Any) -> Any:
    """An ``onnx.ModelProto`` from a path, bytes or a ModelProto; ModelLoadError if it does not parse."""
    from edge.export import load_onnx

    return load_onnx(model, check=False)


def has_plugin_nodes(proto) -> bool:
    return any(n.domain == PLUGIN_DOMAIN for n in proto.graph.node)


def attach_plugins(proto, src: str):
    """The same model with model-local functions for its plugin nodes (in memory; ``proto`` unchanged)."""
    from edge.export.ort_functions import attach_plugin_functions

    copy = type(proto)()
    copy.CopyFrom(proto)
    return attach_plugin_functions(copy)


def default_providers() -> list[str]:
    available = set(ort.get_available_providers())
    return [p for p in PREFERRED_PROVIDERS if p in available]


OPTIMIZATION_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
                       "all": "ORT_ENABLE_ALL"}


def create_session(model: Any, providers: Sequence[str] | None = None, threads: int | None = None,
                   optimization: str | None = None, literal_qdq: bool = False, profile_prefix: str | None = None,
                   name: str | None = None):
    """The one place edge builds an ``onnxruntime.InferenceSession`` (runners, the accuracy gate, profiles).

    Args:
        model: path, bytes or ModelProto; plugin nodes get their model-local functions attached in memory.
        providers: None = TensorRT/CUDA when present, then CPU.
        threads: intra-op threads (inter-op then 1); None = ONNX Runtime's default.
        optimization: "disable" | "basic" | "extended" | "all" (None).
        literal_qdq: run every QuantizeLinear/DequantizeLinear as written, with the ops between them in FP32
            (graph optimisations off): the arithmetic TensorRT's INT8 kernels implement. ORT's fused int8
            kernels instead saturate on CPUs without VNNI (u8 x s8 pairs summed in int16 by vpmaddubsw on
            AVX2): measured 55 % instead of 82 % top-1 agreement for MobileNetV2, a CPU artefact.
        profile_prefix: enable ORT's profiler, writing to this prefix (``session.end_profiling()``).
    """
    label = name or (str(model) if isinstance(model, (str, os.PathLike)) else "onnx-model")
    proto = load_model_proto(model)
    if has_plugin_nodes(proto):
        proto = attach_plugins(proto, label)
    level = "disable" if literal_qdq else (optimization or "all")
    if level not in OPTIMIZATION_LEVELS:
        raise RuntimeBackendError(f"{label}: unknown optimization level '{level}'; use one of {list(OPTIMIZATION_LEVELS)}")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS[level])
    if threads:
        opts.intra_op_num_threads, opts.inter_op_num_threads = int(threads), 1
    if profile_prefix:
        opts.enable_profiling, opts.profile_file_prefix = True, str(profile_prefix)
    providers = list(providers) if providers else default_providers()
    try:
        return ort.InferenceSession(proto.SerializeToString(), sess_options=opts, providers=providers)
    except Exception as e:  # noqa: BLE001 - ORT raises its own Fail/InvalidGraph/NotImplemented types
        raise ModelLoadError(f"ONNX Runtime cannot load '{label}' (providers {providers}): {e}") from e


@backends.register("onnxruntime")
class OnnxRuntimeRunner(Runner):
    """Runs an ONNX model (path, bytes or ModelProto) with ONNX Runtime.

    Args:
        model: path to ``.onnx``, serialized bytes, or an ``onnx.ModelProto``.
        providers: execution providers in priority order; None = TensorRT/CUDA when present, then CPU.
        threads: intra-op threads; None = ONNX Runtime's default.
        optimization: graph optimization level name ("disable", "basic", "extended", "all"); None = "all".
        literal_qdq: run Q/DQ nodes literally (see :func:`create_session`); for accuracy checks of TensorRT files.
        name: label used in reports; None = the file name.
    """

    backend = "onnxruntime"

    def __init__(self, model: Any, providers: Sequence[str] | None = None, threads: int | None = None,
                 optimization: str | None = None, literal_qdq: bool = False, name: str | None = None):
        self.source = model if isinstance(model, (bytes, bytearray)) or hasattr(model, "graph") else Path(model)
        label = Path(model).name if isinstance(self.source, Path) else "onnx-model"
        super().__init__(name or label)
        self.providers = list(providers) if providers is not None else None
        self.threads = threads
        self.optimization = optimization or "all"
        self.literal_qdq = literal_qdq
        self.session: Any = None  # onnxruntime.InferenceSession once active
        self.plugin_mode = False

    def activate_impl(self) -> None:
        self.plugin_mode = has_plugin_nodes(load_model_proto(self.source))
        self.session = create_session(self.source, self.providers, self.threads, self.optimization, self.literal_qdq,
                                      name=self.name)

    def deactivate_impl(self) -> None:
        self.session = None

    @property
    def active_providers(self) -> list[str]:
        self.activate()
        return list(self.session.get_providers())

    def inputs_impl(self) -> list[TensorMeta]:
        return [_meta(a) for a in self.session.get_inputs()]

    def outputs_impl(self) -> list[TensorMeta]:
        return [_meta(a) for a in self.session.get_outputs()]

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self.session.get_outputs()]
        try:
            values = self.session.run(names, feed)
        except Exception as e:  # noqa: BLE001
            raise backend_error(self.name, "ONNX Runtime inference", e) from e
        return dict(zip(names, values))


def _meta(arg) -> TensorMeta:
    if arg.type not in _ORT_DTYPES:
        raise RuntimeBackendError(f"tensor '{arg.name}' has type {arg.type}, which edge's runners do not handle")
    shape = tuple(d if isinstance(d, int) else (d or None) for d in arg.shape) if arg.shape is not None else None
    return TensorMeta(arg.name, shape, np.dtype(_ORT_DTYPES[arg.type]))
