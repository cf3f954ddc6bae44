"""A strict recording double of the ``tensorrt`` module, generated from the tensorrt-stubs 10.13 signatures.

For PROTOCOL TESTS only: they check the order and arguments of edge's calls into TensorRT without a GPU.
They never count as TensorRT tests and never produce a figure (TensorRT's behaviour is not simulated:
every value a call returns is scripted by the test, or a fresh double of the annotated class).

Strictness: the API comes from ``trt_api_10_13.json`` (``protocol_spec_gen.py`` writes it from the stubs).
A class, function, enum member, method or attribute the stubs lack raises AttributeError; a call whose
arguments bind to no overload raises TypeError; setting a read-only or unknown attribute raises
AttributeError; arguments annotated ``str``/``int``/``bool``/``float`` are type-checked. Every call and
attribute write is appended to ``double.calls`` as ``(what, "Class.member", args)``.

Injection: ``use_double(monkeypatch)`` points every ``lazy_import("tensorrt")`` proxy of the loaded edge
modules at a fresh double for the duration of one test. ``sys.modules["tensorrt"]`` is never touched.
"""

from __future__ import annotations

import inspect
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parent / "trt_api_10_13.json"
_SPEC: dict | None = None
_SIMPLE = {"str": str, "int": int, "bool": bool, "float": (int, float)}
_DEFAULTS = {"bool": True, "int": 0, "str": "", "None": None, "float": 0.0}


def spec() -> dict:
    global _SPEC
    if _SPEC is None:
        _SPEC = json.loads(SPEC_PATH.read_text())
    return _SPEC


def _signature(params: list) -> inspect.Signature:
    kinds = {"posonly": inspect.Parameter.POSITIONAL_ONLY, "pos": inspect.Parameter.POSITIONAL_OR_KEYWORD,
             "varargs": inspect.Parameter.VAR_POSITIONAL, "kwonly": inspect.Parameter.KEYWORD_ONLY,
             "varkw": inspect.Parameter.VAR_KEYWORD}
    out = [inspect.Parameter(n, kinds[k], default=None if d else inspect.Parameter.empty, annotation=a)
           for n, k, d, a in params]
    return inspect.Signature(out)


def _bind(what: str, overloads: list, args: tuple, kwargs: dict) -> dict:
    """The bound arguments of the first overload that accepts them (and their simple types), else TypeError."""
    errors = []
    for ov in overloads:
        sig = _signature(ov["params"])
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            errors.append(str(e))
            continue
        bad = [f"{n}={v!r} is not {sig.parameters[n].annotation}" for n, v in bound.arguments.items()
               if sig.parameters[n].annotation in _SIMPLE and not isinstance(v, _SIMPLE[sig.parameters[n].annotation])]
        if not bad:
            return dict(bound.arguments)
        errors.append("; ".join(bad))
    raise TypeError(f"{what}: no overload of the 10.13 API accepts these arguments ({' | '.join(errors)})")


class EnumMember:
    """``trt.TensorIOMode.INPUT`` and the like: compares by class and name (like the real enums)."""

    def __init__(self, cls: str, name: str):
        self.cls, self.name = cls, name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnumMember) and (other.cls, other.name) == (self.cls, self.name)

    def __hash__(self) -> int:
        return hash((self.cls, self.name))

    def __int__(self) -> int:
        members = self._members()
        return members.index(self.name)

    def _members(self) -> list[str]:
        return sorted(spec()["classes"].get(self.cls, {}).get("members", []))

    def __repr__(self) -> str:
        return f"<{self.cls}.{self.name}>"


