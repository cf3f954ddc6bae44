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
from hypothesis import assume, given, settings
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


def test_input_smaller_than_the_strided_kernel_is_an_empty_output(ref_lib):
    """Ho = floor((H + 2p - d(k-1) - 1) / s) + 1 (TensorRT's kFLOOR_DIV in the plugin): H=1, k=2, s=2 gives
    floor(-1/2) + 1 = 0, which truncating division made 1 (a row computed from padding alone)."""
    from edge.native import sample_interp as native

    x, weight, bias = torch.ones(1, 1, 1, 4), torch.ones(1, 1, 2, 2), torch.zeros(1)
    with pytest.raises(InputError, match="empty"):
        native(x, torch.ones(1, 1, 1, 2), weight, bias, stride=2)


# ---- fast CPU path of torch.ops.edge.sample_interp (plugins/sample_interp/sample_interp_cpu.cpp) ---------------

def _fast(x, mask, weight, bias, c, threads=None, method=0, dense_above=None, stages=None):
    from edge.native.sample_interp_cpu import sample_interp_cpu
    from edge.ops.sample_interp import DENSE_ABOVE

    above = DENSE_ABOVE if dense_above is None else dense_above
    return sample_interp_cpu(x, mask, weight, bias, c["stride"], c["padding"], c["dilation"], c["groups"],
                             c["activation"], c["window"], c["lam"], above, threads, method, stages)


@settings(max_examples=80, deadline=None)
@given(case=interp_case(), channels_last=st.booleans(), threads=st.sampled_from([1, 2, 3, 4]),
       method=st.sampled_from([0, 1, 2]))  # interpolation: auto / push / separable
def test_fast_cpu_path_matches_dense_reference(ref_lib, case, channels_last, threads, method):
    from edge.ops.sample_interp import sample_interp_reference

    x, mask, weight, bias = make_inputs(case)
    if channels_last:
        # torch 2.13's F.conv2d itself segfaults (oneDNN) on a channels-last 1-pixel-wide input with a 1x1 kernel,
        # x stride 2, x padding 1, x dilation 2 and a bias: the dense path and the reference would call it
        assume(not (case["k"] == 1 and case["w"] == 1 and case["stride"][1] == 2 and case["padding"][1] == 1))
        x = x.contiguous(memory_format=torch.channels_last)
    got = _fast(x, mask, weight, bias, case, threads, method)
    want = sample_interp_reference(x, mask, weight, bias, **attrs(case))
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=0, atol=FP32_TOL * scale(want))


@pytest.mark.parametrize("cout", [64, 40, 13])  # the 8-channel vector blocks of 64 / 32 / 8 and a scalar tail
@pytest.mark.parametrize("density", [0.0, 0.05, 0.3, 0.6, 0.85, 1.0])  # 0.85: rows taken from a dense conv
def test_fast_cpu_path_wide_layers(ref_lib, cout, density):
    from edge.ops.sample_interp import sample_interp_reference, sample_interp_sparse

    g = torch.Generator().manual_seed(cout + int(100 * density))
    x = torch.randn(2, 48, 19, 17, generator=g)[:, ::2]  # a strided view: the gather reads any strides
    weight, bias = torch.randn(cout, 24, 3, 3, generator=g) / 15, torch.randn(cout, generator=g)
    mask = (torch.rand(2, 1, 19, 17, generator=g) < density).float()
    kw = {"stride": (1, 1), "padding": (1, 1), "dilation": (1, 1), "groups": 1, "activation": 1, "window": 7,
          "lam": 0.5}
    want = sample_interp_reference(x, mask, weight, bias, **kw)
    for xx in (x, x.contiguous(), x.contiguous(memory_format=torch.channels_last)):
        got = sample_interp_sparse(xx, mask, weight, bias, **kw, backend="native")
        torch.testing.assert_close(got, want, rtol=0, atol=FP32_TOL * scale(want))
    for method in (1, 2):  # push and separable interpolation, whatever the automatic choice
        c = {**kw, "stride": [1, 1], "padding": [1, 1], "dilation": [1, 1]}
        torch.testing.assert_close(_fast(x, mask, weight, bias, c, 2, method), want, rtol=0,
                                   atol=FP32_TOL * scale(want))
    if density == 1.0:  # an all-ones mask is exactly the (activated) convolution
        assert torch.equal(got, torch.relu(torch.nn.functional.conv2d(xx, weight, bias, padding=1)))


