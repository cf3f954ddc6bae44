"""Brute-force equivalence of the dense form (docs/METHODS.md §1 faithfulness tests)."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from edge.dense import PatchRunner, basenet, simo_serra, to_dense
from random_nets import random_patch_net


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def brute(net, patch, x):
    with torch.no_grad():
        return PatchRunner(net, patch, batch_size=512)(x)


@pytest.mark.parametrize("seed", range(40))
def test_random_admissible_nets_equal_patch_net_everywhere(seed):
    net, patch = random_patch_net(seed)
    dense = to_dense(net, patch)
    rng = random.Random(1000 + seed)
    sy, sx = dense.total_stride
    # sizes that are (mostly) not multiples of the stride product
    h, w = rng.randint(1, 25) * 1 + (1 if sy > 1 else 0), rng.randint(1, 25)
    b = 1 if seed % 2 else 3
    x = torch.randn(b, dense.in_channels, h, w)
    with torch.no_grad():
        out = dense(x)
    assert out.shape == (b, dense.out_channels, h, w)
    assert rel_err(out, brute(net, patch, x)) < 1e-5


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_float64_agrees_to_1e12(seed):
    net, patch = random_patch_net(seed)
    net = net.double()
    dense = to_dense(net, patch)
    x = torch.randn(2, dense.in_channels, 13, 17, dtype=torch.float64)
    with torch.no_grad():
        assert rel_err(dense(x), brute(net, patch, x)) < 1e-12


@pytest.mark.parametrize(
    "layers, patch",
    [
        # stride 2, 3, 4 pools with kernel != stride, mixed strides, strided convs, even patch sizes
        ([nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(3, stride=2), nn.Conv2d(4, 5, 2)], (7, 8)),
        ([nn.Conv2d(1, 3, 2), nn.MaxPool2d(4, stride=3), nn.Tanh(), nn.Conv2d(3, 4, 2)], (8, 8)),
        ([nn.Conv2d(1, 3, 3, stride=4), nn.ReLU(), nn.Conv2d(3, 2, 2)], (7, 7)),
        ([nn.Conv2d(1, 3, (3, 2), stride=(2, 3)), nn.AvgPool2d((2, 3), stride=(3, 2)), nn.Conv2d(3, 2, 1)], (5, 8)),
        ([nn.Conv2d(3, 4, 3), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4 * 2 * 2, 6), nn.ReLU(), nn.Linear(6, 3)], (6, 6)),
    ],
)
def test_hand_written_cases(layers, patch):
    net = nn.Sequential(*layers).eval()
    dense = to_dense(net, patch)
    for b, (h, w) in [(1, (11, 9)), (3, (5, 14))]:
        x = torch.randn(b, dense.in_channels, h, w)
        with torch.no_grad():
            assert rel_err(dense(x), brute(net, patch, x)) < 1e-5


def test_reference_nets_on_real_image():
    pytest.importorskip("skimage")
    from edge.samples import real_image

    x = real_image(30, 44)
    for factory, patch in [(basenet, 15), (simo_serra, 64)]:
        net = factory()
        dense = to_dense(net, patch)
        with torch.no_grad():
            assert rel_err(dense(x), brute(net, patch, x)) < 1e-5


def test_intermediate_batch_is_b_times_prod_strides():
    net = simo_serra()
    dense = to_dense(net, 64)
    seen = []
    hook = dense.body[-1].register_forward_hook(lambda m, i, o: seen.append(o.shape[0]))
    with torch.no_grad():
        dense(torch.randn(2, 1, 30, 31))
    hook.remove()
    assert dense.batch_multiplier == (2 * 2) * (3 * 3) * (4 * 4)
    assert seen == [2 * dense.batch_multiplier]


def test_pad_modes_match_patch_runner():
    net, patch = random_patch_net(5, linear_head=False)
    for mode in ["reflect", "replicate", "circular"]:
        dense = to_dense(net, patch, pad_mode=mode)
        x = torch.randn(1, dense.in_channels, 40, 37)
        with torch.no_grad():
            ref = PatchRunner(net, patch, pad_mode=mode)(x)
            assert rel_err(dense(x), ref) < 1e-5, mode


class ChainForward(nn.Module):
    """A non-Sequential patch net whose forward is a plain chain (read with torch.fx)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.conv2 = nn.Conv2d(4, 6, 2, stride=2)
        self.fc = nn.Linear(6 * 2 * 2, 5)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.nn.functional.max_pool2d(x, 2)
        x = self.conv2(x).tanh()
        x = x.view(x.size(0), -1)
        return self.fc(x)


def test_fx_chain_module():
    net = ChainForward().eval()
    dense = to_dense(net, 13)
    x = torch.randn(2, 1, 19, 10)
    with torch.no_grad():
        assert rel_err(dense(x), brute(net, 13, x)) < 1e-5


def test_torchscript_patch_net():
    net = basenet()
    scripted = torch.jit.script(net)
    dense = to_dense(scripted, 15)
    x = torch.randn(1, 1, 20, 23)
    with torch.no_grad():
        assert torch.equal(dense(x), to_dense(net, 15)(x))


def test_patch_net_not_modified():
    net = basenet()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    to_dense(net, 15)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net[2].stride == 2
