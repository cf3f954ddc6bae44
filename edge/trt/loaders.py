"""Composable TensorRT builder loaders (Polygraphy style): ``NetworkFromOnnx -> CreateConfig ->
EngineFromNetwork -> SaveEngine``. Each is a small callable taking values or other loaders.

Version paths (docs/TENSORRT.md, "Precision: two paths"): on TensorRT 11 every network is strongly
typed and precision comes from the ONNX (Q/DQ for INT8, FP16-typed ONNX for FP16); on 10.x
``fp16``/``int8`` also work through builder flags on a weakly typed network, and implicit INT8 through an
entropy calibrator (edge.trt.calibrator).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge._lazy import lazy_import
from edge.errors import CalibrationError, EngineError, InputError
from edge.io import write_bytes
from edge.trt import version as V

if TYPE_CHECKING:
    import tensorrt as trt
else:
    trt = lazy_import("tensorrt", feature="building TensorRT engines")

PRECISIONS = ("fp32", "fp16", "int8", "int8-implicit", "best")
Shapes = dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


@dataclass
class BuildOptions:
    """trtexec-like build options. None means default (resolved in ``CreateConfig``)."""

    precision: str = "fp32"  # fp32 | fp16 | int8 (Q/DQ) | int8-implicit (10.x calibrator) | best (fp16+int8)
    shapes: Shapes | None = None  # input -> (min, opt, max); None: the ONNX's static shapes
    workspace_mb: int | None = None  # None: sized from free memory (unified memory on Jetson)
    dla_core: int | None = None
    gpu_fallback: bool = True
    timing_cache: str | None = None  # loaded when present, saved after the build
    optimization_level: int | None = None  # builder optimisation level 0..5 (TensorRT default 3)
    version_compatible: bool = False
    plugins: list[str] = field(default_factory=list)  # plugin libraries (loaded; serialised when version-compatible)
    strongly_typed: bool | None = None  # None: True on TensorRT 11 (always), False on 10.x (flags decide)
    calib_cache: str | None = None  # int8-implicit: TensorRT text calibration cache

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise InputError(f"precision '{self.precision}' must be one of {PRECISIONS}")
        if self.optimization_level is not None and not 0 <= self.optimization_level <= 5:
            raise InputError(f"builder optimisation level must be 0..5, got {self.optimization_level}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shapes"] = {k: [list(s) for s in v] for k, v in (self.shapes or {}).items()}
        return d


def get_logger(severity: str = "WARNING") -> Any:
    """One TensorRT logger per process (TensorRT expects a single logger)."""
    global _LOGGER
    if _LOGGER is None:
        _LOGGER = trt.Logger(getattr(trt.Logger, severity))
    return _LOGGER


_LOGGER: Any = None


def load_plugin_libraries(paths: list[str]) -> None:
    """Register every plugin library's creators (``getCreators`` entry point) before parsing."""
    if not paths:
        return
    from edge.trt.plugins import load

    for p in paths:
        load(p)


class NetworkFromOnnx:
    """``() -> (builder, network, parser)`` parsing an ONNX file (plugin nodes resolve through the registry)."""

    def __init__(self, onnx_path: str | os.PathLike, options: BuildOptions | None = None):
        self.onnx_path, self.options = Path(onnx_path), options or BuildOptions()

    def __call__(self) -> tuple[Any, Any, Any]:
        if not self.onnx_path.exists():
            raise InputError(f"ONNX model {self.onnx_path} does not exist")
        load_plugin_libraries(self.options.plugins)
        builder = trt.Builder(get_logger())
        strongly = _strongly_typed(self.options)
        network = builder.create_network(V.network_flags(strongly))
        parser = trt.OnnxParser(network, get_logger())
        if not parser.parse_from_file(str(self.onnx_path)):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise EngineError(f"TensorRT could not parse {self.onnx_path}: " + " | ".join(errors) +
                              ". Unsupported plugin op? Load its library with --plugins")
        return builder, network, parser


