"""CSP stages (docs/METHODS.md §3): split equivalence, builder figures, to_csp."""

from __future__ import annotations

import pytest
import torch

from edge.errors import InputError
from edge.flops import count_flops
from edge.forms import CrossStage, cspdarknet53, cspresnet50, cspresnext50, to_csp
from edge.models import resnet18, resnet50, resnext50_32x4d


def _params(m):
    return sum(p.numel() for p in m.parameters())


def _gmacs(m, hw):
    return count_flops(m.eval(), torch.empty(1, 3, hw, hw, device="meta")) / 2e9


def test_split_equals_two_convs():
    torch.manual_seed(0)
    st = CrossStage(12, 16, 1, 1, "bottleneck", expand_ratio=1.0).eval()
    x = torch.randn(2, 12, 7, 7)
    full = st.conv_exp.conv(x)
    c1, c2 = st.split_convs()
    part1, part2 = full.split([8, 8], 1)
    torch.testing.assert_close(c1(x), part1)
    torch.testing.assert_close(c2(x), part2)


@pytest.mark.parametrize("builder,params,hw,gmacs", [(cspresnet50, 21_616_168, 224, 3.459),
                                                     (cspresnext50, 20_569_896, 224, 3.074),
                                                     (cspdarknet53, 27_642_184, 256, 6.534)])
def test_builders_match_reference(builder, params, hw, gmacs):
    with torch.device("meta"):
        m = builder()
    assert _params(m) == params
    assert abs(_gmacs(m, hw) / gmacs - 1) < 0.005


def test_converted_resnet50_with_cspresnet50_settings():
    with torch.device("meta"):
        m = to_csp(resnet50(), depths=(3, 3, 5, 2), widths=(128, 256, 512, 1024), expand_ratio=2,
                   bottle_ratio=0.5, block_ratio=1.0)
    assert _params(m) == 21_616_168
    assert abs(_gmacs(m, 224) / 3.459 - 1) < 0.005


@pytest.mark.parametrize("block", ["bottleneck", "basic", "dark", "dense"])
@pytest.mark.parametrize("fusion", ["last", "first"])
def test_stage_shapes(block, fusion):
    st = CrossStage(16, 32, 2, 2, block, bottle_ratio=0.5, block_ratio=0.5, fusion=fusion).eval()
    assert st(torch.randn(2, 16, 9, 9)).shape == (2, 32, 5, 5)


def test_fusion_first_is_cheaper():
    x = torch.randn(1, 64, 16, 16)
    last = CrossStage(64, 128, 2, 3, "bottleneck", 1.0, 0.5, 0.5, fusion="last").eval()
    first = CrossStage(64, 128, 2, 3, "bottleneck", 1.0, 0.5, 0.5, fusion="first").eval()
    assert count_flops(first, x) < count_flops(last, x)


@pytest.mark.parametrize("builder", [resnet18, resnet50, resnext50_32x4d])
def test_to_csp_costs_fewer_macs(builder):
    with torch.device("meta"):
        src = builder()
    dst, rep = to_csp(src, return_report=True)
    assert len(rep.replaced) == 4 and type(src.layer1).__name__ == "Sequential"
    assert _gmacs(dst, 224) < _gmacs(src, 224)


def test_to_csp_runs_and_keeps_stem():
    torch.manual_seed(0)
    src = resnet18(num_classes=10, in_chans=1, small_stem=True, widths=(8, 16, 32, 64)).eval()
    dst = to_csp(src).eval()
    assert torch.equal(dst.conv1.weight, src.conv1.weight) and torch.equal(dst.fc.weight, src.fc.weight)
    assert dst(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_to_csp_rejects_other_layouts():
    with pytest.raises(InputError, match="layer1"):
        to_csp(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1)))
