"""SPConv ("Split to Be Slim", Zhang et al., IJCAI 2020; docs/METHODS.md §2) and the ``to_spconv`` converter.

:class:`SPConv3x3` splits the input channels: the first ``a = int(alpha * Cin)`` (representative)
go through a group-wise 3x3 conv (groups = 2) plus a pointwise conv, the rest (redundant) through a
cheap 1x1 conv with bias; the two BatchNormed results are fused with parameter-free per-channel
softmax weights from global average pooling. Parameters:
``Cout*(a/2)*9 + Cout*a + Cout*(Cin-a) + Cout + 4*Cout``.

Odd sizes with stride 2 (the public code crashes there): the 3x3 conv gives ``ceil(H/2)``, so the 2x2
average pooling of the 1x1 branches uses ``ceil_mode=True`` with ``count_include_pad=False``: the last,
partial window averages only the pixels it covers. For even sizes this is plain 2x2 pooling.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from edge.errors import InputError
from edge.forms.report import ConversionReport, excluded, set_submodule

__all__ = ["SPConv3x3", "calibrate_spconv", "init_from_conv", "spconv_eligible", "spconv_params", "to_spconv"]


def spconv_params(cin: int, cout: int, alpha: float) -> int:
    """The parameter count of docs/METHODS.md §2 for one SPConv3x3."""
    a = int(alpha * cin)
    return cout * (a // 2) * 9 + cout * a + cout * (cin - a) + cout + 4 * cout


def _pool(stride: int) -> nn.Module:
    if stride == 1:
        return nn.Identity()
    return nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)


class SPConv3x3(nn.Module):
    """x (Tensor[B, Cin, H, W]) -> Tensor[B, Cout, ceil(H/s), ceil(W/s)]; no activation inside.

    Args:
        in_channels, out_channels: Cin, Cout (Cout even: the 3x3 conv has 2 groups).
        stride: 1 or 2.
        alpha: share of representative channels; None means 0.5. ``a = int(alpha*Cin)`` must be even,
            >= 2 and < Cin.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, alpha: float | None = None):
        super().__init__()
        alpha = 0.5 if alpha is None else float(alpha)
        a = int(alpha * in_channels)
        reason = spconv_eligible(in_channels, out_channels, stride, alpha)
        if reason:
            raise InputError(f"SPConv3x3({in_channels}, {out_channels}, stride={stride}, alpha={alpha}): {reason}")
        self.in_channels, self.out_channels, self.stride, self.alpha = in_channels, out_channels, stride, alpha
        self.inplanes_3x3, self.inplanes_1x1 = a, in_channels - a
        self.gwc = nn.Conv2d(a, out_channels, 3, stride, 1, groups=2, bias=False)
        self.pwc = nn.Conv2d(a, out_channels, 1, bias=False)
        self.pool_rep = _pool(stride)
        self.bn_rep = nn.BatchNorm2d(out_channels)
        self.pool_red = _pool(stride)
        self.conv1x1 = nn.Conv2d(in_channels - a, out_channels, 1, bias=True)
        self.bn_red = nn.BatchNorm2d(out_channels)

    def branches(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(U3, U1), each Tensor[B, Cout, Ho, Wo]."""
        rep, red = x[:, :self.inplanes_3x3], x[:, self.inplanes_3x3:]
        u3 = self.bn_rep(self.gwc(rep) + self.pwc(self.pool_rep(rep)))
        u1 = self.bn_red(self.conv1x1(self.pool_red(red)))
        return u3, u1

    @staticmethod
    def fusion_weights(u3: Tensor, u1: Tensor) -> tuple[Tensor, Tensor]:
        """Per sample and channel softmax of the GAPs: (b3, b1), each Tensor[B, Cout, 1, 1], b3 + b1 = 1."""
        w = torch.softmax(torch.stack([u3.mean((2, 3), keepdim=True), u1.mean((2, 3), keepdim=True)]), dim=0)
        return w[0], w[1]

    def forward(self, x: Tensor) -> Tensor:
        u3, u1 = self.branches(x)
        b3, b1 = self.fusion_weights(u3, u1)
        return b3 * u3 + b1 * u1

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}, alpha={self.alpha}"


def spconv_eligible(cin: int, cout: int, stride: int, alpha: float) -> str | None:
    """None when SPConv3x3(cin, cout, stride, alpha) can be built, else the reason."""
    a = int(alpha * cin)
    if stride not in (1, 2):
        return f"stride must be 1 or 2, got {stride}"
    if a < 2 or a % 2:
        return f"representative channels int(alpha*Cin) = {a} must be even and >= 2 (group conv with 2 groups)"
    if a >= cin:
        return f"representative channels {a} leave no redundant channel of Cin = {cin}; use alpha < 1"
    if cout % 2:
        return f"Cout = {cout} must be even (group conv with 2 groups)"
    return None


def _why_not(conv: nn.Module, alpha: float) -> str | None:
    if type(conv) is not nn.Conv2d:
        return "not an nn.Conv2d"
    if conv.kernel_size != (3, 3):
        return f"kernel {conv.kernel_size} is not 3x3"
    if conv.groups != 1 or conv.dilation != (1, 1) or conv.padding != (1, 1) or conv.padding_mode != "zeros":
        return "only dense 3x3 convs with padding 1, dilation 1, zero padding are replaced"
    if conv.stride[0] != conv.stride[1]:
        return f"anisotropic stride {conv.stride}"
    return spconv_eligible(conv.in_channels, conv.out_channels, conv.stride[0], alpha)


@torch.no_grad()
def init_from_conv(sp: SPConv3x3, conv: nn.Conv2d) -> SPConv3x3:
    """Initialise ``sp`` from the 3x3 conv it replaces (weight W: Tensor[Cout, Cin, 3, 3]); returns ``sp``.

    - group-wise 3x3 (2 groups): the diagonal blocks of W on the representative channels,
      ``W[:Cout/2, :a/2]`` and ``W[Cout/2:, a/2:a]``;
    - pointwise on the representative channels: the spatial sums of the off-diagonal blocks (the part of
      W the 2-group conv cannot hold), zeros on the diagonal;
    - redundant 1x1 (with bias): the spatial sums of ``W[:, a:]``, bias = the conv's bias or 0;
    - both inner BNs scale by 2 (``weight = 2``): with fusion weights near 1/2 the output is then close
      to ``U3 + U1``, i.e. the original conv with its 3x3 kernels reduced to 1x1 where SPConv has no 3x3.
    :func:`calibrate_spconv` makes the inner BNs pass their data through unchanged (x2) in both modes.
    """
    w = conv.weight.to(sp.gwc.weight.dtype)
    a, co = sp.inplanes_3x3, sp.out_channels
    h, ha = co // 2, a // 2
    sp.gwc.weight.copy_(torch.cat([w[:h, :ha], w[h:, ha:a]]))
    pw = torch.zeros_like(sp.pwc.weight)
    pw[:h, ha:a, 0, 0] = w[:h, ha:a].sum((2, 3))
    pw[h:, :ha, 0, 0] = w[h:, :ha].sum((2, 3))
    sp.pwc.weight.copy_(pw)
    sp.conv1x1.weight.copy_(w[:, a:].sum((2, 3), keepdim=True))
    sp.conv1x1.bias.copy_(conv.bias if conv.bias is not None else torch.zeros(co))
    for bn in (sp.bn_rep, sp.bn_red):
        bn.weight.fill_(2.0)
        bn.bias.zero_()
    return sp


@torch.no_grad()
def calibrate_spconv(model: nn.Module, data, batches: int | None = None) -> int:
    """Make the inner BNs of every :class:`SPConv3x3` of ``model`` an identity x2 on ``data`` (batches of
    x or (x, y)), then re-estimate all BN statistics; returns the SPConv modules touched.

    Pass 1 estimates each inner BN's running mean/var; setting ``weight = 2 sqrt(var + eps)``,
    ``bias = 2 mean`` makes ``BN(U) = 2U`` (eval mode, and train mode for batches like the data); pass 2
    (:func:`edge.forms.distill.recalibrate_bn`) re-estimates every BN, so the block BNs after each SPConv
    see its new output. Run it right after :func:`to_spconv`, before fine-tuning.
    """
    from edge.forms.distill import recalibrate_bn

    mods = [m for m in model.modules() if isinstance(m, SPConv3x3)]
    if not mods:
        raise InputError(f"calibrate_spconv: {type(model).__name__} has no SPConv3x3; convert it with to_spconv")
    recalibrate_bn(model, data, batches)
    for m in mods:
        for bn in (m.bn_rep, m.bn_red):
            bn.weight.copy_(2 * torch.sqrt(bn.running_var + bn.eps))
            bn.bias.copy_(2 * bn.running_mean)
    recalibrate_bn(model, data, batches)
    return len(mods)


def to_spconv(model: nn.Module, alpha: float | None = None, inplace: bool = False, exclude=None,
              return_report: bool = False, init: str | None = None):
    """Replace every eligible 3x3 ``nn.Conv2d`` of ``model`` by a :class:`SPConv3x3`.

    Eligible: 3x3, groups 1, dilation 1, padding 1, stride 1 or 2, ``int(alpha*Cin)`` even >= 2, Cout
    even. The surrounding BN/ReLU are kept (the block's own BN follows, as in the paper). A conv with a
    bias loses it (the redundant 1x1 has one; the following BN absorbs any offset).

    Args:
        model: any nn.Module; deep-copied unless ``inplace``.
        alpha: None means 0.5.
        exclude: fnmatch patterns of module paths to keep (e.g. ``["conv1"]``); None means none.
        return_report: also return the :class:`ConversionReport`.
        init: "conv" (default): each SPConv starts from the weights of the conv it replaces
            (:func:`init_from_conv`; then :func:`calibrate_spconv` on some data); "fresh": default
            PyTorch initialisation.
    """
    alpha = 0.5 if alpha is None else float(alpha)
    init = init or "conv"
    if not 0 < alpha < 1:
        raise InputError(f"to_spconv: alpha must be in (0, 1), got {alpha}")
    if init not in ("conv", "fresh"):
        raise InputError(f"to_spconv: init must be 'conv' or 'fresh', got {init!r}")
    model = model if inplace else copy.deepcopy(model)
    report = ConversionReport(form=f"spconv(alpha={alpha:g})")
    for path, mod in list(model.named_modules()):
        if not isinstance(mod, nn.Conv2d):
            continue
        reason = "excluded by pattern" if excluded(path, exclude) else _why_not(mod, alpha)
        if reason:
            report.skipped.append((path, reason))
            continue
        new = SPConv3x3(mod.in_channels, mod.out_channels, mod.stride[0], alpha).to(
            device=mod.weight.device, dtype=mod.weight.dtype)
        if init == "conv" and mod.weight.device.type != "meta":
            init_from_conv(new, mod)
        set_submodule(model, path, new)
        report.replaced.append((path, (f"Conv2d({mod.in_channels}, {mod.out_channels}, 3x3, s{mod.stride[0]}) "
                                       f"-> SPConv3x3 a={new.inplanes_3x3}")))
    if not report.replaced:
        raise InputError(f"to_spconv: no eligible 3x3 convolution in {type(model).__name__}; skipped: "
                         + "; ".join(f"{p} ({r})" for p, r in report.skipped[:5]))
    return (model, report) if return_report else model