def test_custom_op_runs_the_fast_path_when_built(ref_lib, monkeypatch):
    import edge.native.sample_interp_cpu as fast
    from edge.ops.sample_interp import sample_interp, sample_interp_backend, sample_interp_reference

    x, weight, bias = torch.randn(1, 8, 12, 12), torch.randn(8, 8, 3, 3), torch.randn(8)
    mask = (torch.rand(1, 1, 12, 12) < 0.3).float()
    assert sample_interp_backend(x, weight) == "native"
    calls = []
    real = fast.sample_interp_cpu
    monkeypatch.setattr(fast, "sample_interp_cpu", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = sample_interp(x, mask, weight, bias, padding=1, activation=2, window=5, lam=0.5)
    assert calls == [1]
    want = sample_interp_reference(x, mask, weight, bias, padding=(1, 1), activation=2, window=5, lam=0.5)
    torch.testing.assert_close(got, want, rtol=0, atol=FP32_TOL * scale(want))
    monkeypatch.setenv("EDGE_SAMPLE_INTERP_BACKEND", "torch")  # the override picks the PyTorch kernel
    assert sample_interp_backend(x, weight) == "torch"
    sample_interp(x, mask, weight, bias, padding=1)
    assert calls == [1]
    assert sample_interp_backend(x.double(), weight.double(), "auto") == "torch"  # float32 only


def test_interpolation_method_is_checked(ref_lib):
    from edge.native.sample_interp_cpu import sample_interp_cpu

    x, weight, bias = torch.randn(1, 2, 5, 5), torch.randn(2, 2, 1, 1), torch.randn(2)
    with pytest.raises(InputError, match="method must be 0"):
        sample_interp_cpu(x, torch.zeros(1, 1, 5, 5), weight, bias, [1, 1], [0, 0], [1, 1], 1, 0, 3, 0.5, 0.7,
                          method=3)


def test_weight_changed_in_place_is_not_served_from_the_cache(ref_lib):
    from edge.ops.sample_interp import sample_interp_reference, sample_interp_sparse

    x, weight, bias = torch.randn(1, 6, 10, 10), torch.randn(6, 6, 3, 3), torch.randn(6)
    mask = (torch.rand(1, 1, 10, 10) < 0.4).float()
    kw = dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, activation=0, window=5, lam=0.5)
    first = sample_interp_sparse(x, mask, weight, bias, **kw, backend="native")
    weight.mul_(-2.0)
    second = sample_interp_sparse(x, mask, weight, bias, **kw, backend="native")
    want = sample_interp_reference(x, mask, weight, bias, **kw)
    torch.testing.assert_close(second, want, rtol=0, atol=FP32_TOL * scale(want))
    assert not torch.allclose(first, second)


@pytest.fixture
def no_library(ref_lib, monkeypatch, tmp_path):
    """The library made unfindable (searched in an empty folder only); lookups are restored afterwards."""
    import edge.native._lib as lib_mod
    import edge.native.sample_interp_cpu as fast

    monkeypatch.setattr(lib_mod, "search_dirs", lambda: [tmp_path])
    lib_mod.ref_library.cache_clear()
    fast.reset()
    yield
    monkeypatch.undo()
    lib_mod.ref_library.cache_clear()
    fast.reset()


def test_pytorch_fallback_when_the_library_is_absent(no_library):
    from edge.errors import PluginError
    from edge.native.sample_interp_cpu import available, unavailable_reason
    from edge.ops.sample_interp import (
        sample_interp,
        sample_interp_backend,
        sample_interp_reference,
        sample_interp_sparse,
    )

    assert not available() and "libedge_ref.so was not found" in unavailable_reason()
    x, weight, bias = torch.randn(2, 4, 9, 9), torch.randn(6, 4, 3, 3), torch.randn(6)
    mask = (torch.rand(2, 1, 9, 9) < 0.3).float()
    assert sample_interp_backend(x, weight) == "torch"
    got = sample_interp(x, mask, weight, bias, padding=1, activation=1, window=5, lam=0.5)
    want = sample_interp_reference(x, mask, weight, bias, padding=(1, 1), activation=1, window=5, lam=0.5)
    torch.testing.assert_close(got, want, rtol=0, atol=FP32_TOL * scale(want))
    with pytest.raises(PluginError, match="make plugins"):
        sample_interp_sparse(x, mask, weight, bias, padding=(1, 1), backend="native")


def test_library_without_the_fast_functions_is_refused(ref_lib, monkeypatch):
    """A libedge_ref.so built before the fast path (here: any library lacking its symbols) -> PyTorch fallback."""
    import ctypes
    import ctypes.util

    import edge.native._lib as lib_mod
    import edge.native.sample_interp_cpu as fast

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    monkeypatch.setattr(lib_mod, "ref_library", lambda: libc)
    fast.reset()
    try:
        assert not fast.available() and "predates the fast sample_interp CPU path" in fast.unavailable_reason()
    finally:
        monkeypatch.undo()
        fast.reset()
    assert fast.available()


