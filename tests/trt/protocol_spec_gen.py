#!/usr/bin/env python3
"""Generate ``tests/trt/trt_api_10_13.json``, the API the protocol double allows, from tensorrt-stubs.

    make typecheck   # installs tensorrt-stubs==10.13.0.35.1 into build/typecheck-venv
    python tests/trt/protocol_spec_gen.py build/typecheck-venv/lib/python3.11/site-packages

The stubs are parsed with ``ast`` (never imported, never installed in the runtime environment). For every
class: its bases, its enum members (``ClassVar`` annotations), its settable attributes (plain annotations
and ``@x.setter`` properties), its read-only properties and, for each method, every overload's parameters
and return annotation. Module level: functions and annotated constants (``__version__``).
``test_protocol_double.py`` regenerates the spec from the stubs when they are installed and compares.

``--pycuda <wrap_cudadrv.cpp> <repo@commit>`` writes ``pycuda_api.json`` (the names pycuda.driver exports)
from pycuda's wrapper source (github.com/inducer/pycuda, src/wrapper/wrap_cudadrv.cpp).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE / "trt_api_10_13.json"
PYCUDA_SPEC = HERE / "pycuda_api.json"
STUBS = ("tensorrt_bindings/tensorrt.pyi", "tensorrt/__init__.pyi")


def _params(fn: ast.FunctionDef) -> list[list]:
    """[[name, kind, has_default, annotation], ...] with kind in posonly|pos|varargs|kwonly|varkw."""
    a = fn.args
    out: list[list] = []
    pos = [*a.posonlyargs, *a.args]
    first_default = len(pos) - len(a.defaults)
    for i, p in enumerate(pos):
        out.append([p.arg, "posonly" if i < len(a.posonlyargs) else "pos", i >= first_default, _ann(p)])
    if a.vararg:
        out.append([a.vararg.arg, "varargs", False, _ann(a.vararg)])
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append([p.arg, "kwonly", d is not None, _ann(p)])
    if a.kwarg:
        out.append([a.kwarg.arg, "varkw", False, _ann(a.kwarg)])
    return out


def _ann(arg: ast.arg) -> str:
    return ast.unparse(arg.annotation) if arg.annotation is not None else ""


def _decorators(fn: ast.FunctionDef) -> set[str]:
    return {ast.unparse(d) for d in fn.decorator_list}


def parse_class(node: ast.ClassDef) -> dict:
    cls: dict = {"bases": [ast.unparse(b).split(".")[-1] for b in node.bases], "members": [], "attrs": {},
                 "methods": {}}
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            ann = ast.unparse(item.annotation)
            if ann.startswith("typing.ClassVar"):
                if not item.target.id.startswith("__"):
                    cls["members"].append(item.target.id)
            else:
                cls["attrs"][item.target.id] = {"type": ann, "settable": True}
        elif isinstance(item, ast.FunctionDef):
            deco = _decorators(item)
            if "property" in deco:
                cls["attrs"].setdefault(item.name, {"type": ast.unparse(item.returns) if item.returns else "",
                                                    "settable": False})
            elif f"{item.name}.setter" in deco:
                cls["attrs"].setdefault(item.name, {"type": "", "settable": True})["settable"] = True
            else:
                overload = {"params": _params(item), "returns": ast.unparse(item.returns) if item.returns else "",
                            "static": "staticmethod" in deco}
                cls["methods"].setdefault(item.name, []).append(overload)
        elif isinstance(item, ast.ClassDef):
            cls.setdefault("nested", {})[item.name] = parse_class(item)
    return cls


def generate(site_packages: Path) -> dict:
    tree = ast.parse((site_packages / STUBS[0]).read_text())
    spec: dict = {"source": "tensorrt-stubs==10.13.0.35.1 (" + ", ".join(STUBS) + ")", "classes": {},
                  "functions": {}, "constants": {}}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            spec["classes"][node.name] = parse_class(node)
        elif isinstance(node, ast.FunctionDef):
            spec["functions"][node.name] = [{"params": _params(node), "returns": ast.unparse(node.returns)
                                             if node.returns else ""}]
    init = ast.parse((site_packages / STUBS[1]).read_text())
    for node in init.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                isinstance(node.value, ast.Constant):
            spec["constants"][node.target.id] = node.value.value
    return spec


def generate_pycuda(cpp: str, source: str) -> dict:
    """Names ``pycuda.driver`` exports, from pycuda's Boost.Python wrapper (src/wrapper/wrap_cudadrv.cpp):
    module functions (``py::def``, ``DEF_SIMPLE_FUNCTION``) and, per class (``py::class_<...>("Name"``),
    its methods and properties; ``static`` lists the ``.staticmethod("x")`` ones."""
    spec: dict = {"source": source, "functions": sorted(set(re.findall(r'py::def\("(\w+)"', cpp)) |
                                                          set(re.findall(r"DEF_SIMPLE_FUNCTION\((\w+)\)", cpp))),
                  "classes": {}}
    starts = [m for m in re.finditer(r"py::class_<[^;]*?>\s*(?:\w+\s*)?\(\s*\"(\w+)\"", cpp)]
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(cpp)
        body = cpp[m.end():end]
        names = set(re.findall(r'\.(?:def|add_property|def_readonly|def_readwrite)\(\s*"(\w+)"', body))
        names |= set(re.findall(r"\.DEF_SIMPLE_METHOD\((\w+)\)", body))
        names |= set(re.findall(r"wrp\.(?:def|add_property)\(\s*\"(\w+)\"", body))
        spec["classes"][m.group(1)] = {"members": sorted(names),
                                      "static": sorted(set(re.findall(r'\.staticmethod\("(\w+)"\)', body)))}
    return spec


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--pycuda":  # --pycuda <wrap_cudadrv.cpp> "<repo@commit>"
        PYCUDA_SPEC.write_text(json.dumps(generate_pycuda(Path(argv[1]).read_text(), argv[2]), indent=0,
                                          sort_keys=True) + "\n")
        print(f"wrote {PYCUDA_SPEC}")
        return 0
    if len(argv) != 1:
        print(__doc__)
        return 2
    SPEC.write_text(json.dumps(generate(Path(argv[0])), indent=0, sort_keys=True) + "\n")
    print(f"wrote {SPEC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
