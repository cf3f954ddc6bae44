"""The CUDA kernel harness library without a GPU: it loads (cudart only), resolves output shapes with the
reference's functions, rejects bad shapes with the reference's messages, and reports a missing device as a
PluginError with CUDA's reason. Runs wherever nvcc built the harness; the kernel comparisons themselves are in
test_cuda_harness.py (needs_gpu)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from edge.errors import PluginError


@pytest.fixture(scope="module")
def harness(ref_lib):
    from edge.native import cuda_harness

    try:
        return cuda_harness.harness_library()
    except PluginError as e:
        pytest.skip(f"the harness is built with the CUDA kernels (nvcc): {str(e).splitlines()[0]}")


def test_shapes_and_errors_follow_the_reference(harness, ref_lib):
    from edge.native._lib import last_error

    i32x1, i64x4 = ctypes.c_int32 * 1, ctypes.c_int64 * 4
    for lib, fn in ((harness, "edge_multipool_unwarp_cuda"), (ref_lib, "edge_multipool_unwarp_ref")):
        shape = i64x4()
        assert getattr(lib, fn)(None, None, 0, 1, i32x1(2), i32x1(3), 0, 0, 0, 12, 5, 4, 7, shape) == 0
        assert list(shape) == [2, 5, 8, 21]
        assert getattr(lib, fn)(None, None, 0, 1, i32x1(2), i32x1(3), 0, 0, 0, 13, 5, 4, 7, shape) == -1
        assert "multiple" in last_error(lib)
    attrs = (ctypes.c_int32 * 9)(2, 2, 1, 1, 1, 1, 1, 0, 7)
    for lib, fn in ((harness, "edge_sample_interp_cuda"), (ref_lib, "edge_sample_interp_ref")):
        shape = i64x4()
        rc = getattr(lib, fn)(None, None, None, None, None, 0, i64x4(2, 3, 9, 8), i64x4(2, 1, 5, 4),
                              i64x4(6, 3, 3, 3), 6, attrs, 0.5, shape)
        assert rc == 0 and list(shape) == [2, 6, 5, 4]


def test_a_missing_device_is_a_plugin_error_with_cudas_reason(harness):
    from edge.native import cuda_harness

    cuda_harness.device.cache_clear()
    try:
        name, (major, _) = cuda_harness.device()
    except PluginError as e:
        assert "cuda" in str(e).lower() and "Fix:" in str(e)
        with pytest.raises(PluginError):
            cuda_harness.multipool_unwarp(np.zeros((4, 1, 1, 1), np.float32), [(2, 2)])
    else:
        assert name and major >= 5
