"""The one engine-loading path (Polygraphy's ``EngineFromPath``/``EngineFromBytes`` pattern, from
NVIDIA/TensorRT tools/Polygraphy/polygraphy/backend/trt/loader.py, release/10.13).

``EngineFromPath(path)()``: check the manifest against this machine, load the plugin libraries, create the
runtime with its flags, deserialise. ``EngineFromBytes(data, manifest=...)()`` does the last three for an
engine held in memory. ``TensorRTRunner``, ``build_engine``'s verification and the benchmarks all load
engines here, so every engine gets the same checks and the same error messages.

Host code. A version-compatible plan embeds its lean runtime as host executable code, which TensorRT
deserialises only when ``IRuntime::setEngineHostCodeAllowed(true)`` (default false: NvInferRuntime.h at
release/10.3, lines 1647-1657; Python ``Runtime.engine_host_code_allowed``: python/src/infer/pyCore.cpp
line 1557, whose ``deserialize_cuda_engine`` keeps the runtime alive with the engine, keep_alive<0, 1>, l.1540). trtexec sets it only for
``--versionCompatible`` (samples/common/sampleEngines.cpp at release/10.3, lines 103-107). Polygraphy sets
it for every engine; edge follows trtexec: it is set only when the engine's manifest says the engine was
built version-compatible, because an engine with host code is executable code. Engines and plugin
libraries must come from a trusted source (docs/TENSORRT.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge._lazy import lazy_import
from edge.errors import EngineError, PluginError

if TYPE_CHECKING:
    import tensorrt as trt
else:
    trt = lazy_import("tensorrt", feature="loading TensorRT engines")


def resolve_plugin_library(plugins: Any) -> tuple[Path | None, str | None]:
    """The plugin library to load, or None with the reason (no TensorRT needed).

    ``plugins``: False = none; a path = that library (PluginError if missing); None = the one
    ``edge.trt.plugins.library_path()`` finds (EDGE_PLUGIN_LIB, package, build tree), and none when it
    finds nothing: the engine may not use plugins (if it does, deserialisation fails with this reason).
    """
    if plugins is False:
        return None, "plugin loading disabled"
    if plugins not in (None, True):
        path = Path(os.fspath(plugins))
        if not path.is_file():
            raise PluginError(f"plugin library '{path}' does not exist. Fix: build it (bash scripts/build_plugins.sh)")
        return path, None
    from edge.trt.plugins import library_path

    try:
        return library_path(), None
    except PluginError as e:
        return None, str(e)


def host_code_allowed(manifest: dict | None) -> bool:
    """True only for an engine whose manifest records a version-compatible build (see the module docstring)."""
    return bool(manifest and (manifest.get("options") or {}).get("version_compatible"))


class EngineFromBytes:
    """``() -> ICudaEngine`` from a serialised plan (bytes, or a callable returning them).

    Args:
        manifest: the engine's checked manifest (decides host code, names the causes of a failure);
            None for an engine without one (built in memory): host code is then not allowed.
        plugins: plugin library files to register first (edge.trt.plugins.load checks their creators).
        plugin_note: why no plugin library is loaded, for the error message.
        name: how errors name the engine.
    """

    def __init__(self, data: bytes | Callable[[], bytes], manifest: dict | None = None,
                 plugins: list[Path] | None = None, plugin_note: str | None = None, name: str = "engine"):
        self.data, self.manifest, self.plugins = data, manifest, list(plugins or [])
        self.plugin_note, self.name = plugin_note, name
        self.runtime: Any = None  # the trt.Runtime (the binding keeps it alive with the engine too)

    def __call__(self) -> Any:
        from edge.trt.loaders import get_logger, load_plugin_libraries

        load_plugin_libraries([str(p) for p in self.plugins])
        data = self.data() if callable(self.data) else self.data
        self.runtime = trt.Runtime(get_logger())
        allowed = host_code_allowed(self.manifest)
        if allowed:
            self.runtime.engine_host_code_allowed = True
        engine = self.runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise EngineError(deserialize_failure(self.name, self.manifest, self.plugins, self.plugin_note, allowed))
        return engine


class EngineFromPath:
    """``() -> ICudaEngine`` from a plan file with its manifest (``<engine>.json``).

    Args:
        plugins: plugin library path | False; None = the library ``edge.trt.plugins`` finds, if any
            (its sha256 must equal the manifest's).
        allow_mismatch: load despite a missing or mismatching manifest (mismatches kept in
            ``manifest["mismatches"]`` and named if deserialisation then fails).
        machine: another machine's facts to check against (tests); None = this machine.
    """

    def __init__(self, path: str | os.PathLike, plugins: Any = None, allow_mismatch: bool = False,
                 machine: dict | None = None):
        self.path, self.plugins, self.allow_mismatch, self.machine = Path(path), plugins, allow_mismatch, machine
        self.manifest: dict | None = None
        self.runtime: Any = None

    def __call__(self) -> Any:
        from edge.trt.manifest import check_manifest

        if not self.path.is_file():
            raise EngineError(f"engine file '{self.path}' does not exist. Build it with `edge build`")
        plugin, note = resolve_plugin_library(self.plugins)
        self.manifest = check_manifest(self.path, allow_mismatch=self.allow_mismatch, machine=self.machine,
                                       plugin_paths=[str(plugin)] if plugin else [])
        loader = EngineFromBytes(self.path.read_bytes, self.manifest, [plugin] if plugin else [], note,
                                 name=str(self.path))
        engine = loader()
        self.runtime = loader.runtime
        return engine


def deserialize_failure(name: str, manifest: dict | None, plugins: list[Path], plugin_note: str | None,
                        host_code: bool) -> str:
    """The error for ``deserialize_cuda_engine`` returning None: the causes the manifest leaves open."""
    causes = []
    if manifest is None or "options" not in manifest:
        causes.append("no manifest says how it was built: if it was built --versionCompatible, its embedded host "
                      "code was not allowed (edge allows it only for engines whose manifest says so)")
    elif not host_code:
        causes.append("it was not built version-compatible, so it runs only with the exact TensorRT version "
                      f"it was built with ({manifest.get('tensorrt')})")
    for m in (manifest or {}).get("mismatches", []):
        if m != "no manifest":
            causes.append(f"mismatch accepted with --allow-mismatch: {m}")
    built_plugins = [Path(p["path"]).name for p in (manifest or {}).get("plugins", [])]
    if built_plugins and not plugins:
        causes.append(f"it uses the plugin library {', '.join(built_plugins)}, which was not loaded"
                      + (f" ({plugin_note})" if plugin_note else ""))
    elif not built_plugins and not plugins and plugin_note:
        causes.append(f"if it uses edge plugins: no plugin library was loaded ({plugin_note})")
    from edge.core.cuda import gpu_status

    st = gpu_status()
    if not st.usable:
        causes.append(f"the GPU is not usable here: {st.reason} (fix: {st.fix})")
    listing = "; ".join(causes) if causes else "see the TensorRT log above"
    return (f"TensorRT could not deserialise '{name}'. Possible causes: {listing}. Fix: rebuild it on this "
            "device with `edge build`")
