"""The environment record that travels with every benchmark result.

Timings mean nothing without the machine that produced them: CPU model and core count, GPU (when a
CUDA device is present), the Jetson model and L4T release, versions of every runtime that could have run
the model, the edge version, and the command line.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from edge import __version__

# distribution name -> key in the record; missing ones are recorded as None, never guessed.
_PACKAGES = {
    "torch": "torch", "onnx": "onnx", "onnxruntime": "onnxruntime", "onnxruntime-gpu": "onnxruntime_gpu",
    "tensorrt": "tensorrt", "cuda-python": "cuda_python", "opencv-python-headless": "opencv",
    "opencv-python": "opencv_python", "numpy": "numpy", "jetson-stats": "jetson_stats",
}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key = line.split(":")[0].strip().lower()
                if key in ("model name", "hardware", "cpu model"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def jetson_info() -> dict | None:
    """Jetson module and L4T release from the device tree and /etc/nv_tegra_release; None elsewhere."""
    model = _read("/proc/device-tree/model")
    release = _read("/etc/nv_tegra_release")
    if not release and not (model and "jetson" in model.lower()):
        return None
    return {"model": model, "l4t_release": release.splitlines()[0] if release else None}


def gpu_info() -> dict | None:
    """Name, compute capability and total memory of CUDA device 0 via cuda-python; None without a GPU."""
    try:
        from cuda.bindings import runtime as cudart

        err, prop = cudart.cudaGetDeviceProperties(0)
        if int(err) != 0:
            return None
        err_d, drv = cudart.cudaDriverGetVersion()
        name = prop.name.decode() if isinstance(prop.name, bytes) else str(prop.name)
        return {"name": name.rstrip("\x00"), "compute_capability": f"{prop.major}.{prop.minor}",
                "total_memory_mb": prop.totalGlobalMem / 2**20, "integrated": bool(prop.integrated),
                "driver_version": drv if int(err_d) == 0 else None}
    except Exception:  # no cuda-python, no driver, no device: all mean "no GPU here"
        return None


def package_versions() -> dict:
    out = {}
    for dist, key in _PACKAGES.items():
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = None
    return out


def environment(command: list[str] | str | None = None) -> dict:
    """The environment record: host, CPU, GPU, Jetson, versions, edge version and the command.

    Args:
        command: the command line that produced the result (None: this process's ``sys.argv``).
    """
    if command is None:
        command = [os.path.basename(sys.argv[0])] + sys.argv[1:]
    return {
        "hostname": platform.node(), "os": platform.platform(), "machine": platform.machine(),
        "cpu": cpu_model(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "edge_version": __version__, "packages": package_versions(), "gpu": gpu_info(),
        "jetson": jetson_info(), "command": command if isinstance(command, str) else " ".join(command),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace").strip("\x00\n ")
    except OSError:
        return None


__all__ = ["cpu_model", "environment", "gpu_info", "jetson_info", "package_versions"]
