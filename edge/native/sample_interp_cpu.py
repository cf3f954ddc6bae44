"""Fast CPU path of ``torch.ops.edge.sample_interp`` (float32): C++ gather and interpolation around a torch GEMM.

The kernel of ``plugins/sample_interp/sample_interp_cpu.cpp`` (built into ``libedge_ref.so``, OpenMP threads)
does the parts PyTorch runs as many small passes, and the GEMM stays in PyTorch (MKL/OpenBLAS):

1. ``index``: mask (B*Ho*Wo) -> the P sampled positions (ascending) and a row map (position -> row, -1);
2. ``gather``: im2col of the P sampled receptive fields only -> cols (G, P, kh*kw*Cin/G), taps outer;
3. ``torch.addmm`` (``baddbmm`` over groups): rows (P, Cout) = cols @ W + bias;
4. ``interp``: activation of the rows in place, then every output element written once: a sampled position
   copies its row, an unsampled one gets the RBF-weighted mean of its sampled neighbours (SPEC §4), summed by
   pushing each sampled row into its window at low density, in separable form (rows, then columns) above.

Above ``dense_above`` sampled positions the convolution runs densely (one ``F.conv2d``) and only steps 1 and
4 remain. :func:`available` says whether the library (with these functions) is built; ``edge.ops.sample_interp``
falls back to its pure-PyTorch kernel when it is not.
"""

from __future__ import annotations

import ctypes
import functools
import threading
import weakref

import torch
import torch.nn.functional as F
from torch import Tensor

from edge.errors import EdgeError, InputError

__all__ = ["VERSION", "available", "reset", "sample_interp_cpu", "unavailable_reason"]

#: version of the C functions this module calls (edge_sample_interp_cpu_version() of the library)
VERSION = 1
_state: dict = {}
_weights: dict[int, tuple] = {}  # id(weight) -> (weakref, version, data_ptr, groups, matrix)
_local = threading.local()  # per-thread scratch buffers (see _scratch)
#: largest scratch buffer kept between calls, in float32 elements (64 MB)
SCRATCH_MAX = 16 * 1024 * 1024


def _load() -> ctypes.CDLL:
    """The reference library with the fast functions declared; raises EdgeError with the reason."""
    from edge.native._lib import BUILD_HINT, ref_library

    lib = ref_library()
    if not hasattr(lib, "edge_sample_interp_cpu_version"):
        raise EdgeError(f"{lib._name} predates the fast sample_interp CPU path. Fix: rebuild it ({BUILD_HINT})")
    lib.edge_sample_interp_cpu_version.restype = ctypes.c_int32
    if lib.edge_sample_interp_cpu_version() != VERSION:
        raise EdgeError(f"{lib._name} has sample_interp CPU functions version {lib.edge_sample_interp_cpu_version()}, "
                        f"this edge expects {VERSION}. Fix: rebuild it ({BUILD_HINT})")
    i32, i64, f32, vp = ctypes.c_int32, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
    lib.edge_sample_interp_cpu_openmp.restype = i32
    lib.edge_sample_interp_cpu_index.restype = i64
    lib.edge_sample_interp_cpu_index.argtypes = [vp, i64, vp, vp]
    lib.edge_sample_interp_cpu_gather.restype = i32
    lib.edge_sample_interp_cpu_gather.argtypes = [vp, vp, vp, vp, vp, vp, f32, vp, i64, vp, i32]
    lib.edge_sample_interp_cpu_interp.restype = i32
    lib.edge_sample_interp_cpu_interp.argtypes = [vp, vp, i64, vp, vp, vp, vp, vp, f32, vp, i32, i32]
    return lib


def _lib() -> ctypes.CDLL | None:
    """The loaded library or None; the outcome is remembered until :func:`reset`."""
    if "lib" not in _state:
        try:
            _state["lib"], _state["reason"] = _load(), None
        except EdgeError as e:
            _state["lib"], _state["reason"] = None, str(e)
    return _state["lib"]


def available() -> bool:
    """True when ``libedge_ref.so`` is built with the fast sample_interp functions of this version."""
    return _lib() is not None


def unavailable_reason() -> str | None:
    """Why :func:`available` is False (None when it is True)."""
    _lib()
    return _state["reason"]


def reset() -> None:
    """Forget the library lookup, the weight cache and this thread's scratch buffers (after a rebuild, in tests)."""
    _state.clear()
    _weights.clear()
    _local.__dict__.clear()


