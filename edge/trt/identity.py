"""What machine is this: the facts an engine manifest records and compares (``machine_info()``).

- GPU: CUDA device name, compute capability, SM count and total memory (``cudaGetDeviceProperties``
  through cuda-python). Every Orin module reports "Orin"/8.7, so the SM count (AGX Orin 16, Orin NX and
  Nano 8, Orin Nano 4GB 4) is what tells them apart; TensorRT warns against running a plan on another
  device model. When the probe fails, ``gpu_probe_error`` says why (``edge.core.cuda.gpu_status``).
- Module: ``/proc/device-tree/model`` (for example "NVIDIA Jetson AGX Orin Developer Kit").
- CUDA: ``cuda_runtime`` is the CUDA runtime installed on the system (JetPack's ``libcudart``, the one
  TensorRT uses), ``cuda_driver`` the CUDA version the driver supports; ``cuda_bindings`` is cuda-python's
  own version (its statically linked runtime is not JetPack's CUDA).
- JetPack/L4T: ``/etc/nv_tegra_release``, or ``dpkg-query -W nvidia-l4t-core`` in containers that lack the
  file (as jetson_stats does), mapped to the JetPack release with jetson_stats' table.
"""

from __future__ import annotations

import ctypes
import platform
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

TEGRA_RELEASE = Path("/etc/nv_tegra_release")
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")
CUDART_NAMES = ("libcudart.so", "libcudart.so.13", "libcudart.so.12", "/usr/local/cuda/lib64/libcudart.so")
# L4T release -> JetPack, from rbonghi/jetson_stats jtop/core/jetson_variables.py (NVIDIA_JETPACK, f41d5cad)
L4T_TO_JETPACK = {
    "39.2.0": "7.2", "39.0.0": "7.2 EA", "38.4.0": "7.1", "38.2.2": "7.0", "38.2.1": "7.0", "38.2.0": "7.0",
    "36.5.0": "6.2.2", "36.4.7": "6.2.1", "36.4.4": "6.2.1", "36.4.3": "6.2", "36.4.2": "6.1 (rev1)",
    "36.4.0": "6.1", "36.3.0": "6.0", "36.2.0": "6.0 DP", "36.0.0": "6.0 EA",
    "35.6.4": "5.1.6", "35.6.3": "5.1.5", "35.6.2": "5.1.5", "35.6.1": "5.1.5", "35.6.0": "5.1.4",
    "35.5.0": "5.1.3", "35.4.1": "5.1.2", "35.3.1": "5.1.1", "35.2.1": "5.1", "35.1.0": "5.0.2",
}
L4T_SERIES = {"39": "7.2", "38.4": "7.1", "38.2": "7.0", "36.5": "6.2.2"}  # releases the table does not list yet


def jetpack_of(l4t: str | None) -> str | None:
    """The JetPack release of an L4T version ("36.4.3" -> "6.2"), or None when unknown."""
    if not l4t:
        return None
    if l4t in L4T_TO_JETPACK:
        return L4T_TO_JETPACK[l4t]
    parts = l4t.split(".")
    return L4T_SERIES.get(".".join(parts[:2])) or L4T_SERIES.get(parts[0])


