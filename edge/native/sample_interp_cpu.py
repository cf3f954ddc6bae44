"""Fast CPU path of ``torch.ops.edge.sample_interp`` (float32): ONE native call per op invocation.

``edge_sample_interp_cpu_run`` of ``libedge_ref.so`` (``plugins/sample_interp/sample_interp_gemm.cpp`` and
``sample_interp_cpu.cpp``, OpenMP threads) runs the whole op on the sampled positions:

1. index: mask (B*Ho*Wo) -> the P sampled positions (ascending) and a row map (position -> row, -1);
2. in blocks of up to 48 sampled positions: their receptive fields (read in place from a channels-last x
   through tap pointers; gathered per block, or x copied to channels-last once, for other layouts) -> a
   register-blocked GEMM with the layer's weights packed once into 16-channel panels (cached here per weight
   tensor) -> bias and activation -> rows (P, Cout);
3. interpolation: every output element written once: a sampled position copies its row, an unsampled one gets
   the RBF-weighted mean of its sampled neighbours (METHODS §4), summed by pushing each sampled row into its
   window at low density, in separable form (rows, then columns) above.

No BLAS is involved (the library's own GEMM kernel ran faster than MKL's on these blocks, see the C++ file), so the
library keeps no link-time or run-time dependency on torch. Above ``dense_above`` sampled positions the call
returns without work and the convolution runs densely here (one ``F.conv2d``), followed by the interpolation
only. :func:`available` says whether the library (with these functions) is built; ``edge.ops.sample_interp``
falls back to its pure-PyTorch kernel when it is not.
"""

from __future__ import annotations

import ctypes
import logging
import os
import weakref

import torch
import torch.nn.functional as F
from torch import Tensor

from edge.errors import EdgeError, InputError

__all__ = ["VERSION", "available", "library_path", "openmp", "reset", "sample_interp_cpu", "unavailable_reason"]

#: version of the C functions this module calls (edge_sample_interp_cpu_version() of the library)
VERSION = 2
#: the codes of edge_sample_interp_cpu_run: done (>= 0: the sampled count), error, "run it densely"
_FAILED, _DENSE = -1, -2
_state: dict = {}
_weights: dict[int, tuple] = {}  # id(weight) -> (weakref, version, data_ptr, groups, packed)


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
    lib.edge_sample_interp_cpu_interp.restype = i32
    lib.edge_sample_interp_cpu_interp.argtypes = [vp, vp, i64, vp, vp, vp, vp, vp, f32, vp, i32, i32]
    lib.edge_sample_interp_cpu_packed_size.restype = i64
    lib.edge_sample_interp_cpu_packed_size.argtypes = [vp, i32]
    lib.edge_sample_interp_cpu_pack.restype = i32
    lib.edge_sample_interp_cpu_pack.argtypes = [vp, vp, i32, vp]
    lib.edge_sample_interp_cpu_run.restype = i64
    lib.edge_sample_interp_cpu_run.argtypes = [vp, vp, vp, vp, vp, vp, f32, vp, vp, vp, f32, vp, i32, i32, vp]
    return lib


SLOW_PATH_FIX = ("reinstall edge where a C++ compiler and CMake exist (`pip install .`), or run `make plugins` in "
                 "a checkout; edge.native.kernel_info() shows which kernel runs")


def _lib(warn: bool = True) -> ctypes.CDLL | None:
    """The loaded library or None; the outcome is remembered until :func:`reset`. ``warn``: the first time the
    library is missing, log one line that the slow path is in use (once per process, until :func:`reset`)."""
    if "lib" not in _state:
        try:
            _state["lib"], _state["reason"] = _load(), None
        except EdgeError as e:
            _state["lib"], _state["reason"] = None, str(e)
    if _state["lib"] is None and warn and not _state.get("warned"):
        _state["warned"] = True
        logging.getLogger("edge.native").warning(
            "edge: sample-interp runs the slow PyTorch kernel: %s. Fix: %s", short_reason(), SLOW_PATH_FIX)
    return _state["lib"]


