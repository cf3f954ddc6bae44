"""Reference architectures written in the project, with torchvision's module names."""

from edge.models.resnet import (BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50,  # noqa: F401
                                resnext50_32x4d)
from edge.models.mobilenetv2 import MobileNetV2, mobilenet_v2  # noqa: F401,E402
from edge.models.fashion_cnn import FashionCNN, fashion_cnn  # noqa: F401,E402