class StrictDouble(types.ModuleType):
    """The module double: ``double.Runtime``, ``double.get_plugin_registry()``, ``double.__version__``.

    Args:
        script: ``{"Class.member": value or callable(obj, **bound_args)}``: what a method returns or a
            read-only attribute reads; unscripted calls return the annotated default (bool True, int 0,
            None, or a fresh double of the annotated class) and anything else raises.
    """

    def __init__(self, script: dict[str, Any] | None = None):
        super().__init__("tensorrt")
        self.script = dict(script or {})
        self.calls: list[tuple[str, str, Any]] = []
        self._classes: dict[str, type] = {}
        self.__version__ = spec()["constants"]["__version__"]

    # ---- module attributes ----
    def __getattr__(self, name: str) -> Any:
        s = spec()
        if name in s["classes"]:
            return self._class(name)
        if name in s["functions"]:
            return self._function(name, s["functions"][name])
        raise AttributeError(f"module 'tensorrt' (10.13 stubs) has no attribute '{name}'")

    def _function(self, name: str, overloads: list) -> Callable:
        def call(*args, **kwargs):
            bound = _bind(f"tensorrt.{name}", overloads, args, kwargs)
            self.calls.append(("call", name, bound))
            return self.result(name, overloads[0]["returns"], None, bound)
        return call

    def result(self, key: str, returns: str, obj: Any, bound: dict) -> Any:
        if key in self.script:
            v = self.script[key]
            return v(obj, **{k: a for k, a in bound.items() if k != "self"}) if callable(v) else v
        ret = returns.split(".")[-1].strip("'\"")
        if ret in _DEFAULTS:
            return _DEFAULTS[ret]
        if ret in spec()["classes"]:
            return self._class(ret).__new__(self._class(ret))
        raise AssertionError(f"protocol double: {key} returns {returns!r}; script it (double.script['{key}'] = ...)")

    # ---- classes ----
    def _class(self, name: str) -> type:
        if name not in self._classes:
            self._classes[name] = _make_class(self, name)
        return self._classes[name]

    def find(self, what: str, member: str | None = None) -> list[tuple[str, str, Any]]:
        """The recorded events of one kind ("call", "set", "new"), optionally of one member."""
        return [c for c in self.calls if c[0] == what and (member is None or c[1] == member)]


def _lookup(cls_name: str, part: str, name: str) -> Any:
    """``part`` ("methods"/"attrs"/"members") ``name`` of ``cls_name`` or of a base class, else None."""
    classes = spec()["classes"]
    todo = [cls_name]
    while todo:
        c = classes.get(todo.pop(0))
        if c is None:
            continue
        if name in c[part]:
            return c[part][name] if part != "members" else name
        todo.extend(c["bases"])
    return None


def _make_class(double: StrictDouble, name: str) -> type:
    class Meta(type):
        def __getattr__(cls, attr: str) -> Any:
            if _lookup(name, "members", attr):
                return EnumMember(name, attr)
            nested = spec()["classes"][name].get("nested", {})
            if attr in nested:
                return types.SimpleNamespace(**{m: EnumMember(name, m) for m in nested[attr]["members"]})
            raise AttributeError(f"tensorrt.{name} (10.13 stubs) has no attribute '{attr}'")

    def __init__(self, *args, **kwargs):
        overloads = _lookup(name, "methods", "__init__") or [{"params": [["self", "pos", False, ""]]}]
        bound = _bind(f"tensorrt.{name}()", overloads, (self, *args), kwargs)
        object.__setattr__(self, "_values", {})
        double.calls.append(("new", name, {k: v for k, v in bound.items() if k != "self"}))

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr == "_values":
            raise AttributeError(attr)
        values = self.__dict__.setdefault("_values", {})
        overloads = _lookup(name, "methods", attr)
        if overloads:
            def method(*args, **kwargs):
                bound = _bind(f"{name}.{attr}", overloads, (self, *args), kwargs)
                bound.pop(next(iter(bound)), None)  # self
                double.calls.append(("call", f"{name}.{attr}", bound))
                return double.result(f"{name}.{attr}", overloads[0]["returns"], self, bound)
            return method
        a = _lookup(name, "attrs", attr)
        if a is None:
            raise AttributeError(f"tensorrt.{name} (10.13 stubs) has no attribute '{attr}'")
        if attr in values:
            return values[attr]
        key = f"{name}.{attr}"
        if key in double.script:
            v = double.script[key]
            return v(self) if callable(v) else v
        return {"bool": False, "int": 0, "str": ""}.get(a["type"], None)

    def __setattr__(self, attr: str, value: Any) -> None:
        if type(self).__name__ != name or attr.startswith("_"):  # a user subclass (a calibrator) or private
            object.__setattr__(self, attr, value)
            return
        a = _lookup(name, "attrs", attr)
        if a is None or not a["settable"]:
            raise AttributeError(f"tensorrt.{name}.{attr} is not a settable attribute in the 10.13 stubs")
        self.__dict__.setdefault("_values", {})[attr] = value
        double.calls.append(("set", f"{name}.{attr}", value))

    return Meta(name, (), {"__init__": __init__, "__getattr__": __getattr__, "__setattr__": __setattr__,
                           "__module__": "tensorrt"})


