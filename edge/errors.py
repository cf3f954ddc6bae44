"""The EdgeError family: every error a user can cause or fix.

Each error says what failed, the context, and the fix. A bug inside edge raises InternalError,
which deliberately does not derive from EdgeError so that it is never swallowed as "user error".
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error a user of edge can act on."""


class InputError(EdgeError, ValueError):
    """A tensor, file or argument given to edge is not what it must be (shape, dtype, values)."""


class UnsupportedLayerError(EdgeError):
    """A layer cannot be converted by a rewrite (dense form, forms converters).

    Args:
        path: dotted module path of the layer inside the model ("features.3").
        layer_type: type name of the layer ("Conv2d").
        reason: why it is not admissible.
        fix: what the user can do about it.
    """

    def __init__(self, path: str, layer_type: str, reason: str, fix: str | None = None):
        self.path, self.layer_type, self.reason, self.fix = path, layer_type, reason, fix
        msg = f"layer '{path}' ({layer_type}): {reason}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)


class ExportError(EdgeError):
    """ONNX export failed or produced a file that does not check."""


class ModelLoadError(EdgeError):
    """A model, checkpoint or artifact could not be loaded (missing, truncated, wrong format)."""


class DependencyError(EdgeError, ImportError):
    """An optional dependency needed by a feature is missing."""


class PluginError(EdgeError):
    """The TensorRT plugin library could not be found, loaded, or lacks an expected creator."""


class RuntimeBackendError(EdgeError):
    """A runner backend cannot be used here (not installed, no device) or failed at inference."""


class CalibrationError(EdgeError):
    """Calibration data or quantization could not be produced."""


class EngineError(EdgeError):
    """A TensorRT engine could not be built or loaded."""


class ManifestError(EngineError):
    """An engine manifest does not match this machine or the engine it describes."""


class PipelineError(EdgeError):
    """A camera/video pipeline could not start or stopped for a reason the user must handle."""


class InternalError(Exception):
    """A bug in edge. Not an EdgeError: please report it with the traceback."""
