"""Every documented error path of the dense form raises its error with a helpful message."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edge.dense import PatchRunner, basenet, to_dense
from edge.errors import InputError, UnsupportedLayerError


@pytest.mark.parametrize(
    "layer, match",
    [
        (nn.Conv2d(1, 2, 3, padding=1), "padding"),
        (nn.MaxPool2d(2, padding=1), "padding"),
        (nn.MaxPool2d(2, ceil_mode=True), "ceil_mode"),
        (nn.AvgPool2d(2, ceil_mode=True), "ceil_mode"),
        (nn.Conv2d(1, 2, 3, dilation=2), "dilation"),
        (nn.Upsample(scale_factor=2), "no dense-form converter"),
        (nn.LayerNorm(4), "no dense-form converter"),
    ],
)
def test_inadmissible_layer_names_path_type_and_fix(layer, match):
    net = nn.Sequential(nn.Conv2d(1, 1, 1), nn.Sequential(nn.ReLU(), layer)).eval()
    with pytest.raises(UnsupportedLayerError, match=match) as e:
        to_dense(net, 9)
    assert e.value.path == "1.1" and e.value.layer_type == type(layer).__name__
    assert "Fix:" in str(e.value)


def test_train_mode_batchnorm_and_dropout_are_rejected():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Conv2d(2, 2, 3))
    with pytest.raises(UnsupportedLayerError, match="model.eval"):
        to_dense(net.train(), 5)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(), nn.Conv2d(2, 2, 3)).train()
    with pytest.raises(UnsupportedLayerError, match="model.eval"):
        to_dense(net, 5)


def test_patch_size_that_does_not_reduce_to_one_pixel():
    with pytest.raises(InputError, match="not to 1x1xk"):
        to_dense(basenet(), 19)
    with pytest.raises(InputError, match="too small"):
        to_dense(basenet(), 7)
    with pytest.raises(InputError, match="patch_size"):
        to_dense(basenet(), (0, 15))


def test_nan_weights_are_rejected():
    net = basenet()
    with torch.no_grad():
        net[3].weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(InputError, match="'3.weight'.*NaN"):
        to_dense(net, 15)


def test_non_chain_forward_is_rejected():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 1, 1)

        def forward(self, x):
            return x + self.a(x)

    with pytest.raises(UnsupportedLayerError, match="plain chain"):
        to_dense(Residual().eval(), 3)


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.randn(1, 3, 20, 20), "expected 1 input channels, got 3"),
        (torch.randn(1, 20, 20), "4-D"),
        (torch.randn(1, 1, 0, 20), "empty"),
        (torch.randint(0, 255, (1, 1, 20, 20), dtype=torch.uint8), "floating-point"),
        (torch.randn(20, 20).numpy(), "torch.Tensor"),
    ],
)
def test_bad_inputs(x, match):
    d = to_dense(basenet(), 15)
    with pytest.raises(InputError, match=match):
        d(x)


def test_reflect_padding_on_a_tiny_image_says_what_to_use():
    d = to_dense(basenet(), 15, pad_mode="reflect")
    with pytest.raises(InputError, match="replicate"):
        d(torch.randn(1, 1, 4, 4))


def test_patch_runner_rejects_bad_input():
    with pytest.raises(InputError):
        PatchRunner(basenet(), 15)(torch.randn(1, 15, 15))
    with pytest.raises(InputError):
        PatchRunner(basenet(), 15, batch_size=0)