def _dpkg_l4t_core() -> str | None:
    """``nvidia-l4t-core``'s version ("36.4.3-20250107174145"), or None without dpkg or the package."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "nvidia-l4t-core"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def read_l4t(path: Path = TEGRA_RELEASE, dpkg: Callable[[], str | None] = _dpkg_l4t_core) -> dict | None:
    """``{"l4t": "36.4.3", "jetpack": "6.2", "board": ..., "source": ...}``, or None off-Jetson.

    Reads ``path`` (/etc/nv_tegra_release: "# R36 (release), REVISION: 4.3, ..."); without it, the version of
    the ``nvidia-l4t-core`` package (containers built on l4t-base have the package but not the file).
    """
    try:
        text = path.read_text()
    except OSError:
        version = dpkg()
        if not version:
            return None
        l4t = version.split("-")[0].strip("'")
        return {"l4t": l4t, "jetpack": jetpack_of(l4t), "board": None, "source": "dpkg nvidia-l4t-core"}
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    if not m:
        return {"l4t": None, "raw": text.strip()[:200]}
    l4t = f"{m.group(1)}.{m.group(2)}"
    board = re.search(r"BOARD:\s*([\w-]+)", text)
    return {"l4t": l4t, "jetpack": jetpack_of(l4t), "board": board.group(1) if board else None, "source": str(path)}


def read_model(path: Path = DEVICE_TREE_MODEL) -> str | None:
    """The board's model string from the device tree (NUL-terminated), or None where there is none."""
    try:
        return path.read_bytes().rstrip(b"\x00").decode(errors="replace").strip() or None
    except OSError:
        return None


def _version(v: int) -> str | None:
    return f"{v // 1000}.{(v % 1000) // 10}" if v > 0 else None


def cuda_versions(names: tuple[str, ...] = CUDART_NAMES, load: Callable[[str], Any] = ctypes.CDLL) -> dict:
    """``{"cuda_runtime", "cuda_driver"}`` from the system's libcudart (JetPack's CUDA): both calls work
    without a GPU; the driver version is None when no driver is loaded. None for both without libcudart."""
    for name in names:
        try:
            lib = load(name)
        except OSError:
            continue
        run, drv = ctypes.c_int(0), ctypes.c_int(0)
        ok = lib.cudaRuntimeGetVersion(ctypes.pointer(run)) == 0
        lib.cudaDriverGetVersion(ctypes.pointer(drv))
        return {"cuda_runtime": _version(run.value) if ok else None, "cuda_driver": _version(drv.value)}
    return {"cuda_runtime": None, "cuda_driver": None}


def cuda_device(rt: Any = None) -> dict[str, Any]:
    """Device 0's name, compute capability, SM count and total memory, or ``gpu_probe_error`` saying why not."""
    from edge.core.cuda import gpu_status

    st = gpu_status(rt) if rt is not None else gpu_status()
    out: dict[str, Any] = {"cuda_bindings": st.bindings, "cuda_driver": st.driver_cuda}
    if not st.usable:
        return {**out, "gpu_probe_error": f"{st.reason} (fix: {st.fix})"}
    if rt is None:
        from edge.core.cuda import CudaPythonApi

        rt = CudaPythonApi().rt
    err, props = rt.cudaGetDeviceProperties(0)
    if int(err) != 0:
        return {**out, "gpu_probe_error": f"cudaGetDeviceProperties(0) failed: {getattr(err, 'name', err)}"}
    name = props.name
    return {**out, "device": (name.decode() if isinstance(name, bytes) else str(name)).rstrip("\x00"),
            "compute_capability": f"{props.major}.{props.minor}", "sm_count": int(props.multiProcessorCount),
            "total_memory_mb": int(props.totalGlobalMem) >> 20}


def machine_info() -> dict[str, Any]:
    """This machine's facts (module docstring). A probe that fails leaves its fields None and says why."""
    info: dict[str, Any] = {"tensorrt": None, "device": None, "compute_capability": None, "sm_count": None,
                            "total_memory_mb": None, "model": read_model(), "l4t": read_l4t(),
                            "arch": platform.machine(), "gpu_probe_error": None}
    try:
        import tensorrt as trt

        info["tensorrt"] = getattr(trt, "__version__", None)
    except Exception:  # noqa: BLE001 - absent or broken: recorded as None
        pass
    info.update(cuda_versions())
    device = cuda_device()
    if device.get("cuda_driver") and not info["cuda_driver"]:
        info["cuda_driver"] = device["cuda_driver"]
    device.pop("cuda_driver", None)
    info.update(device)
    return info
