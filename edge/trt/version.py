"""TensorRT version facts that choose code paths (10.x vs 11.x), asked of the installed module by name.

Never persist or compare raw enum integers (values were renumbered in 11.x); ask ``hasattr`` for members
that were removed (``BuilderFlag.FP16/INT8``, ``IInt8EntropyCalibrator2``) instead of guessing from numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge._lazy import lazy_import
from edge.errors import EngineError

if TYPE_CHECKING:
    import tensorrt as trt
else:
    trt = lazy_import("tensorrt", feature="building TensorRT engines")


def version() -> tuple[int, int, int]:
    """The installed TensorRT version as ``(major, minor, patch)``."""
    parts = [int(p) for p in str(trt.__version__).split(".")[:3] if p.isdigit()]
    return tuple((parts + [0, 0, 0])[:3])  # type: ignore[return-value]


def is_strongly_typed_only() -> bool:
    """True on TensorRT 11+, where every network is strongly typed (no implicit precision)."""
    return not has_builder_flag("INT8") or version()[0] >= 11


def has_builder_flag(name: str) -> bool:
    return hasattr(trt.BuilderFlag, name)


def has_implicit_int8() -> bool:
    """Implicit INT8 calibration (IInt8EntropyCalibrator2 + BuilderFlag.INT8): TensorRT 10.x only."""
    return hasattr(trt, "IInt8EntropyCalibrator2") and has_builder_flag("INT8")


def set_flag(config: Any, name: str) -> None:
    """``config.set_flag(BuilderFlag.<name>)``; EngineError naming the version when the flag was removed."""
    if not has_builder_flag(name):
        raise EngineError(f"TensorRT {trt.__version__} has no BuilderFlag.{name} (removed in TensorRT 11: precision "
                          "comes from the ONNX types). Use a Q/DQ ONNX (edge quantize) or an FP16 ONNX (edge quantize "
                          "--fp16) and build strongly typed")
    config.set_flag(getattr(trt.BuilderFlag, name))


def network_flags(strongly_typed: bool) -> int:
    """Creation flags for ``builder.create_network``: STRONGLY_TYPED when asked and known (10.x) or implied (11)."""
    flags = 0
    cf = trt.NetworkDefinitionCreationFlag
    if strongly_typed and hasattr(cf, "STRONGLY_TYPED"):
        flags |= 1 << int(cf.STRONGLY_TYPED)
    return flags


def unavailable_reason() -> str | None:
    """None when a real TensorRT imports here, else why not (absent, or a stubs-only package)."""
    import importlib.util

    if importlib.util.find_spec("tensorrt") is None:
        return "TensorRT is not installed (it comes with JetPack on a Jetson)"
    try:
        import tensorrt as _trt

        _trt.Builder  # noqa: B018 - tensorrt-stubs has no runtime attributes
    except Exception as e:  # noqa: BLE001
        return f"TensorRT does not import: {e}"
    return None
