"""TensorRT engine building (10.x and 11.x code paths), engine manifests and plugin loading.

Importable without TensorRT: ``tensorrt`` is imported lazily on first use.
- ``build_engine(onnx, engine, BuildOptions(...), recipe=...)`` -> plan file + ``<engine>.json`` manifest
- loaders ``NetworkFromOnnx``, ``CreateConfig``, ``EngineFromNetwork``, ``SaveEngine`` compose (Polygraphy style)
- ``EngineFromPath(engine)()`` / ``EngineFromBytes(plan)()``: the one loading path (manifest check, plugin
  libraries, runtime flags, deserialisation) that the runner, the build verification and the benchmarks use
- ``check_manifest(engine_path, allow_mismatch=False)``: the manifest check EngineFromPath runs
- ``edge.trt.plugins``: plugin library location and loading
"""

from edge.trt.build import BuildResult, build_engine
from edge.trt.engine import EngineFromBytes, EngineFromPath
from edge.trt.loaders import BuildOptions, CreateConfig, EngineFromNetwork, NetworkFromOnnx, SaveEngine
from edge.trt.manifest import check_manifest, machine_info, manifest_path, read_manifest

__all__ = ["BuildOptions", "BuildResult", "CreateConfig", "EngineFromBytes", "EngineFromNetwork", "EngineFromPath",
           "NetworkFromOnnx", "SaveEngine", "build_engine", "check_manifest", "machine_info", "manifest_path",
           "read_manifest"]
