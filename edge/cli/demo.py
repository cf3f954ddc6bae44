"""``edge demo``: the end-to-end demonstration, one step per capability.

Each step is ``run(ctx) -> dict`` in its own package (``edge/<area>/demo.py``) and appends a section
to the demo report; a step whose optional dependency is missing is reported as skipped with the reason.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from edge import __version__
from edge.errors import DependencyError
from edge.io import write_json, write_text

# (name, "module:function"); later issues append their steps here.
STEPS = [
    ("dense", "edge.dense.demo:run"),
    ("forms", "edge.forms.demo:run"),
    ("export", "edge.runtime.demo:run"),
    ("plugins", "edge.native.demo:run"),
    ("quantize", "edge.calib.demo:run"),
    ("bench", "edge.bench.demo:run"),
]


@dataclass
class DemoContext:
    out: Path
    quick: bool = False
    sections: dict = field(default_factory=dict)  # step name -> its result dict
    markdown: list = field(default_factory=list)  # Markdown chunks, in order

    def echo(self, msg: str = "") -> None:
        click.echo(msg)


@click.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("edge-demo"),
              show_default=True, help="Folder for the report (JSON, Markdown) and the artifacts.")
@click.option("--quick", is_flag=True, help="Smaller images and shorter timings (for CI smoke tests).")
@click.option("--only", multiple=True, type=click.Choice([s for s, _ in STEPS]), help="Run only these steps.")
def demo(out: Path, quick: bool, only: tuple[str, ...]):
    """Run the end-to-end demonstration on this machine (ONNX Runtime/CPU when no GPU is present)."""
    ctx = DemoContext(out=out, quick=quick)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for name, target in STEPS:
        if only and name not in only:
            continue
        ctx.echo(f"== {name} ==")
        mod, fn = target.split(":")
        try:
            ctx.sections[name] = getattr(importlib.import_module(mod), fn)(ctx)
        except DependencyError as e:
            ctx.echo(f"skipped: {e}")
            ctx.sections[name] = {"skipped": str(e)}
    total = time.perf_counter() - t0
    report = {"edge_version": __version__, "seconds": round(total, 2), "quick": quick, **ctx.sections}
    write_json(out / "demo.json", report)
    write_text(out / "demo.md", f"# edge demo (edge {__version__}, {total:.1f} s)\n\n" + "\n".join(ctx.markdown))
    ctx.echo(f"\nreport: {out / 'demo.json'}, {out / 'demo.md'} ({total:.1f} s)")
