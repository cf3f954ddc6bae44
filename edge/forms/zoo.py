"""Named models and forms for the CLI: ``name``, ``name:form`` (``resnet50:spconv=0.25``, ``resnet18:csp``,
``fashion-resnet:sample_interp``), or any model spec of ``edge.spec`` (a file, or ``module:factory``): an edge
checkpoint of a converted model (what ``edge distill --save`` writes) rebuilds through ``from_checkpoint``."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from edge.errors import InputError
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
    from edge.spec import is_factory_spec, load_module

    name, _, form = spec.partition(":")
    if name not in _model_names() and (Path(spec).exists() or Path(spec).suffix in (".pt", ".pth", ".pt2", ".ts")
                                       or is_factory_spec(spec)):
        return load_module(spec)
    if name not in models:
        raise InputError(f"unknown model '{name}'; known: {', '.join(models.names())}, or a .pt file path")
    model = build(name)
    if form:
        model, _ = apply_form(model, form)
    return model.eval()


def _model_names() -> list[str]:
    if not list(models.names()):
        _register_models()
    return list(models.names())


def from_checkpoint(source: str, form: str | None = None) -> nn.Module:
    """The architecture of an edge ``form`` checkpoint: ``source`` (a name or model spec) in ``form``."""
    model = load_model(source)
    return apply_form(model, form)[0] if form else model
