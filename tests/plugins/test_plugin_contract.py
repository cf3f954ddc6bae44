"""The op READMEs (the single written definition) agree with the TensorRT creators' fields in the C++ source
and with the Python side of the contract (edge.export.contract)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
OPS = {"EdgeMultiPoolUnwarp": "multipool_unwarp", "EdgeSampleInterp": "sample_interp"}
PARSER_ONLY = {"plugin_version", "plugin_namespace"}  # read by the ONNX parser, not passed to the creator
TRT_FIELD_TYPE = {"INT": "kINT32", "INTS": "kINT32", "FLOAT": "kFLOAT32"}


def readme_attributes(folder: str) -> list[tuple[str, str, str]]:
    """Rows (name, type, default) of the README's attribute table (exact header required)."""
    text = (PLUGINS / folder / "README.md").read_text()
    header = "| attribute | type | default | meaning |"
    assert header in text, f"{folder}/README.md lacks the attribute table header {header!r}"
    rows = []
    for line in text.split(header, 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[0], cells[1], cells[2]))
    return rows


def cpp_field_names(folder: str) -> list[str]:
    src = (PLUGINS / folder / f"{folder}_plugin.cpp").read_text()
    match = re.search(r"kFieldNames\[\] = \{([^}]*)\}", src)
    assert match, f"no kFieldNames in {folder}_plugin.cpp"
    return re.findall(r'"([^"]+)"', match.group(1))


@pytest.mark.parametrize("op_type, folder", OPS.items())
def test_readme_attributes_match_creator_fields(op_type, folder):
    rows = readme_attributes(folder)
    assert all(t in {"INT", "INTS", "FLOAT", "STRING"} for _, t, _ in rows)
    assert {n for n, _, _ in rows} >= PARSER_ONLY
    fields = [n for n, _, _ in rows if n not in PARSER_ONLY]
    assert fields == cpp_field_names(folder)
    assert all(t == "STRING" for n, t, _ in rows if n in PARSER_ONLY)


@pytest.mark.parametrize("op_type, folder", OPS.items())
def test_readme_attributes_match_export_contract(op_type, folder):
    contract = pytest.importorskip("edge.export.contract")
    spec = contract.PLUGINS[op_type]
    rows = readme_attributes(folder)
    assert {n: t for n, t, _ in rows} == spec.all_attributes()


def test_creator_field_types_follow_the_parser_mapping():
    """The ONNX parser passes INT/INTS as kINT32 and FLOAT as kFLOAT32: the creators declare those types."""
    src = (PLUGINS / "sample_interp" / "sample_interp_plugin.cpp").read_text()
    types = {n: t for n, t, _ in readme_attributes("sample_interp") if n not in PARSER_ONLY}
    assert types["lambda"] == "FLOAT" and "PluginFieldType::kFLOAT32, 1)" in src
    assert all(TRT_FIELD_TYPE[t] == "kINT32" for n, t in types.items() if n != "lambda")
