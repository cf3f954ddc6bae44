"""Calibration data, explicit INT8 (Q/DQ) quantization, the accuracy gate and FP16 conversion.

``Recipe`` (edge.core.recipe, re-exported here) declares a model's preprocessing once; calibration sets
(edge.core.frames), ``quantize`` (edge.calib.qdq), ``quantize_with_gate`` (edge.calib.gate),
``to_fp16`` (edge.calib.fp16), ``edge compare`` and the camera pipeline all use it.
Heavy modules (onnx, onnxruntime) are imported by the functions below only when called.
"""

from edge.core.recipe import InputSpec, Recipe, bundled_names


def quantize(*args, **kwargs):
    """See edge.calib.qdq.quantize."""
    from edge.calib.qdq import quantize as _q

    return _q(*args, **kwargs)


def quantize_with_gate(*args, **kwargs):
    """See edge.calib.gate.quantize_with_gate."""
    from edge.calib.gate import quantize_with_gate as _g

    return _g(*args, **kwargs)


def to_fp16(*args, **kwargs):
    """See edge.calib.fp16.to_fp16."""
    from edge.calib.fp16 import to_fp16 as _f

    return _f(*args, **kwargs)


__all__ = ["InputSpec", "Recipe", "bundled_names", "quantize", "quantize_with_gate", "to_fp16"]
