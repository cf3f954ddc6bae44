"""Patch network -> dense network conversion (METHODS §1), automatic for any admissible chain of layers.

The patch network is read as a chain of layers, either by flattening ``nn.Sequential`` containers or
by tracing ``forward`` with torch.fx (the forward must be a plain chain). Each layer is handed to the
converter registered for its type (``@converters.register(nn.Conv2d)``), which checks admissibility
and returns its dense :class:`Stage`. A shape walk over one patch checks that the network maps a
``pH x pW`` patch to ``1 x 1 x k`` and turns the flatten + Linear head into convolutions.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from edge.dense.layers import MultiStride, Pointwise
from edge.dense.network import DenseNet
from edge.errors import InputError, UnsupportedLayerError
from edge.registry import Registry

_FIX_REGISTER = (
    "use only admissible layers (unpadded conv/pool, pointwise layers, flatten + Linear head), or register "
    "a converter with @edge.dense.converters.register(YourLayer)"
)


@dataclass
class Shape:
    """Activation shape of the patch network for one patch: ``(c, h, w)``; ``flat`` after a flatten."""

    c: int
    h: int
    w: int
    flat: bool = False


@dataclass
class Stage:
    """What one patch-network layer becomes in the dense network."""

    module: nn.Module  # dense-side module (stride 1 / MultiStride / pointwise)
    shape: Shape  # patch-network activation shape after the layer
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    out_channels: int | None = None  # None: channels unchanged


@dataclass
class Layer:
    path: str
    module: nn.Module


@dataclass
class Context:
    path: str
    shape: Shape
    notes: list[str] = field(default_factory=list)


Converter = Callable[[nn.Module, Context], Stage]
converters: Registry[Converter] = Registry("dense-form converter")


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _reject(ctx: Context, m: nn.Module, reason: str, fix: str | None = None):
    raise UnsupportedLayerError(ctx.path, type(m).__name__, reason, fix or _FIX_REGISTER)


def _spatial(ctx: Context, m: nn.Module, k: tuple[int, int], s: tuple[int, int]) -> Shape:
    sh = ctx.shape
    if sh.flat:
        _reject(ctx, m, "spatial layer after a flatten", "flatten only before the Linear head")
    h, w = (sh.h - k[0]) // s[0] + 1, (sh.w - k[1]) // s[1] + 1
    if h < 1 or w < 1:
        raise InputError(
            f"layer '{ctx.path}' ({type(m).__name__}) with kernel {k} gets a {sh.h}x{sh.w} map: the patch size "
            "is too small for this network. Fix: pass the patch size the network was designed for"
        )
    return Shape(sh.c, h, w)


def _check_stride(ctx: Context, m: nn.Module, s: tuple[int, int]):
    if s[0] < 1 or s[1] < 1:
        _reject(ctx, m, f"stride {s} is not positive")


@converters.register(nn.Conv2d)
def _conv(m: nn.Conv2d, ctx: Context) -> Stage:
    if isinstance(m.padding, str) and m.padding != "valid" or not isinstance(m.padding, str) and any(m.padding):
        _reject(ctx, m, f"padding={m.padding}: padding inside a patch network changes its output at "
                "every position", "remove the padding (the dense form pads the image once)")
    if any(d != 1 for d in _pair(m.dilation)):
        _reject(ctx, m, f"dilation={m.dilation} is not supported", "use dilation 1")
    if ctx.shape.c != m.in_channels:
        raise InputError(f"layer '{ctx.path}' expects {m.in_channels} channels but receives {ctx.shape.c}")
    k, s = _pair(m.kernel_size), _pair(m.stride)
    _check_stride(ctx, m, s)
    shape = _spatial(ctx, m, k, s)
    dense = copy.deepcopy(m)
    dense.stride = (1, 1)
    return _strided(dense, Shape(m.out_channels, shape.h, shape.w), k, s, m.out_channels)


def _strided(dense: nn.Module, shape: Shape, k, s, out_channels=None) -> Stage:
    module = MultiStride(dense, s) if s != (1, 1) else dense
    return Stage(module, shape, k, s, out_channels)


@converters.register(nn.MaxPool2d, nn.AvgPool2d)
def _pool(m: nn.Module, ctx: Context) -> Stage:
    if any(_pair(m.padding)):
        _reject(ctx, m, f"padding={m.padding}", "remove the padding (the dense form pads the image once)")
    if m.ceil_mode:
        _reject(ctx, m, "ceil_mode=True reads past the patch border", "use ceil_mode=False")
    k = _pair(m.kernel_size)
    s = _pair(m.stride if m.stride is not None else m.kernel_size)
    _check_stride(ctx, m, s)
    if isinstance(m, nn.MaxPool2d):
        if any(d != 1 for d in _pair(m.dilation)) or m.return_indices:
            _reject(ctx, m, "dilation or return_indices is not supported")
        dense = nn.MaxPool2d(k, stride=1)
    else:
        dense = nn.AvgPool2d(k, stride=1, divisor_override=m.divisor_override)
    return _strided(dense, _spatial(ctx, m, k, s), k, s)


_POINTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus, nn.Softsign,
    nn.Tanhshrink, nn.LogSigmoid, nn.Identity, Pointwise,
)


@converters.register(*_POINTWISE)
def _pointwise(m: nn.Module, ctx: Context) -> Stage:
    if isinstance(m, nn.PReLU) and m.num_parameters not in (1, ctx.shape.c):
        _reject(ctx, m, f"PReLU with {m.num_parameters} parameters on {ctx.shape.c} channels")
    return Stage(copy.deepcopy(m), ctx.shape)


@converters.register(nn.Dropout, nn.Dropout2d, nn.AlphaDropout)
def _dropout(m: nn.Module, ctx: Context) -> Stage:
    if m.training:
        _reject(ctx, m, "dropout in training mode is random per position", "call model.eval() first")
    return Stage(nn.Identity(), ctx.shape)


@converters.register(nn.BatchNorm1d, nn.BatchNorm2d)
def _batchnorm(m: nn.modules.batchnorm._BatchNorm, ctx: Context) -> Stage:
    if m.training or not m.track_running_stats or m.running_mean is None:
        _reject(ctx, m, "BatchNorm in training mode (or without running statistics) mixes positions "
                "and samples", "call model.eval() first")
    if m.num_features != ctx.shape.c:
        raise InputError(f"layer '{ctx.path}' normalises {m.num_features} features but receives {ctx.shape.c}")
    if isinstance(m, nn.BatchNorm1d) and not ctx.shape.flat:
        _reject(ctx, m, "BatchNorm1d on a spatial map")
    bn = nn.BatchNorm2d(m.num_features, eps=m.eps, affine=m.affine).to(m.running_mean)
    bn.load_state_dict(m.state_dict())
    return Stage(bn.eval(), ctx.shape)


@converters.register(nn.Softmax, nn.LogSoftmax)
def _softmax(m: nn.Module, ctx: Context) -> Stage:
    if m.dim not in (1, -1 if ctx.shape.flat else 1):
        _reject(ctx, m, f"softmax over dim {m.dim} mixes positions", "apply it over the channel dim 1")
    return Stage(type(m)(dim=1), ctx.shape)


@converters.register(nn.Flatten)
def _flatten(m: nn.Flatten, ctx: Context) -> Stage:
    if m.start_dim != 1 or m.end_dim != -1:
        _reject(ctx, m, f"Flatten(start_dim={m.start_dim}, end_dim={m.end_dim})", "use Flatten(1, -1)")
    sh = ctx.shape
    return Stage(nn.Identity(), Shape(sh.c, sh.h, sh.w, flat=True))


@converters.register(nn.Linear)
def _linear(m: nn.Linear, ctx: Context) -> Stage:
    sh = ctx.shape
    if not sh.flat and (sh.h, sh.w) != (1, 1):
        _reject(ctx, m, "Linear on a spatial map acts on the width axis", "flatten before the Linear head")
    if m.in_features != sh.c * sh.h * sh.w:
        raise InputError(
            f"layer '{ctx.path}' (Linear) expects {m.in_features} features but the patch gives "
            f"{sh.c}x{sh.h}x{sh.w} = {sh.c * sh.h * sh.w}. Fix: check the patch size"
        )
    conv = nn.Conv2d(sh.c, m.out_features, (sh.h, sh.w), bias=m.bias is not None).to(m.weight)
    with torch.no_grad():
        conv.weight.copy_(m.weight.reshape(m.out_features, sh.c, sh.h, sh.w))
        if m.bias is not None:
            conv.bias.copy_(m.bias)
    return Stage(conv, Shape(m.out_features, 1, 1, flat=True), (sh.h, sh.w), (1, 1), m.out_features)


# ---------------------------------------------------------------------------------------------------
# Reading a model as a chain of layers


_FUNCTIONS: dict = {
    torch.relu: "relu", F.relu: "relu", torch.tanh: "tanh", F.tanh: "tanh", torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid", F.leaky_relu: "leaky_relu", F.elu: "elu", F.gelu: "gelu", F.silu: "silu",
    F.hardswish: "hardswish", F.relu6: "relu6", F.softplus: "softplus", F.mish: "mish",
}
_METHODS = {"relu", "tanh", "sigmoid", "relu_", "tanh_", "sigmoid_"}


def layers_of(model: nn.Module) -> list[Layer]:
    """The patch network as a chain of layers with their dotted paths."""
    if isinstance(model, torch.jit.ScriptModule):
        from edge.dense.script import eager_from_script

        model = eager_from_script(model)
    if isinstance(model, nn.Sequential):
        out: list[Layer] = []
        _flatten_sequential(model, "", out)
        return out
    return _trace_chain(model)


def _flatten_sequential(seq: nn.Sequential, prefix: str, out: list[Layer]):
    for name, child in seq.named_children():
        path = f"{prefix}{name}"
        if type(child) is nn.Sequential:
            _flatten_sequential(child, path + ".", out)
        else:
            out.append(Layer(path, child))


def _trace_chain(model: nn.Module) -> list[Layer]:
    import torch.fx as fx

    try:
        gm = fx.symbolic_trace(model)
    except Exception as e:  # fx raises many kinds for data-dependent control flow
        raise UnsupportedLayerError(
            "<forward>", type(model).__name__, f"its forward cannot be traced by torch.fx ({e})",
            "write the patch network as an nn.Sequential or as a plain chain of layers",
        ) from e
    layers: list[Layer] = []
    prev = None
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if prev is not None:
                _not_chain(model, node, "more than one input")
            prev = node
            continue
        if node.op == "output":
            if node.args[0] is not prev:
                _not_chain(model, node, "the output is not the last layer")
            break
        if node.op == "call_method" and node.target == "size":
            continue  # only feeds x.view(x.size(0), -1)
        if not node.args or node.args[0] is not prev:
            _not_chain(model, node, "it does not take the previous layer's output as its input")
        layers.append(_layer_of_node(gm, model, node))
        prev = node
    return layers


def _layer_of_node(gm, model, node) -> Layer:
    if node.op == "call_module":
        return Layer(str(node.target), gm.get_submodule(node.target))
    if node.op == "call_function" and node.target in _FUNCTIONS:
        return Layer(node.name, Pointwise(node.target, dict(node.kwargs), _FUNCTIONS[node.target]))
    if node.op == "call_method" and node.target in _METHODS:
        fn = getattr(torch, node.target.rstrip("_"))
        return Layer(node.name, Pointwise(fn, {}, node.target))
    if node.op == "call_function" and node.target is torch.flatten:
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        return Layer(node.name, nn.Flatten(int(start), -1) if start == 1 else _Bad(f"torch.flatten(x, {start})"))
    if node.op == "call_method" and node.target in ("flatten", "view", "reshape"):
        args = node.args[1:]
        if node.target == "flatten" and tuple(args) in ((1,), ()) and args:
            return Layer(node.name, nn.Flatten())
        if node.target in ("view", "reshape") and len(args) == 2 and args[1] == -1:
            return Layer(node.name, nn.Flatten())
    if node.op == "call_function" and node.target in (F.max_pool2d, F.avg_pool2d):
        return Layer(node.name, _pool_from_function(node))
    what = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
    return Layer(node.name, _Bad(f"{node.op} {what}"))


def _pool_from_function(node) -> nn.Module:
    names = ["kernel_size", "stride", "padding"]
    kw = dict(zip(names, node.args[1:]))
    kw.update({k: v for k, v in node.kwargs.items()})
    cls = nn.MaxPool2d if node.target is F.max_pool2d else nn.AvgPool2d
    return cls(**kw)


class _Bad(nn.Module):
    """Stands for an operation of a traced forward that has no dense-form converter."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what


