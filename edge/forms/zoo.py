"""Model specs for the CLI: ``name``, ``name:form`` (``resnet50:spconv=0.25``, ``resnet18:csp``,
``fashion-resnet:sample_interp``) or the path of a saved model (``torch.save(module)``, or a dict with a
``"model"`` module, as ``edge distill --save`` writes)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from edge.errors import InputError, ModelLoadError
from edge.registry import Registry

__all__ = ["apply_form", "build", "fashion_resnet", "forms", "load_model", "models"]

models: Registry = Registry("model")
forms: Registry = Registry("form")


def fashion_resnet(num_classes: int | None = None, in_chans: int | None = None, width: int | None = None,
                   layers=None):
    """ResNet for 28x28 gray images (torchvision layout of BasicBlocks): 3x3 stride-1 stem, no max-pool,
    widths (w, 2w, 4w, 8w) with w = 16, ``layers`` blocks per stage: None means (2, 2, 2, 2) (ResNet-18);
    (1, 1, 1, 1) is the ResNet-10 of ``scripts/train_fashion.py``. Tensor[B, 1, 28, 28] -> [B, 10]."""
    from edge.models.resnet import BasicBlock, ResNet

    w = width or 16
    return ResNet(BasicBlock, list(layers or (2, 2, 2, 2)), num_classes=num_classes or 10, in_chans=in_chans or 1,
                  small_stem=True, widths=(w, 2 * w, 4 * w, 8 * w))


def _register_models() -> None:
    from edge.forms import csp
    from edge.models import resnet

    for name in ("resnet18", "resnet34", "resnet50", "resnext50_32x4d"):
        models.register(name)(getattr(resnet, name))
    for name in ("cspresnet50", "cspresnext50", "cspdarknet53"):
        models.register(name)(getattr(csp, name))
    models.register("fashion-resnet")(fashion_resnet)


@forms.register("spconv")
def _spconv(model: nn.Module, arg: str | None):
    from edge.forms.spconv import to_spconv

    return to_spconv(model, alpha=float(arg) if arg else None, return_report=True)


@forms.register("csp")
def _csp(model: nn.Module, arg: str | None):
    from edge.forms.csp import to_csp

    return to_csp(model, fusion=arg or None, return_report=True)


@forms.register("sample_interp")
def _sample_interp(model: nn.Module, arg: str | None):
    from edge.forms.sample_interp import to_sample_interp

    return to_sample_interp(model, grid=int(arg) if arg else None, return_report=True)


def build(name: str, **kw) -> nn.Module:
    """A registered model by name (fresh weights)."""
    if not list(models.names()):
        _register_models()
    return models.get(name)(**kw)


def apply_form(model: nn.Module, form: str):
    """``form`` is ``"spconv"``, ``"spconv=0.25"``, ``"csp"``, ``"csp=first"``, ``"sample_interp"``... ->
    (model, ConversionReport)."""
    key, _, arg = form.partition("=")
    return forms.get(key)(model, arg or None)


def load_model(spec: str) -> nn.Module:
    """A model from a file path or a ``name[:form]`` spec (see module doc); the result is in eval mode."""
    path = Path(spec)
    if path.suffix in (".pt", ".pth") or path.exists():
        if not path.exists():
            raise ModelLoadError(f"model file {path} does not exist")
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e:
            raise ModelLoadError(f"cannot load {path}: {e}") from e
        obj = obj.get("model") if isinstance(obj, dict) else obj
        if not isinstance(obj, nn.Module):
            raise ModelLoadError(f"{path} holds no nn.Module (save the whole module with torch.save(model, "
                                 f"path) or a dict {{'model': module}})")
        return obj.eval()
    name, _, form = spec.partition(":")
    if not list(models.names()):
        _register_models()
    if name not in models:
        raise InputError(f"unknown model '{name}'; known: {', '.join(models.names())}, or a .pt file path")
    model = build(name)
    if form:
        model, _ = apply_form(model, form)
    return model.eval()
