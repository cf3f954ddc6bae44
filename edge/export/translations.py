"""Registry of custom-op translations: one entry per plugin, registered next to its code.

A :class:`Translation` ties a torch custom op to its three ONNX forms (plugin node, portable
decomposition, ONNX Runtime function body). The exporter and :mod:`edge.export.ort_functions` iterate
the registry, so a new custom op only needs a new module in ``edge/export`` listed in :data:`MODULES`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from edge.registry import Registry

# modules that register translations (imported by :func:`load_all`)
MODULES = ("edge.export.multipool_unwarp", "edge.export.sample_interp")


@dataclass(frozen=True)
class Translation:
    """``torch_op()`` returns the OpOverload (importing its module registers it); ``plugin`` and
    ``portable`` are dynamo-exporter translations taking the op's arguments; ``function_body(op,
    inputs, attrs)`` emits the standard-op body of a plugin node for ONNX Runtime."""

    op_type: str
    torch_op: Callable[[], object]
    plugin: Callable
    portable: Callable
    function_body: Callable


translations: Registry[Translation] = Registry("plugin translation")


def load_all() -> Registry[Translation]:
    """Import every translation module (idempotent) and return the registry."""
    for mod in MODULES:
        importlib.import_module(mod)
    return translations


def translation_table(plugins: bool) -> dict:
    """``custom_translation_table`` for ``torch.onnx.export``: torch op -> plugin or portable translation."""
    return {t.torch_op(): (t.plugin if plugins else t.portable) for _, t in load_all().items()}
