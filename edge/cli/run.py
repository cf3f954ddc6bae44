"""``edge run``: a model on a camera/video/image source, with per-stage timing and a summary."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model")
@click.option("--source", "-s", required=True,
              help="Video file, image directory, v4l2:///dev/video0, csi://0?width=1280&height=720&fps=30, rtsp://..., gst://PIPELINE.")
@click.option("--recipe", default=None, help="Recipe YAML or bundled name (default: derived from the model's input).")
@click.option("--right", default=None,
              help="Stereo: the right input (folder, video or image); --source is then the left one.")
@click.option("--sbs", is_flag=True, help="Stereo: --source holds side-by-side frames (left | right halves).")
@click.option("--post", type=click.Choice(["topk", "colormap", "dump", "disparity"]), default=None,
              help="Post-processing (default: from the recipe's output kind; 'disparity' for stereo).")
@click.option("--sink", default="null", show_default=True, help="out.mp4 | image directory | display | null.")
@click.option("--size", default=None, help="HxW to resize frames to for models with dynamic H/W (e.g. 240x360).")
@click.option("--max-frames", type=int, default=None, help="Stop after this many frames.")
@click.option("--queue-size", type=int, default=None, help="Capacity of each queue between threads [2].")
@click.option("--policy", type=click.Choice(["block", "drop-oldest"]), default=None,
              help="When a queue is full: wait (default for files) or drop the oldest frame (default for cameras).")
@click.option("--stall-timeout", type=float, default=None, help="Seconds without a frame before the source counts as stalled [5].")
@click.option("--reconnect", type=int, default=None, help="Reconnect attempts for a live source that fails [5].")
@click.option("--dump-dir", default=None, help="With --post dump: folder for one .npz of outputs per frame.")
@click.option("--power", type=click.Choice(["auto", "jtop", "hwmon", "off"]), default="off", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for run.json (bench format), run.md and plots.")
def run(model, source, right, sbs, recipe, post, sink, size, max_frames, queue_size, policy, stall_timeout, reconnect, dump_dir,
        power, out):
    """Run MODEL ("module:factory", .onnx, .engine) on frames from --source until the stream ends.

    Ctrl-C stops every thread and still writes the summary. Exit code 0 at the end of the stream or
    --max-frames, 1 when the pipeline stopped on a failure, 130 when interrupted.
    """
    from edge.camera import PipelineConfig, run_pipeline
    from edge.errors import InputError

    hw = None
    if size:
        parts = size.lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise InputError(f"--size '{size}': write HxW, e.g. 240x360")
        hw = (int(parts[0]), int(parts[1]))
    cfg = PipelineConfig(queue_size=queue_size, policy=policy, max_frames=max_frames, stall_timeout_s=stall_timeout,
                         reconnect_attempts=reconnect, power=power)
    if right or sbs:
        model, source, recipe, post = _stereo(model, source, right, recipe, post, stall_timeout)
    summary = run_pipeline(model, source, recipe=recipe, post=post, sink=sink, config=cfg, size=hw,
                           post_options={"out_dir": dump_dir} if dump_dir else None, out=out)
    r = summary["results"][0]
    f, e2e = r["frames"], r["end_to_end_latency_ms"]
    click.echo(f"{r['stop_reason']}: {f['output']} frames out of {f['captured']} captured in "
               f"{r['total_host_walltime_s']:.2f} s = {r['fps']:.1f} FPS; end-to-end latency median "
               f"{e2e['median']:.1f} ms, p99 {e2e['p99']:.1f} ms; dropped {f['dropped_input'] + f['dropped_output']}, "
               f"corrupt {f['corrupt']}, reconnects {f['reconnects']}, stalls {f['stalls']}")
    for name, st in r["stages_ms"].items():
        if st:
            click.echo(f"  {name:10s} median {st['median']:8.2f} ms  p99 {st['p99']:8.2f} ms")
    _stereo_stages(model, out)
    if out is not None:
        click.echo(f"summary: {out / 'run.json'}")
    if r["stop_reason"] == "interrupted":
        return 130
    return 0 if r["stop_reason"] in ("end of stream", "max frames reached", "stopped by the sink") else 1


def _stereo(model, source, right, recipe, post, stall_timeout):
    """A stereo run: the opened StereoSource, the model (a factory spec is built here so that its per-stage
    times can be read afterwards), and the stereo recipe / post-processing unless given."""
    from edge.camera.stereo import StereoSource
    from edge.spec import is_factory_spec, load_module

    src = (StereoSource.open_pair(source, right, stall_timeout) if right
           else StereoSource.side_by_side(source, stall_timeout))
    if isinstance(model, str) and is_factory_spec(model):
        model = load_module(model)
    return model, src, recipe or "stereo-sbs", post or "disparity"


def _stereo_stages(model, out) -> None:
    """Medians of the matcher's own stages (descriptor, cost volume, SGM, ...) over the run, when it records them."""
    history = getattr(model, "history", None)
    if not history:
        return
    import statistics

    stages = {k: statistics.median(h[k] for h in history if k in h) for k in history[-1]}
    for name, ms in stages.items():
        click.echo(f"    matcher {name:12s} median {ms:8.2f} ms")
    if out is not None:
        from edge.io import write_json

        click.echo(f"matcher stages: {write_json(out / 'stereo_stages.json', {'median_ms': stages, 'frames': len(history)})}")