def test_results_do_not_share_the_scratch_buffers(ref_lib):
    """The GEMM rows, index and interpolation buffers live in per-thread C++ buffers reused by the next call:
    earlier outputs and outputs of other threads stay intact."""
    from concurrent.futures import ThreadPoolExecutor

    from edge.ops.sample_interp import sample_interp, sample_interp_reference

    g = torch.Generator().manual_seed(7)
    x, weight, bias = torch.randn(1, 16, 20, 20, generator=g), torch.randn(16, 16, 3, 3, generator=g), torch.randn(16)
    masks = [(torch.rand(1, 1, 20, 20, generator=g) < d).float() for d in (0.1, 0.4, 0.6, 0.2)]
    kw = {"padding": 1, "activation": 1, "window": 7, "lam": 0.5}
    wants = [sample_interp_reference(x, m, weight, bias, padding=(1, 1), activation=1, window=7, lam=0.5)
             for m in masks]
    outs = [sample_interp(x, m, weight, bias, **kw) for m in masks]
    with ThreadPoolExecutor(4) as pool:
        outs += list(pool.map(lambda m: sample_interp(x, m, weight, bias, **kw), masks * 4))
    for i, out in enumerate(outs):
        torch.testing.assert_close(out, wants[i % 4], rtol=0, atol=FP32_TOL * scale(wants[i % 4]))


# ---- the fused call (edge_sample_interp_cpu_run): blocks of 48 positions, 6-row tiles, 16-channel panels ----------

def _prefix_mask(b, ho, wo, sampled, seed):
    """A mask sampling exactly `sampled` positions (a random subset)."""
    order = torch.randperm(b * ho * wo, generator=torch.Generator().manual_seed(seed))
    m = torch.zeros(b * ho * wo)
    m[order[:sampled]] = 1.0
    return m.view(b, 1, ho, wo)


@pytest.mark.parametrize("cout, groups", [(16, 1), (20, 1), (64, 1), (40, 2), (24, 3)])  # full / tail panels
@pytest.mark.parametrize("sampled", [1, 5, 6, 7, 47, 48, 49, 96, 97, 238])  # 238 = every position (B=2, 7x17)
def test_fused_call_block_boundaries(ref_lib, cout, groups, sampled):
    from edge.ops.sample_interp import sample_interp_reference

    g = torch.Generator().manual_seed(cout * 1000 + sampled)
    x = torch.randn(2, 6 * groups, 7, 17, generator=g)
    weight, bias = torch.randn(cout, 6, 3, 3, generator=g) / 4, torch.randn(cout, generator=g)
    mask = _prefix_mask(2, 7, 17, sampled, sampled)
    c = {"stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": groups, "activation": 2, "window": 5,
         "lam": 0.5}
    want = sample_interp_reference(x, mask, weight, bias, **attrs(c))
    for xx, threads in ((x.contiguous(memory_format=torch.channels_last), 1), (x, 3)):  # tap pointers / gather
        # dense_above > 1: the sparse kernel even when every position is sampled
        got = _fast(xx, mask, weight, bias, c, threads, dense_above=1.5)
        torch.testing.assert_close(got, want, rtol=0, atol=FP32_TOL * scale(want))


def test_fused_call_reports_its_stages_and_leaves_the_dense_path_to_python(ref_lib):
    from edge.ops.sample_interp import sample_interp_reference

    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 32, 24, 24, generator=g).contiguous(memory_format=torch.channels_last)
    weight, bias = torch.randn(32, 32, 3, 3, generator=g) / 17, torch.randn(32, generator=g)
    c = {"stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1, "activation": 1, "window": 7,
         "lam": 0.5}
    for density, sparse in ((0.3, True), (0.9, False)):
        mask = (torch.rand(1, 1, 24, 24, generator=g) < density).float()
        stages = torch.zeros(4, dtype=torch.float64)
        got = _fast(x, mask, weight, bias, c, 1, stages=stages)
        want = sample_interp_reference(x, mask, weight, bias, **attrs(c))
        torch.testing.assert_close(got, want, rtol=0, atol=FP32_TOL * scale(want))
        if sparse:  # index, tap pointers, GEMM, interpolation: all ran, the GEMM dominates
            assert bool((stages >= 0).all()) and stages[2] > 0 and stages[3] > 0
            assert stages[2] > stages[1]
        else:  # above DENSE_ABOVE the C++ call returns at once; the dense conv and interpolation run from Python
            assert stages[1:].sum() == 0


def test_packed_weights_are_cached_per_weight_tensor(ref_lib):
    import edge.native.sample_interp_cpu as fast

    lib = fast._lib()
    weight = torch.randn(20, 3, 3, 3)
    first = fast._packed(lib, weight, 1)
    assert fast._packed(lib, weight, 1) is first  # a model's layer packs once
    assert first.numel() == 2 * 27 * 16  # two 16-channel panels (the second zero padded), K = 27
    assert torch.equal(first[:27 * 16].view(27, 16)[:, :5], weight[:5].permute(2, 3, 1, 0).reshape(27, 5))
    assert bool((first[27 * 16:].view(27, 16)[:, 4:] == 0).all())
    weight.add_(1.0)
    assert fast._packed(lib, weight, 1) is not first  # changed in place: repacked
