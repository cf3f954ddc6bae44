"""One Runner interface over PyTorch, ONNX Runtime and TensorRT (``edge.runtime.load(artifact)``).

Importing this package registers every backend; none imports its heavy dependency until used.
"""

from edge.runtime.base import Runner, TensorMeta, backends, check_feed
from edge.runtime import onnxruntime_backend, tensorrt_backend, torch_backend  # noqa: F401 - registration
from edge.runtime.compare import CompareReport, OutputComparison, compare
from edge.runtime.feeds import image_feed, load_npz, parse_shapes, random_feed, save_npz
from edge.runtime.loader import backend_for, load

__all__ = ["Runner", "TensorMeta", "backends", "check_feed", "load", "backend_for", "compare", "CompareReport",
           "OutputComparison", "random_feed", "image_feed", "load_npz", "save_npz", "parse_shapes"]
