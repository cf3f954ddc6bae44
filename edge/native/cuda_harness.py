"""The plugins' CUDA kernels without TensorRT: ctypes over ``libedge_cuda_harness.so``.

The harness library (built by plugins/CMakeLists.txt whenever nvcc exists) calls the same launchers as the
TensorRT plugins' ``enqueue()`` (``unwarp::launch``, ``sinterp::launch``) on host arrays: it allocates device
buffers, copies the inputs, launches on the default stream, synchronises and copies the result back. Its entry
points have the signatures of the CPU references, so :func:`multipool_unwarp` and :func:`sample_interp` take
and return exactly what :mod:`edge.native` takes and returns, and every kernel can be compared element by
element with its CPU reference (tests/plugins/test_cuda_harness.py, scripts/check_kernels.sh) on any NVIDIA
GPU, a Jetson or a desktop card.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

from edge.errors import PluginError
from edge.native._lib import BUILD_HINT, last_error, load_declared
from edge.native.ops import sample_interp_with, unwarp_with

HARNESS_LIBRARY = "libedge_cuda_harness.so"


@functools.lru_cache(None)
def harness_library() -> ctypes.CDLL:
    """The loaded harness library. Raises PluginError when it is not built (no nvcc at build time)."""
    lib = load_declared(HARNESS_LIBRARY, "the CUDA kernel harness",
                        f"{BUILD_HINT} on a machine with nvcc (the harness is built with the CUDA kernels)", "cuda")
    lib.edge_harness_device.restype = ctypes.c_int32
    lib.edge_harness_device.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32),
                                        ctypes.POINTER(ctypes.c_int32)]
    return lib


@functools.lru_cache(None)
def device() -> tuple[str, tuple[int, int]]:
    """``(name, (major, minor))`` of CUDA device 0. Raises PluginError with CUDA's reason when none is usable."""
    lib = harness_library()
    name = ctypes.create_string_buffer(256)
    major, minor = ctypes.c_int32(), ctypes.c_int32()
    if lib.edge_harness_device(name, 256, ctypes.byref(major), ctypes.byref(minor)) != 0:
        raise PluginError(f"no usable CUDA device: {last_error(lib)}. Fix: run on a machine with an NVIDIA GPU "
                          f"and its driver")
    return name.value.decode(), (major.value, minor.value)


def multipool_unwarp(x: Any, strides, batch: int | None = None, out_h: int | None = None,
                     out_w: int | None = None) -> Any:
    """EdgeMultiPoolUnwarp's CUDA kernel; arguments and result as :func:`edge.native.multipool_unwarp`.
    Raises PluginError without a usable device, InputError for bad shapes (the reference's messages)."""
    device()
    return unwarp_with(harness_library(), "edge_multipool_unwarp_cuda", x, strides, batch, out_h, out_w)


def sample_interp(x: Any, mask: Any, weight: Any, bias: Any = None, **attrs: Any) -> Any:
    """EdgeSampleInterp's CUDA kernels; arguments and result as :func:`edge.native.sample_interp`."""
    device()
    return sample_interp_with(harness_library(), "edge_sample_interp_cuda", x, mask, weight, bias, **attrs)
