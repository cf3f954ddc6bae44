"""Reference architectures written in the project, with torchvision's module names."""

from edge.models.resnet import (BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50,  # noqa: F401
                                resnext50_32x4d)
