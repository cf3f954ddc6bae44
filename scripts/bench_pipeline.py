#!/usr/bin/env python3
"""Pipeline FPS vs bare model FPS for a model-bound case: the dense BaseNet at 360x240 from a video.

Both are measured in one process, in interleaved rounds (bare, pipeline, bare, pipeline, ...), on the
same Runner: "bare" calls runner.infer on a preprocessed real frame back to back; "pipeline" runs
edge.camera's three threads (decode + recipe preprocessing, inference, colour-map post-processing (or
none with --post none) to a null sink) on the video from its first frame for the same number of frames. Target: pipeline >= 90 % of
bare. Prints a table and writes JSON.

    python scripts/bench_pipeline.py                       # vtest.avi, ONNX Runtime, 240x360
    python scripts/bench_pipeline.py --model edge.bench.models:dense_basenet   # PyTorch instead
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_model(tmp: Path, h: int, w: int) -> str:
    """The dense BaseNet exported to portable ONNX (static 1x1xHxW); the torch factory if export fails."""
    import torch

    from edge.bench.models import dense_basenet

    try:
        from edge.export import to_onnx

        return str(to_onnx(dense_basenet(), (torch.rand(1, 1, h, w),), tmp / "dense_basenet.onnx", plugins=False,
                           dynamic=False))
    except Exception as e:  # noqa: BLE001 - report and fall back to the PyTorch model
        print(f"ONNX export failed ({e}); measuring the PyTorch model instead", file=sys.stderr)
        return "edge.bench.models:dense_basenet"


def bare_round(runner, feed, n: int) -> tuple[float, list]:
    lat = []
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        runner.infer(feed)
        lat.append(1000 * (time.perf_counter() - t))
    return time.perf_counter() - t0, lat


def pipeline_round(runner, preprocess, video: str, n: int, post: str) -> dict:
    from edge.camera import Pipeline, PipelineConfig, make_post, open_source

    src = open_source(video)
    post_fn = make_post(post) if post != "none" else None
    return Pipeline(src, runner, preprocess, post_fn, None, PipelineConfig(max_frames=n)).run()["results"][0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(REPO / "data" / "opencv" / "vtest.avi"))
    ap.add_argument("--model", default=None, help="artifact (default: dense BaseNet exported to ONNX)")
    ap.add_argument("--size", default="240x360", help="HxW the frames are resized to [240x360]")
    ap.add_argument("--frames", type=int, default=10, help="frames per round and mode [10]")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--post", choices=["colormap", "none"], default="colormap",
                    help="pipeline post-processing: colour map of the 113 features (default) or none")
    ap.add_argument("--out", default="bench-results/pipeline_vs_model.json")
    args = ap.parse_args(argv)

    import cv2

    from edge.bench.env import environment
    from edge.bench.stats import latency_stats
    from edge.camera.run import feed_adapter, recipe_for
    from edge.io import markdown_table, write_json
    from edge.runtime import load as load_runner

    h, w = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or default_model(Path(tmp), h, w)
        runner = load_runner(model)
        recipe = recipe_for(runner, "dense-basenet", (h, w))
        preprocess = feed_adapter(recipe, runner)
        cap = cv2.VideoCapture(args.video)
        ok, frame = cap.read()
        cap.release()
        if not ok:
            raise SystemExit(f"cannot read {args.video}")
        feed = preprocess(frame)
        runner.infer(feed)  # warm-up
        rows, bare_lat, e2e = [], [], []
        for r in range(args.rounds):
            t_bare, lat = bare_round(runner, feed, args.frames)
            p = pipeline_round(runner, preprocess, args.video, args.frames, args.post)
            bare_lat += lat
            e2e += p["samples_ms"]
            rows.append({"round": r, "bare_fps": args.frames / t_bare, "pipeline_fps": p["fps"],
                         "ratio": p["fps"] / (args.frames / t_bare), "pipeline_frames": p["frames"]["output"],
                         "infer_median_ms": p["stages_ms"]["infer"]["median"],
                         "e2e_median_ms": p["end_to_end_latency_ms"]["median"]})
            print(f"round {r}: bare {rows[-1]['bare_fps']:.3f} FPS, pipeline {p['fps']:.3f} FPS, "
                  f"ratio {rows[-1]['ratio']:.3f}", flush=True)
    bare_fps = args.rounds * args.frames / sum(args.frames / x["bare_fps"] for x in rows)
    pipe_fps = sum(x["pipeline_frames"] for x in rows) / sum(x["pipeline_frames"] / x["pipeline_fps"] for x in rows)
    result = {"benchmark": "pipeline_vs_model", "model": model, "video": args.video, "size": [h, w], "post": args.post,
              "frames_per_round": args.frames, "rounds": rows, "bare_fps": bare_fps, "pipeline_fps": pipe_fps,
              "ratio": pipe_fps / bare_fps, "target_ratio": 0.9, "meets_target": pipe_fps / bare_fps >= 0.9,
              "bare_latency_ms": latency_stats(bare_lat), "pipeline_e2e_latency_ms": latency_stats(e2e),
              "environment": environment()}
    print(markdown_table(rows, ["round", "bare_fps", "pipeline_fps", "ratio", "infer_median_ms", "e2e_median_ms"]))
    print(f"overall: bare {bare_fps:.3f} FPS, pipeline {pipe_fps:.3f} FPS, ratio {pipe_fps / bare_fps:.3f} "
          f"(target >= 0.90: {'met' if result['meets_target'] else 'NOT met'})")
    write_json(args.out, result)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
