"""The rules of the TensorRT compatibility check, one function per rule group, limits read from the table of
each release (:mod:`edge.export.check.rules`). Each yields :class:`Finding` objects; nothing here imports TensorRT."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edge.export.check.graph import DEFAULT_DOMAINS, TYPE_NAMES, GraphInfo, attr
from edge.export.check.rules import RULES, table


@dataclass(frozen=True)
class Finding:
    """One broken rule: where (node, op), which rule and release, why, how to fix it, and the source."""

    rule: str
    severity: str  # "error" | "warning"
    release: str
    node: str
    op_type: str
    message: str
    fix: str
    source: str

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"{self.severity.upper()} [TensorRT {self.release}] {self.rule} node '{self.node}' ({self.op_type}): "
                f"{self.message}. Fix: {self.fix} [source: {self.source}]")


def _f(rule, release, node, message, fix, source, severity=None, op_type=None) -> Finding:
    name = node if isinstance(node, str) else (node.name or f"<unnamed {node.op_type}>")
    op = op_type or ("model" if isinstance(node, str) else node.op_type)
    return Finding(rule, severity or RULES[rule].severity, release, name, op, message, fix, source)


def _default(node) -> bool:
    return node.domain in DEFAULT_DOMAINS


def check_model_level(g: GraphInfo, release: str):
    """OPSET, IR_VERSION, IO_TYPE."""
    from onnx.helper import VERSION_TABLE, find_min_ir_version_for

    t = table(release)
    lo, hi = t["opset"]["min"], t["opset"]["max"]
    if g.opset is not None and not lo <= g.opset <= hi:
        yield _f("OPSET", release, "<model>", f"default-domain opset {g.opset} is outside {lo}-{hi}",
                 f"export with an opset in {lo}-{hi} (edge export --opset, default 18)", t["opset"]["source"])
    defaults = [o for o in g.model.opset_import if o.domain in DEFAULT_DOMAINS]
    need = find_min_ir_version_for(defaults, ignore_unknown=True) if defaults else 0
    if g.model.ir_version < need:
        yield _f("IR_VERSION", release, "<model>", f"ir_version {g.model.ir_version} is below {need}, the minimum "
                 f"for opset {g.opset}", f"set ir_version to {need} (onnx.helper.find_min_ir_version_for)",
                 "ONNX versioning (onnx.helper.VERSION_TABLE)")
    top = max((row[1] for row in VERSION_TABLE if row[0] == t["onnx"]), default=None)
    if top is not None and g.model.ir_version > top:
        yield _f("IR_VERSION", release, "<model>", f"ir_version {g.model.ir_version} is newer than ONNX "
                 f"{t['onnx']} (IR {top}) that the parser is built with", f"save with ir_version <= {top}",
                 t["onnx_source"], severity="warning")
    io = t["io_types"]
    for vi in [*g.graph.input, *g.graph.output]:
        name = g.type_name(vi.name)
        if name is None or name in _io_names(io["allowed"]):
            continue
        limited = name in _io_names(io["limited"])
        yield _f("IO_TYPE", release, vi.name, f"graph input/output of type {name}", "use FP32/FP16/INT32/INT64/BOOL",
                 io["source"], severity="warning" if limited else None, op_type="graph I/O")


def _io_names(names: list[str]) -> list[str]:
    """Table type names (ONNX spelling) -> the names of :data:`TYPE_NAMES`."""
    alias = {"FLOAT": TYPE_NAMES[1], "FLOAT16": TYPE_NAMES[10], "BFLOAT16": TYPE_NAMES[16]}
    return [alias.get(x, x) for x in names]


def check_ops(g: GraphInfo, release: str):
    """OP_SUPPORT, OP_TYPES, OP_ATTRIBUTE, CONSTANT_INPUT, OP_OUTPUTS, RANK for default-domain nodes."""
    t = table(release)
    ops = t["ops"]
    attrs = _by_op(t["attributes"])
    consts = _by_op(t["constant_inputs"])
    outs = _by_op(t["outputs"])
    for node in g.graph.node:
        if not _default(node):
            continue
        spec = ops.get(node.op_type, None)
        if spec is None:
            yield _f("OP_SUPPORT", release, node, f"{node.op_type} has no importer in TensorRT {release}",
                     "replace it with supported ops (see the table in docs/TRT_COMPAT.md)", t["ops_source"])
            continue
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear") and node.input and node.input[0]:
            tn = g.type_name(node.input[0])
            if tn and tn != "DOUBLE" and tn not in spec["types"]:
                yield _f("OP_TYPES", release, node, f"input '{node.input[0]}' is {tn}; {node.op_type} supports "
                         f"{', '.join(spec['types'])}", "cast the input to a supported type", t["ops_source"])
        yield from _attributes(node, attrs.get(node.op_type, []), release)
        for c in consts.get(node.op_type, []):
            i = c["input"]
            if len(node.input) > i and node.input[i] and not g.is_constant(node.input[i]):
                yield _f("CONSTANT_INPUT", release, node, f"input {i} ({c['name']}) '{node.input[i]}' is computed "
                         "at run time", f"make {c['name']} an initializer (constant-fold it, or static shapes)",
                         c["source"])
        for o in outs.get(node.op_type, []):
            extra = [x for x in node.output[o["max"]:] if x]
            if extra:
                yield _f("OP_OUTPUTS", release, node, f"uses output(s) {extra} the importer does not produce",
                         o["fix"], o["source"])
        yield from _ranks(g, node, t["ranks"], release)


def _by_op(items: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for it in items:
        out.setdefault(it["op"], []).append(it)
    return out


def _attributes(node, rules: list[dict], release: str):
    present = {a.name for a in node.attribute}
    for r in rules:
        if r["attr"] not in present:
            continue
        v = attr(node, r["attr"])
        v = v.decode() if isinstance(v, bytes) else v
        bad = (r.get("forbid_present")
               or ("allowed" in r and v not in r["allowed"])
               or ("all_equal" in r and any(x != r["all_equal"] for x in (v or []))))
        if bad:
            what = "is present" if r.get("forbid_present") else f"= {v!r}"
            yield _f("OP_ATTRIBUTE", release, node, f"attribute {r['attr']} {what} (not accepted by TensorRT "
                     f"{release})", r["fix"], r["source"])


def _ranks(g: GraphInfo, node, ranks: dict, release: str):
    limit = ranks["ops"].get(node.op_type)
    if limit and node.input and node.input[0]:
        r = g.rank(node.input[0])
        if r is not None and not limit[0] <= r <= limit[1]:
            yield _f("RANK", release, node, f"input rank {r}; {node.op_type} takes rank {limit[0]}-{limit[1]}",
                     "reshape to a supported rank", ranks["ops_source"])
    for o in node.output:
        r = g.rank(o) if o else None
        if r is not None and r > ranks["max"]:
            yield _f("RANK", release, node, f"output '{o}' has rank {r} > {ranks['max']}",
                     f"keep tensors at rank <= {ranks['max']}", ranks["max_source"])


def check_local_functions(g: GraphInfo, release: str):
    """LOCAL_FUNCTION: a model-local function named like a custom-domain node shadows its plugin."""
    lf = table(release)["local_functions"]
    funcs = {(f.domain, f.name) for f in g.model.functions}
    for node in g.graph.node:
        if _default(node) or (node.domain, node.op_type) not in funcs:
            continue
        if lf["prefer_plugin"]:
            yield _f("LOCAL_FUNCTION", release, node, f"the model carries a local function {node.op_type}; TensorRT "
                     f"{release} uses the plugin when one is registered, else the function",
                     "ship the file without the function (edge.export.detach_plugin_functions)", lf["source"],
                     severity="warning")
        else:
            yield _f("LOCAL_FUNCTION", release, node, f"the model carries a local function {node.op_type}: TensorRT "
                     f"{release} imports it instead of the plugin", "remove the function "
                     "(edge.export.detach_plugin_functions) so the plugin is used", lf["source"])


__all__ = ["Finding", "check_local_functions", "check_model_level", "check_ops"]
