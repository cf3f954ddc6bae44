"""Stereo benchmark on Middlebury 2014 Motorcycle (quarter size, held out): edge's learned matcher with each
refinement switched on in turn, OpenCV StereoSGBM and StereoBM swept over their parameters, the patch-based
descriptor against the dense one, the exported / INT8 descriptors, the camera pipeline against a bare loop,
and the figure docs/stereo.png. Everything in one run, side by side.

    OMP_NUM_THREADS=1 python3 scripts/bench_stereo.py --threads 1 --out docs/stereo [--int8 desc.int8.onnx]
    python3 scripts/bench_stereo.py --quick --out /tmp/stereo        # a small smoke run (half-size pair)

Timing figures are only meaningful on a quiet machine; accuracy figures do not depend on load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.dense import PatchRunner, dense_flops, to_dense
from edge.io import markdown_table, write_json, write_text
from edge.stereo import baselines
from edge.stereo.data import motorcycle
from edge.stereo.evaluate import as_tensor, best_time, disparity_errors, error_breakdown
from edge.stereo.matcher import Matcher
from edge.stereo.model import PATCH, normalise, pretrained
from edge.stereo.table import resized

STEPS = [("edge WTA", {"sgm": False, "lr_check": False, "subpixel": False, "median": 0}),
         ("+ SGM (4 paths)", {"lr_check": False, "subpixel": False, "median": 0}),
         ("+ left-right check", {"border": False, "subpixel": False, "median": 0}),
         ("+ border fill", {"subpixel": False, "median": 0}),
         ("+ subpixel", {"median": 0}),
         ("+ median 5x5 (edge full)", {})]
COLS = ["method", "bad_1", "bad_2", "bad_4", "avgerr", "seconds"]


def accuracy(pair, max_disp, repeats, echo) -> tuple[list[dict], dict]:
    """edge's refinements one by one (features once, their time added to each row) + SGBM/BM sweeps."""
    left, right = as_tensor(pair.left), as_tensor(pair.right)
    full = Matcher(max_disp=max_disp)
    t_feat = best_time(lambda: full.core.feature_maps(left, right), repeats)
    fl, fr = full.core.feature_maps(left, right)
    rows, disps = [], {}
    for name, kw in STEPS:
        m = Matcher(max_disp=max_disp, features=lambda x: x, **kw)
        t = best_time(lambda m=m: m.match_features(fl, fr, left), repeats)
        disps[name] = m.match_features(fl, fr, left)[0, 0].numpy()
        rows.append({"method": name, **disparity_errors(disps[name], pair.disparity), "seconds": t_feat + t,
                     "stages_ms": dict(m.last_times)})
        echo(f"{name:26s} bad-2 {rows[-1]['bad_2']:6.2f}")
    sweeps = {}
    for which in ("sgbm", "bm"):
        best, all_rows = baselines.sweep(pair, max_disp, which)
        fn = baselines.sgbm if which == "sgbm" else baselines.bm
        params = {k: best[k] for k in (baselines.SGBM_GRID if which == "sgbm" else baselines.BM_GRID)}
        best["seconds"] = best_time(lambda fn=fn, params=params: fn(pair.left, pair.right, max_disp, **params), repeats)
        best["method"] = f"OpenCV {which.upper()} best of {len(all_rows)} ({params})"
        disps[which] = fn(pair.left, pair.right, max_disp, **params)
        rows.append(best)
        sweeps[which] = all_rows
        echo(f"{best['method']:26s} bad-2 {best['bad_2']:6.2f}")
    return rows, {"disparities": disps, "sweeps": sweeps}


