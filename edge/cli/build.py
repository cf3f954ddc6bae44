"""``edge build``: ONNX (+ plugin library) -> TensorRT plan + manifest, with trtexec-like flags."""

from __future__ import annotations

from pathlib import Path

import click


def profile_shapes(mins: str | None, opts: str | None, maxs: str | None) -> dict | None:
    """Combine --min/--opt/--max shapes; a name given only in --opt-shapes is static."""
    from edge.errors import InputError
    from edge.spec import parse_shapes

    mn, op, mx = (parse_shapes(t, require_names=True) for t in (mins, opts, maxs))
    names = set(mn) | set(op) | set(mx)
    if not names:
        return None
    out = {}
    for n in sorted(names):
        o = op.get(n) or mn.get(n) or mx.get(n)
        lo, hi = mn.get(n, o), mx.get(n, o)
        if not (len(lo) == len(o) == len(hi) and all(a <= b <= c for a, b, c in zip(lo, o, hi))):
            raise InputError(f"input '{n}': need min <= opt <= max per axis, got {lo} {o} {hi}")
        out[n] = (lo, o, hi)
    return out


@click.command()
@click.argument("onnx_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--saveEngine", "--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Plan file (default <onnx>.<precision>.engine); the manifest goes to <plan>.json.")
@click.option("--precision", type=click.Choice(["fp32", "fp16", "int8", "int8-implicit", "best"]), default="fp32",
              show_default=True, help="int8 = Q/DQ ONNX from edge quantize (10.x and 11.x); int8-implicit = "
              "entropy calibrator (10.x only); fp16 on 11.x needs an FP16 ONNX (edge quantize --fp16).")
@click.option("--recipe", "-r", default=None, help="Recipe: min/opt/max shapes and calibration preprocessing.")
@click.option("--minShapes", "--min-shapes", "min_shapes", default=None, help="e.g. input:1x3x224x224")
@click.option("--optShapes", "--opt-shapes", "opt_shapes", default=None)
@click.option("--maxShapes", "--max-shapes", "max_shapes", default=None)
@click.option("--workspace", "--memPoolSize", "workspace", type=int, default=None,
              help="Workspace MiB (default: half the free memory, at most 4096).")
@click.option("--useDLACore", "--dla-core", "dla_core", type=int, default=None)
@click.option("--allowGPUFallback", "--allow-gpu-fallback", "gpu_fallback", is_flag=True, default=False,
              help="Let layers the DLA cannot run fall back to the GPU (listed in the manifest).")
@click.option("--timingCacheFile", "--timing-cache", "timing_cache", default=None)
@click.option("--builderOptimizationLevel", "--optimization-level", "opt_level", type=int, default=None)
@click.option("--versionCompatible", "--version-compatible", "version_compatible", is_flag=True)
@click.option("--stronglyTyped", "--strongly-typed", "strongly_typed", is_flag=True, default=None,
              help="Strongly typed network (always on TensorRT 11).")
@click.option("--plugins", "--dynamicPlugins", "plugins", multiple=True, help="Plugin library (.so); repeatable.")
@click.option("--calib", multiple=True, help="int8-implicit: calibration source(s) (see edge quantize).")
@click.option("--calib-cache", default=None, help="int8-implicit: TensorRT calibration cache to read/write.")
def build(onnx_path, output, precision, recipe, min_shapes, opt_shapes, max_shapes, workspace, dla_core,
          gpu_fallback, timing_cache, opt_level, version_compatible, strongly_typed, plugins, calib, calib_cache):
    """Build a TensorRT engine from ONNX_PATH (TensorRT 10.x or 11.x) and write its manifest."""
    from edge.trt import BuildOptions, build_engine

    opts = BuildOptions(precision=precision, shapes=profile_shapes(min_shapes, opt_shapes, max_shapes),
                        workspace_mb=workspace, dla_core=dla_core, gpu_fallback=gpu_fallback or dla_core is None,
                        timing_cache=timing_cache, optimization_level=opt_level,
                        version_compatible=version_compatible, plugins=[str(p) for p in plugins],
                        strongly_typed=strongly_typed, calib_cache=calib_cache)
    output = output or onnx_path.with_name(f"{onnx_path.stem}.{precision}.engine")
    res = build_engine(onnx_path, output, opts, recipe=recipe, calib=list(calib) or None,
                       echo=lambda m: click.echo(m, err=True))
    click.echo(f"engine: {res.engine} ({res.seconds:.1f} s)\nmanifest: {res.manifest}")
    if res.dla_fallback:
        click.echo(f"{len(res.dla_fallback)} layers fall back to the GPU: {', '.join(res.dla_fallback)}")
