"""TensorRT backend for TensorRT 10.x and 11.x (JetPack 6.1+ and 7.x).

Name-based I/O only (``num_io_tensors``, ``get_tensor_name``, ``get_tensor_mode``, ``set_input_shape``,
``set_tensor_address``, ``execute_async_v3``): the binding-index API was removed in 10.0. Data types are
mapped by *name*, never by enum value (values were renumbered in 11.x). Device memory goes through
``edge.core.cuda`` (cuda-python, or pycuda). Buffers grow when a call needs more and are
reused otherwise, so a dynamic-shape engine can be fed different sizes.

For benchmarks the steps are public: ``stage_inputs(feed)`` (host work only: feed check, copy into
page-locked memory, input shapes and tensor addresses when they change), ``enqueue_h2d()`` (the H2D
copies), ``execute()`` (enqueue only, or replay a captured CUDA graph), ``copy_outputs()`` (D2H),
``synchronize()``, and ``stream``/``stream_handle``; ``copy_inputs(feed)`` = the first two. ``infer`` =
all of them, returning copies of the outputs. ``set_input_shape``/``set_tensor_address`` are issued only
when a shape or a buffer changes: TensorRT re-runs shape inference and the plugins' ``onShapeChange`` on
every ``set_input_shape``, and trtexec sets them once before its timed loop.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge._lazy import lazy_import
from edge.core.cuda import CudaApi, cuda_api
from edge.errors import EngineError, InputError, RuntimeBackendError
from edge.runtime.base import Runner, TensorMeta, backends, check_feed
from edge.trt.engine import EngineFromBytes, EngineFromPath, resolve_plugin_library

__all__ = ["TensorRTRunner", "dims", "resolve_plugin_library", "trt_dtype_to_numpy"]

if TYPE_CHECKING:  # mypy checks the calls against tensorrt-stubs (see docs); at run time: lazy
    import tensorrt as trt
else:
    trt = lazy_import("tensorrt", feature="the TensorRT runner")

# TensorRT DataType *names* -> numpy (robust to the 10.x -> 11.x enum renumbering)
_TRT_DTYPES = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32, "INT64": np.int64,
               "BOOL": np.bool_, "UINT8": np.uint8}


def trt_dtype_to_numpy(dtype: Any) -> np.dtype:
    name = getattr(dtype, "name", str(dtype).split(".")[-1])
    if name not in _TRT_DTYPES:
        raise RuntimeBackendError(f"TensorRT tensor type {name} has no numpy equivalent handled by edge")
    return np.dtype(_TRT_DTYPES[name])


def dims(d: Any) -> tuple[int, ...]:
    """A TensorRT ``Dims`` (or any sequence) as a tuple of ints (-1 = dynamic)."""
    return tuple(int(d[i]) for i in range(len(d)))


@backends.register("tensorrt")
class TensorRTRunner(Runner):
    """Runs a serialised TensorRT engine (``.engine``/``.plan`` path or bytes).

    Args:
        engine: path to the engine file, or its bytes.
        memory: device-memory layer, "cuda-python" | "pycuda"; None = cuda-python when installed.
        plugins: plugin library path | False; None = the library ``edge.trt.plugins`` finds, if any.
        allow_mismatch: load an engine whose manifest (``<engine>.json``, written by ``edge build``) is
            missing or does not match this machine; default False: ManifestError naming the mismatch.
        profile: optimization profile index used for dynamic shapes; None = 0.
        cuda_graph: capture the enqueue in a CUDA graph on first ``execute()`` per input shape and
            replay it afterwards (cuda-python only).
        name: label used in reports; None = the file name.
    """

    backend = "tensorrt"

    def __init__(self, engine: str | os.PathLike | bytes, memory: str | None = None, plugins: Any = None,
                 profile: int | None = None, cuda_graph: bool = False, allow_mismatch: bool = False,
                 name: str | None = None):
        self.source = bytes(engine) if isinstance(engine, (bytes, bytearray)) else Path(engine)
        super().__init__(name or (self.source.name if isinstance(self.source, Path) else "engine"))
        self.memory_kind, self.plugins, self.profile = memory, plugins, profile or 0
        self.cuda_graph, self.allow_mismatch = cuda_graph, allow_mismatch
        self.manifest: dict | None = None  # the checked manifest (engine files only)
        # set by activate_impl (typed non-Optional so mypy checks the TensorRT calls against the stubs)
        self.api: CudaApi = None  # type: ignore[assignment]
        self.engine: trt.ICudaEngine = None  # type: ignore[assignment]
        self.context: trt.IExecutionContext = None  # type: ignore[assignment]
        self.stream: Any = None
        self._names: list[str] = []
        self._is_input: dict[str, bool] = {}
        self._device: dict[str, tuple[int, int]] = {}  # name -> (pointer, capacity bytes)
        self._host: dict[str, np.ndarray] = {}  # name -> page-locked staging array (current shape)
        self._shapes: dict[str, tuple[int, ...]] = {}  # input name -> shape last given to set_input_shape
        self._addresses: dict[str, int] = {}  # tensor name -> address last given to set_tensor_address
        self._graph = None
        self._graph_key: tuple | None = None
        self._runtime: trt.Runtime = None  # type: ignore[assignment]

    # ---- lifecycle ----
    def activate_impl(self) -> None:
        try:
            self._activate()
        except BaseException:
            if self.api is not None:  # free what was created before the failure
                self.deactivate_impl()
            raise

    def _activate(self) -> None:
        """Deserialise through edge.trt.engine (manifest check, plugins, runtime flags), then set up I/O."""
        loader: EngineFromPath | EngineFromBytes
        if isinstance(self.source, Path):
            loader = EngineFromPath(self.source, plugins=self.plugins, allow_mismatch=self.allow_mismatch)
            self.engine = loader()
            self.manifest = loader.manifest
        else:  # bytes (just built in memory) have no manifest: no host code allowed
            plugin, note = resolve_plugin_library(self.plugins)
            loader = EngineFromBytes(self.source, None, [plugin] if plugin else [], note, name=self.name)
            self.engine = loader()
        self._runtime = loader.runtime
        self.api = cuda_api(self.memory_kind)
        self.stream = self.api.stream_create()
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise EngineError(f"'{self.name}': create_execution_context() failed (out of device memory?)")
        if self.profile:
            self.context.set_optimization_profile_async(self.profile, self.stream_handle)
        self._names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self._is_input = {n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in self._names}

    def deactivate_impl(self) -> None:
        if self._graph is not None:
            self.api.graph_destroy(self._graph)
            self._graph = self._graph_key = None
        for ptr, _ in self._device.values():
            self.api.free(ptr)
        for arr in self._host.values():
            self.api.host_free(arr)
        self._device.clear()
        self._host.clear()
        self._shapes.clear()
        self._addresses.clear()
        if self.stream is not None:
            self.api.stream_destroy(self.stream)
        self.context = self.engine = self.stream = self._runtime = None  # type: ignore[assignment]

    # ---- metadata ----
    def _meta(self, name: str) -> TensorMeta:
        shape = tuple(None if d < 0 else d for d in dims(self.engine.get_tensor_shape(name)))
        return TensorMeta(name, shape, trt_dtype_to_numpy(self.engine.get_tensor_dtype(name)))

    def inputs_impl(self) -> list[TensorMeta]:
        return [self._meta(n) for n in self._names if self._is_input[n]]

    def outputs_impl(self) -> list[TensorMeta]:
        return [self._meta(n) for n in self._names if not self._is_input[n]]

    def profile_shapes(self, name: str) -> tuple[tuple[int, ...], ...]:
        """(min, opt, max) shapes of input ``name`` in the active optimization profile."""
        self.activate()
        return tuple(dims(s) for s in self.engine.get_tensor_profile_shape(name, self.profile))

    @property
    def stream_handle(self) -> int:
        return self.api.stream_handle(self.stream)

    # ---- the steps ----
    def copy_inputs(self, feed: dict[str, Any]) -> None:
        """``stage_inputs(feed)`` then ``enqueue_h2d()``."""
        self.stage_inputs(feed)
        self.enqueue_h2d()

    def stage_inputs(self, feed: dict[str, Any]) -> None:
        """Host work before the copies: check ``feed`` (as ``infer`` does), copy it into the page-locked
        arrays, and set input shapes / (re)bind buffers only where they changed."""
        self._stage(check_feed(feed, self.inputs, self.name))

    def _stage(self, feed: dict[str, np.ndarray]) -> None:
        changed = False
        for name in (n for n in self._names if self._is_input[n]):
            arr = feed[name]
            if self._shapes.get(name) != tuple(arr.shape):
                self._check_profile(name, arr.shape)
                if not self.context.set_input_shape(name, tuple(arr.shape)):
                    raise InputError(f"{self.name}: TensorRT rejected shape {arr.shape} for input '{name}'")
                self._shapes[name], changed = tuple(arr.shape), True
            np.copyto(self._bind(name, arr.shape, arr.dtype), arr)
        if changed:
            self._bind_outputs()

    def _bind_outputs(self) -> None:
        missing = self.context.infer_shapes()
        if missing:
            raise InputError(f"{self.name}: shapes of {list(missing)} could not be inferred from the inputs")
        for name in (n for n in self._names if not self._is_input[n]):
            shape = dims(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise RuntimeBackendError(f"{self.name}: output '{name}' has a data-dependent shape {shape}, "
                                          "which this runner does not support")
            self._bind(name, shape, trt_dtype_to_numpy(self.engine.get_tensor_dtype(name)))

    def enqueue_h2d(self) -> None:
        """Enqueue the H2D copies of the staged inputs on the stream (nothing else)."""
        for name in (n for n in self._names if self._is_input[n]):
            self.api.htod_async(self._device[name][0], self._host[name], self.stream)

    def execute(self) -> None:
        """Enqueue the network on the stream with the bound buffers (no copies, no synchronisation)."""
        if self.cuda_graph:
            key = tuple(self._host[n].shape for n in self._names)
            if self._graph_key != key:
                self._capture(key)
            self.api.graph_launch(self._graph, self.stream)
            return
        if not self.context.execute_async_v3(self.stream_handle):
            raise RuntimeBackendError(f"{self.name}: execute_async_v3 failed (see the TensorRT log above)")

    def copy_outputs(self) -> None:
        """Enqueue D2H copies of every output into its page-locked host array."""
        for name in (n for n in self._names if not self._is_input[n]):
            self.api.dtoh_async(self._host[name], self._device[name][0], self.stream)

    def synchronize(self) -> None:
        self.api.stream_synchronize(self.stream)

    def host_outputs(self) -> dict[str, np.ndarray]:
        """The page-locked output arrays (valid after copy_outputs + synchronize; overwritten next call)."""
        return {n: self._host[n] for n in self._names if not self._is_input[n]}

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._stage(feed)
        self.enqueue_h2d()
        self.execute()
        self.copy_outputs()
        self.synchronize()
        return {n: a.copy() for n, a in self.host_outputs().items()}

    # ---- helpers ----
    def _bind(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Ensure a device buffer big enough for ``shape`` (grow, never shrink) and a host array of it."""
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        ptr, cap = self._device.get(name, (0, -1))
        if nbytes > cap:
            if cap >= 0:
                self.api.free(ptr)
            ptr, cap = self.api.malloc(nbytes), nbytes
            self._device[name] = (ptr, cap)
        host = self._host.get(name)
        if host is None or host.shape != tuple(shape) or host.dtype != dtype:
            if host is not None:
                self.api.host_free(host)
            self._host[name] = host = self.api.host_empty(tuple(shape), dtype)
        if self._addresses.get(name) != ptr:
            if not self.context.set_tensor_address(name, ptr):
                raise RuntimeBackendError(f"{self.name}: TensorRT rejected the address of tensor '{name}'")
            self._addresses[name] = ptr
        return host

    def _check_profile(self, name: str, shape: tuple[int, ...]) -> None:
        if all(d >= 0 for d in dims(self.engine.get_tensor_shape(name))):
            return  # static input: the base class already checked the exact shape
        lo, _, hi = (dims(d) for d in self.engine.get_tensor_profile_shape(name, self.profile))
        if len(lo) and (len(lo) != len(shape) or any(s < a or s > b for s, a, b in zip(shape, lo, hi))):
            raise InputError(f"{self.name}: input '{name}' shape {tuple(shape)} is outside the engine's "
                             f"optimization profile [{tuple(lo)} .. {tuple(hi)}]. Fix: rebuild the engine with a "
                             "wider shape range or resize the input")

    def _capture(self, key: tuple) -> None:
        """Capture one enqueue as a CUDA graph for the current shapes/addresses (TensorRT needs one
        regular enqueue after a shape change before capture, to flush deferred updates)."""
        if self._graph is not None:
            self.api.graph_destroy(self._graph)
            self._graph = None
        if not self.context.execute_async_v3(self.stream_handle):
            raise RuntimeBackendError(f"{self.name}: execute_async_v3 failed before graph capture")
        self.synchronize()
        self.api.graph_capture_begin(self.stream)
        ok = self.context.execute_async_v3(self.stream_handle)
        graph = self.api.graph_capture_end(self.stream)
        if not ok:
            self.api.graph_destroy(graph)
            raise RuntimeBackendError(f"{self.name}: execute_async_v3 failed during CUDA-graph capture")
        self._graph, self._graph_key = graph, key
