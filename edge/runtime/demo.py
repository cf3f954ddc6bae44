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
    from edge.dense.demo import real_image
    from edge.export import to_onnx

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
    """A TensorRT runner for ``onnx_path`` built on this machine, or None with no TensorRT/GPU here."""
    from edge._lazy import has_module
    from edge.runtime.cuda_memory import gpu_unavailable_reason

    if not has_module("tensorrt") or gpu_unavailable_reason() is not None:
        return None
    from edge.runtime import load
    from edge.runtime.tensorrt_backend import load_plugin_library

    import tensorrt as trt

    load_plugin_library(None)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        from edge.errors import EngineError

        raise EngineError(f"TensorRT cannot parse '{onnx_path}': {errors}")
    data = builder.build_serialized_network(network, builder.create_builder_config())
    return load(bytes(data), backend="tensorrt", name=f"tensorrt:{onnx_path.name}")


def compare_backends(name: str, out: Path, height: int, width: int, echo=print) -> list[dict]:
    """Rows of the demo table for one reference net (one per backend compared with PyTorch)."""
    return compare_exported(name, *export_both(name, out, height, width), echo=echo)


def compare_exported(name: str, dense, x: np.ndarray, paths: dict, echo=print) -> list[dict]:
    """Compare PyTorch ``dense`` with ONNX Runtime on ``paths`` (and an engine when possible) on ``x``."""
    from edge.runtime import compare, load

    height, width = x.shape[-2:]
    runners = [load(dense, name="torch"), load(paths["portable"], name="onnxruntime:portable"),
               load(paths["plugins"], name="onnxruntime:plugins")]
    engine = engine_runner(paths["plugins"])
    if engine is not None:
        runners.append(engine)
    feed = {runners[0].inputs[0].name: x}
    report = compare(runners, [feed, feed], atol=TOLERANCE, rtol=TOLERANCE)  # 2nd feed: warm timing
    rows = []
    for r in report.rows:
        if r.feed != 1:
            continue
        rows.append({"net": name, "image": f"{width}x{height}", "backend": r.runner, "vs": r.reference,
                     "max_abs": r.max_abs, "mean_abs": r.mean_abs, "max_rel": r.max_rel,
                     "seconds": report.times[r.runner][1], "torch_seconds": report.times[r.reference][1],
                     "result": "PASS" if r.passed else "FAIL", "file": _file(paths, r.runner)})
        echo(f"{name:10s} {rows[-1]['image']:>8s} {r.runner:22s} max abs {r.max_abs:.2e} "
             f"mean abs {r.mean_abs:.2e}  {rows[-1]['seconds'] * 1e3:8.1f} ms  {rows[-1]['result']}")
    for r in runners:
        r.deactivate()
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