def _not_chain(model, node, why):
    raise UnsupportedLayerError(
        node.name, type(model).__name__, f"the forward is not a plain chain of layers: {why}",
        "write the patch network as an nn.Sequential or a forward that applies one layer after another",
    )


def _check_finite(model: nn.Module):
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise InputError(
                f"parameter/buffer '{name}' of the patch network holds NaN or Inf values. "
                "Fix: load finite weights (a diverged training run or a bad checkpoint produces these)"
            )


def _patch_size(patch_size) -> tuple[int, int]:
    try:
        ph, pw = _pair(patch_size)
    except (TypeError, ValueError, IndexError):
        raise InputError(f"patch_size must be an int or a pair of ints, got {patch_size!r}") from None
    if ph < 1 or pw < 1:
        raise InputError(f"patch_size must be positive, got {(ph, pw)}")
    return ph, pw


def to_dense(
    patch_net: nn.Module,
    patch_size,
    pad_mode: str | None = None,
    *,
    unwarp: str | None = None,
    tile: tuple[int, int] | None = None,
    max_memory_mb: float | None = None,
) -> DenseNet:
    """Convert a patch network into the equivalent dense network (docs/METHODS.md §1).

    Args:
        patch_net: maps ``(N, C, pH, pW)`` patches to ``(N, k)`` or ``(N, k, 1, 1)``; must be in eval mode
            where it holds BatchNorm or dropout. Not modified.
        patch_size: ``pH`` or ``(pH, pW)``; even sizes are allowed (METHODS §1 defines the patch position).
        pad_mode: how the image border is padded: "zeros" (default), "reflect", "replicate", "circular".
        unwarp: "permute" (default) or "op" (the ``edge::multipool_unwarp`` custom op, exported as an
            EdgeMultiPoolUnwarp plugin node).
        tile: run tile by tile with tiles of this output size (rounded up to the stride product).
        max_memory_mb: choose tiles automatically so that the run stays within this budget.

    Returns:
        DenseNet mapping ``(B, C, H, W)`` to ``(B, k, H, W)`` for any ``B, H, W``.

    Raises:
        UnsupportedLayerError: a layer is not admissible (padding, ceil_mode, train-mode BN, unknown op).
        InputError: the patch size does not fit the network, or weights hold NaN/Inf.
    """
    ph, pw = _patch_size(patch_size)
    _check_finite(patch_net)
    layers = layers_of(patch_net)
    if not layers:
        raise InputError("the patch network has no layers")
    first = next((L.module for L in layers if isinstance(L.module, nn.Conv2d)), None)
    if first is None:
        raise InputError("the patch network has no Conv2d layer, so its input channel count is unknown")
    ctx = Context("", Shape(first.in_channels, ph, pw))
    stages: list[Stage] = []
    for layer in layers:
        ctx.path = layer.path
        conv = converters.find(type(layer.module))
        if conv is None:
            bad = isinstance(layer.module, _Bad)
            what = f"operation '{layer.module.what}'" if bad else "this layer type"
            _reject(ctx, layer.module, f"{what} has no dense-form converter (it may mix positions)")
        stage = conv(layer.module, ctx)
        stages.append(stage)
        ctx.shape = stage.shape
    if (ctx.shape.h, ctx.shape.w) != (1, 1):
        raise InputError(
            f"the patch network maps a {ph}x{pw} patch to a {ctx.shape.c}x{ctx.shape.h}x{ctx.shape.w} map, "
            "not to 1x1xk. Fix: pass the patch size the network was designed for"
        )
    strides = tuple(s.stride for s in stages if s.stride != (1, 1))
    body = nn.Sequential(*[s.module for s in stages])
    param = next(patch_net.parameters(), None)
    if param is not None:
        body = body.to(param.device)
    return DenseNet(
        body, (ph, pw), strides, first.in_channels, ctx.shape.c, pad_mode=pad_mode, unwarp=unwarp,
        geometry=[(s.kernel, s.stride, s.out_channels) for s in stages], tile=tile, max_memory_mb=max_memory_mb,
    )


def total_stride(strides) -> tuple[int, int]:
    return math.prod(s[0] for s in strides), math.prod(s[1] for s in strides)


def from_checkpoint(source: str, patch_size, pad_mode: str | None = None, unwarp: str | None = None,
                    max_memory_mb: float | None = None) -> DenseNet:
    """The architecture of an edge ``dense`` checkpoint (``edge dense convert``): ``to_dense`` of the
    model spec ``source`` with the same options; ``edge.spec`` then loads the saved weights into it."""
    from edge.spec import load_module

    return to_dense(load_module(source), tuple(patch_size), pad_mode, unwarp=unwarp, max_memory_mb=max_memory_mb)
