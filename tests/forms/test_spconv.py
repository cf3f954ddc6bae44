"""SPConv (METHODS §2): independent re-implementation, parameter formula, fusion, ResNet-50 figures."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edge.errors import InputError
from edge.flops import count_flops
from edge.forms import SPConv3x3, spconv_params, to_spconv
from edge.forms.spconv import calibrate_spconv
from edge.models import resnet50


def _randomise_bn(model):
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))


def _independent(m: SPConv3x3, x):
    """SPConv written from docs/METHODS.md §2 with functional ops only (eval-mode BN)."""
    a, s = int(m.alpha * x.shape[1]), m.stride

    def bn(t, b):
        return F.batch_norm(t, b.running_mean, b.running_var, b.weight, b.bias, False, 0.0, b.eps)

    def pool(t):
        return F.avg_pool2d(t, 2, 2, ceil_mode=True, count_include_pad=False) if s == 2 else t

    rep, red = x[:, :a], x[:, a:]
    u3 = bn(F.conv2d(rep, m.gwc.weight, None, s, 1, groups=2) + F.conv2d(pool(rep), m.pwc.weight), m.bn_rep)
    u1 = bn(F.conv2d(pool(red), m.conv1x1.weight, m.conv1x1.bias), m.bn_red)
    g3, g1 = u3.mean((2, 3)), u1.mean((2, 3))
    b3 = torch.exp(g3) / (torch.exp(g3) + torch.exp(g1))
    return b3[..., None, None] * u3 + (1 - b3)[..., None, None] * u1


@pytest.mark.parametrize("cin,cout,stride,alpha,hw", [(16, 8, 1, 0.5, 9), (16, 12, 2, 0.25, 9), (32, 16, 2, 0.125, 8),
                                                        (10, 6, 2, 0.4, 7)])
def test_matches_independent_implementation(cin, cout, stride, alpha, hw):
    torch.manual_seed(0)
    m = SPConv3x3(cin, cout, stride, alpha)
    _randomise_bn(m)
    m.eval()
    x = torch.randn(3, cin, hw, hw + 1)
    y = m(x)
    assert y.shape == (3, cout, -(-hw // stride), -(-(hw + 1) // stride))  # ceil: odd sizes handled
    torch.testing.assert_close(y, _independent(m, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cin,cout,alpha", [(64, 64, 0.5), (64, 128, 0.25), (128, 64, 0.125), (20, 14, 0.3)])
def test_parameter_formula(cin, cout, alpha):
    a = int(alpha * cin)
    expect = cout * (a / 2) * 9 + cout * a + cout * (cin - a) + cout + 4 * cout
    n = sum(p.numel() for p in SPConv3x3(cin, cout, 1, alpha).parameters())
    assert n == expect == spconv_params(cin, cout, alpha)


def test_fusion_weights_sum_to_one_and_samples_independent():
    torch.manual_seed(1)
    m = SPConv3x3(8, 8, 1, 0.5)
    _randomise_bn(m)
    m.eval()
    x = torch.randn(4, 8, 6, 6)
    b3, b1 = m.fusion_weights(*m.branches(x))
    torch.testing.assert_close(b3 + b1, torch.ones_like(b3))
    assert not torch.allclose(b3[0], b3[1])  # per sample
    y = m(x)
    torch.testing.assert_close(m(x[2:3]), y[2:3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha,params,gmacs", [(0.5, 18_345_448, 2.907), (0.25, 16_930_792, 2.676),
                                                (0.125, 16_223_464, 2.561)])
def test_resnet50_figures(alpha, params, gmacs):
    with torch.device("meta"):
        base = resnet50()
    model, report = to_spconv(base, alpha, return_report=True)
    assert sum(p.numel() for p in model.parameters()) == params
    assert len(report.replaced) == 16 and all("conv2" in p for p, _ in report.replaced)
    macs = count_flops(model.eval(), torch.empty(1, 3, 224, 224, device="meta")) / 2e9
    assert abs(macs - gmacs) < 0.0006


def test_to_spconv_copies_and_reports():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3, 2, 1),
                        nn.Conv2d(16, 16, 5, 1, 2), nn.Conv2d(16, 16, 3, 1, 1, groups=4))
    out, rep = to_spconv(net, return_report=True)
    assert isinstance(net[3], nn.Conv2d) and isinstance(out[3], SPConv3x3)  # source untouched
    assert dict(rep.skipped)["0"].startswith("representative channels")  # 3 input channels: a = 1
    assert "not 3x3" in dict(rep.skipped)["4"] and "dense 3x3" in dict(rep.skipped)["5"]
    assert out(torch.randn(2, 3, 9, 9)).shape == (2, 16, 5, 5)
    same = to_spconv(net, inplace=True)
    assert same is net and isinstance(net[3], SPConv3x3)


def test_errors():
    with pytest.raises(InputError, match="alpha"):
        to_spconv(nn.Conv2d(8, 8, 3, 1, 1), alpha=1.5)
    with pytest.raises(InputError, match="no eligible"):
        to_spconv(nn.Sequential(nn.Conv2d(8, 8, 1)))
    with pytest.raises(InputError, match="even"):
        SPConv3x3(8, 7, 1, 0.5)


@pytest.mark.parametrize("cin,cout,alpha", [(16, 8, 0.5), (16, 12, 0.25), (10, 6, 0.4)])
def test_init_from_conv_keeps_the_conv_where_shapes_allow(cin, cout, alpha):
    """Branch sums before the BNs equal the source conv with the kernels SPConv cannot hold as 3x3 (the
    off-diagonal group blocks and the redundant channels) collapsed to their spatial sum at the centre."""
    torch.manual_seed(0)
    conv = nn.Conv2d(cin, cout, 3, 1, 1, bias=True)
    sp = to_spconv(nn.Sequential(conv), alpha)[0]
    a, h = int(alpha * cin), cout // 2
    w = conv.weight.detach().clone()
    collapsed = torch.zeros_like(w)
    collapsed[..., 1, 1] = w.sum((2, 3))
    w3 = collapsed.clone()
    w3[:h, :a // 2], w3[h:, a // 2:a] = w[:h, :a // 2], w[h:, a // 2:a]
    x = torch.randn(2, cin, 7, 8)
    rep, red = x[:, :a], x[:, a:]
    with torch.no_grad():
        got = sp.gwc(rep) + sp.pwc(rep) + sp.conv1x1(red)
        torch.testing.assert_close(got, F.conv2d(x, w3, conv.bias, padding=1), rtol=1e-5, atol=1e-5)
    fresh = to_spconv(nn.Sequential(conv), alpha, init="fresh")[0]
    assert not torch.equal(fresh.gwc.weight, sp.gwc.weight)
    with pytest.raises(InputError, match="init"):
        to_spconv(conv, alpha, init="teacher")


def test_calibrate_spconv_makes_inner_bns_identity_times_two():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
    data = [torch.randn(8, 16, 6, 6) * 2 + 1 for _ in range(4)]
    sp_net = to_spconv(net)
    assert calibrate_spconv(sp_net, data) == 1
    sp = sp_net[0].eval()
    x = torch.cat(data)
    with torch.no_grad():
        rep, red = x[:, :8], x[:, 8:]
        u3, u1 = sp.gwc(rep) + sp.pwc(rep), sp.conv1x1(red)
        torch.testing.assert_close(sp.bn_rep(u3), 2 * u3, rtol=1e-3, atol=1e-3)
        torch.testing.assert_close(sp.bn_red(u1), 2 * u1, rtol=1e-3, atol=1e-3)
        out = sp(x)
        # pass 2: the block BN after the SPConv sees its new output (batch statistics inside: close, not equal)
        torch.testing.assert_close(sp_net[1].running_mean, out.mean((0, 2, 3)), rtol=0, atol=1e-2)
    with pytest.raises(InputError, match="SPConv3x3"):
        calibrate_spconv(net, data)