#: CPU kernels of torch.ops.edge.sample_interp; None (or "auto") picks "native" when it is built and applies,
#: else "torch". The environment variable ``BACKEND_ENV`` overrides the automatic choice.
BACKENDS = ("native", "torch")
BACKEND_ENV = "EDGE_SAMPLE_INTERP_BACKEND"


def requested_backend(backend: str | None = None) -> str:
    """``backend``, else ``$EDGE_SAMPLE_INTERP_BACKEND``, else "auto"; an unknown name is an InputError."""
    choice = backend or os.environ.get(BACKEND_ENV) or "auto"
    if choice not in BACKENDS and choice != "auto":
        raise InputError(f"sample_interp: backend must be one of {', '.join(BACKENDS)} or auto, got {choice!r} "
                         f"(from the argument or {BACKEND_ENV})")
    return choice


def short_reason() -> str | None:
    """:func:`unavailable_reason` in one line (the first line, without the list of paths tried)."""
    why = unavailable_reason()
    return None if why is None else why.splitlines()[0].removesuffix("; tried:").rstrip(":;. ")


def available() -> bool:
    """True when ``libedge_ref.so`` is built with the fast sample_interp functions of this version (the first
    False logs the one-line slow-path warning)."""
    return _lib() is not None


def unavailable_reason() -> str | None:
    """Why :func:`available` is False (None when it is True); never warns."""
    _lib(warn=False)
    return _state["reason"]


def library_path() -> str | None:
    """File the fast path's library was loaded from (None when unavailable); never warns."""
    lib = _lib(warn=False)
    return None if lib is None else lib._name


def openmp() -> bool | None:
    """Whether the loaded library runs OpenMP threads (None when unavailable)."""
    lib = _lib(warn=False)
    return None if lib is None else bool(lib.edge_sample_interp_cpu_openmp())


def reset() -> None:
    """Forget the library lookup and the packed-weight and argument caches (after a rebuild, in tests)."""
    _state.clear()
    _weights.clear()
    _arrays.clear()


def _packed(lib: ctypes.CDLL, weight: Tensor, groups: int) -> Tensor:
    """The weights packed for the native GEMM (panels of 16 output channels, rows in the gathered order).

    Cached per weight tensor (weak reference + version counter + data pointer: any in-place change or a new
    tensor repacks), so a model's layers pack their weights once, not at every call.
    """
    hit = _weights.get(id(weight))
    if hit and hit[0]() is weight and hit[1:4] == (weight._version, weight.data_ptr(), groups):
        return hit[4]
    w = weight.detach().contiguous()
    shape = (ctypes.c_int64 * 4)(*w.shape)
    size = lib.edge_sample_interp_cpu_packed_size(shape, groups)
    _call(lib, 0 if size >= 0 else -1)
    packed = torch.empty(size)
    _call(lib, lib.edge_sample_interp_cpu_pack(w.data_ptr(), shape, groups, packed.data_ptr()))
    if len(_weights) >= 256:
        _weights.clear()
    _weights[id(weight)] = (weakref.ref(weight), weight._version, weight.data_ptr(), groups, packed)
    return packed


_arrays: dict[tuple, tuple] = {}  # call signature -> the C arrays of edge_sample_interp_cpu_run


def _args(x: Tensor, mask: Tensor, weight: Tensor, stride, padding, dilation, groups: int, activation: int,
          window: int, lam: float) -> tuple:
    """(x strides, x shape, mask shape, weight shape, attrs, lambda) as the C call takes them, cached per signature
    (a model repeats the same layers: building the ctypes arrays again would cost more than the lookup)."""
    key = (x.shape, x.stride(), mask.shape, weight.shape, tuple(stride), tuple(padding), tuple(dilation), groups,
           activation, window, lam)
    hit = _arrays.get(key)
    if hit is None:
        i64x4 = ctypes.c_int64 * 4
        hit = (i64x4(*x.stride()), i64x4(*x.shape), i64x4(*mask.shape), i64x4(*weight.shape),
               (ctypes.c_int32 * 9)(*stride, *padding, *dilation, groups, activation, window), float(lam))
        if len(_arrays) >= 256:
            _arrays.clear()
        _arrays[key] = hit
    return hit


