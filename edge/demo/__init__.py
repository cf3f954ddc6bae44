"""The end-to-end demonstration behind ``edge demo``: one module per step, outside the layers it shows.

Each step is ``run(ctx) -> dict`` in ``edge/demo/<step>.py``; it prints its figures through ``ctx.echo`` and
appends a Markdown section to ``ctx.markdown``. ``run_demo`` runs the steps in order and writes
``demo.json`` and ``demo.md``. A step whose optional dependency is missing is reported as skipped with the
reason; on a machine installed with ``make demo`` only TensorRT (absent without a Jetson) is ever skipped.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge import __version__
from edge.errors import DependencyError
from edge.io import write_json, write_text

#: (name, module of edge.demo) in the order they run
STEPS = ("dense", "forms", "export", "plugins", "quantize", "bench")


@dataclass
class DemoContext:
    """What every step gets: the output folder, the quick flag, and the report being assembled."""

    out: Path
    quick: bool = False
    sections: dict = field(default_factory=dict)  # step name -> its result dict
    markdown: list = field(default_factory=list)  # Markdown chunks, in order
    echo: Callable[[str], None] = print


def header() -> dict:
    """What the report opens with: edge's version and the kernels this install runs."""
    from edge.native import kernel_info

    return {"edge_version": __version__, "kernels": kernel_info()}


def run_demo(out: Path, quick: bool = False, only: Sequence[str] = (), echo: Callable[[str], None] = print) -> dict:
    """Run the steps (all, or those named in ``only``) and write ``out/demo.json`` and ``out/demo.md``."""
    ctx = DemoContext(out=Path(out), quick=quick, echo=echo)
    ctx.out.mkdir(parents=True, exist_ok=True)
    head = header()
    echo(f"edge {head['edge_version']}: {head['kernels']['summary']}")
    t0 = time.perf_counter()
    for name in STEPS:
        if only and name not in only:
            continue
        echo(f"== {name} ==")
        try:
            ctx.sections[name] = importlib.import_module(f"edge.demo.{name}").run(ctx)
        except DependencyError as e:
            echo(f"skipped: {e}")
            ctx.sections[name] = {"skipped": str(e)}
    total = time.perf_counter() - t0
    report = {**head, "seconds": round(total, 2), "quick": quick, **ctx.sections}
    write_json(ctx.out / "demo.json", report)
    write_text(ctx.out / "demo.md", f"# edge demo (edge {__version__}, {total:.1f} s)\n\n"
               f"Kernels: {head['kernels']['summary']}\n\n" + "\n".join(ctx.markdown))
    echo(f"\nreport: {ctx.out / 'demo.json'}, {ctx.out / 'demo.md'} ({total:.1f} s)")
    return report
