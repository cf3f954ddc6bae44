"""Artifacts -> Runners (through ``edge.runtime.load``) and random inputs from a Runner's metadata.

Benchmarks and the camera pipeline only talk to a Runner, which ``edge.runtime.load`` makes from any artifact
(nn.Module, .onnx, .engine/.plan, a model spec such as "package.module:factory" or a .pt file).
"""

from __future__ import annotations

from edge.errors import InputError


def load_artifact(artifact, backend: str | None = None, **options):
    """``edge.runtime.load``, imported on first use: bench and the camera pipeline stay importable without torch
    (the camera sources also run under a system Python that has only OpenCV and numpy)."""
    from edge.runtime import load

    return load(artifact, backend=backend, **options)


def named_shapes(inputs: list, shapes: dict | None) -> dict:
    """Resolve the "" key (the only input) of ``edge.spec.parse_shapes`` to that input's name."""
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


__all__ = ["load_artifact", "named_shapes", "random_feed"]
