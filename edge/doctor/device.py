"""Probes of the board and its CUDA stack: L4T/JetPack release, module model, CUDA driver and toolkit, GPU.

Sources of every path and call (read, not guessed):

- ``/etc/nv_tegra_release`` ("# R36 (release), REVISION: 4.3, ...") and, without it (containers), the
  version of the ``nvidia-l4t-core`` package: jetson_stats ``jtop/core/jetson_variables.py``
  (``get_nvidia_l4t``: the file first, then ``dpkg-query --showformat=${Version} --show nvidia-l4t-core``;
  master f41d5ca).
- ``/proc/device-tree/model`` (the module name, NUL-terminated), with the same file under
  ``/sys/firmware/devicetree/base/model`` (what jetson_variables.py ``get_jetson_variables`` reads;
  /proc/device-tree links there), and ``/proc/device-tree/compatible`` ("nvidia,tegra234", ...; one of the
  RAW_FILES of the same module).
- The CUDA driver through ``libcuda.so.1`` with ctypes: ``cuDriverGetVersion``, ``cuInit``,
  ``cuGetErrorName``, ``cuDeviceGetCount``, ``cuDeviceGetName``, ``cuDeviceGetAttribute`` with
  ``CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR/MINOR`` = 75/76 and ``..._MULTIPROCESSOR_COUNT`` = 16
  (CUDA 13.0 ``include/cuda.h``). The driver is asked directly, so its answer does not depend on which
  CUDA runtime cuda-python or torch bundle.
- ``/proc/driver/nvidia/version`` ("NVRM version: ... Kernel Module  580.65.06 ..."): the loaded NVIDIA kernel
  module's version, as the CUDA Installation Guide for Linux ("Verify the Driver Version") reads it (dGPU
  and Thor; Orin's nvgpu driver has no such file). It shows the host's module inside containers too, so a
  container that sees it but no ``libcuda.so.1`` lacks GPU access (a FAIL, not a SKIP).
- The toolkit: ``/usr/local/cuda/version.json`` ({"cuda": {"version": "12.6.68"}}, CUDA 11.1+), else
  ``version.txt`` ("CUDA Version 10.2.89", older toolkits; jetson_stats ``jtop/core/jetson_libraries.py``
  ``get_cuda`` reads it), else ``CUDART_VERSION`` in ``/usr/local/cuda/include/cuda_runtime_api.h``.
"""

from __future__ import annotations

import ctypes
import json
import os
import re

from edge.doctor.core import FAIL, OK, SKIP, WARN, Check, Host

_CC_MAJOR, _CC_MINOR, _SM_COUNT = 75, 76, 16  # CUdevice_attribute values, CUDA include/cuda.h


# ------------------------------------------------------------------------------------------- identity
def l4t_release(host: Host) -> dict | None:
    """``{"l4t": "36.4.3", "jetpack": "6.2", "source": ...}`` (:func:`edge.trt.identity.read_l4t`) from the
    release file below the root or, without it, from the package version that ``host.run`` reports."""
    from edge.trt import identity

    def dpkg() -> str | None:
        res = host.run(["dpkg-query", "--showformat=${Version}", "--show", "nvidia-l4t-core"])  # as jtop asks
        return res.stdout.strip() or None if res is not None and res.returncode == 0 else None

    return identity.read_l4t(host.path("/etc/nv_tegra_release"), dpkg)


def module_model(host: Host) -> str | None:
    from edge.trt.identity import read_model

    return read_model(host.path("/proc/device-tree/model")) or read_model(
        host.path("/sys/firmware/devicetree/base/model"))


def is_jetson(host: Host) -> bool:
    """An L4T release, a Jetson model name or a Tegra device tree: the board checks apply."""
    def _detect() -> bool:
        model = (module_model(host) or "").lower()
        compat = (host.read("/proc/device-tree/compatible") or "").lower()
        return host.memo("l4t", lambda: l4t_release(host)) is not None or "jetson" in model or "nvidia,tegra" in compat
    return bool(host.memo("is_jetson", _detect))


def probe_l4t(host: Host) -> Check:
    rel = host.memo("l4t", lambda: l4t_release(host))
    if rel is None:
        if is_jetson(host):
            return Check("L4T release", WARN, "no /etc/nv_tegra_release and no nvidia-l4t-core package",
                         "in a container, mount /etc/nv_tegra_release read-only (-v /etc/nv_tegra_release:"
                         "/etc/nv_tegra_release:ro) or use an L4T base image (l4t-jetpack)")
        return Check("L4T release", SKIP, "not a Jetson (no /etc/nv_tegra_release, no nvidia-l4t-core package)")
    if rel["l4t"] is None:
        return Check("L4T release", WARN, f"unreadable release line: {rel.get('raw')!r}",
                     "report this line: the format differs from '# R36 (release), REVISION: 4.3, ...'", rel)
    jp = rel["jetpack"] or "JetPack release unknown to this edge"
    return Check("L4T release", OK, f"L4T {rel['l4t']} (JetPack {jp}) from {rel.get('source')}", None, rel)


