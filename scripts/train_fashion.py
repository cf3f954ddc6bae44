#!/usr/bin/env python3
"""Train a small ResNet on Fashion-MNIST, convert it to each efficient form, fine-tune each form from it,
and measure test accuracy (right after conversion and after fine-tuning), parameters, FLOPs and CPU latency
(batch 1 and 32, all models timed side by side in interleaved rounds). Writes JSON, prints Markdown.

    python scripts/train_fashion.py --out results/fashion_forms.json

Data: the Debian dataset-fashion-mnist IDX files (/usr/share/datasets/fashion-mnist); the full 60k
training set, evaluation on the full 10k test set. Everything runs for a fixed number of steps (no
wall-clock budgets), on ``--threads`` threads (default 1), so results are reproducible. Per form:

1. conversion with the teacher's weights where shapes allow (SPConv: ``init_from_conv`` +
   ``calibrate_spconv``; CSP: stem and classifier; sample-interp: every weight, masks all-ones);
2. stage-wise fitting (``fit_stages``, ``--fit-steps``) for the forms whose stages changed (CSP, SPConv);
3. distillation (``edge.forms.distill``: soft targets + labels, cosine LR, BN recalibration) for
   ``--distill-epochs``; sample-interp students get a sparsity loss (``sample_interp@W`` or
   ``sample_interp@W:TARGET`` for the density-budget form) and a Gumbel temperature decaying to
   ``--tau-end`` over their steps; ``--si-hard-epochs`` adds a phase trained on the inference masks
   (``p >= 0.5``, straight-through gradient), so weights and BN statistics fit the masks that will run.
FLOPs are counted by ``torch.utils.flop_counter`` on real test images; for sample-interp that is what the
sparse kernel executes at the measured hard-mask density (docs/METHODS.md §4), not the dense count.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.flops import count_flops
from edge.forms.distill import distill, evaluate, fit_stages, recalibrate_bn
from edge.forms.zoo import apply_form, fashion_resnet
from edge.spec import load_module
from edge.io import markdown_table, write_json
from edge.models.fashion_cnn import load_fashion_mnist

MEAN, STD = 0.2860, 0.3530
STAGES = ("layer1", "layer2", "layer3", "layer4")
COLUMNS = ["model", "acc converted (%)", "acc staged (%)", "test acc (%)", "acc delta", "params", "MFLOPs/image",
           "FLOPs ratio", "mask density", "latency b1 (ms)", "b1 ratio", "latency b32 (ms)", "b32 ratio",
           "distill steps"]


def tensors(split: str, n: int | None):
    """(x Tensor[N, 1, 28, 28] normalised, y Tensor[N]) of the first ``n`` images (0/None: all)."""
    x, y = load_fashion_mnist(split)
    x = torch.from_numpy(x.copy()).float().div_(255).sub_(MEAN).div_(STD).unsqueeze(1)
    y = torch.from_numpy(y.copy())
    return (x[:n], y[:n]) if n else (x, y)


class Progress:
    """Wrap an iterable of batches; print a line every ``every`` batches (step, elapsed seconds)."""

    def __init__(self, data, label: str, every: int = 100):
        self.data, self.label, self.every = data, label, every

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        t0 = time.perf_counter()
        for i, b in enumerate(self.data, 1):
            if i % self.every == 0:
                print(f"  {self.label}: step {i}/{len(self.data)} ({time.perf_counter() - t0:.0f} s)", flush=True)
            yield b


class Batches:
    """Mini-batches (x, y) of tensors; reshuffled (seeded) every pass when ``shuffle``."""

    def __init__(self, x, y, batch: int, shuffle: bool, seed: int = 0):
        self.x, self.y, self.batch, self.shuffle = x, y, batch, shuffle
        self.g = torch.Generator().manual_seed(seed)

    def __len__(self):
        return (len(self.x) + self.batch - 1) // self.batch

    def __iter__(self):
        idx = torch.randperm(len(self.x), generator=self.g) if self.shuffle else torch.arange(len(self.x))
        for i in range(0, len(self.x), self.batch):
            j = idx[i:i + self.batch]
            yield self.x[j], self.y[j]


def train_baseline(model, data, epochs: int, lr: float, test=None):
    """AdamW + one-cycle over ``epochs`` passes of ``data``; prints loss (and test accuracy) per epoch."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * len(data))
    for ep in range(1, epochs + 1):
        model.train()
        t0, tot = time.perf_counter(), 0.0
        for x, y in Progress(data, f"baseline epoch {ep}"):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach())
        print(f"baseline epoch {ep}: loss {tot / len(data):.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
        if test is not None:
            print(f"  test acc {100 * evaluate(model, test)['acc']:.2f} %", flush=True)
    return model.eval()


def acc(model, test) -> float:
    return round(100 * evaluate(model, test)["acc"], 2)


@torch.no_grad()
def costs(model, x) -> dict:
    """Params, FLOPs per image on real images ``x`` and, for sample-interp, per-mask hard densities."""
    from edge.forms.sample_interp import SampleInterpBlock

    model.eval()
    out = {"params": sum(p.numel() for p in model.parameters()),
           "MFLOPs/image": round(count_flops(model, x) / len(x) / 1e6, 3)}
    blocks = [(n, b) for n, b in model.named_modules() if isinstance(b, SampleInterpBlock)]
    if blocks:
        model(x)
        out["densities"] = {n: [round(float(m.mean()), 3) for m in b.last_masks] for n, b in blocks}
    return out


@torch.no_grad()
def interleaved_latency(models: dict, x, rounds: int, reps: int) -> dict:
    """Median ms of batch 1 and batch ``len(x)`` per model, measured in interleaved rounds (each round
    times every model once, so load changes hit all models alike)."""
    for m in models.values():
        m.eval()
        m(x[:1])
        m(x)
    t1 = {k: [] for k in models}
    tb = {k: [] for k in models}
    for _ in range(rounds):
        for k, m in models.items():
            ts = []
            for i in range(reps):
                t = time.perf_counter()
                m(x[i % len(x):i % len(x) + 1])
                ts.append(time.perf_counter() - t)
            t1[k].append(sorted(ts)[len(ts) // 2])
            t = time.perf_counter()
            m(x)
            tb[k].append(time.perf_counter() - t)
    return {k: (_median_ms(t1[k]), _median_ms(tb[k])) for k in models}


def _median_ms(v: list[float]) -> float:
    return sorted(v)[len(v) // 2] * 1e3


def parse_form(spec: str) -> tuple[str, float | None, float | None, int | None]:
    """``form[@weight[:target]][/epochs]`` -> (form, sparsity weight, density target, distillation epochs):
    ``"sample_interp@0.5:0.4"`` -> ("sample_interp", 0.5, 0.4, None); ``"csp/4"`` -> ("csp", None, None, 4)."""
    spec, _, epochs = spec.partition("/")
    form, _, w = spec.partition("@")
    weight, _, target = w.partition(":")
    return (form, (float(weight) if weight else None), (float(target) if target else None),
            (int(epochs) if epochs else None))


def convert(spec: str, teacher, train, test, args) -> tuple:
    """Convert, measure the accuracy right after conversion, fit stages; -> (student, report, info)."""
    from edge.forms.spconv import calibrate_spconv

    form = parse_form(spec)[0]
    if form == "sample_interp":
        from edge.forms.sample_interp import to_sample_interp

        student, report = to_sample_interp(teacher, exclude=args.si_exclude.split(",") if args.si_exclude else None,
                                           return_report=True)
    else:
        student, report = apply_form(teacher, form)
    info = {}
    if form.startswith("spconv"):
        calibrate_spconv(student, train, args.bn_batches)
    elif form.startswith("csp"):
        recalibrate_bn(student, train, args.bn_batches)
    info["acc converted (%)"] = acc(student, test)
    if args.fit_steps and not form.startswith("sample_interp"):
        t0 = time.perf_counter()
        info["stage losses"] = [round(v, 4) for v in fit_stages(student, teacher, Progress(train, f"{spec} fit"),
                                                                 STAGES, args.fit_steps, args.distill_lr)]
        recalibrate_bn(student, train, args.bn_batches)
        info["acc staged (%)"] = acc(student, test)
        info["fit (s)"] = round(time.perf_counter() - t0, 1)
    return student, report, info


def run_form(spec: str, teacher, train, test, args) -> tuple:
    _, sw, target, epochs = parse_form(spec)
    t0 = time.perf_counter()
    student, report, info = convert(spec, teacher, train, test, args)
    print(f"{spec}: {len(report.replaced)} replaced; {info}", flush=True)
    steps = args.distill_steps or (epochs or args.distill_epochs) * len(train)
    res = distill(student, teacher, Progress(train, spec), epochs=-(-steps // len(train)), lr=args.distill_lr,
                  sparsity_weight=sw, sparsity_target=target, tau_end=args.tau_end if sw is not None else None,
                  feature_layers=list(STAGES) if args.feature_weight else None,
                  feature_weight=args.feature_weight or None, max_steps=steps, bn_batches=args.bn_batches,
                  progress=False)
    info.update({"distill steps": res.steps, "distill (s)": round(time.perf_counter() - t0, 1),
                 "history": res.history, "replaced": len(report.replaced), "skipped": len(report.skipped)})
    if sw is not None and args.si_hard_epochs:
        # second phase: train on the masks inference uses (p >= 0.5, straight-through gradient)
        from edge.forms.sample_interp import set_mask_training

        from edge.forms.sample_interp import MaskHead

        r = evaluate(student, test)
        info["acc after Gumbel phase (%)"], info["density after Gumbel phase"] = round(100 * r["acc"], 2), \
            round(r["density"], 3)
        set_mask_training(student, "hard")
        heads = [q for m in student.modules() if isinstance(m, MaskHead) for q in m.parameters()]
        if args.si_hard_freeze:  # keep where the Gumbel phase samples; fit the rest of the network to it
            for q in heads:
                q.requires_grad_(False)
        t1 = time.perf_counter()
        hard = distill(student, teacher, Progress(train, f"{spec} hard"), epochs=args.si_hard_epochs,
                       lr=args.distill_lr * args.si_hard_lr, sparsity_weight=0.0 if args.si_hard_freeze else sw,
                       sparsity_target=target, bn_batches=args.bn_batches, progress=False)
        for q in heads:
            q.requires_grad_(True)
        set_mask_training(student, "gumbel")
        info.update({"hard steps": hard.steps, "hard (s)": round(time.perf_counter() - t1, 1),
                     "hard history": hard.history})
    return student, info


def finish(rows: list[dict], lat: dict | None) -> None:
    """Deltas and ratios against the baseline row (and latency columns when measured)."""
    base = rows[0]
    for r in rows:
        r["acc delta"] = round(r["test acc (%)"] - base["test acc (%)"], 2)
        r["FLOPs ratio"] = round(r["MFLOPs/image"] / base["MFLOPs/image"], 3)
        if lat:
            (b1, b32), (r1, r32) = lat[r["model"]], lat[base["model"]]
            r.update({"latency b1 (ms)": round(b1, 2), "b1 ratio": round(b1 / r1, 2),
                      "latency b32 (ms)": round(b32, 2), "b32 ratio": round(b32 / r32, 2)})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/fashion_forms.json"))
    ap.add_argument("--width", type=int, default=8, help="channels of the first stage (default 8)")
    ap.add_argument("--layers", default="1,1,1,1", help="blocks per stage (default 1,1,1,1: ResNet-10)")
    ap.add_argument("--train-samples", type=int, default=0, help="0 means all 60k")
    ap.add_argument("--test-samples", type=int, default=0, help="0 means all 10k")
    ap.add_argument("--epochs", type=int, default=5, help="baseline epochs")
    ap.add_argument("--lr", type=float, default=3e-3, help="baseline peak learning rate (one-cycle)")
    ap.add_argument("--teacher", type=Path, help="load this trained baseline (torch.save'd module) instead")
    ap.add_argument("--save-teacher", type=Path, help="save the trained baseline here")
    ap.add_argument("--fit-steps", type=int, default=200, help="stage-wise fitting steps (CSP, SPConv; 0: none)")
    ap.add_argument("--distill-epochs", type=int, default=2, help="distillation epochs per form")
    ap.add_argument("--distill-steps", type=int, default=0, help="fixed steps per form (overrides epochs)")
    ap.add_argument("--distill-lr", type=float, default=3e-3)
    ap.add_argument("--feature-weight", type=float, default=0.0, help="stage feature matching weight (0: off)")
    ap.add_argument("--tau-end", type=float, default=0.1, help="final Gumbel temperature (sample-interp)")
    ap.add_argument("--si-exclude", default="layer3.*,layer4.*",
                    help="fnmatch patterns of blocks sample-interp keeps dense (default: the 7x7 and 4x4 stages, "
                         "too coarse to interpolate); empty: none")
    ap.add_argument("--si-hard-epochs", type=int, default=0,
                    help="sample-interp: epochs after the Gumbel phase trained on the inference masks (p >= 0.5) "
                         "with a straight-through gradient (0: none)")
    ap.add_argument("--si-hard-freeze", action="store_true",
                    help="freeze the mask heads in that phase (the straight-through gradient of the task loss "
                         "otherwise raises the density back towards 1)")
    ap.add_argument("--si-hard-lr", type=float, default=0.3, help="learning rate of that phase, x --distill-lr")
    ap.add_argument("--bn-batches", type=int, default=50, help="batches for BN recalibration")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--forms", default="csp,spconv=0.5,spconv=0.25,sample_interp@2:0.6,sample_interp@2:0.4",
                    help="comma-separated forms; sample_interp@W[:T] sets the sparsity weight W (and density target "
                         "T); a /E suffix sets that form's distillation epochs (csp/4)")
    ap.add_argument("--flop-images", type=int, default=500, help="test images the FLOPs are counted on")
    ap.add_argument("--rounds", type=int, default=15, help="interleaved latency rounds")
    ap.add_argument("--reps", type=int, default=5, help="batch-1 repetitions per round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.perf_counter()
    xtr, ytr = tensors("train", args.train_samples)
    xte, yte = tensors("test", args.test_samples)
    train = Batches(xtr, ytr, args.batch_size, True, args.seed)
    test = Batches(xte, yte, 500, False)
    if args.teacher:
        teacher = load_module(args.teacher).eval()  # edge.spec: a pickled module only with EDGE_TRUST_PICKLE=1
    else:
        layers = tuple(int(v) for v in args.layers.split(","))
        teacher = train_baseline(fashion_resnet(width=args.width, layers=layers), train, args.epochs, args.lr, test)
        if args.save_teacher:
            torch.save(teacher, args.save_teacher)
    print(f"baseline ready ({time.perf_counter() - t_start:.0f} s)", flush=True)
    ximg = xte[:args.flop_images]
    rows = [{"model": "baseline", "test acc (%)": acc(teacher, test), **costs(teacher, ximg)}]
    models, details = {"baseline": teacher}, {}

    def save(lat=None):
        finish(rows, lat)
        write_json(args.out, {"command": " ".join(["python", "scripts/train_fashion.py"] + (argv or sys.argv[1:])),
                              "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows,
                              "details": details, "seconds": round(time.perf_counter() - t_start, 1),
                              "env": {"torch": torch.__version__, "python": platform.python_version(),
                                      "machine": platform.machine(), "threads": torch.get_num_threads()}})

    save()
    for spec in [f for f in args.forms.split(",") if f]:
        student, info = run_form(spec, teacher, train, test, args)
        c = costs(student, ximg)
        row = {"model": spec, "acc converted (%)": info["acc converted (%)"], "acc staged (%)": info.get("acc staged (%)"),
               "test acc (%)": acc(student, test), **{k: v for k, v in c.items() if k != "densities"}}
        if "densities" in c:
            row["mask density"] = round(evaluate(student, test)["density"], 3)
            info["densities"] = c["densities"]
        row["distill steps"] = info["distill steps"] + info.get("hard steps", 0)
        row = {k: v for k, v in row.items() if v is not None}
        rows.append(row)
        models[spec], details[spec] = student, info
        print(markdown_table([{k: v for k, v in row.items()}]), f"({time.perf_counter() - t_start:.0f} s total)",
              flush=True)
        save()
    lat = interleaved_latency(models, xte[:32], args.rounds, args.reps)
    save(lat)
    print(markdown_table(rows, COLUMNS))
    print(f"wrote {args.out} ({time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