def _weight_matrix(weight: Tensor, groups: int) -> Tensor:
    """W as (G, kh*kw*Cin/G, Cout/G), rows ordered (ky, kx, ci) like the gathered fields.

    Cached per weight tensor (weak reference + version counter + data pointer: any in-place change or a new
    tensor recomputes it), so a model's layers do not re-permute their weights at every call.
    """
    hit = _weights.get(id(weight))
    if hit and hit[0]() is weight and hit[1:4] == (weight._version, weight.data_ptr(), groups):
        return hit[4]
    cout, cg, kh, kw = weight.shape
    mat = weight.detach().reshape(groups, cout // groups, cg, kh, kw).permute(0, 3, 4, 2, 1)
    mat = mat.reshape(groups, kh * kw * cg, cout // groups).contiguous()
    if len(_weights) >= 256:
        _weights.clear()
    _weights[id(weight)] = (weakref.ref(weight), weight._version, weight.data_ptr(), groups, mat)
    return mat


@functools.lru_cache(maxsize=256)
def _args(x_shape: tuple, mask_shape: tuple, w_shape: tuple, attrs: tuple, lam: float) -> tuple:
    """The C arrays of shapes and attributes shared by the calls (cached: a model repeats the same layers)."""
    shapes = [(ctypes.c_int64 * 4)(*s) for s in (x_shape, mask_shape, w_shape)]
    return (*shapes, (ctypes.c_int32 * 9)(*attrs), lam)


def _ptr(t: Tensor) -> ctypes.c_void_p:
    return ctypes.c_void_p(t.data_ptr())


def _call(lib: ctypes.CDLL, rc: int) -> None:
    if rc != 0:
        from edge.native._lib import last_error

        raise InputError(f"sample_interp: {last_error(lib)} (see plugins/sample_interp/README.md)")


def _scratch(slot: int, numel: int) -> Tensor:
    """A float32 buffer of ``numel`` elements reused by the next calls of this thread (grow-only, up to
    SCRATCH_MAX elements; larger requests get a fresh tensor). Fresh multi-megabyte tensors are mapped and
    zeroed by the kernel at every call (transparent huge pages: ~0.1-0.2 ms per 2 MB on our machines), which
    cost as much as the interpolation itself; the buffers only live within one call of the op."""
    if numel > SCRATCH_MAX:
        return torch.empty(numel)
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    buf = bufs.get(slot)
    if buf is None or buf.numel() < numel:
        buf = bufs[slot] = torch.empty(max(numel, 1))
    return buf[:numel]


def _rows(lib, x: Tensor, weight: Tensor, bias: Tensor, pos: Tensor, p: int, groups: int, args: tuple,
          threads: int) -> Tensor:
    """The convolution (before activation) at the P positions ``pos``: Tensor[P, Cout] (gather -> GEMM), in a
    scratch buffer of this thread (valid until its next call)."""
    cout = weight.shape[0]
    mat = _weight_matrix(weight, groups)
    cols = _scratch(0, groups * p * mat.shape[1]).view(groups, p, mat.shape[1])
    strides = (ctypes.c_int64 * 4)(*x.stride())
    _call(lib, lib.edge_sample_interp_cpu_gather(_ptr(x), strides, *args, _ptr(pos), p, _ptr(cols), threads))
    b = bias.detach()
    if groups == 1:
        return torch.addmm(b, cols[0], mat[0], out=_scratch(1, p * cout).view(p, cout))
    out = torch.baddbmm(b.reshape(groups, 1, cout // groups), cols, mat)  # (G, P, Cout/G)
    return out.transpose(0, 1).contiguous().view(p, cout)


@torch.no_grad()
def sample_interp_cpu(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor, stride, padding, dilation,
                      groups: int, activation: int, window: int, lam: float, dense_above: float,
                      threads: int | None = None, method: int = 0) -> Tensor:
    """The op on float32 CPU tensors (shapes already checked by edge.ops.sample_interp).

    x (Tensor[B, Cin, H, W], any strides), mask (Tensor[B, 1, Ho, Wo], > 0.5 = sampled),
    weight (Tensor[Cout, Cin/groups, kh, kw]), bias (Tensor[Cout]) -> Tensor[B, Cout, Ho, Wo] with
    channels-last strides. ``threads`` None = ``torch.get_num_threads()``. ``method``: how the interpolation
    sums the neighbours, 1 push (each sampled position adds into its window), 2 separable (horizontal then
    vertical pass), 0 push at low density and separable above (the results agree to float rounding).
    """
    lib = _lib()
    if lib is None:
        raise EdgeError(f"sample_interp: the fast CPU path is unavailable: {_state['reason']}")
    threads = torch.get_num_threads() if threads is None else int(threads)
    b, cout = x.shape[0], weight.shape[0]
    ho, wo = mask.shape[2:]
    m = mask.reshape(-1)
    m = m.contiguous() if m.dtype == torch.float32 else (m > 0.5).float()
    rowmap, pos = torch.empty(m.numel(), dtype=torch.int32), torch.empty(m.numel(), dtype=torch.int32)
    p = lib.edge_sample_interp_cpu_index(_ptr(m), m.numel(), _ptr(rowmap), _ptr(pos))
    pos = pos[:p]
    args = _args(tuple(x.shape), tuple(mask.shape), tuple(weight.shape),
                 (*stride, *padding, *dilation, groups, activation, window), float(lam))
    if p >= dense_above * m.numel():  # mostly sampled: one dense convolution, rows picked from it
        f = F.conv2d(x, weight, bias, list(stride), list(padding), list(dilation), groups)
        f = f.contiguous(memory_format=torch.channels_last)
        if p == m.numel():
            return f.clamp_(0.0, 6.0 if activation == 2 else None) if activation else f
        rows = f.permute(0, 2, 3, 1).reshape(-1, cout).index_select(0, pos.long())
    elif p:
        rows = _rows(lib, x.detach(), weight, bias, pos, p, groups, args, threads)
    else:
        rows = x.new_empty(0, cout)
    rows = rows.contiguous()  # read as a raw (P, Cout) array
    out = x.new_empty(b, ho, wo, cout)
    _call(lib, lib.edge_sample_interp_cpu_interp(_ptr(rows), _ptr(pos), p, _ptr(rowmap), *args, _ptr(out), method,
                                                 threads))
    return out.permute(0, 3, 1, 2)
