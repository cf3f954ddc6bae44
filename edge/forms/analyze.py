"""Per-layer cost report (``edge analyze``): FLOPs (``torch.utils.flop_counter``), parameters, memory
access cost (MAC = input + output + weight elements touched, docs/METHODS.md §5), output size, totals, and the
lightweight-design hints of ShuffleNet V2 (Ma et al., ECCV 2018); two models side by side with ratios.

A row is a module that does work of its own: a leaf module, or a module whose FLOPs are not all
accounted for by its children (e.g. a sample-interp block calling ``torch.ops.edge.sample_interp``,
whose FLOPs are the ones the sparse kernel really executes, counted at the measured mask density).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from edge.errors import InputError
from edge.io import markdown_table

__all__ = ["HINTS", "Analysis", "LayerCost", "analyze", "compare", "format_compare"]

HINTS = {
    "G1": "1x1 conv with unequal in/out channels (ratio >= 4): equal widths minimise memory access for the FLOPs",
    "G2": "group conv: many groups raise memory access cost per FLOP",
    "G3": "multi-branch block: fragmented parallel paths reduce GPU parallelism",
    "G4": "element-wise layers move {share:.0%} of all memory for {flops_share:.0%} of the FLOPs",
    "low-intensity": "arithmetic intensity {ai:.1f} FLOP/element: memory-bound on a GPU",
}
_MULTI_BRANCH = ("SPConv3x3", "CrossStage", "SampleInterpBlock", "Inception", "Fire")
_ELEMENTWISE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.SiLU, nn.Hardswish, nn.Sigmoid, nn.Tanh, nn.BatchNorm2d,
                nn.Identity, nn.Dropout)


@dataclass
class LayerCost:
    """One row: ``name`` (module path), ``kind`` (type), ``out_shape``, ``params``, ``flops``, ``mac``."""

    name: str
    kind: str
    out_shape: tuple
    params: int
    flops: int
    mac: int
    hints: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    """Rows + totals of one model at one input shape."""

    model: str
    input_shape: tuple
    rows: list[LayerCost]
    total_flops: int
    total_params: int
    hints: list[str]

    @property
    def total_mac(self) -> int:
        return sum(r.mac for r in self.rows)

    def to_dict(self) -> dict:
        return {"model": self.model, "input_shape": list(self.input_shape), "total_flops": self.total_flops,
                "total_params": self.total_params, "total_mac": self.total_mac, "hints": self.hints,
                "layers": [r.__dict__ | {"out_shape": list(r.out_shape)} for r in self.rows]}

    def table_rows(self) -> list[dict]:
        rows = [{"layer": r.name, "type": r.kind, "output": "x".join(map(str, r.out_shape)),
                 "params": r.params, "MFLOPs": round(r.flops / 1e6, 3), "MAC (k elem)": round(r.mac / 1e3, 1),
                 "hints": ", ".join(r.hints)} for r in self.rows]
        rows.append({"layer": "TOTAL", "type": "", "output": "", "params": self.total_params,
                     "MFLOPs": round(self.total_flops / 1e6, 3), "MAC (k elem)": round(self.total_mac / 1e3, 1),
                     "hints": ""})
        return rows

    def to_markdown(self) -> str:
        head = f"### {self.model} (input {'x'.join(map(str, self.input_shape))})\n\n"
        notes = "".join(f"- {h}\n" for h in self.hints)
        return head + markdown_table(self.table_rows()) + ("\n" + notes if notes else "")

    def to_text(self) -> str:
        return _text_table(self.table_rows(), f"{self.model} (input {tuple(self.input_shape)})", self.hints)

    def by_prefix(self, depth: int = 1) -> dict[str, dict]:
        """Totals grouped by the first ``depth`` components of the layer path."""
        out: dict[str, dict] = {}
        for r in self.rows:
            key = ".".join(r.name.split(".")[:depth]) or "(root)"
            d = out.setdefault(key, {"params": 0, "flops": 0, "mac": 0})
            d["params"] += r.params
            d["flops"] += r.flops
            d["mac"] += r.mac
        return out


def _numel(x) -> int:
    if isinstance(x, Tensor):
        return x.numel()
    if isinstance(x, (tuple, list)):
        return sum(_numel(v) for v in x)
    return 0


def _shape(x) -> tuple:
    if isinstance(x, Tensor):
        return tuple(x.shape)
    if isinstance(x, (tuple, list)) and x and isinstance(x[0], Tensor):
        return tuple(x[0].shape)
    return ()


def _record_io(model: nn.Module, x: Tensor) -> tuple[dict, dict]:
    """Forward once with hooks: per module path, (input elements, output elements, output shape), FLOPs."""
    io: dict[str, tuple[int, int, tuple]] = {}
    handles = []
    names = {m: n for n, m in model.named_modules()}

    def hook(mod, inp, out):  # a module called several times (a shared ReLU) accumulates its traffic
        n_in, n_out, _ = io.get(names[mod], (0, 0, ()))
        io[names[mod]] = (n_in + _numel(inp), n_out + _numel(out), _shape(out))

    for m in model.modules():
        handles.append(m.register_forward_hook(hook))
    try:
        with FlopCounterMode(display=False) as fm:
            model(x)
    finally:
        for h in handles:
            h.remove()
    flops = {}
    root = type(model).__name__
    for key, counts in fm.get_flop_counts().items():
        if key == "Global":
            continue
        path = key[len(root) + 1:] if key.startswith(root + ".") else ("" if key == root else key)
        flops[path] = int(sum(counts.values()))
    return io, flops


def _hints(mod: nn.Module, row: LayerCost) -> list[str]:
    h = []
    if isinstance(mod, nn.Conv2d):
        if mod.kernel_size == (1, 1) and max(mod.in_channels, mod.out_channels) >= 4 * min(mod.in_channels,
                                                                                          mod.out_channels):
            h.append("G1")
        if 2 < mod.groups < mod.in_channels:  # grouped but not depthwise; 2 groups add little
            h.append("G2")
    if type(mod).__name__ in _MULTI_BRANCH:
        h.append("G3")
    if row.flops and row.flops / max(row.mac, 1) < 4 and isinstance(mod, (nn.Conv2d, nn.Linear)):
        h.append("low-intensity")
    return h


@torch.no_grad()
def analyze(model: nn.Module, input_shape=None, name: str | None = None, x: Tensor | None = None) -> Analysis:
    """Per-layer costs of one forward of ``model`` (put it in eval mode first for inference costs).

    input_shape: (B, C, H, W); None means (1, 3, 224, 224). ``x`` overrides it with real data (the
    sample-interp masks, hence its FLOPs, depend on the input).
    """
    if x is None:
        shape = tuple(input_shape or (1, 3, 224, 224))
        if len(shape) != 4:
            raise InputError(f"analyze: input_shape must be (B, C, H, W), got {shape}")
        p = next(model.parameters(), None)
        x = torch.randn(shape, device=p.device if p is not None else None)
    io, flops = _record_io(model, x)
    rows = []
    for path, mod in model.named_modules():
        if path not in io:
            continue
        children = [f"{path}.{c}" if path else c for c, _ in mod.named_children()]
        own = flops.get(path, 0) - sum(flops.get(c, 0) for c in children)
        if children and own <= 0:
            continue
        n_in, n_out, shape = io[path]
        rows.append((mod, LayerCost(path or "(root)", type(mod).__name__, shape, 0, max(own, 0), n_in + n_out)))
    owned = _param_owners(model, {r.name for _, r in rows})
    for mod, row in rows:
        row.params = owned.get(row.name, 0)
        row.mac += row.params
        row.hints = _hints(mod, row)
    rows = [r for _, r in rows]
    total_flops = sum(r.flops for r in rows)
    return Analysis(name or type(model).__name__, tuple(x.shape), rows, total_flops,
                    sum(p.numel() for p in model.parameters()), _model_hints(model, rows, total_flops))


def _param_owners(model: nn.Module, row_names: set[str]) -> dict[str, int]:
    """Parameters per row: each parameter belongs to its deepest enclosing module that is a row."""
    owned: dict[str, int] = {}
    for pname, p in model.named_parameters():
        parts = pname.split(".")[:-1]
        for i in range(len(parts), -1, -1):
            key = ".".join(parts[:i]) or "(root)"
            if key in row_names:
                owned[key] = owned.get(key, 0) + p.numel()
                break
    return owned


def _model_hints(model: nn.Module, rows: list[LayerCost], total_flops: int) -> list[str]:
    out = []
    total_mac = sum(r.mac for r in rows) or 1
    ew = [r for r in rows if r.kind in {t.__name__ for t in _ELEMENTWISE}]
    share, fshare = sum(r.mac for r in ew) / total_mac, sum(r.flops for r in ew) / max(total_flops, 1)
    if share > 0.2:
        out.append("G4: " + HINTS["G4"].format(share=share, flops_share=fshare))
    for tag in ("G1", "G2", "G3"):
        n = sum(tag in r.hints for r in rows)
        if n:
            out.append(f"{tag}: {n} layer(s): {HINTS[tag]}")
    branches = sum(type(m).__name__ in _MULTI_BRANCH for m in model.modules())
    if branches:
        out.append(f"G3: {branches} multi-branch module(s) in the model")
    return out


def compare(a: Analysis, b: Analysis, depth: int = 1) -> list[dict]:
    """Side-by-side rows (per top-level module and total) with b/a ratios."""
    ga, gb = a.by_prefix(depth), b.by_prefix(depth)
    keys = list(ga) + [k for k in gb if k not in ga]
    rows = []
    for k in keys + ["TOTAL"]:
        if k == "TOTAL":
            da = {"params": a.total_params, "flops": a.total_flops, "mac": a.total_mac}
            db = {"params": b.total_params, "flops": b.total_flops, "mac": b.total_mac}
        else:
            da, db = ga.get(k, {"params": 0, "flops": 0, "mac": 0}), gb.get(k, {"params": 0, "flops": 0, "mac": 0})
        row = {"module": k}
        for q, scale, unit in (("params", 1, "params"), ("flops", 1e6, "MFLOPs"), ("mac", 1e3, "MAC k")):
            row[f"{unit} {a.model}"] = da[q] if scale == 1 else round(da[q] / scale, 3)
            row[f"{unit} {b.model}"] = db[q] if scale == 1 else round(db[q] / scale, 3)
            row[f"{unit} ratio"] = round(db[q] / da[q], 3) if da[q] else ""
        rows.append(row)
    return rows


def format_compare(a: Analysis, b: Analysis, fmt: str = "text", depth: int = 1) -> str:
    rows = compare(a, b, depth)
    if fmt == "json":
        return json.dumps({"a": a.to_dict(), "b": b.to_dict(), "compare": rows}, indent=2)
    if fmt == "markdown":
        return f"### {a.model} vs {b.model}\n\n" + markdown_table(rows)
    return _text_table(rows, f"{a.model} vs {b.model}", [])


def _text_table(rows: list[dict], title: str, notes: list[str]) -> str:
    cols = list(rows[0])
    cells = [[str(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    out = [title, line, "-" * len(line)] + ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(out + [f"* {n}" for n in notes]) + "\n"
