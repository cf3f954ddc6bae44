"""EdgeSampleInterp CPU reference (plugins/sample_interp, via edge.native) against the PyTorch references of
edge.ops.sample_interp (the dense masked definition and the custom op), over random shapes, strides,
paddings, dilations, groups, activations, mask densities and windows.

Tolerances (documented in plugins/sample_interp/README.md): FP32 1e-5 relative to the output scale;
FP16 1e-2 relative to the output scale against a float64 reference computed from the same half inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import InputError

FP32_TOL = 1e-5
FP16_TOL = 1e-2


@st.composite
def interp_case(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    k = draw(st.sampled_from([1, 2, 3]))
    stride = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    padding = [draw(st.integers(0, 1)), draw(st.integers(0, 1))]
    dilation = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    h = draw(st.integers(max(1, (k - 1) * dilation[0] + 1 - 2 * padding[0]), 12))
    w = draw(st.integers(max(1, (k - 1) * dilation[1] + 1 - 2 * padding[1]), 12))
    return dict(
        b=draw(st.integers(1, 2)), cin=cin, cout=cout, k=k, h=h, w=w, stride=stride, padding=padding,
        dilation=dilation, groups=groups, activation=draw(st.sampled_from([0, 1, 2])),
        window=draw(st.sampled_from([1, 3, 5, 7])), lam=draw(st.sampled_from([0.0, 0.1, 0.5, 4.5])),
        density=draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])), seed=draw(st.integers(0, 2**16)))


def make_inputs(c, dtype=torch.float32):
    g = torch.Generator().manual_seed(c["seed"])
    x = torch.randn(c["b"], c["cin"], c["h"], c["w"], generator=g)
    weight = torch.randn(c["cout"], c["cin"] // c["groups"], c["k"], c["k"], generator=g)
    bias = torch.randn(c["cout"], generator=g)
    ho = (c["h"] + 2 * c["padding"][0] - c["dilation"][0] * (c["k"] - 1) - 1) // c["stride"][0] + 1
    wo = (c["w"] + 2 * c["padding"][1] - c["dilation"][1] * (c["k"] - 1) - 1) // c["stride"][1] + 1
    mask = (torch.rand(c["b"], 1, ho, wo, generator=g) < c["density"]).float()
    return [t.to(dtype) for t in (x, mask, weight, bias)]


def attrs(c):
    return dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"],
                activation=c["activation"], window=c["window"], lam=c["lam"])


def scale(t: torch.Tensor) -> float:
    return max(1.0, float(t.abs().max())) if t.numel() else 1.0


@settings(max_examples=60, deadline=None)
@given(case=interp_case())
def test_fp32_matches_dense_reference_and_custom_op(ref_lib, case):
    from edge.native import sample_interp as native
    from edge.ops.sample_interp import sample_interp, sample_interp_reference

    x, mask, weight, bias = make_inputs(case)
    got = native(x, mask, weight, bias, **attrs(case))
    want = sample_interp_reference(x, mask, weight, bias, **attrs(case))
    assert got.shape == want.shape and got.dtype == torch.float32
    torch.testing.assert_close(got, want, rtol=0, atol=FP32_TOL * scale(want))
    op = sample_interp(x, mask, weight, bias, **attrs(case))
    torch.testing.assert_close(got, op.contiguous(), rtol=0, atol=FP32_TOL * scale(want))
    sampled = mask.expand_as(got) > 0.5  # sampled positions are the convolution itself
    torch.testing.assert_close(got[sampled], want[sampled], rtol=0, atol=FP32_TOL * scale(want))


@settings(max_examples=30, deadline=None)
@given(case=interp_case())
def test_fp16_within_documented_tolerance(ref_lib, case):
    from edge.native import sample_interp as native
    from edge.ops.sample_interp import sample_interp_reference

    x, mask, weight, bias = make_inputs(case, torch.float16)
    got = native(x, mask, weight, bias, **attrs(case))
    assert got.dtype == torch.float16
    want = sample_interp_reference(*(t.double() for t in (x, mask, weight, bias)), **attrs(case))
    torch.testing.assert_close(got.double(), want, rtol=0, atol=FP16_TOL * scale(want))


def _one_by_one(b=1, cout=2, h=6, w=7):
    """x such that F = 2*x + 1 with a 1x1 conv: weight 2, bias 1."""
    x = torch.randn(b, 1, h, w)
    weight = torch.full((cout, 1, 1, 1), 2.0)
    bias = torch.ones(cout)
    return x, weight, bias


def test_all_ones_mask_is_the_dense_convolution(ref_lib):
    from edge.native import sample_interp as native

    x = torch.randn(2, 4, 9, 8)
    weight, bias = torch.randn(6, 4, 3, 3), torch.randn(6)
    mask = torch.ones(2, 1, 9, 8)
    got = native(x, mask, weight, bias, padding=1, activation=2, window=5, lam=0.5)
    want = torch.nn.functional.conv2d(x, weight, bias, padding=1).clamp(0, 6)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_constant_field_comes_back_scaled_by_n_over_n_plus_eps(ref_lib):
    """F = c everywhere: an unsampled position returns c * S / (S + 1e-5), S = sum of K over sampled neighbours."""
    from edge.native import sample_interp as native

    x = torch.zeros(1, 1, 5, 5)
    weight, bias = torch.zeros(1, 1, 1, 1), torch.full((1,), 3.0)  # F = 3
    mask = torch.zeros(1, 1, 5, 5)
    mask[0, 0, 2, 2] = mask[0, 0, 0, 4] = 1
    lam = 0.3
    got = native(x, mask, weight, bias, window=5, lam=lam)
    # position (0, 2): sampled neighbours (2, 2) at offset (2, 0) and (0, 4) at offset (0, 2)
    s = math.exp(-lam * 4) + math.exp(-lam * 4)
    assert got[0, 0, 0, 2].item() == pytest.approx(3 * s / (s + 1e-5), rel=1e-6)
    assert got[0, 0, 2, 2].item() == 3.0 and got[0, 0, 0, 4].item() == 3.0


def test_isolated_position_gets_zero(ref_lib):
    from edge.native import sample_interp as native

    x, weight, bias = _one_by_one()
    mask = torch.zeros(1, 1, 6, 7)
    mask[0, 0, 0, 0] = 1
    got = native(x, mask, weight, bias, window=3, lam=0.5)
    assert torch.all(got[:, :, 3:, :] == 0) and torch.all(got[:, :, :, 3:] == 0)
    assert torch.equal(got[:, :, 0, 0], 2 * x[:, 0, 0, 0].expand(1, 2) + 1)
    empty = native(x, torch.zeros(1, 1, 6, 7), weight, bias, window=7, lam=0.5)
    assert torch.all(empty == 0)


def test_numpy_interface_and_defaults(ref_lib):
    from edge.native import sample_interp as native
    from edge.ops.sample_interp import sample_interp_reference

    x, weight, bias = _one_by_one()
    mask = (torch.rand(1, 1, 6, 7) < 0.4).float()
    got = native(x.numpy(), mask.numpy(), weight.numpy())  # bias None = zeros, window 7, lam 4.5
    assert isinstance(got, np.ndarray)
    want = sample_interp_reference(x, mask, weight, None)
    np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(window=4), "odd"),
    (dict(stride=0), "stride"),
    (dict(padding=-1), "padding"),
    (dict(dilation=0), "dilation"),
    (dict(activation=3), "activation"),
    (dict(groups=3), "multiples of groups"),
    (dict(lam=-1.0), "lambda"),
    (dict(mask_shape=(1, 1, 5, 7)), "mask must be"),
    (dict(bias_len=3), "bias"),
])
def test_bad_input_is_rejected_with_the_reason(ref_lib, kwargs, message):
    from edge.native import sample_interp as native

    x, weight, bias = _one_by_one()
    mask = torch.ones(kwargs.pop("mask_shape", (1, 1, 6, 7)))
    if "bias_len" in kwargs:
        bias = torch.ones(kwargs.pop("bias_len"))
    with pytest.raises(InputError, match=message):
        native(x, mask, weight, bias, **kwargs)
