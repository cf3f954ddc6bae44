"""``edge bench``: measure artifacts side by side; ``edge bench compare`` puts result files side by side."""

from __future__ import annotations

from pathlib import Path

import click


class _DefaultGroup(click.Group):
    """``edge bench model.onnx`` means ``edge bench measure model.onnx``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["measure", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
def bench():
    """Benchmark models: `edge bench A [B ...]` (measure, the default) or `edge bench compare X.json Y.json`."""


@bench.command()
@click.argument("artifacts", nargs=-1, required=True)
@click.option("--baseline", default=None, help="Name or 0-based index of the baseline artifact (default: the first).")
@click.option("--iterations", "-n", type=int, default=None, help="Timed inferences per artifact (overrides --duration).")
@click.option("--duration", "-d", type=float, default=None, help="Timed seconds per artifact [3].")
@click.option("--warmup", type=float, default=None, help="Untimed warm-up seconds per artifact [0.5].")
@click.option("--rounds", type=int, default=None, help="Interleaved rounds A B C A B C ... [5].")
@click.option("--shape", "shapes", multiple=True, help="Input shape for dynamic dims: name:1x3x224x224 or 1x3x224x224.")
@click.option("--recipe", default=None, help="Take input shapes from this recipe's opt shapes (path or bundled name).")
@click.option("--backend", default=None, help="Force a backend (torch | onnxruntime | tensorrt).")
@click.option("--cuda-graph", is_flag=True, help="TensorRT: replay the inference as a CUDA graph.")
@click.option("--power", type=click.Choice(["auto", "jtop", "hwmon", "off"]), default="auto", show_default=True,
              help="Power source on a Jetson (nothing is sampled elsewhere).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True, help="Folder for bench.json, bench.md and the PNG plots.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--no-samples", is_flag=True, help="Do not store every latency sample in the JSON.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for ONNX Runtime sessions and torch (default: all cores).")
def measure(artifacts, baseline, iterations, duration, warmup, rounds, shapes, recipe, backend, cuda_graph, power, out,
            no_plots, no_samples, threads):
    """Measure ARTIFACTS ("module:factory", .onnx, .engine) in interleaved rounds in this process.

    Reports FPS, latency min/mean/median/p90/p95/p99/max, speed-up against the baseline, peak RSS, and
    on GPUs/Jetsons the TensorRT H2D/compute/D2H split, device memory and energy per inference.
    """
    from edge.bench import BenchOptions, to_markdown, write_report
    from edge.bench import bench as run_bench
    from edge.spec import parse_shapes

    parsed = recipe_shapes(recipe) if recipe else {}
    parsed.update(parse_shapes(shapes))
    opts = BenchOptions(iterations=iterations, duration_s=duration, warmup_s=warmup, rounds=rounds,
                        shapes=parsed or None, power=power, cuda_graph=cuda_graph, keep_samples=not no_samples,
                        threads=threads)
    base = int(baseline) if baseline is not None and baseline.isdigit() else baseline
    result = run_bench(list(artifacts), baseline=base, options=opts, backend=backend)
    paths = write_report(result, out, plots=not no_plots)
    click.echo(to_markdown(result))
    click.echo(f"written: {paths['json']}, {paths['markdown']}" + "".join(f", {p}" for p in paths["plots"]))


def recipe_shapes(recipe: str) -> dict:
    """The recipe's opt shape per input; a one-input recipe applies to any model's only input ("")."""
    from edge.core.recipe import Recipe

    r = Recipe.load(recipe)
    opt = {name: tuple(o) for name, (_, o, _) in r.shapes().items()}
    return {"": next(iter(opt.values()))} if len(opt) == 1 else opt


@bench.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the comparison as Markdown to this file.")
def compare(results, out):
    """Put earlier result files (bench.json / run.json) side by side."""
    from edge.bench import compare as run_compare
    from edge.io import write_text

    _, md = run_compare(list(results))
    click.echo(md)
    if out is not None:
        write_text(out, md)
