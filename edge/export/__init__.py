"""ONNX export with TensorRT plugin nodes or standard operators only (issue 3).

- :func:`to_onnx`: model -> checked ONNX file (plugin or portable mode, dynamic batch/H/W).
- :func:`attach_plugin_functions` / :func:`detach_plugin_functions`: make a plugin-mode model runnable
  in ONNX Runtime on a CPU (model-local functions), and restore its original bytes.
- :func:`load_onnx`: load and check an ONNX file with clear errors for missing/truncated/corrupt files.

One module per custom op maps it to its plugin node (``multipool_unwarp.py``, ``sample_interp.py``);
``contract.py`` holds the plugin attribute tables of ``plugins/<op>/README.md``.
Importing this package does not import onnx, onnxscript or onnxruntime.
"""

from __future__ import annotations

from edge.export.ort_functions import attach_plugin_functions, detach_plugin_functions

__all__ = ["to_onnx", "load_onnx", "attach_plugin_functions", "detach_plugin_functions"]


def __getattr__(name: str):
    if name in ("to_onnx", "load_onnx"):
        from edge.export import onnx_export

        return getattr(onnx_export, name)
    raise AttributeError(f"module 'edge.export' has no attribute {name!r}")
