"""``edge export``: a PyTorch model -> ONNX with TensorRT plugin nodes (default) or standard ops only."""

from __future__ import annotations

from pathlib import Path

import click

from edge.cli._common import load_model, parse_hw

DEFAULT_DENSE_HW = (240, 360)


def _example_inputs(net, shapes: tuple[str, ...]):
    import torch

    from edge.dense import DenseNet

    if shapes:
        from edge.spec import parse_shape

        dims = [parse_shape(s) for s in shapes]
    elif isinstance(net, DenseNet):
        dims = [(1, net.in_channels, *DEFAULT_DENSE_HW)]
    else:
        raise click.UsageError(
            "give the example input shape with --input-shape, e.g. --input-shape 1x3x224x224 "
            "(repeat it for several inputs)"
        )
    g = torch.Generator().manual_seed(0)
    return tuple(torch.rand(d, generator=g) for d in dims)


@click.command()
@click.argument("model")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The ONNX file to write (written atomically).",
)
@click.option(
    "--plugins/--portable",
    default=True,
    show_default=True,
    help="Custom ops as TensorRT plugin nodes (trt.plugins domain), or standard ONNX ops only.",
)
@click.option(
    "--dynamic/--static",
    default=True,
    show_default=True,
    help="Dynamic batch and H/W where the model allows, or fixed to the example shape.",
)
@click.option("--opset", type=int, default=None,
              help="ONNX opset (default 18); must lie in the range every --trt release documents (10.3: 9-20).")
@click.option("--trt", "releases", default=None, show_default="10.3,10.13",
              help="TensorRT release(s) the file is for: the static parser check (edge check) runs on them.")
@click.option("--simplify", is_flag=True, help="Simplify with onnxslim (plugin nodes are kept).")
@click.option(
    "--input-shape",
    "input_shapes",
    multiple=True,
    help="Example input shape BxCxHxW (repeat for several inputs); default 1xCx240x360 for a dense net.",
)
@click.option(
    "--patch-size",
    "-p",
    default=None,
    help="MODEL is a patch network: convert it to its dense form (patch N or HxW) before export.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Run the file in ONNX Runtime (plugin nodes via their CPU functions) and compare with PyTorch.",
)
def export(model, output, plugins, dynamic, opset, simplify, input_shapes, patch_size, verify, releases):
    """Export MODEL ('module:factory', 'file.py:factory', a torch.save-d module e.g. a DenseNet) to ONNX."""
    from edge.export import to_onnx
    from edge.export.check import parse_releases, releases_from_env

    targets = parse_releases(releases) if releases else releases_from_env()
    check_opset(opset, targets)
    net = load_model(model)
    if patch_size:
        from edge.dense import to_dense

        net = to_dense(net, parse_hw(patch_size))
    args = _example_inputs(net, input_shapes)
    path = to_onnx(
        net, args, output, plugins=plugins, dynamic=dynamic, opset=opset, simplify=simplify, source=model,
        trt_check=",".join(targets),
    )
    click.echo(_summary(path))
    if verify:
        err = _verify(net, path, args)
        click.echo(f"ONNX Runtime vs PyTorch on the example input: max abs error {err:.3e}")


def check_opset(opset: int | None, releases) -> None:
    """Refuse an opset outside what every targeted TensorRT release documents (10.3: 9-20), before exporting."""
    from edge.errors import InputError
    from edge.export.check import supported_opset

    if opset is None:
        return
    ranges = {r: supported_opset(r) for r in releases}
    lo, hi = max(a for a, _ in ranges.values()), min(b for _, b in ranges.values())
    if not lo <= opset <= hi:
        docs = ", ".join(f"{r}: {a}-{b}" for r, (a, b) in ranges.items())
        raise InputError(f"--opset {opset} is outside what TensorRT {', '.join(releases)} documents ({docs}). "
                         f"Fix: pass --opset between {lo} and {hi} (default 18), or target other releases with --trt")


def _summary(path: Path) -> str:
    from edge.export import load_onnx

    m = load_onnx(path)
    props = {p.key: p.value for p in m.metadata_props}
    ins = ", ".join(f"{vi.name} {_dims(vi)}" for vi in m.graph.input)
    outs = ", ".join(f"{vi.name} {_dims(vi)}" for vi in m.graph.output)
    size_mb = path.stat().st_size / 1e6
    return (
        f"onnx: {path} ({size_mb:.2f} MB, {len(m.graph.node)} nodes, mode {props.get('mode')}, "
        f"plugins: {props.get('plugins') or 'none'}, opset {props.get('opset')})\n"
        f"  inputs: {ins}\n  outputs: {outs}"
    )


def _dims(value_info) -> str:
    """``1x1xheightxwidth`` for a graph input/output."""
    return "x".join(d.dim_param or str(d.dim_value) for d in value_info.type.tensor_type.shape.dim)


def _verify(net, path: Path, args) -> float:
    import numpy as np
    import torch

    from edge.runtime import load

    with load(path, providers=["CPUExecutionProvider"]) as runner:  # plugin nodes run as model-local functions
        got = list(runner.infer({m.name: a.numpy() for m, a in zip(runner.inputs, args)}).values())
    with torch.no_grad():
        ref = net(*args)
    ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)
    return max(float(np.abs(g - r.numpy()).max()) for g, r in zip(got, ref))
