"""Read a TorchScript patch network back into eager modules (for ``edge dense convert model.ts``).

A scripted ``nn.Sequential`` of standard layers keeps each child's type name (``original_name``) and
its constructor constants (stride, padding, ...); rebuilding the eager layer and loading its state dict
gives a module the converters understand. Scripted modules with a custom forward cannot be read this
way: export them as a ``module:factory`` instead.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from edge.errors import UnsupportedLayerError

_ARGS = {
    "Conv2d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"],
    "MaxPool2d": ["kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"],
    "AvgPool2d": ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
    "BatchNorm2d": ["num_features", "eps", "momentum", "affine", "track_running_stats"],
    "BatchNorm1d": ["num_features", "eps", "momentum", "affine", "track_running_stats"],
    "Linear": ["in_features", "out_features"],
    "Flatten": ["start_dim", "end_dim"],
    "LeakyReLU": ["negative_slope"],
    "Dropout": ["p"],
    "Softmax": ["dim"],
    "LogSoftmax": ["dim"],
    "PReLU": ["num_parameters"],
}


def eager_from_script(m: torch.jit.ScriptModule, path: str = "") -> nn.Module:
    """Rebuild an eager module from a scripted Sequential of standard layers."""
    name = m.original_name
    if name == "Sequential":
        return nn.Sequential(*[eager_from_script(c, f"{path}{n}.") for n, c in m.named_children()])
    cls = getattr(nn, name, None)
    if cls is None or not inspect.isclass(cls) or not issubclass(cls, nn.Module):
        raise UnsupportedLayerError(
            path.rstrip(".") or "<script>", name, "a TorchScript module that is not a standard torch.nn layer",
            "pass the patch network as 'module:factory' (Python) instead of a TorchScript file",
        )
    kwargs = {}
    for arg in _ARGS.get(name, []):
        if hasattr(m, arg):
            kwargs[arg] = getattr(m, arg)
    if name == "Linear" or name.startswith("Conv"):
        kwargs["bias"] = m.bias is not None if hasattr(m, "bias") else True
    layer = cls(**kwargs)
    layer.load_state_dict(m.state_dict())
    layer.train(m.training)
    return layer
