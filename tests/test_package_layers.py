"""The package import graph of edge is acyclic and follows the layers of docs/DESIGN.md.

Measured by scripts/structure_report.py (every ``import edge.x`` anywhere in a module counts, lazy ones too).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("structure_report", REPO / "scripts" / "structure_report.py")
structure = importlib.util.module_from_spec(spec)
spec.loader.exec_module(structure)

#: bottom to top: a package may import only packages of its own layer's predecessors (and the base layer)
LAYERS = [
    {"errors", "_lazy", "_warnings", "io", "registry", "spec", "samples", "__init__"},
    {"core"},
    {"models", "native", "ops", "flops"},
    {"dense", "forms"},
    {"export"},
    {"trt"},
    {"runtime"},
    {"calib"},
    {"bench", "camera", "stereo"},
    {"demo", "doctor", "cli", "__main__"},
]


def test_the_package_import_graph_has_no_cycle():
    graph = structure.import_graph(REPO)
    assert structure.cycles(graph) == []


def test_each_package_imports_only_lower_layers():
    level = {p: i for i, layer in enumerate(LAYERS) for p in layer}
    graph = structure.import_graph(REPO)
    unknown = sorted(set(graph) - set(level))
    assert not unknown, f"packages missing from LAYERS (give them a layer): {unknown}"
    upward = [f"{src} -> {dst}" for src, dsts in graph.items() for dst in dsts if level[dst] > level[src]]
    assert not upward, f"imports that go up a layer: {upward}"


def test_the_cycle_detector_finds_a_cycle():
    assert structure.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
