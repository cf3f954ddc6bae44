"""torchvision-layout ResNet/ResNeXt: parameter counts, module names, shapes."""

from __future__ import annotations

import pytest
import torch

from edge.errors import InputError
from edge.models import BasicBlock, ResNet, resnet18, resnet34, resnet50, resnext50_32x4d


@pytest.mark.parametrize("builder,params", [(resnet18, 11_689_512), (resnet34, 21_797_672), (resnet50, 25_557_032),
                                            (resnext50_32x4d, 25_028_904)])
def test_parameter_counts_equal_torchvision(builder, params):
    with torch.device("meta"):
        m = builder()
    assert sum(p.numel() for p in m.parameters()) == params


def test_torchvision_module_names():
    with torch.device("meta"):
        keys = set(resnet50().state_dict())
    for k in ("conv1.weight", "bn1.running_mean", "layer1.0.conv3.weight", "layer1.0.downsample.0.weight",
              "layer1.0.downsample.1.num_batches_tracked", "layer4.2.bn3.bias", "fc.weight"):
        assert k in keys
    assert len(keys) == 320  # torchvision resnet50 state dict


def test_forward_shapes_and_small_stem():
    m = resnet18(num_classes=10, in_chans=1, small_stem=True, widths=(8, 16, 32, 64)).eval()
    assert m(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert m.forward_features(torch.randn(1, 1, 28, 28)).shape == (1, 64, 4, 4)
    assert resnet50().eval()(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_errors():
    with pytest.raises(InputError):
        ResNet(BasicBlock, [2, 2, 2])
    with pytest.raises(InputError):
        BasicBlock(8, 8, groups=2)
