#!/usr/bin/env python3
"""Distillation on 1 process vs N data-parallel processes (torchrun, gloo on CPUs / nccl on GPUs): same total
batch, same seed; test accuracy of the student and the loss curve side by side.

    OMP_NUM_THREADS=1 python scripts/bench_ddp.py --nproc 2 --out build/bench_ddp.json

A FashionCNN teacher (width 16) is trained once (cached in --workdir); the student, a FashionCNN of width 8,
is distilled from it on --samples labelled training images (KD + cross-entropy, edge.forms.distill) and
evaluated on the 10k test images. Each configuration runs as ``python -m torch.distributed.run
--nproc-per-node K scripts/bench_ddp.py --worker ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch


def teacher(workdir: Path):
    from edge.models.fashion_cnn import FashionCNN, load_fashion_mnist, train

    path = workdir / "teacher.pt"
    model = FashionCNN(16)
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    torch.manual_seed(0)
    x, y = load_fashion_mnist("train")
    model = train(x, y, epochs=2, width=16, batch_size=64, lr=3e-3)
    torch.save(model.state_dict(), path)
    return model.eval()


def worker(args) -> None:
    from torch.utils.data import TensorDataset

    from edge.forms import ddp
    from edge.forms.distill import distill
    from edge.models.fashion_cnn import FashionCNN, load_fashion_mnist

    torch.set_num_threads(1)
    ddp.init("cpu" if args.cpu else None)
    dev = torch.device("cpu") if args.cpu else ddp.default_device()
    norm = lambda a: torch.from_numpy(a.copy()).float().div_(255).sub_(0.2860).div_(0.3530).unsqueeze(1)
    x, y = load_fashion_mnist("train")
    xt, yt = load_fashion_mnist("test")
    train = ddp.make_loader(TensorDataset(norm(x[:args.samples]), torch.from_numpy(y[:args.samples].copy())),
                            args.batch, seed=0)
    test = [(norm(xt[i:i + 1000]), torch.from_numpy(yt[i:i + 1000].copy())) for i in range(0, len(xt), 1000)]
    torch.manual_seed(1)
    student = FashionCNN(8).to(dev)
    t0 = time.perf_counter()
    res = distill(student, teacher(args.workdir).to(dev), train, epochs=args.epochs, lr=3e-3,
                  eval_data=test, progress=False, device=dev)
    if ddp.is_main():
        Path(args.result).write_text(json.dumps({"world_size": res.world_size, "student_acc": res.student_acc,
                                                 "teacher_acc": res.teacher_acc, "history": res.history,
                                                 "seconds": time.perf_counter() - t0}))
    ddp.finish()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--samples", type=int, default=12000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64, help="total batch over the processes")
    ap.add_argument("--cpu", action="store_true", help="gloo on CPUs even where CUDA exists")
    ap.add_argument("--workdir", type=Path, default=Path("build/bench_ddp"))
    ap.add_argument("--out", type=Path, default=Path("build/bench_ddp.json"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args)
        return {}
    args.workdir.mkdir(parents=True, exist_ok=True)
    teacher(args.workdir)  # trained once, before the timed runs
    rows = []
    for n in (1, args.nproc):
        result = args.workdir / f"result.{n}.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(n),
               __file__, "--worker", "--result", str(result), "--samples", str(args.samples), "--epochs",
               str(args.epochs), "--batch", str(args.batch), "--workdir", str(args.workdir)] + (["--cpu"] if args.cpu else [])
        subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        rows.append(json.loads(result.read_text()))
    one, many = rows
    out = {"command": "python scripts/bench_ddp.py " + " ".join(argv or []), "runs": rows,
           "accuracy_difference_points": 100 * (many["student_acc"] - one["student_acc"]),
           "kd_per_epoch": [[h["kd"] for h in r["history"]] for r in rows]}
    from edge.io import write_json

    write_json(args.out, out)
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=1))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
