"""CSP stages (CSPNet, Wang et al., CVPRW 2020; docs/METHODS.md §3), the reference CSP models and ``to_csp``.

A :class:`CrossStage` optionally downsamples (3x3 stride-2 conv + BN + act), expands with a 1x1 conv to
``E`` channels, splits them in two halves: part 1 goes straight to the end, part 2 runs through the
stage's blocks (residual bottleneck, ResNeXt = grouped bottleneck, basic, darknet or dense blocks).

- ``fusion="last"`` (CSPNet's recommendation): a partial transition (1x1 conv + BN + act) on part 2,
  concat ``[part1, part2]``, a final 1x1 transition;
- ``fusion="first"``: concat first, then one transition (cheaper, less accurate).

Splitting the output of one 1x1 conv equals two separate 1x1 convs on the input (the darknet form):
:meth:`CrossStage.split_convs` returns those two convs. The builders follow timm's definitions
(``cspresnet50``, ``cspresnext50``, ``cspdarknet53``), so parameter counts equal timm's to the unit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from edge.errors import InputError
from edge.registry import Registry

__all__ = [
    "BasicResBlock",
    "CSPNet",
    "ConvBNAct",
    "CrossStage",
    "DarkBlock",
    "DenseBlock",
    "ResBottleneck",
    "csp_blocks",
    "cspdarknet53",
    "cspresnet50",
    "cspresnext50",
    "to_csp",
]

csp_blocks: Registry = Registry("CSP block type")


def _act(act: Callable[[], nn.Module] | None) -> nn.Module:
    return (act or (lambda: nn.LeakyReLU(inplace=True)))()


class ConvBNAct(nn.Module):
    """conv (no bias, 'same'-style padding (k-1)//2 * dilation) -> BN -> act (or identity)."""

    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1, groups: int = 1, act=None,
                 apply_act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, ((stride - 1) + (k - 1)) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = _act(act) if apply_act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


@csp_blocks.register("bottleneck")
class ResBottleneck(nn.Module):
    """ResNe(X)t bottleneck: 1x1 -> 3x3 (groups) -> 1x1 (no act) + identity -> act. (B, C, H, W) kept."""

    def __init__(self, cin: int, cout: int, bottle_ratio: float = 0.25, groups: int = 1, act=None):
        super().__init__()
        mid = int(round(cout * bottle_ratio))
        self.conv1 = ConvBNAct(cin, mid, 1, act=act)
        self.conv2 = ConvBNAct(mid, mid, 3, groups=groups, act=act)
        self.conv3 = ConvBNAct(mid, cout, 1, apply_act=False)
        self.act3 = _act(act)

    def forward(self, x: Tensor) -> Tensor:
        return self.act3(self.conv3(self.conv2(self.conv1(x))) + x)


@csp_blocks.register("basic")
class BasicResBlock(nn.Module):
    """ResNet basic block: 3x3 -> 3x3 (no act) + identity -> act (cin == cout)."""

    def __init__(self, cin: int, cout: int, bottle_ratio: float = 1.0, groups: int = 1, act=None):
        super().__init__()
        self.conv1 = ConvBNAct(cin, cout, 3, act=act)
        self.conv2 = ConvBNAct(cout, cout, 3, apply_act=False)
        self.act2 = _act(act)

    def forward(self, x: Tensor) -> Tensor:
        return self.act2(self.conv2(self.conv1(x)) + x)


@csp_blocks.register("dark")
class DarkBlock(nn.Module):
    """DarkNet block: 1x1 -> 3x3, + identity (no act after the sum)."""

    def __init__(self, cin: int, cout: int, bottle_ratio: float = 0.5, groups: int = 1, act=None):
        super().__init__()
        mid = int(round(cout * bottle_ratio))
        self.conv1 = ConvBNAct(cin, mid, 1, act=act)
        self.conv2 = ConvBNAct(mid, cout, 3, groups=groups, act=act)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.conv1(x)) + x


