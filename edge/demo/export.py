"""Demo step "export": the dense reference nets exported in both ONNX modes, every backend compared.

For basenet (15x15 patch) and Simo-Serra (64x64 patch): ``to_dense(..., unwarp="op")`` ->
``edge.export.to_onnx`` portable (standard operators) and plugin mode (EdgeMultiPoolUnwarp node) ->
the same real image through PyTorch, ONNX Runtime on both files (the plugin file through the
in-memory model-local functions) and, when TensorRT and a GPU are present, an engine built from the
plugin file. Outputs are compared with the PyTorch dense output (``edge.runtime.compare``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.io import markdown_table

TOLERANCE = 1e-4


def export_both(name: str, out: Path, height: int, width: int, unwarp: str | None = None):
    """Dense form of reference net ``name`` and its two ONNX exports for a ``height x width`` image
    (static shapes: one image size, and a static export takes seconds where a dynamic one takes ~half a minute).

    Returns ``(dense_module, x float32[1, 1, H, W] real image, {"portable": path, "plugins": path})``.
    """
    import torch

    from edge.dense import REFERENCE_NETS, to_dense
    from edge.export import to_onnx
    from edge.samples import real_image

    factory, patch = REFERENCE_NETS[name]
    torch.manual_seed(0)
    dense = to_dense(factory(), patch, unwarp=unwarp or "op").eval()
    x = real_image(height, width).float()
    paths = {}
    for mode, plugins in (("portable", False), ("plugins", True)):
        path = out / f"{name}.{height}x{width}.{'plugins.' if plugins else ''}onnx"
        to_onnx(dense, (x,), path, plugins=plugins, dynamic=False)
        paths[mode] = path
    return dense, x.numpy(), paths


def engine_runner(onnx_path: Path):
    """A TensorRT runner for an engine built here from ``onnx_path`` (with the plugin library and a
    manifest, through ``edge.trt.build_engine``), or None when this machine has no TensorRT/GPU."""
    from edge._lazy import has_module
    from edge.core.cuda import gpu_unavailable_reason

    if not has_module("tensorrt") or gpu_unavailable_reason() is not None:
        return None
    from edge.runtime import load
    from edge.trt import BuildOptions, build_engine
    from edge.trt.plugins import library_path

    plugin = library_path()
    engine = onnx_path.with_name(onnx_path.name.replace(".onnx", ".fp32.engine"))
    build_engine(onnx_path, engine, BuildOptions(plugins=[str(plugin)]))
    return load(engine, plugins=plugin, name=f"tensorrt:{engine.name}")


def compare_backends(name: str, out: Path, height: int, width: int, echo=print) -> list[dict]:
    """Rows of the demo table for one reference net (one per backend compared with PyTorch)."""
    dense, x, paths = export_both(name, out, height, width)
    return compare_exported(name, dense, x, paths, echo=echo)


def compare_exported(name: str, dense, x: np.ndarray, paths: dict, echo=print) -> list[dict]:
    """Compare PyTorch ``dense`` with ONNX Runtime on ``paths`` (and an engine when possible) on ``x``."""
    from edge.runtime import compare, load

    height, width = (int(v) for v in x.shape[-2:])
    runners = [load(dense, name="torch"), load(paths["portable"], name="onnxruntime:portable"),
               load(paths["plugins"], name="onnxruntime:plugins")]
    engine = engine_runner(paths["plugins"])
    if engine is not None:
        runners.append(engine)
    feed = {runners[0].inputs[0].name: x}
    report = compare(runners, [feed, feed], atol=TOLERANCE, rtol=TOLERANCE)  # 2nd feed: warm timing
    rows = []
    for c in (c for c in report.rows if c.feed == 1):
        seconds = report.times[c.runner][1]
        rows.append({"net": name, "image": f"{width}x{height}", "backend": c.runner, "vs": c.reference,
                     "max_abs": c.max_abs, "mean_abs": c.mean_abs, "max_rel": c.max_rel, "seconds": seconds,
                     "torch_seconds": report.times[c.reference][1], "result": "PASS" if c.passed else "FAIL",
                     "file": _file(paths, c.runner)})
        echo(f"{name:10s} {width:>4d}x{height:<4d} {c.runner:22s} max abs {c.max_abs:.2e} "
             f"mean abs {c.mean_abs:.2e}  {seconds * 1e3:8.1f} ms  {rows[-1]['result']}")
    for runner in runners:
        runner.deactivate()
    if engine is None:
        echo(f"{name}: TensorRT engine skipped (no TensorRT/GPU on this machine)")
    return rows


def _file(paths: dict, runner: str) -> str:
    for mode, p in paths.items():
        if runner.endswith(mode) or (mode == "plugins" and runner.startswith("tensorrt")):
            return p.name
    return ""


def run(ctx) -> dict:
    # the step must stay ~30 s on a 2-core CPU: exports dominate; 360x240 timings are in bench_runtime.py
    height, width = (48, 72) if ctx.quick else (120, 180)
    out = ctx.out / "export"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in ("basenet", "simo_serra"):
        rows += compare_backends(name, out, height, width, echo=ctx.echo)
    passed = all(r["result"] == "PASS" for r in rows)
    cols = ["net", "image", "backend", "vs", "max_abs", "mean_abs", "max_rel", "seconds", "torch_seconds",
            "result", "file"]
    ctx.markdown.append(
        "## Export: PyTorch vs portable ONNX vs plugin ONNX (vs TensorRT engine when present)\n\n"
        f"Same real image through every backend; PASS = within atol = rtol = {TOLERANCE:g} of the PyTorch dense "
        "output. The plugin file runs in ONNX Runtime through in-memory model-local functions (the file "
        "itself is unchanged). Times are one warm call on the CPU.\n\n" + markdown_table(rows, cols))
    return {"rows": rows, "passed": passed, "files": sorted(p.name for p in out.glob("*.onnx"))}
