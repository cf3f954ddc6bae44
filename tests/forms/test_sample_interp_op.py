"""edge::sample_interp: METHODS §4 properties, sparse execution == dense masked reference, op registration."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from edge.errors import InputError
from edge.ops.sample_interp import (
    EPS,
    rbf_interpolate,
    rbf_kernel,
    sample_interp,
    sample_interp_reference,
    sample_interp_sparse,
)

CASES = [  # cin, cout, k, stride, padding, dilation, groups
    (8, 6, 3, 1, 1, 1, 1),
    (8, 6, 3, 2, 1, 1, 2),
    (4, 4, 5, 2, 0, 2, 1),
    (6, 9, 1, 1, 0, 1, 3),
    (5, 7, 3, 1, 2, 2, 1),
    (4, 8, 3, (2, 1), (1, 0), 1, 1),
]


def _pair(v):
    return [v, v] if isinstance(v, int) else list(v)


@pytest.mark.parametrize("backend", ["torch", None])  # None: the fastest available (native when built)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("density", [0.0, 0.05, 0.5, 0.85, 1.0])  # 0.85: the dense path
def test_sparse_equals_reference(case, density, backend):
    cin, cout, k, s, p, d, g = case
    activation = CASES.index(case) % 3
    torch.manual_seed(CASES.index(case) * 10 + int(density * 10))
    x = torch.randn(2, cin, 13, 11) * 3
    w, b = torch.randn(cout, cin // g, k, k), torch.randn(cout)
    ho, wo = F.conv2d(x, w, b, s, p, d, g).shape[2:]
    m = (torch.rand(2, 1, ho, wo) < density).float()
    args = (_pair(s), _pair(p), _pair(d), g, activation, 7, 0.3)
    ref = sample_interp_reference(x, m, w, b, *args)
    for xx in (x, x.contiguous(memory_format=torch.channels_last)):
        out = sample_interp_sparse(xx, m, w, b, *args, backend=backend)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5 * max(1.0, ref.abs().max().item()))


def test_op_matches_and_registered():
    torch.manual_seed(0)
    x, w, b = torch.randn(1, 4, 9, 9), torch.randn(4, 4, 3, 3), torch.randn(4)
    m = (torch.rand(1, 1, 9, 9) < 0.4).float()
    out = torch.ops.edge.sample_interp(x, m, w, b, [1, 1], [1, 1], [1, 1], 1, 1, 5, 0.7)
    ref = sample_interp_reference(x, m, w, b, (1, 1), (1, 1), (1, 1), 1, 1, 5, 0.7)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.library.opcheck(torch.ops.edge.sample_interp.default, (x, m, w, b, [1, 1], [1, 1], [1, 1], 1, 1, 5, 0.7),
                          test_utils=("test_schema", "test_faketensor"))


def test_all_ones_mask_is_the_convolution():
    torch.manual_seed(1)
    x, w, b = torch.randn(2, 3, 10, 10), torch.randn(5, 3, 3, 3), torch.randn(5)
    f = F.relu(F.conv2d(x, w, b, 1, 1))
    ones = torch.ones(2, 1, 10, 10)
    assert torch.equal(sample_interp_reference(x, ones, w, b, (1, 1), (1, 1), (1, 1), 1, 1), f)  # exactly
    torch.testing.assert_close(sample_interp(x, ones, w, b, 1, 1, activation=1), f, rtol=1e-5, atol=1e-5)


def test_sampled_positions_unchanged_and_isolated_zero():
    torch.manual_seed(2)
    f = torch.randn(1, 3, 15, 15)
    m = torch.zeros(1, 1, 15, 15)
    m[..., 2, 2] = m[..., 3, 5] = 1
    out = rbf_interpolate(f, m, rbf_kernel(7, 0.5))
    sel = m.bool().expand_as(f)
    assert torch.equal(out[sel], f[sel])
    assert out[..., 14, 14].abs().max() == 0  # no sampled neighbour within the 7x7 window
    assert out[..., 4, 4].abs().max() > 0


def test_constant_field():
    c = 2.5
    m = (torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(3)) < 0.3).float()
    k = rbf_kernel(7, 0.2)
    out = rbf_interpolate(torch.full((1, 2, 12, 12), c), m, k)
    n = F.conv2d(m, k[None, None], padding=3)
    expect = torch.where(m.bool(), torch.tensor(c), c * n / (n + EPS)).expand(1, 2, 12, 12)
    torch.testing.assert_close(out, expect, rtol=1e-6, atol=1e-6)


def test_flop_formula_counts_sampled_positions():
    from torch.utils.flop_counter import FlopCounterMode

    x, w = torch.randn(1, 8, 10, 10), torch.randn(8, 8, 3, 3)
    m = torch.zeros(1, 1, 10, 10)
    m[..., ::3, ::3] = 1
    with FlopCounterMode(display=False) as fm:
        sample_interp(x, m, w, None, 1, 1, window=5)
    p = int(m.sum())
    assert fm.get_total_flops() == 2 * p * 8 * 8 * 9 + 2 * 2 * 5 * 100 * 8


@pytest.mark.parametrize("backend", ["torch", "native"])
def test_flop_formula_follows_the_kernel_that_runs(backend, monkeypatch):
    """Density 0.8: the PyTorch kernel runs the convolution densely (above DENSE_ABOVE = 0.7), the native one
    still only at the sampled positions (NATIVE_DENSE_ABOVE = 1); an all-ones mask is the convolution for both."""
    from torch.utils.flop_counter import FlopCounterMode

    from edge.native import sample_interp_cpu as native
    from edge.ops.sample_interp import DENSE_ABOVE, NATIVE_DENSE_ABOVE

    if backend == "native" and not native.available():
        pytest.skip(f"the native kernel is not built: {native.unavailable_reason()}")
    assert DENSE_ABOVE < 0.8 < NATIVE_DENSE_ABOVE
    monkeypatch.setenv("EDGE_SAMPLE_INTERP_BACKEND", backend)
    x, w = torch.randn(1, 8, 10, 10), torch.randn(8, 8, 3, 3)
    m = torch.ones(100)
    m[::5] = 0
    m = m.view(1, 1, 10, 10)
    conv = 2 * 8 * 8 * 9
    for mask, positions, interp in ((m, 80 if backend == "native" else 100, True), (torch.ones_like(m), 100, False)):
        with FlopCounterMode(display=False) as fm:
            got = sample_interp(x, mask, w, None, 1, 1, window=5)
        assert fm.get_total_flops() == positions * conv + (2 * 2 * 5 * 100 * 8 if interp else 0)
        torch.testing.assert_close(got, sample_interp_reference(x, mask, w, None, padding=(1, 1), window=5),
                                   rtol=1e-5, atol=1e-5)


def test_backend_choice():
    from edge.errors import PluginError
    from edge.native.sample_interp_cpu import available
    from edge.ops.sample_interp import sample_interp_backend

    x, w = torch.randn(1, 4, 8, 8), torch.randn(4, 4, 3, 3)
    assert sample_interp_backend(x, w, "torch") == "torch"
    assert sample_interp_backend(x, w) == ("native" if available() else "torch")
    assert sample_interp_backend(x.double(), w.double()) == "torch"  # the native kernel is float32 only
    with pytest.raises(InputError, match="backend must be one of native, torch"):
        sample_interp_backend(x, w, "cuda")
    with pytest.raises(PluginError, match="native CPU backend cannot run"):
        sample_interp_backend(x.double(), w.double(), "native")


def test_torch_backend_differentiable_float64():
    torch.manual_seed(4)
    x = torch.randn(1, 3, 9, 9, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    m = (torch.rand(1, 1, 9, 9) < 0.3).double()
    args = ((1, 1), (1, 1), (1, 1), 1, 1, 5, 0.5)
    out = sample_interp_sparse(x, m, w, None, *args)  # float64: the PyTorch kernel
    torch.testing.assert_close(out, sample_interp_reference(x, m, w, None, *args), rtol=1e-12, atol=1e-12)
    out.sum().backward()
    assert x.grad is not None and w.grad is not None and w.grad.abs().sum() > 0


@pytest.mark.parametrize("bad", ["mask", "window", "channels", "activation"])
def test_errors_name_the_problem(bad):
    x, w, m = torch.randn(1, 4, 8, 8), torch.randn(4, 4, 3, 3), torch.ones(1, 1, 8, 8)
    kw = dict(stride=1, padding=1)
    with pytest.raises(InputError, match={"mask": "mask must be", "window": "window", "channels": "channels",
                                          "activation": "activation"}[bad]):
        if bad == "mask":
            sample_interp(x, torch.ones(1, 1, 6, 6), w, None, **kw)
        elif bad == "window":
            sample_interp(x, m, w, None, window=4, **kw)
        elif bad == "channels":
            sample_interp(torch.randn(1, 3, 8, 8), m, w, None, **kw)
        else:
            sample_interp_sparse(x, m, w, None, (1, 1), (1, 1), (1, 1), 1, 5)


def test_eager_fast_path_equals_the_op_and_modes_still_see_the_op():
    """Plain eager CPU calls skip the custom op's dispatch layers; results are identical, and the FLOP counter
    (a dispatch mode) and autograd recording still go through torch.ops.edge.sample_interp."""
    from torch.utils.flop_counter import FlopCounterMode

    from edge.ops.sample_interp import _plain_eager

    torch.manual_seed(5)
    x, w, b = torch.randn(1, 6, 11, 11), torch.randn(6, 6, 3, 3), torch.randn(6)
    m = (torch.rand(1, 1, 11, 11) < 0.3).float()
    assert _plain_eager(x, m, w, b)
    direct = sample_interp(x, m, w, b, 1, 1, activation=1, window=5, lam=0.5)
    via_op = torch.ops.edge.sample_interp(x, m, w, b, [1, 1], [1, 1], [1, 1], 1, 1, 5, 0.5)
    assert torch.equal(direct, via_op)
    with FlopCounterMode(display=False) as fm:
        assert not _plain_eager(x, m, w, b)
        sample_interp(x, m, w, b, 1, 1, activation=1, window=5, lam=0.5)
    assert fm.get_total_flops() > 0 and "edge.sample_interp" in str(fm.get_flop_counts())
    wg = w.clone().requires_grad_()
    assert not _plain_eager(x, m, wg, b)
    with torch.no_grad():
        assert _plain_eager(x, m, wg, b)


@pytest.mark.parametrize("activation", [0, 1, 2])
@pytest.mark.parametrize("density", [0.05, 0.1, 0.25, 0.5])
def test_benchmark_sized_layers_equal_reference(density, activation):
    """64 -> 64 3x3 layers as scripts/bench_sparse.py times them, batch 2, both input layouts: the native kernel
    (one fused C++ call when built: blocks of 48 sampled positions, 16-channel weight panels) and the torch one."""
    g = torch.Generator().manual_seed(int(density * 100) + activation)
    x = torch.randn(2, 64, 21, 19, generator=g)
    w, b = torch.randn(64, 64, 3, 3, generator=g) * (2 / 576) ** 0.5, torch.randn(64, generator=g) * 0.1
    m = (torch.rand(2, 1, 21, 19, generator=g) < density).float()
    args = ([1, 1], [1, 1], [1, 1], 1, activation, 7, 0.5)
    ref = sample_interp_reference(x, m, w, b, *args)
    for xx in (x, x.contiguous(memory_format=torch.channels_last)):
        for backend in ("torch", None):
            out = sample_interp_sparse(xx, m, w, b, *args, backend=backend)
            torch.testing.assert_close(out, ref, rtol=0, atol=1e-5 * max(1.0, ref.abs().max().item()))
        torch.testing.assert_close(sample_interp(xx, m, w, b, 1, 1, activation=activation, window=7, lam=0.5), ref,
                                   rtol=0, atol=1e-5 * max(1.0, ref.abs().max().item()))
