"""Implicit INT8 entropy calibrator for TensorRT 10.x (removed in TensorRT 11: use Q/DQ there).

The TensorRT subclass is built inside ``make_entropy_calibrator`` (Polygraphy's pattern) so this module
imports on machines without TensorRT. It feeds recipe-preprocessed frames through device memory from
cuda-python and reads/writes TensorRT's text calibration cache (``TRT-<version>-EntropyCalibration2``
header + ``tensor: hex-scale`` lines), so a second build skips calibration.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge._lazy import lazy_import
from edge.errors import CalibrationError, EngineError
from edge.io import write_bytes
from edge.trt.version import has_implicit_int8

if TYPE_CHECKING:
    import tensorrt as trt
else:
    trt = lazy_import("tensorrt", feature="INT8 calibration in TensorRT 10.x")


def read_cache(path: str | os.PathLike | None) -> bytes | None:
    """The calibration cache bytes, or None when absent or not a TensorRT calibration table."""
    if path is None or not Path(path).exists():
        return None
    data = Path(path).read_bytes()
    first = data.split(b"\n", 1)[0]
    if not first.startswith(b"TRT-") or b"Calibration" not in first:
        raise CalibrationError(f"{path} is not a TensorRT calibration cache (first line {first[:60]!r}); "
                               "delete it to recalibrate")
    return data


def make_entropy_calibrator(feeds: Iterable[dict[str, np.ndarray]], cache_path: str | os.PathLike | None = None,
                            batch_size: int = 1) -> Any:
    """An ``IInt8EntropyCalibrator2`` over ``feeds`` (``{input: (B, C, H, W) float32}``, B = batch_size).

    Raises EngineError on TensorRT 11+, which has no implicit calibration.
    """
    if not has_implicit_int8():
        raise EngineError(f"TensorRT {trt.__version__} has no implicit INT8 calibration (removed in 11.0). "
                          "Quantize explicitly: edge quantize model.onnx ... then edge build --precision int8")
    from edge.runtime.cuda_memory import cuda_api

    cuda = cuda_api()

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._feeds = iter(feeds)
            self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device ptr, bytes)
            self._stream = cuda.stream_create()

        def get_batch_size(self) -> int:
            return batch_size

        def get_batch(self, names: list[str]) -> list[int]:
            feed = next(self._feeds, None)
            if feed is None:
                return []  # TensorRT: an empty list (or None) ends calibration
            ptrs = []
            for name in names:
                if name not in feed:
                    raise CalibrationError(f"calibration feed has no input '{name}' (has {sorted(feed)})")
                arr = np.ascontiguousarray(feed[name], dtype=np.float32)
                ptr, size = self._buffers.get(name, (0, 0))
                if arr.nbytes > size:
                    if ptr:
                        cuda.free(ptr)
                    ptr, size = cuda.malloc(arr.nbytes), arr.nbytes
                    self._buffers[name] = (ptr, size)
                cuda.htod_async(ptr, arr, self._stream)
                ptrs.append(ptr)
            cuda.stream_synchronize(self._stream)
            return ptrs

        def read_calibration_cache(self) -> bytes | None:
            return read_cache(cache_path)

        def write_calibration_cache(self, cache: Any) -> None:
            if cache_path is not None:
                write_bytes(cache_path, bytes(cache))

        def free(self) -> None:
            for ptr, _ in self._buffers.values():
                cuda.free(ptr)
            self._buffers.clear()

    return EntropyCalibrator()
