"""Loading the edge TensorRT plugin library (``libedge_plugins.so``, built from ``plugins/``).

``load()`` finds the library, registers it in TensorRT's plugin registry (``load_library``: the library
exports ``getCreators``/``setLoggerFinder``, no ``REGISTER_TENSORRT_PLUGIN``) and checks that both creators
are present with the expected versions. ``library_path()`` is what the engine builder serialises into
version-compatible engines (``config.plugins_to_serialize``) and what runners load before deserialising.

Search order: ``path`` argument; the ``EDGE_PLUGIN_LIB`` environment variable (a file); then
``libedge_plugins.so`` in ``EDGE_PLUGIN_DIR``, the package, and the build tree (``build/plugins``), as for
the CPU reference library (:mod:`edge.native`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from edge._lazy import lazy_import
from edge.errors import PluginError
from edge.native._lib import PLUGIN_LIBRARY, find_library

trt = lazy_import("tensorrt", feature="loading the edge TensorRT plugins")

#: plugin name -> creator version, as in plugins/<op>/README.md (namespace "")
EXPECTED_CREATORS = {"EdgeMultiPoolUnwarp": "1", "EdgeSampleInterp": "1"}
PLUGIN_NAMESPACE = ""
BUILD_HINT = ("build it on the target: `bash scripts/build_plugins.sh` from the repository root (JetPack's "
              "TensorRT headers in /usr/include/aarch64-linux-gnu are found automatically; elsewhere pass "
              "CMAKE_ARGS=-DTENSORRT_ROOT=<dir with include/>), or point EDGE_PLUGIN_LIB at libedge_plugins.so")

_lock = threading.Lock()
_loaded: dict[str, object] = {}  # resolved path -> library handle returned by TensorRT


def library_path(path: str | os.PathLike | None = None) -> Path:
    """The plugin library file to use (see the module docstring for the search order).

    Raises:
        PluginError: no library found; the message lists every path tried and how to build it.
    """
    tried: list[Path] = []
    explicit = path if path is not None else os.environ.get("EDGE_PLUGIN_LIB") or None
    if explicit is not None:
        p = Path(explicit)
        if p.is_dir():
            p = p / PLUGIN_LIBRARY
        if p.is_file():
            return p.resolve()
        tried.append(p)
        source = "argument" if path is not None else "EDGE_PLUGIN_LIB"
        raise PluginError(f"the plugin library given by {source} does not exist: {p}. Fix: {BUILD_HINT}")
    found, searched = find_library(PLUGIN_LIBRARY)
    if found is not None:
        return found.resolve()
    tried.extend(searched)
    listing = "\n  ".join(str(t) for t in tried)
    raise PluginError(f"the TensorRT plugin library {PLUGIN_LIBRARY} was not found; tried:\n  {listing}\n"
                      f"Fix: {BUILD_HINT}")


def registered_creators(registry=None) -> dict[str, str]:
    """``{name: version}`` of the edge creators present in TensorRT's registry (missing ones left out)."""
    registry = registry if registry is not None else trt.get_plugin_registry()
    found: dict[str, str] = {}
    for name, version in EXPECTED_CREATORS.items():
        creator = registry.get_creator(name, version, PLUGIN_NAMESPACE)
        if creator is not None:
            found[name] = str(getattr(creator, "plugin_version", version))
    return found


def check_creators(registry=None, library: Path | None = None) -> dict[str, str]:
    """Raise PluginError unless every expected creator is registered with its expected version."""
    registry = registry if registry is not None else trt.get_plugin_registry()
    found = registered_creators(registry)
    wrong = {n: v for n, v in EXPECTED_CREATORS.items() if found.get(n) != v}
    if wrong:
        present = sorted(f"{c.name}/{c.plugin_version}" for c in getattr(registry, "all_creators", [])
                         if str(getattr(c, "name", "")).startswith("Edge"))
        where = f" after loading {library}" if library else ""
        raise PluginError(f"TensorRT's plugin registry lacks {sorted(f'{n}/{v}' for n, v in wrong.items())}{where}; "
                          f"edge creators present: {present or 'none'}. Fix: rebuild the library from this "
                          f"checkout's plugins/ ({BUILD_HINT})")
    return found


def load(path: str | os.PathLike | None = None) -> Path:
    """Register the edge plugins with TensorRT (idempotent) and return the library's path.

    Args:
        path: the library file (or its directory); None = search (EDGE_PLUGIN_LIB, EDGE_PLUGIN_DIR, package,
            build tree).

    Raises:
        DependencyError: TensorRT is not installed.
        PluginError: the library is not found (paths tried listed), TensorRT refuses it, or a creator is
            missing or has another version.
    """
    lib = library_path(path)
    registry = trt.get_plugin_registry()
    with _lock:
        if str(lib) not in _loaded:
            if len(registered_creators(registry)) == len(EXPECTED_CREATORS):
                _loaded[str(lib)] = None  # already registered (another copy, or trtexec-style preload)
            else:
                handle = registry.load_library(str(lib))
                if handle is None:
                    raise PluginError(f"TensorRT could not load {lib} (see the TensorRT log above: a missing "
                                      f"libcudart of the right CUDA major version, or creators already "
                                      f"registered by another library). Fix: {BUILD_HINT}")
                _loaded[str(lib)] = handle
    check_creators(registry, lib)
    return lib
