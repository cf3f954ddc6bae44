#!/usr/bin/env python3
"""Sparse sample-interp execution vs the dense convolution on the CPU, side by side in one run.

For each shape (3x3 conv, padding 1) and mask density, times ``torch.ops.edge.sample_interp`` (gather at
the sampled positions -> one GEMM -> scatter, ReLU, RBF interpolation of the rest) against
``F.conv2d`` on the same input, in interleaved rounds (dense, d1, d2, ..., dense, d1, ...) so that load
from other processes hits every variant alike. Checks the sparse result against the dense masked
reference first. Prints a Markdown table and writes JSON.

    python scripts/bench_sparse.py --rounds 30 --json docs/bench/forms_sparse.json
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.io import markdown_table, write_json
from edge.ops.sample_interp import sample_interp, sample_interp_reference


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


@torch.no_grad()
def bench_shape(c: int, hw: int, densities, rounds: int, warmup: int, seed: int, window: int, lam: float):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, c, hw, hw, generator=g)
    w = torch.randn(c, c, 3, 3, generator=g) * (2.0 / (9 * c)) ** 0.5
    b = torch.randn(c, generator=g) * 0.1
    masks = {d: (torch.rand(1, 1, hw, hw, generator=g) < d).float() for d in densities}
    fns = {"dense": lambda: F.conv2d(x, w, b, 1, 1)}
    errs = {}
    for d, m in masks.items():
        fns[d] = (lambda m=m: sample_interp(x, m, w, b, 1, 1, activation=1, window=window, lam=lam))
        ref = sample_interp_reference(x, m, w, b, (1, 1), (1, 1), (1, 1), 1, 1, window, lam)
        errs[d] = (fns[d]() - ref).abs().max().item()
    times = {k: [] for k in fns}
    for r in range(warmup + rounds):
        for k, fn in fns.items():
            t = _once(fn)
            if r >= warmup:
                times[k].append(t)
    dense = statistics.median(times["dense"]) * 1e3
    rows = []
    for d in densities:
        med = statistics.median(times[d]) * 1e3
        rows.append({"shape": f"{c}->{c}, {hw}x{hw}", "density": d,
                     "actual density": round(masks[d].mean().item(), 4), "dense conv (ms)": round(dense, 3),
                     "sparse+interp (ms)": round(med, 3), "ratio": round(med / dense, 3),
                     "target (d+0.15)": round(d + 0.15, 2) if d <= 0.5 else "",
                     "meets target": (med / dense <= d + 0.15) if d <= 0.5 else "",
                     "max abs err vs reference": f"{errs[d]:.1e}"})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default="64x56,128x28", help="CxHW list (3x3 conv C->C at HW x HW)")
    ap.add_argument("--densities", default="0.05,0.1,0.25,0.5,1.0")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    ap.add_argument("--window", type=int, default=7)
    ap.add_argument("--lam", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    densities = [float(v) for v in args.densities.split(",")]
    rows = []
    for spec in args.shapes.split(","):
        c, hw = (int(v) for v in spec.split("x"))
        rows += bench_shape(c, hw, densities, args.rounds, args.warmup, args.seed, args.window, args.lam)
        print(markdown_table(rows[-len(densities):]), flush=True)
    if args.json:
        write_json(args.json, {"command": "python scripts/bench_sparse.py " + " ".join(argv or sys.argv[1:]),
                               "rows": rows, "threads": torch.get_num_threads(), "torch": torch.__version__,
                               "python": platform.python_version(), "machine": platform.machine(),
                               "time_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
