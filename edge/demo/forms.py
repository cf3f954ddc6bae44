"""``edge demo`` step "forms": a ResNet-style Fashion-MNIST network in each efficient form.

Shows the per-form cost table (parameters, FLOPs via torch.utils.flop_counter, memory access, CPU
latency at batch 1) and the sparse sample-interp kernel against its dense reference and a dense conv.
The converted models are untrained here (``scripts/train_fashion.py`` trains and distils them); a
freshly converted sample-interp model samples every position until its masks are trained.
"""

from __future__ import annotations

import time

import torch

from edge.io import markdown_table


def _latency_ms(fns: dict, reps: int) -> dict:
    """Median ms per callable, timed in interleaved rounds so that outside load hits all alike."""
    times = {k: [] for k in fns}
    for r in range(reps + 1):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            if r:
                times[k].append(time.perf_counter() - t)
    return {k: sorted(v)[len(v) // 2] * 1e3 for k, v in times.items()}


@torch.no_grad()
def _forms_table(reps: int) -> list[dict]:
    from edge.forms.analyze import analyze
    from edge.forms.zoo import apply_form, fashion_resnet

    torch.manual_seed(0)
    base = fashion_resnet().eval()
    x = torch.randn(1, 1, 28, 28)
    rows, models = [], {}
    for form in (None, "spconv=0.5", "spconv=0.25", "csp", "sample_interp"):
        model = base if form is None else apply_form(base, form)[0].eval()
        a = analyze(model, x=x, name=form or "baseline")
        models[a.model] = model
        rows.append({"form": a.model, "params": a.total_params, "MFLOPs": round(a.total_flops / 1e6, 2),
                     "MAC (M elem)": round(a.total_mac / 1e6, 3)})
    lat = _latency_ms({k: (lambda m=m: m(x)) for k, m in models.items()}, reps)
    for r in rows:
        r["latency b1 (ms)"] = round(lat[r["form"]], 2)
    b = rows[0]
    for r in rows:
        r["FLOPs ratio"] = round(r["MFLOPs"] / b["MFLOPs"], 3)
    return rows


@torch.no_grad()
def _sparse_kernel(reps: int, quick: bool) -> list[dict]:
    import torch.nn.functional as F

    from edge.ops.sample_interp import sample_interp, sample_interp_reference

    torch.manual_seed(0)
    c, hw = (32, 28) if quick else (64, 56)
    x, w, bias = torch.randn(1, c, hw, hw), torch.randn(c, c, 3, 3) * 0.05, torch.randn(c)
    masks = {d: (torch.rand(1, 1, hw, hw) < d).float() for d in (0.1, 0.25, 0.5)}
    fns = {"dense": lambda: F.conv2d(x, w, bias, 1, 1)}
    fns.update({d: (lambda m=m: sample_interp(x, m, w, bias, 1, 1, activation=1)) for d, m in masks.items()})
    lat = _latency_ms(fns, reps)
    rows = []
    for d, m in masks.items():
        err = (fns[d]() - sample_interp_reference(x, m, w, bias, (1, 1), (1, 1), (1, 1), 1, 1, 7, 4.5)).abs().max()
        rows.append({"density": d, "max abs error vs reference": f"{err.item():.1e}", "sparse (ms)": round(lat[d], 3),
                     "dense conv (ms)": round(lat["dense"], 3), "ratio": round(lat[d] / lat["dense"], 3)})
    return rows


def run(ctx) -> dict:
    reps = 3 if ctx.quick else 10
    t0 = time.perf_counter()
    forms = _forms_table(reps)
    ctx.echo(markdown_table(forms))
    kernel = _sparse_kernel(reps, ctx.quick)
    ctx.echo(markdown_table(kernel))
    ctx.markdown.append(
        "## Efficient forms (SPConv, CSP, sample-interp)\n\n"
        "A ResNet-18-structured Fashion-MNIST network (28x28, untrained weights) converted to each form; "
        "FLOPs from torch.utils.flop_counter, MAC = input + output + weight elements, CPU latency at "
        "batch 1 (median of interleaved rounds). Sample-interp samples every position until its masks are trained "
        "(`edge distill`).\n\n" + markdown_table(forms) +
        "\nSparse sample-interp kernel (`torch.ops.edge.sample_interp`, 3x3 conv + ReLU + RBF "
        "interpolation) vs its dense reference and a dense convolution, random masks:\n\n"
        + markdown_table(kernel))
    return {"forms": forms, "sparse_kernel": kernel, "seconds": round(time.perf_counter() - t0, 2)}