@csp_blocks.register("dense")
class DenseBlock(nn.Module):
    """One DenseNet layer: 1x1 (4*growth) -> 3x3 (growth), output concat [x, new]: C -> C + growth.

    ``cout - cin`` is the growth rate.
    """

    def __init__(self, cin: int, cout: int, bottle_ratio: float = 4.0, groups: int = 1, act=None):
        super().__init__()
        growth = cout - cin
        if growth < 1:
            raise InputError(f"DenseBlock: cout ({cout}) must exceed cin ({cin}) by the growth rate")
        self.conv1 = ConvBNAct(cin, int(round(growth * bottle_ratio)), 1, act=act)
        self.conv2 = ConvBNAct(int(round(growth * bottle_ratio)), growth, 3, groups=groups, act=act)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.conv2(self.conv1(x))], 1)


class CrossStage(nn.Module):
    """x (Tensor[B, in_chs, H, W]) -> Tensor[B, out_chs, H/stride, W/stride].

    Args follow timm's CrossStage: ``exp = round(out_chs * expand_ratio)`` channels after the 1x1
    expansion (split in halves), blocks of width ``round(out_chs * block_ratio)`` (dense blocks: growth
    ``round(out_chs * block_ratio)`` per block), ``down_growth``: the downsampling conv outputs
    ``out_chs`` instead of ``in_chs``; ``cross_linear``: no activation after the expansion.
    """

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, depth: int = 1, block: str = "bottleneck",
                 expand_ratio: float = 1.0, bottle_ratio: float = 1.0, block_ratio: float = 1.0,
                 groups: int = 1, down_growth: bool = False, cross_linear: bool = False,
                 fusion: str = "last", act=None):
        super().__init__()
        if fusion not in ("last", "first"):
            raise InputError(f"CrossStage: fusion must be 'last' or 'first', got {fusion!r}")
        block_cls = csp_blocks.get(block)
        self.fusion = fusion
        down_chs = out_chs if down_growth else in_chs
        self.expand_chs = exp = int(round(out_chs * expand_ratio))
        width = int(round(out_chs * block_ratio))
        self.conv_down = (ConvBNAct(in_chs, down_chs, 3, stride, groups, act) if stride != 1 else nn.Identity())
        prev = down_chs if stride != 1 else in_chs
        self.conv_exp = ConvBNAct(prev, exp, 1, act=act, apply_act=not cross_linear)
        prev = exp // 2
        self.blocks = nn.Sequential()
        for i in range(depth):
            nxt = prev + width if block == "dense" else width
            self.blocks.add_module(str(i), block_cls(prev, nxt, bottle_ratio, groups, act))
            prev = nxt
        if fusion == "last":
            self.conv_transition_b = ConvBNAct(prev, exp // 2, 1, act=act)
            self.conv_transition = ConvBNAct(exp, out_chs, 1, act=act)
        else:
            self.conv_transition_b = nn.Identity()
            self.conv_transition = ConvBNAct(exp - exp // 2 + prev, out_chs, 1, act=act)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_exp(self.conv_down(x))
        xs, xb = x.split([self.expand_chs - self.expand_chs // 2, self.expand_chs // 2], dim=1)
        xb = self.conv_transition_b(self.blocks(xb))
        return self.conv_transition(torch.cat([xs, xb], dim=1))

    def split_convs(self) -> tuple[nn.Conv2d, nn.Conv2d]:
        """The expansion conv as the darknet form's two separate 1x1 convs (part 1, part 2)."""
        w = self.conv_exp.conv.weight
        k = self.expand_chs - self.expand_chs // 2
        convs = []
        for sl in (slice(0, k), slice(k, None)):
            c = nn.Conv2d(w.shape[1], w[sl].shape[0], 1, bias=False)
            c.weight.data.copy_(w[sl])
            convs.append(c)
        return convs[0], convs[1]


class _Head(nn.Module):
    def __init__(self, cin: int, num_classes: int):
        super().__init__()
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.global_pool(x), 1))


class CSPNet(nn.Module):
    """stem -> stages (CrossStage list) -> head (global average pool + fc): Tensor[B, 3, H, W] -> [B, n]."""

    def __init__(self, stem: nn.Module, stem_chs: int, stages: list[dict], num_classes: int | None = None,
                 act=None):
        super().__init__()
        self.stem = stem
        self.stages = nn.Sequential()
        prev = stem_chs
        for i, s in enumerate(stages):
            self.stages.add_module(str(i), CrossStage(prev, act=act, **s))
            prev = s["out_chs"]
        self.head = _Head(prev, num_classes or 1000)
        _init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stages(self.stem(x)))


def _init(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _stem(in_chans: int, out: int, k: int, stride: int, pool: bool, act) -> nn.Sequential:
    stem = nn.Sequential()
    stem.add_module("conv1", ConvBNAct(in_chans, out, k, stride, act=act))
    if pool:
        stem.add_module("pool", nn.MaxPool2d(3, 2, 1))
    return stem


def _stages(depths, widths, strides, **per_stage) -> list[dict]:
    out = []
    for i, (d, w, s) in enumerate(zip(depths, widths, strides)):
        kw = {k: (v[i] if isinstance(v, (tuple, list)) else v) for k, v in per_stage.items()}
        out.append(dict(out_chs=w, depth=d, stride=s, **kw))
    return out


def cspresnet50(num_classes: int | None = None, in_chans: int | None = None, act=None,
                fusion: str = "last") -> CSPNet:
    """CSPResNet-50 (timm): 21,616,168 parameters, 3.459 GMACs at 224x224."""
    stages = _stages((3, 3, 5, 2), (128, 256, 512, 1024), (1, 2, 2, 2), block="bottleneck", expand_ratio=2.0,
                     bottle_ratio=0.5, block_ratio=1.0, cross_linear=True, fusion=fusion)
    return CSPNet(_stem(in_chans or 3, 64, 7, 2, True, act), 64, stages, num_classes, act)


def cspresnext50(num_classes: int | None = None, in_chans: int | None = None, act=None,
                 fusion: str = "last") -> CSPNet:
    """CSPResNeXt-50 (timm): 20,569,896 parameters, 3.074 GMACs at 224x224."""
    stages = _stages((3, 3, 5, 2), (256, 512, 1024, 2048), (1, 2, 2, 2), block="bottleneck", groups=32,
                     expand_ratio=1.0, bottle_ratio=1.0, block_ratio=0.5, cross_linear=True, fusion=fusion)
    return CSPNet(_stem(in_chans or 3, 64, 7, 2, True, act), 64, stages, num_classes, act)


def cspdarknet53(num_classes: int | None = None, in_chans: int | None = None, act=None,
                 fusion: str = "last") -> CSPNet:
    """CSPDarkNet-53 (timm): 27,642,184 parameters, 6.534 GMACs at 256x256."""
    stages = _stages((1, 2, 8, 8, 4), (64, 128, 256, 512, 1024), (2,) * 5, block="dark",
                     expand_ratio=(2.0, 1.0, 1.0, 1.0, 1.0), bottle_ratio=(0.5, 1.0, 1.0, 1.0, 1.0),
                     block_ratio=(1.0, 0.5, 0.5, 0.5, 0.5), down_growth=True, fusion=fusion)
    return CSPNet(_stem(in_chans or 3, 32, 3, 1, False, act), 32, stages, num_classes, act)


def _stage_info(path: str, stage: nn.Module) -> dict:
    """Depth, channels, stride, groups and block type of one ResNet stage (torchvision layout)."""
    blocks = list(stage.children()) if isinstance(stage, nn.Sequential) else []
    if not blocks or not all(hasattr(b, "conv1") and hasattr(b, "conv2") for b in blocks):
        raise InputError(f"to_csp: '{path}' is not a Sequential of BasicBlock/Bottleneck blocks (torchvision "
                         f"ResNet layout: conv1/bn1/conv2/bn2[/conv3/bn3]/downsample); got {type(stage).__name__}")
    first, last = blocks[0], blocks[-1]
    bottleneck = hasattr(first, "conv3")
    out = (last.conv3 if bottleneck else last.conv2).out_channels
    stride = max(first.conv2.stride[0], first.conv1.stride[0])
    ratio = first.conv1.out_channels / out if bottleneck else 1.0
    return dict(in_chs=first.conv1.in_channels, out_chs=out, depth=len(blocks), stride=stride, ratio=ratio,
                groups=first.conv2.groups, block="bottleneck" if bottleneck else "basic")


def to_csp(model: nn.Module, depths=None, widths=None, expand_ratio: float | None = None,
           bottle_ratio: float | None = None, block_ratio: float | None = None, fusion: str | None = None,
           act=None, stages=None, inplace: bool = False, return_report: bool = False):
    """Replace the stages ``layer1..layer4`` of a ResNet-style model by :class:`CrossStage` modules.

    The stem and (when the channel count is kept) the classifier keep their weights; the stages are
    new (train or distil them: :func:`edge.forms.distill`).

    Args (None means default):
        depths, widths: blocks and output channels per stage; default: the source's.
        expand_ratio: default 1.0; block_ratio: default 0.5 (half the channels go through the blocks);
        bottle_ratio: default 1.0 for grouped (ResNeXt) bottlenecks as timm's CSPResNeXt, the source's
            ratio (0.25) for plain ones; fusion: "last" (default) or "first"; act: default nn.ReLU.
        stages: attribute names; default ("layer1", "layer2", "layer3", "layer4").
    ``to_csp(resnet50(), depths=(3,3,5,2), widths=(128,256,512,1024), expand_ratio=2, bottle_ratio=0.5,
    block_ratio=1)`` is timm's CSPResNet-50 (21,616,168 parameters).
    """
    import copy

    from edge.forms.report import ConversionReport

    names = list(stages or ("layer1", "layer2", "layer3", "layer4"))
    missing = [n for n in names if not isinstance(getattr(model, n, None), nn.Module)]
    if missing:
        raise InputError(f"to_csp: {type(model).__name__} has no stage(s) {missing}; it needs the torchvision "
                         f"ResNet structure (layer1..layer4) or pass stages=[...] naming its stages")
    model = model if inplace else copy.deepcopy(model)
    act = act or (lambda: nn.ReLU(inplace=True))
    report = ConversionReport(form=f"csp(fusion={fusion or 'last'})")
    prev = None
    for i, name in enumerate(names):
        info = _stage_info(name, getattr(model, name))
        out = widths[i] if widths else info["out_chs"]
        grouped = info["groups"] > 1
        stage = CrossStage(
            prev if prev is not None else info["in_chs"], out, info["stride"],
            depths[i] if depths else info["depth"], info["block"],
            1.0 if expand_ratio is None else expand_ratio,
            (1.0 if grouped else info["ratio"]) if bottle_ratio is None else bottle_ratio,
            0.5 if block_ratio is None else block_ratio, info["groups"], False, True, fusion or "last", act)
        stage.to(next(getattr(model, name).parameters()).device)
        setattr(model, name, stage)
        report.replaced.append((name, f"{info['depth']} x {info['block']} ({info['in_chs']}->{info['out_chs']}, "
                                      f"s{info['stride']}) -> CrossStage ({stage.conv_exp.conv.in_channels}"
                                      f"->{out}, {len(stage.blocks)} blocks)"))
        prev = out
    fc = getattr(model, "fc", None)
    if isinstance(fc, nn.Linear) and fc.in_features != prev:
        model.fc = nn.Linear(prev, fc.out_features).to(fc.weight.device)
        report.replaced.append(("fc", f"Linear({fc.in_features}, {fc.out_features}) -> Linear({prev}, "
                                      f"{fc.out_features}) (new width)"))
    _init_new(model, names)
    return (model, report) if return_report else model


def _init_new(model: nn.Module, names) -> None:
    for n in names:
        _init(getattr(model, n))
