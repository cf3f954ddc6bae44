"""Tiled execution equals untiled execution, and tiles fit the memory budget.

The guarantee (docs/DESIGN.md, "Tiling"): every output value of a tile is the same sum of the same products
as in the untiled run, because tiles are aligned to the stride product and so decompose into the same shifts.
It is not a bit-for-bit guarantee: the convolution kernel oneDNN picks depends on the tensor's shape and on
the CPU (AVX2 vs AVX-512), so the summation order, and the last bits, may differ between a tile and the whole
image. The tests therefore compare in float64, where a different summation order moves a value by ~1e-16
relative while any misplaced shift or seam moves it by O(1), and in float32 with a few ulps of slack.
"""

from __future__ import annotations

import pytest
import torch

from edge.dense import basenet, plan_tiles, simo_serra, to_dense
from random_nets import random_patch_net
from edge.errors import InputError


@pytest.mark.parametrize("factory, patch", [(basenet, 15), (simo_serra, 64)])
@pytest.mark.parametrize("tile", [(24, 48), (48, 72), (100, 30)])
def test_reference_nets_tiled_equal_untiled(factory, patch, tile):
    net = factory().double()
    x = torch.randn(2, 1, 97, 131, dtype=torch.float64)
    with torch.no_grad():
        assert_same_sums(to_dense(net, patch, tile=tile)(x), to_dense(net, patch)(x), rel=1e-12)


def assert_same_sums(a: torch.Tensor, b: torch.Tensor, rel: float) -> None:
    """``a`` equals ``b`` up to summation order: max |a - b| <= rel * max |b| (see the module docstring)."""
    assert a.shape == b.shape
    err = float((a - b).abs().max() / b.abs().max())
    assert err <= rel, f"tiled vs untiled: max error {err:.2e} relative to the output scale exceeds {rel:g}"


@pytest.mark.parametrize("seed", range(0, 30, 3))
@pytest.mark.parametrize("tile", [(1, 1), (5, 7), (16, 9)])
def test_random_nets_tiled_equal_untiled(seed, tile):
    """Same values as untiled, in float32: for tiny maps oneDNN may pick another convolution kernel whose
    sums round differently in the last bit (seen: <= 3e-8 on 3 of 90 cases), hence 1e-6 relative."""
    net, patch = random_patch_net(seed)
    dense = to_dense(net, patch)
    tiled = to_dense(net, patch, tile=tile)
    x = torch.randn(2, dense.in_channels, 29, 23)
    with torch.no_grad():
        a, b = tiled(x), dense(x)
    assert_same_sums(a, b, rel=1e-6)


def test_budget_chooses_tiles_and_result_is_identical():
    net = simo_serra()
    dense = to_dense(net, 64)
    x = torch.randn(1, 1, 150, 200)
    full = plan_tiles(dense, 1, 150, 200).full_bytes
    budget_mb = full / 3 / 2**20
    plan = plan_tiles(dense, 1, 150, 200, max_memory_mb=budget_mb)
    assert plan.grid != (1, 1)
    assert plan.est_bytes <= budget_mb * 2**20
    sy, sx = dense.total_stride
    assert plan.tile[0] % sy == 0 and plan.tile[1] % sx == 0
    tiled = to_dense(net, 64, max_memory_mb=budget_mb)
    with torch.no_grad():
        assert_same_sums(tiled(x), dense(x), rel=1e-6)


def test_budget_too_small_is_a_clear_error():
    dense = to_dense(simo_serra(), 64, max_memory_mb=1)
    with pytest.raises(InputError, match="max_memory_mb=1 cannot hold"):
        dense(torch.randn(1, 1, 200, 300))


def test_estimate_tracks_measured_allocation():
    """The analytic estimate is within 2x of what the untiled run actually allocates (tensor bytes)."""
    from torch.profiler import ProfilerActivity, profile

    dense = to_dense(simo_serra(), 64)
    x = torch.randn(1, 1, 96, 120)
    est = plan_tiles(dense, 1, 96, 120).full_bytes
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        dense(x)
    peak = max(e.cpu_memory_usage for e in prof.key_averages())
    assert est > 0 and peak / 2 <= est <= peak * 4
