"""Named models and forms for the CLI: ``name``, ``name:form`` (``resnet50:spconv=0.25``, ``resnet18:csp``,
``fashion-resnet:sample_interp``), or any model spec of ``edge.spec`` (a file, or ``module:factory``): an edge
checkpoint of a converted model (what ``edge distill --save`` writes) rebuilds through ``from_checkpoint``."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from edge.errors import InputError
from edge.models import fashion_resnet, models
from edge.registry import Registry

__all__ = ["apply_form", "build", "fashion_resnet", "forms", "load_model", "models"]

forms: Registry = Registry("form")


def _register_models() -> None:
    """The CSP reference models join edge.models' registry (they are built from the forms' CSP stages)."""
    from edge.forms import csp

    for name in ("cspresnet50", "cspresnext50", "cspdarknet53"):
        if name not in models:
            models.register(name)(getattr(csp, name))


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
    _register_models()
    return list(models.names())


def from_checkpoint(source: str, form: str | None = None) -> nn.Module:
    """The architecture of an edge ``form`` checkpoint: ``source`` (a name or model spec) in ``form``."""
    model = load_model(source)
    return apply_form(model, form)[0] if form else model
