"""Probes of the Python stack: TensorRT, cuda-python / pycuda, torch, ONNX Runtime and OpenCV.

These describe the interpreter running the doctor (not ``host.root``). Sources:

- cuda-python's driver requirement: the cuda-bindings installation pages, "Runtime Requirements":
  13.x needs "Driver: Linux (580.65.06 or later)" (a driver for CUDA 13.0), 12.x "525.60.13 or later"
  (CUDA 12.0). cuda-bindings links its CUDA runtime statically, so a 13.x binding on JetPack 6's CUDA 12.6
  driver fails every runtime call with cudaErrorInsufficientDriver (35). The rule checked here: the
  bindings' major version must not exceed the driver's CUDA major version (``cuDriverGetVersion``).
- OpenCV's build: ``cv2.getBuildInformation()``, the "Video I/O:" block that opencv/opencv CMakeLists.txt
  prints with ``status("    GStreamer:" ...)`` ("YES (1.20.3)"/"NO"; OpenCV 3 printed an empty value and
  ``base: YES (ver ...)`` lines under it) and ``status("    v4l/v4l2:" ...)`` ("YES (linux/videodev2.h)").
- ONNX Runtime's execution providers: ``onnxruntime.get_available_providers()``.
"""

from __future__ import annotations

import importlib
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

from edge.doctor.core import FAIL, OK, SKIP, WARN, Check, Host
from edge.doctor.device import cuda_driver, cuda_version_str, gpu_expected, is_jetson

VENV_HINT = ("`make jetson-install` makes a venv with --system-site-packages, so that JetPack's packages stay "
             "visible (README: On a Jetson)")
#: JetPack's OpenCV and NVIDIA's torch are built against numpy 1.x; a pip OpenCV brings numpy 2 and shadows them
CV2_FIX = ("pip uninstall opencv-python opencv-python-headless; pip install 'numpy<2'; sudo apt-get install "
           "python3-opencv (JetPack's OpenCV, built with GStreamer)")


def dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _missing_status(host: Host) -> str:
    """FAIL on a Jetson (JetPack brings it), WARN where a GPU is expected, SKIP on a machine with no GPU."""
    return FAIL if is_jetson(host) else (WARN if gpu_expected(host) else SKIP)


# ------------------------------------------------------------------------------------------- Python
def venv_state(prefix: str, base_prefix: str) -> tuple[bool, bool | None]:
    """(in a virtual environment, whether it sees the system site-packages or None when unknown), from the
    ``include-system-site-packages`` key of ``<prefix>/pyvenv.cfg`` (PEP 405; Python docs, venv module)."""
    if prefix == base_prefix:
        return False, None
    try:
        text = (Path(prefix) / "pyvenv.cfg").read_text()
    except OSError:
        return True, None
    m = re.search(r"^\s*include-system-site-packages\s*=\s*(\w+)", text, re.MULTILINE)
    return True, (m[1].lower() == "true") if m else None


def probe_python(host: Host) -> Check:
    venv, system_site = venv_state(sys.prefix, sys.base_prefix)
    where = ("" if not venv else ", venv with the system site-packages" if system_site else
             ", venv without the system site-packages" if system_site is False else ", venv")
    value = f"Python {platform.python_version()} ({sys.executable}){where}, numpy {dist_version('numpy')}"
    if venv and system_site is False and is_jetson(host):
        return Check("Python", WARN, value + ": JetPack's TensorRT, OpenCV and torch are hidden from it",
                     VENV_HINT, {"venv": venv, "system_site_packages": system_site})
    return Check("Python", OK, value, None, {"venv": venv, "system_site_packages": system_site})


# ------------------------------------------------------------------------------------------- TensorRT
def probe_tensorrt(host: Host) -> Check:
    from edge.trt.version import unavailable_reason

    reason = unavailable_reason()
    if reason:
        return Check("TensorRT", _missing_status(host), reason,
                     f"on a Jetson: sudo apt install python3-libnvinfer; {VENV_HINT}. Elsewhere: NVIDIA's TensorRT "
                     "wheel for the machine's CUDA")
    import tensorrt as trt

    return Check("TensorRT", OK, f"TensorRT {trt.__version__} ({trt.__file__})", None, {"version": trt.__version__})


