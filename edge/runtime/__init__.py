"""One Runner interface over PyTorch, ONNX Runtime and TensorRT (``edge.runtime.load(artifact)``).

Importing this package registers every backend; none imports its heavy dependency until used.
"""

from edge.runtime.base import Runner, TensorMeta, backends, check_feed
from edge.runtime import onnxruntime_backend, torch_backend  # noqa: F401 - register the backends
from edge.runtime.loader import backend_for, load

__all__ = ["Runner", "TensorMeta", "backends", "check_feed", "load", "backend_for"]
