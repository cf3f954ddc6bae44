"""Engine manifests: the sidecar JSON that makes a TensorRT plan file self-describing.

``<engine>.json`` beside ``<engine>`` records: edge version, TensorRT and CUDA versions, device name and
compute capability, JetPack/L4T release (``/etc/nv_tegra_release``), precision, input shapes, sha256 of the
engine, the ONNX, the plugin library and the calibration data, and the build options.

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
import platform
import re
from pathlib import Path
from typing import Any

from edge import __version__
from edge.errors import ManifestError
from edge.io import write_json

SCHEMA = 1
TEGRA_RELEASE = Path("/etc/nv_tegra_release")
# L4T major.minor -> JetPack release (NVIDIA's JetPack archive)
L4T_TO_JETPACK = {"35.3": "5.1.1", "35.4": "5.1.2", "35.5": "5.1.3", "35.6": "5.1.4", "36.2": "6.0 DP",
                  "36.3": "6.0", "36.4": "6.1/6.2", "38.2": "7.0", "38.3": "7.1"}


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


def read_l4t(path: Path = TEGRA_RELEASE) -> dict | None:
    """``{"l4t": "36.4.0", "jetpack": "6.1/6.2", "board": ...}`` from /etc/nv_tegra_release, or None off-Jetson."""
    try:
        text = path.read_text()
    except OSError:
        return None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    if not m:
        return {"l4t": None, "raw": text.strip()[:200]}
    l4t = f"{m.group(1)}.{m.group(2)}"
    board = re.search(r"BOARD:\s*([\w-]+)", text)
    return {"l4t": l4t, "jetpack": L4T_TO_JETPACK.get(".".join(l4t.split(".")[:2])),
            "board": board.group(1) if board else None}


def machine_info() -> dict[str, Any]:
    """What this machine offers: TensorRT/CUDA versions, device name + compute capability, L4T release.

    Missing pieces (no TensorRT, no GPU) are None: a manifest built on a Jetson then mismatches here.
    """
    info: dict[str, Any] = {"tensorrt": None, "cuda_runtime": None, "device": None, "compute_capability": None,
                            "l4t": read_l4t(), "arch": platform.machine()}
    try:
        import tensorrt as trt

        info["tensorrt"] = getattr(trt, "__version__", None)
    except Exception:  # noqa: BLE001 - absent or broken: recorded as None
        pass
    info.update(_cuda_device())
    return info


def _cuda_device() -> dict[str, Any]:
    try:
        from cuda.bindings import runtime as cudart
    except Exception:  # noqa: BLE001
        return {}
    out: dict[str, Any] = {}
    try:
        err, ver = cudart.cudaRuntimeGetVersion()
        if int(err) == 0:
            out["cuda_runtime"] = f"{ver // 1000}.{(ver % 1000) // 10}"
        err, props = cudart.cudaGetDeviceProperties(0)
        if int(err) == 0:
            name = props.name
            out["device"] = (name.decode() if isinstance(name, bytes) else str(name)).rstrip("\x00")
            out["compute_capability"] = f"{props.major}.{props.minor}"
    except Exception:  # noqa: BLE001 - no driver: device stays None
        pass
    return out


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
        "tensorrt": m.get("tensorrt"), "cuda_runtime": m.get("cuda_runtime"), "device": m.get("device"),
        "compute_capability": m.get("compute_capability"), "l4t": m.get("l4t"), "arch": m.get("arch"),
        "precision": precision, "shapes": {k: [list(s) for s in v] for k, v in (shapes or {}).items()},
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
        return [f"engine size was {man.get('engine_bytes')} bytes at build time but is {size} here "
                "(truncated or replaced file)"]
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
    for key, what in (("compute_capability", "device compute capability"), ("device", "device")):
        if man.get(key) != here.get(key):
            out.append(f"{what} was {man.get(key)} at build time but is {here.get(key)} here")
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