def probe_model(host: Host) -> Check:
    model = module_model(host)
    if model:
        return Check("module", OK, model)
    if is_jetson(host):
        return Check("module", WARN, "no /proc/device-tree/model",
                     "in a container, the device tree is hidden: run with the NVIDIA runtime (--runtime nvidia)")
    return Check("module", SKIP, "no device tree model: not a Jetson")


# ------------------------------------------------------------------------------------------- CUDA driver
def cuda_driver(host: Host) -> dict:
    """What libcuda says: ``{"loaded", "version" (e.g. 12060), "init", "error", "devices": [...]}``."""
    return host.memo("cuda_driver", _ask_libcuda if host.live else lambda: dict(_NOT_ASKED))


#: what a recorded tree without recorded driver facts says (this machine's driver would be the wrong answer)
_NOT_ASKED = {"loaded": False, "recorded": True, "error": "not asked: probing a recorded tree"}


def _ask_libcuda() -> dict:
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        return {"loaded": False, "error": str(e)}  # "libcuda.so.1: cannot open shared object file: ..."
    out: dict = {"loaded": True, "path": getattr(lib, "_name", "libcuda.so.1"), "devices": []}
    v = ctypes.c_int(0)
    out["version"] = v.value if lib.cuDriverGetVersion(ctypes.byref(v)) == 0 else None
    rc = lib.cuInit(0)
    out["init"] = rc
    if rc != 0:
        name = ctypes.c_char_p()
        lib.cuGetErrorName(rc, ctypes.byref(name))
        out["error"] = f"cuInit returned {name.value.decode() if name.value else 'error'} ({rc})"
        return out
    n = ctypes.c_int(0)
    lib.cuDeviceGetCount(ctypes.byref(n))
    for i in range(n.value):
        dev, buf, attr = ctypes.c_int(0), ctypes.create_string_buffer(256), {}
        lib.cuDeviceGet(ctypes.byref(dev), i)
        lib.cuDeviceGetName(buf, 256, dev)
        for key, code in (("cc_major", _CC_MAJOR), ("cc_minor", _CC_MINOR), ("sm_count", _SM_COUNT)):
            a = ctypes.c_int(0)
            lib.cuDeviceGetAttribute(ctypes.byref(a), code, dev)
            attr[key] = a.value
        out["devices"].append({"name": buf.value.decode(errors="replace"), **attr})
    return out


def cuda_version_str(v: int | None) -> str | None:
    """12060 -> "12.6" (the encoding of cuDriverGetVersion / CUDART_VERSION: 1000*major + 10*minor)."""
    return None if v is None else f"{v // 1000}.{(v % 1000) // 10}"


def nvrm_version(host: Host) -> str | None:
    m = re.search(r"Kernel Module\s+([\d.]+)", host.read("/proc/driver/nvidia/version") or "")
    return m[1] if m else None


def gpu_expected(host: Host) -> bool:
    """A Jetson, or a machine with the NVIDIA kernel module loaded: a missing GPU is then a failure."""
    return is_jetson(host) or host.exists("/proc/driver/nvidia/version") or host.exists("/dev/nvidia0")


def probe_driver(host: Host) -> Check:
    drv = cuda_driver(host)
    nvrm = nvrm_version(host)
    if drv.get("recorded"):
        return Check("CUDA driver", SKIP, drv["error"])
    if not drv.get("loaded"):
        status = FAIL if gpu_expected(host) else SKIP
        fix = None
        if status == FAIL and is_jetson(host):
            fix = ("in a container, run with --runtime nvidia (NVIDIA Container Toolkit); on the board, reinstall "
                   "JetPack's CUDA driver (sudo apt install --reinstall nvidia-l4t-cuda)")
        elif status == FAIL:  # the host's kernel module is loaded (/dev/nvidia0 is its device node)
            fix = "in a container, run it with --gpus all (NVIDIA Container Toolkit); on the host, reinstall the driver"
        return Check("CUDA driver", status, f"no CUDA driver: {drv.get('error')}", fix)
    ver = cuda_version_str(drv.get("version"))
    value = f"CUDA {ver}" + (f", kernel module {nvrm}" if nvrm else "") + f" ({drv.get('path')})"
    return Check("CUDA driver", OK, value, None, {"cuda": ver, "nvrm": nvrm})