# ------------------------------------------------------------------------------------------- cuda-python
def cuda_status(host: Host):
    """:func:`edge.core.cuda.gpu_status` of this machine (a ``GpuStatus``); a recorded tree gives
    None unless its facts hold one under ``"gpu_status"``."""
    def _ask():
        from edge.core.cuda import gpu_status

        return gpu_status()
    return host.memo("gpu_status", _ask if host.live else lambda: None)


def _major(version: str) -> int:
    return int(version.split(".")[0])


def probe_cuda_python(host: Host) -> Check:
    cp, cb, pyc = dist_version("cuda-python"), dist_version("cuda-bindings"), dist_version("pycuda")
    drv = cuda_driver(host)
    st = cuda_status(host) if (cp or cb) else None
    parts = [f"cuda-python {cp}" if cp else "cuda-python not installed"]
    if cb and cb != cp:
        parts.append(f"cuda-bindings {cb}")
    parts.append(f"pycuda {pyc}" if pyc else "pycuda not installed")
    runtime = getattr(st, "runtime_cuda", None)
    if runtime:
        parts.append(f"its CUDA runtime {runtime}")
    value = ", ".join(parts)
    detail = {"cuda_python": cp, "cuda_bindings": cb, "pycuda": pyc, "runtime_cuda": runtime}
    if not (cp or cb or pyc):
        return Check("cuda-python", _missing_status(host), value + " (the TensorRT runner needs one of them)",
                     "pip install 'edge[trt]' with the cuda-python of the driver's CUDA major version (on a Jetson "
                     "`make jetson-install`: constraints/jetpack6.txt or jetpack7.txt pin it)", detail)
    driver = cuda_version_str(drv.get("version")) if drv.get("loaded") else None
    if driver is None:
        return Check("cuda-python", SKIP, f"{value}; no CUDA driver to check the major version against", None, detail)
    if (cp or cb) and st is None:
        return Check("cuda-python", SKIP, f"{value}; its runtime was not asked (a recorded tree)", None, detail)
    if st is not None and runtime is None and not st.usable:  # the bindings do not import or do not answer
        return Check("cuda-python", FAIL, f"{value}: {st.reason}", st.fix, detail)
    if runtime and _major(runtime) > _major(driver):
        # cuda-bindings 13.x "Driver: Linux (580.65.06 or later)"; 12.x "525.60.13 or later" (install pages)
        return Check("cuda-python", FAIL, f"{value}: {getattr(st, 'reason', None) or 'runtime newer than the driver'}",
                     getattr(st, "fix", None) or f"pip install 'cuda-python=={driver}.*'", detail)
    if not (cp or cb):
        return Check("cuda-python", OK, f"{value}; pycuda is built against this machine's CUDA", None, detail)
    return Check("cuda-python", OK, f"{value}; the driver's CUDA {driver} runs it", None, detail)


# ------------------------------------------------------------------------------------------- torch
def probe_torch(host: Host) -> Check:
    try:
        torch = importlib.import_module("torch")
    except Exception as e:  # noqa: BLE001 - an import that fails (ABI, numpy) is the finding
        return Check("torch", FAIL, f"does not import: {type(e).__name__}: {e}",
                     "reinstall torch (on a Jetson: NVIDIA's wheel for the JetPack release)")
    cuda = torch.version.cuda
    detail = {"version": torch.__version__, "cuda": cuda}
    if cuda is None:
        value = f"torch {torch.__version__}, CPU-only build"
        if is_jetson(host):
            return Check("torch", WARN, value, "install NVIDIA's torch wheel for this JetPack release (the PyPI "
                         f"aarch64 wheel has no Jetson CUDA); {VENV_HINT}", detail)
        return Check("torch", OK, value, None, detail)
    avail = bool(torch.cuda.is_available())
    detail["cuda_available"] = avail
    value = f"torch {torch.__version__}, built for CUDA {cuda}, GPU {'usable' if avail else 'not usable'}"
    if not avail and (is_jetson(host) or gpu_expected(host)):
        drv = cuda_driver(host).get("version")
        why = f" (the driver supports CUDA {cuda_version_str(drv)})" if drv else ""
        return Check("torch", WARN, value + why, "use a torch built for the driver's CUDA (NVIDIA's JetPack wheel)",
                     detail)
    return Check("torch", OK, value, None, detail)


