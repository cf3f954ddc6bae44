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
from edge.errors import DependencyError, ModelLoadError, RuntimeBackendError
from edge.runtime.base import Runner, TensorMeta, backend_error, backends

ort = lazy_import("onnxruntime", feature="the ONNX Runtime backend")
onnx = lazy_import("onnx", feature="the ONNX Runtime backend")

PLUGIN_DOMAIN = "trt.plugins"
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")

# ONNX Runtime type strings -> numpy dtypes
_ORT_DTYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(int16)": np.int16,
    "tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(bool)": np.bool_,
}


def load_model_proto(model: Any) -> Any:
    """An ``onnx.ModelProto`` from a path, bytes or a ModelProto; ModelLoadError if it does not parse."""
    if isinstance(model, (bytes, bytearray)):
        src, data = "<bytes>", bytes(model)
    elif hasattr(model, "graph") and hasattr(model, "SerializeToString"):
        return model
    else:
        path = Path(os.fspath(model))
        if not path.is_file():
            raise ModelLoadError(f"ONNX file '{path}' does not exist")
        src, data = str(path), path.read_bytes()
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError or RuntimeWarning-like errors
        raise ModelLoadError(f"'{src}' is not a valid ONNX file (truncated or corrupted?): {e}. "
                             "Fix: re-export it with `edge export`") from e
    if not proto.graph.node and not proto.graph.output:
        raise ModelLoadError(f"'{src}' parsed as an empty ONNX model (truncated or not an ONNX file?). "
                             "Fix: re-export it with `edge export`")
    return proto


def has_plugin_nodes(proto) -> bool:
    return any(n.domain == PLUGIN_DOMAIN for n in proto.graph.node)


def attach_plugins(proto, src: str):
    """The same model with model-local functions for its plugin nodes (in memory; ``proto`` unchanged)."""
    try:
        from edge.export.ort_functions import attach_plugin_functions
    except ImportError as e:
        raise DependencyError(f"'{src}' has TensorRT plugin nodes (domain {PLUGIN_DOMAIN}); running it in ONNX "
                              f"Runtime needs edge.export.ort_functions, which does not import: {e}") from e
    copy = type(proto)()
    copy.CopyFrom(proto)
    return attach_plugin_functions(copy)


def default_providers() -> list[str]:
    available = set(ort.get_available_providers())
    return [p for p in PREFERRED_PROVIDERS if p in available]


@backends.register("onnxruntime")
class OnnxRuntimeRunner(Runner):
    """Runs an ONNX model (path, bytes or ModelProto) with ONNX Runtime.

    Args:
        model: path to ``.onnx``, serialized bytes, or an ``onnx.ModelProto``.
        providers: execution providers in priority order; None = TensorRT/CUDA when present, then CPU.
        threads: intra-op threads; None = ONNX Runtime's default.
        optimization: graph optimization level name ("disable", "basic", "extended", "all"); None = "all".
        name: label used in reports; None = the file name.
    """

    backend = "onnxruntime"

    def __init__(self, model: Any, providers: Sequence[str] | None = None, threads: int | None = None,
                 optimization: str | None = None, name: str | None = None):
        self.source = model if isinstance(model, (bytes, bytearray)) or hasattr(model, "graph") else Path(model)
        label = Path(model).name if isinstance(self.source, Path) else "onnx-model"
        super().__init__(name or label)
        self.providers = list(providers) if providers is not None else None
        self.threads = threads
        self.optimization = optimization or "all"
        self.session: Any = None  # onnxruntime.InferenceSession once active
        self.plugin_mode = False

    def activate_impl(self) -> None:
        proto = load_model_proto(self.source)
        self.plugin_mode = has_plugin_nodes(proto)
        if self.plugin_mode:
            proto = attach_plugins(proto, self.name)
        opts = ort.SessionOptions()
        levels = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
                  "all": "ORT_ENABLE_ALL"}
        if self.optimization not in levels:
            raise RuntimeBackendError(f"{self.name}: unknown optimization level '{self.optimization}'; "
                                      f"use one of {list(levels)}")
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, levels[self.optimization])
        if self.threads:
            opts.intra_op_num_threads = int(self.threads)
        providers = self.providers or default_providers()
        try:
            self.session = ort.InferenceSession(proto.SerializeToString(), sess_options=opts, providers=providers)
        except Exception as e:  # noqa: BLE001 - ORT raises its own Fail/InvalidGraph/NotImplemented types
            raise ModelLoadError(f"ONNX Runtime cannot load '{self.name}' (providers {providers}): {e}") from e

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
