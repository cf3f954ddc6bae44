"""The matcher's building blocks against plain-loop references on small inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edge.stereo.matcher import (
    OUTSIDE,
    cost_volume,
    fill_invalid,
    lr_consistent,
    right_cost,
    subpixel,
    winner,
)
from edge.stereo.sgm import sgm


def _features(seed=0, b=1, k=5, h=4, w=9):
    g = torch.Generator().manual_seed(seed)
    return (F.normalize(torch.randn(b, k, h, w, generator=g, dtype=torch.float64), dim=1),
            F.normalize(torch.randn(b, k, h, w, generator=g, dtype=torch.float64), dim=1))


def test_cost_volume_and_winner_equal_a_brute_force_loop():
    fl, fr = _features()
    d_max = 5
    cost = cost_volume(fl, fr, d_max)
    _, _, h, w = fl.shape
    ref = np.full((d_max, h, w), OUTSIDE)
    for d in range(d_max):
        for y in range(h):
            for x in range(d, w):
                ref[d, y, x] = 1.0 - float(sum(fl[0, c, y, x] * fr[0, c, y, x - d] for c in range(fl.shape[1])))
    np.testing.assert_allclose(cost[0].numpy(), ref, rtol=0, atol=1e-12)
    wta = winner(cost)[0, 0].numpy()
    for y in range(h):
        for x in range(w):
            assert wta[y, x] == int(np.argmin(ref[:, y, x]))


def test_the_cost_volume_finds_a_known_shift():
    g = torch.Generator().manual_seed(1)
    img = F.normalize(torch.randn(1, 8, 6, 30, generator=g), dim=1)
    right = torch.roll(img, -3, dims=-1)  # right view: every point 3 px to the left
    disp = winner(cost_volume(img, right, 8))[0, 0]
    assert (disp[:, 3:-3] == 3).all()


def _sgm_loop(cost, p1, p2, image=None, adaptive=None):
    """Hirschmuller's recursion, one pixel and one disparity at a time, over the 4 paths (with ``image``:
    ``p2 / (1 + |I(p) - I(p - r)| / adaptive)``)."""
    d_n, h, w = cost.shape
    total = np.zeros_like(cost)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        agg = np.zeros_like(cost)
        ys = range(h) if dy >= 0 else range(h - 1, -1, -1)
        for y in ys:
            xs = range(w) if dx >= 0 else range(w - 1, -1, -1)
            for x in xs:
                py, px = y - dy, x - dx
                if not (0 <= py < h and 0 <= px < w):
                    agg[:, y, x] = cost[:, y, x]
                    continue
                prev = agg[:, py, px]
                m = prev.min()
                pen = p2 if image is None else p2 / (1 + abs(image[y, x] - image[py, px]) / adaptive)
                for d in range(d_n):
                    cands = [prev[d], m + pen]
                    if d > 0:
                        cands.append(prev[d - 1] + p1)
                    if d < d_n - 1:
                        cands.append(prev[d + 1] + p1)
                    agg[d, y, x] = cost[d, y, x] + min(cands) - m
        total += agg
    return total


def test_sgm_equals_a_plain_loop_reference():
    g = torch.Generator().manual_seed(2)
    cost = torch.rand(1, 6, 5, 7, generator=g, dtype=torch.float64)
    got = sgm(cost, p1=0.1, p2=0.4)[0].numpy()
    np.testing.assert_allclose(got, _sgm_loop(cost[0].numpy(), 0.1, 0.4), rtol=1e-12, atol=1e-12)


def test_sgm_with_intensity_adaptive_penalty_equals_the_loop():
    g = torch.Generator().manual_seed(4)
    cost = torch.rand(1, 5, 6, 7, generator=g, dtype=torch.float64)
    image = torch.rand(1, 1, 6, 7, generator=g, dtype=torch.float64)
    got = sgm(cost, p1=0.1, p2=0.6, image=image, adaptive=0.2)[0].numpy()
    ref = _sgm_loop(cost[0].numpy(), 0.1, 0.6, image[0, 0].numpy(), 0.2)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_sgm_single_paths_and_bad_path_name():
    cost = torch.rand(1, 4, 3, 5, dtype=torch.float64)
    one = sgm(cost, 0.1, 0.3, paths=("left",))
    assert torch.equal(one[..., 0], cost[..., 0])  # the first pixel of a path is its own cost
    with pytest.raises(ValueError, match="unknown SGM path"):
        sgm(cost, paths=("diagonal",))


def test_subpixel_recovers_a_parabola_vertex():
    d = torch.arange(8, dtype=torch.float64)
    cost = ((d - 3.3) ** 2).view(1, 8, 1, 1)
    out = subpixel(cost, winner(cost))
    assert out.item() == pytest.approx(3.3, abs=1e-9)


def test_lr_check_and_fill_on_a_hand_made_row():
    disp_l = torch.tensor([[[[0., 1, 1, 5, 1, 1]]]])
    disp_r = torch.tensor([[[[1., 1, 1, 1, 1, 1]]]])
    right_of = right_cost(torch.rand(1, 3, 1, 6))
    assert (right_of[..., 2, :, 4:] == OUTSIDE).all()
    valid = lr_consistent(disp_l, disp_r)
    assert valid.flatten().tolist() == [True, True, True, False, True, True]
    filled = fill_invalid(disp_l, valid)
    assert filled.flatten().tolist() == [0, 1, 1, 1, 1, 1]
