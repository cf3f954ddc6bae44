"""Demo step "quantize": train a tiny Fashion-MNIST CNN for a few seconds, export it, calibrate + quantize
it to TensorRT-style INT8 Q/DQ with the accuracy gate, convert it to FP16, and build TensorRT engines
when TensorRT is present (with their manifests). About 20-30 s on 2 CPU cores."""

from __future__ import annotations

import time

from edge.io import markdown_table


def run(ctx) -> dict:
    import torch

    from edge.calib import data, zoo
    from edge.calib import evaluate as ev
    from edge.calib.fp16 import to_fp16
    from edge.calib.gate import quantize_with_gate
    from edge.calib.recipe import Recipe
    from edge.models.fashion_cnn import load_fashion_mnist, train

    out = ctx.out / "quantize"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_train = 3000 if ctx.quick else 6000
    xtr, ytr = load_fashion_mnist("train")
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a net this small trains faster on one thread
    try:
        model = train(xtr[:n_train], ytr[:n_train], epochs=1, width=8, batch_size=32, lr=3e-3)
    finally:
        torch.set_num_threads(threads)
    onnx_path = zoo.export(model, out / "fashion.onnx", recipe="fashion-cnn")
    recipe = Recipe.load("fashion-cnn")
    calib = data.load("fashion-mnist:train").take(50000, 50000 + (64 if ctx.quick else 256))
    test = data.load("fashion-mnist:test", limit=300 if ctx.quick else 1000)
    ctx.echo(f"trained FashionCNN on {n_train} images ({time.perf_counter() - t0:.1f} s); calibrating on "
             f"{len(calib)}, gating on {len(test)} test images")
    rep = quantize_with_gate(onnx_path, out / "fashion.int8.onnx", recipe, calib, test, method="entropy")
    js, md = rep.write(out, "fashion.int8.gate")
    fp16 = to_fp16(onnx_path, out / "fashion.fp16.onnx")
    ref = ev.run_all(ev.session(onnx_path), recipe, test)
    acc16 = ev.compare(ref, ev.run_all(ev.session(fp16), recipe, test), recipe, test.labels)
    last = rep.final  # the written model (the fewest FP32 layers that pass)
    rows = [{"model": "FP32", "test_accuracy": last["accuracy_fp32"], "agreement": 1.0, "fp32_layers": "all"},
            {"model": "INT8 Q/DQ (trt)", "test_accuracy": last["accuracy"], "agreement": last["top1_agreement"],
             "fp32_layers": last["fp32_layers"]},
            {"model": "FP16", "test_accuracy": acc16.accuracy, "agreement": acc16.top1_agreement,
             "fp32_layers": "sensitive ops"}]
    for r in rows:
        ctx.echo(f"{r['model']:16s} accuracy {r['test_accuracy']:.4f}  agreement {r['agreement']:.4f}")
    engines = _build_engines(ctx, onnx_path, rep.result.path, fp16)
    ctx.markdown.append("## INT8 and FP16 (Fashion-MNIST CNN, ONNX Runtime CPU)\n\n" + markdown_table(rows) + "\n"
                        + rep.markdown() + "\n" + (engines.get("markdown") or engines.get("skipped", "")) + "\n")
    return {"rows": rows, "gate": rep.to_dict(), "report": [str(js), str(md)], "engines": engines,
            "seconds": round(time.perf_counter() - t0, 1)}


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
        res = build_engine(src, ctx.out / "quantize" / f"fashion.{prec}.engine", BuildOptions(precision=prec),
                           recipe="fashion-cnn")
        rows.append({"precision": prec, "engine": res.engine.name, "build_s": res.seconds,
                     "bytes": res.engine.stat().st_size})
    return {"rows": rows, "markdown": markdown_table(rows)}