def toolkit_version(host: Host) -> tuple[str | None, str]:
    """(version, where it was read) of the CUDA toolkit under /usr/local/cuda."""
    text = host.read("/usr/local/cuda/version.json")
    if text:
        try:
            return json.loads(text)["cuda"]["version"], "/usr/local/cuda/version.json"
        except (ValueError, KeyError, TypeError):
            pass
    m = re.search(r"CUDA Version (\d+\.\d+(?:\.\d+)?)", host.read("/usr/local/cuda/version.txt") or "")
    if m:
        return m[1], "/usr/local/cuda/version.txt"
    m = re.search(r"#define\s+CUDART_VERSION\s+(\d+)", host.read("/usr/local/cuda/include/cuda_runtime_api.h") or "")
    if m:
        return cuda_version_str(int(m[1])), "/usr/local/cuda/include/cuda_runtime_api.h"
    return None, "/usr/local/cuda"


def probe_toolkit(host: Host) -> Check:
    """The CUDA toolkit below the root and, on this machine, the libcudart the loader finds (JetPack's CUDA
    runtime; :func:`edge.trt.identity.cuda_versions`)."""
    from edge.trt.identity import cuda_versions

    ver, where = toolkit_version(host)
    cudart = cuda_versions().get("cuda_runtime") if host.live else None
    lib = f"; libcudart {cudart}" if cudart else ""
    if ver is None:
        if is_jetson(host):
            return Check("CUDA runtime", WARN, f"no CUDA toolkit in /usr/local/cuda (nvcc builds the plugins){lib}",
                         "sudo apt install nvidia-jetpack (or cuda-toolkit-12-6 on JetPack 6)")
        return Check("CUDA runtime", SKIP, f"no CUDA toolkit in /usr/local/cuda{lib}")
    drv = cuda_driver(host).get("version")
    value = f"CUDA {ver} ({where}){lib}"
    detail = {"toolkit": ver, "libcudart": cudart}
    if drv and int(ver.split(".")[0]) > drv // 1000:
        return Check("CUDA runtime", WARN, value + f"; newer than the driver's CUDA {cuda_version_str(drv)}",
                     "kernels built with this nvcc will not load: use the toolkit of the JetPack release", detail)
    return Check("CUDA runtime", OK, value, None, detail)


# ------------------------------------------------------------------------------------------- GPU usable
def gpu_problem(host: Host) -> tuple[str | None, str | None]:
    """(reason the GPU is unusable or None, fix) from the driver, then from cuda-python's runtime."""
    drv = cuda_driver(host)
    if not drv.get("loaded"):
        return f"no CUDA driver: {drv.get('error')}", None
    if drv.get("init") not in (0, None):
        fix = "see `sudo dmesg | grep -iE 'nvgpu|nvrm'`"
        if is_jetson(host) and os.getuid() != 0 and not _in_group("video"):
            fix = "add the user to the video and render groups: sudo usermod -aG video,render $USER; log in again"
        return f"the CUDA driver refuses to start: {drv.get('error')}", fix
    if not drv.get("devices"):
        return "the CUDA driver reports no device", "check that the GPU is enabled (nvpmodel) and visible"
    from edge.doctor import stack

    st = stack.cuda_status(host)  # cuda-python's runtime: what the TensorRT runner uses
    if st is not None and not st.usable:
        return f"the driver works but cuda-python's CUDA does not: {st.reason}", st.fix
    return None, None


def _in_group(name: str) -> bool:
    import grp

    try:
        return grp.getgrnam(name).gr_gid in os.getgroups()
    except KeyError:
        return False


def probe_gpu(host: Host) -> Check:
    if cuda_driver(host).get("recorded"):
        return Check("GPU", SKIP, cuda_driver(host)["error"])
    reason, fix = gpu_problem(host)
    if reason is None:
        devs = cuda_driver(host)["devices"]
        d = devs[0]
        return Check("GPU", OK, f"{d['name']} (sm_{d['cc_major']}{d['cc_minor']}, {d['sm_count']} SMs); "
                     f"{len(devs)} device(s)", None, {"devices": devs})
    if not gpu_expected(host) and not cuda_driver(host).get("loaded"):
        return Check("GPU", SKIP, f"no NVIDIA GPU here ({reason})")
    return Check("GPU", FAIL, f"unusable: {reason}", fix or "see the CUDA driver line above")