def patch_vs_dense(pair, max_disp, patch_budget_s, crop_rows, echo) -> dict:
    """Dense vs PatchRunner: time on the full pair (patch time extrapolated past the budget), the ideal FLOP
    ratio, and the disparity from patch-based features on a band of rows (must equal the dense one)."""
    net = pretrained()
    dense = to_dense(net, PATCH)
    x = normalise(torch.cat([as_tensor(pair.left), as_tensor(pair.right)]))
    with torch.no_grad():
        t_dense = best_time(lambda: dense(x), 2)
    pt = PatchRunner(net, PATCH, batch_size=8192).time(x, max_seconds=patch_budget_s)
    fl = dense_flops(net, dense, *x.shape[-2:])
    band = x[..., crop_rows[0]:crop_rows[1], :]
    with torch.no_grad():
        f_dense = dense(band)
    f_patch = PatchRunner(net, PATCH, batch_size=8192)(band)
    m = Matcher(max_disp=max_disp, features=lambda z: z)
    gray = as_tensor(pair.left)[..., crop_rows[0]:crop_rows[1], :]
    nd = torch.nn.functional.normalize
    d_dense = m.match_features(nd(f_dense[:1], dim=1), nd(f_dense[1:], dim=1), gray)
    d_patch = m.match_features(nd(f_patch[:1], dim=1), nd(f_patch[1:], dim=1), gray)
    out = {"image": f"{x.shape[-1]}x{x.shape[-2]} (left + right)", "dense_s": t_dense, "patch_s": pt.seconds,
           "patch_extrapolated": pt.extrapolated, "speedup": pt.seconds / t_dense, "ideal_speedup": fl.ideal_speedup,
           "achieved_over_ideal": pt.seconds / t_dense / fl.ideal_speedup,
           "feature_max_rel_err": float((f_dense - f_patch).abs().max() / f_patch.abs().max()),
           "disparity_equal_fraction": float((d_dense - d_patch).abs().le(1e-3).float().mean()),
           "band_rows": list(crop_rows)}
    echo(f"dense {t_dense:.3f} s, patch {pt.seconds:.2f} s{'*' if pt.extrapolated else ''}: speed-up "
         f"{out['speedup']:.1f}x, ideal {fl.ideal_speedup:.1f}x, achieved/ideal {out['achieved_over_ideal']:.2f}; "
         f"same disparity on {100 * out['disparity_equal_fraction']:.2f} % of the band")
    return out


def backends(pair, max_disp, int8, threads, repeats, workdir, echo) -> list[dict]:
    """The descriptor in PyTorch, portable ONNX, plugin ONNX (ORT functions for the plugin node) and INT8 Q/DQ,
    each feeding the same matcher: accuracy and time of features + the whole matcher; SGBM's best for scale."""
    from edge.calib import evaluate as ev
    from edge.export import to_onnx

    dense = to_dense(pretrained(), PATCH)
    paths = {"portable ONNX": to_onnx(dense, torch.rand(1, 1, 64, 64), workdir / "descriptor.onnx", plugins=False),
             "plugin ONNX": to_onnx(dense, torch.rand(1, 1, 64, 64), workdir / "descriptor.plugins.onnx")}
    if int8:
        paths["INT8 Q/DQ ONNX"] = Path(int8)
    feats = {"PyTorch": lambda z: dense(z)}
    for name, p in paths.items():
        sess = ev.session(p, threads=threads, literal_qdq=False)
        feats[name] = lambda z, s=sess: torch.from_numpy(s.run(None, {s.get_inputs()[0].name: z.numpy()})[0])
    if int8:  # accuracy from the literal Q/DQ arithmetic (what TensorRT computes), time from ORT's kernels
        lit = ev.session(paths["INT8 Q/DQ ONNX"], threads=threads, literal_qdq=True)
        feats_acc = {"INT8 Q/DQ ONNX": lambda z: torch.from_numpy(lit.run(None, {lit.get_inputs()[0].name: z.numpy()})[0])}
    left, right = as_tensor(pair.left), as_tensor(pair.right)
    x = normalise(torch.cat([left, right]))
    rows = []
    for name, fn in feats.items():
        m = Matcher(max_disp=max_disp, features=(feats_acc[name] if int8 and name in feats_acc else fn))
        with torch.no_grad():
            disp = m(left, right)[0, 0].numpy()
        with torch.no_grad():
            t_f = best_time(lambda fn=fn: fn(x), repeats)
            mt = Matcher(max_disp=max_disp, features=fn)
            t_all = best_time(lambda mt=mt: mt(left, right), repeats)
        rows.append({"method": f"edge matcher, descriptor in {name}", **disparity_errors(disp, pair.disparity),
                     "features_s": t_f, "seconds": t_all})
        echo(f"{name:16s} bad-2 {rows[-1]['bad_2']:6.2f}  features {t_f:.3f} s  matcher {t_all:.3f} s")
    return rows


