"""Python entry points of the CPU references (``libedge_ref.so``, built from the same ``__host__
__device__`` index functions as the CUDA kernels of the TensorRT plugins).

They take and return numpy arrays or torch tensors (the result has the type of ``x``), float32 or float16,
and follow ``plugins/<op>/README.md`` exactly. Used by the tests that compare the plugins' element
definitions with the PyTorch reference ops, and usable as ONNX Runtime CPU ops.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np

from edge.errors import InputError
from edge.native._lib import last_error, ref_library

_DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float16): 1}


def _to_numpy(a: Any, name: str, dtype: np.dtype | None = None) -> np.ndarray:
    """C-contiguous numpy view/copy of ``a`` (numpy array or CPU/GPU torch tensor)."""
    if hasattr(a, "detach"):  # torch.Tensor without importing torch here
        a = a.detach().cpu().numpy()
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.dtype not in _DTYPES:
        raise InputError(f"{name} must be float32 or float16, got {a.dtype}. Fix: cast it (x.float() / x.half())")
    return a


def _like(y: np.ndarray, x: Any) -> Any:
    """``y`` as the type of ``x``: a torch tensor on x's device for torch inputs, else numpy."""
    if hasattr(x, "detach"):
        import torch

        return torch.from_numpy(y).to(x.device)
    return y


def _ptr(a: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(a.ctypes.data)


def _i64(values: Sequence[int]):
    return (ctypes.c_int64 * len(values))(*[int(v) for v in values])


def _check(lib, rc: int, op: str) -> None:
    if rc != 0:
        raise InputError(f"{op}: {last_error(lib)} (see plugins/{op}/README.md)")


def multipool_unwarp(x: Any, strides: Sequence[tuple[int, int]], batch: int | None = None,
                     out_h: int | None = None, out_w: int | None = None) -> Any:
    """EdgeMultiPoolUnwarp on the CPU: ``x (N, C, h, w) -> (B, C, out_h or h*Sy, out_w or w*Sx)``.

    Args:
        x: float32/float16 array or tensor, ``N = B * prod(sy*sx)``, batch laid out as
            ``(yn, xn, ..., y1, x1, B)``.
        strides: ``((sy1, sx1), ..., (syn, sxn))``, first strided layer first.
        batch, out_h, out_w: None or 0 = derive B / no crop.
    """
    return unwarp_with(ref_library(), "edge_multipool_unwarp_ref", x, strides, batch, out_h, out_w)


def unwarp_with(lib: ctypes.CDLL, fn: str, x: Any, strides: Sequence[tuple[int, int]], batch: int | None = None,
                out_h: int | None = None, out_w: int | None = None) -> Any:
    """:func:`multipool_unwarp` through C function ``fn`` of ``lib`` (the signature of edge_multipool_unwarp_ref:
    the CPU reference, or the CUDA kernel of edge.native.cuda_harness)."""
    xa = _to_numpy(x, "x")
    if xa.ndim != 4:
        raise InputError(f"multipool_unwarp: x must be 4-D (N, C, h, w), got shape {xa.shape}")
    pairs = [(int(a), int(b)) for a, b in strides]
    n = len(pairs)
    sy = (ctypes.c_int32 * max(n, 1))(*[a for a, _ in pairs])
    sx = (ctypes.c_int32 * max(n, 1))(*[b for _, b in pairs])
    shape = (ctypes.c_int64 * 4)()
    args = (n, sy, sx, int(batch or 0), int(out_h or 0), int(out_w or 0), *xa.shape, shape)
    call = getattr(lib, fn)
    _check(lib, call(None, None, _DTYPES[xa.dtype], *args), "multipool_unwarp")
    y = np.empty(tuple(shape), dtype=xa.dtype)
    _check(lib, call(_ptr(xa), _ptr(y), _DTYPES[xa.dtype], *args), "multipool_unwarp")
    return _like(y, x)


def _pair(v, default: int) -> list[int]:
    if v is None:
        return [default, default]
    if isinstance(v, (int, np.integer)):
        return [int(v), int(v)]
    return [int(i) for i in v]


def sample_interp(x: Any, mask: Any, weight: Any, bias: Any = None, stride=None, padding=None, dilation=None,
                  groups: int | None = None, activation: int | None = None, window: int | None = None,
                  lam: float | None = None) -> Any:
    """EdgeSampleInterp on the CPU: the convolution only where ``mask > 0.5``, RBF interpolation elsewhere.

    Args:
        x (B, Cin, H, W), mask (B, 1, Ho, Wo), weight (Cout, Cin/groups, kh, kw), bias (Cout) or None (zeros);
            all float32 or all float16 (mask, weight and bias are cast to x's dtype).
        stride/padding/dilation: int or pair (None: 1 / 0 / 1); groups (None: 1); activation 0 none,
            1 relu, 2 relu6 (None: 0); window odd (None: 7); lam RBF coefficient (None: 4.5, as
            edge.ops.sample_interp).

    Returns:
        (B, Cout, Ho, Wo), the type and dtype of ``x``.
    """
    return sample_interp_with(ref_library(), "edge_sample_interp_ref", x, mask, weight, bias, stride, padding,
                              dilation, groups, activation, window, lam)


def sample_interp_with(lib: ctypes.CDLL, fn: str, x: Any, mask: Any, weight: Any, bias: Any = None, stride=None,
                       padding=None, dilation=None, groups: int | None = None, activation: int | None = None,
                       window: int | None = None, lam: float | None = None) -> Any:
    """:func:`sample_interp` through C function ``fn`` of ``lib`` (the signature of edge_sample_interp_ref)."""
    xa = _to_numpy(x, "x")
    ma, wa = _to_numpy(mask, "mask", xa.dtype), _to_numpy(weight, "weight", xa.dtype)
    ba = np.zeros(wa.shape[:1], xa.dtype) if bias is None else _to_numpy(bias, "bias", xa.dtype)
    for name, a, nd in (("x", xa, 4), ("mask", ma, 4), ("weight", wa, 4), ("bias", ba, 1)):
        if a.ndim != nd:
            raise InputError(f"sample_interp: {name} must be {nd}-D, got shape {a.shape}")
    stride, padding, dilation = _pair(stride, 1), _pair(padding, 0), _pair(dilation, 1)
    if len(stride) != 2 or len(padding) != 2 or len(dilation) != 2:
        raise InputError(f"sample_interp: stride/padding/dilation must be pairs, got {stride}/{padding}/{dilation}")
    attrs = (ctypes.c_int32 * 9)(*stride, *padding, *dilation, 1 if groups is None else int(groups),
                                 0 if activation is None else int(activation), 7 if window is None else int(window))
    lam = 4.5 if lam is None else float(lam)
    shape = (ctypes.c_int64 * 4)()
    tail = (_DTYPES[xa.dtype], _i64(xa.shape), _i64(ma.shape), _i64(wa.shape), int(ba.shape[0]), attrs, lam, shape)
    call = getattr(lib, fn)
    _check(lib, call(None, None, None, None, None, *tail), "sample_interp")
    y = np.empty(tuple(shape), dtype=xa.dtype)
    _check(lib, call(_ptr(xa), _ptr(ma), _ptr(wa), _ptr(ba), _ptr(y), *tail), "sample_interp")
    return _like(y, x)
