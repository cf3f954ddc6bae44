"""Lazy imports of heavy optional dependencies.

``ort = lazy_import("onnxruntime", feature="ONNX Runtime inference", install="pip install 'edge[onnx]'")``
binds a proxy; the real import happens on first attribute access and a missing package raises
DependencyError naming the feature and the install step (Polygraphy's ``mod.lazy_import`` pattern).
"""

from __future__ import annotations

import importlib
import types
from typing import Any

from edge.errors import DependencyError

_INSTALL_HINTS = {
    "onnx": "pip install 'edge[onnx]'",
    "onnxruntime": "pip install 'edge[onnx]'",
    "onnxscript": "pip install 'edge[onnx]'",
    "onnxslim": "pip install 'edge[onnx]'",
    "cv2": "pip install 'edge[vision]' (on a Jetson use the OpenCV of JetPack, built with GStreamer)",
    "skimage": "pip install 'edge[vision]'",
    "matplotlib": "pip install 'edge[bench]'",
    "tensorrt": "TensorRT comes with JetPack on a Jetson (python3-libnvinfer); on x86 see NVIDIA's install guide",
    "cuda": "pip install 'edge[trt]' (cuda-python)",
    "pycuda": "pip install pycuda (builds against the CUDA driver; cuda-python is the default)",
}


class LazyModule(types.ModuleType):
    """A module proxy that imports ``name`` on first attribute access."""

    def __init__(self, name: str, feature: str | None = None, install: str | None = None):
        super().__init__(name)
        self._edge_name = name
        self._edge_feature = feature
        self._edge_install = install or _INSTALL_HINTS.get(name.split(".")[0], f"pip install {name}")
        self._edge_module: types.ModuleType | None = None

    def _edge_load(self) -> types.ModuleType:
        if self._edge_module is None:
            try:
                self._edge_module = importlib.import_module(self._edge_name)
            except ImportError as e:
                what = f" (needed for {self._edge_feature})" if self._edge_feature else ""
                raise DependencyError(
                    f"module '{self._edge_name}' is not installed{what}: {e}. Install it: {self._edge_install}"
                ) from e
        return self._edge_module

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_edge_"):
            raise AttributeError(attr)
        return getattr(self._edge_load(), attr)

    def __dir__(self):
        return dir(self._edge_load())


def lazy_import(name: str, feature: str | None = None, install: str | None = None) -> Any:
    """Return a proxy for module ``name`` that imports it on first use."""
    return LazyModule(name, feature, install)


def require(*names: str, feature: str) -> None:
    """Raise DependencyError naming ``feature`` and the install step when a module of ``names`` is missing.

    For code paths where a library imports the dependency itself (torch.onnx.export imports onnxscript), so that
    the user sees the missing extra instead of that library's error wrapped in another one.
    """
    for name in names:
        if not has_module(name):
            raise DependencyError(f"{feature} needs the module '{name}', which is not installed. Install it: "
                                  f"{_INSTALL_HINTS.get(name.split('.')[0], f'pip install {name}')}")


def has_module(name: str) -> bool:
    """True when ``name`` can be imported (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
