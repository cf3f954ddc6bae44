"""The rule tables of the TensorRT compatibility check: one JSON file per TensorRT release, as data.

``tables/trt-<release>.json`` holds what the TensorRT ONNX parser of that release accepts, each entry with
the source it was read from (onnx/onnx-tensorrt ``docs/operators.md``, ``onnxOpImporters.cpp`` and
``ModelImporter.cpp`` at the release's tag, NVIDIA/TensorRT ``CHANGELOG.md``); docs/TRT_COMPAT.md explains
how each table was derived. :data:`RULES` names every rule the check applies, its severity and what it
checks; the functions in :mod:`edge.export.check.checks` read their limits from the table of each release.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from edge.errors import InputError

TABLES = Path(__file__).with_name("tables")
RELEASES = ("10.3", "10.13", "11")
DEFAULT_RELEASES = ("10.3", "10.13")  # JetPack 6 (Orin) and JetPack 7 (Thor)


@dataclass(frozen=True)
class Rule:
    """One rule: id, default severity and the one-line description shown in reports and docs."""

    id: str
    severity: str
    what: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("OPSET", "error", "default-domain opset inside the range the release documents"),
    Rule("IR_VERSION", "error", "ir_version at least what the opset needs (ONNX), at most what the parser's ONNX reads"),
    Rule("OP_SUPPORT", "error", "every default-domain op has a built-in importer in the release"),
    Rule("OP_TYPES", "error", "the data input's element type is one the op supports"),
    Rule("OP_ATTRIBUTE", "error", "attribute values the importer accepts (ScatterND reduction, pool dilations, Resize modes)"),
    Rule("CONSTANT_INPUT", "error", "inputs the importer needs as initializers/constants (axes, CumSum axis)"),
    Rule("OP_OUTPUTS", "error", "no use of outputs the importer does not produce (MaxPool Indices)"),
    Rule("RANK", "error", "tensor ranks within TensorRT's limit and the op's (Conv 3-5, pooling 4-5)"),
    Rule("IO_TYPE", "error", "graph inputs/outputs of a type TensorRT binds"),
    Rule("QDQ_TYPE", "error", "Q/DQ quantized type INT8/FP8/INT4 (no UINT8)"),
    Rule("QDQ_ZERO_POINT", "error", "Q/DQ zero points constant and all zero (symmetric)"),
    Rule("QDQ_SCALE", "error", "Q/DQ scales constant, static and strictly positive"),
    Rule("QDQ_PER_CHANNEL", "error", "per-channel Q/DQ only on weights, along the output-channel axis, one scale per channel"),
    Rule("QDQ_FP16_SCALE", "error", "FP16 Q/DQ scales only from opset 19"),
    Rule("PLUGIN_DISPATCH", "error", "a custom-domain node's op_type is no built-in op (the parser dispatches on op_type only)"),
    Rule("PLUGIN_ATTRIBUTES", "error", "plugin_version/plugin_namespace are STRING; field attributes of a type the fallback importer passes"),
    Rule("PLUGIN_CONTRACT", "error", "an edge plugin node carries its contract's attributes with their types"),
    Rule("LOCAL_FUNCTION", "error", "no model-local function shadowing a plugin (imported instead of the plugin before 10.7)"),
)}


def normalize_release(text: str) -> str:
    """``"10.3"``, ``"10.3.0.26"``, ``"10.13"``, ``"11"``, ``"11.1"`` -> the table that applies (see each
    table's ``covers``): 10.0-10.8 -> "10.3", 10.9-10.x -> "10.13", 11.x -> "11"."""
    parts = str(text).strip().lower().removeprefix("trt").strip("-").split(".")
    try:
        major = int(parts[0])
        minor = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    except ValueError:
        raise InputError(f"TensorRT release '{text}' must look like 10.3, 10.13 or 11 (tables: "
                         f"{', '.join(RELEASES)})") from None
    if major == 10:
        return "10.3" if minor <= 8 else "10.13"
    if major == 11:
        return "11"
    raise InputError(f"no rule table for TensorRT {text}: the check knows {', '.join(RELEASES)} "
                     "(10.0-10.8 use the 10.3 table, 10.9-10.x the 10.13 table, 11.x the 11 table)")


def parse_releases(text: str | None) -> tuple[str, ...]:
    """``"10.3,10.13"`` -> ("10.3", "10.13"); None/empty -> :data:`DEFAULT_RELEASES`. Order kept, no repeats."""
    if not text:
        return DEFAULT_RELEASES
    out: list[str] = []
    for item in str(text).split(","):
        if item.strip() and normalize_release(item) not in out:
            out.append(normalize_release(item))
    return tuple(out) or DEFAULT_RELEASES


@functools.lru_cache(None)
def table(release: str) -> dict:
    """The rule table of ``release`` (one of :data:`RELEASES`), loaded once."""
    release = normalize_release(release)
    return json.loads((TABLES / f"trt-{release}.json").read_text())


def supported_opset(release: str) -> tuple[int, int]:
    """(min, max) default-domain opset the release documents, e.g. (9, 20) for 10.3."""
    o = table(release)["opset"]
    return int(o["min"]), int(o["max"])


__all__ = [
    "DEFAULT_RELEASES",
    "RELEASES",
    "RULES",
    "Rule",
    "normalize_release",
    "parse_releases",
    "supported_opset",
    "table",
]
