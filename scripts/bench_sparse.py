#!/usr/bin/env python3
"""Sparse sample-interp execution vs the dense convolution on the CPU, side by side in one run.

For each shape (3x3 conv, padding 1) and mask density, times ``torch.ops.edge.sample_interp`` (gather at
the sampled positions -> one GEMM -> ReLU, RBF interpolation of the rest) against ``F.conv2d`` on the same
input (NCHW and channels-last; the ratio uses the faster dense one), in interleaved rounds (every variant once
per round, in a new seeded random order each round, ``--order``) so that load from other processes and cache state
left by the previous variant hit every variant alike, one block of rounds per thread count; masks hold exactly
round(d * positions) sampled positions (``--masks``); ``--burst k`` times k back-to-back calls of a variant per round. The op runs with its default CPU backend (``native``: the C++ kernel of
plugins/sample_interp/sample_interp_cpu.cpp around a torch addmm, when libedge_ref.so is built) with a
channels-last input (its own output format, i.e. what the next gated layer receives) and an NCHW input, and
with the pure-PyTorch fallback kernel (``torch``, channels-last input) side by side. ``ratio`` uses medians,
``ratio p10`` / ``ratio min`` the 10th percentiles / minima (interference only adds time). Checks every
sparse result against the dense masked reference first. With 1 thread, ``ratio CPU time`` divides the medians of
the calling thread's CPU time (``time.thread_time``), which leaves out the time the process waited for a core while
other processes ran. Prints a Markdown table and writes JSON.

    python scripts/bench_sparse.py --rounds 30 --threads 1,2 --json docs/bench/forms_sparse_t12.json
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.io import markdown_table, write_json
from edge.ops.sample_interp import (
    NATIVE_DENSE_ABOVE,
    sample_interp,
    sample_interp_backend,
    sample_interp_reference,
    sample_interp_sparse,
)

VARIANTS = {"cl": ("native", True), "nchw": ("native", False), "torch": ("torch", True)}  # backend, channels-last


def _once(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the calling thread) of one call."""
    t, c = time.perf_counter(), time.thread_time()
    fn()
    return time.perf_counter() - t, time.thread_time() - c


@torch.no_grad()
def make_mask(hw: int, d: float, g: torch.Generator, exact: bool = True) -> torch.Tensor:
    """Tensor[1, 1, hw, hw] of 0/1: ``exact`` round(d * hw^2) positions drawn without replacement (the density is
    d to the position), else each position sampled with probability d (the count then varies: at 56x56, d = 0.5,
    one standard deviation is 0.009 of the positions)."""
    n = hw * hw
    if not exact:
        return (torch.rand(1, 1, hw, hw, generator=g) < d).float()
    m = torch.zeros(n)
    m[torch.randperm(n, generator=g)[:round(d * n)]] = 1.0
    return m.view(1, 1, hw, hw)


