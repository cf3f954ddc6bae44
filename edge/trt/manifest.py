"""Engine manifests: the sidecar JSON that makes a TensorRT plan file self-describing.

``<engine>.json`` beside ``<engine>`` records: edge version, TensorRT and CUDA versions (JetPack's runtime,
the driver's, cuda-python's), the GPU (name, compute capability, SM count, total memory), the module
(``/proc/device-tree/model``), JetPack/L4T release, precision, input shapes, sha256 of the engine, the
ONNX, the plugin library and the calibration data, and the build options (edge.trt.identity probes them).

The GPU identity is compared by name, compute capability and SM count: every Orin module reports
"Orin"/8.7, but an AGX Orin (16 SMs) plan is refused on an Orin Nano (8 SMs). A GPU that could not be
probed (on the build machine, here, or both) is a mismatch that says why, never a silent match.

Before an engine is deserialised, ``check_manifest(engine_path)`` compares it with this machine and raises
ManifestError on a mismatch. The message always has the form (documented, tests match it)::

    engine <path> does not match this machine: <field> was <built> at build time but is <here> here[; ...].
    Rebuild the engine on this machine (edge build ...) or pass allow_mismatch=True (--allow-mismatch).

A truncated or modified engine (size/sha256 differ from the manifest) and a missing or unreadable manifest
raise ManifestError too, naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from edge import __version__
from edge.errors import ManifestError
from edge.io import write_json
from edge.trt.identity import L4T_TO_JETPACK, TEGRA_RELEASE, machine_info, read_l4t

__all__ = ["L4T_TO_JETPACK", "TEGRA_RELEASE", "check_manifest", "machine_info", "make_manifest", "manifest_path",
           "read_l4t", "read_manifest", "write_manifest"]
# fields of machine_info() a manifest records (identity.py says what each means)
MACHINE_FIELDS = ("tensorrt", "cuda_runtime", "cuda_driver", "cuda_bindings", "device", "compute_capability",
                  "sm_count", "total_memory_mb", "model", "l4t", "arch", "gpu_probe_error")

SCHEMA = 1


def manifest_path(engine_path: str | os.PathLike) -> Path:
    """``model.engine`` -> ``model.engine.json``."""
    p = Path(engine_path)
    return p.with_name(p.name + ".json")


def sha256_file(path: str | os.PathLike | None) -> str | None:
    if path is None:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_manifest(engine_path: str | os.PathLike, *, precision: str, shapes: dict | None = None,
                  onnx_path: str | os.PathLike | None = None, plugin_paths: list | None = None,
                  calib_sha256: str | None = None, options: dict | None = None,
                  machine: dict | None = None, extra: dict | None = None) -> dict[str, Any]:
    """The manifest of a just-built engine (hashes computed from the files)."""
    engine_path = Path(engine_path)
    m = machine if machine is not None else machine_info()
    return {
        "schema": SCHEMA, "edge_version": __version__, "engine": engine_path.name,
        "engine_bytes": engine_path.stat().st_size, "engine_sha256": sha256_file(engine_path),
        **{k: m.get(k) for k in MACHINE_FIELDS}, "precision": precision, "shapes": {k: [list(s) for s in v] for k, v in (shapes or {}).items()},
        "onnx": str(onnx_path) if onnx_path else None, "onnx_sha256": sha256_file(onnx_path),
        "plugins": [{"path": str(p), "sha256": sha256_file(p)} for p in (plugin_paths or [])],
        "calib_sha256": calib_sha256, "options": options or {}, **(extra or {}),
    }


def write_manifest(engine_path: str | os.PathLike, manifest: dict) -> Path:
    """Write ``<engine>.json`` atomically."""
    return write_json(manifest_path(engine_path), manifest)


def read_manifest(engine_path: str | os.PathLike) -> dict:
    """The manifest beside ``engine_path``; ManifestError when missing, truncated or not a manifest."""
    mp = manifest_path(engine_path)
    if not mp.exists():
        raise ManifestError(f"engine {engine_path} has no manifest ({mp} is missing). Rebuild it with `edge build` "
                            "or pass allow_mismatch=True (--allow-mismatch) to load it unchecked")
    try:
        data = json.loads(mp.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"manifest {mp} is not valid JSON (truncated or corrupted: {e}). Rebuild the engine "
                            "with `edge build`") from e
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or "engine_sha256" not in data:
        raise ManifestError(f"{mp} is not an edge engine manifest (schema {SCHEMA} expected). Rebuild the engine")
    return data


def check_manifest(engine_path: str | os.PathLike, allow_mismatch: bool = False, machine: dict | None = None,
                   plugin_paths: list | None = None) -> dict:
    """Check an engine against its manifest and this machine before deserialising it.

    Args:
        machine: None means ``machine_info()`` (pass a dict to check against another machine's facts).
        plugin_paths: the plugin libraries that will be loaded; their sha256 must equal the manifest's.
        allow_mismatch: report mismatches in ``manifest["mismatches"]`` instead of raising (the engine
            file itself must still exist).
    Returns:
        The manifest dict, with ``mismatches`` (a list of strings, empty when all matches).
    Raises:
        ManifestError with the documented message (module docstring).
    """
    engine_path = Path(engine_path)
    if not engine_path.exists():
        raise ManifestError(f"engine {engine_path} does not exist. Build it with `edge build`")
    if allow_mismatch and not manifest_path(engine_path).exists():
        return {"mismatches": ["no manifest"]}
    man = read_manifest(engine_path)
    problems = _engine_problems(engine_path, man)
    problems += _machine_problems(man, machine if machine is not None else machine_info())
    problems += _plugin_problems(man, plugin_paths)
    man["mismatches"] = problems
    if problems and not allow_mismatch:
        raise ManifestError(f"engine {engine_path} does not match this machine: {'; '.join(problems)}. Rebuild the "
                            "engine on this machine (edge build ...) or pass allow_mismatch=True (--allow-mismatch).")
    return man


def _engine_problems(engine_path: Path, man: dict) -> list[str]:
    size = engine_path.stat().st_size
    if size != man.get("engine_bytes"):
        return [(f"engine size was {man.get('engine_bytes')} bytes at build time but is {size} here "
                 "(truncated or replaced file)")]
    if sha256_file(engine_path) != man["engine_sha256"]:
        return [f"engine sha256 was {man['engine_sha256'][:12]}... at build time but differs here (modified file)"]
    return []


def _machine_problems(man: dict, here: dict) -> list[str]:
    out = []
    version_compatible = bool(man.get("options", {}).get("version_compatible"))
    built, now = man.get("tensorrt"), here.get("tensorrt")
    if version_compatible:
        if _major(built) != _major(now):
            out.append(f"TensorRT major version was {built} at build time but is {now} here")
    elif built != now:
        out.append(f"TensorRT version was {built} at build time but is {now} here")
    return out + _device_problems(man, here)


def _describe(m: dict) -> str:
    parts = [str(m.get("device")), f"{m.get('sm_count')} SMs" if m.get("sm_count") else None, m.get("model")]
    return ", ".join(p for p in parts if p)


def _device_problems(man: dict, here: dict) -> list[str]:
    """GPU identity: name, compute capability, SM count; a failed probe on either side is named."""
    built_ok, here_ok = man.get("device") is not None, here.get("device") is not None
    why_built = man.get("gpu_probe_error") or "no device recorded"
    why_here = here.get("gpu_probe_error") or "no device found"
    if not built_ok and not here_ok:
        return [(f"the GPU was probed neither at build time ({why_built}) nor here ({why_here}), so the engine's "
                 "device cannot be checked")]
    if not built_ok:
        return [(f"the GPU was not probed at build time ({why_built}), so this {_describe(here)} cannot be checked "
                 "against the engine's device")]
    if not here_ok:
        return [(f"this machine's GPU could not be probed ({why_here}), so the engine built for {_describe(man)} "
                 "cannot be checked")]
    out = []
    for key, what in (("device", "device"), ("compute_capability", "device compute capability")):
        if man.get(key) != here.get(key):
            out.append(f"{what} was {man.get(key)} at build time but is {here.get(key)} here")
    sm_built, sm_here = man.get("sm_count"), here.get("sm_count")
    if sm_built is not None and sm_here is not None and sm_built != sm_here:
        out.append(f"SM count was {sm_built} at build time but is {sm_here} here (built on {_describe(man)}; this "
                   f"is {_describe(here)}: a TensorRT plan is tuned for one device model)")
    return out


def _plugin_problems(man: dict, plugin_paths: list | None) -> list[str]:
    if plugin_paths is None:
        return []
    built = {Path(p["path"]).name: p["sha256"] for p in man.get("plugins", [])}
    out = []
    for p in plugin_paths:
        name, sha = Path(p).name, sha256_file(p) or ""
        if name in built and built[name] != sha:
            out.append(f"plugin library {name} sha256 was {built[name][:12]}... at build time but is {sha[:12]}... here")
    if built and not version_compatible_plugins(man) and not any(Path(p).name in built for p in plugin_paths):
        out.append(f"plugin library was {', '.join(built)} at build time but is "
                   f"{', '.join(Path(p).name for p in plugin_paths) or 'none'} here")
    return out


def version_compatible_plugins(man: dict) -> bool:
    """A version-compatible engine carries its plugin library inside (plugins_to_serialize)."""
    return bool(man.get("options", {}).get("version_compatible")) and bool(man.get("plugins"))


def _major(v: str | None) -> str | None:
    return v.split(".")[0] if v else None
