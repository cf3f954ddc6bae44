"""Implicit INT8 entropy calibrator for TensorRT 10.x (removed in TensorRT 11: use Q/DQ there).

The TensorRT subclass is built inside ``make_entropy_calibrator`` (Polygraphy's pattern) so this module
imports on machines without TensorRT. It feeds recipe-preprocessed frames through device memory from
cuda-python and reads/writes TensorRT's text calibration cache (``TRT-<version>-EntropyCalibration2``
header + ``tensor: hex-scale`` lines), so a second build skips calibration.

Shapes. TensorRT calibrates at the calibration profile's kOPT shape ("MIN and MAX values will be
overwritten by kOPT": NvInfer.h, IBuilderConfig::setCalibrationProfile, release/10.3) and reads that
many bytes from each buffer ``get_batch`` returns. So every batch is fitted to kOPT here (frames resized,
grouped to its batch size) and its shape checked; ``CreateConfig`` sets ``opt_shapes`` from the profile.

Errors. TensorRT's binding catches an exception raised in ``get_batch``, prints it and returns false,
which TensorRT reads as "no more data" (python/src/infer/pyInt8.cpp, ``getBatch``, release/10.3 lines
52-77). The calibrator therefore keeps the exception in ``error``; ``EngineFromNetwork`` raises it after
the build and writes no engine.
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


def fit_to_shape(samples: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """``shape[0]`` samples (each ``(C, H, W)``) resized (bilinear) to ``shape[2:]``: a ``shape`` float32 array.

    Raises CalibrationError when the channels differ (a recipe for another model) or the result is not
    ``shape``.
    """
    import torch
    import torch.nn.functional as F

    n, c, size = shape[0], shape[1], tuple(int(d) for d in shape[2:])
    out = []
    for x in samples[:n]:
        if x.ndim != len(shape) - 1 or x.shape[0] != c:
            raise CalibrationError(f"calibration sample of shape {x.shape} does not fit the calibration profile's "
                                   f"kOPT shape {tuple(shape)} (channels {c}): is the recipe the model's?")
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
        if tuple(t.shape[2:]) != size:
            t = F.interpolate(t, size=size, mode="bilinear" if len(size) == 2 else "nearest", align_corners=False)
        out.append(t[0].numpy())
    arr = np.ascontiguousarray(np.stack(out), dtype=np.float32)
    if arr.shape != tuple(shape):
        raise CalibrationError(f"calibration batch has shape {arr.shape}, TensorRT reads kOPT {tuple(shape)}")
    return arr


def make_entropy_calibrator(feeds: Iterable[dict[str, np.ndarray]], cache_path: str | os.PathLike | None = None,
                            opt_shapes: dict[str, tuple[int, ...]] | None = None) -> Any:
    """An ``IInt8EntropyCalibrator2`` over ``feeds`` (``{input: (B, C, H, W) float32}``, any B, H, W).

    ``opt_shapes``: ``{input: kOPT shape}`` of the calibration profile (``CreateConfig`` sets it when
    None); each batch handed to TensorRT has exactly that shape. Raises EngineError on TensorRT 11+,
    which has no implicit calibration.
    """
    if not has_implicit_int8():
        raise EngineError(f"TensorRT {trt.__version__} has no implicit INT8 calibration (removed in 11.0). "
                          "Quantize explicitly: edge quantize model.onnx ... then edge build --precision int8")
    from edge.core.cuda import cuda_api

    cuda = cuda_api()

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._feeds = iter(feeds)
            self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device ptr, bytes)
            self._stream = cuda.stream_create()
            self.opt_shapes: dict[str, tuple[int, ...]] = dict(opt_shapes or {})
            self.error: BaseException | None = None  # raised by get_batch, re-raised after the build
            self.shapes_fed: list[dict[str, tuple[int, ...]]] = []

        def get_batch_size(self) -> int:
            return int(next(iter(self.opt_shapes.values()), (1,))[0])

        def get_batch(self, names: list[str]) -> list[int]:
            if self.error is not None:
                return []
            try:
                return self._next_batch(names)
            except BaseException as e:  # noqa: BLE001 - the binding would print it and end calibration
                self.error = e
                return []  # TensorRT: an empty list (or None) ends calibration

        def _next_batch(self, names: list[str]) -> list[int]:
            missing = [n for n in names if n not in self.opt_shapes]
            if missing:
                raise CalibrationError(f"no kOPT shape for calibration input(s) {missing} (have {sorted(self.opt_shapes)})")
            batch = self._collect(names, int(self.opt_shapes[names[0]][0]))
            if batch is None:
                return []
            self._staged: list[np.ndarray] = []  # host arrays alive until the stream is synchronised
            ptrs = []
            for name in names:
                arr = fit_to_shape(batch[name], tuple(self.opt_shapes[name]))
                ptrs.append(self._upload(name, arr))
            cuda.stream_synchronize(self._stream)
            self.shapes_fed.append({n: tuple(self.opt_shapes[n]) for n in names})
            return ptrs

        def _collect(self, names: list[str], n: int) -> dict[str, list[np.ndarray]] | None:
            """``n`` samples per input from the feeds; None when the feeds end first (a partial batch is
            dropped: TensorRT would read a full kOPT batch)."""
            got: dict[str, list[np.ndarray]] = {name: [] for name in names}
            while len(got[names[0]]) < n:
                feed = next(self._feeds, None)
                if feed is None:
                    if not self.shapes_fed:
                        raise CalibrationError(f"{len(got[names[0]])} calibration samples are fewer than the "
                                               f"calibration profile's kOPT batch of {n}: give more frames")
                    return None
                for name in names:
                    if name not in feed:
                        raise CalibrationError(f"calibration feed has no input '{name}' (has {sorted(feed)})")
                    got[name].extend(np.asarray(feed[name]))
            return got

        def _upload(self, name: str, arr: np.ndarray) -> int:
            ptr, size = self._buffers.get(name, (0, 0))
            if arr.nbytes > size:
                if ptr:
                    cuda.free(ptr)
                ptr, size = cuda.malloc(arr.nbytes), arr.nbytes
                self._buffers[name] = (ptr, size)
            self._staged.append(arr)
            cuda.htod_async(ptr, arr, self._stream)
            return ptr

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
