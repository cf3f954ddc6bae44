"""A small device-memory layer for the TensorRT runner: over cuda-python, or over pycuda.

Only what a runner needs: device buffers (``malloc``/``free``), page-locked host buffers exposed as
numpy arrays (so copies are truly asynchronous), async host<->device copies on a stream, stream
synchronisation, events for device-side timing and, with cuda-python, CUDA-graph capture/replay.

``cuda_api(None)`` picks cuda-python (``cuda.bindings.runtime``; NVIDIA's own TensorRT samples use it),
else pycuda when that is what the user has installed. Every CUDA error becomes RuntimeBackendError
naming the call; on a machine with no GPU/driver the first call fails with ``cudaErrorInsufficientDriver``
(or ``cudaErrorNoDevice``); ``gpu_status()`` says why with the real cause (for example a cuda-python 13
whose runtime needs a newer driver than JetPack 6's CUDA 12.6) and the fix.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge._lazy import has_module
from edge.errors import DependencyError, RuntimeBackendError


class CudaApi(abc.ABC):
    """Interface of the device-memory layer; pointers are plain ints, streams/events the library's objects."""

    name = "?"

    @abc.abstractmethod
    def malloc(self, nbytes: int) -> int: ...

    @abc.abstractmethod
    def free(self, ptr: int) -> None: ...

    @abc.abstractmethod
    def host_empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray: ...

    @abc.abstractmethod
    def host_free(self, arr: np.ndarray) -> None: ...

    @abc.abstractmethod
    def htod_async(self, dst: int, src: np.ndarray, stream: Any) -> None: ...

    @abc.abstractmethod
    def dtoh_async(self, dst: np.ndarray, src: int, stream: Any) -> None: ...

    @abc.abstractmethod
    def stream_create(self) -> Any: ...

    @abc.abstractmethod
    def stream_destroy(self, stream: Any) -> None: ...

    @abc.abstractmethod
    def stream_handle(self, stream: Any) -> int: ...

    @abc.abstractmethod
    def stream_synchronize(self, stream: Any) -> None: ...

    @abc.abstractmethod
    def event_create(self) -> Any: ...

    @abc.abstractmethod
    def event_record(self, event: Any, stream: Any) -> None: ...

    @abc.abstractmethod
    def event_elapsed_ms(self, start: Any, end: Any) -> float: ...

    def graph_capture_begin(self, stream: Any) -> None:
        raise RuntimeBackendError(f"CUDA-graph capture is not available with {self.name}; install cuda-python")

    def graph_capture_end(self, stream: Any) -> Any:
        raise NotImplementedError
    def graph_launch(self, graph: Any, stream: Any) -> None: ...
    def graph_destroy(self, graph: Any) -> None: ...