def tensorrt_proxies() -> list[Any]:
    """Every ``lazy_import("tensorrt")`` proxy bound in a loaded ``edge`` module."""
    from edge._lazy import LazyModule

    out = []
    for mod_name, mod in list(sys.modules.items()):
        if mod_name == "edge" or mod_name.startswith("edge."):
            for v in vars(mod).values():
                if isinstance(v, LazyModule) and v._edge_name == "tensorrt" and v not in out:
                    out.append(v)
    return out


def use_double(monkeypatch, script: dict[str, Any] | None = None) -> StrictDouble:
    """Point edge's lazy ``tensorrt`` proxies at a fresh double until the test ends (monkeypatch undoes it)."""
    import importlib

    for mod in ("edge.runtime.tensorrt_backend", "edge.trt.build", "edge.trt.calibrator", "edge.trt.engine",
                "edge.trt.plugins"):  # load the modules whose proxies are patched
        try:
            importlib.import_module(mod)
        except ImportError:  # an older edge without that module
            pass

    double = StrictDouble(script)
    assert "tensorrt" not in sys.modules or not isinstance(sys.modules["tensorrt"], StrictDouble)
    for proxy in tensorrt_proxies():
        monkeypatch.setattr(proxy, "_edge_module", double)
    return double


def recording_cuda(double: StrictDouble) -> type:
    """A device-memory layer (edge's own ``CudaApi`` interface, every abstract method required) that
    records into ``double.calls`` so TensorRT and CUDA calls share one ordered log; ``malloc`` returns
    distinct fake addresses, host arrays are plain numpy arrays. No copy moves data."""
    import numpy as np

    from edge.core.cuda import CudaApi

    class RecordingCuda(CudaApi):
        name = "recording"

        def __init__(self):
            self._next = 0x10000

        def _rec(self, what: str, *args):
            double.calls.append(("cuda", what, args))

        def malloc(self, nbytes):
            self._next += 0x10000
            self._rec("malloc", nbytes, self._next)
            return self._next

        def free(self, ptr):
            self._rec("free", ptr)

        def host_empty(self, shape, dtype):
            return np.zeros(shape, dtype)

        def host_free(self, arr):
            pass

        def htod_async(self, dst, src, stream):
            self._rec("htod", dst, tuple(src.shape), stream)

        def dtoh_async(self, dst, src, stream):
            self._rec("dtoh", src, tuple(dst.shape), stream)

        def stream_create(self):
            return 7

        def stream_destroy(self, stream):
            pass

        def stream_handle(self, stream):
            return int(stream)

        def stream_synchronize(self, stream):
            self._rec("sync", stream)

        def event_create(self):
            self._next += 1
            return self._next

        def event_record(self, event, stream):
            self._rec("event", event, stream)

        def event_elapsed_ms(self, start, end):
            return 0.0

    return RecordingCuda


# ---------------------------------------------------------------- pycuda.driver (names from pycuda's wrapper)
PYCUDA_SPEC_PATH = Path(__file__).resolve().parent / "pycuda_api.json"