def bench_shape(c: int, hw: int, densities, threads, rounds: int, warmup: int, seed: int, window: int,
                lam: float, burst: int = 1, exact: bool = True, shuffle: bool = True, dense_path: bool = False):
    """Time every variant in interleaved rounds, one block per thread count; one row per (threads, density).
    ``shuffle``: the variants run in a new random order every round, so that no variant always follows the one
    that evicts the caches (the PyTorch kernel touches ~30 MB) or the one that warms them (the other dense conv).
    ``dense_path``: also time the native kernel's dense path (one conv, then the interpolation of the unsampled
    positions), the choice NATIVE_DENSE_ABOVE makes against the sparse path."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, c, hw, hw, generator=g)
    xcl = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(c, c, 3, 3, generator=g) * (2.0 / (9 * c)) ** 0.5
    b = torch.randn(c, generator=g) * 0.1
    from edge.native import sample_interp_cpu as native

    masks = {d: make_mask(hw, d, g, exact) for d in densities}
    fns = {"dense": lambda: F.conv2d(x, w, b, 1, 1), "dense_cl": lambda: F.conv2d(xcl, w, b, 1, 1)}
    errs = {}
    args = ((1, 1), (1, 1), (1, 1), 1, 1, window, lam)  # stride, padding, dilation, groups, ReLU, window, lam
    for d, m in masks.items():
        if dense_path and d < 1.0 and native.available():  # the native kernel's dense path: conv, then interpolation
            fns[("densepath", d)] = lambda m=m: native.sample_interp_cpu(xcl, m, w, b, *args, 0.0)
        for v, (backend, cl) in VARIANTS.items():  # native: the custom op as a model calls it (default backend)
            fns[(v, d)] = ((lambda m=m, xx=xcl if cl else x: sample_interp(xx, m, w, b, 1, 1, activation=1,
                                                                           window=window, lam=lam))
                           if backend == "native" else
                           (lambda m=m, xx=xcl if cl else x: sample_interp_sparse(xx, m, w, b, *args, backend="torch")))
        ref = sample_interp_reference(x, m, w, b, *args)
        errs[d] = max((fns[(v, d)]() - ref).abs().max().item() for v in VARIANTS)
    times = {(t, k): [] for t in threads for k in fns}
    cpu = {(t, k): [] for t in threads for k in fns}
    for t in threads:  # one block per thread count: idle OpenMP workers of a 2-thread block spin for a while
        torch.set_num_threads(t)  # and would steal the core of a following 1-thread measurement
        order = random.Random(seed)
        for r in range(warmup + rounds):
            keys = list(fns)
            if shuffle:
                order.shuffle(keys)
            for k in keys:
                fn = fns[k]
                for _ in range(burst):  # back-to-back calls: each variant measured with its own data in cache
                    dt, dc = _once(fn)
                    if r >= warmup:
                        times[(t, k)].append(dt)
                        cpu[(t, k)].append(dc)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    p10 = {k: sorted(v)[len(v) // 10] * 1e3 for k, v in times.items()}  # load adds time: low tail ~ cost
    mins = {k: min(v) * 1e3 for k, v in times.items()}
    cmed = {k: statistics.median(v) * 1e3 for k, v in cpu.items()}
    rows = []
    for t in threads:
        dense = min(med[(t, "dense")], med[(t, "dense_cl")])
        dense10 = min(p10[(t, "dense")], p10[(t, "dense_cl")])
        dmin = min(mins[(t, "dense")], mins[(t, "dense_cl")])
        for d in densities:
            best = med[(t, ("cl", d))]
            rows.append({"shape": f"{c}->{c}, {hw}x{hw}", "threads": t, "density": d,
                         "actual density": round(masks[d].mean().item(), 4),
                         "dense NCHW (ms)": round(med[(t, "dense")], 3),
                         "dense NHWC (ms)": round(med[(t, "dense_cl")], 3),
                         "native NHWC in (ms)": round(best, 3), "native NCHW in (ms)": round(med[(t, ("nchw", d))], 3),
                         "torch kernel NHWC in (ms)": round(med[(t, ("torch", d))], 3),
                         "ratio": round(best / dense, 3), "ratio NCHW in": round(med[(t, ("nchw", d))] / dense, 3),
                         "ratio p10": round(p10[(t, ("cl", d))] / dense10, 3),
                         "ratio min": round(mins[(t, ("cl", d))] / dmin, 3),
                         "ratio torch kernel": round(med[(t, ("torch", d))] / dense, 3),
                         "ratio native dense path": round(med[(t, ("densepath", d))] / dense, 3)
                         if (t, ("densepath", d)) in med else "",
                         # 1 thread: all work runs on the calling thread, so its CPU time excludes the time the
                         # process waited for a core (other load); with 2 threads it would miss the worker thread
                         "ratio CPU time": round(cmed[(t, ("cl", d))] / min(cmed[(t, "dense")], cmed[(t, "dense_cl")]), 3)
                         if t == 1 else "",
                         "target (d+0.15)": round(d + 0.15, 2) if d <= 0.5 else "",
                         "meets target": (best / dense <= d + 0.15) if d <= 0.5 else "",
                         "max abs err vs reference": f"{errs[d]:.1e}"})
    return rows


@torch.no_grad()
def stage_rows(c: int, hw: int, densities, rounds: int, seed: int, window: int, lam: float):
    """Where the time of the native kernel goes (1 thread, medians): the stage clocks of its one C++ call (index,
    receptive fields = tap pointers or gather, GEMM + bias + activation, interpolation), the whole op's CPU time
    (the rest is Python, ctypes and the output allocation), and MKL's addmm on the full gathered matrix (what the
    GEMM stage replaced), each over the dense convolution's CPU time."""
    from edge.native import sample_interp_cpu as native

    if not native.available():
        return []
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, c, hw, hw, generator=g).contiguous(memory_format=torch.channels_last)
    w, b = torch.randn(c, c, 3, 3, generator=g) * (2.0 / (9 * c)) ** 0.5, torch.randn(c, generator=g) * 0.1

    def cpu_ms(fn) -> float:
        fn()
        return statistics.median(_once(fn)[1] for _ in range(rounds)) * 1e3

    dense, rows = cpu_ms(lambda: F.conv2d(x, w, b, 1, 1)), []
    for d in densities:  # (each lambda below runs within its iteration: the loop variables are current)
        mask = make_mask(hw, d, g)
        p = int(mask.sum())
        stages = []
        for _ in range(rounds):
            st = torch.zeros(4, dtype=torch.float64)
            native.sample_interp_cpu(x, mask, w, b, [1, 1], [1, 1], [1, 1], 1, 1, window, lam, NATIVE_DENSE_ABOVE, 1, 0,
                                     st)
            stages.append(st * 1e3)
        med = torch.stack(stages).median(0).values.tolist()  # index, fields, GEMM, interpolation (ms)
        cols, mat = torch.randn(p, 9 * c, generator=g), torch.randn(9 * c, c, generator=g)
        addmm = cpu_ms(lambda: torch.addmm(b, cols, mat))  # noqa: B023
        whole = cpu_ms(lambda: sample_interp(x, mask, w, b, 1, 1, activation=1, window=window,  # noqa: B023
                                             lam=lam))
        rows.append({"shape": f"{c}->{c}, {hw}x{hw}", "density": d, "dense conv (ms)": round(dense, 3),
                     "index / dense": round(med[0] / dense, 3), "fields / dense": round(med[1] / dense, 3),
                     "GEMM / dense": round(med[2] / dense, 3), "interp / dense": round(med[3] / dense, 3),
                     "whole op / dense": round(whole / dense, 3),
                     "rest (Python, ctypes, output) / dense": round((whole - sum(med)) / dense, 3),
                     "MKL addmm of the gathered matrix / dense": round(addmm / dense, 3)})
    return rows


