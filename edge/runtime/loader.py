"""``edge.runtime.load``: pick the backend from the artifact and build its Runner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edge.errors import InputError, ModelLoadError
from edge.runtime.base import Runner, backends

SUFFIX_BACKENDS = {
    ".onnx": "onnxruntime",
    ".engine": "tensorrt", ".plan": "tensorrt", ".trt": "tensorrt",
    ".pt": "torch", ".pth": "torch", ".pt2": "torch", ".ts": "torch",
}


def backend_for(artifact: Any) -> str:
    """The backend name that runs ``artifact`` (nn.Module, model spec, ONNX bytes/ModelProto or a path by suffix)."""
    from edge.spec import is_factory_spec

    if isinstance(artifact, Runner):
        return artifact.backend
    if isinstance(artifact, str) and is_factory_spec(artifact):
        return "torch"
    if type(artifact).__module__.startswith("torch") or _is_module(artifact):
        return "torch"
    if isinstance(artifact, (bytes, bytearray)) or hasattr(artifact, "graph"):
        return "onnxruntime"
    if isinstance(artifact, (str, os.PathLike)):
        suffix = Path(artifact).suffix.lower()
        if suffix in SUFFIX_BACKENDS:
            return SUFFIX_BACKENDS[suffix]
        raise ModelLoadError(f"cannot tell which backend runs '{artifact}' from its suffix '{suffix}'; known "
                             f"suffixes: {', '.join(sorted(SUFFIX_BACKENDS))}. Fix: pass backend=... "
                             f"(one of {', '.join(backends.names())})")
    raise InputError(f"cannot load a {type(artifact).__name__}: pass an nn.Module or a path to an "
                     ".onnx, .engine/.plan or .pt file")


def load(artifact: Any, backend: str | None = None, **options) -> Runner:
    """A Runner for ``artifact``, not yet active (it activates on first use or in ``with``).

    Args:
        artifact: ``nn.Module`` | a model spec (``package.module:factory``, ``file.py:factory``, ``.pt2``,
            TorchScript, an edge checkpoint: see ``edge.spec``) | path to ``.onnx`` | ``.engine``/``.plan`` |
            ONNX bytes / ModelProto | an existing Runner (returned unchanged).
        backend: "torch" | "onnxruntime" | "tensorrt"; None = chosen from the artifact.
        **options: passed to the backend's constructor (e.g. ``providers=`` for onnxruntime,
            ``device=`` for torch, ``memory=`` for tensorrt, ``name=`` for all; ``trust_pickle=`` for torch
            files). ``cuda_graph`` is TensorRT's and is dropped for the other backends, so one option set
            serves a mixed list of artifacts.
    """
    from edge.spec import is_factory_spec, load_module

    if isinstance(artifact, Runner):
        return artifact
    name = backend or backend_for(artifact)
    if name != "tensorrt":
        options.pop("cuda_graph", None)
    if isinstance(artifact, str) and is_factory_spec(artifact):
        options.setdefault("name", artifact)
        options.pop("trust_pickle", None)
        artifact = load_module(artifact)
    if isinstance(artifact, (str, os.PathLike)) and not Path(artifact).exists():
        raise ModelLoadError(f"artifact '{artifact}' does not exist")
    cls = backends.get(name)
    return cls(artifact, **options)


def _is_module(obj: Any) -> bool:
    try:
        from torch import nn
    except ImportError:  # pragma: no cover - torch is a core dependency
        return False
    return isinstance(obj, nn.Module)
