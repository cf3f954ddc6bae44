"""Structure figures of the ``edge`` package: module and function sizes, the package import graph and its
cycles, and which modules have a mirrored test file (``tests/<package>/test_<module>.py``).

    python scripts/structure_report.py [--root .] [--json out.json] [--graph]

The import graph counts every ``import edge.x`` / ``from edge.x import ...`` anywhere in a module (top level and
inside functions alike: a lazy import is still a dependency); an edge goes from the importing package (the
first folder under ``edge/``; top-level modules are packages of their own) to the imported one. A cycle is a
strongly connected component of more than one package. ``tests/test_package_layers.py`` keeps the graph acyclic.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
from collections import defaultdict
from pathlib import Path


def modules(root: Path) -> list[Path]:
    return sorted(p for p in (root / "edge").rglob("*.py") if "__pycache__" not in p.parts)


def package_of(path: Path, root: Path) -> str:
    """``edge/calib/gate.py`` -> ``calib``; ``edge/io.py`` -> ``io``."""
    parts = path.relative_to(root / "edge").with_suffix("").parts
    return parts[0]


def imported_packages(path: Path) -> set[str]:
    """The edge packages a module imports (``edge.calib.gate`` -> ``calib``), relative imports resolved."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's own package
                base = list(path.with_suffix("").parts[path.parts.index("edge"):-node.level])
                mod = ".".join(base + ([node.module] if node.module else []))
                names = [mod] + [f"{mod}.{a.name}" for a in node.names]
            else:
                mod = node.module or ""
                names = [mod] + ([f"{mod}.{a.name}" for a in node.names] if mod == "edge" else [])
        else:
            continue
        for n in names:
            parts = n.split(".")
            if parts[0] == "edge" and len(parts) > 1:
                found.add(parts[1])
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    packages = {package_of(p, root) for p in modules(root)}
    graph: dict[str, set[str]] = defaultdict(set)
    for p in modules(root):
        src = package_of(p, root)
        for dst in imported_packages(p):
            if dst != src and dst in packages:
                graph[src].add(dst)
    return {k: set(v) for k, v in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    nodes = set(graph) | {w for vs in graph.values() for w in vs}
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def sizes(root: Path) -> tuple[list[int], list[int]]:
    """(lines per module, lines per function or method)."""
    mods, funcs = [], []
    for p in modules(root):
        text = p.read_text()
        mods.append(len(text.splitlines()))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                funcs.append(node.end_lineno - node.lineno + 1)
    return mods, funcs


def mirrored(root: Path) -> tuple[int, int]:
    """(modules with a tests/<package>/test_<module>.py, modules counted); __init__ and __main__ excluded."""
    counted = have = 0
    for p in modules(root):
        if p.name in ("__init__.py", "__main__.py"):
            continue
        counted += 1
        rel = p.relative_to(root / "edge")
        test = root / "tests" / rel.parent / f"test_{rel.stem}.py"
        have += test.exists()
    return have, counted


def summary(values: list[int]) -> dict:
    q = statistics.quantiles(values, n=10)
    return {"count": len(values), "median": statistics.median(values), "p90": q[-1], "max": max(values)}


def report(root: Path) -> dict:
    mods, funcs = sizes(root)
    graph = import_graph(root)
    have, counted = mirrored(root)
    return {"modules": summary(mods), "functions": summary(funcs), "modules_over_400_lines": sum(m > 400 for m in mods),
            "functions_over_40_lines": sum(f > 40 for f in funcs), "packages": len({package_of(p, root) for p in modules(root)}),
            "import_cycles": cycles(graph), "mirrored_tests": {"modules": counted, "with_test": have},
            "graph": {k: sorted(v) for k, v in sorted(graph.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--graph", action="store_true", help="print the package import graph")
    args = ap.parse_args()
    rep = report(args.root)
    for key in ("modules", "functions"):
        s = rep[key]
        print(f"{key:10s} {s['count']:4d}  median {s['median']:5.0f} lines  p90 {s['p90']:5.0f}  max {s['max']:4d}")
    print(f"modules over 400 lines: {rep['modules_over_400_lines']}; functions over 40 lines: "
          f"{rep['functions_over_40_lines']}")
    m = rep["mirrored_tests"]
    print(f"modules with a mirrored test file: {m['with_test']} of {m['modules']}")
    print(f"packages: {rep['packages']}; import cycles: {len(rep['import_cycles'])}")
    for c in rep["import_cycles"]:
        print("  cycle: " + " <-> ".join(c))
    if args.graph:
        for k, v in rep["graph"].items():
            print(f"  {k} -> {', '.join(v)}")
    if args.json:
        args.json.write_text(json.dumps(rep, indent=1))


if __name__ == "__main__":
    main()
