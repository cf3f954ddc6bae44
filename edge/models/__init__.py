"""Reference architectures written in the project (torchvision's module names, so its state dicts load), and
the one registry of named models: ``create_model(name)`` is the way in, as in timm.

Each architecture registers its names next to its code (``@models.register("resnet18")``); edge.forms adds the
CSP reference models built from its CSP stages. ``edge analyze``/``edge distill`` name models through this
registry (``resnet50:spconv=0.25``, see edge.forms.zoo), ``edge quantize``'s reference ONNX files through
edge.calib.zoo.
"""

from edge.registry import Registry

models: Registry = Registry("model")

# imported for their registrations (and re-exported)
from edge.models.fashion_cnn import FashionCNN, fashion_cnn  # noqa: E402
from edge.models.mobilenetv2 import MobileNetV2, mobilenet_v2, mobilenetv2_imagenet  # noqa: E402
from edge.models.patch_nets import REFERENCE_NETS, basenet, simo_serra  # noqa: E402
from edge.models.resnet import (  # noqa: E402
    BasicBlock,
    Bottleneck,
    ResNet,
    fashion_resnet,
    resnet18,
    resnet34,
    resnet50,
    resnext50_32x4d,
)


def create_model(name: str, **kwargs):
    """The model registered as ``name``, built with ``kwargs`` (an unknown name lists the known ones)."""
    return models.get(name)(**kwargs)


def list_models() -> list[str]:
    return models.names()


__all__ = ["BasicBlock", "Bottleneck", "FashionCNN", "MobileNetV2", "REFERENCE_NETS", "ResNet", "basenet",
           "create_model", "fashion_cnn", "fashion_resnet", "list_models", "mobilenet_v2", "mobilenetv2_imagenet", "models", "resnet18",
           "resnet34", "resnet50", "resnext50_32x4d", "simo_serra"]
