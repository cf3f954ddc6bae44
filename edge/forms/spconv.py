"""SPConv ("Split to Be Slim", Zhang et al., IJCAI 2020; SPEC §2) and the ``to_spconv`` converter.

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

__all__ = ["SPConv3x3", "spconv_eligible", "spconv_params", "to_spconv"]


def spconv_params(cin: int, cout: int, alpha: float) -> int:
    """The parameter count of SPEC §2 for one SPConv3x3."""
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


def to_spconv(model: nn.Module, alpha: float | None = None, inplace: bool = False, exclude=None,
              return_report: bool = False):
    """Replace every eligible 3x3 ``nn.Conv2d`` of ``model`` by a :class:`SPConv3x3` (fresh weights).

    Eligible: 3x3, groups 1, dilation 1, padding 1, stride 1 or 2, ``int(alpha*Cin)`` even >= 2, Cout
    even. The surrounding BN/ReLU are kept (the block's own BN follows, as in the paper). A conv with a
    bias loses it (the redundant 1x1 has one; the following BN absorbs any offset).

    Args:
        model: any nn.Module; deep-copied unless ``inplace``.
        alpha: None means 0.5.
        exclude: fnmatch patterns of module paths to keep (e.g. ``["conv1"]``); None means none.
        return_report: also return the :class:`ConversionReport`.
    """
    alpha = 0.5 if alpha is None else float(alpha)
    if not 0 < alpha < 1:
        raise InputError(f"to_spconv: alpha must be in (0, 1), got {alpha}")
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
        set_submodule(model, path, new)
        report.replaced.append((path, f"Conv2d({mod.in_channels}, {mod.out_channels}, 3x3, s{mod.stride[0]}) "
                                      f"-> SPConv3x3 a={new.inplanes_3x3}"))
    if not report.replaced:
        raise InputError(f"to_spconv: no eligible 3x3 convolution in {type(model).__name__}; skipped: "
                         + "; ".join(f"{p} ({r})" for p, r in report.skipped[:5]))
    return (model, report) if return_report else model
