"""``edge analyze``: per-layer cost table of one model, or two models side by side with ratios."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("model")
@click.argument("other", required=False)
@click.option("--input-shape", "shape", default=None,
              help="B,C,H,W of the dummy input (default 1,3,224,224; 1,1,28,28 for fashion-resnet).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file (atomically) instead of stdout.")
@click.option("--depth", default=1, show_default=True, help="Module-path depth of the side-by-side rows.")
def analyze(model: str, other: str | None, shape: str | None, fmt: str, out: Path | None, depth: int):
    """Per-layer FLOPs, parameters, memory access cost and output size of MODEL (and OTHER).

    MODEL: a name (resnet18, resnet50, cspresnet50, fashion-resnet, ...), a name with a form
    (resnet50:spconv=0.25, resnet18:csp, fashion-resnet:sample_interp) or a saved model (.pt).
    """
    import json

    from edge.errors import InputError
    from edge.forms.analyze import analyze as run
    from edge.forms.analyze import format_compare
    from edge.forms.zoo import load_model
    from edge.io import write_text

    if shape:
        try:
            dims = tuple(int(v) for v in shape.split(","))
        except ValueError:
            raise InputError(f"--input-shape must be B,C,H,W integers, got {shape!r}") from None
    else:
        dims = (1, 1, 28, 28) if model.startswith("fashion-resnet") else (1, 3, 224, 224)
    a = run(load_model(model), dims, name=model)
    if other is None:
        text = {"text": a.to_text, "markdown": a.to_markdown, "json": lambda: json.dumps(a.to_dict(), indent=2)}[fmt]()
    else:
        b = run(load_model(other), dims, name=other)
        text = format_compare(a, b, fmt, depth)
        if fmt == "markdown":
            text += "\n" + a.to_markdown() + "\n" + b.to_markdown()
        elif fmt == "text":
            text += "\n" + "\n".join(f"* {h}" for h in b.hints) + "\n"
    if out:
        write_text(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text)
