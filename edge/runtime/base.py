"""The Runner base: one inference interface over PyTorch, ONNX Runtime and TensorRT.

The base class owns the public methods (Polygraphy ``backend/base/runner.py``): ``infer`` converts the
feed to numpy, checks every input's name, dtype and shape against the runner's metadata (raising
InputError naming the input, what was expected and what was given), times the call and hands the
arrays to the backend's ``infer_impl``. Backends register by name in ``backends``:

    @backends.register("onnxruntime")
    class OnnxRuntimeRunner(Runner): ...
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from edge.errors import InputError, RuntimeBackendError
from edge.registry import Registry

backends: Registry[type["Runner"]] = Registry("runtime backend")

Dim = int | str | None  # an int is a fixed size; a str (symbolic name) or None is dynamic


@dataclass(frozen=True)
class TensorMeta:
    """Name, shape and numpy dtype of one input or output.

    ``shape`` is a tuple whose entries are ints (fixed) or str/None (dynamic), or None when not even
    the rank is known (e.g. outputs of an arbitrary ``nn.Module`` before its first call).
    """

    name: str
    shape: tuple[Dim, ...] | None
    dtype: np.dtype

    def shape_str(self) -> str:
        if self.shape is None:
            return "(any shape)"
        return "(" + ", ".join("?" if d is None else str(d) for d in self.shape) + ")"

    def __str__(self) -> str:
        return f"{self.name}: {np.dtype(self.dtype).name} {self.shape_str()}"


def is_dynamic(dim: Dim) -> bool:
    return not isinstance(dim, (int, np.integer)) or int(dim) < 0


def to_numpy(value: Any, name: str) -> np.ndarray:
    """A numpy view/copy of a numpy array, torch tensor (any device) or array-like."""
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - anything np.asarray rejects is a user input problem
        raise InputError(f"input '{name}': cannot convert {type(value).__name__} to an array ({e})") from e


def check_feed(feed: Mapping[str, Any], expected: Sequence[TensorMeta], runner: str) -> dict[str, np.ndarray]:
    """Validate ``feed`` against ``expected``; return name -> contiguous numpy array.

    Raises InputError for a missing or unknown name, a wrong dtype, a wrong rank or a wrong fixed dim.
    """
    if not isinstance(feed, Mapping):
        raise InputError(f"{runner}: infer() takes a dict name -> array, got {type(feed).__name__}; "
                         f"inputs are: {', '.join(str(m) for m in expected)}")
    names = [m.name for m in expected]
    unknown = [k for k in feed if k not in names]
    missing = [n for n in names if n not in feed]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(f"missing input(s) {missing}")
        if unknown:
            parts.append(f"unknown input name(s) {unknown}")
        raise InputError(f"{runner}: {' and '.join(parts)}; expected inputs: "
                         f"{', '.join(str(m) for m in expected)}")
    out = {}
    for meta in expected:
        arr = to_numpy(feed[meta.name], meta.name)
        if arr.dtype != np.dtype(meta.dtype):
            raise InputError(f"{runner}: input '{meta.name}' has dtype {arr.dtype}, expected "
                             f"{np.dtype(meta.dtype).name}. Fix: cast it, e.g. x.astype(np.{np.dtype(meta.dtype).name})")
        _check_shape(meta, arr.shape, runner)
        out[meta.name] = np.ascontiguousarray(arr)
    return out


def _check_shape(meta: TensorMeta, got: tuple[int, ...], runner: str) -> None:
    if meta.shape is None:
        return
    bad = len(got) != len(meta.shape) or any(
        not is_dynamic(d) and int(d) != g for d, g in zip(meta.shape, got))
    if bad:
        raise InputError(f"{runner}: input '{meta.name}' has shape {tuple(got)}, expected {meta.shape_str()} "
                         f"('?' or a name = any size)")


class Runner:
    """Base of every backend: load/unload via activate()/deactivate() (or ``with``), and ``infer``.

    Subclasses implement ``activate_impl``, ``deactivate_impl``, ``infer_impl`` and the metadata
    properties ``inputs``/``outputs`` (valid once active). ``infer`` activates lazily, so a one-off
    ``load(path).infer(feed)`` works without a ``with`` block.
    """

    backend: str = "?"

    def __init__(self, name: str | None = None):
        self.name = name or self.backend
        self.is_active = False
        self.last_inference_time: float | None = None  # seconds, wall clock of the last infer()

    # ---- lifecycle ----
    def activate(self) -> "Runner":
        if not self.is_active:
            self.activate_impl()
            self.is_active = True
        return self

    def deactivate(self) -> None:
        if self.is_active:
            try:
                self.deactivate_impl()
            finally:
                self.is_active = False

    def __enter__(self) -> "Runner":
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.deactivate()

    # ---- inference ----
    def infer(self, feed: Mapping[str, Any], check: bool = True) -> dict[str, np.ndarray]:
        """Run one inference.

        Args:
            feed: input name -> numpy array or torch tensor, e.g. ``{"input": x}`` with
                ``x (float32[B, C, H, W])``.
            check: validate names/dtypes/shapes against ``inputs`` (InputError on mismatch).
        Returns:
            output name -> numpy array (owned by the caller).
        """
        self.activate()
        arrays = check_feed(feed, self.inputs, self.name) if check else {k: to_numpy(v, k) for k, v in feed.items()}
        t0 = time.perf_counter()
        out = self.infer_impl(arrays)
        self.last_inference_time = time.perf_counter() - t0
        return out

    __call__ = infer

    # ---- metadata ----
    @property
    def inputs(self) -> list[TensorMeta]:
        self.activate()
        return self.inputs_impl()

    @property
    def outputs(self) -> list[TensorMeta]:
        self.activate()
        return self.outputs_impl()

    # ---- to implement ----
    def activate_impl(self) -> None:
        raise NotImplementedError

    def deactivate_impl(self) -> None:
        pass

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def inputs_impl(self) -> list[TensorMeta]:
        raise NotImplementedError

    def outputs_impl(self) -> list[TensorMeta]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, backend={self.backend!r})"


def backend_error(runner: str, what: str, err: BaseException) -> RuntimeBackendError:
    """A RuntimeBackendError for a failure inside a backend, keeping the original message."""
    return RuntimeBackendError(f"{runner}: {what} failed: {type(err).__name__}: {err}")
