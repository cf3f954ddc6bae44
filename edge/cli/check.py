"""``edge check``: would TensorRT's ONNX parser accept this file? A static check, no TensorRT needed."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("onnx_paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trt", "releases", default=None, show_default="10.3,10.13",
              help="TensorRT release(s), comma-separated: 10.3 (JetPack 6), 10.13 (JetPack 7), 11; other 10.x map "
                   "to the nearest table (10.0-10.8 -> 10.3, 10.9+ -> 10.13).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON (one object per file).")
@click.option("--strict", is_flag=True, help="Exit non-zero on warnings too.")
def check(onnx_paths, releases, as_json, strict):
    """Check ONNX_PATHS against the TensorRT ONNX parser's rules (op support, types, attributes, ranks, Q/DQ,
    plugin nodes, opset/IR). Exit 0: no errors; 1: errors (or warnings with --strict)."""
    from edge.export.check import check as run

    reports = [run(p, releases) for p in onnx_paths]
    if as_json:
        out = [r.to_dict() for r in reports]
        click.echo(json.dumps(out[0] if len(out) == 1 else out, indent=1))
    else:
        for r in reports:
            click.echo(r.text())
    failed = any(r.errors or (strict and r.warnings) for r in reports)
    click.get_current_context().exit(1 if failed else 0)
