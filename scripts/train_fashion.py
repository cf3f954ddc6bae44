#!/usr/bin/env python3
"""Train a small ResNet (ResNet-18 structure, 3x3 stem, widths w..8w) on Fashion-MNIST, convert it to
each efficient form, distil each form from it, and measure test accuracy, parameters, FLOPs and CPU
latency (batch 1 and 32). Writes a JSON file and prints a Markdown table.

    python scripts/train_fashion.py --out results/fashion_forms.json

Data: the Debian dataset-fashion-mnist IDX files (/usr/share/datasets/fashion-mnist). Kept small
(a few minutes of 2-core CPU): a subset of the training images, few epochs.
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


def train_baseline(model, data, epochs: int, lr: float):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * len(data))
    for ep in range(epochs):
        model.train()
        t0, tot, n = time.perf_counter(), 0.0, 0
        for x, y in data:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot, n = tot + float(loss.detach()), n + 1
        print(f"baseline epoch {ep + 1}: loss {tot / n:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return model.eval()


@torch.no_grad()
def latency_ms(model, batch: int, reps: int) -> float:
    x = torch.randn(batch, 1, 28, 28)
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
           "MFLOPs/image": round(flops / 1e6, 2), "latency b1 (ms)": round(latency_ms(model, 1, reps), 2),
           "latency b32 (ms)": round(latency_ms(model, 32, max(3, reps // 4)), 2)}
    if ev["density"] is not None:
        row["mask density"] = round(ev["density"], 3)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/fashion_forms.json"))
    ap.add_argument("--width", type=int, default=8, help="channels of the first stage (default 8)")
    ap.add_argument("--train-samples", type=int, default=6000)
    ap.add_argument("--test-samples", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=3, help="baseline epochs")
    ap.add_argument("--distill-epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--forms", default="spconv=0.5,spconv=0.25,csp,sample_interp@0.02,sample_interp@0.1",
                    help="comma-separated forms; sample_interp@W sets the sparsity weight W")
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
    teacher = train_baseline(fashion_resnet(width=args.width), train, args.epochs, 3e-3)
    rows = [measure("baseline", teacher, test, args.reps)]
    print(markdown_table(rows), flush=True)
    details = {}
    for spec in [f for f in args.forms.split(",") if f]:
        form, _, w = spec.partition("@")
        student, report = apply_form(teacher, form)
        t0 = time.perf_counter()
        res = distill(student, teacher, train, epochs=args.distill_epochs, lr=2e-3,
                      sparsity_weight=float(w) if w else None, progress=False)
        row = measure(spec, student, test, args.reps)
        row["distill (s)"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        details[spec] = {"replaced": len(report.replaced), "skipped": len(report.skipped), "history": res.history}
        print(markdown_table(rows[-1:]), flush=True)
    base = rows[0]
    for r in rows:
        r["acc delta"] = round(r["test acc (%)"] - base["test acc (%)"], 2)
        r["FLOPs ratio"] = round(r["MFLOPs/image"] / base["MFLOPs/image"], 3)
    print(markdown_table(rows))
    write_json(args.out, {"command": " ".join(["python", "scripts/train_fashion.py"] + (argv or sys.argv[1:])),
                          "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows, "details": details,
                          "seconds": round(time.perf_counter() - t_start, 1),
                          "env": {"torch": torch.__version__, "python": platform.python_version(),
                                  "machine": platform.machine(), "threads": torch.get_num_threads()}})
    print(f"wrote {args.out} ({time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
