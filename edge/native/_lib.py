"""Finding and loading the libraries built from ``plugins/``.

Two libraries come out of the CMake project: ``libedge_ref.so`` (the CPU references, always built, no CUDA
and no TensorRT) and ``libedge_plugins.so`` (the TensorRT plugins, built when nvcc and TensorRT headers are
present). Both are looked up in the same places, first match wins:

1. the directory named by the environment variable ``EDGE_PLUGIN_DIR``;
2. the package itself (``edge/native/``, where a wheel would ship them as package data);
3. the build tree of a source checkout: ``<repo>/build/plugins`` (what ``make plugins`` and
   ``scripts/build_plugins.sh`` produce) and ``./build/plugins`` relative to the working directory.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

from edge.errors import PluginError

REF_LIBRARY = "libedge_ref.so"
PLUGIN_LIBRARY = "libedge_plugins.so"
#: bumped with every signature change of the C ABI in plugins/common/edge_ref.cpp
REF_ABI_VERSION = 1
BUILD_HINT = "build it with `bash scripts/build_plugins.sh` (or `make plugins`) from the repository root"


def search_dirs() -> list[Path]:
    """Directories searched for the built libraries, in order (see the module docstring)."""
    dirs: list[Path] = []
    env = os.environ.get("EDGE_PLUGIN_DIR")
    if env:
        dirs.append(Path(env))
    here = Path(__file__).resolve().parent
    dirs.append(here)
    dirs.append(here.parents[1] / "build" / "plugins")
    dirs.append(Path.cwd() / "build" / "plugins")
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_library(name: str) -> tuple[Path | None, list[Path]]:
    """``(path or None, paths tried)`` for library file ``name``."""
    tried = [d / name for d in search_dirs()]
    for path in tried:
        if path.is_file():
            return path, tried
    return None, tried


@functools.lru_cache(None)
def ref_library() -> ctypes.CDLL:
    """The loaded CPU reference library with its function signatures declared.

    Raises:
        PluginError: not built (lists the paths tried and how to build it), or built from another ABI.
    """
    path, tried = find_library(REF_LIBRARY)
    if path is None:
        listing = "\n  ".join(str(p) for p in tried)
        raise PluginError(f"the CPU reference library {REF_LIBRARY} was not found; tried:\n  {listing}\n"
                          f"Fix: {BUILD_HINT}, or set EDGE_PLUGIN_DIR to the directory holding it")
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise PluginError(f"cannot load {path}: {e}. Fix: rebuild it ({BUILD_HINT})") from e
    lib.edge_ref_abi_version.restype = ctypes.c_int32
    if lib.edge_ref_abi_version() != REF_ABI_VERSION:
        raise PluginError(f"{path} has C ABI version {lib.edge_ref_abi_version()}, this edge expects "
                          f"{REF_ABI_VERSION}. Fix: rebuild it ({BUILD_HINT})")
    _declare(lib)
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    """Argument and result types of the C ABI (plugins/*/<op>_ref.cpp)."""
    i32, i64, vp = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p
    p_i32, p_i64 = ctypes.POINTER(i32), ctypes.POINTER(i64)
    lib.edge_ref_last_error.restype = ctypes.c_char_p
    lib.edge_multipool_unwarp_ref.restype = i32
    lib.edge_multipool_unwarp_ref.argtypes = [vp, vp, i32, i32, p_i32, p_i32, i64, i64, i64, i64, i64, i64, i64,
                                              p_i64]
    lib.edge_sample_interp_ref.restype = i32
    lib.edge_sample_interp_ref.argtypes = [vp, vp, vp, vp, vp, i32, p_i64, p_i64, p_i64, i64, p_i32,
                                           ctypes.c_float, p_i64]


def last_error(lib: ctypes.CDLL) -> str:
    """The reference library's message for the last failed call of this thread."""
    return lib.edge_ref_last_error().decode("utf-8", "replace")
