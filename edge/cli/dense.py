"""``edge dense convert`` and ``edge dense check``."""

from __future__ import annotations

from pathlib import Path

import click

from edge.cli._common import load_model, parse_hw


@click.group()
def dense():
    """Fast dense feature extraction: patch network -> exact full-image network."""


@dense.command()
@click.argument("model")
@click.option("--patch-size", "-p", required=True, help="Patch size N or HxW the network was designed for.")
@click.option("--pad-mode", type=click.Choice(["zeros", "reflect", "replicate", "circular"]), default=None,
              help="Image border padding (default zeros).")
@click.option("--unwarp", type=click.Choice(["permute", "op"]), default=None,
              help="'op' makes the unwarp one edge::multipool_unwarp op (an EdgeMultiPoolUnwarp plugin node in ONNX).")
@click.option("--max-memory-mb", type=float, default=None, help="Run tile by tile within this memory budget.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to save the dense model (an edge checkpoint: weights + how to rebuild; no pickle).")
def convert(model, patch_size, pad_mode, unwarp, max_memory_mb, output):
    """Convert MODEL ('module:factory', a TorchScript file or a saved module) to its dense form."""
    from edge.dense import to_dense
    from edge.spec import save_checkpoint

    net = load_model(model)
    how = {"source": _source_spec(model), "patch_size": list(parse_hw(patch_size)), "pad_mode": pad_mode,
           "unwarp": unwarp, "max_memory_mb": max_memory_mb}
    d = to_dense(net, parse_hw(patch_size), pad_mode, unwarp=unwarp, max_memory_mb=max_memory_mb)
    save_checkpoint(output, d, "dense", **how)
    click.echo(f"dense model: {output}  (in {d.in_channels} ch, out {d.out_channels} ch, patch {d.patch_size}, "
               f"strides {d.strides}, intermediate batch x{d.batch_multiplier})")


def _source_spec(spec: str) -> str:
    """``spec`` with a file path made absolute, so that the checkpoint rebuilds from any folder."""
    from edge.spec import is_factory_spec

    if is_factory_spec(spec):
        mod, _, fn = spec.rpartition(":")
        return f"{Path(mod).resolve()}:{fn}" if mod.endswith(".py") else spec
    return str(Path(spec).resolve())


@dense.command()
@click.argument("model")
@click.option("--patch-size", "-p", required=True, help="Patch size N or HxW.")
@click.option("--image", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Check on this image (read with OpenCV, scaled to [0, 1]); default a seeded random image.")
@click.option("--size", default="40x52", show_default=True, help="HxW of the random image.")
@click.option("--batch", default=2, show_default=True, help="Batch size of the random input.")
@click.option("--pixels", default=20000, show_default=True,
              help="Check every pixel up to this many, else a seeded sample of this many pixels.")
@click.option("--pad-mode", type=click.Choice(["zeros", "reflect", "replicate", "circular"]), default=None)
@click.option("--tol", default=1e-5, show_default=True, help="Max error relative to the output scale.")
def check(model, patch_size, image, size, batch, pixels, pad_mode, tol):
    """Brute-force equivalence: the dense form of MODEL vs MODEL on every pixel's patch.

    Exit code 0 when the max relative error is within --tol, 1 otherwise."""
    import torch

    from edge.dense import to_dense
    from edge.dense import exactness

    net = load_model(model)
    patch = parse_hw(patch_size)
    d = to_dense(net, patch, pad_mode)
    if image:
        x = _read_image(image, d.in_channels)
    else:
        h, w = parse_hw(size)
        x = torch.rand(batch, d.in_channels, h, w, generator=torch.Generator().manual_seed(0))
    err = exactness(net, d, patch, x, max_pixels=pixels, pad_mode=pad_mode)
    ok = err <= tol
    n = x.shape[-2] * x.shape[-1]
    click.echo(f"input {tuple(x.shape)}; pixels checked: {min(n, pixels)} of {n}; "
               f"max error relative to output scale: {err:.3e} -> {'PASS' if ok else 'FAIL'} (tol {tol:g})")
    raise SystemExit(0 if ok else 1)


def _read_image(path: str, channels: int):
    import torch

    from edge._lazy import lazy_import
    from edge.errors import InputError

    cv2 = lazy_import("cv2", feature="reading images")
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"cannot read image '{path}' (unsupported or corrupt file)")
    t = torch.from_numpy(img).float() / 255.0
    t = t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None].flip(1)  # BGR -> RGB
    if t.shape[1] != channels:
        raise InputError(f"image has {t.shape[1]} channels, the network takes {channels}")
    return t
