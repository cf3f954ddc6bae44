"""Demo step of the dense form: convert the reference nets, check exactness on a real image, time
dense vs batched patch-based evaluation, and tabulate the speed-up against the ideal FLOP ratio."""

from __future__ import annotations

import time

import torch

from edge.bench.memory import track_peak_rss
from edge.dense import REFERENCE_NETS, PatchRunner, dense_flops, exactness, to_dense
from edge.io import markdown_table
from edge.samples import real_image


def best_time(fn, repeats: int = 3) -> float:
    fn()  # warm-up (allocator, oneDNN primitive cache)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(ctx) -> dict:
    sizes = {"basenet": [(240, 360)], "simo_serra": [(48, 72), (240, 360)]}
    if ctx.quick:
        sizes = {"basenet": [(48, 72)], "simo_serra": [(48, 72)]}
    patch_budget = 2.0 if ctx.quick else 4.0
    with torch.no_grad():
        rows = _table(ctx, sizes, patch_budget)
    if any(r["patch_extrapolated"] for r in rows):
        ctx.echo("* patch-based time extrapolated from a timed subset of patches (every patch costs the same)")
    cols = ["net", "patch", "image", "dense_s", "patch_s", "patch_extrapolated", "speedup", "ideal_speedup",
            "achieved_over_ideal", "max_rel_error", "peak_rss_mb"]
    ctx.markdown.append("## Dense form: dense vs batched patch-based evaluation\n\n" + markdown_table(rows, cols))
    return {"rows": rows}


def _table(ctx, sizes, patch_budget) -> list[dict]:
    rows = []
    for name, (factory, patch) in REFERENCE_NETS.items():
        net = factory()
        dense = to_dense(net, patch)
        for h, w in sizes[name]:
            x = real_image(h, w)
            err = exactness(net, dense, patch, x, max_pixels=20000 if patch <= 16 else 1500)
            with track_peak_rss() as mem:
                t_dense = best_time(lambda: dense(x))
            pt = PatchRunner(net, patch, batch_size=1024 if patch > 16 else 8192).time(x, max_seconds=patch_budget)
            fl = dense_flops(net, dense, h, w)
            rows.append({
                "net": name, "patch": f"{patch}x{patch}", "image": f"{w}x{h}", "dense_s": t_dense,
                "patch_s": pt.seconds, "patch_extrapolated": pt.extrapolated, "speedup": pt.seconds / t_dense,
                "ideal_speedup": fl.ideal_speedup, "achieved_over_ideal": pt.seconds / t_dense / fl.ideal_speedup,
                "max_rel_error": err, "peak_rss_mb": mem.peak_mb,
            })
            r = rows[-1]
            ctx.echo(f"{name:10s} {r['image']:>8s}  dense {t_dense:8.4f} s  patch {pt.seconds:9.3f} s"
                     f"{'*' if pt.extrapolated else ' '}  speed-up {r['speedup']:7.1f}x  ideal {fl.ideal_speedup:7.1f}x"
                     f"  achieved/ideal {r['achieved_over_ideal']:5.2f}  max rel err {err:.1e}  peak RSS {mem.peak_mb:.0f} MB")
    return rows
