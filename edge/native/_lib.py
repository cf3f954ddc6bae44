"""Finding and loading the libraries built from ``plugins/``.

Two libraries come out of the CMake project: ``libedge_ref.so`` (the CPU references and the fast CPU kernels,
always built, no CUDA and no TensorRT; ``pip install`` builds it too) and ``libedge_plugins.so`` (the TensorRT
plugins, built when nvcc and TensorRT headers are present). Both are looked up in these places only, first
match wins:

1. a directory the user names explicitly: the ``directory`` argument of :func:`find_library`, else the
   environment variable ``EDGE_PLUGIN_DIR``;
2. the build tree of the source checkout this ``edge`` package is imported from: ``<repo>/build/plugins``
   (what ``make plugins``, ``scripts/build_plugins.sh`` and ``pip install -e .`` produce), only when
   ``<repo>`` is a checkout (it holds ``plugins/CMakeLists.txt``);
3. the package itself (``edge/native/``, where ``pip install .`` puts ``libedge_ref.so``).

Never the working directory: a ``build/plugins`` folder in a downloaded project must not get its ``.so``
loaded into the process just because edge runs there. Native libraries are code: load them only from a
source you trust.
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
BUILD_HINT = ("reinstall edge where a C++ compiler and CMake exist (`pip install .`, or `pip install -e .` in a "
              "checkout), or build it with `bash scripts/build_plugins.sh` (`make plugins`) from the repository root")
PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The source checkout this package is imported from (``<repo>`` with ``plugins/CMakeLists.txt``), or None
    (an installed wheel)."""
    root = PACKAGE_DIR.parents[1]
    return root if (root / "plugins" / "CMakeLists.txt").is_file() and (root / "edge").is_dir() else None


def search_places(directory: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """``(origin, directory)`` pairs searched, in order: origin is "argument", "EDGE_PLUGIN_DIR",
    "source checkout" or "package" (see the module docstring)."""
    places: list[tuple[str, Path]] = []
    env = os.environ.get("EDGE_PLUGIN_DIR")
    if directory is not None:
        places.append(("argument", Path(directory)))
    elif env:
        places.append(("EDGE_PLUGIN_DIR", Path(env)))
    root = checkout_root()
    if root is not None:
        places.append(("source checkout", root / "build" / "plugins"))
    places.append(("package", PACKAGE_DIR))
    return places


def search_dirs() -> list[Path]:
    """Directories searched for the built libraries, in order (see the module docstring)."""
    return [d for _, d in search_places()]


def find_library(name: str, directory: str | os.PathLike | None = None) -> tuple[Path | None, list[Path]]:
    """``(path or None, paths tried)`` for library file ``name``; ``directory``: look there first (explicit)."""
    dirs = [d for _, d in search_places(directory)] if directory is not None else search_dirs()
    tried = [d / name for d in dirs]
    for path in tried:
        if path.is_file():
            return path, tried
    return None, tried


def origin_of(path: Path) -> str:
    """Which of :func:`search_places` ``path`` lies in ("other" when none)."""
    for origin, d in search_places():
        if path.parent.resolve() == d.resolve():
            return origin
    return "other"


def load_checked(path: Path, abi: int) -> ctypes.CDLL:
    """``path`` loaded, its ``edge_ref_abi_version()`` checked against ``abi``; PluginError otherwise."""
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise PluginError(f"cannot load {path}: {e}. Fix: rebuild it ({BUILD_HINT})") from e
    lib.edge_ref_abi_version.restype = ctypes.c_int32
    if lib.edge_ref_abi_version() != abi:
        raise PluginError(f"{path} has C ABI version {lib.edge_ref_abi_version()}, this edge expects "
                          f"{abi}. Fix: rebuild it ({BUILD_HINT})")
    return lib


@functools.lru_cache(None)
def ref_library() -> ctypes.CDLL:
    """The loaded CPU reference library with its function signatures declared.

    Raises:
        PluginError: not built (lists the paths tried and how to build it), or built from another ABI.
    """
    return load_declared(REF_LIBRARY, "the CPU reference library",
                         f"{BUILD_HINT}, or set EDGE_PLUGIN_DIR to the directory holding it")


def load_declared(name: str, what: str, fix: str, suffix: str = "ref") -> ctypes.CDLL:
    """Find ``name``, load it with the ABI check and declare its C signatures (``_declare(lib, suffix)``).

    Raises:
        PluginError: not found (lists the paths tried and ``fix``), or built from another ABI.
    """
    path, tried = find_library(name)
    if path is None:
        listing = "\n  ".join(str(p) for p in tried)
        raise PluginError(f"{what} {name} was not found; tried:\n  {listing}\nFix: {fix}")
    lib = load_checked(path, REF_ABI_VERSION)
    _declare(lib, suffix)
    return lib


def _declare(lib: ctypes.CDLL, suffix: str = "ref") -> None:
    """Argument and result types of the C ABI (plugins/*/<op>_ref.cpp; the CUDA harness, plugins/tests/
    cuda_harness.cpp, has the same functions with suffix ``cuda``)."""
    i32, i64, vp = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p
    p_i32, p_i64 = ctypes.POINTER(i32), ctypes.POINTER(i64)
    lib.edge_ref_last_error.restype = ctypes.c_char_p
    unwarp, interp = getattr(lib, f"edge_multipool_unwarp_{suffix}"), getattr(lib, f"edge_sample_interp_{suffix}")
    unwarp.restype = i32
    unwarp.argtypes = [vp, vp, i32, i32, p_i32, p_i32, i64, i64, i64, i64, i64, i64, i64, p_i64]
    interp.restype = i32
    interp.argtypes = [vp, vp, vp, vp, vp, i32, p_i64, p_i64, p_i64, i64, p_i32, ctypes.c_float, p_i64]


def last_error(lib: ctypes.CDLL) -> str:
    """The reference library's message for the last failed call of this thread."""
    return lib.edge_ref_last_error().decode("utf-8", "replace")
