"""``edge compare A B [C ...]``: identical inputs to every artifact, per-output errors, exit 0/1.

An artifact is a path (``.onnx`` -> ONNX Runtime, ``.engine``/``.plan`` -> TensorRT, ``.pt``/``.pt2`` -> PyTorch),
optionally prefixed by a backend (``onnxruntime:model.onnx``), or a model spec ``package.module:function``
returning an ``nn.Module`` (``edge.spec``; the old ``py:`` prefix is still accepted).
The first artifact is the reference. Exit code: 0 all outputs within tolerance, 1 some not, 2 error.
"""

from __future__ import annotations

from pathlib import Path

import click

from edge.errors import InputError


def parse_artifact(spec: str):
    """``[backend:]path`` or ``py:module:function`` -> (artifact, backend or None)."""
    from edge.runtime import backends

    if spec.startswith("py:"):  # kept for old command lines: a model spec (edge.spec) needs no prefix
        spec = spec[3:]
    from edge.spec import is_factory_spec

    if is_factory_spec(spec) and spec.partition(":")[0] not in backends:
        return spec, "torch"
    head, sep, tail = spec.partition(":")
    if sep and head in backends:
        return tail, head
    return spec, None


def build_feeds(reference, npz: str | None, images: tuple[str, ...], shapes: dict, seed: int, iterations: int,
                recipe: str | None = None):
    from edge.runtime import image_feed, load_npz, random_feed
    from edge.runtime.feeds import recipe_feed

    if npz:
        return load_npz(npz)
    metas = reference.inputs
    if recipe:
        feeds = [recipe_feed(recipe, images, seed + i) for i in range(1 if images else iterations)]
        if len(metas) == 1:  # the recipe may name the input differently from a torch module's argument
            feeds = [{metas[0].name: next(iter(f.values()))} for f in feeds]
        return feeds
    if images:
        if len(metas) != 1:
            raise InputError(f"--image needs a model with one input; this one has {[m.name for m in metas]}")
        return [image_feed(metas[0], list(images), shapes.get(metas[0].name))]
    return [random_feed(metas, seed + i, shapes) for i in range(iterations)]


@click.command()
@click.argument("artifacts", nargs=-1, required=True)
@click.option("--atol", type=float, default=None, help="Absolute tolerance (default 1e-4).")
@click.option("--rtol", type=float, default=None, help="Relative tolerance (default 1e-4).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random inputs.")
@click.option("--iterations", type=int, default=1, show_default=True, help="Random feeds to compare.")
@click.option("--shape", "shapes", multiple=True, metavar="NAME:DIMS",
              help="Shape for an input with dynamic dims, e.g. input:1x1x240x360 (repeatable).")
@click.option("--image", "images", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Feed image file(s) (grayscale/RGB, [0,1], resized to fixed H x W) instead of random data.")
@click.option("--npz", type=click.Path(exists=True, dir_okay=False), help="Feed the arrays of this .npz.")
@click.option("--recipe", default=None, help="Calibration recipe (bundled name or YAML path): preprocess --image "
              "files with it, or draw random inputs of its opt shape.")
@click.option("--providers", default=None, help="ONNX Runtime providers, comma-separated (default: best available).")
@click.option("--save-inputs", type=click.Path(dir_okay=False), help="Write the feeds to this .npz.")
@click.option("--save-outputs", type=click.Path(dir_okay=False),
              help="Write every runner's outputs to this .npz (keys <runner>/<feed>/<output>).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the report as JSON.")
@click.pass_context
def compare(ctx, artifacts, atol, rtol, seed, iterations, shapes, images, npz, recipe, providers, save_inputs,
            save_outputs, json_path):
    """Run ARTIFACTS on identical inputs and compare every output with the first one's.

    \b
    ARTIFACTS: model.onnx (ONNX Runtime; plugin-mode files run too), model.engine / .plan
    (TensorRT), model.pt / .pt2 (PyTorch), BACKEND:path to force a backend (onnxruntime:, torch:,
    tensorrt:), or py:package.module:factory for a Python factory returning an nn.Module.
    Exit code: 0 every output within --atol/--rtol, 1 some output not, 2 an error.

    \b
    Example:
      edge compare py:mypkg.nets:dense_net model.onnx model.plugins.onnx --shape input:1x1x240x360
    """
    import numpy as np

    from edge.io import atomic_path, write_json
    from edge.runtime import compare as run_compare
    from edge.runtime import load, parse_shapes, save_npz

    if len(artifacts) < 2:
        raise InputError("edge compare needs at least two artifacts (the first is the reference)")
    runners = []
    for spec in artifacts:
        artifact, backend = parse_artifact(spec)
        opts = {"providers": providers.split(",")} if providers and (backend or "") in ("", "onnxruntime") \
            and str(artifact).endswith(".onnx") else {}
        runners.append(load(artifact, backend=backend, **opts))
    feeds = build_feeds(runners[0], npz, images, parse_shapes(shapes), seed, iterations, recipe)
    if save_inputs:
        save_npz(save_inputs, feeds)
    report = run_compare(runners, feeds, atol=atol, rtol=rtol)
    for r in runners:
        r.deactivate()
    click.echo(report.table())
    click.echo(report.summary())
    if save_outputs:
        flat = {f"{n}/{i}/{k}": v for n, outs in report.outputs.items() for i, o in enumerate(outs) for k, v in o.items()}
        with atomic_path(save_outputs, suffix=".npz") as tmp:
            np.savez(tmp, **flat)
    if json_path:
        write_json(Path(json_path), report.to_dict())
    ctx.exit(0 if report.passed else 1)