class StrictPycudaDriver(types.ModuleType):
    """A strict recording double of ``pycuda.driver``: only the names pycuda's wrapper exports
    (``pycuda_api.json``, generated from src/wrapper/wrap_cudadrv.cpp); every call recorded with its thread
    in ``calls`` as ``(thread name, "Class.member" or "function")``. Like the CUDA driver API, an operation
    that needs a context raises unless one is current on the calling thread (pushed and not yet popped):
    "invalid device context" is what the pipeline thread got with ``pycuda.autoinit``."""

    NEEDS_CONTEXT = frozenset({"mem_alloc", "pagelocked_empty", "memcpy_htod_async", "memcpy_dtoh_async", "Stream",
                     "Event", "Stream.synchronize", "Event.record", "Event.synchronize", "Event.time_till",
                     "DeviceAllocation.free"})

    def __init__(self):
        import threading

        super().__init__("pycuda.driver")
        self._spec = json.loads(PYCUDA_SPEC_PATH.read_text())
        self._local = threading.local()
        self.calls: list[tuple[str, str]] = []
        self._next = 0x1000

    def _stack(self) -> list:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    def _record(self, what: str) -> None:
        import threading

        if what in self.NEEDS_CONTEXT and not self._stack():
            raise RuntimeError(f"{what} failed: invalid device context (no context current on thread "
                               f"'{threading.current_thread().name}')")
        self.calls.append((threading.current_thread().name, what))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._spec["functions"]:
            return self._function(name)
        if name in self._spec["classes"]:
            return self._class(name)
        raise AttributeError(f"pycuda.driver has no attribute '{name}' (pycuda's wrapper does not export it)")

    def _function(self, name: str) -> Callable:
        import numpy as np

        def call(*args, **kwargs):
            self._record(name)
            if name == "mem_alloc":
                return self._class("DeviceAllocation")()
            if name == "pagelocked_empty":
                return np.zeros(args[0], args[1] if len(args) > 1 else kwargs.get("dtype", np.float64))
            return None
        return call

    def _class(self, name: str) -> type:
        drv, members = self, self._spec["classes"][name]

        class Meta(type):
            def __getattr__(cls, attr: str) -> Any:
                if attr in members["static"]:
                    return lambda *a, **k: drv._static(name, attr)
                raise AttributeError(f"pycuda.driver.{name} has no static member '{attr}'")

        def __init__(obj, *args, **kwargs):
            if name in ("Stream", "Event"):
                drv._record(name)
            drv._next += 0x100
            object.__setattr__(obj, "_addr", drv._next)

        def __getattr__(obj, attr: str) -> Any:
            if attr.startswith("_") or attr not in members["members"]:
                raise AttributeError(f"pycuda.driver.{name} has no attribute '{attr}'")
            if attr == "handle":
                return obj._addr
            return lambda *a, **k: drv._method(name, attr, obj)

        return Meta(name, (), {"__init__": __init__, "__getattr__": __getattr__, "__int__": lambda obj: obj._addr})

    def _method(self, cls: str, attr: str, obj: Any) -> Any:
        self._record(f"{cls}.{attr}")
        if (cls, attr) == ("Device", "retain_primary_context"):
            return self._class("Context")()
        if (cls, attr) == ("Context", "push"):
            self._stack().append(obj)
        if (cls, attr) == ("Event", "time_till"):
            return 0.0
        return None

    def _static(self, cls: str, attr: str) -> Any:
        self._record(f"{cls}.{attr}")
        if (cls, attr) == ("Context", "pop"):
            self._stack().pop()
        return None


def engine_script(double_calls: Callable[[], list]) -> dict[str, Any]:
    """Script for a two-tensor engine: input "input" (-1, 3, 8, 8) with profile batch 1..4, output "output"
    (-1, 4) float32 whose batch follows the last ``set_input_shape``. ``double_calls`` returns the log."""
    io = {"input": ("INPUT", (-1, 3, 8, 8)), "output": ("OUTPUT", (-1, 4))}

    def out_shape(obj, name):
        sets = [c[2]["shape"] for c in double_calls() if c[:2] == ("call", "IExecutionContext.set_input_shape")]
        return tuple(sets[-1])[:1] + io[name][1][1:] if name == "output" else tuple(sets[-1])

    return {
        "ICudaEngine.num_io_tensors": 2,
        "ICudaEngine.get_tensor_name": lambda obj, index: list(io)[index],
        "ICudaEngine.get_tensor_mode": lambda obj, name: EnumMember("TensorIOMode", io[name][0]),
        "ICudaEngine.get_tensor_shape": lambda obj, name: io[name][1],
        "ICudaEngine.get_tensor_dtype": lambda obj, name: EnumMember("DataType", "FLOAT"),
        "ICudaEngine.get_tensor_profile_shape": lambda obj, name, profile_index: [(1, 3, 8, 8), (2, 3, 8, 8),
                                                                                   (4, 3, 8, 8)],
        "IExecutionContext.get_tensor_shape": out_shape,
        "IExecutionContext.infer_shapes": [],
    }


def scripted_engine_double(monkeypatch) -> StrictDouble:
    """``use_double`` with ``engine_script`` installed (the log the script reads is the double's own)."""
    double = use_double(monkeypatch)
    double.script.update(engine_script(lambda: double.calls))
    return double


def tiny_onnx(path: Path) -> Path:
    """A real one-conv ONNX file (input ``(N, 1, H, W)`` named "input"): ``build_engine`` reads it for the static
    TensorRT check before the double's parser sees it."""
    import torch

    torch.onnx.export(torch.nn.Conv2d(1, 1, 3), (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "n", 2: "h", 3: "w"}, "output": {0: "n", 2: "h", 3: "w"}})
    return path
