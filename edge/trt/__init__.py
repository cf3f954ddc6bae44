"""TensorRT engine building (10.x and 11.x code paths), engine manifests and plugin loading.

Importable without TensorRT: ``tensorrt`` is imported lazily on first use.
- ``build_engine(onnx, engine, BuildOptions(...), recipe=...)`` -> plan file + ``<engine>.json`` manifest
- loaders ``NetworkFromOnnx``, ``CreateConfig``, ``EngineFromNetwork``, ``SaveEngine`` compose (Polygraphy style)
- ``check_manifest(engine_path, allow_mismatch=False)`` before deserialising (the TensorRT runner calls it)
- ``edge.trt.plugins`` (plugin library location and loading) is engineer B's module.
"""

from edge.trt.build import BuildResult, build_engine, load_engine
from edge.trt.loaders import BuildOptions, CreateConfig, EngineFromNetwork, NetworkFromOnnx, SaveEngine
from edge.trt.manifest import check_manifest, machine_info, manifest_path, read_manifest

__all__ = ["BuildOptions", "BuildResult", "CreateConfig", "EngineFromNetwork", "NetworkFromOnnx", "SaveEngine",
           "build_engine", "check_manifest", "load_engine", "machine_info", "manifest_path", "read_manifest"]
