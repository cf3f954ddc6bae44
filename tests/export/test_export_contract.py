"""The written plugin contract (plugins/<op>/README.md attribute and input tables) and the ONNX nodes the
exporter writes agree exactly: names, types, inputs, plugin_version/plugin_namespace."""

from __future__ import annotations

import re
from pathlib import Path

import onnx
import pytest
import torch
from torch import nn

from edge.export import to_onnx
from edge.export.contract import DOMAIN, PLUGINS, register_schemas
from edge.ops import multipool_unwarp, sample_interp

PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"
ONNX_TYPES = {
    onnx.AttributeProto.INT: "INT",
    onnx.AttributeProto.INTS: "INTS",
    onnx.AttributeProto.FLOAT: "FLOAT",
    onnx.AttributeProto.STRING: "STRING",
}


def _table(text: str, heading: str) -> list[list[str]]:
    """Rows (cells stripped of backticks) of the first Markdown table under ``## heading``."""
    section = re.split(r"^## ", text, flags=re.M)
    body = next((s for s in section if s.startswith(heading)), None)
    assert body is not None, f"README has no '## {heading}' section"
    rows = [ln for ln in body.splitlines() if ln.startswith("|")]
    cells = [[c.strip().strip("`") for c in r.strip().strip("|").split("|")] for r in rows]
    return [c for c in cells[2:]]  # skip the header and the --- line


def readme_contract(path: Path) -> tuple[str, dict[str, str], list[str]]:
    text = path.read_text()
    op_type = text.splitlines()[0].lstrip("# ").strip()
    attrs = {row[0]: row[1] for row in _table(text, "Attributes")}
    inputs = [row[1] for row in _table(text, "Inputs")]
    return op_type, attrs, inputs


READMES = sorted(PLUGINS_DIR.glob("*/README.md"))


def test_every_plugin_has_a_readme():
    assert {readme_contract(p)[0] for p in READMES} == set(PLUGINS)


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.parent.name)
def test_python_contract_matches_readme(readme):
    op_type, attrs, inputs = readme_contract(readme)
    spec = PLUGINS[op_type]
    assert attrs == spec.all_attributes()
    assert tuple(inputs) == spec.inputs
    register_schemas()
    schema = onnx.defs.get_schema(op_type, 1, DOMAIN)
    assert {a.name: ONNX_TYPES[int(a.type.value)] for a in schema.attributes.values()} == attrs


class Both(nn.Module):
    """Uses both custom ops, so that one export shows both plugin nodes."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)

    def forward(self, x, mask):
        y = sample_interp(x, mask, self.conv.weight, self.conv.bias, padding=1, activation=1)
        return multipool_unwarp(y, ((2, 1), (1, 2)), out_h=3)


def test_exported_nodes_carry_exactly_the_readme_attributes(tmp_path):
    x, mask = torch.randn(4, 2, 3, 5), torch.ones(4, 1, 3, 5)
    path = to_onnx(Both().eval(), (x, mask), tmp_path / "both.onnx", plugins=True, dynamic=False)
    nodes = [n for n in onnx.load(str(path)).graph.node if n.domain == DOMAIN]
    assert sorted(n.op_type for n in nodes) == sorted(PLUGINS)
    contracts = {readme_contract(p)[0]: readme_contract(p) for p in READMES}
    for node in nodes:
        _, attrs, inputs = contracts[node.op_type]
        assert {a.name: ONNX_TYPES[a.type] for a in node.attribute} == attrs
        assert len(node.input) == len(inputs)
        values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert values["plugin_version"] == b"1" and values["plugin_namespace"] == b""
