"""Probes of edge's native code: the TensorRT plugin library, the CPU reference library, the CPU kernel in use.

The creators are listed from TensorRT's own registry after ``edge.trt.plugins.load()``. TensorRT's Python
bindings (NVIDIA/TensorRT release/10.3, ``python/src/infer/pyPlugin.cpp``): ``tensorrt.get_plugin_registry()``
returns the ``IPluginRegistry``; ``load_library(plugin_path)`` registers a library's creators;
``all_creators`` (``getAllCreators``) lists V1 and V3One creators, each with ``name``, ``plugin_version`` and
``plugin_namespace``, and is None when the binding caught an error; ``plugin_creator_list``
(``getPluginCreatorList``) lists V1 creators only, so edge's ``IPluginCreatorV3One`` creators appear in
``all_creators`` alone.
"""

from __future__ import annotations

from edge._lazy import lazy_import
from edge.doctor.core import FAIL, OK, SKIP, WARN, Check, Host
from edge.doctor.device import is_jetson

trt = lazy_import("tensorrt", feature="listing the plugin creators TensorRT registered")


def registry_creators(registry) -> list[tuple[str, str, str]]:
    """``(name, version, namespace)`` of every creator in TensorRT's registry, V1 and V3 alike."""
    creators = getattr(registry, "all_creators", None)
    if creators is None:  # TensorRT < 10 (no all_creators) or the binding reported an error
        creators = getattr(registry, "plugin_creator_list", None) or []
    return sorted((str(c.name), str(c.plugin_version), str(c.plugin_namespace)) for c in creators)


def probe_plugin_library(host: Host) -> Check:
    from edge.errors import PluginError
    from edge.trt import plugins as trtp
    from edge.trt.version import unavailable_reason

    try:
        path = trtp.library_path()
    except PluginError as e:
        tried = [ln.strip() for ln in str(e).splitlines()[1:] if ln.startswith("  ")]
        value = str(e).splitlines()[0].split(";")[0] + (f" (tried {', '.join(tried)})" if tried else "")
        return Check("TensorRT plugins", FAIL if is_jetson(host) else SKIP, value, trtp.BUILD_HINT)
    trt_reason = unavailable_reason()
    if trt_reason:
        return Check("TensorRT plugins", SKIP, f"{path} found; not loaded: {trt_reason}", None, {"path": str(path)})
    try:
        trtp.load(path)
    except PluginError as e:
        return Check("TensorRT plugins", FAIL, f"{path} does not load: {e}", trtp.BUILD_HINT, {"path": str(path)})
    edge_creators = [c for c in registry_creators(trt.get_plugin_registry()) if c[0].startswith("Edge")]
    listed = ", ".join(f"{n} v{v}" + (f" (namespace {ns!r})" if ns else "") for n, v, ns in edge_creators)
    return Check("TensorRT plugins", OK, f"{path}: {listed}", None,
                 {"path": str(path), "creators": [{"name": n, "version": v, "namespace": ns}
                                                  for n, v, ns in edge_creators]})


def probe_ref_library(host: Host) -> Check:
    from edge.errors import PluginError
    from edge.native import _lib

    try:
        lib = _lib.ref_library()
    except PluginError as e:
        return Check("CPU reference library", WARN, str(e).splitlines()[0],
                     f"{_lib.BUILD_HINT}; without it the plugins' CPU references and the fast CPU kernels are missing")
    return Check("CPU reference library", OK, f"{lib._name} (C ABI {_lib.REF_ABI_VERSION})", None,
                 {"path": lib._name})


def probe_native_kernel(host: Host) -> Check:
    """Which CPU kernel runs sample-interp: the native one of libedge_ref.so, or the PyTorch fallback."""
    from edge.native.info import kernel_info  # what `edge demo`'s header prints

    info = kernel_info()
    detail = {k: (str(v) if v is not None and k == "library" else v) for k, v in info.items()}
    if info["kernel"] == "native":
        return Check("CPU kernel", OK, info["summary"], None, detail)
    return Check("CPU kernel", WARN, info["summary"], info.get("fix"), detail)