def pipeline_ratio(pair, max_disp, frames, echo) -> dict:
    """``edge run``'s pipeline (stereo source of two folders, NullSink) against a bare loop of the same
    preprocessing + model on the same frames: FPS ratio."""
    import cv2

    from edge.camera import run_pipeline
    from edge.camera.stereo import StereoSource
    from edge.core.recipe import Recipe
    from edge.stereo import side_by_side_matcher

    tmp = Path(tempfile.mkdtemp(prefix="edge-stereo-"))
    for side, img in (("L", pair.left), ("R", pair.right)):
        (tmp / side).mkdir()
        for i in range(frames):
            cv2.imwrite(str(tmp / side / f"{i:04d}.png"), np.round(img * 255).astype(np.uint8))
    model = side_by_side_matcher(max_disp).eval()
    rec = Recipe.load("stereo-sbs")
    src = StereoSource.open_pair(str(tmp / "L"), str(tmp / "R"))
    sbs = []
    while (f := src.read()) is not None:
        sbs.append(f)
    with torch.no_grad():
        model(torch.from_numpy(rec.preprocess(sbs[0])["input"]))  # warm-up
        t0 = time.perf_counter()
        for f in sbs:
            model(torch.from_numpy(rec.preprocess(f)["input"]))
        bare = len(sbs) / (time.perf_counter() - t0)
    summary = run_pipeline(model, StereoSource.open_pair(str(tmp / "L"), str(tmp / "R")), recipe="stereo-sbs",
                           post="disparity", sink="null")
    fps = summary["results"][0]["fps"]
    echo(f"pipeline {fps:.2f} FPS vs bare loop {bare:.2f} FPS: {fps / bare:.2f}")
    return {"frames": frames, "bare_fps": bare, "pipeline_fps": fps, "ratio": fps / bare,
            "stages_ms": {k: v["median"] for k, v in summary["results"][0]["stages_ms"].items() if v}}


