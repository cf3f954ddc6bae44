"""Results -> JSON, Markdown and PNG; ``compare`` puts earlier result files side by side."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from edge.bench.schema import SCHEMA_ID
from edge.errors import InputError
from edge.io import markdown_table, write_json, write_text

TABLE_COLUMNS = ["name", "backend", "batch", "iterations", "fps", "speedup", "mean_ms", "median_ms", "p90_ms",
                 "p99_ms", "max_ms", "gpu_compute_ms", "peak_rss_mb", "power_w", "mj_per_inference"]


def build_result(kind: str, rows: list, environment: dict, config: dict, baseline=None, device=None,
                 warnings=None) -> dict:
    """Assemble a result of schema edge.bench/1, adding each row's speed-up against the baseline row.

    Args:
        baseline: name or index of the baseline row; None means the first row.
    """
    base = _baseline_row(rows, baseline)
    for r in rows:
        r["speedup"] = r["fps"] / base["fps"] if base and base.get("fps") else None
    return {"schema": SCHEMA_ID, "kind": kind, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "environment": environment, "config": config, "baseline": base["name"] if base else None,
            "results": rows, "device": device, "warnings": list(warnings or [])}


def _baseline_row(rows: list, baseline):
    if not rows:
        return None
    if baseline is None:
        return rows[0]
    if isinstance(baseline, int):
        if not 0 <= baseline < len(rows):
            raise InputError(f"baseline index {baseline} out of range (0..{len(rows) - 1})")
        return rows[baseline]
    for r in rows:
        if baseline in (r["name"], r.get("artifact")):
            return r
    raise InputError(f"baseline '{baseline}' is not one of the measured artifacts {[r['name'] for r in rows]}")


def table_rows(result: dict) -> list[dict]:
    """One flat row per artifact for the Markdown table."""
    out = []
    for r in result["results"]:
        lat, gc, p = r["latency_ms"], r.get("gpu_compute_time_ms"), r.get("power") or {}
        out.append({"name": r["name"], "backend": r.get("backend"), "batch": r.get("batch"),
                    "iterations": r.get("iterations"), "fps": r["fps"], "speedup": r.get("speedup"),
                    "mean_ms": lat["mean"], "median_ms": lat["median"], "p90_ms": lat["p90"], "p99_ms": lat["p99"],
                    "max_ms": lat["max"], "gpu_compute_ms": gc["median"] if gc else None,
                    "peak_rss_mb": (r.get("memory") or {}).get("peak_rss_mb"), "power_w": p.get("mean_power_w"),
                    "mj_per_inference": p.get("energy_per_inference_mj")})
    return out


def to_markdown(result: dict, title: str | None = None) -> str:
    """A Markdown report: table of every artifact, environment line, warnings."""
    env = result["environment"]
    rows = table_rows(result)
    cols = [c for c in TABLE_COLUMNS if any(r.get(c) is not None for r in rows)]
    rows = [{k: ("" if v is None else v) for k, v in r.items()} for r in rows]
    gpu = (env.get("gpu") or {}).get("name", "no GPU")
    text = f"## {title or 'Benchmark'}\n\n" + markdown_table(rows, cols)
    text += (f"\nBaseline: `{result['baseline']}`; speed-up = FPS / baseline FPS. Machine: {env.get('cpu')} "
             f"({env.get('cpu_count')} cores), {gpu}; edge {env.get('edge_version')}; command: "
             f"`{env.get('command')}`.\n")
    if result.get("warnings"):
        text += "\nWarnings:\n" + "".join(f"- {w}\n" for w in result["warnings"])
    return text


def write_report(result: dict, out: str | Path, stem: str = "bench", plots: bool = True, validate: bool = True) -> dict:
    """Write ``<out>/<stem>.json``, ``.md`` and (with matplotlib) PNG plots; every file atomically.

    Returns {"json": path, "markdown": path, "plots": [paths]}.
    """
    out = Path(out)
    if validate:
        from edge._lazy import has_module
        from edge.bench.schema import validate as _validate

        if has_module("jsonschema"):
            _validate(result)
    paths = {"json": write_json(out / f"{stem}.json", result),
             "markdown": write_text(out / f"{stem}.md", to_markdown(result)), "plots": []}
    if plots:
        from edge._lazy import has_module

        if has_module("matplotlib"):
            from edge.bench.plots import plot_result

            paths["plots"] = plot_result(result, out, stem)
    return paths


def load_result(path: str | Path) -> dict:
    """Read a result file written by ``write_report`` (checks the schema tag)."""
    path = Path(path)
    try:
        result = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"cannot read benchmark result '{path}': {e}") from e
    if not isinstance(result, dict) or result.get("schema") != SCHEMA_ID:
        raise InputError(f"'{path}' is not an edge benchmark result (schema {SCHEMA_ID}); "
                         f"write one with `edge bench ... --out DIR`")
    return result


def compare(paths: list, labels: list | None = None) -> tuple[list[dict], str]:
    """Rows of several result files side by side, with each artifact's FPS ratio to the same-named artifact
    of the first file ("vs_first"). Returns (rows, Markdown)."""
    if len(paths) < 2:
        raise InputError("compare needs at least two result files")
    results = [load_result(p) for p in paths]
    labels = labels or [Path(p).stem if Path(p).stem not in [Path(q).stem for q in paths if q != p]
                        else str(p) for p in paths]
    first = {r["name"]: r for r in results[0]["results"]}
    rows = []
    for label, res in zip(labels, results):
        for r, flat in zip(res["results"], table_rows(res)):
            ref = first.get(r["name"])
            rows.append({"run": label, **flat, "vs_first": r["fps"] / ref["fps"] if ref else None,
                         "machine": res["environment"].get("cpu"), "created": res.get("created", "")[:19]})
    cols = ["run", "name", "backend", "fps", "speedup", "vs_first", "median_ms", "p99_ms", "gpu_compute_ms",
            "peak_rss_mb", "mj_per_inference", "machine", "created"]
    cols = [c for c in cols if any(r.get(c) is not None for r in rows)]
    md = "## Benchmark comparison\n\n" + markdown_table([{k: ("" if v is None else v) for k, v in r.items()}
                                                          for r in rows], cols)
    md += "\nvs_first = FPS / FPS of the same artifact in the first file; speed-up is within each run.\n"
    return rows, md


__all__ = ["build_result", "compare", "load_result", "table_rows", "to_markdown", "write_report"]
