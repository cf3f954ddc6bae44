"""``edge demo``: the end-to-end demonstration (``edge.demo``), one step per capability."""

from __future__ import annotations

from pathlib import Path

import click

from edge.demo import STEPS


@click.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("edge-demo"),
              show_default=True, help="Folder for the report (JSON, Markdown) and the artifacts.")
@click.option("--quick", is_flag=True, help="Smaller images and shorter timings (for CI smoke tests).")
@click.option("--only", multiple=True, type=click.Choice(STEPS), help="Run only these steps.")
def demo(out: Path, quick: bool, only: tuple[str, ...]):
    """Run the end-to-end demonstration on this machine (ONNX Runtime/CPU when no GPU is present)."""
    from edge.demo import run_demo

    run_demo(out, quick=quick, only=only, echo=click.echo)