class CudaPythonApi(CudaApi):
    """``cuda.bindings.runtime`` (cuda-python >= 12.6; older releases expose it as ``cuda.cudart``).

    Threads: the CUDA runtime API makes the primary context of the calling thread's current device (device
    0 unless ``cudaSetDevice``) current implicitly, on every thread (CUDA Runtime API reference, "Interactions
    with the CUDA Driver API": the runtime uses the device's primary context). So buffers allocated on the
    main thread, copies from the ``edge-infer`` thread, TensorRT's enqueue and ``edge.bench.gpu``'s
    cudaMemGetInfo all use one context: nothing to push here (unlike pycuda, see PyCudaApi).
    """

    name = "cuda-python"

    def __init__(self):
        try:
            from cuda.bindings import runtime as rt
        except ImportError:
            from cuda import cudart as rt  # cuda-python < 12.6
        self.rt = rt
        self._host: dict[int, int] = {}  # id(array) -> pinned pointer

    def _check(self, result, call: str):
        err, *rest = result if isinstance(result, tuple) else (result,)
        if int(err) != 0:
            raise RuntimeBackendError(f"CUDA call {call} failed: {err}")
        return rest[0] if len(rest) == 1 else (tuple(rest) if rest else None)

    def malloc(self, nbytes: int) -> int:
        return int(self._check(self.rt.cudaMalloc(max(int(nbytes), 1)), "cudaMalloc"))

    def free(self, ptr: int) -> None:
        self._check(self.rt.cudaFree(ptr), "cudaFree")

    def host_empty(self, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = max(int(np.prod(shape)) * dtype.itemsize, 1)
        ptr = int(self._check(self.rt.cudaMallocHost(nbytes), "cudaMallocHost"))
        buf = (ctypes.c_byte * nbytes).from_address(ptr)
        arr = np.frombuffer(buf, dtype=np.uint8, count=int(np.prod(shape)) * dtype.itemsize)
        arr = arr.view(dtype).reshape(shape)
        self._host[id(arr)] = ptr
        return arr

    def host_free(self, arr: np.ndarray) -> None:
        ptr = self._host.pop(id(arr), None)
        if ptr is not None:
            self._check(self.rt.cudaFreeHost(ptr), "cudaFreeHost")

    def htod_async(self, dst: int, src: np.ndarray, stream) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._check(self.rt.cudaMemcpyAsync(dst, src.ctypes.data, src.nbytes, kind, stream), "cudaMemcpyAsync(H2D)")

    def dtoh_async(self, dst: np.ndarray, src: int, stream) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._check(self.rt.cudaMemcpyAsync(dst.ctypes.data, src, dst.nbytes, kind, stream), "cudaMemcpyAsync(D2H)")

    def stream_create(self):
        return self._check(self.rt.cudaStreamCreate(), "cudaStreamCreate")

    def stream_destroy(self, stream) -> None:
        self._check(self.rt.cudaStreamDestroy(stream), "cudaStreamDestroy")

    def stream_handle(self, stream) -> int:
        return int(stream)

    def stream_synchronize(self, stream) -> None:
        self._check(self.rt.cudaStreamSynchronize(stream), "cudaStreamSynchronize")

    def event_create(self):
        return self._check(self.rt.cudaEventCreate(), "cudaEventCreate")

    def event_record(self, event, stream) -> None:
        self._check(self.rt.cudaEventRecord(event, stream), "cudaEventRecord")

    def event_elapsed_ms(self, start, end) -> float:
        self._check(self.rt.cudaEventSynchronize(end), "cudaEventSynchronize")
        return float(self._check(self.rt.cudaEventElapsedTime(start, end), "cudaEventElapsedTime"))

    def graph_capture_begin(self, stream) -> None:
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self._check(self.rt.cudaStreamBeginCapture(stream, mode), "cudaStreamBeginCapture")

    def graph_capture_end(self, stream):
        graph = self._check(self.rt.cudaStreamEndCapture(stream), "cudaStreamEndCapture")
        try:
            exe = self._check(self.rt.cudaGraphInstantiate(graph, 0), "cudaGraphInstantiate")
        finally:
            self._check(self.rt.cudaGraphDestroy(graph), "cudaGraphDestroy")
        return exe

    def graph_launch(self, graph, stream) -> None:
        self._check(self.rt.cudaGraphLaunch(graph, stream), "cudaGraphLaunch")

    def graph_destroy(self, graph) -> None:
        self._check(self.rt.cudaGraphExecDestroy(graph), "cudaGraphExecDestroy")


class PyCudaApi(CudaApi):
    """pycuda on the device's PRIMARY context, made current around every call, on whichever thread calls.

    ``pycuda.autoinit`` would create a new context and make it current on the importing thread only: the
    camera pipeline calls ``infer()`` from its ``edge-infer`` thread, where copies then fail with "invalid
    device context", and TensorRT (CUDA runtime API) enqueues on the primary context, not on the buffers'.
    So this layer retains the primary context (``Device.retain_primary_context``, as
    pycuda/autoprimaryctx.py does; names from inducer/pycuda src/wrapper/wrap_cudadrv.cpp, v2026.1) and
    pushes/pops it around each call. The runtime API (cuda-python, TensorRT, ``edge.bench.gpu``) uses the
    same primary context on every thread, so all share one context.

    Args:
        device: CUDA device ordinal.
        driver: the ``pycuda.driver`` module (None: import it).
    """

    name = "pycuda"

    def __init__(self, device: int = 0, driver: Any = None):
        if driver is None:
            import importlib

            driver = importlib.import_module("pycuda.driver")
        self.drv = driver
        self.drv.init()
        self.context = self.drv.Device(device).retain_primary_context()
        self._alloc: dict[int, Any] = {}  # pointer -> DeviceAllocation

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        """The primary context current on the calling thread for the duration of the block."""
        self.context.push()
        try:
            yield
        finally:
            self.drv.Context.pop()

    def malloc(self, nbytes: int) -> int:
        with self.current():
            alloc = self.drv.mem_alloc(max(int(nbytes), 1))
        self._alloc[int(alloc)] = alloc
        return int(alloc)

    def free(self, ptr: int) -> None:
        alloc = self._alloc.pop(ptr, None)
        if alloc is not None:
            with self.current():
                alloc.free()

    def host_empty(self, shape, dtype) -> np.ndarray:
        with self.current():
            return self.drv.pagelocked_empty(shape, dtype)

    def host_free(self, arr: np.ndarray) -> None:
        pass  # pycuda frees page-locked memory with the array's base (in the context it was made in)

    def htod_async(self, dst: int, src: np.ndarray, stream) -> None:
        with self.current():
            self.drv.memcpy_htod_async(dst, src, stream)

    def dtoh_async(self, dst: np.ndarray, src: int, stream) -> None:
        with self.current():
            self.drv.memcpy_dtoh_async(dst, src, stream)

    def stream_create(self):
        with self.current():
            return self.drv.Stream()

    def stream_destroy(self, stream) -> None:
        pass

    def stream_handle(self, stream) -> int:
        return int(stream.handle)

    def stream_synchronize(self, stream) -> None:
        with self.current():
            stream.synchronize()

    def event_create(self):
        with self.current():
            return self.drv.Event()

    def event_record(self, event, stream) -> None:
        with self.current():
            event.record(stream)

    def event_elapsed_ms(self, start, end) -> float:
        with self.current():
            end.synchronize()
            return float(start.time_till(end))


APIS = {"cuda-python": CudaPythonApi, "pycuda": PyCudaApi}


def cuda_api(kind: str | None = None) -> CudaApi:
    """The device-memory layer: ``kind`` = "cuda-python" | "pycuda"; None = cuda-python, else pycuda."""
    if kind is None:
        if has_module("cuda.bindings") or has_module("cuda.cudart"):
            kind = "cuda-python"
        elif has_module("pycuda"):
            kind = "pycuda"
        else:
            raise DependencyError("the TensorRT runner needs cuda-python or pycuda for device memory. "
                                  "Install it: pip install 'edge[trt]' (cuda-python)")
    if kind not in APIS:
        raise RuntimeBackendError(f"unknown device-memory layer '{kind}'; use one of {list(APIS)}")
    try:
        return APIS[kind]()
    except ImportError as e:
        raise DependencyError(f"device-memory layer '{kind}' does not import: {e}") from e


# Oldest driver branch each CUDA runtime major version runs on (CUDA Toolkit release notes, "CUDA Toolkit and
# Minimum Required Driver Version for CUDA Minor Version Compatibility": 13.x >= 580, 12.x >= 525, 11.x >= 450).
MIN_DRIVER = {13: 580, 12: 525, 11: 450}
_ERR_INSUFFICIENT_DRIVER, _ERR_NO_DEVICE = 35, 100  # cudaError_t values (driver_types.h)


@dataclass(frozen=True)
class GpuStatus:
    """Whether CUDA is usable here and, when not, the real reason and its fix (one line each).

    ``driver_cuda`` is the CUDA version the installed driver supports (``cudaDriverGetVersion``: "12.6"
    on JetPack 6), ``runtime_cuda`` the CUDA runtime cuda-python carries, ``bindings`` cuda-python's version.
    """

    usable: bool
    reason: str | None = None
    fix: str | None = None
    device_count: int = 0
    driver_cuda: str | None = None
    runtime_cuda: str | None = None
    bindings: str | None = None


def _cuda_version(v: int | None) -> str | None:
    return f"{v // 1000}.{(v % 1000) // 10}" if v else None


def _bindings_version() -> str | None:
    from importlib import metadata

    for dist in ("cuda-python", "cuda-bindings"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def gpu_status(rt: Any = None, bindings: str | None = None) -> GpuStatus:
    """Probe CUDA through cuda-python and say why it is unusable, with the fix (used by the test markers,
    the engine manifest and ``edge doctor``).

    Args:
        rt: the ``cuda.bindings.runtime`` module (None: import it); tests pass recorded machine descriptions.
        bindings: cuda-python's version (None: read from the installed distribution).
    """
    if rt is None:
        try:
            rt = CudaPythonApi().rt
        except Exception as e:  # noqa: BLE001 - not installed, or its native part does not load
            return GpuStatus(False, f"cuda-python does not import ({e})", "pip install 'edge[trt]' (cuda-python "
                             "of the CUDA major version of this driver: 12.6.x on JetPack 6, 13.0.x on JetPack 7)")
        bindings = bindings or _bindings_version()
    err, count = rt.cudaGetDeviceCount()
    _, drv = rt.cudaDriverGetVersion()  # 0 when no driver is loaded
    _, run = rt.cudaRuntimeGetVersion()
    facts = {"driver_cuda": _cuda_version(drv), "runtime_cuda": _cuda_version(run), "bindings": bindings}
    if int(err) == 0 and count and count > 0:
        return GpuStatus(True, device_count=int(count), **facts)
    if int(err) == _ERR_INSUFFICIENT_DRIVER:
        return GpuStatus(False, *_driver_reason(drv, run, bindings), **facts)
    if int(err) == _ERR_NO_DEVICE or (int(err) == 0 and not count):
        return GpuStatus(False, "the driver sees no CUDA device (cudaErrorNoDevice)", "check CUDA_VISIBLE_DEVICES "
                         "and that the GPU is present (nvidia-smi; on a Jetson: the user is in the 'video' group)",
                         **facts)
    return GpuStatus(False, f"cudaGetDeviceCount failed: {getattr(err, 'name', err)} ({int(err)})",
                     "see the CUDA runtime error list; reboot if the driver was just updated", **facts)


def _driver_reason(drv: int, run: int, bindings: str | None) -> tuple[str, str]:
    """(reason, fix) for cudaErrorInsufficientDriver: no driver, or a driver older than cuda-python's runtime."""
    if not drv:
        reason = ("no NVIDIA driver is loaded on this machine (cudaGetDeviceCount: cudaErrorInsufficientDriver, "
                  "cudaDriverGetVersion: 0)")
        return reason, "run on a machine with an NVIDIA GPU and its driver (a Jetson with JetPack)"
    d, r = _cuda_version(drv), _cuda_version(run)
    need = MIN_DRIVER.get(run // 1000)
    what = f"cuda-python {bindings or '?'} (CUDA runtime {r})"
    needs = f"needs driver >= {need}" if need else f"needs a driver of CUDA {r} or later"
    return (f"{what} {needs}; this driver is CUDA {d} (cudaErrorInsufficientDriver)",
            f"install cuda-python {d}.x: pip install 'cuda-python=={d}.*'")


def gpu_unavailable_reason() -> str | None:
    """None when a CUDA device is usable through cuda-python, else the reason and its fix (for skips, errors)."""
    st = gpu_status()
    return None if st.usable else f"{st.reason}. Fix: {st.fix}"
