"""edge: make convolutional networks fast on NVIDIA Jetson-class GPUs.

Importable with nothing but numpy and torch installed; heavy optional dependencies
(onnx, onnxruntime, tensorrt, cuda-python, cv2, matplotlib) are imported lazily on first use.
"""

from edge import _warnings

__version__ = "0.1.0"

__all__ = ["__version__"]

_warnings.install()
