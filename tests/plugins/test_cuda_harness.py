"""The plugins' CUDA kernels against their CPU references, on any NVIDIA GPU, without TensorRT.

edge.native.cuda_harness runs the launchers the plugins' enqueue() calls (libedge_cuda_harness.so, built with the
CUDA kernels) on the shapes of the CPU reference tests (test_native_unwarp.py, test_native_sample_interp.py,
plugins/tests/test_ref.cpp) plus the tile boundaries of the sparse GEMM (32 positions x 32 channels per block),
in FP32 and FP16. The harness fills outputs with NaN before each launch: an element a kernel never writes fails.
scripts/check_kernels.sh runs this file under compute-sanitizer (memcheck, racecheck, initcheck) where it exists.
Skipped with the reason where no CUDA device is usable.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_native_sample_interp import FP16_TOL, FP32_TOL, attrs, interp_case, make_inputs, scale
from test_native_unwarp import unwarp_case

from edge.errors import InputError, PluginError

pytestmark = pytest.mark.needs_gpu
DTYPES = [torch.float32, torch.float16]
CHECKS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def cuda(ref_lib):
    """edge.native.cuda_harness with a usable device (skipped with CUDA's reason otherwise)."""
    from edge.native import cuda_harness

    try:
        name, cc = cuda_harness.device()
    except PluginError as e:
        pytest.skip(f"needs_gpu: {str(e).splitlines()[0]}")
    print(f"CUDA kernel harness on {name} (sm_{cc[0]}{cc[1]})")
    return cuda_harness


def _unwarp_both(cuda, x, strides, batch=0, out_h=0, out_w=0):
    from edge.native import multipool_unwarp as ref

    got, want = cuda.multipool_unwarp(x, strides, batch, out_h, out_w), ref(x, strides, batch, out_h, out_w)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert not torch.isnan(got).any(), "the kernel left output elements unwritten"
    assert torch.equal(got, want)  # a gather: bit-exact in both precisions


@CHECKS
@given(case=unwarp_case(), half=st.booleans())
def test_unwarp_kernel_equals_reference(cuda, case, half):
    strides, b, c, h, w, out_h, out_w, batch = case
    m = math.prod(a * q for a, q in strides)
    x = torch.randn(b * m, c, h, w, dtype=torch.float16 if half else torch.float32)
    _unwarp_both(cuda, x, strides, batch, out_h, out_w)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strides, shape", [
    (((2, 2),), (4, 1, 1, 2)),  # test_ref.cpp's hand case
    (((2, 2), (2, 2)), (32, 3, 6, 4)),
    (((2, 3), (3, 2), (4, 4)), (576, 2, 3, 2)),
    (((1, 4), (3, 1)), (24, 5, 7, 3)),
    (((2, 2),) * 8, (65536, 1, 1, 2)),  # the 8-layer maximum: every unrolled digit used
    (((2, 2), (2, 2)), (16, 64, 33, 47)),  # 1.6 M outputs: thousands of blocks, odd row lengths
])
def test_unwarp_kernel_equals_reference_on_fixed_shapes(cuda, strides, shape, dtype):
    _unwarp_both(cuda, torch.randn(*shape).to(dtype), strides)


def _interp_both(cuda, x, mask, weight, bias, tol, **kw):
    from edge.native import sample_interp as ref

    got = cuda.sample_interp(x, mask, weight, bias, **kw)
    want = ref(x, mask, weight, bias, **kw)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert not torch.isnan(got).any(), "the kernel left output elements unwritten"
    err = float((got.float() - want.float()).abs().max()) if got.numel() else 0.0
    assert err <= tol * scale(want.float()), f"max abs error {err}"  # the GEMM sums in another order


@CHECKS
@given(case=interp_case(), half=st.booleans())
def test_sample_interp_kernels_match_reference(cuda, case, half):
    dtype = torch.float16 if half else torch.float32
    x, mask, weight, bias = make_inputs(case, dtype)
    _interp_both(cuda, x, mask, weight, bias, FP16_TOL if half else FP32_TOL, **attrs(case))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cout, groups", [(13, 1), (32, 1), (33, 1), (64, 1), (40, 2), (96, 3)])
@pytest.mark.parametrize("sampled", [0, 1, 31, 32, 33, 64, 65, 238])  # 238 = every position (B=2, 7x17)
def test_sample_interp_tile_boundaries(cuda, cout, groups, sampled, dtype):
    """Sampled counts and channel counts around the 32 x 32 tiles and 16-wide K steps of the sparse GEMM."""
    g = torch.Generator().manual_seed(cout * 1000 + sampled)
    cin = 3 * groups * 2  # K = Cin/groups * 9 = 54: three K steps, the last one partial
    x = torch.randn(2, cin, 7, 17, generator=g)
    weight = torch.randn(cout, cin // groups, 3, 3, generator=g)
    bias = torch.randn(cout, generator=g)
    mask = torch.zeros(2 * 7 * 17)
    mask[torch.randperm(mask.numel(), generator=g)[:sampled]] = 1
    tensors = [t.to(dtype) for t in (x, mask.reshape(2, 1, 7, 17), weight, bias)]
    _interp_both(cuda, *tensors, FP16_TOL if dtype == torch.float16 else FP32_TOL, padding=1, groups=groups,
                 activation=1, window=5, lam=0.5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sample_interp_test_ref_identities(cuda, dtype):
    """test_ref.cpp's cases: an all-ones mask is the convolution; an isolated position interpolates to 0."""
    x = torch.arange(9, dtype=torch.float32).reshape(1, 1, 3, 3).to(dtype)
    weight, bias = torch.full((1, 1, 1, 1), 2.0).to(dtype), torch.ones(1).to(dtype)
    y = cuda.sample_interp(x, torch.ones(1, 1, 3, 3).to(dtype), weight, bias, window=3, lam=0.5)
    assert torch.equal(y, 2 * x + 1)
    iso = torch.zeros(1, 1, 3, 3).to(dtype)
    iso[0, 0, 1, 1] = 1
    y = cuda.sample_interp(x, iso, weight, bias, window=1, lam=0.5)
    want = torch.zeros(1, 1, 3, 3)
    want[0, 0, 1, 1] = 9.0
    assert torch.equal(y.float(), want)


def test_bad_shapes_are_rejected_like_the_reference(cuda):
    x = np.zeros((15, 1, 2, 2), np.float32)
    with pytest.raises(InputError, match="multiple"):
        cuda.multipool_unwarp(x, [(2, 2), (2, 2)])
    with pytest.raises(InputError, match="empty"):
        cuda.sample_interp(np.ones((1, 1, 1, 4), np.float32), np.ones((1, 1, 1, 2), np.float32),
                           np.ones((1, 1, 2, 2), np.float32), stride=2)
