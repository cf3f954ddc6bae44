#!/usr/bin/env python3
"""Train a small ResNet (ResNet-18 structure, 3x3 stem, widths w..8w) on Fashion-MNIST, convert it to
each efficient form, distil each form from it, and measure test accuracy, parameters, FLOPs and CPU
latency (batch 1 and 32). Writes a JSON file and prints a Markdown table.

    python scripts/train_fashion.py --out results/fashion_forms.json

Data: the Debian dataset-fashion-mnist IDX files (/usr/share/datasets/fashion-mnist). Defaults: the
full 60k training set for the baseline, the full 10k test set for evaluation, and a wall-clock budget per
form for distillation (the step count follows from a timed probe on a copy of the student; it is
reported). Sample-interp students get a Gumbel temperature schedule from 1 to ``--tau-end`` over their
steps, so the relaxed training masks become near-hard like the inference masks.
"""

from __future__ import annotations

import argparse
import copy
import math
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.flops import count_flops
from edge.forms.distill import distill, evaluate
from edge.forms.zoo import apply_form, fashion_resnet
from edge.io import markdown_table, write_json
from edge.models.fashion_cnn import load_fashion_mnist

MEAN, STD = 0.2860, 0.3530


def tensors(split: str, n: int | None):
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


def _sgd_step(model, opt, x, y) -> float:
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def baseline_steps(width: int, data, seconds: float, cap: int, probes: int = 4) -> int:
    """Steps that fit in ``seconds``, from timed steps of a throw-away model (capped at ``cap``)."""
    model = fashion_resnet(width=width).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ts = []
    for i, (x, y) in enumerate(data):
        t = time.perf_counter()
        _sgd_step(model, opt, x, y)
        ts.append(time.perf_counter() - t)
        if i >= probes:
            break
    per = sorted(ts[1:])[len(ts[1:]) // 2]
    return max(20, min(cap, int(seconds / per)))


def train_baseline(model, data, steps: int, lr: float, test=None):
    """AdamW + one-cycle over ``steps`` steps (epochs of ``data`` repeated, the last one possibly cut)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    done, ep = 0, 0
    while done < steps:
        ep += 1
        model.train()
        t0, tot, n = time.perf_counter(), 0.0, 0
        for x, y in Progress(data, f"baseline epoch {ep}"):
            tot, n = tot + _sgd_step(model, opt, x, y), n + 1
            sched.step()
            done += 1
            if done >= steps:
                break
        print(f"baseline epoch {ep}: {n} steps, loss {tot / n:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
        if test is not None:
            print(f"  test acc {100 * evaluate(model, test)['acc']:.2f} %", flush=True)
    return model.eval()


@torch.no_grad()
def latency_ms(model, x, reps: int) -> float:
    """Median wall time (ms) of model(x) over ``reps`` runs after one warm-up."""
    model(x)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        model(x)
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2] * 1e3


@torch.no_grad()
def measure(name: str, model, test, reps: int) -> dict:
    model.eval()
    ev = evaluate(model, test)
    x = test.x[:32]  # real images: sample-interp masks (hence FLOPs) depend on the input
    flops = count_flops(model, x) / len(x)
    row = {"model": name, "test acc (%)": round(100 * ev["acc"], 2), "params": sum(p.numel() for p in model.parameters()),
           "MFLOPs/image": round(flops / 1e6, 2), "latency b1 (ms)": round(latency_ms(model, x[:1], reps), 2),
           "latency b32 (ms)": round(latency_ms(model, x, max(3, reps // 4)), 2)}
    if ev["density"] is not None:
        row["mask density"] = round(ev["density"], 3)
    return row


def step_seconds(student, teacher, data, sparsity_weight, lr: float, probes: int = 1) -> float:
    """Median seconds of one distillation step, timed on a deep copy of ``student`` (left untouched)."""
    probe = copy.deepcopy(student)
    ts = []
    for i in range(probes + 1):
        t = time.perf_counter()
        distill(probe, teacher, data, lr=lr, sparsity_weight=sparsity_weight, max_steps=1, bn_batches=1,
                progress=False)
        ts.append(time.perf_counter() - t)
    return sorted(ts[1:])[len(ts[1:]) // 2]


def temperature_schedule(student, steps: int, tau_end: float) -> None:
    """Sample-interp mask heads: Gumbel temperature decays from its value to ``tau_end`` over ``steps``."""
    from edge.forms.sample_interp import MaskHead

    for m in student.modules():
        if isinstance(m, MaskHead):
            m.decay = (tau_end / float(m.temperature)) ** (1.0 / max(steps, 1))


def distill_form(spec, teacher, train, args) -> tuple:
    form, _, w = spec.partition("@")
    sw = float(w) if w else None
    student, report = apply_form(teacher, form)
    t0 = time.perf_counter()
    per_step = step_seconds(student, teacher, train, sw, args.distill_lr)
    steps = args.distill_steps or max(10, int(args.distill_seconds / per_step))
    steps = min(steps, args.distill_epochs * len(train)) if args.distill_epochs else steps
    print(f"{spec}: {len(report.replaced)} replaced, {per_step:.2f} s/step -> {steps} steps "
          f"({steps / len(train):.2f} epochs)", flush=True)
    if sw is not None:
        temperature_schedule(student, steps, args.tau_end)
    res = distill(student, teacher, Progress(train, spec), epochs=math.ceil(steps / len(train)), lr=args.distill_lr,
                  sparsity_weight=sw, max_steps=steps, progress=False)
    return student, report, res, steps, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/fashion_forms.json"))
    ap.add_argument("--width", type=int, default=8, help="channels of the first stage (default 8)")
    ap.add_argument("--train-samples", type=int, default=0, help="0 means all 60k")
    ap.add_argument("--test-samples", type=int, default=0, help="0 means all 10k")
    ap.add_argument("--epochs", type=int, default=4, help="baseline epochs (a cap when --train-seconds is set)")
    ap.add_argument("--train-seconds", type=float, default=0.0,
                    help="baseline wall-clock budget; the step count follows from timed probe steps (0: epochs)")
    ap.add_argument("--lr", type=float, default=3e-3, help="baseline peak learning rate (one-cycle)")
    ap.add_argument("--distill-seconds", type=float, default=120.0,
                    help="wall-clock budget per form; the step count follows from a timed probe")
    ap.add_argument("--distill-steps", type=int, default=0, help="fixed steps per form (overrides seconds)")
    ap.add_argument("--distill-epochs", type=int, default=0, help="cap on the steps, in epochs (0: none)")
    ap.add_argument("--distill-lr", type=float, default=3e-3)
    ap.add_argument("--tau-end", type=float, default=0.1, help="final Gumbel temperature (sample-interp)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--forms", default="spconv=0.5,spconv=0.25,csp,sample_interp@0.02,sample_interp@0.05",
                    help="comma-separated forms; sample_interp@W sets the sparsity weight W")
    ap.add_argument("--budget-seconds", type=float, default=0.0,
                    help="whole-run budget: forms whose distillation would end past it are skipped and listed "
                         "(0: none); the JSON is rewritten after every row")
    ap.add_argument("--reps", type=int, default=20, help="latency repetitions (batch 1)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.perf_counter()
    xtr, ytr = tensors("train", args.train_samples)
    xte, yte = tensors("test", args.test_samples)
    train = Batches(xtr, ytr, args.batch_size, True, args.seed)
    test = Batches(xte, yte, 500, False)
    steps = args.epochs * len(train)
    if args.train_seconds:
        steps = baseline_steps(args.width, train, args.train_seconds, steps)
    print(f"baseline: {steps} steps of batch {args.batch_size} ({steps / len(train):.2f} epochs)", flush=True)
    teacher = train_baseline(fashion_resnet(width=args.width), train, steps, args.lr, test)
    details_base = {"steps": steps, "epochs": round(steps / len(train), 3)}
    print(f"baseline trained ({time.perf_counter() - t_start:.0f} s)", flush=True)
    rows = [measure("baseline", teacher, test, args.reps)]
    print(markdown_table(rows), flush=True)
    details, skipped = {}, []

    def save():
        base = rows[0]
        for r in rows:
            r["acc delta"] = round(r["test acc (%)"] - base["test acc (%)"], 2)
            r["FLOPs ratio"] = round(r["MFLOPs/image"] / base["MFLOPs/image"], 3)
        write_json(args.out, {"command": " ".join(["python", "scripts/train_fashion.py"] + (argv or sys.argv[1:])),
                              "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows,
                              "baseline": details_base, "details": details, "skipped (budget)": skipped,
                              "seconds": round(time.perf_counter() - t_start, 1),
                              "env": {"torch": torch.__version__, "python": platform.python_version(),
                                      "machine": platform.machine(), "threads": torch.get_num_threads()}})

    save()
    for spec in [f for f in args.forms.split(",") if f]:
        left = args.budget_seconds - (time.perf_counter() - t_start)
        if args.budget_seconds and left < 1.5 * args.distill_seconds:
            print(f"{spec}: skipped, {left:.0f} s of the budget left", flush=True)
            skipped.append(spec)
            continue
        student, report, res, steps, secs = distill_form(spec, teacher, train, args)
        row = measure(spec, student, test, args.reps)
        row["distill steps"], row["distill (s)"] = steps, round(secs, 1)
        rows.append(row)
        details[spec] = {"replaced": len(report.replaced), "skipped": len(report.skipped), "history": res.history}
        print(markdown_table(rows[-1:]), f"({time.perf_counter() - t_start:.0f} s total)", flush=True)
        save()
    save()
    print(markdown_table(rows))
    print(f"wrote {args.out} ({time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