# ------------------------------------------------------------------------------------------- ONNX Runtime
def probe_onnxruntime(host: Host) -> Check:
    cpu, gpu = dist_version("onnxruntime"), dist_version("onnxruntime-gpu")
    if not (cpu or gpu):
        try:
            importlib.import_module("onnxruntime")  # JetPack images may ship it without pip metadata
        except ImportError:
            return Check("onnxruntime", SKIP, "not installed", "pip install 'edge[onnx]' (on a Jetson: an "
                         "onnxruntime-gpu wheel built for JetPack)")
    ort = importlib.import_module("onnxruntime")
    providers = list(ort.get_available_providers())
    value = f"onnxruntime {ort.__version__}, providers {', '.join(providers)}"
    detail = {"onnxruntime": cpu, "onnxruntime_gpu": gpu, "providers": providers}
    if cpu and gpu:
        return Check("onnxruntime", WARN, value + f" (both onnxruntime {cpu} and onnxruntime-gpu {gpu} installed)",
                     "the two share one module and the last one installed wins: pip uninstall -y onnxruntime, "
                     "then reinstall onnxruntime-gpu", detail)
    if is_jetson(host) and "CUDAExecutionProvider" not in providers:
        return Check("onnxruntime", WARN, value + " (no CUDA provider: ONNX Runtime runs on the CPU)",
                     "install an onnxruntime-gpu wheel built for this JetPack release", detail)
    return Check("onnxruntime", OK, value, None, detail)


# ------------------------------------------------------------------------------------------- OpenCV
def parse_videoio(build_info: str) -> dict[str, str]:
    """The "Video I/O:" block of ``cv2.getBuildInformation()`` as ``{"GStreamer": "YES (1.20.3)", ...}``."""
    out: dict[str, str] = {}
    inside, parent = False, None
    for line in build_info.splitlines():
        if re.match(r"^\s{2}Video I/O:", line):
            inside = True
            continue
        if not inside:
            continue
        if re.match(r"^\s{0,3}\S", line):  # the next top-level section
            break
        m = re.match(r"^(\s+)([^:]+):\s*(.*)$", line)
        if not m:
            continue
        depth, key, val = len(m[1]), m[2].strip(), m[3].strip()
        if depth <= 4:
            out[key], parent = val, key
        elif parent and not out.get(parent) and val.startswith("YES"):
            out[parent] = f"YES ({key} {val[3:].strip(' ()')})"  # OpenCV 3: "GStreamer:" then "base: YES (ver ..)"
    return out


def probe_opencv(host: Host) -> Check:
    try:
        cv2 = importlib.import_module("cv2")
    except ImportError:
        return Check("OpenCV", SKIP, "not installed", "pip install 'edge[vision]'; on a Jetson: sudo apt-get install "
                     f"python3-opencv (built with GStreamer); {VENV_HINT}")
    except Exception as e:  # noqa: BLE001 - e.g. "_ARRAY_API not found" (numpy ABI)
        return Check("OpenCV", FAIL, f"does not import: {type(e).__name__}: {e}",
                     f"an OpenCV built for another numpy (\"_ARRAY_API not found\": numpy 2 under a numpy-1 build): {CV2_FIX}")
    vio = parse_videoio(cv2.getBuildInformation())
    gst, v4l = vio.get("GStreamer", "NO") or "NO", vio.get("v4l/v4l2", "NO") or "NO"
    value = f"OpenCV {cv2.__version__} ({cv2.__file__}): GStreamer {gst}, V4L2 {v4l}, FFMPEG {vio.get('FFMPEG', 'NO')}"
    detail = {"version": cv2.__version__, "path": cv2.__file__, "videoio": vio}
    if not gst.startswith("YES") and is_jetson(host):
        return Check("OpenCV", WARN, value, f"csi:// and hardware RTSP need GStreamer: {CV2_FIX}; {VENV_HINT}",
                     detail)
    return Check("OpenCV", OK, value, None, detail)
