"""Calibration data, explicit INT8 (Q/DQ) quantization, the accuracy gate and FP16 conversion.

``Recipe`` (edge.calib.recipe) declares a model's preprocessing once; calibration sets, the gate,
``edge compare`` and the camera pipeline all use it.
"""

from edge.calib.recipe import InputSpec, Recipe, bundled_names

__all__ = ["InputSpec", "Recipe", "bundled_names"]
