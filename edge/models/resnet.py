"""ResNet and ResNeXt in torchvision's layout (module names match, so torchvision state dicts load).

``conv1 -> bn1 -> relu -> maxpool -> layer1..layer4 -> avgpool -> fc``; blocks are :class:`BasicBlock`
(ResNet-18/34) or :class:`Bottleneck` (ResNet-50, ResNeXt-50; stride on the 3x3 conv, "ResNet v1.5"),
with ``downsample = Sequential(conv1x1, BN)`` where the shape changes. The project does not depend on
torchvision (its PyPI wheel does not import beside the CPU torch build of our machines).

``widths`` and ``small_stem`` make the same structure fit small images (Fashion-MNIST: a 3x3 stride-1
stem without max-pooling); the ImageNet defaults reproduce torchvision's parameter counts exactly
(ResNet-50: 25,557,032).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from edge.errors import InputError
from edge.models import models

__all__ = [
    "BasicBlock",
    "fashion_resnet",
    "Bottleneck",
    "ResNet",
    "conv1x1",
    "conv3x3",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext50_32x4d",
]


def conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, dilation, groups=groups, bias=False, dilation=dilation)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs + identity: x (Tensor[B, Cin, H, W]) -> Tensor[B, planes, H/s, W/s]."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise InputError("BasicBlock supports only groups=1 and base_width=64 (as torchvision)")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (stride, groups) -> 1x1 expand (x4) + identity."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision-layout ResNet: x (Tensor[B, in_chans, H, W]) -> logits Tensor[B, num_classes].

    Args:
        block: BasicBlock or Bottleneck.
        layers: blocks per stage (4 stages).
        num_classes: None means 1000.
        groups, width_per_group: ResNeXt cardinality and width (None means 1 and 64).
        in_chans: None means 3.
        widths: planes of the four stages; None means (64, 128, 256, 512).
        small_stem: 3x3 stride-1 stem without max-pooling (small images); default False.
    """

    def __init__(self, block: type, layers: Sequence[int], num_classes: int | None = None,
                 groups: int | None = None, width_per_group: int | None = None, in_chans: int | None = None,
                 widths: Sequence[int] | None = None, small_stem: bool = False):
        super().__init__()
        if len(layers) != 4:
            raise InputError(f"ResNet needs 4 stage depths, got {list(layers)}")
        widths = tuple(widths or (64, 128, 256, 512))
        self.groups = groups or 1
        self.base_width = width_per_group or 64
        self.inplanes = widths[0]
        in_chans = in_chans or 3
        if small_stem:
            self.conv1 = nn.Conv2d(in_chans, widths[0], 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_chans, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_stem else nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes or 1000)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, block: type, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: Tensor) -> Tensor:
        """Tensor[B, in_chans, H, W] -> last stage's map Tensor[B, C, H/32, W/32] (H/8 with small_stem)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.avgpool(self.forward_features(x)), 1))


@models.register("resnet18")
def resnet18(**kw) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], **kw)


@models.register("resnet34")
def resnet34(**kw) -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3], **kw)


@models.register("resnet50")
def resnet50(**kw) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **kw)


@models.register("resnext50_32x4d")
def resnext50_32x4d(**kw) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4, **kw)


@models.register("fashion-resnet")
def fashion_resnet(num_classes: int | None = None, in_chans: int | None = None, width: int | None = None,
                   layers=None):
    """ResNet for 28x28 gray images (torchvision layout of BasicBlocks): 3x3 stride-1 stem, no max-pool,
    widths (w, 2w, 4w, 8w) with w = 16, ``layers`` blocks per stage: None means (2, 2, 2, 2) (ResNet-18);
    (1, 1, 1, 1) is the ResNet-10 of ``scripts/train_fashion.py``. Tensor[B, 1, 28, 28] -> [B, 10]."""
    w = width or 16
    return ResNet(BasicBlock, list(layers or (2, 2, 2, 2)), num_classes=num_classes or 10, in_chans=in_chans or 1,
                  small_stem=True, widths=(w, 2 * w, 4 * w, 8 * w))