class CreateConfig:
    """``(builder, network) -> IBuilderConfig`` applying BuildOptions; ``dla_fallback`` lists layers that
    will run on the GPU instead of the DLA (filled when a DLA core is requested)."""

    def __init__(self, options: BuildOptions | None = None, calibrator: Any = None):
        self.options, self.calibrator = options or BuildOptions(), calibrator
        self.dla_fallback: list[str] = []
        self.stale_timing_cache: Path | None = None  # a timing cache TensorRT rejected (kept as <path>.stale)

    def __call__(self, builder: Any, network: Any) -> Any:
        o = self.options
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes(o.workspace_mb))
        self._precision(config, network)
        profile = self._profile(builder, network)
        if profile is not None:
            config.add_optimization_profile(profile)
            if self.calibrator is not None:
                config.set_calibration_profile(profile)
        if self.calibrator is not None:
            self.calibrator.opt_shapes = self._calibration_shapes(network)
        if o.dla_core is not None:
            self._dla(builder, network, config)
        if o.optimization_level is not None:
            config.builder_optimization_level = o.optimization_level
        if o.version_compatible:
            V.set_flag(config, "VERSION_COMPATIBLE")
            if o.plugins:
                config.plugins_to_serialize = [str(p) for p in o.plugins]
        if o.timing_cache:
            self._timing_cache(config, Path(o.timing_cache))
        return config

    def _timing_cache(self, config: Any, path: Path) -> None:
        """Attach the timing cache at ``path`` (an empty one when absent). TensorRT refuses a cache made on
        another device or TensorRT version: ``setTimingCache`` returns false (NvInfer.h, release/10.3, "A
        failure will be reported if the CUDA device property in the provided cache is different"). Then
        say so, build with an empty cache, and keep the old file as ``<path>.stale`` when saving."""
        data = path.read_bytes() if path.exists() else b""
        if config.set_timing_cache(config.create_timing_cache(data), False):
            return
        if not data or not config.set_timing_cache(config.create_timing_cache(b""), False):
            raise EngineError(f"TensorRT refused the timing cache {path} (see the TensorRT log)")
        self.stale_timing_cache = path
        warnings.warn(f"timing cache {path} was rejected by TensorRT (made on another device or TensorRT version); "
                      f"building without it. It will be kept as {path}.stale and this build's cache written to "
                      f"{path}", RuntimeWarning, stacklevel=2)

    def _precision(self, config: Any, network: Any) -> None:
        p, strongly = self.options.precision, _strongly_typed(self.options)
        if strongly or p == "fp32":
            return  # strongly typed: the ONNX's types (Q/DQ, FP16 tensors) decide
        if p in ("fp16", "best"):
            V.set_flag(config, "FP16")
        if p in ("int8", "best", "int8-implicit"):
            V.set_flag(config, "INT8")
        if p == "int8-implicit":
            if self.calibrator is None:
                raise EngineError("precision int8-implicit needs calibration data (edge build --calib ...)")
            config.int8_calibrator = self.calibrator

    def _profile(self, builder: Any, network: Any) -> Any:
        shapes = self.options.shapes or {}
        dynamic = []
        for i in range(network.num_inputs):
            t = network.get_input(i)
            if any(int(d) < 0 for d in t.shape) and t.name not in shapes:
                dynamic.append(f"{t.name}{tuple(t.shape)}")
        if dynamic:
            raise InputError(f"inputs {', '.join(dynamic)} have dynamic dimensions: give min/opt/max shapes "
                             "(--min-shapes/--opt-shapes/--max-shapes or a recipe)")
        if not shapes:
            return None
        profile = builder.create_optimization_profile()
        for name, (mn, opt, mx) in shapes.items():
            profile.set_shape(name, mn, opt, mx)
        return profile

    def _calibration_shapes(self, network: Any) -> dict[str, tuple[int, ...]]:
        """``{input: kOPT shape}``: TensorRT calibrates at the calibration profile's kOPT (NvInfer.h,
        setCalibrationProfile: "MIN and MAX values will be overwritten by kOPT"); static inputs at their shape."""
        shapes = self.options.shapes or {}
        out = {}
        for i in range(network.num_inputs):
            t = network.get_input(i)
            out[t.name] = tuple(int(d) for d in shapes[t.name][1]) if t.name in shapes else \
                tuple(int(d) for d in t.shape)
        return out

    def _dla(self, builder: Any, network: Any, config: Any) -> None:
        o = self.options
        if builder.num_DLA_cores <= o.dla_core:
            raise EngineError(f"DLA core {o.dla_core} requested but this device has {builder.num_DLA_cores} DLA "
                              "cores (Orin AGX/NX: 2, Orin Nano and Thor: 0)")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = o.dla_core
        if o.gpu_fallback:
            V.set_flag(config, "GPU_FALLBACK")
        self.dla_fallback = [network.get_layer(i).name for i in range(network.num_layers)
                             if not config.can_run_on_DLA(network.get_layer(i))]
        if self.dla_fallback and not o.gpu_fallback:
            raise EngineError(f"{len(self.dla_fallback)} layers cannot run on the DLA ({self.dla_fallback[:5]}...) "
                              "and GPU fallback is off: pass --allow-gpu-fallback")


class EngineFromNetwork:
    """``() -> bytes``: the serialised plan; saves the timing cache afterwards when one is configured."""

    def __init__(self, network_loader: Callable[[], tuple], config_loader: CreateConfig):
        self.network_loader, self.config_loader = network_loader, config_loader

    def __call__(self) -> bytes:
        builder, network, _parser = self.network_loader()
        config = self.config_loader(builder, network)
        plan = builder.build_serialized_network(network, config)
        error = getattr(self.config_loader.calibrator, "error", None)
        if error is not None:  # caught by TensorRT's binding inside get_batch (see edge.trt.calibrator)
            raise CalibrationError(f"INT8 calibration failed inside get_batch ({type(error).__name__}: {error}); "
                                   "no engine was written") from error
        if plan is None:
            raise EngineError("TensorRT failed to build the engine (see the TensorRT log above); common causes: "
                              "workspace too small (--workspace), unsupported layer precision, missing plugin")
        tc = self.config_loader.options.timing_cache
        if tc:
            stale = self.config_loader.stale_timing_cache
            if stale is not None and stale.exists():
                os.replace(stale, f"{stale}.stale")  # never overwrite a rejected cache silently
            write_bytes(tc, bytes(config.get_timing_cache().serialize()))
        return bytes(plan)


class SaveEngine:
    """``() -> Path``: writes the plan atomically (a plain plan file ``trtexec --loadEngine`` reads)."""

    def __init__(self, engine_loader: Callable[[], bytes], path: str | os.PathLike):
        self.engine_loader, self.path = engine_loader, Path(path)

    def __call__(self) -> Path:
        return write_bytes(self.path, self.engine_loader())


def workspace_bytes(workspace_mb: int | None) -> int:
    """Explicit MiB, or half the free memory (Jetsons share RAM between CPU and GPU: psutil sees it),
    capped at 4 GiB."""
    if workspace_mb is not None:
        if workspace_mb <= 0:
            raise InputError(f"workspace must be > 0 MiB, got {workspace_mb}")
        return int(workspace_mb) << 20
    import psutil

    free = psutil.virtual_memory().available
    return int(min(free // 2, 4 << 30))


def _strongly_typed(o: BuildOptions) -> bool:
    if o.strongly_typed is not None:
        return o.strongly_typed
    return V.is_strongly_typed_only()
