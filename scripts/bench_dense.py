#!/usr/bin/env python3
"""Dense form vs batched patch-based evaluation (issue 2 benchmark).

For both reference nets at 72x48, 360x240, 720x480 and 1080x720: dense time, best batched
patch-based time (batch size chosen from a few candidates; extrapolated from a timed subset of
patches when the full run would take longer than --patch-seconds), speed-up, ideal speed-up (FLOP
ratio), achieved/ideal and peak RSS. Then tiled (--budget-mb) vs untiled at 1080x720 for the
Simo-Serra net. Every configuration runs in its own subprocess so that its peak RSS is its own.

    python scripts/bench_dense.py --out docs/bench/dense.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SIZES = [(48, 72), (240, 360), (480, 720), (720, 1080)]


def worker(args) -> dict:
    import torch

    from edge.bench.memory import track_peak_rss
    from edge.dense import REFERENCE_NETS, PatchRunner, dense_flops, to_dense
    from edge.samples import real_image

    torch.set_grad_enabled(False)
    factory, patch = REFERENCE_NETS[args.net]
    net = factory()
    h, w = args.size
    x = real_image(h, w)
    res = {"net": args.net, "image": f"{w}x{h}", "threads": torch.get_num_threads()}
    if args.mode == "tiles":
        d = to_dense(net, patch, max_memory_mb=args.budget_mb)
        from edge.dense.tiling import plan_tiles

        plan = plan_tiles(d, 1, h, w, args.budget_mb)
        res.update(tile=list(plan.tile), grid=list(plan.grid), est_mb=plan.est_bytes / 2**20,
                   budget_mb=args.budget_mb)
    else:
        d = to_dense(net, patch)
    with track_peak_rss() as mem:
        d(x)  # warm-up; the peak of this call is the dense run's peak
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        d(x)
        times.append(time.perf_counter() - t0)
    res.update(dense_s=min(times), dense_s_all=times, peak_rss_mb=mem.peak_mb, rss_before_mb=mem.start_bytes / 2**20)
    if args.mode == "dense":
        fl = dense_flops(net, d, h, w)
        # best batch size on a short probe, then the timed (possibly extrapolated) run
        probe = {}
        for bs in (256, 1024, 4096):
            probe[bs] = PatchRunner(net, patch, batch_size=bs).time(x, max_seconds=1.0)
            probe[bs] = probe[bs].seconds
        best_bs = min(probe, key=probe.get)
        pt = PatchRunner(net, patch, batch_size=best_bs).time(x, max_seconds=args.patch_seconds)
        res.update(patch_s=pt.seconds, patch_extrapolated=pt.extrapolated, patches_timed=pt.patches_timed,
                   patches_total=pt.patches_total, patch_batch=best_bs, patch_flops=fl.patch_flops,
                   dense_flops=fl.dense_flops, speedup=pt.seconds / res["dense_s"], ideal_speedup=fl.ideal_speedup,
                   achieved_over_ideal=pt.seconds / res["dense_s"] / fl.ideal_speedup)
    return res


def run_worker(**kw) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--net", kw["net"], "--size", f"{kw['size'][0]}x{kw['size'][1]}",
           "--mode", kw["mode"], "--patch-seconds", str(kw["patch_seconds"]), "--repeats", str(kw["repeats"])]
    if kw.get("budget_mb"):
        cmd += ["--budget-mb", str(kw["budget_mb"])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"worker failed: {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--net", default="simo_serra")
    ap.add_argument("--size", default="240x360", help="HxW")
    ap.add_argument("--mode", default="dense", choices=["dense", "untiled", "tiles"])
    ap.add_argument("--nets", default="basenet,simo_serra")
    ap.add_argument("--patch-seconds", type=float, default=8.0, help="time budget of one patch-based run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget-mb", type=float, default=1024.0)
    ap.add_argument("--tile-rounds", type=int, default=3, help="interleaved tiled/untiled rounds")
    ap.add_argument("--out", type=Path, default=Path("docs/bench/dense.json"))
    args = ap.parse_args()
    args.size = tuple(int(v) for v in args.size.split("x"))
    if args.worker:
        print(json.dumps(worker(args)))
        return
    rows = []
    for net in args.nets.split(","):
        for size in SIZES:
            r = run_worker(net=net, size=size, mode="dense", patch_seconds=args.patch_seconds, repeats=args.repeats)
            rows.append(r)
            print(f"{net:10s} {r['image']:>9s} dense {r['dense_s']:8.3f}s  patch {r['patch_s']:10.2f}s"
                  f"{'*' if r['patch_extrapolated'] else ' '} (bs {r['patch_batch']})  speed-up {r['speedup']:8.1f}x"
                  f"  ideal {r['ideal_speedup']:7.1f}x  achieved/ideal {r['achieved_over_ideal']:5.2f}"
                  f"  peak RSS {r['peak_rss_mb']:6.0f} MB", flush=True)
    tiles = []
    for _ in range(args.tile_rounds):  # interleaved so that machine drift hits both alike
        for mode in ("untiled", "tiles"):
            tiles.append(run_worker(net="simo_serra", size=(720, 1080), mode=mode, patch_seconds=0,
                                    repeats=args.repeats, budget_mb=args.budget_mb if mode == "tiles" else None))
            t = tiles[-1]
            print(f"simo_serra 1080x720 {mode:8s} {t['dense_s']:7.2f}s  peak RSS {t['peak_rss_mb']:6.0f} MB"
                  + (f"  tile {t['tile']} grid {t['grid']} est {t['est_mb']:.0f} MB" if mode == "tiles" else ""),
                  flush=True)
    unt = [t for t in tiles if "tile" not in t]
    til = [t for t in tiles if "tile" in t]
    summary = {
        "tiled_over_untiled_time": min(t["dense_s"] for t in til) / min(t["dense_s"] for t in unt),
        "untiled_peak_rss_mb": max(t["peak_rss_mb"] for t in unt),
        "tiled_peak_rss_mb": max(t["peak_rss_mb"] for t in til),
        "budget_mb": args.budget_mb,
    }
    print(json.dumps(summary, indent=1))
    from edge.io import write_json

    write_json(args.out, {"command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]), "cpu_count": os.cpu_count(),
                          "rows": rows, "tiles": tiles, "summary": summary})


if __name__ == "__main__":
    main()
