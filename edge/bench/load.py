"""Artifacts -> Runners (through ``edge.runtime.load``) and random inputs from a Runner's metadata.

Benchmarks and the camera pipeline only talk to a Runner. On top of what ``edge.runtime.load`` takes
(nn.Module, .onnx, .engine/.plan, .pt), an artifact may be a "package.module:factory" spec: the factory is
called with no arguments and must return an ``nn.Module`` (e.g. ``edge.bench.models:dense_basenet``).
"""

from __future__ import annotations

import importlib
import os
import re
from typing import Any

from edge.errors import InputError, ModelLoadError


def is_factory_spec(spec: Any) -> bool:
    """True for "package.module:function" (a PyTorch factory), False for a file path or an object."""
    return isinstance(spec, str) and bool(re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", spec)) \
        and not os.path.exists(spec)


def call_factory(spec: str):
    """``package.module:function`` -> the nn.Module it returns (ModelLoadError naming what failed)."""
    import torch

    mod_name, fn = spec.split(":")
    try:
        model = getattr(importlib.import_module(mod_name), fn)()
    except (ImportError, AttributeError) as e:
        raise ModelLoadError(f"cannot load factory '{spec}': {e}. Fix: give 'package.module:function' "
                             f"where the function takes no argument and returns a torch.nn.Module") from e
    if not isinstance(model, torch.nn.Module):
        raise ModelLoadError(f"factory '{spec}' returned {type(model).__name__}, not a torch.nn.Module")
    return model


def load_runner(artifact: Any, backend: str | None = None, **options):
    """A Runner for ``artifact``; a Runner is returned unchanged.

    Args:
        artifact: "module:factory", a path (.onnx, .engine/.plan, .pt), an nn.Module or a Runner.
        backend: None means the artifact's natural backend (torch / onnxruntime / tensorrt).
        options: passed to the backend (e.g. cuda_graph=True for TensorRT; name= for the label).
    """
    from edge.runtime import load

    if is_factory_spec(artifact):
        options.setdefault("name", artifact)
        options.pop("cuda_graph", None)  # a torch module has no CUDA graph option
        return load(call_factory(artifact), backend=backend or "torch", **options)
    if backend not in (None, "tensorrt") or backend is None and not str(artifact).endswith((".engine", ".plan", ".trt")):
        options.pop("cuda_graph", None)
    return load(artifact, backend=backend, **options)


def parse_shapes(text: str | None) -> dict:
    """``"input:1x3x224x224,mask:1x1x56x56"`` (trtexec's --shapes form) or ``"1x3x224x224"`` (the only
    input) -> ``{name or "": (1, 3, 224, 224)}``."""
    out: dict = {}
    for part in filter(None, (text or "").split(",")):
        name, _, dims = part.rpartition(":")
        try:
            out[name.strip()] = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            raise InputError(f"bad shape '{part}': write name:1x3x224x224 (or 1x3x224x224 for the only input)")
    return out


def named_shapes(inputs: list, shapes: dict | None) -> dict:
    """Resolve the "" key (the only input) of ``parse_shapes`` to that input's name."""
    shapes = dict(shapes or {})
    if "" in shapes:
        if len(inputs) != 1:
            raise InputError(f"a shape without an input name is ambiguous: the model has inputs "
                             f"{[i.name for i in inputs]}; write name:1x3x224x224")
        shapes[inputs[0].name] = shapes.pop("")
    unknown = set(shapes) - {i.name for i in inputs}
    if unknown:
        raise InputError(f"shape given for unknown input(s) {sorted(unknown)}; inputs are {[i.name for i in inputs]}")
    return shapes


def random_feed(inputs: list, shapes: dict | None = None, seed: int = 0) -> dict:
    """Seeded random inputs for ``inputs`` (dynamic dims: batch 1, others 224 unless ``shapes`` says)."""
    from edge.runtime.feeds import random_feed as _random_feed

    return _random_feed(inputs, seed=seed, shapes=named_shapes(inputs, shapes))


__all__ = ["call_factory", "is_factory_spec", "load_runner", "named_shapes", "parse_shapes", "random_feed"]
