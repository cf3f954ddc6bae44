"""Every registered model and every registered form, parametrized over the registries: a newly registered one
is tested with no new test code (timm's tests/test_models.py pattern)."""

from __future__ import annotations

import pytest
import torch

from edge.forms.zoo import _model_names, apply_form, forms
from edge.models import create_model, list_models

#: input side for models that need a particular one (the rest take 64x64)
SIDE = {"fashion-cnn": 28, "fashion-resnet": 28, "basenet": 15}
HEAVY = {"resnet50", "resnext50_32x4d", "cspresnet50", "cspresnext50", "cspdarknet53", "resnet34"}


def _input(model: torch.nn.Module, name: str) -> torch.Tensor:
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    side = SIDE.get(name, 64)
    return torch.rand(1, conv.in_channels, side, side)


@pytest.mark.parametrize("name", [n for n in _model_names() if n not in HEAVY] +
                         [pytest.param(n, marks=pytest.mark.slow) for n in _model_names() if n in HEAVY])
def test_every_registered_model_builds_and_runs(name):
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(_input(model, name))
    assert torch.isfinite(out).all()


def test_registry_lists_the_edge_models_and_refuses_unknown_names():
    assert {"basenet", "simo_serra", "fashion-resnet", "mobilenetv2-imagenet", "resnet18"} <= set(list_models())
    with pytest.raises(Exception, match="unknown model 'nope'"):
        create_model("nope")


@pytest.mark.parametrize("form", forms.names())
def test_every_registered_form_converts_a_resnet(form):
    torch.manual_seed(0)
    model = create_model("fashion-resnet", width=8).eval()
    converted, report = apply_form(model, form)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert converted.eval()(x).shape == model(x).shape
    assert str(report)