def _call(lib: ctypes.CDLL, rc: int) -> None:
    if rc < 0:
        from edge.native._lib import last_error

        raise InputError(f"sample_interp: {last_error(lib)} (see plugins/sample_interp/README.md)")


def sample_interp_cpu(x: Tensor, mask: Tensor, weight: Tensor, bias: Tensor, stride, padding, dilation,
                      groups: int, activation: int, window: int, lam: float, dense_above: float,
                      threads: int | None = None, method: int = 0, stages: Tensor | None = None) -> Tensor:
    """The op on float32 CPU tensors (shapes already checked by edge.ops.sample_interp), inference only.

    x (Tensor[B, Cin, H, W], any strides), mask (Tensor[B, 1, Ho, Wo], > 0.5 = sampled),
    weight (Tensor[Cout, Cin/groups, kh, kw]), bias (Tensor[Cout]) -> Tensor[B, Cout, Ho, Wo] with
    channels-last strides. ``threads`` None = ``torch.get_num_threads()``. ``method``: how the interpolation
    sums the neighbours, 1 push (each sampled position adds into its window), 2 separable (horizontal then
    vertical pass), 0 push at low density and separable above (the results agree to float rounding).
    ``stages`` (Tensor[4] float64, optional): seconds spent in index, gather, GEMM and interpolation are added
    to it (summed over threads; the sparse path only).
    """
    lib = _state.get("lib") or _lib()
    if lib is None:
        raise EdgeError(f"sample_interp: the fast CPU path is unavailable: {_state['reason']}")
    threads = torch.get_num_threads() if threads is None else int(threads)
    m = mask if mask.dtype == torch.float32 and mask.is_contiguous() else (mask > 0.5).float()
    bias = bias if bias.is_contiguous() else bias.contiguous()
    xs, *args = _args(x, mask, weight, stride, padding, dilation, groups, activation, window, lam)
    out = x.new_empty(x.shape[0], mask.shape[2], mask.shape[3], weight.shape[0])
    rc = lib.edge_sample_interp_cpu_run(x.data_ptr(), xs, *args, m.data_ptr(),
                                        _packed(lib, weight, groups).data_ptr(), bias.data_ptr(), dense_above,
                                        out.data_ptr(), method, threads,
                                        None if stages is None else stages.data_ptr())
    if rc == _DENSE:  # mostly sampled: one dense convolution, rows picked from it
        with torch.no_grad():
            return _dense(lib, x, m, weight, bias, stride, padding, dilation, groups, activation, args, out, method,
                          threads)
    _call(lib, rc)
    return out.permute(0, 3, 1, 2)


def _dense(lib, x: Tensor, m: Tensor, weight: Tensor, bias: Tensor, stride, padding, dilation, groups: int,
           activation: int, args: tuple, out: Tensor, method: int, threads: int) -> Tensor:
    """The op through one dense ``F.conv2d``: its rows at the sampled positions, then the native interpolation.
    m (Tensor[B*Ho*Wo] float32), out (Tensor[B, Ho, Wo, Cout]) -> Tensor[B, Cout, Ho, Wo] (channels-last)."""
    f = F.conv2d(x, weight, bias, list(stride), list(padding), list(dilation), groups)
    f = f.contiguous(memory_format=torch.channels_last)
    rowmap, pos = torch.empty(m.numel(), dtype=torch.int32), torch.empty(m.numel(), dtype=torch.int32)
    p = lib.edge_sample_interp_cpu_index(m.data_ptr(), m.numel(), rowmap.data_ptr(), pos.data_ptr())
    if p == m.numel():
        return f.clamp_(0.0, 6.0 if activation == 2 else None) if activation else f
    pos = pos[:p]
    rows = f.permute(0, 2, 3, 1).reshape(-1, weight.shape[0]).index_select(0, pos.long())
    _call(lib, lib.edge_sample_interp_cpu_interp(rows.data_ptr(), pos.data_ptr(), p, rowmap.data_ptr(), *args,
                                                 out.data_ptr(), method, threads))
    return out.permute(0, 3, 1, 2)