def _uptime() -> str:
    try:
        import subprocess

        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default="64x56,128x28", help="CxHW list (3x3 conv C->C at HW x HW)")
    ap.add_argument("--densities", default="0.05,0.1,0.25,0.5,1.0")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", default="1,2", help="torch thread counts, interleaved in every round")
    ap.add_argument("--burst", type=int, default=1,
                    help="consecutive calls of a variant per round (each timed): 1 = strict interleaving, where a "
                         "variant starts with caches filled by the previous one")
    ap.add_argument("--masks", choices=("exact", "bernoulli"), default="exact",
                    help="exact: round(d * positions) sampled positions drawn without replacement; bernoulli: each "
                         "position sampled with probability d (the actual density then varies around d)")
    ap.add_argument("--order", choices=("shuffled", "fixed"), default="shuffled",
                    help="order of the variants within a round: a new random order every round (seeded), or fixed")
    ap.add_argument("--dense-path", action="store_true",
                    help="also time the native kernel's dense path (conv, then interpolation) at every density < 1")
    ap.add_argument("--window", type=int, default=7)
    ap.add_argument("--lam", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stages", action="store_true",
                    help="also time the native kernel's stages (1 thread, CPU time, the C++ call's own stage clocks)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    backend, uptime_start = sample_interp_backend(torch.zeros(1)), _uptime()
    print(f"sample_interp CPU backend: {backend}; {uptime_start}", flush=True)
    if backend != "native":
        print("warning: the native kernel is not built (make plugins): the 'native' columns run the torch kernel")
    threads = [int(v) for v in args.threads.split(",")]
    densities = [float(v) for v in args.densities.split(",")]
    rows = []
    for spec in args.shapes.split(","):
        c, hw = (int(v) for v in spec.split("x"))
        rows += bench_shape(c, hw, densities, threads, args.rounds, args.warmup, args.seed, args.window, args.lam,
                            args.burst, args.masks == "exact", args.order == "shuffled", args.dense_path)
        print(markdown_table(rows[-len(densities) * len(threads):]), flush=True)
    stages = []
    if args.stages:
        for spec in args.shapes.split(","):
            c, hw = (int(v) for v in spec.split("x"))
            stages += stage_rows(c, hw, [d for d in densities if d < 1.0], args.rounds * args.burst, args.seed,
                                 args.window, args.lam)
        print(markdown_table(stages), flush=True)
    if args.json:
        write_json(args.json, {"command": "python scripts/bench_sparse.py " + " ".join(argv or sys.argv[1:]),
                               "rows": rows, "stages": stages, "threads": threads,
                               "backend": sample_interp_backend(torch.zeros(1)),
                               "uptime_start": uptime_start, "uptime": _uptime(), "load_avg": list(os.getloadavg()), "torch": torch.__version__,
                               "python": platform.python_version(), "machine": platform.machine(),
                               "time_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
