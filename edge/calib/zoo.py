"""The reference models used by calibration tests, the demo and scripts/bench_int8.py, as ONNX files.

``export(name, path)`` writes ``mobilenetv2-imagenet`` (pretrained, offline weights) or ``fashion-cnn``
(a checkpoint from scripts/train_fashion_cnn.py) to ONNX with a dynamic batch axis; the input is named
after the bundled recipe of the same name.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from edge.core.recipe import Recipe
from edge.errors import ExportError, InputError

MODELS = ("mobilenetv2-imagenet", "fashion-cnn")


def build(name: str, weights: str | os.PathLike | None = None) -> torch.nn.Module:
    """The eval-mode torch model of a reference name (``weights``: FashionCNN checkpoint), from edge.models."""
    from edge.models import create_model

    if name not in MODELS:
        raise InputError(f"unknown reference model '{name}'; known: {', '.join(MODELS)}")
    return create_model(name, **({"weights": weights} if weights is not None else {})).eval()


def export(model: torch.nn.Module | str, path: str | os.PathLike, recipe: Recipe | str | None = None,
           opset: int | None = None) -> Path:
    """Export ``model`` (or a reference name) to a single-file ONNX with a dynamic batch axis.

    Input ``(N, C, H, W)`` named and shaped as ``recipe`` says (default: the recipe named like the model);
    output ``output (N, k)``. Written atomically.
    """
    from edge.io import atomic_path

    if isinstance(model, str):
        recipe = recipe or model
        model = build(model)
    if recipe is None:
        raise InputError("export: give a recipe for a torch model (it names and shapes the input)")
    recipe = recipe if isinstance(recipe, Recipe) else Recipe.load(recipe)
    spec = recipe.input
    x = torch.zeros((max(2, spec.opt[0]),) + spec.opt[1:])
    # The TorchScript exporter (dynamo=False) is used on purpose: for these plain CNNs it gives the same
    # graph (BatchNorm folded into Conv) about 6x faster than dynamo, which matters in tests and the demo.
    with atomic_path(path, suffix=".onnx") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model.eval(), (x,), str(tmp), input_names=[spec.name], output_names=["output"],
                              dynamic_axes={spec.name: {0: "batch"}, "output": {0: "batch"}}, dynamo=False,
                              opset_version=opset or 17)
        except Exception as e:
            raise ExportError(f"ONNX export of {type(model).__name__} failed: {e}") from e
    return Path(path)