def figure(pair, disps, path) -> None:
    """Left image, ground truth, edge's and SGBM's disparities and their error maps (|d - gt|, 0..8 px)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edge.io import atomic_path

    gt = np.where(np.isfinite(pair.disparity), pair.disparity, np.nan)
    edge_d, sgbm_d = disps["+ median 5x5 (edge full)"], disps["sgbm"]
    vmax = np.nanmax(gt)
    fig, ax = plt.subplots(2, 3, figsize=(15, 7))
    panels = [(pair.left_bgr[..., ::-1], "left image", {}), (gt, "ground truth", {"vmin": 0, "vmax": vmax}),
              (np.abs(edge_d - gt), f"edge |error| (bad-2 {disparity_errors(edge_d, pair.disparity)['bad_2']:.1f} %)",
               {"vmin": 0, "vmax": 8, "cmap": "magma"}),
              (edge_d, "edge disparity", {"vmin": 0, "vmax": vmax}), (sgbm_d, "OpenCV SGBM (best swept)", {"vmin": 0, "vmax": vmax}),
              (np.abs(sgbm_d - gt), f"SGBM |error| (bad-2 {disparity_errors(sgbm_d, pair.disparity)['bad_2']:.1f} %)",
               {"vmin": 0, "vmax": 8, "cmap": "magma"})]
    for a, (img, title, kw) in zip(ax.flat, panels):
        a.imshow(img, **({"cmap": "turbo"} | kw) if img.ndim == 2 else {})
        a.set_title(title)
        a.axis("off")
    fig.tight_layout()
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, dpi=70, format="png")
    plt.close(fig)
    buf.seek(0)
    with atomic_path(path, suffix=".png") as tmp:  # a 256-colour palette keeps the docs figure small
        Image.open(buf).convert("RGB").quantize(256).save(tmp, format="PNG", optimize=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for stereo_bench.json / .md")
    ap.add_argument("--figure", type=Path, default=None, help="where to save the figure (e.g. docs/stereo.png)")
    ap.add_argument("--int8", default=None, help="INT8 descriptor from edge quantize (see docs/STEREO.md)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--patch-budget", type=float, default=30.0, help="seconds of patch-based timing before extrapolating")
    ap.add_argument("--pipeline-frames", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="half-size pair, 1 repeat, short budgets (smoke run)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["patch", "backends", "pipeline"])
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    pair = motorcycle()
    if a.quick:
        pair, a.repeats, a.patch_budget, a.pipeline_frames = resized(pair, 0.5), 1, 5.0, 3
    max_disp = int(np.ceil(pair.max_disp / 16) * 16)
    echo = lambda s: print(s, flush=True)
    res = {"pair": pair.name, "size": list(pair.left.shape), "max_disp": max_disp, "threads": a.threads,
           "load_average": os.getloadavg(), "command": " ".join(sys.argv)}
    with torch.no_grad():
        res["accuracy"], extra = accuracy(pair, max_disp, a.repeats, echo)
    res["sweeps"] = extra["sweeps"]
    res["error_breakdown"] = {k: error_breakdown(extra["disparities"][k], pair.disparity, pair.left)
                              for k in (STEPS[-1][0], "sgbm")}
    if "patch" not in a.skip:
        band = (pair.left.shape[0] // 2 - 16, pair.left.shape[0] // 2 + 16)
        res["patch_vs_dense"] = patch_vs_dense(pair, max_disp, a.patch_budget, band, echo)
    if "backends" not in a.skip:
        with tempfile.TemporaryDirectory() as d:
            res["backends"] = backends(pair, max_disp, a.int8, a.threads, a.repeats, Path(d), echo)
    if "pipeline" not in a.skip:
        res["pipeline"] = pipeline_ratio(pair, max_disp, a.pipeline_frames, echo)
    if a.figure:
        figure(pair, extra["disparities"], a.figure)
    write_json(a.out / "stereo_bench.json", res)
    write_text(a.out / "stereo_bench.md", markdown(res))
    print(markdown(res))
    return 0


def markdown(res: dict) -> str:
    md = [(f"## Stereo on {res['pair']} {res['size'][1]}x{res['size'][0]}, {res['max_disp']} disparities, "
           f"{res['threads']} thread(s), load average {res['load_average'][0]:.2f}\n"),
          f"`{res['command']}`\n", markdown_table(res["accuracy"], COLS)]
    rows = [{"method": k, "region": region, **v} for k, regions in res.get("error_breakdown", {}).items()
            for region, v in regions.items()]
    if rows:
        md += ["\n### Where the bad-2 pixels are\n", markdown_table(rows, ["method", "region", "share_of_known", "bad_2"])]
    if "patch_vs_dense" in res:
        md += ["\n### Patch-based vs dense descriptor\n", markdown_table([res["patch_vs_dense"]], list(res["patch_vs_dense"]))]
    if "backends" in res:
        md += ["\n### Descriptor backends (same matcher)\n",
               markdown_table(res["backends"], ["method", "bad_1", "bad_2", "bad_4", "avgerr", "features_s", "seconds"])]
    if "pipeline" in res:
        p = res["pipeline"]
        md += [(f"\n### Camera pipeline\n\n{p['frames']} frames: pipeline {p['pipeline_fps']:.2f} FPS, bare loop "
                f"{p['bare_fps']:.2f} FPS, ratio {p['ratio']:.2f}\n")]
    return "\n".join(md) + "\n"


if __name__ == "__main__":
    sys.exit(main())
