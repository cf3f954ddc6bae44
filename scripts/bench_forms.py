#!/usr/bin/env python3
"""Parameters, FLOPs and CPU latency of a ResNet-style network in each efficient form, side by side.

Latency is timed in interleaved rounds (baseline, form 1, form 2, ..., baseline, ...) in one process so
that load from other processes hits every model alike. Weights are untrained (latency does not depend
on them) except that sample-interp mask heads are set to give a chosen mask density (their logits
``N(0, 0.3) + bias`` with the bias found by bisection on a calibration batch); the FLOPs column counts
what the sparse kernel executes at that density. Prints a Markdown table and writes JSON.

    python scripts/bench_forms.py --rounds 20 --json docs/bench/forms_latency.json
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.flops import count_flops
from edge.forms import SampleInterpBlock, mask_density
from edge.forms.zoo import apply_form, fashion_resnet
from edge.io import markdown_table, write_json


@torch.no_grad()
def set_density(model, x, target: float) -> float:
    """Bias every mask head so that the mean mask density on ``x`` is about ``target``."""
    g = torch.Generator().manual_seed(0)
    heads = [h for b in model.modules() if isinstance(b, SampleInterpBlock) for h in (b.mask1, b.mask2)]
    for h in heads:
        h.conv.weight.copy_(torch.randn(h.conv.weight.shape, generator=g) * 0.3)
    lo, hi = -10.0, 10.0
    for _ in range(20):
        mid = (lo + hi) / 2
        for h in heads:
            h.conv.bias.fill_(mid)
        model(x)
        lo, hi = (lo, mid) if mask_density(model) > target else (mid, hi)
    return mask_density(model)


def build(width: int, densities, x):
    base = fashion_resnet(width=width, in_chans=x.shape[1]).eval()
    models = {"baseline": base}
    for form in ("spconv=0.5", "spconv=0.25", "csp"):
        models[form] = apply_form(base, form)[0].eval()
    for d in densities:
        m = apply_form(base, "sample_interp")[0].eval()
        models[f"sample_interp (density {d})"] = m
        set_density(m, x, d)
    return models


@torch.no_grad()
def interleaved(models: dict, x, rounds: int, warmup: int) -> dict:
    times = {k: [] for k in models}
    for r in range(warmup + rounds):
        for k, m in models.items():
            t = time.perf_counter()
            m(x)
            if r >= warmup:
                times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=8, help="fashion-resnet width (as scripts/train_fashion.py)")
    ap.add_argument("--densities", default="0.5,0.25")
    ap.add_argument("--size", type=int, default=28,
                    help="input height = width (the network has a stride-1 stem and no max-pool: the first stage runs "
                         "at this resolution)")
    ap.add_argument("--in-chans", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32, help="the large batch size timed after batch 1")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if min(args.size, args.batch, args.in_chans, args.width) < 1:
        ap.error("--size, --batch, --in-chans and --width must be >= 1")
    xb = torch.randn(args.batch, args.in_chans, args.size, args.size)
    models = build(args.width, [float(d) for d in args.densities.split(",")], xb)
    rows = []
    for k, m in models.items():
        m(xb)
        row = {"model": k, "params": sum(p.numel() for p in m.parameters()),
               "MFLOPs/image": round(count_flops(m, xb) / args.batch / 1e6, 2)}
        if isinstance(next((b for b in m.modules() if isinstance(b, SampleInterpBlock)), None), SampleInterpBlock):
            row["mask density"] = round(mask_density(m), 3)
        rows.append(row)
    b1 = interleaved(models, xb[:1], args.rounds, args.warmup)
    bb = interleaved(models, xb, max(3, args.rounds // 2), 1)
    big = f"b{args.batch}"
    for r in rows:
        r["latency b1 (ms)"] = round(b1[r["model"]], 3)
        r[f"latency {big} (ms)"] = round(bb[r["model"]], 2)
        r["b1 ratio"] = round(b1[r["model"]] / b1["baseline"], 3)
        r[f"{big} ratio"] = round(bb[r["model"]] / bb["baseline"], 3)
        r["FLOPs ratio"] = round(r["MFLOPs/image"] / rows[0]["MFLOPs/image"], 3)
    cols = ["model", "params", "MFLOPs/image", "FLOPs ratio", "mask density", "latency b1 (ms)", "b1 ratio",
            f"latency {big} (ms)", f"{big} ratio"]
    print(markdown_table(rows, cols))
    if args.json:
        write_json(args.json, {"command": "python scripts/bench_forms.py " + " ".join(argv or sys.argv[1:]),
                               "rows": rows, "threads": torch.get_num_threads(), "size": args.size,
                               "batch": args.batch, "torch": torch.__version__,
                               "python": platform.python_version(), "machine": platform.machine(),
                               "time_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
